"""Widget HTML: each widget is one self-contained document assembled from templates/ (its own page, the shared
theme.css and the shared bridge.js, inlined), so it loads nothing from the network. The environment URLs the
deployment serves are written into the page for the links that open records in Dynamics 365."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
THEME_MARK = "/*@theme*/"
BRIDGE_MARK = "/*@bridge*/"
ENVIRONMENTS_MARK = '"@environments@"'


@cache
def _template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def render_widget(template: str, *, environments: list[str]) -> str:
    """The complete HTML document of the widget drawn by `template`."""
    page = _template(template)
    for mark in (THEME_MARK, BRIDGE_MARK):
        if page.count(mark) != 1:
            raise ValueError(f"templates/{template} must contain {mark} exactly once")
    page = page.replace(THEME_MARK, _template("theme.css")).replace(BRIDGE_MARK, _template("bridge.js"))
    return page.replace(ENVIRONMENTS_MARK, _script_json([url.rstrip("/") for url in environments]))


def _script_json(value: object) -> str:
    """JSON that is safe inside a <script> element."""
    return json.dumps(value).replace("<", "\\u003c")
