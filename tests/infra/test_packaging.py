"""The deployment package ships bytecode: azure.yaml's prepackage hook compiles the app (checked-hash pycs, which stay
valid whatever zipping does to file times) and .funcignore keeps the __pycache__ folders in. Running the hook's own
command on a copy of the app shows every module gets a pyc that Python uses without writing anything."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED_HASH_FLAGS = 0b11  # PEP 552: hash-based, check_source


def _hook_command() -> str:
    text = (ROOT / "azure.yaml").read_text()
    return re.search(r"prepackage:\n        posix:\n          shell: sh\n          run: (.+)\n", text).group(1)


def test_funcignore_keeps_bytecode_in_the_package():
    assert "__pycache__" not in (ROOT / ".funcignore").read_text().split()


def test_the_prepackage_hook_compiles_every_module_to_a_checked_hash_pyc(tmp_path: Path):
    command = _hook_command()
    assert "--invalidation-mode checked-hash" in command and " -f " in command
    shutil.copytree(ROOT / "dataverse", tmp_path / "dataverse", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "function_app.py", tmp_path)
    subprocess.run(command.replace("python3", sys.executable, 1), shell=True, cwd=tmp_path, check=True)

    sources = [*tmp_path.joinpath("dataverse").rglob("*.py"), tmp_path / "function_app.py"]
    for source in sources:
        pycs = list((source.parent / "__pycache__").glob(f"{source.stem}.cpython-*.pyc"))
        assert len(pycs) == 1, source
        flags = int.from_bytes(pycs[0].read_bytes()[4:8], "little")
        assert flags == CHECKED_HASH_FLAGS, source

    before = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*.pyc")}
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", "import function_app, dataverse.app"], cwd=tmp_path, env=env, check=True)
    assert {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*.pyc")} == before  # used, not rewritten
