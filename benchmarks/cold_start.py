"""Cold start, each figure the median over fresh interpreter processes, subject and floor alternated:

- import: `import function_app` vs the floor `import azure.functions, mcp.server.mcpserver`;
- first call: a fresh instance of a running deployment (benchmarks/first_call.py: function_app imported, the app built
  from the environment with Table Storage on Azurite and the sandbox server as Dataverse and Entra ID over loopback)
  answers one query_records tools/call for a user another instance served before, vs the floor process that builds a
  bare MCPServer app and answers one tools/call. Measured with the Dataverse tokens shared between instances (the
  default) and without (SHARE_DATAVERSE_TOKENS=false: the fresh instance asks Entra On-Behalf-Of).
Times are from spawning the interpreter to the child reporting (so interpreter start-up counts, the same for both).
Our sources are compiled first, as the deployment package ships them (see azure.yaml).

"Production estimate": the first call without the one part only the sandbox wiring costs (importing the MSAL
http_client that forwards to the sandbox Entra, timed in the same child). Production's Table Storage SDK, MSAL and
credential costs are all inside the measured call already, as far as the first call needs them.
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
from benchmarks.processes import Deployment, base_environment

ROOT = Path(__file__).resolve().parent.parent
CHECKED_HASH = py_compile.PycInvalidationMode.CHECKED_HASH

IMPORT_APP = "import function_app"
IMPORT_FLOOR = "import azure.functions, mcp.server.mcpserver"


def spawn(args: list[str], env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """Milliseconds from spawn until the child printed its first line, and the JSON of its last line (or {})."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
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


def measure_cold_start(*, runs: int = 8) -> dict[str, Any]:
    precompile()
    samples: dict[str, list[float]] = {name: [] for name in (
        "import_app", "import_floor", "first_call_app", "first_call_unshared", "first_call_floor",
        "sandbox_import", "first_call_production_estimate")}
    floor_env = base_environment()
    with Deployment.start() as deployment:
        bearer = deployment.serve_a_user_elsewhere()
        shared = deployment.app_environment(BENCH_BEARER=bearer)
        unshared = {**shared, "SHARE_DATAVERSE_TOKENS": "false"}
        for _ in range(runs):
            samples["import_app"].append(spawn(["-c", f"{IMPORT_APP}; print('imported')"], floor_env)[0])
            samples["import_floor"].append(spawn(["-c", f"{IMPORT_FLOOR}; print('imported')"], floor_env)[0])
            elapsed, report = spawn(["-m", "benchmarks.first_call", "app"], shared)
            samples["first_call_app"].append(elapsed)
            samples["sandbox_import"].append(report["sandbox_import_ms"])
            samples["first_call_production_estimate"].append(elapsed - report["sandbox_import_ms"])
            samples["first_call_floor"].append(spawn(["-m", "benchmarks.first_call", "floor"], floor_env)[0])
            elapsed, report = spawn(["-m", "benchmarks.first_call", "app"], unshared)
            samples["first_call_unshared"].append(elapsed - report["sandbox_import_ms"])
    figures = {name: median(values) for name, values in samples.items()}
    return {
        "runs": runs,
        "median_ms": figures,
        "import_ratio": figures["import_app"] / figures["import_floor"],
        "first_call_ratio": figures["first_call_app"] / figures["first_call_floor"],
        "first_call_production_estimate_ratio": figures["first_call_production_estimate"] / figures["first_call_floor"],
        "first_call_unshared_ratio": figures["first_call_unshared"] / figures["first_call_floor"],
    }
