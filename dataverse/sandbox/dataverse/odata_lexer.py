"""Tokens of an OData `$filter` expression, with the positions Dataverse quotes in its syntax errors.

Owns literal recognition: 'strings' (quote doubled to escape), "json strings" (inside PropertyValues arrays),
integers and decimals, true/false/null, unquoted GUIDs, ISO dates and datetimes with Z or an offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from dataverse.sandbox.dataverse.model import SandboxError

QUERY_ERROR = "0x80060888"
MAX_FILTER_LENGTH = 32_768

TokenKind = Literal["string", "number", "guid", "date", "datetime", "keyword", "name", "punct", "end"]


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    value: Any
    position: int


_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])")
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})(?![\w.:])", re.IGNORECASE
)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?![\w.:-])")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDfFlL]?(?![\w.])")
_NAME = re.compile(r"[A-Za-z_$@][A-Za-z0-9_.]*")
_PUNCT = "()/,:=[]"
KEYWORDS = frozenset({"eq", "ne", "gt", "ge", "lt", "le", "and", "or", "not", "true", "false", "null"})


def query_error(message: str) -> SandboxError:
    return SandboxError(400, QUERY_ERROR, message)


def syntax_error(position: int, text: str) -> SandboxError:
    return query_error(f"Syntax error at position {position} in '{text}'.")


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The single-quoted literal starting at `start` and the index just after it."""
    chars: list[str] = []
    index = start + 1
    while index < len(text):
        if text[index] == "'":
            if index + 1 < len(text) and text[index + 1] == "'":
                chars.append("'")
                index += 2
                continue
            return "".join(chars), index + 1
        chars.append(text[index])
        index += 1
    raise query_error(f"There is an unterminated literal at position {len(text)} in '{text}'.")


def _json_quoted(text: str, start: int) -> tuple[str, int]:
    chars: list[str] = []
    index = start + 1
    escapes = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
    while index < len(text):
        char = text[index]
        if char == '"':
            return "".join(chars), index + 1
        if char == "\\" and index + 1 < len(text):
            nxt = text[index + 1]
            if nxt in escapes:
                chars.append(escapes[nxt])
                index += 2
                continue
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[index + 2 : index + 6]):
                chars.append(chr(int(text[index + 2 : index + 6], 16)))
                index += 6
                continue
            raise query_error(f"Invalid JSON. Bad JSON escape sequence at position {index} in '{text}'.")
        chars.append(char)
        index += 1
    raise query_error(f"There is an unterminated literal at position {len(text)} in '{text}'.")


def _datetime(match: re.Match[str], text: str) -> datetime:
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        micro = int((fraction or "0").ljust(6, "0")[:6])
        value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro)
        offset = "+00:00" if zone.upper() == "Z" else zone
        aware = datetime.fromisoformat(value.isoformat() + offset)
        return aware.astimezone(UTC)
    except (ValueError, OverflowError):
        raise query_error(f"The DateTimeOffset text '{match.group(0)}' should be in format "
                          f"'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?' and each field value is within valid "
                          f"range.") from None


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_FILTER_LENGTH:
        raise query_error(f"The $filter expression is longer than {MAX_FILTER_LENGTH} characters.")
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
            continue
        if char == "'":
            value, end = _quoted(text, index)
            tokens.append(Token("string", text[index:end], value, index))
            index = end
            continue
        if char == '"':
            value, end = _json_quoted(text, index)
            tokens.append(Token("string", text[index:end], value, index))
            index = end
            continue
        if char in _PUNCT:
            tokens.append(Token("punct", char, char, index))
            index += 1
            continue
        if match := _GUID.match(text, index):
            tokens.append(Token("guid", match.group(0), match.group(0).lower(), index))
        elif match := _DATETIME.match(text, index):
            tokens.append(Token("datetime", match.group(0), _datetime(match, text), index))
        elif match := _DATE.match(text, index):
            try:
                day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                raise query_error(f"The Date text '{match.group(0)}' should be in format 'yyyy-mm-dd' and each field "
                                  f"value is within valid range.") from None
            tokens.append(Token("date", match.group(0), day, index))
        elif match := _NUMBER.match(text, index):
            raw = match.group(0).rstrip("mMdDfFlL")
            number: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
            if isinstance(number, float) and number in (float("inf"), float("-inf")):
                raise syntax_error(index, text)
            tokens.append(Token("number", match.group(0), number, index))
        elif match := _NAME.match(text, index):
            word = match.group(0)
            kind: TokenKind = "keyword" if word in KEYWORDS else "name"
            tokens.append(Token(kind, word, word, index))
        else:
            raise query_error(f"Syntax error: character '{char}' is not valid at position {index} in '{text}'.")
        index = match.end()
    tokens.append(Token("end", "", None, len(text)))
    return tokens
