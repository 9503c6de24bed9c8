"""GET /oauth/callback: Entra ID sends the browser back here with its code and our `state`.

Order matters: the state must exist, then the browser must be the one that consented (the signed consent cookie
names this transaction, this client and this browser), then the state is consumed (exactly once, across instances).
Only then is Entra's code exchanged (EntraClient checks the id_token and nonce), the Grant stored with the upstream
tokens encrypted, and our own single-use authorization code sent to the client's redirect URI with its state.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from dataverse.oauth.consent import CONSENT_PURPOSE, BrowserFlow
from dataverse.oauth.crypto import DecryptionError, hash_secret, new_secret
from dataverse.oauth.entra import EntraError, EntraUnavailableError
from dataverse.oauth.errors import CookieError
from dataverse.oauth.models import Grant, UpstreamAuthState, UpstreamTokenSet
from dataverse.oauth.pages import BROWSER_COOKIE, CONSENT_COOKIE, clear_host_cookie, redirect_to_client
from dataverse.oauth.problem_pages import EXPIRED_REQUEST, OTHER_BROWSER, problem_page

logger = logging.getLogger(__name__)


def _check_browser(flow: BrowserFlow, request: Request, pending: UpstreamAuthState) -> None:
    """CookieError unless this browser holds the consent cookie for exactly this transaction."""
    payload = flow.signer.verify(CONSENT_PURPOSE, request.cookies.get(CONSENT_COOKIE))
    browser_id = request.cookies.get(BROWSER_COOKIE) or ""
    expected = {
        "txn": pending.transaction_id,
        "cid": pending.transaction.client_id,
        "bid": pending.browser_id_hash,
    }
    if any(payload.get(name) != value for name, value in expected.items()):
        raise CookieError("consent cookie belongs to another transaction")
    if hash_secret(browser_id) != pending.browser_id_hash:
        raise CookieError("browser cookie does not match the consenting browser")


class CallbackEndpoint:
    """Completes the upstream leg and issues our authorization code."""

    def __init__(self, flow: BrowserFlow) -> None:
        self._flow = flow

    async def handle(self, request: Request) -> Response:
        flow = self._flow
        params = request.query_params
        state = params.get("state") or ""
        state_key = hash_secret(state) if state else ""
        found = await flow.repository.states.get(state_key) if state else None
        if found is None:
            return problem_page(flow.branding, EXPIRED_REQUEST)
        pending = found.item
        try:
            _check_browser(flow, request, pending)
        except CookieError as error:
            logger.warning("callback refused: %s", error)
            return problem_page(flow.branding, OTHER_BROWSER, status_code=403)
        consumed = await flow.repository.states.consume(state_key)
        if consumed is None:
            return problem_page(flow.branding, EXPIRED_REQUEST)
        pending = consumed.item
        transaction = pending.transaction

        def fail(error: str, description: str) -> Response:
            response = redirect_to_client(
                transaction.redirect_uri, issuer=flow.issuer, error=error, error_description=description,
                state=transaction.state,
            )
            clear_host_cookie(response, CONSENT_COOKIE)
            return response

        if params.get("error"):
            logger.info("Entra returned %s: %s", params.get("error"), params.get("error_description"))
            upstream_error = params.get("error")
            return fail(
                "temporarily_unavailable" if upstream_error == "temporarily_unavailable" else "access_denied",
                "sign-in with Microsoft Entra ID did not complete",
            )
        code = params.get("code")
        if not code:
            return fail("server_error", "Microsoft Entra ID returned no authorization code")
        try:
            verifier = flow.cipher.decrypt_json(pending.code_verifier, associated_data=pending.transaction_id)
            upstream = await flow.entra.exchange_code(
                code=code, code_verifier=verifier, redirect_uri=flow.callback_url, nonce=pending.nonce
            )
        except EntraUnavailableError:
            logger.exception("Entra unavailable during code exchange")
            return fail("temporarily_unavailable", "Microsoft Entra ID is not reachable; try again shortly")
        except (EntraError, DecryptionError):
            logger.exception("Entra code exchange failed")
            return fail("access_denied", "sign-in with Microsoft Entra ID failed")

        claims = upstream.id_token_claims or {}
        subject = claims.get("oid")
        if not subject:
            return fail("access_denied", "the Entra ID token names no user")
        grant_id = new_secret(nbytes=18)
        now = flow.clock()
        token_set = UpstreamTokenSet(
            access_token=upstream.access_token,
            refresh_token=upstream.refresh_token,
            expires_at=float(upstream.expires_at),
            scope=upstream.scope if isinstance(upstream.scope, str) else " ".join(upstream.scope or []),
        )
        grant = Grant(
            subject=subject,
            upn=claims.get("preferred_username") or claims.get("upn") or claims.get("email") or "",
            name=claims.get("name") or "",
            tid=claims.get("tid") or "",
            client_id=transaction.client_id,
            scopes=transaction.scopes,
            resource=transaction.resource,
            upstream=flow.cipher.encrypt_json(token_set.model_dump(), associated_data=grant_id),
            created_at=now,
            expires_at=now + flow.refresh_token_ttl_seconds,
        )
        await flow.repository.grants.create(grant_id, grant, expires_at=grant.expires_at)
        our_code = await flow.provider.create_authorization_code(grant_id, transaction, subject)
        response = redirect_to_client(transaction.redirect_uri, issuer=flow.issuer, code=our_code,
                                      state=transaction.state)
        clear_host_cookie(response, CONSENT_COOKIE)
        return response
