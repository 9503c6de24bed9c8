"""POST /register: dynamic client registration (RFC 7591) as real clients send it.

The python-sdk's RegistrationHandler refuses a registration whose `scope` names a scope it does not know (claude.ai's
`claudeai`), stores every field whatever its size (a 350 KB `jwks` was kept for 90 days; 600 KB of metadata gave a
500), and answers `application_type: native` for a client that sent none. This handler keeps the SDK's request and
response models and its rules (authorization_code grant and `code` response type required, no private_key_jwt, no
jwt-bearer grant, a secret for every confidential method), and adds:
- a size cap on every field it keeps (FIELD_CAPS); larger values answer 400 invalid_client_metadata;
- unknown scopes ignored: the registered scope is what ScopePolicy grants;
- `jwks` never stored (this server verifies no client key), unknown members dropped (the SDK model ignores them);
- `application_type` recorded as sent (absent stays absent), and never a reason to refuse a loopback redirect;
- grant types recorded as authorization_code and refresh_token, the two this server issues, whatever was asked.
Which redirect URIs are allowed is the provider's decision (the allow-list); one refused URI refuses the whole request.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

import pydantic_core
from mcp.server.auth.errors import stringify_pydantic_error
from mcp.server.auth.provider import RegistrationError
from mcp.shared.auth import JWT_BEARER_GRANT_TYPE, OAuthClientInformationFull, OAuthClientMetadata
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dataverse.oauth.provider import DataverseOAuthProvider
from dataverse.oauth.scopes import MAX_SCOPE_CHARS, ScopePolicy
from dataverse.storage.errors import RecordTooLargeError

logger = logging.getLogger(__name__)

MAX_REGISTRATION_BYTES = 32 * 1024
MAX_URI_CHARS = 1024
MAX_REDIRECT_URIS = 10
MAX_LIST_ITEMS = 10

FIELD_CAPS: dict[str, tuple[int, int | None]] = {
    # field: (longest string in characters, most items when it is a list)
    "redirect_uris": (MAX_URI_CHARS, MAX_REDIRECT_URIS),
    "client_name": (120, None),
    "client_uri": (MAX_URI_CHARS, None),
    "logo_uri": (MAX_URI_CHARS, None),
    "tos_uri": (MAX_URI_CHARS, None),
    "policy_uri": (MAX_URI_CHARS, None),
    "jwks_uri": (MAX_URI_CHARS, None),
    "contacts": (320, 5),
    "software_id": (128, None),
    "software_version": (64, None),
    "scope": (MAX_SCOPE_CHARS, None),
    "grant_types": (128, MAX_LIST_ITEMS),
    "response_types": (64, MAX_LIST_ITEMS),
    "token_endpoint_auth_method": (64, None),
    "application_type": (16, None),
}
"""Every member this server keeps, with its cap. Members not listed are dropped (see module doc)."""

ISSUED_GRANT_TYPES = ["authorization_code", "refresh_token"]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class InvalidClientMetadataError(ValueError):
    """The registration request cannot be accepted as sent."""


def _check_caps(document: dict[str, Any]) -> None:
    for name, (longest, most) in FIELD_CAPS.items():
        value = document.get(name)
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and (most is None or len(value) > most):
            allowed = "a list" if most is None else f"more than {most} entries"
            raise InvalidClientMetadataError(f"{name} must not be {allowed}")
        for item in values:
            if isinstance(item, str) and len(item) > longest:
                raise InvalidClientMetadataError(f"{name} must be at most {longest} characters")


def parse_registration(body: bytes, scopes: ScopePolicy) -> tuple[OAuthClientMetadata, str | None]:
    """The validated metadata and the application_type as sent; InvalidClientMetadataError when unacceptable."""
    try:
        document = pydantic_core.from_json(body)  # nesting depth is bounded by the parser (no RecursionError)
    except ValueError as error:
        raise InvalidClientMetadataError("the body must be a JSON object") from error
    if not isinstance(document, dict):
        raise InvalidClientMetadataError("the body must be a JSON object")
    _check_caps(document)
    application_type = document.get("application_type")
    if application_type not in (None, "web", "native"):
        raise InvalidClientMetadataError("application_type must be 'web' or 'native'")
    scope = document.get("scope")
    kept = {name: document[name] for name in FIELD_CAPS if name in document}
    kept["scope"] = " ".join(scopes.grant(scope if isinstance(scope, str) else None))
    try:
        metadata = OAuthClientMetadata.model_validate(kept)
    except ValidationError as error:
        raise InvalidClientMetadataError(stringify_pydantic_error(error)) from error
    return metadata, application_type


def _check_rules(metadata: OAuthClientMetadata) -> None:
    """The SDK's RegistrationHandler rules, unchanged."""
    if metadata.token_endpoint_auth_method == "private_key_jwt":
        raise InvalidClientMetadataError("token_endpoint_auth_method 'private_key_jwt' is not supported")
    if "authorization_code" not in metadata.grant_types:
        raise InvalidClientMetadataError("grant_types must include 'authorization_code'")
    if JWT_BEARER_GRANT_TYPE in metadata.grant_types:
        raise InvalidClientMetadataError(f"grant_types must not include '{JWT_BEARER_GRANT_TYPE}'")
    if "code" not in metadata.response_types:
        raise InvalidClientMetadataError("response_types must include 'code' for authorization_code grant")


def _error(error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400, headers=NO_STORE)


class RegistrationEndpoint:
    """POST /register."""

    def __init__(
        self, provider: DataverseOAuthProvider, scopes: ScopePolicy, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._provider = provider
        self._scopes = scopes
        self._clock = clock

    async def handle(self, request: Request) -> Response:
        try:
            metadata, application_type = parse_registration(await request.body(), self._scopes)
            _check_rules(metadata)
        except InvalidClientMetadataError as error:
            return _error("invalid_client_metadata", str(error))
        method = metadata.token_endpoint_auth_method or "client_secret_post"
        secret = secrets.token_hex(32) if method != "none" else None
        issued_at = int(self._clock())
        fields = metadata.model_dump(exclude={"application_type", "grant_types", "token_endpoint_auth_method"})
        client = OAuthClientInformationFull.model_validate({
            **fields,
            "application_type": application_type,
            "grant_types": ISSUED_GRANT_TYPES,
            "token_endpoint_auth_method": method,
            "client_id": str(uuid.uuid4()),
            "client_id_issued_at": issued_at,
            "client_secret": secret,
            "client_secret_expires_at": 0 if secret else None,  # RFC 7591 3.2.1: 0 = never
        })
        try:
            await self._provider.register_client(client)
        except RegistrationError as error:
            return _error(error.error, error.error_description or error.error)
        except RecordTooLargeError:
            logger.warning("registration refused: the record does not fit in storage")
            return _error("invalid_client_metadata", "the client metadata is too large")
        return JSONResponse(client.model_dump(mode="json", exclude_none=True), status_code=201, headers=NO_STORE)
