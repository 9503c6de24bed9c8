"""The redirect URI allow-list (settings.allowed_redirect_uris): which callbacks a client may register, by DCR or in
a Client ID Metadata Document. At /authorize the SDK then requires an exact match against the registered list.

Pattern language, deliberately small:
- a pattern without `*` matches only the identical URI;
- `*` as the port matches any port (loopback desktop tools pick one at random);
- `*` as a whole path segment matches exactly one non-empty segment of unreserved characters (not `.` or `..`);
- `**` as the last path segment matches one or more such segments.
Scheme and host compare case-insensitively; a URI with userinfo, a fragment, or a query the pattern lacks never matches.
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
            rest = actual[index:]
            return bool(rest) and all(_SEGMENT.match(s) and s not in (".", "..") for s in rest)
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
