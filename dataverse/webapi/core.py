"""The plumbing every verb of the Dataverse client shares: one environment, one signed-in user's token source, a
shared pooled httpx client, the OData headers and a fresh bearer token on every request, and the retry loop.

`ClientCore` is the base of `DataverseClient` and of the verb groups it is assembled from (actions, associations,
batch, views, history), so each group can live in the module that owns its wire format.
"""

from __future__ import annotations

import json as jsonlib
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx

from .errors import MAX_URL_LENGTH, AuthenticationError, UrlTooLongError
from .odata import encode_query
from .retry import OnResponse, RetryPolicy, send_with_retries
from .wire import json_body, normalise_environment_url

TokenSource = Callable[[], Awaitable[str]]


class ClientCore:
    """Sends requests to one Dataverse environment's Web API as whoever `token_source` returns tokens for."""

    def __init__(
        self,
        environment_url: str,
        token_source: TokenSource,
        *,
        http: httpx.AsyncClient,
        retry: RetryPolicy | None = None,
        api_version: str = "v9.2",
        on_response: OnResponse | None = None,
    ) -> None:
        if not re.fullmatch(r"v\d+\.\d+", api_version):
            raise ValueError(f"api_version must look like 'v9.2', not {api_version!r}")
        self.environment_url = normalise_environment_url(environment_url)
        self.api_url = f"{self.environment_url}/api/data/{api_version}/"
        self._token_source = token_source
        self._http = http
        self._retry = retry or RetryPolicy()
        self._on_response = on_response

    # --- plumbing ------------------------------------------------------------------------------------------------
    async def _get_json(self, path: str, params: Mapping[str, str], prefer: Sequence[str] = ()) -> Any:
        _, body = await self._request("GET", path, params=params, prefer=prefer)
        return body

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        prefer: Sequence[str] = (),
        idempotent: bool | None = None,
        absolute: bool = False,
        outcome_hint: str = "Check whether it took effect before repeating it.",
    ) -> tuple[httpx.Response, Any]:
        content = jsonlib.dumps(json, ensure_ascii=False).encode("utf-8") if json is not None else None
        response = await self._send(
            method,
            path,
            params=params,
            content=content,
            content_type="application/json; charset=utf-8" if content is not None else None,
            headers=headers,
            prefer=prefer,
            idempotent=idempotent,
            absolute=absolute,
            outcome_hint=outcome_hint,
        )
        return response, json_body(response)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        prefer: Sequence[str] = (),
        idempotent: bool | None = None,
        absolute: bool = False,
        outcome_hint: str = "Check whether it took effect before repeating it.",
        accept: str = "application/json",
        accept_response: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        url = path if absolute else self._url(path, params or {})
        if method == "GET" and len(url) > MAX_URL_LENGTH:
            raise UrlTooLongError(len(url), what="FetchXML query" if params and "fetchXml" in params else "query")

        async def build_request() -> httpx.Request:
            request_headers = {
                "Authorization": f"Bearer {await self._get_token()}",
                "Accept": accept,
                "OData-MaxVersion": "4.0",
                "OData-Version": "4.0",
                "If-None-Match": "null",  # documented for every request: expanded collections may come back cached
            }
            if prefer:
                request_headers["Prefer"] = ",".join(prefer)
            if content_type is not None:
                request_headers["Content-Type"] = content_type
            request_headers.update(headers or {})
            return self._http.build_request(method, url, headers=request_headers, content=content)

        return await send_with_retries(
            self._http,
            build_request,
            policy=self._retry,
            idempotent=method == "GET" if idempotent is None else idempotent,
            on_response=self._on_response,
            outcome_hint=outcome_hint,
            accept=accept_response,
        )

    async def _get_token(self) -> str:
        token = await self._token_source()
        if not isinstance(token, str) or not token.strip():
            raise AuthenticationError("No Dataverse access token is available for the signed-in user")
        return token.strip()

    def _url(self, path: str, params: Mapping[str, str]) -> str:
        base = self.environment_url + path if path.startswith("/") else self.api_url + path
        query = encode_query(params)
        return f"{base}?{query}" if query else base
