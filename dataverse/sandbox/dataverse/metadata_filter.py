"""The small `$filter` language metadata queries accept: `eq`/`ne` comparisons of properties (paths such as
`IsCustomizable/Value`) with string, boolean, null, number and enum literals
(`Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'`), combined with `and`, `or`, `not` and parentheses. String
functions are not supported for metadata, as in Dataverse."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from dataverse.sandbox.dataverse.model import SandboxError

_TOKEN = re.compile(
    r"\s*(?:(?P<enum>[A-Za-z][\w.]*'[^']*')|(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<paren>[()])|(?P<word>[A-Za-z_][\w/.]*))"
)
Predicate = Callable[[dict[str, Any]], bool]


def _error(message: str) -> SandboxError:
    return SandboxError(400, "0x80060888", message)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _error(f"Syntax error at position {position} in '{text}'.")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _both(first: Predicate, second: Predicate) -> Predicate:
    return lambda item: first(item) and second(item)


def _either(first: Predicate, second: Predicate) -> Predicate:
    return lambda item: first(item) or second(item)


def compile_metadata_filter(text: str, known: Callable[[str], bool], type_name: str) -> Predicate:
    """A predicate over metadata dicts; `known(property)` says whether a top-level property exists."""
    tokens = _tokens(text)
    index = 0

    def peek() -> tuple[str, str] | None:
        return tokens[index] if index < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal index
        if index >= len(tokens):
            raise _error(f"Syntax error: unexpected end of '{text}'.")
        index += 1
        return tokens[index - 1]

    def literal(token: tuple[str, str]) -> Any:
        kind, value = token
        if kind == "string":
            return value[1:-1].replace("''", "'")
        if kind == "enum":
            return value.split("'")[1]
        if kind == "number":
            return float(value) if "." in value else int(value)
        if value in ("true", "false"):
            return value == "true"
        if value == "null":
            return None
        raise _error(f"Syntax error at '{value}' in '{text}'.")

    def comparison() -> Predicate:
        kind, value = take()
        if kind == "paren" and value == "(":
            inner = expression()
            if take() != ("paren", ")"):
                raise _error(f"')' expected in '{text}'.")
            return inner
        if kind == "word" and value == "not":
            operand = comparison()
            return lambda item: not operand(item)
        if kind != "word":
            raise _error(f"Syntax error at '{value}' in '{text}'.")
        path = value.split("/")
        if not known(path[0]):
            raise _error(f"Could not find a property named '{path[0]}' on type 'Microsoft.Dynamics.CRM.{type_name}'.")
        operator = take()[1]
        if operator not in ("eq", "ne"):
            raise _error(f"The operator '{operator}' is not supported in metadata queries.")
        expected = literal(take())

        def test(item: dict[str, Any]) -> bool:
            current: Any = item
            for part in path:
                current = current.get(part) if isinstance(current, dict) else None
            return bool(current == expected) == (operator == "eq")

        return test

    def conjunction() -> Predicate:
        left = comparison()
        while peek() == ("word", "and"):
            take()
            left = _both(left, comparison())
        return left

    def expression() -> Predicate:
        left = conjunction()
        while peek() == ("word", "or"):
            take()
            left = _either(left, conjunction())
        return left

    predicate = expression()
    if index != len(tokens):
        raise _error(f"Syntax error at '{tokens[index][1]}' in '{text}'.")
    return predicate
