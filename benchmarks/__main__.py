"""`python -m benchmarks` (what `make bench` runs): every benchmark in turn, then the table and results.json.
`python -m benchmarks overhead compactness` runs only the named ones."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import warnings
from typing import Any

from benchmarks.report import RESULTS_PATH, build_rows, print_table, write_results


async def _run(selected: list[str]) -> dict[str, Any]:
    from benchmarks.bulk import measure_bulk
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
        "throughput": measure_throughput,
    }
    unknown = set(selected) - set(benchmarks)
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {sorted(unknown)}; choose from {sorted(benchmarks)}")
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
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)  # request logs of the in-process apps would drown the table
    results = asyncio.run(_run(argv))
    rows = build_rows(results)
    print_table(rows)
    write_results(results, rows)
    print(f"\nwritten to {RESULTS_PATH}")


if __name__ == "__main__":
    main(sys.argv[1:])
