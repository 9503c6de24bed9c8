"""Compact JSON schemas for tools/list, which every conversation pays for before its first question.

Pydantic writes a title for every property, `anyOf [T, null]` with `default: null` for every optional value, and
`additionalProperties: false` for every result model. None of that helps a model: an absent optional is already null
(results leave nulls out), and titles repeat the property names. Output schemas also drop their prose: the tool's
description says what a result means, the schema only its shape."""

from __future__ import annotations

from typing import Any

_NULL = {"type": "null"}


def compact_schema(schema: Any, *, keep_descriptions: bool) -> Any:
    """`schema` without titles, nullable wrappers and null defaults (and without descriptions unless kept)."""
    if isinstance(schema, list):
        return [compact_schema(item, keep_descriptions=keep_descriptions) for item in schema]
    if not isinstance(schema, dict):
        return schema
    compacted: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "description" and not keep_descriptions:
            continue
        if key == "default" and value is None:
            continue
        if key == "properties" and isinstance(value, dict):
            compacted[key] = {name: compact_schema(item, keep_descriptions=keep_descriptions)
                              for name, item in value.items()}
            continue
        compacted[key] = compact_schema(value, keep_descriptions=keep_descriptions)
    options = compacted.get("anyOf")
    if isinstance(options, list) and _NULL in options:
        rest = [option for option in options if option != _NULL]
        del compacted["anyOf"]
        if len(rest) == 1 and isinstance(rest[0], dict):
            compacted = rest[0] | compacted
        else:
            compacted["anyOf"] = rest
    return compacted


def compact_output_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An output schema as a shape only: no prose, no open- or closed-object flags, no `required` lists (a result
    leaves nulls out, so which keys appear already says what is set)."""
    compacted: dict[str, Any] = _without_closed_flags(compact_schema(schema, keep_descriptions=False))
    return compacted


def _without_closed_flags(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_without_closed_flags(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {key: _without_closed_flags(value) for key, value in schema.items()
            if not (key == "additionalProperties" and isinstance(value, bool))
            and not (key == "required" and isinstance(value, list))}
