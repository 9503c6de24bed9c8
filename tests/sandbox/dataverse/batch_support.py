"""Writing `$batch` request bodies the way the Dataverse docs print them, and reading batch responses back into
parts, for the sandbox batch tests (independent of the client's own batch module)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

BATCH = "batch_AAA123"
CHANGESET = "changeset_BBB456"


def request_part(method: str, url: str, body: Any = None, *, content_id: str | None = None,
                 headers: dict[str, str] | None = None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{method} {url} HTTP/1.1"]
    if body is not None:
        lines.append("Content-Type: application/json; type=entry")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines.append("")
    lines.append(json.dumps(body) if body is not None else "")
    return "\r\n".join(lines)


def change_set(*parts: str, boundary: str = CHANGESET) -> str:
    inner = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts)
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}--{boundary}--"


def batch_body(*parts: str, boundary: str = BATCH) -> bytes:
    return ("".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n").encode("utf-8")


def batch_headers(*, continue_on_error: bool = False, boundary: str = BATCH) -> dict[str, str]:
    headers = {"Content-Type": f"multipart/mixed; boundary={boundary}"}
    if continue_on_error:
        headers["Prefer"] = "odata.continue-on-error"
    return headers


@dataclass
class Part:
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names: the inner response's headers
    mime_headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    parts: list[Part] = field(default_factory=list)  # a change set's parts

    @property
    def is_change_set(self) -> bool:
        return self.status is None


def _split(body: str, boundary: str) -> list[str]:
    pieces = ("\r\n" + body).split(f"\r\n--{boundary}")
    assert pieces[-1].startswith("--"), "no closing boundary"
    return [piece.split("\r\n", 1)[1] for piece in pieces[1:-1]]


def _header_block(text: str) -> dict[str, str]:
    return {line.split(":", 1)[0].strip().lower(): line.split(":", 1)[1].strip()
            for line in text.split("\r\n") if line.strip()}


def parse_parts(body: str, boundary: str) -> list[Part]:
    parts = []
    for raw in _split(body, boundary):
        head, _, rest = raw.partition("\r\n\r\n")
        mime = _header_block(head)
        inner = re.search(r"boundary=([^;\s]+)", mime.get("content-type", ""))
        if mime["content-type"].startswith("multipart/mixed") and inner:
            parts.append(Part(mime_headers=mime, parts=parse_parts(rest, inner.group(1))))
            continue
        response_head, _, payload = rest.partition("\r\n\r\n")
        status_line, _, header_text = response_head.partition("\r\n")
        assert re.fullmatch(r"HTTP/1\.1 \d{3} .+", status_line), status_line
        payload = payload.strip()
        parts.append(Part(status=int(status_line.split(" ")[1]), headers=_header_block(header_text),
                          mime_headers=mime, body=json.loads(payload) if payload else None))
    return parts


def parse_batch(response: httpx.Response) -> list[Part]:
    content_type = response.headers["content-type"]
    match = re.fullmatch(r"multipart/mixed; boundary=(batchresponse_[0-9a-f-]{36})", content_type)
    assert match, content_type
    return parse_parts(response.text, match.group(1))
