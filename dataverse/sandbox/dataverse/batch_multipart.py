"""The `$batch` wire format (OData 4.0 multipart/mixed, CRLF line endings) as the sandbox reads and writes it:
splitting a body on its boundary, the headers of a MIME part, the HTTP request inside an `application/http` part,
and the HTTP responses and multipart bodies of the answer. No I/O and no Dataverse rules here (see batch_routes)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from http import HTTPStatus

from dataverse.sandbox.dataverse.model import SandboxError
from dataverse.sandbox.dataverse.payload import odata_payload_error

CRLF = b"\r\n"
_BOUNDARY = re.compile(r'boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', re.I)


def payload_error(detail: str) -> SandboxError:
    return odata_payload_error("", detail)


@dataclass
class MimePart:
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class InnerRequest:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    content_id: str | None = None


@dataclass
class InnerResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def boundary_of(content_type: str) -> str | None:
    """The boundary of a `multipart/mixed; boundary=...` content type (quoted or not), else None."""
    if not content_type.lower().startswith("multipart/mixed"):
        return None
    match = _BOUNDARY.search(content_type)
    return (match.group(1) or match.group(2)) if match else None


def split_parts(body: bytes, boundary: str) -> list[MimePart]:
    """The parts between `--boundary` delimiter lines, up to the closing `--boundary--`."""
    delimiter = CRLF + b"--" + boundary.encode("latin-1")
    pieces = (CRLF + body).split(delimiter)
    parts: list[MimePart] = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            return parts
        line_end = piece.find(CRLF)
        if line_end < 0 or piece[:line_end].strip():
            raise payload_error(f"The boundary delimiter '--{boundary}' is not followed by a line break.")
        parts.append(_mime_part(piece[line_end + 2:]))
    raise payload_error(f"The multipart body has no closing boundary '--{boundary}--'.")


def _mime_part(data: bytes) -> MimePart:
    head, separator, body = data.partition(CRLF + CRLF)
    if not separator:
        if data.startswith(CRLF):
            return MimePart({}, data[2:])
        raise payload_error("A MIME part has no blank line after its headers.")
    return MimePart(_headers(head), body)


def _headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").split("\r\n"):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise payload_error(f"The header line '{line}' has no colon.")
        headers[name.strip().lower()] = value.strip()
    return headers


def parse_inner_request(part: MimePart) -> InnerRequest:
    """The HTTP request inside an `application/http` part: request line, headers, blank line, body."""
    if part.headers.get("content-type", "").split(";")[0].strip().lower() != "application/http":
        raise payload_error("A batch part must have 'Content-Type: application/http'.")
    head, _, body = part.body.partition(CRLF + CRLF)
    lines = head.decode("utf-8").split("\r\n")
    request_line = lines[0].split(" ")
    if len(request_line) != 3 or not request_line[2].startswith("HTTP/"):
        raise payload_error(f"The request line '{lines[0]}' is not 'METHOD URL HTTP/1.1'.")
    headers = []
    for line in lines[1:]:
        if line.strip():
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return InnerRequest(request_line[0].upper(), request_line[1], headers, body.rstrip(CRLF) if body else b"",
                        part.headers.get("content-id"))


def http_response(response: InnerResponse) -> bytes:
    """`HTTP/1.1 204 No Content` + headers + blank line + body."""
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {response.status} {reason}", *(f"{name}: {value}" for name, value in response.headers)]
    return "\r\n".join(lines).encode("utf-8") + CRLF + CRLF + response.body


def response_part(response: InnerResponse, content_id: str | None = None) -> bytes:
    """One `application/http` MIME part holding `response`."""
    headers = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        headers.append(f"Content-ID: {content_id}")
    return "\r\n".join(headers).encode("latin-1") + CRLF + CRLF + http_response(response) + CRLF


def multipart(parts: list[bytes], boundary: str) -> bytes:
    """The parts joined by `--boundary` lines and closed by `--boundary--`."""
    out = b"".join(b"--" + boundary.encode("latin-1") + CRLF + part for part in parts)
    return out + b"--" + boundary.encode("latin-1") + b"--" + CRLF
