"""A requests-compatible HTTP client for MSAL that carries https://login.microsoftonline.com/... to the sandbox Entra
served at <base_url>/sandbox/entra/... over real (plain) HTTP.

MSAL insists on https authorities, so the app's EntraClient keeps the real authority and is handed this client
instead (`EntraClient(..., http_client=sandbox_http_client(base_url=...))`). Network failures surface as the builtin
ConnectionError, which is what requests' own exceptions are (OSError) and what EntraClient reports as unavailable.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from dataverse.sandbox.entra.context import ENTRA_AUTHORITY_HOST, SANDBOX_ENTRA_MOUNT_PATH


class SandboxEntraHttpClient:
    """The `get`/`post`/`close` subset of requests.Session that MSAL uses, routed to the sandbox."""

    def __init__(self, *, base_url: str, timeout_seconds: float = 10.0) -> None:
        self.sandbox_url = base_url.rstrip("/") + SANDBOX_ENTRA_MOUNT_PATH
        self._timeout_seconds = timeout_seconds
        self._client: httpx.Client | None = None  # made on first use: an app that never asks Entra never pays for it
        self._lock = threading.Lock()

    @property
    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:  # plain HTTP to the sandbox only: no certificate store to load
                self._client = httpx.Client(timeout=self._timeout_seconds, follow_redirects=False, verify=False)
            return self._client

    def route(self, url: str) -> str:
        """The sandbox URL standing in for an Entra URL; ConnectionError for any other host."""
        if url == ENTRA_AUTHORITY_HOST or url.startswith(ENTRA_AUTHORITY_HOST + "/"):
            return self.sandbox_url + url[len(ENTRA_AUTHORITY_HOST):]
        raise ConnectionError(f"the sandbox Entra client only reaches {ENTRA_AUTHORITY_HOST}, not {url}")

    def _send(self, method: str, url: str, *, params: Any, data: Any, headers: Any) -> httpx.Response:
        if isinstance(data, dict):  # requests form-encodes bytes values (MSAL's certificate assertion) as text
            data = {key: value.decode() if isinstance(value, bytes) else value for key, value in data.items()}
        try:
            return self._http.request(method, self.route(url), params=params, data=data, headers=headers)
        except httpx.TransportError as error:
            raise ConnectionError(f"sandbox Entra unreachable: {error!r}") from error

    def get(self, url: str, params: Any = None, headers: Any = None, **_ignored: Any) -> httpx.Response:
        return self._send("GET", url, params=params, data=None, headers=headers)

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None,
             **_ignored: Any) -> httpx.Response:
        return self._send("POST", url, params=params, data=data, headers=headers)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def sandbox_http_client(*, base_url: str) -> SandboxEntraHttpClient:
    """An MSAL http_client reaching the sandbox Entra that the app serves at `base_url`."""
    return SandboxEntraHttpClient(base_url=base_url)
