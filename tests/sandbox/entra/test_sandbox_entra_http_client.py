"""The MSAL http_client that carries login.microsoftonline.com requests to the sandbox: what it routes, what it
refuses, and how failures look to MSAL (ConnectionError, an OSError like requests' own)."""

from __future__ import annotations

import socket

import pytest

from dataverse.sandbox.entra import sandbox_http_client


def test_entra_urls_are_routed_under_the_sandbox_mount() -> None:
    client = sandbox_http_client(base_url="http://127.0.0.1:7071/")
    assert client.route("https://login.microsoftonline.com/t/oauth2/v2.0/token") == (
        "http://127.0.0.1:7071/sandbox/entra/t/oauth2/v2.0/token"
    )


@pytest.mark.parametrize("url", ["https://login.microsoftonline.com.evil.example/t/token",
                                 "https://example.com/t/token", "http://login.microsoftonline.com/t/token"])
def test_any_other_url_is_refused(url: str) -> None:
    with pytest.raises(ConnectionError):
        sandbox_http_client(base_url="http://127.0.0.1:7071").route(url)


def test_an_unreachable_sandbox_raises_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = sandbox_http_client(base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(ConnectionError):
        client.post("https://login.microsoftonline.com/t/oauth2/v2.0/token", data={"a": b"b"})
    client.close()
