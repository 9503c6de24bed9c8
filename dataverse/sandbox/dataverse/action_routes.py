"""Invoking actions (POST, parameters in the JSON body) and functions (GET, parameters in the URL, as literals or
`@p` aliases), unbound at the service root or bound to a record or a collection with the
`Microsoft.Dynamics.CRM.` namespace, and answering as Dataverse does: 204 without a return value, 200 with
`@odata.context` `$metadata#Microsoft.Dynamics.CRM.<Name>Response` for a complex type, `#Collection(...)` for entities.

Wrong verb: 404 "No HTTP resource was found that matches the request URI"; a bound operation without its namespace:
400 "Request message has unresolved parameters."
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.responses import Response

from dataverse.sandbox.dataverse.context import RequestContext, json_response
from dataverse.sandbox.dataverse.model import Row, SandboxError, Table
from dataverse.sandbox.dataverse.operations import (
    NAMESPACE,
    ComplexResult,
    EntitiesResult,
    Operation,
    OperationCall,
    bad_parameter,
    check_parameters,
)

_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ENUM = re.compile(r"[A-Za-z_][\w.]*'([^']*)'")


def no_http_resource(ctx: RequestContext) -> SandboxError:
    url = str(ctx.request.url).split("?", 1)[0]
    return SandboxError(404, "", f"No HTTP resource was found that matches the request URI '{url}'.")


def unresolved_parameters() -> SandboxError:
    return SandboxError(400, "", "Request message has unresolved parameters.")


async def invoke(ctx: RequestContext, method: str, operation: Operation, arguments: str | None, *,
                 table: Table | None = None, row: Row | None = None) -> Response:
    """Run `operation` for this request (its parameters from the body or the URL) and answer as Dataverse does."""
    if operation.kind == "Function":
        if method != "GET":
            raise no_http_resource(ctx)
        values = parse_function_arguments(ctx, arguments or "")
    else:
        if method != "POST" or (arguments is not None and arguments.strip()):
            raise no_http_resource(ctx)
        raw = await ctx.request.body()
        values = await ctx.json_body() if raw.strip() else {}
    parameters = check_parameters(operation, values)
    result = await operation.handler(OperationCall(ctx, parameters, table, row))
    if result is None:
        return Response(status_code=204)
    if isinstance(result, ComplexResult):
        return json_response({"@odata.context": ctx.context_url(f"{NAMESPACE}.{result.type_name}"), **result.value},
                             headers=result.headers or None)
    if isinstance(result, EntitiesResult):
        return json_response({"@odata.context": ctx.context_url(f"Collection({NAMESPACE}.{result.type_name})"),
                              "value": result.rows})
    raise TypeError(f"unexpected operation result {result!r}")


def parse_function_arguments(ctx: RequestContext, text: str) -> dict[str, Any]:
    """`Target=@p1,Count=5` with `?@p1=...` in the query string: names to parsed values."""
    values: dict[str, Any] = {}
    for part in _split_top_level(text):
        name, equals, raw = part.partition("=")
        if not equals or not name.strip():
            raise bad_parameter(f"The function parameter '{part}' is not written as Name=value.")
        raw = raw.strip()
        if raw.startswith("@"):
            aliased = ctx.param(raw)
            if aliased is None:
                raise bad_parameter(f"The parameter alias '{raw}' has no value in the query string.")
            raw = aliased
        values[name.strip()] = parse_literal(raw)
    return values


def parse_literal(text: str) -> Any:
    """An OData literal: 'string' (quote doubled inside), number, true/false/null, GUID, enum
    `Namespace.Type'Member'`, or a JSON array/object (single-quoted strings allowed: {'@odata.id':'accounts(..)'})."""
    text = text.strip()
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if _GUID.fullmatch(text):
        return text.lower()
    if _NUMBER.fullmatch(text):
        return float(text) if any(char in text for char in ".eE") else int(text)
    enum = _ENUM.fullmatch(text)
    if enum:
        return enum.group(1)
    if text[:1] in "[{":
        try:
            return json.loads(_single_to_double_quotes(text))
        except ValueError:
            pass
    raise bad_parameter(f"The literal {text!r} is not a valid OData value.")


def _single_to_double_quotes(text: str) -> str:
    """JSON text with single-quoted strings rewritten as double-quoted ones."""
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char == '"':
            end = index + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[index:end + 1])
            index = end + 1
        elif char == "'":
            end = index + 1
            chars = []
            while end < len(text):
                if text[end] == "'" and text[end + 1:end + 2] == "'":
                    chars.append("'")
                    end += 2
                elif text[end] == "'":
                    break
                else:
                    chars.append(text[end])
                    end += 1
            out.append(json.dumps("".join(chars)))
            index = end + 1
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _split_top_level(text: str) -> list[str]:
    parts, depth, quote, current = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += char
    if current.strip():
        parts.append(current)
    return parts
