"""benchmarks/results.json, the one place for the verdicts: the last run's results, its table and its `targets`
({figure, value, target, met}), and `history`, the targets of the last HISTORY_RUNS full runs with when and at which
commit they ran. A full `make bench` also writes docs/benchmarks.md, the trend table the README links to."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.report import Row, targets

ROOT = Path(__file__).resolve().parent.parent
RESULTS_PATH = ROOT / "benchmarks" / "results.json"
TREND_PATH = ROOT / "docs" / "benchmarks.md"
HISTORY_RUNS = 10


def _commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=False, timeout=10)
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def load_history(path: Path = RESULTS_PATH) -> list[dict[str, Any]]:
    try:
        history = json.loads(path.read_text()).get("history", [])
    except (OSError, ValueError, AttributeError):
        return []
    return history if isinstance(history, list) else []


def write_results(results: dict[str, Any], rows: list[Row], *, full_run: bool, path: Path = RESULTS_PATH,
                  now: datetime | None = None) -> dict[str, Any]:
    """Write results.json; a full run is appended to the history (the last HISTORY_RUNS are kept)."""
    verdicts = targets(rows)
    history = load_history(path)
    if full_run:
        stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        history = [*history, {"timestamp": stamp, "commit": _commit(), "targets": verdicts}][-HISTORY_RUNS:]
    document = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "full_run": full_run,
        "results": results,
        "table": [asdict(row) for row in rows],
        "targets": verdicts,
        "history": history,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return document


def trend_markdown(history: list[dict[str, Any]]) -> str:
    """The targets of the recorded runs side by side, newest last: one row a figure, one column a run."""
    runs = history[-HISTORY_RUNS:]
    figures = list(dict.fromkeys(entry["figure"] for run in runs for entry in run["targets"]))
    heads = [f"{run['timestamp'][:16].replace('T', ' ')} {run.get('commit', '')}".strip() for run in runs]
    lines = [
        "# Benchmark trend",
        "",
        "Written by `make bench` from `benchmarks/results.json` (the last "
        f"{HISTORY_RUNS} full runs, newest on the right; ✔ met, ✘ missed). The machine is noisy: compare ratios, and",
        "read a miss in one column against its neighbours. What each figure measures: the README's Benchmarks section.",
        "",
        "| figure | target | " + " | ".join(heads) + " |",
        "|---|---|" + "---|" * len(runs),
    ]
    for figure in figures:
        target = next(e["target"] for run in runs for e in run["targets"] if e["figure"] == figure)
        cells = []
        for run in runs:
            found = next((e for e in run["targets"] if e["figure"] == figure), None)
            cells.append("" if found is None else f"{found['value']} {'✔' if found['met'] else '✘'}")
        lines.append(f"| {figure} | {target} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_trend(history: list[dict[str, Any]], path: Path = TREND_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(trend_markdown(history))
