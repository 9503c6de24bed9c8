"""Small pure pieces: the redirect allow-list, resource matching, signed values, and the bearer cache's bound."""

from __future__ import annotations

import pytest

from dataverse.oauth.crypto import ValueSigner
from dataverse.oauth.errors import CookieError
from dataverse.oauth.redirects import RedirectAllowList
from dataverse.oauth.resources import is_same_resource
from dataverse.settings import DEFAULT_REDIRECT_URIS

ALLOW = RedirectAllowList(DEFAULT_REDIRECT_URIS)


@pytest.mark.parametrize("uri", [
    "https://chatgpt.com/connector_platform_oauth_redirect",
    "https://chatgpt.com/connector/oauth/AbC_123",
    "https://claude.ai/api/mcp/auth_callback",
    "http://localhost:53682/callback",
    "http://127.0.0.1:8080/cb",
])
def test_known_callbacks_are_allowed(uri):
    assert ALLOW.allows(uri)


@pytest.mark.parametrize("uri", [
    "https://attacker.example/callback",
    "https://chatgpt.com/connector/oauth/a/b",
    "https://chatgpt.com/connector/oauth/..",
    "https://chatgpt.com.attacker.example/connector_platform_oauth_redirect",
    "http://localhost:53682.attacker.example/cb",
    "http://localhost:53682/callback?next=https://attacker.example",
    "http://localhost:53682/callback#frag",
    "http://user@localhost:5/cb",
    "https://claude.ai/api/mcp/auth_callback/extra",
    "http://claude.ai/api/mcp/auth_callback",
])
def test_lookalikes_are_refused(uri):
    assert not ALLOW.allows(uri)


def test_double_star_matches_any_path_under_a_prefix_the_empty_one_included():
    allow = RedirectAllowList(["http://localhost:*/**"])
    assert allow.allows("http://localhost:6274/oauth/callback")
    assert allow.allows("http://localhost:6274/") and allow.allows("http://localhost:6274")
    assert not allow.allows("http://localhost:6274/a/../b")


@pytest.mark.parametrize("candidate, same", [
    (None, True), ("https://mcp.example/mcp", True), ("https://MCP.example:443/mcp/", True),
    ("https://mcp.example/mcp?chatgpt=1", True), ("https://mcp.example/other", False),
    ("http://mcp.example/mcp", False), ("https://evil.example/mcp", False), ("not a url", False),
])
def test_resource_matching(candidate, same):
    assert is_same_resource(candidate, "https://mcp.example/mcp") is same


def test_signed_values_reject_tampering_other_purposes_and_expiry():
    now = [1000.0]
    signer = ValueSigner(b"s" * 32, clock=lambda: now[0])
    value = signer.sign("consent", {"txn": "t1"}, ttl_seconds=60)
    assert signer.verify("consent", value)["txn"] == "t1"
    with pytest.raises(CookieError):
        signer.verify("csrf", value)
    body, mac = value.split(".")
    with pytest.raises(CookieError):
        signer.verify("consent", body[:-2] + "AA." + mac)
    now[0] += 61
    with pytest.raises(CookieError):
        signer.verify("consent", value)
