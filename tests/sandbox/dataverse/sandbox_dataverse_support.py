"""Shared constants and helpers for the sandbox Dataverse tests: the environment URL the app answers as, a fixed
"today", and real RS256 tokens minted for the sandbox users."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from dataverse.sandbox.identity import mint_user_token
from dataverse.sandbox.users import SandboxUser

HOST = "http://dataverse.test"
MOUNT = "/sandbox/dataverse"
BASE_URL = HOST + MOUNT
API = MOUNT + "/api/data/v9.2"
TODAY = date(2026, 11, 18)
ANNOTATE_ALL = {"Prefer": 'odata.include-annotations="*"'}
FORMATTED = "@OData.Community.Display.V1.FormattedValue"


def token_for(user: SandboxUser, *, audience: str = BASE_URL, lifetime_seconds: int = 3600) -> str:
    return mint_user_token(user, audience=audience, issuer="https://login.sandbox.test/tenant/v2.0",
                           scopes=["user_impersonation"], client_id="sandbox-tests",
                           lifetime_seconds=lifetime_seconds)


def fetch_url(entity_set: str, xml: str) -> str:
    return f"{API}/{entity_set}?fetchXml={quote(xml, safe='')}"
