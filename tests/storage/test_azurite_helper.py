"""The Azurite helper other test folders reuse: a missing binary is a clear failure, never a silent skip."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import azurite as azurite_module


def test_a_missing_binary_raises_with_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AZURITE_TABLE_BIN", str(tmp_path / "no-such-azurite-table"))
    install_command = re.escape("npm install --prefix .tools azurite@3.35.0")
    with pytest.raises(azurite_module.AzuriteNotFoundError, match=install_command):
        azurite_module.start_azurite()


def test_the_session_emulator_answers_on_its_port(azurite: azurite_module.AzuriteTable) -> None:
    assert azurite.running
    assert f":{azurite.port}/" in azurite.connection_string
