"""`python -m benchmarks` (what `make bench` runs): every benchmark in turn, then the table, results.json (with the
targets and their history) and docs/benchmarks.md. `python -m benchmarks overhead compactness` runs only the named
ones (written to results.json, not added to the history)."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import warnings
from typing import Any

from benchmarks.history import RESULTS_PATH, TREND_PATH, write_results, write_trend
from benchmarks.report import build_rows, print_table

BENCHMARKS = ("overhead", "latency_ratio", "round_trips", "compactness", "tool_list", "bulk", "cold_start",
              "cold_network", "throughput")


async def _run(selected: list[str]) -> dict[str, Any]:
    from benchmarks.bulk import measure_bulk
    from benchmarks.cold_network import measure_cold_network
    from benchmarks.cold_start import measure_cold_start
    from benchmarks.compactness import measure_compactness
    from benchmarks.overhead import measure_latency_ratio, measure_overhead, measure_round_trips
    from benchmarks.throughput import measure_throughput
    from benchmarks.tool_list import measure_tool_list

    benchmarks = {
        "overhead": measure_overhead,
        "latency_ratio": measure_latency_ratio,
        "round_trips": measure_round_trips,
        "compactness": measure_compactness,
        "tool_list": measure_tool_list,
        "bulk": measure_bulk,
        "cold_start": lambda: asyncio.to_thread(measure_cold_start),
        "cold_network": lambda: asyncio.to_thread(measure_cold_network),
        "throughput": measure_throughput,
    }
    results: dict[str, Any] = {}
    for name, run in benchmarks.items():
        if selected and name not in selected:
            continue
        started = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = await run()
        print(f"  {name} done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return results


def main(argv: list[str]) -> None:
    unknown = set(argv) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {sorted(unknown)}; choose from {list(BENCHMARKS)}")
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)  # request logs of the in-process apps would drown the table
    results = asyncio.run(_run(argv))
    rows = build_rows(results)
    print_table(rows)
    full_run = not argv or set(argv) == set(BENCHMARKS)
    document = write_results(results, rows, full_run=full_run)
    print(f"\nwritten to {RESULTS_PATH}")
    if full_run:
        write_trend(document["history"])
        print(f"trend written to {TREND_PATH}")


if __name__ == "__main__":
    main(sys.argv[1:])
