"""The consent step between /authorize and Entra ID (confused-deputy protection; we prompt every time).

GET /consent?transaction=... shows the consent page (consent_page.py: who asks, where the result goes, what
approving allows) and sets a random browser id cookie. POST /consent needs a CSRF token bound to (transaction,
browser id) and that cookie (SameSite=Lax, so a cross-site POST arrives without it). Approve spends the
transaction, stores our own PKCE verifier, nonce and single-use `state`, sets the signed `__Host-` consent cookie
bound to client, transaction and browser, and redirects to Entra. Deny redirects to the client with
error=access_denied and its state.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from mcp.shared.auth import OAuthClientInformationFull
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from dataverse.oauth.cimd import looks_like_metadata_url
from dataverse.oauth.consent_page import Abilities, ConsentView, consent_page
from dataverse.oauth.crypto import TokenCipher, ValueSigner, hash_secret, new_secret
from dataverse.oauth.entra import EntraApi
from dataverse.oauth.errors import CookieError
from dataverse.oauth.models import UpstreamAuthState
from dataverse.oauth.page_shell import Branding
from dataverse.oauth.pages import (
    BROWSER_COOKIE,
    BROWSER_COOKIE_MAX_AGE,
    CONSENT_COOKIE,
    origin_of,
    redirect_to_client,
    set_host_cookie,
)
from dataverse.oauth.problem_pages import CLIENT_NOT_REGISTERED, EXPIRED_REQUEST, FORGED_APPROVAL, problem_page
from dataverse.oauth.provider import TRANSACTION_TTL_SECONDS, DataverseOAuthProvider
from dataverse.oauth.repository import OAuthRepository

logger = logging.getLogger(__name__)

CSRF_PURPOSE = "csrf"
CONSENT_PURPOSE = "consent"


@dataclass
class BrowserFlow:
    """What the consent and callback endpoints share."""

    repository: OAuthRepository
    provider: DataverseOAuthProvider
    entra: EntraApi
    signer: ValueSigner
    cipher: TokenCipher
    issuer: str
    callback_url: str
    environments: list[str]
    abilities: Abilities
    branding: Branding
    refresh_token_ttl_seconds: int
    entra_sign_in_url: str  # where the approval redirects the browser (Entra's authorize endpoint)
    clock: Callable[[], float] = field(default=time.time)


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _verified_domain(client: OAuthClientInformationFull) -> str | None:
    """The host that published the client's metadata document (CIMD), or None for a self-registered (DCR) client."""
    if looks_like_metadata_url(client.client_id):
        return urlsplit(client.client_id).hostname or client.client_id
    return None


class ConsentEndpoints:
    """GET and POST /consent."""

    def __init__(self, flow: BrowserFlow) -> None:
        self._flow = flow

    async def handle(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._decide(request)
        return await self._show(request)

    async def _show(self, request: Request) -> Response:
        flow = self._flow
        transaction_id = request.query_params.get("transaction", "")
        found = await flow.repository.transactions.get(transaction_id) if transaction_id else None
        if found is None:
            return problem_page(flow.branding, EXPIRED_REQUEST)
        transaction = found[0]
        client = await flow.provider.get_client(transaction.client_id)
        if client is None:
            return problem_page(flow.branding, CLIENT_NOT_REGISTERED)
        browser_id = request.cookies.get(BROWSER_COOKIE) or new_secret()
        view = ConsentView(
            transaction_id=transaction_id,
            csrf_token=flow.signer.digest(CSRF_PURPOSE, transaction_id, browser_id),
            client_id=client.client_id,
            client_name=client.client_name,
            verified_domain=_verified_domain(client),
            redirect_uri=transaction.redirect_uri,
            scopes=transaction.scopes,
            environments=flow.environments,
            resource=transaction.resource,
            abilities=flow.abilities,
            access_ends_at=flow.clock() + flow.refresh_token_ttl_seconds,
        )
        targets = (origin_of(flow.entra_sign_in_url), origin_of(transaction.redirect_uri))
        response = consent_page(view, branding=flow.branding, form_targets=targets)
        set_host_cookie(response, BROWSER_COOKIE, browser_id, max_age=BROWSER_COOKIE_MAX_AGE)
        return response

    async def _decide(self, request: Request) -> Response:
        flow = self._flow
        form = await request.form()
        transaction_id = str(form.get("transaction") or "")
        browser_id = request.cookies.get(BROWSER_COOKIE)
        try:
            if not browser_id:
                raise CookieError("no browser cookie")
            flow.signer.check_digest(CSRF_PURPOSE, str(form.get("csrf_token") or ""), transaction_id, browser_id)
        except CookieError as error:
            logger.warning("consent POST refused: %s", error)
            return problem_page(flow.branding, FORGED_APPROVAL, status_code=403)
        consumed = await flow.repository.transactions.consume(transaction_id) if transaction_id else None
        if consumed is None:
            return problem_page(flow.branding, EXPIRED_REQUEST)
        transaction = consumed.item
        if form.get("decision") != "approve":
            return redirect_to_client(
                transaction.redirect_uri, issuer=flow.issuer, status_code=303,
                error="access_denied", error_description="the user denied access", state=transaction.state,
            )
        verifier = new_secret(nbytes=48)
        nonce = new_secret()
        state = new_secret()
        record = UpstreamAuthState(
            transaction_id=transaction_id,
            transaction=transaction,
            code_verifier=flow.cipher.encrypt_json(verifier, associated_data=transaction_id),
            nonce=nonce,
            browser_id_hash=hash_secret(browser_id),
        )
        await flow.repository.states.create(
            hash_secret(state), record, expires_at=flow.clock() + TRANSACTION_TTL_SECONDS
        )
        authorize_url = flow.entra.build_authorize_url(
            redirect_uri=flow.callback_url, state=state, code_challenge=_s256(verifier), nonce=nonce
        )
        consent_cookie = flow.signer.sign(
            CONSENT_PURPOSE,
            {"cid": transaction.client_id, "txn": transaction_id, "bid": hash_secret(browser_id)},
            ttl_seconds=TRANSACTION_TTL_SECONDS,
        )
        response = RedirectResponse(authorize_url, status_code=303, headers={"Cache-Control": "no-store"})
        set_host_cookie(response, CONSENT_COOKIE, consent_cookie, max_age=TRANSACTION_TTL_SECONDS)
        return response
