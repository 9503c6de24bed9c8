"""Column values for create_record/update_record, as a model writes them, checked against table metadata and turned
into what the Dataverse Web API accepts.

- Columns are logical names (`_x_value` is accepted for a lookup x). Unknown columns list the writable ones, nearest
  first; columns Dataverse does not let you set on this operation are refused with the reason.
- Choices take a label (case ignored; a unique prefix is enough) or a value; booleans take true/false, yes/no or the
  column's own labels; numbers take JSON numbers or plain numeric strings ("1,250.50", "$300").
- Date-times without an offset are wall-clock times in the user's zone; with an offset or Z they are instants.
  Date-only columns take a date. Everything leaves as UTC ("2026-03-13T18:00:00Z") or "YYYY-MM-DD".
Lookups are resolved elsewhere (lookups.py): they need Dataverse to find a record by name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from dataverse.tools.kit.errors import InvalidArgumentError, InvalidValueError, unknown_columns_error
from dataverse.tools.schema.selection import LOOKUP_TYPES
from dataverse.webapi.models import ChoiceOption, ColumnMetadata, DateTimeBehavior, TableMetadata
from dataverse.webapi.odata import format_guid

Operation = Literal["create", "update"]
CHOICE_TYPES = frozenset({"Picklist", "State", "Status"})
INTEGER_RANGES = {"Integer": (-2_147_483_648, 2_147_483_647), "BigInt": (-(2**63), 2**63 - 1)}
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "on"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "off"})
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_GROUPED_NUMBER = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_CURRENCY = "$€£¥₹"


class ReadOnlyColumnError(InvalidArgumentError):
    """A column Dataverse does not accept on this operation (computed, system-managed, or create-only)."""


class AmbiguousValueError(InvalidValueError):
    """A label or name that matches more than one choice or record."""


def writable(column: ColumnMetadata, operation: Operation) -> bool:
    return column.valid_for_create if operation == "create" else column.valid_for_update


def check_columns(metadata: TableMetadata, values: Mapping[str, Any], *,
                  operation: Operation) -> dict[str, ColumnMetadata]:
    """{column logical name: metadata} for every key of `values`; raises for unknown and read-only columns."""
    table = metadata.table.logical_name
    by_name = {column.logical_name: column for column in metadata.columns}
    found: dict[str, ColumnMetadata] = {}
    unknown: list[str] = []
    for key in values:
        name = str(key).strip().lower()
        if name.startswith("_") and name.endswith("_value") and name[1:-6] in by_name:
            name = name[1:-6]
        if name not in by_name:
            unknown.append(str(key))
        elif name in found:
            raise InvalidArgumentError(f"Column {name!r} is given twice; give each column once.")
        else:
            found[name] = by_name[name]
    if unknown:
        settable = [column.logical_name for column in metadata.columns if writable(column, operation)]
        raise unknown_columns_error(table, unknown, settable)
    refused = [column for column in found.values() if not writable(column, operation)]
    if refused:
        names = ", ".join(repr(column.logical_name) for column in refused)
        other: Operation = "update" if operation == "create" else "create"
        only_other = [c.logical_name for c in refused if writable(c, other)]
        hint = (f" {', '.join(only_other)} can only be set when you {other} the record." if only_other else
                " They are set by Dataverse itself (computed or system columns).")
        raise ReadOnlyColumnError(
            f"Column(s) {names} of {table!r} cannot be set when you {operation} a record.{hint} "
            f"Leave them out; describe_table({table!r}) shows which columns accept values (create/update)."
        )
    return found


def convert_value(column: ColumnMetadata, value: Any, *, table: str, behavior: DateTimeBehavior | None = None,
                  zone: tzinfo | None = None) -> Any:
    """The Web API JSON value for a non-lookup column. `zone` places date-times given without an offset (required
    only when one is); raises InvalidValueError / AmbiguousValueError with the accepted forms."""
    if value is None:
        return None
    kind = column.type
    where = f"{table}.{column.logical_name}"
    if kind in LOOKUP_TYPES:
        raise TypeError("lookups are resolved by write_lookups, not convert_value")
    if kind in ("String", "Memo", "EntityName"):
        return _text(column, value, where)
    if kind in INTEGER_RANGES:
        return _integer(kind, value, where)
    if kind in ("Money", "Decimal", "Double"):
        return _number(value, where)
    if kind == "Boolean":
        return _boolean(column, value, where)
    if kind in CHOICE_TYPES:
        return match_choice(column, value, where=where).value
    if kind == "MultiSelectPicklist":
        items = [part for part in value.split(",") if part.strip()] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise InvalidValueError(f"{where} takes a list of choices (labels or values), e.g. ['Email', 'Phone'].")
        return ",".join(str(match_choice(column, item, where=where).value) for item in items)
    if kind == "DateTime":
        return _date_time(value, where, behavior or DateTimeBehavior(), zone)
    if kind == "Uniqueidentifier":
        try:
            return format_guid(value if isinstance(value, str) else "")
        except ValueError:
            raise InvalidValueError(f"{where} takes a GUID like '00000000-0000-0000-0000-000000000000'.") from None
    raise InvalidValueError(f"{where} is a {kind} column, which these tools cannot set. Leave it out.")


def _text(column: ColumnMetadata, value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidValueError(f"{where} takes text; got {type(value).__name__}.")
    text = value if isinstance(value, str) else str(value)
    if column.max_length is not None and len(text) > column.max_length:
        raise InvalidValueError(
            f"{where} takes at most {column.max_length} characters; this value has {len(text)}. Shorten it."
        )
    return text


def _decimal(value: Any, where: str, expected: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidValueError(f"{where} takes {expected}; got {type(value).__name__}.")
    if isinstance(value, str):
        text = value.strip().replace(" ", "").replace("\u00a0", "")
        text = text.lstrip(_CURRENCY) if not text.startswith("-") else "-" + text[1:].lstrip(_CURRENCY)
        if _GROUPED_NUMBER.match(text):
            text = text.replace(",", "")
        if not _PLAIN_NUMBER.match(text):
            raise InvalidValueError(
                f"{where} takes {expected}; {value!r} is not one. Send a JSON number such as 1250.5 "
                "(no words, units or locale separators other than thousands commas)."
            )
        return Decimal(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidValueError(f"{where} takes a finite number.")
    try:
        return Decimal(str(value))
    except InvalidOperation:  # pragma: no cover - str() of an int/float always parses
        raise InvalidValueError(f"{where} takes {expected}.") from None


def _integer(kind: str, value: Any, where: str) -> int:
    number = _decimal(value, where, "a whole number")
    if number != number.to_integral_value():
        raise InvalidValueError(f"{where} takes a whole number; {value!r} has a fraction.")
    low, high = INTEGER_RANGES[kind]
    if not low <= int(number) <= high:
        raise InvalidValueError(f"{where} takes a whole number from {low} to {high}; {value!r} is out of range.")
    return int(number)


def _number(value: Any, where: str) -> int | float:
    number = _decimal(value, where, "a number")
    if not number.is_finite():
        raise InvalidValueError(f"{where} takes a finite number.")
    return int(number) if number == number.to_integral_value() and abs(number) < 2**53 else float(number)


def _boolean(column: ColumnMetadata, value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().casefold()
        for option in column.options or []:
            if option.label.casefold() == word:
                return option.value == 1
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    labels = " or ".join(f"{o.label!r} ({'true' if o.value == 1 else 'false'})" for o in column.options or [])
    raise InvalidValueError(f"{where} takes true or false{' — or ' + labels if labels else ''}; got {value!r}.")


def _options_text(options: list[ChoiceOption], *, limit: int = 60) -> str:
    shown = ", ".join(f"{option.label!r} ({option.value})" for option in options[:limit])
    return shown + (f" ... and {len(options) - limit} more" if len(options) > limit else "")


def match_choice(column: ColumnMetadata, value: Any, *, where: str) -> ChoiceOption:
    """The option a model means: a value, or a label (case ignored; a unique prefix suffices)."""
    options = list(column.options or [])
    if (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        for option in options:
            if option.value == number:
                return option
        raise InvalidValueError(f"{number} is not a value of {where}. Options: {_options_text(options)}.")
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError(f"{where} takes a choice label or value. Options: {_options_text(options)}.")
    wanted = " ".join(value.split()).casefold()
    exact = [option for option in options if " ".join(option.label.split()).casefold() == wanted]
    matches = exact or [option for option in options if option.label.casefold().startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise AmbiguousValueError(
            f"{value!r} matches more than one option of {where}: {_options_text(matches)}. "
            "Send the exact label or the number."
        )
    raise InvalidValueError(f"{value!r} is not an option of {where}. Options: {_options_text(options)}.")


def _date_time(value: Any, where: str, behavior: DateTimeBehavior, zone: tzinfo | None) -> str:
    if isinstance(value, (datetime, date)):
        value = value.isoformat()
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError(f"{where} takes an ISO 8601 {'date' if behavior.date_only else 'date-time'}.")
    text = value.strip()
    example = "'2026-03-13'" if behavior.date_only else "'2026-03-13T14:00:00' (the user's local time)"
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T", 1) if len(text) > 10 else text)
    except ValueError:
        raise InvalidValueError(
            f"{where} takes an ISO 8601 {'date' if behavior.date_only else 'date-time'} such as {example}; "
            f"{value!r} is not one. Work out relative dates (tomorrow, next Monday) yourself first."
        ) from None
    if behavior.date_only:
        if parsed.tzinfo is not None and zone is not None:
            parsed = parsed.astimezone(zone)
        return parsed.date().isoformat()
    if behavior.time_zone_independent:
        return parsed.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
    if parsed.tzinfo is None:
        if zone is None:
            raise InvalidValueError(f"{where}: the user's time zone is unknown; send the time with an offset.")
        parsed = local_to_utc(parsed, zone, where=where)
    return parsed.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_to_utc(wall: datetime, zone: tzinfo, *, where: str) -> datetime:
    """A naive wall-clock time in `zone` as an aware UTC datetime; refuses a time the clocks skip (spring forward).
    A repeated time (fall back) is read as its first occurrence."""
    aware = wall.replace(tzinfo=zone, fold=0)
    instant = aware.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        raise InvalidValueError(
            f"{where}: {wall.isoformat(timespec='minutes')} does not exist in {zone} (the clocks skip that hour). "
            "Pick a time outside the daylight-saving change, or send it with an explicit offset."
        )
    return instant
