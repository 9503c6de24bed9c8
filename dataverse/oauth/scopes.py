"""Scopes as real clients send them (RFC 6749 3.3: the server may ignore or narrow the requested scope).

This server has one scope of its own (settings.mcp_scope) and understands `offline_access` (the client wants a
refresh token; it gets one either way). Every other scope a client names is ignored, never refused: claude.ai has
registered with `scope: "claudeai"`, Claude Code and the MCP SDK add `offline_access`, ChatGPT re-authorizes with no
scope at all. No scope, or only unknown ones, means the server's scope. The token response reports what was granted.
"""

from __future__ import annotations

OFFLINE_ACCESS = "offline_access"
MAX_SCOPE_CHARS = 1024


class ScopePolicy:
    """Which of the requested scopes are granted."""

    def __init__(self, base_scope: str) -> None:
        self.base_scope = base_scope

    @property
    def supported(self) -> list[str]:
        """What the metadata advertises: our scope, then offline_access (SEP-2207: refresh tokens are issued)."""
        return [self.base_scope, OFFLINE_ACCESS]

    def grant(self, requested: str | None) -> list[str]:
        """The scopes granted for a request: always our scope, plus offline_access when it was asked for."""
        words = requested.split() if requested else []
        return [self.base_scope, *([OFFLINE_ACCESS] if OFFLINE_ACCESS in words else [])]

    def narrow(self, requested: str) -> str | None:
        """The requested scope without the scopes this server does not know (for a refresh request, which may only
        narrow what was granted); None when nothing known is left, meaning "the scope granted before"."""
        known = [word for word in dict.fromkeys(requested.split()) if word in self.supported]
        return " ".join(known) or None
