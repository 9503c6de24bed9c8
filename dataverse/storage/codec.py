"""Rules every store applies the same way: collection names, keys, and the JSON encoding of values with its size
limit. Sharing them keeps the in-memory store a faithful stand-in for Table Storage."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .errors import RecordTooLargeError

COLLECTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,62}")

MAX_KEY_CHARS = 8192
"""Longest key accepted. Keys are stored hashed as the row key, and verbatim in a string property (64 KiB, UTF-16)."""

VALUE_CHUNK_CHARS = 32_000
"""A Table Storage string property holds 64 KiB of UTF-16; ASCII-only JSON chunks of 32,000 chars fit with room."""

MAX_VALUE_CHUNKS = 15
MAX_VALUE_CHARS = VALUE_CHUNK_CHARS * MAX_VALUE_CHUNKS
"""Largest value: 480,000 characters of ASCII JSON (non-ASCII text counts 6 chars per character, as \\uXXXX).
Fifteen chunk properties stay under the 1 MiB entity limit with the key and bookkeeping properties."""


def validate_collection_name(name: str) -> str:
    """Return `name` if it is a valid collection (Azure table) name, else raise ValueError."""
    if not isinstance(name, str) or not COLLECTION_NAME.fullmatch(name):
        raise ValueError(f"collection name must match {COLLECTION_NAME.pattern}, got {name!r}")
    return name


def validate_key(key: str) -> str:
    """Return `key` if it is a storable key (a non-empty str of at most MAX_KEY_CHARS, valid Unicode)."""
    if not isinstance(key, str) or not key:
        raise ValueError("a record key must be a non-empty string")
    if len(key) > MAX_KEY_CHARS:
        raise ValueError(f"a record key must be at most {MAX_KEY_CHARS} characters, got {len(key)}")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("a record key must be valid Unicode (no lone surrogates)") from error
    return key


def encode_value(value: dict[str, Any]) -> str:
    """Serialise a record value to ASCII-only JSON, enforcing the size limit."""
    if not isinstance(value, dict):
        raise TypeError(f"a record value must be a dict, got {type(value).__name__}")
    try:
        text = json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    except ValueError as error:
        raise ValueError(f"a record value must be plain JSON: {error}") from error
    if len(text) > MAX_VALUE_CHARS:
        raise RecordTooLargeError(f"record value is {len(text)} characters of JSON; the limit is {MAX_VALUE_CHARS}")
    return text


def decode_value(text: str) -> dict[str, Any]:
    """Parse a value stored by `encode_value`; ValueError or TypeError when the text is not JSON or not an object."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise TypeError(f"a stored record value must be a JSON object, got {type(value).__name__}")
    return value


def split_chunks(text: str) -> list[str]:
    """Split encoded JSON into property-sized chunks (at least one, possibly empty for no value)."""
    return [text[start : start + VALUE_CHUNK_CHARS] for start in range(0, len(text), VALUE_CHUNK_CHARS)] or [""]


def expiry_time(now: float, ttl_seconds: float | None) -> float | None:
    """Absolute expiry (epoch seconds) for a time-to-live, or None for records that never expire."""
    if ttl_seconds is None:
        return None
    if not math.isfinite(ttl_seconds):
        raise ValueError("ttl_seconds must be a finite number or None")
    return now + ttl_seconds


def is_expired(expires_at: float | None, now: float) -> bool:
    """A record is expired from its expiry instant on."""
    return expires_at is not None and expires_at <= now
