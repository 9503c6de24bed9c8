"""`DataverseOAuthProvider`: the python-sdk `OAuthAuthorizationServerProvider` of this app. The SDK handlers parse
and validate the RFC requests (PKCE S256 at /authorize, redirect exact match, PKCE verifier and redirect at /token);
this class decides the rest: which clients exist (DCR with an allow-list, or CIMD), binding to the one resource,
where /authorize goes next (our consent page, never straight to Entra), and the code and refresh token grants.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from urllib.parse import urlencode

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationParams,
    AuthorizeError,
    IdentityAssertionParams,
    RegistrationError,
    TokenError,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl

from dataverse.oauth.cimd import ClientMetadataFetcher, looks_like_metadata_url
from dataverse.oauth.crypto import DecryptionError, TokenCipher, hash_secret, new_secret
from dataverse.oauth.errors import ClientMetadataError
from dataverse.oauth.models import (
    AuthCodeRecord,
    AuthTransaction,
    ClientRecord,
    GrantAuthorizationCode,
    GrantRefreshToken,
)
from dataverse.oauth.redirects import RedirectAllowList
from dataverse.oauth.repository import OAuthRepository
from dataverse.oauth.resources import is_same_resource
from dataverse.oauth.tokens import TokenService
from dataverse.storage.errors import ConcurrencyError

logger = logging.getLogger(__name__)

TRANSACTION_TTL_SECONDS = 600
AUTH_CODE_TTL_SECONDS = 300
_CLIENT_RENEWAL_INTERVAL_SECONDS = 24 * 3600
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class DataverseOAuthProvider:
    """Implements mcp.server.auth.provider.OAuthAuthorizationServerProvider over an OAuthRepository."""

    def __init__(
        self,
        *,
        repository: OAuthRepository,
        tokens: TokenService,
        client_metadata: ClientMetadataFetcher,
        allow_list: RedirectAllowList,
        secret_cipher: TokenCipher,
        public_base_url: str,
        resource: str,
        default_scopes: list[str],
        client_registration_ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repository = repository
        self.tokens = tokens
        self._client_metadata = client_metadata
        self._allow_list = allow_list
        self._secret_cipher = secret_cipher
        self._public_base_url = public_base_url
        self.resource = resource
        self._default_scopes = default_scopes
        self._client_ttl = client_registration_ttl_seconds
        self._clock = clock

    # --- clients --------------------------------------------------------------------------------------------------
    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if looks_like_metadata_url(client_id):
            try:
                return await self._client_metadata.get_client(client_id)
            except ClientMetadataError as error:
                logger.warning("client metadata document refused: %s", error)
                return None
        found = await self._repository.clients.get(client_id)
        if found is None:
            return None
        record = found[0]
        client = record.client
        if client.client_secret:
            try:
                secret = self._secret_cipher.decrypt_json(client.client_secret, associated_data=client_id)
            except DecryptionError:
                logger.error("stored client secret of %s cannot be decrypted", client_id)
                return None
            client = client.model_copy(update={"client_secret": secret})
        now = self._clock()
        if now - record.renewed_at > _CLIENT_RENEWAL_INTERVAL_SECONDS:
            await self._repository.clients.upsert(
                client_id, record.model_copy(update={"renewed_at": now}), expires_at=now + self._client_ttl
            )
        return client

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        redirect_uris = [str(uri) for uri in client_info.redirect_uris or []]
        if not redirect_uris:
            raise RegistrationError("invalid_redirect_uri", "at least one redirect_uri is required")
        disallowed = self._allow_list.first_disallowed(redirect_uris)
        if disallowed is not None:
            raise RegistrationError("invalid_redirect_uri", f"redirect URI {disallowed} is not allowed by this server")
        stored = client_info
        if client_info.client_secret:
            sealed = self._secret_cipher.encrypt_json(client_info.client_secret, associated_data=client_info.client_id)
            stored = client_info.model_copy(update={"client_secret": sealed})
        now = self._clock()
        await self._repository.clients.create(
            client_info.client_id, ClientRecord(client=stored, renewed_at=now), expires_at=now + self._client_ttl
        )

    # --- authorization ----------------------------------------------------------------------------------------------
    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        """Park the validated request as a transaction and send the browser to our consent page."""
        if not is_same_resource(params.resource, self.resource):
            raise AuthorizeError("invalid_target", f"this server only issues tokens for {self.resource}")
        if not _S256_CHALLENGE.match(params.code_challenge):
            raise AuthorizeError("invalid_request", "code_challenge must be a base64url SHA-256 digest (S256)")
        transaction_id = new_secret()
        now = self._clock()
        transaction = AuthTransaction(
            client_id=client.client_id,
            redirect_uri=str(params.redirect_uri),
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            state=params.state,
            code_challenge=params.code_challenge,
            scopes=params.scopes or list(self._default_scopes),
            resource=self.resource,
            created_at=now,
        )
        await self._repository.transactions.create(
            transaction_id, transaction, expires_at=now + TRANSACTION_TTL_SECONDS
        )
        return f"{self._public_base_url}/consent?{urlencode({'transaction': transaction_id})}"

    async def create_authorization_code(self, grant_id: str, transaction: AuthTransaction, subject: str) -> str:
        """Mint our single-use authorization code for a completed transaction (called by the callback)."""
        code = new_secret()
        expires_at = self._clock() + AUTH_CODE_TTL_SECONDS
        record = AuthCodeRecord(
            grant_id=grant_id,
            client_id=transaction.client_id,
            redirect_uri=transaction.redirect_uri,
            redirect_uri_provided_explicitly=transaction.redirect_uri_provided_explicitly,
            code_challenge=transaction.code_challenge,
            scopes=transaction.scopes,
            resource=transaction.resource,
            subject=subject,
            expires_at=expires_at,
        )
        await self._repository.codes.create(hash_secret(code), record, expires_at=expires_at)
        return code

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> GrantAuthorizationCode | None:
        code_hash = hash_secret(authorization_code)
        found = await self._repository.codes.get(code_hash)
        if found is None:
            return None
        record, _ = found
        if record.client_id != client.client_id:
            return None
        if record.used:
            logger.warning("authorization code replay; revoking grant %s", record.grant_id)
            await self.tokens.revoke_grant(record.grant_id)
            return None
        return GrantAuthorizationCode(
            code=authorization_code,
            scopes=record.scopes,
            expires_at=record.expires_at,
            client_id=record.client_id,
            code_challenge=record.code_challenge,
            redirect_uri=AnyUrl(record.redirect_uri),
            redirect_uri_provided_explicitly=record.redirect_uri_provided_explicitly,
            resource=record.resource,
            subject=record.subject,
            grant_id=record.grant_id,
            code_hash=code_hash,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: GrantAuthorizationCode
    ) -> OAuthToken:
        found = await self._repository.codes.get(authorization_code.code_hash)
        if found is None or found[0].used:
            raise TokenError("invalid_grant", "authorization code was already used")
        record, etag = found
        try:
            await self._repository.codes.replace(
                authorization_code.code_hash, record.model_copy(update={"used": True}), etag=etag,
                expires_at=record.expires_at,
            )
        except ConcurrencyError as error:
            await self.tokens.revoke_grant(record.grant_id)
            raise TokenError("invalid_grant", "authorization code was already used") from error
        grant = await self.tokens.get_grant(record.grant_id)
        if grant is None:
            raise TokenError("invalid_grant", "the grant was revoked or has expired")
        return await self.tokens.issue_tokens(record.grant_id, grant, scopes=record.scopes)

    # --- refresh, access, revocation -------------------------------------------------------------------------------
    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> GrantRefreshToken | None:
        loaded = await self.tokens.load_refresh_token(client.client_id, refresh_token)
        return None if loaded is None else loaded[0]

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: GrantRefreshToken, scopes: list[str]
    ) -> OAuthToken:
        # load_refresh_token (above, same request) found it unspent: finding it spent now means a racing duplicate
        loaded = await self.tokens.load_refresh_token(client.client_id, refresh_token.token, seen_unspent=True)
        if loaded is None:
            raise TokenError("invalid_grant", "refresh token was already used")
        return await self.tokens.rotate(loaded[0], loaded[1], scopes=scopes)

    async def load_access_token(self, token: str) -> AccessToken | None:
        return await self.tokens.load_access_token(token)

    async def revoke_token(self, token: AccessToken | GrantRefreshToken) -> None:
        """Revoking either kind of token ends the whole grant (RFC 7009 SHOULD)."""
        if isinstance(token, GrantRefreshToken):
            await self.tokens.revoke_grant(token.grant_id)
            return
        grant_id = (token.claims or {}).get("grant_id")
        await self.tokens.revoke_access_token(token.token)
        if grant_id:
            await self.tokens.revoke_grant(str(grant_id))

    async def exchange_identity_assertion(
        self, client: OAuthClientInformationFull, params: IdentityAssertionParams
    ) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "the JWT bearer grant is not supported")
