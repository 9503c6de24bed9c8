"""RFC 8707 resource indicators: the one canonical resource (settings.mcp_url) every grant and token is bound to.

Comparison is on scheme, host (case-insensitive), port (default ports folded) and path (a trailing slash ignored).
A query string is ignored because ChatGPT may append one; anything else different is another resource."""

from __future__ import annotations

from urllib.parse import urlsplit


def _normalise(url: str) -> tuple[str, str, int | None, str] | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or parts.username or parts.fragment:
        return None
    default = 443 if scheme == "https" else 80
    return scheme, parts.hostname.lower(), port if port not in (None, default) else None, parts.path.rstrip("/")


def is_same_resource(candidate: str | None, canonical: str) -> bool:
    """True when `candidate` names the canonical resource. None (an absent indicator) defaults to it."""
    if candidate is None or candidate == "":
        return True
    left = _normalise(candidate)
    return left is not None and left == _normalise(canonical)
