"""The proxy's state as named pydantic records, each stored in its own collection (names in `COLLECTIONS`), plus the
SDK token types extended with the grant they belong to. Codes and tokens are keyed by their SHA-256 hash; the user's
upstream Entra tokens sit in `Grant.upstream` encrypted (AES-GCM, bound to the grant id), and the Dataverse tokens
obtained for them, when shared between instances, in `SharedDataverseToken` (encrypted too)."""

from __future__ import annotations

from mcp.server.auth.provider import AuthorizationCode, RefreshToken
from mcp.shared.auth import OAuthClientInformationFull
from pydantic import BaseModel


class ClientRecord(BaseModel):
    """A dynamically registered client (RFC 7591). Kept for settings.client_registration_ttl_seconds, renewed on use."""

    client: OAuthClientInformationFull
    renewed_at: float


class AuthTransaction(BaseModel):
    """A validated /authorize request waiting for the user's consent (key: random transaction id)."""

    client_id: str
    redirect_uri: str
    redirect_uri_provided_explicitly: bool
    state: str | None
    code_challenge: str
    scopes: list[str]
    resource: str
    created_at: float


class UpstreamAuthState(BaseModel):
    """The consented transaction on its way through Entra (key: hash of our upstream `state`, single use)."""

    transaction_id: str
    transaction: AuthTransaction
    code_verifier: str  # encrypted (AES-GCM, bound to the transaction id)
    nonce: str
    browser_id_hash: str


class AuthCodeRecord(BaseModel):
    """Our authorization code (key: its hash): single use, five minutes."""

    grant_id: str
    client_id: str
    redirect_uri: str
    redirect_uri_provided_explicitly: bool
    code_challenge: str
    scopes: list[str]
    resource: str
    subject: str
    expires_at: float
    used: bool = False


class UpstreamTokenSet(BaseModel):
    """The user's Entra tokens (plaintext form; only ever stored encrypted inside a Grant)."""

    access_token: str
    refresh_token: str | None
    expires_at: float
    scope: str = ""


class Grant(BaseModel):
    """One user's authorization of one client (key: random grant id). Deleting it ends every token issued under it."""

    subject: str  # Entra object id (oid)
    upn: str
    name: str
    tid: str
    client_id: str
    scopes: list[str]
    resource: str
    upstream: str  # encrypted UpstreamTokenSet
    created_at: float
    expires_at: float


class RefreshTokenRecord(BaseModel):
    """A refresh token (key: its hash). Rotated on use; a second use revokes the grant, unless it raced the rotation
    (see `dataverse.oauth.tokens`): `used_at` is when a rotation spent it, `rotated_at` when that rotation had issued
    the new pair (None while it is still issuing)."""

    grant_id: str
    client_id: str
    scopes: list[str]
    resource: str
    subject: str
    expires_at: float
    used: bool = False
    used_at: float | None = None
    rotated_at: float | None = None


class AccessTokenRecord(BaseModel):
    """An opaque access token (key: its hash), bound to one resource."""

    grant_id: str
    client_id: str
    scopes: list[str]
    resource: str
    subject: str
    expires_at: float
    upn: str
    name: str
    tid: str


class SharedDataverseToken(BaseModel):
    """A Dataverse token obtained On-Behalf-Of, shared by the instances (key: hash of grant id and environment URL);
    the token itself encrypted (AES-GCM, bound to the key and the user). See `dataverse.oauth.shared_tokens`."""

    token: str  # encrypted
    expires_at: float


class RateWindowCount(BaseModel):
    """Requests counted in one fixed window for one rate-limit bucket (key: bucket and window start)."""

    count: int


class GrantAuthorizationCode(AuthorizationCode):
    """The SDK's AuthorizationCode with the grant it opens and the hash it is stored under."""

    grant_id: str
    code_hash: str


class GrantRefreshToken(RefreshToken):
    """The SDK's RefreshToken with the grant it renews."""

    grant_id: str


COLLECTIONS = {
    "clients": "oauthclients",
    "transactions": "oauthtransactions",
    "states": "oauthstates",
    "codes": "oauthcodes",
    "grants": "oauthgrants",
    "refresh_tokens": "oauthrefreshtokens",
    "access_tokens": "oauthaccesstokens",
    "rate_limits": "oauthratelimits",
    "dataverse_tokens": "oauthdataversetokens",
}
