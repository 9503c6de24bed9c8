"""The browser's part of a sandbox sign-in, for tests and scripts: open the authorize URL, submit the sign-in form,
and return where Entra redirects to (the redirect URI with `code` and `state`, or with `error`)."""

from __future__ import annotations

import base64
import hashlib
import secrets

import httpx

from dataverse.sandbox.users import SANDBOX_PASSWORD


def create_pkce_pair() -> tuple[str, str]:
    """A fresh (code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def sign_in_through_sandbox(
    browser: httpx.AsyncClient, authorize_url: str, *, username: str = "alice", password: str = SANDBOX_PASSWORD
) -> httpx.URL:
    """GET the sign-in page, POST the form, and return the redirect's Location. Raises if the page or the form
    answered anything but the page and a redirect (RuntimeError with the status and body)."""
    page = await browser.get(authorize_url)
    if page.status_code == 302:  # an error redirect before any page is shown
        return httpx.URL(page.headers["location"])
    if page.status_code != 200 or 'name="username"' not in page.text:
        raise RuntimeError(f"sandbox sign-in page failed: {page.status_code} {page.text[:500]}")
    answer = await browser.post(authorize_url, data={"username": username, "password": password})
    if answer.status_code != 302:
        raise RuntimeError(f"sandbox sign-in failed: {answer.status_code} {answer.text[:500]}")
    return httpx.URL(answer.headers["location"])
