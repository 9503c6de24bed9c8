"""Cold start, each figure the median over fresh interpreter processes, subject and floor alternated:

- import: `import function_app` vs the floor `import azure.functions, mcp.server.mcpserver`;
- first call: a fresh process imports function_app, builds the sandbox app, answers one query_records tools/call over
  ASGITransport, vs the floor process that builds a bare MCPServer app and answers one tools/call.
Times are from spawning the interpreter to the child reporting (so interpreter start-up counts, the same for both).
Our sources are compiled first, as the deployment package ships them (see azure.yaml).
The app child starts from a session already in the store (the user signed in before this instance existed), so MSAL
is imported and its client built by the first call, as on a fresh instance; writing that session is timed in the child
and subtracted. The child builds the app with the collector paused, as function_app does.

"Production estimate": the first call without what only the sandbox costs (importing it, building its organisation)
and with what only production costs (importing the Table Storage SDK; the benchmark uses the memory store), each
measured in the same child.
"""

from __future__ import annotations

import compileall
import json
import py_compile
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.measure import median

ROOT = Path(__file__).resolve().parent.parent
CHECKED_HASH = py_compile.PycInvalidationMode.CHECKED_HASH

IMPORT_APP = "import function_app"
IMPORT_FLOOR = "import azure.functions, mcp.server.mcpserver"


def _spawn(args: list[str]) -> tuple[float, dict[str, Any]]:
    """Milliseconds from spawn until the child printed its first line, and the JSON of its last line (or {})."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    elapsed = (time.perf_counter() - started) * 1000
    rest = process.stdout.read().strip().splitlines()
    process.wait(timeout=60)
    if process.returncode != 0 or not line.strip():
        raise RuntimeError(f"cold-start child {args} failed (exit {process.returncode})")
    return elapsed, json.loads(rest[-1]) if rest else {}


def precompile() -> None:
    """Bytecode for our sources, as the deployment package ships it (azure.yaml's prepackage hook); the benchmark
    harness is compiled too, since floor and app children both import it. Installed packages already have theirs."""
    for target in (ROOT / "dataverse", ROOT / "benchmarks", ROOT / "function_app.py"):
        compiled = (compileall.compile_dir(target, quiet=1, force=True, invalidation_mode=CHECKED_HASH)
                    if target.is_dir() else
                    compileall.compile_file(target, quiet=1, force=True, invalidation_mode=CHECKED_HASH))
        if not compiled:
            raise RuntimeError(f"could not compile {target}")


def measure_cold_start(*, runs: int = 10) -> dict[str, Any]:
    precompile()
    samples: dict[str, list[float]] = {"import_app": [], "import_floor": [], "first_call_app": [],
                                       "first_call_floor": [], "sandbox_build": [], "sandbox_import": [],
                                       "table_storage_import": [], "first_call_production_estimate": [],
                                       "sign_in": []}
    for _ in range(runs):
        samples["import_app"].append(_spawn(["-c", f"{IMPORT_APP}; print('imported')"])[0])
        samples["import_floor"].append(_spawn(["-c", f"{IMPORT_FLOOR}; print('imported')"])[0])
        elapsed, report = _spawn(["-m", "benchmarks.first_call", "app"])
        samples["first_call_app"].append(elapsed - report["sign_in_ms"])
        samples["sign_in"].append(report["sign_in_ms"])
        samples["sandbox_build"].append(report["sandbox_build_ms"])
        samples["sandbox_import"].append(report["sandbox_import_ms"])
        samples["table_storage_import"].append(report["table_storage_import_ms"])
        samples["first_call_production_estimate"].append(
            samples["first_call_app"][-1] - report["sandbox_build_ms"] - report["sandbox_import_ms"]
            + report["table_storage_import_ms"])
        samples["first_call_floor"].append(_spawn(["-m", "benchmarks.first_call", "floor"])[0])
    figures = {name: median(values) for name, values in samples.items()}
    return {
        "runs": runs,
        "median_ms": figures,
        "import_ratio": figures["import_app"] / figures["import_floor"],
        "first_call_ratio": figures["first_call_app"] / figures["first_call_floor"],
        "first_call_production_estimate_ratio": figures["first_call_production_estimate"] / figures["first_call_floor"],
    }
