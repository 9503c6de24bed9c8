"""The README's in-page links land on a heading (GitHub's anchor rules), and its tables are not split by a blank line
(a row after a blank line renders as a stray paragraph)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def github_anchor(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors_and_links(text: str) -> tuple[set[str], set[str]]:
    outside_code = re.sub(r"```.*?```", "", text, flags=re.S)
    anchors = {github_anchor(match) for match in re.findall(r"^#{1,6} (.+)$", outside_code, flags=re.M)}
    links = set(re.findall(r"\]\(#([^)]+)\)", outside_code))
    return anchors, links


def test_every_in_page_link_lands_on_a_heading():
    anchors, links = anchors_and_links(README.read_text(encoding="utf-8"))
    assert links and links - anchors == set()


def test_no_table_is_split_by_a_blank_line():
    lines = README.read_text(encoding="utf-8").splitlines()
    split = [index + 1 for index in range(1, len(lines) - 1)
             if not lines[index].strip() and lines[index - 1].startswith("|") and lines[index + 1].startswith("|")]
    assert split == []


def test_the_checks_catch_a_broken_link_and_a_split_table():
    anchors, links = anchors_and_links("## Run it\n[a](#run-it) [b](#gone)\n")
    assert links - anchors == {"gone"}
    assert github_anchor("Which apps may connect (redirect URIs)") == "which-apps-may-connect-redirect-uris"
