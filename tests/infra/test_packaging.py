"""The deployment package: what .funcignore leaves in and what the app needs of it.

It ships bytecode: azure.yaml's prepackage hook compiles the app (checked-hash pycs, which stay valid whatever zipping
does to file times) and .funcignore keeps the __pycache__ folders in. Running the hook's own command on a copy of the
app shows every module gets a pyc that Python uses without writing anything.

It leaves out the sandbox, the tests and the benchmarks: the package is listed by .funcignore's rules (gitignore
syntax, as the packager reads them), and the app is imported and built, and the sweeper run, both from the
repository (where the sandbox could be imported: it must not be) and from a copy of exactly the packaged files."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pathspec
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED_HASH_FLAGS = 0b11  # PEP 552: hash-based, check_source
LEFT_OUT = ("dataverse/sandbox/", "tests/", "benchmarks/")


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


def packaged_files() -> list[str]:
    """Every file of the project folder the deployment package holds: what .funcignore does not exclude."""
    spec = pathspec.GitIgnoreSpec.from_lines((ROOT / ".funcignore").read_text().splitlines())
    files: list[str] = []
    for directory, subdirectories, names in os.walk(ROOT):
        here = Path(directory).relative_to(ROOT)
        subdirectories[:] = [name for name in subdirectories if not spec.match_file(f"{(here / name).as_posix()}/")]
        files += [path for name in names if not spec.match_file(path := (here / name).as_posix())]
    return files


def test_the_package_leaves_out_the_sandbox_the_tests_and_the_benchmarks():
    packaged = packaged_files()
    for folder in LEFT_OUT:
        assert any(ROOT.joinpath(folder).rglob("*.py")), folder  # there is something to leave out
        assert [path for path in packaged if path.startswith(folder)] == [], folder
    assert {"function_app.py", "host.json", "requirements.txt", "dataverse/app.py", "dataverse/jobs.py"} <= {
        *packaged}
    assert any(path.startswith("dataverse/webapi/") for path in packaged)


BUILD_AND_SWEEP = """
import asyncio, sys
import function_app, dataverse.app
function_app._build_asgi_app()
asyncio.run(dataverse.app.jobs.sweep_expired_rows(dataverse.app.jobs.store_from_settings()))
print(sorted(name for name in sys.modules if name.startswith("dataverse.sandbox")))
"""
SETTINGS = {"DATAVERSE_URLS": "https://contoso.crm.dynamics.com", "PUBLIC_BASE_URL": "https://mcp.contoso.com",
            "ENTRA_TENANT_ID": "00000000-0000-4000-8000-000000000001", "ENTRA_CLIENT_ID": "api-client-id",
            "ENTRA_CLIENT_SECRET": "local-secret", "TOKEN_ENCRYPTION_KEY": base64.b64encode(b"k" * 32).decode()}


@pytest.mark.parametrize("where", ["repository", "package"])
def test_the_deployed_app_never_imports_the_sandbox(where: str, tmp_path: Path):
    folder = ROOT
    if where == "package":
        folder = tmp_path / "package"
        for path in packaged_files():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, folder / path)
        assert not (folder / "dataverse" / "sandbox").exists()
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT")}
    done = subprocess.run([sys.executable, "-c", BUILD_AND_SWEEP], cwd=folder, env={**env, **SETTINGS},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
