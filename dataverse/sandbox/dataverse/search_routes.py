"""Dataverse search in the sandbox: `POST <env>/api/search/v2.0/query`, answering as the real endpoint does
(PD search/query.md): the body takes `search` (3-100 characters, simple syntax: words, trailing `*` wildcards,
"quoted phrases"), `entities` (a JSON-encoded string of [{name, selectColumns, searchColumns}]), `top` (default 50, at
most 100), `skip`, `count` and `options` (`searchmodelall`); the answer is `{"response": "<JSON string>"}` whose inner
object has `Error`, `Value` ([{Id, EntityName, ObjectTypeCode, Attributes, Highlights, Score}]), `Facets`,
`QueryContext` and `Count`. Only rows the caller may read are found (the caller's SecuredDataset).

Search can be switched off per organisation, to stand in for an environment without Dataverse search: in-process with
`search_state(org).enabled = False` (and `.disabled_status` 404 or 403), or over HTTP with
`POST /sandbox-control/search {"enabled": false, "status": 403}`.
"""

from __future__ import annotations

import json
import re
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dataverse.sandbox.dataverse.model import LookupValue, Row, SandboxError, Table, Unauthenticated
from dataverse.sandbox.dataverse.security import SecuredDataset
from dataverse.sandbox.dataverse.state import SandboxOrganization

SEARCH_PATH = "/api/search/v2.0/query"
INVALID_ARGUMENT = "0x80040203"
MAX_TOP = 100
DEFAULT_TOP = 50
# The tables search is enabled for, with the columns an administrator configured as searchable.
SEARCHABLE: dict[str, tuple[str, ...]] = {
    "account": ("name", "accountnumber", "emailaddress1", "address1_city"),
    "contact": ("fullname", "emailaddress1", "jobtitle"),
    "opportunity": ("name",),
    "lead": ("fullname", "companyname", "subject"),
}
OBJECT_TYPE_CODES = {"account": 1, "contact": 2, "opportunity": 3, "lead": 4}
_TERM = re.compile(r'"([^"]+)"|(\S+)')
_WORD = re.compile(r"[\w@.'-]+", re.UNICODE)
Term = tuple[str, Callable[[str], bool]]  # a search term and the test of a text for it


@dataclass
class SearchState:
    enabled: bool = True
    disabled_status: int = 404  # what an environment without Dataverse search answers: 404 or 403


_states: weakref.WeakKeyDictionary[SandboxOrganization, SearchState] = weakref.WeakKeyDictionary()


def search_state(org: SandboxOrganization) -> SearchState:
    """The organisation's search switch (created enabled on first use)."""
    state = _states.get(org)
    if state is None:
        state = _states[org] = SearchState()
    return state


@dataclass(frozen=True)
class _Scope:
    table: Table
    select: tuple[str, ...]
    search: tuple[str, ...]


def _bad(message: str) -> SandboxError:
    return SandboxError(400, INVALID_ARGUMENT, message)


