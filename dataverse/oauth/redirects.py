"""Redirect URIs: which callbacks a client may register (the allow-list, settings.redirect_uri_patterns), by DCR or
in a Client ID Metadata Document, and which redirect_uri an /authorize request may name (`registered_match`).

Pattern language of the allow-list, deliberately small:
- a pattern without `*` matches only the identical URI (so `cursor://anysphere.cursor-mcp/oauth/callback`, a
  private-use scheme, is matched exactly);
- `*` as the port matches any port, or none (loopback desktop tools pick one at random);
- `*` as a whole path segment matches exactly one non-empty segment of unreserved characters (not `.` or `..`);
- `**` as the last path segment matches any path, the empty one included (`http://127.0.0.1:33418`).
Scheme and host compare case-insensitively; a URI with userinfo, a fragment, or a query the pattern lacks never matches.

At /authorize the redirect_uri must equal one the client registered, compared as registered (RFC 6749 3.1.2.3),
except that for an http loopback URI (127.0.0.1, [::1], localhost) the port may differ (RFC 8252 7.3 and 8.3): the
desktop app listens on whichever port is free at that moment. Scheme, host, path and query must still match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_SEGMENT = re.compile(r"^[A-Za-z0-9._~-]+$")


@dataclass(frozen=True)
class _Pattern:
    scheme: str
    host: str
    port: str  # "*" or the explicit/default port as text
    segments: tuple[str, ...]
    query: str
    exact: str


def _default_port(scheme: str) -> str:
    return {"https": "443", "http": "80"}.get(scheme, "")


def _split(uri: str) -> tuple[str, str, str, tuple[str, ...], str] | None:
    """(scheme, host, port, path segments, query) or None when the URI is unusable as a redirect target."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if parts.fragment or "#" in uri or parts.username is not None or parts.password is not None:
        return None
    netloc = parts.netloc
    host_port = netloc.rsplit("@", 1)[-1]
    if host_port.startswith("["):
        host, _, rest = host_port[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = host_port.partition(":")
    scheme = parts.scheme.lower()
    if not scheme or not host:
        return None
    segments = tuple(parts.path.split("/")[1:]) if parts.path else ()
    return scheme, host.lower(), port or _default_port(scheme), segments, parts.query


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def is_loopback_redirect(uri: str) -> bool:
    """True for an http redirect URI on the loopback interface (RFC 8252 7.3): 127.0.0.1, [::1] or localhost."""
    parts = _split(uri)
    return parts is not None and parts[0] == "http" and parts[1] in LOOPBACK_HOSTS


def _without_port(uri: str) -> tuple[str, str, str, str] | None:
    """(scheme, host, path, query) with the empty path read as "/" (RFC 3986 6.2.3), or None when unusable."""
    parts = _split(uri)
    if parts is None:
        return None
    scheme, host, _, segments, query = parts
    return scheme, host, "/" + "/".join(segments), query


def registered_match(requested: str, registered: list[str]) -> str | None:
    """The redirect URI to send the user back to, or None when `requested` is not one the client registered.

    Exact string match first; for an http loopback URI also the same scheme, host, path and query on another port.
    """
    if requested in registered:
        return requested
    if not is_loopback_redirect(requested):
        return None
    wanted = _without_port(requested)
    for candidate in registered:
        if is_loopback_redirect(candidate) and _without_port(candidate) == wanted:
            return requested
    return None


def _compile(pattern: str) -> _Pattern | None:
    wildcard_port = False
    to_parse = pattern
    scheme_end = pattern.find("://")
    if scheme_end != -1:
        authority_end = pattern.find("/", scheme_end + 3)
        authority_end = len(pattern) if authority_end == -1 else authority_end
        if pattern[scheme_end + 3 : authority_end].endswith(":*"):
            wildcard_port = True
            to_parse = pattern[: authority_end - 2] + pattern[authority_end:]
    parts = _split(to_parse)
    if parts is None:
        return None
    scheme, host, port, segments, query = parts
    return _Pattern(scheme, host, "*" if wildcard_port else port, segments, query, pattern)


def _segments_match(pattern: tuple[str, ...], actual: tuple[str, ...]) -> bool:
    for index, expected in enumerate(pattern):
        if expected == "**" and index == len(pattern) - 1:
            rest = [segment for segment in actual[index:] if segment]  # a trailing slash leaves one empty segment
            return all(_SEGMENT.match(s) and s not in (".", "..") for s in rest)
        if index >= len(actual):
            return False
        segment = actual[index]
        if expected == "*":
            if not _SEGMENT.match(segment) or segment in (".", ".."):
                return False
        elif segment != expected:
            return False
    return len(actual) == len(pattern)


class RedirectAllowList:
    """Matches candidate redirect URIs against the configured patterns."""

    def __init__(self, patterns: list[str]) -> None:
        self._patterns = [compiled for compiled in map(_compile, patterns) if compiled is not None]

    def allows(self, uri: str) -> bool:
        if any(uri == pattern.exact for pattern in self._patterns if "*" not in pattern.exact):
            return True
        parts = _split(uri)
        if parts is None:
            return False
        scheme, host, port, segments, query = parts
        for pattern in self._patterns:
            if "*" not in pattern.exact:
                continue
            if (scheme, host, query) != (pattern.scheme, pattern.host, pattern.query):
                continue
            if pattern.port not in ("*", port):
                continue
            if pattern.port == "*" and not port.isdigit():
                continue
            if _segments_match(pattern.segments, segments):
                return True
        return False

    def first_disallowed(self, uris: list[str]) -> str | None:
        """The first URI not allowed, or None when every one is."""
        return next((uri for uri in uris if not self.allows(uri)), None)
