"""The consent step between /authorize and Entra ID (confused-deputy protection; we prompt every time).

GET /consent?transaction=... names the client, where its redirect goes, the scopes and the Dataverse environment,
and sets a random browser id cookie. POST /consent needs a CSRF token bound to (transaction, browser id) and that
cookie (SameSite=Lax, so a cross-site POST arrives without it). Approve spends the transaction, stores our own
PKCE verifier, nonce and single-use `state`, sets the signed `__Host-` consent cookie bound to client, transaction
and browser, and redirects to Entra. Deny redirects to the client with error=access_denied and its state.
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

from dataverse.oauth.crypto import TokenCipher, ValueSigner, hash_secret, new_secret
from dataverse.oauth.entra import EntraApi
from dataverse.oauth.errors import CookieError
from dataverse.oauth.models import UpstreamAuthState
from dataverse.oauth.pages import (
    BROWSER_COOKIE,
    BROWSER_COOKIE_MAX_AGE,
    CONSENT_COOKIE,
    ConsentView,
    consent_page,
    error_page,
    origin_of,
    redirect_to_client,
    set_host_cookie,
)
from dataverse.oauth.provider import TRANSACTION_TTL_SECONDS, DataverseOAuthProvider
from dataverse.oauth.repository import OAuthRepository

logger = logging.getLogger(__name__)

CSRF_PURPOSE = "csrf"
CONSENT_PURPOSE = "consent"
EXPIRED_MESSAGE = "This sign-in request has expired or was already used. Start the connection again from your app."


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
    environment_label: str
    refresh_token_ttl_seconds: int
    entra_authority_host: str
    clock: Callable[[], float] = field(default=time.time)


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _client_label(client: OAuthClientInformationFull) -> str:
    if client.client_name:
        return client.client_name
    if client.client_id.startswith("https://"):
        return urlsplit(client.client_id).hostname or client.client_id
    return "Unnamed application"


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
            return error_page(EXPIRED_MESSAGE)
        transaction = found[0]
        client = await flow.provider.get_client(transaction.client_id)
        if client is None:
            return error_page("The application asking for access is no longer registered.")
        browser_id = request.cookies.get(BROWSER_COOKIE) or new_secret()
        view = ConsentView(
            transaction_id=transaction_id,
            csrf_token=flow.signer.digest(CSRF_PURPOSE, transaction_id, browser_id),
            client_name=_client_label(client),
            client_id=client.client_id,
            redirect_host=urlsplit(transaction.redirect_uri).netloc,
            scopes=transaction.scopes,
            environment=flow.environment_label,
            resource=transaction.resource,
        )
        targets = (origin_of(flow.entra_authority_host), origin_of(transaction.redirect_uri))
        response = consent_page(view, form_targets=targets)
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
            return error_page("This approval did not come from the consent page. Start again from your app.",
                              status_code=403)
        consumed = await flow.repository.transactions.consume(transaction_id)
        if consumed is None:
            return error_page(EXPIRED_MESSAGE)
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