def _int_option(body: dict[str, Any], name: str, default: int, high: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
        raise _bad(f"The parameter '{name}' must be an integer from 0 to {high}.")
    return value


def _scopes(dataset: SecuredDataset, raw: Any) -> list[_Scope]:
    if raw is None:
        return [_Scope(dataset.table(name), (dataset.table(name).primary_name or "",), columns)
                for name, columns in SEARCHABLE.items()]
    try:
        entities = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as error:
        raise _bad(f"The parameter 'entities' is not valid JSON: {error}") from error
    if not isinstance(entities, list) or not all(isinstance(entity, dict) for entity in entities):
        raise _bad("The parameter 'entities' must be a JSON array of objects with a 'name'.")
    scopes = []
    for entity in entities:
        name = str(entity.get("name", "")).lower()
        if name not in SEARCHABLE:
            raise _bad(f"The entity '{name}' is not enabled for Dataverse search in this environment.")
        if entity.get("filter"):
            raise _bad("The sandbox does not evaluate search filters; leave 'filter' out.")
        table = dataset.table(name)
        select = tuple(entity.get("selectColumns") or (table.primary_name,))
        search = tuple(entity.get("searchColumns") or (table.primary_name,))
        for column in (*select, *search):
            if column not in table.columns:
                raise _bad(f"The column '{column}' does not exist on the entity '{name}'.")
        scopes.append(_Scope(table, select, search))
    return scopes


def _matcher(term: str, phrase: bool) -> Callable[[str], bool]:
    needle = term.lower()
    if phrase:
        return lambda text: needle in text.lower()
    if needle.endswith("*"):
        prefix = needle.rstrip("*")
        return lambda text: any(word.lower().startswith(prefix) for word in _WORD.findall(text))
    return lambda text: any(word.lower().strip(".'-") == needle for word in _WORD.findall(text))


def _terms(search: str) -> list[Term]:
    terms = []
    for phrase, word in _TERM.findall(search):
        text = (phrase or word).strip("+|()")
        if text and text != "-":
            terms.append((text, _matcher(text, bool(phrase))))
    return terms


def _plain(value: Any) -> Any:
    if isinstance(value, LookupValue):
        return value.id
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _hits(row: Row, scope: _Scope, terms: list[Term], match_all: bool) -> tuple[int, dict[str, list[str]]]:
    matched = 0
    highlights: dict[str, list[str]] = {}
    for text, test in terms:
        hit_columns = [column for column in scope.search if isinstance(row.get(column), str) and test(row[column])]
        if hit_columns:
            matched += 1
            for column in hit_columns:
                highlighted = re.sub(re.escape(text.rstrip("*")), lambda m: "{crmhit}" + m.group(0) + "{/crmhit}",
                                     row[column], flags=re.IGNORECASE)
                highlights.setdefault(column, [highlighted])
    if match_all and matched < len(terms):
        return 0, {}
    return matched, highlights


def run_search(dataset: SecuredDataset, body: dict[str, Any]) -> dict[str, Any]:
    """The inner response object for one query, as the caller sees the data."""
    search = body.get("search")
    if not isinstance(search, str) or not 3 <= len(search.strip()) <= 100:
        raise _bad("The parameter 'search' is required and must be 3 to 100 characters long.")
    top = _int_option(body, "top", DEFAULT_TOP, MAX_TOP)
    skip = _int_option(body, "skip", 0, 100_000)
    options = json.loads(body["options"]) if isinstance(body.get("options"), str) else body.get("options") or []
    terms = _terms(search)
    found = []
    for scope in _scopes(dataset, body.get("entities")):
        for row in dataset.rows(scope.table.logical_name):
            score, highlights = _hits(row, scope, terms, "searchmodelall" in options)
            if score:
                found.append((score, scope, row, highlights))
    found.sort(key=lambda hit: (-hit[0], str(hit[2].get(hit[1].table.primary_name) or "").lower()))
    value = [{
        "Id": row[scope.table.primary_id], "EntityName": scope.table.logical_name,
        "ObjectTypeCode": OBJECT_TYPE_CODES[scope.table.logical_name],
        "Attributes": {column: _plain(row.get(column)) for column in scope.select if row.get(column) is not None},
        "Highlights": highlights, "Score": float(score),
    } for score, scope, row, highlights in found[skip:skip + top]]
    return {"Error": None, "Value": value, "Facets": {}, "QueryContext": None,
            "Count": len(found) if body.get("count") is True else -1}


def create_search_routes(*, org: SandboxOrganization, authenticate: Callable[[Request], SecuredDataset],
                         unauthorized_headers: dict[str, str]) -> list[Route]:
    """The search endpoint (bearer-authenticated, faults and stats applied like the Web API) and its control."""
    state = search_state(org)

    async def query(request: Request) -> Response:
        request_id = str(uuid.uuid4())
        org.stats.record(request.method, SEARCH_PATH)
        try:
            fault = await org.faults.apply(request.method)
            if fault is not None:
                response: Response = JSONResponse(fault.body, status_code=fault.status, headers=fault.headers)
            else:
                try:
                    dataset = authenticate(request)
                except Unauthenticated:  # as on the Web API
                    return Response(status_code=401, headers=unauthorized_headers | {"REQ_ID": request_id})
                if not state.enabled:
                    raise SandboxError(state.disabled_status, "",
                                       "Dataverse search is not enabled for this environment.")
                try:
                    body = json.loads(await request.body() or b"null")
                except ValueError as error:
                    raise _bad(f"Error reading the request body: {error}") from error
                if not isinstance(body, dict):
                    raise _bad("The request body must be a JSON object.")
                inner = run_search(dataset, body)
                response = JSONResponse({"response": json.dumps(inner, separators=(",", ":"))})
        except SandboxError as error:
            response = JSONResponse(error.body(), status_code=error.status)
        response.headers["REQ_ID"] = request_id
        return response

    async def control(request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            state.enabled = bool(body.get("enabled", state.enabled))
            state.disabled_status = int(body.get("status", state.disabled_status))
        return JSONResponse({"enabled": state.enabled, "status": state.disabled_status})

    return [Route(SEARCH_PATH, query, methods=["POST"]),
            Route("/sandbox-control/search", control, methods=["GET", "POST"])]
