"""The version clients see in serverInfo is the package's version."""

from __future__ import annotations

import tomllib
from pathlib import Path

import dataverse

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_version_is_the_one_pyproject_declares():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert dataverse.__version__ == declared
