"""Entra-shaped errors for the sandbox: an exception carrying the OAuth error and the AADSTS code, and its JSON body
as login.microsoftonline.com writes it ({"error", "error_description": "AADSTS<n>: ...", "error_codes": [n], ...})."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from starlette.responses import JSONResponse


class SandboxEntraError(Exception):
    """An OAuth error the sandbox answers with; `code` is the AADSTS number."""

    def __init__(self, error: str, code: int, message: str, *, status_code: int = 400) -> None:
        super().__init__(f"AADSTS{code}: {message}")
        self.error = error
        self.code = code
        self.message = message
        self.status_code = status_code

    @property
    def description(self) -> str:
        return f"AADSTS{self.code}: {self.message}"

    def to_response(self) -> JSONResponse:
        trace_id = str(uuid.uuid4())
        body = {
            "error": self.error,
            "error_description": f"{self.description} Trace ID: {trace_id}",
            "error_codes": [self.code],
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": trace_id,
            "correlation_id": str(uuid.uuid4()),
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }
        return JSONResponse(body, status_code=self.status_code, headers={"Cache-Control": "no-store"})


def missing_parameter(name: str) -> SandboxEntraError:
    return SandboxEntraError(
        "invalid_request", 900144, f"The request body must contain the following parameter: '{name}'."
    )


def resource_parameter_rejected() -> SandboxEntraError:
    return SandboxEntraError(
        "invalid_target", 9010010,
        "The resource parameter provided in the request doesn't match with the requested scopes.",
    )
