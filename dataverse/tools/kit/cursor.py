"""Opaque, signed paging cursors handed to the model instead of raw OData next links or FetchXML paging cookies.

A cursor is compressed JSON, base64url-encoded, followed by an HMAC-SHA256 tag. The payload names the user and the
environment it was issued for (as hashes), so a cursor copied into another user's conversation, pointed at another
environment, edited by the model, or forged from scratch is refused before any request is made. The key comes from
settings (so every instance of a scaled-out app accepts every other's cursors) or, when none is configured, is made
once per process.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dataverse.settings import Settings
from dataverse.tools.kit.errors import InvalidCursorError

CURSOR_LIFETIME_SECONDS = 24 * 3600
_TAG_BYTES = 16
_PROCESS_KEY = secrets.token_bytes(32)


@dataclass(frozen=True)
class ODataCursor:
    """The next page of an OData query: Dataverse's next link (never shown to the model) and the page size."""

    table: str
    next_link: str
    page_size: int


@dataclass(frozen=True)
class FetchXmlCursor:
    """The next page of a FetchXML query: the query, the page number to ask for and Dataverse's paging cookie."""

    entity_set: str
    fetch_xml: str
    page: int
    page_size: int
    paging_cookie: str | None


@dataclass(frozen=True)
class StateCursor:
    """The next page of a tool that keeps its own position (a timeline's last instant, a view's page): the tool that
    issued it (`tool`) and a small JSON object only that tool reads."""

    tool: str
    state: dict[str, Any]


Cursor = ODataCursor | FetchXmlCursor | StateCursor


def cursor_key_from_settings(settings: Settings) -> bytes:
    """A cursor signing key derived from the deployment's token encryption key, or a per-process key without one."""
    if not settings.token_encryption_key:
        return _PROCESS_KEY
    return hmac.new(settings.token_encryption_key.encode(), b"dataverse-mcp/cursor/v1", hashlib.sha256).digest()


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:22]


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Signs cursors for one (user, environment) pair and verifies them on the way back."""

    def __init__(self, key: bytes, *, clock: Callable[[], float] = time.time,
                 lifetime_seconds: int = CURSOR_LIFETIME_SECONDS):
        if len(key) < 16:
            raise ValueError("cursor key must be at least 16 bytes")
        self._key = key
        self._clock = clock
        self._lifetime_seconds = lifetime_seconds

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_TAG_BYTES]

    def encode(self, cursor: Cursor, *, user: str, environment: str) -> str:
        """The opaque string the model passes back to get the next page."""
        payload: dict[str, Any] = {
            "u": _fingerprint(user),
            "e": _fingerprint(environment),
            "x": int(self._clock()) + self._lifetime_seconds,
        }
        if isinstance(cursor, ODataCursor):
            payload |= {"k": "o", "t": cursor.table, "n": cursor.next_link, "s": cursor.page_size}
        elif isinstance(cursor, StateCursor):
            payload |= {"k": "s", "g": cursor.tool, "d": cursor.state}
        else:
            payload |= {"k": "f", "t": cursor.entity_set, "q": cursor.fetch_xml, "p": cursor.page,
                        "s": cursor.page_size, "c": cursor.paging_cookie}
        body = zlib.compress(json.dumps(payload, separators=(",", ":")).encode(), 9)
        return f"{_b64encode(body)}.{_b64encode(self._tag(body))}"

    def decode(self, token: str, *, user: str, environment: str) -> Cursor:
        """The cursor inside `token`; InvalidCursorError if it is malformed, altered, expired or someone else's."""
        body_text, _, tag_text = token.strip().partition(".")
        try:
            body, tag = _b64decode(body_text), _b64decode(tag_text)
        except (binascii.Error, ValueError):
            raise InvalidCursorError("The cursor is not one this server issued.") from None
        if not body or not hmac.compare_digest(tag, self._tag(body)):
            raise InvalidCursorError("The cursor was altered or was not issued by this server.")
        try:
            payload = json.loads(zlib.decompress(body))
        except (zlib.error, ValueError):  # pragma: no cover - a correctly signed body is always valid
            raise InvalidCursorError("The cursor could not be read.") from None
        if not hmac.compare_digest(payload["u"], _fingerprint(user)):
            raise InvalidCursorError("This cursor was issued to a different user; cursors cannot be shared.")
        if not hmac.compare_digest(payload["e"], _fingerprint(environment)):
            raise InvalidCursorError("This cursor belongs to a different Dataverse environment.")
        if payload["x"] < self._clock():
            raise InvalidCursorError("The cursor has expired.")
        if payload["k"] == "o":
            return ODataCursor(table=payload["t"], next_link=payload["n"], page_size=payload["s"])
        if payload["k"] == "s":
            return StateCursor(tool=payload["g"], state=payload["d"])
        return FetchXmlCursor(entity_set=payload["t"], fetch_xml=payload["q"], page=payload["p"],
                              page_size=payload["s"], paging_cookie=payload["c"])


def issued_by(cursor: Cursor) -> str:
    """The tool a cursor continues (where to send it back)."""
    if isinstance(cursor, ODataCursor):
        return "query_records"
    if isinstance(cursor, FetchXmlCursor):
        return "fetchxml_query"
    return cursor.tool


def wrong_tool_error(cursor: Cursor) -> InvalidCursorError:
    return InvalidCursorError(f"This cursor came from {issued_by(cursor)}; pass it to {issued_by(cursor)} instead.")
