"""OData parameter aliases in `$filter` and `$orderby`: `?$filter=contains(@p1,'(sample)') and @p2 eq @p3&@p1=fullname`.

As PD webapi/query/overview.md ("Use parameter aliases with query options") and web-api-query-data-sample.md (Section
3, "Parameter alias") document: an alias stands for any expression text (a property name, a literal, a JSON array
for `PropertyValues`), may appear in query function parameters (`LastXHours(PropertyName=@p1,PropertyValue=@p2)`),
and an alias given no value is null. Aliases are not resolved inside `$expand`. An `@name` inside a quoted string
literal is text, not an alias.
"""

from __future__ import annotations

import re

ALIASED_OPTIONS = ("$filter", "$orderby")
_ALIAS = re.compile(r"@[A-Za-z_][A-Za-z0-9_]*")


def alias_values(params: list[tuple[str, str]]) -> dict[str, str]:
    """The `@name=value` query parameters, by name (with the @)."""
    return {name: value for name, value in params if _ALIAS.fullmatch(name)}


def substitute_aliases(text: str, aliases: dict[str, str]) -> str:
    """`text` with every alias outside quoted literals replaced by its value (or `null` when it has none)."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "'":
            end = index + 1
            while end < len(text):
                if text[end] == "'":
                    if end + 1 < len(text) and text[end + 1] == "'":
                        end += 2
                        continue
                    break
                end += 1
            out.append(text[index:end + 1])
            index = end + 1
            continue
        match = _ALIAS.match(text, index) if char == "@" else None
        if match is not None:
            out.append(aliases.get(match.group(0), "null"))
            index = match.end()
            continue
        out.append(char)
        index += 1
    return "".join(out)


def resolve_aliases(options: dict[str, str], params: list[tuple[str, str]]) -> dict[str, str]:
    """The system query options with aliases in `$filter` and `$orderby` replaced by their values."""
    aliases = alias_values(params)
    resolved = dict(options)
    for name in ALIASED_OPTIONS:
        if name in resolved and "@" in resolved[name]:
            resolved[name] = substitute_aliases(resolved[name], aliases)
    return resolved
