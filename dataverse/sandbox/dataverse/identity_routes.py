"""Who the caller is: the bearer-token check that maps an Entra object id to the caller's systemuser. `GET /WhoAmI`
is a function of the operation catalog (`function_operations`); `systemusers(<id>)`, `usersettingscollection(<id>)`
and `businessunits` are ordinary entity sets served by record_routes."""

from __future__ import annotations

from collections.abc import Callable

import jwt

from dataverse.sandbox.identity import process_signing_key


def sandbox_token_verifier(audience: str) -> Callable[[str], str]:
    """A `verify_token` for the sandbox app: checks an RS256 sandbox token for `audience` (the environment URL, as
    Entra issues Dataverse tokens) and returns its `oid`. Raises on a bad signature, audience, expiry or missing oid."""

    base = audience.rstrip("/")

    def verify(token: str) -> str:
        try:
            claims = process_signing_key().verify(token, audience=base)
        except jwt.InvalidAudienceError:
            claims = process_signing_key().verify(token, audience=base + "/")
        object_id = claims.get("oid")
        if not isinstance(object_id, str) or not object_id:
            raise ValueError("the token has no oid claim")
        return object_id

    return verify
