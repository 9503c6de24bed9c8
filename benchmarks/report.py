"""Turns the measured figures into rows (figure, value, reference, target, PASS/MISS), prints them as a table and
writes benchmarks/results.json."""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULTS_PATH = Path(__file__).resolve().parent / "results.json"


@dataclass
class Row:
    figure: str
    value: str
    reference: str
    target: str
    verdict: str  # PASS, MISS, or "-" when there is no target / nothing to judge


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "MISS")


def build_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    if overhead := results.get("overhead"):
        lat = overhead["latency"]
        rows.append(Row("query_records added over SDK floor, p50", f"{overhead['added_over_floor_p50_ms']:+.2f} ms",
                        f"app {lat['app']['p50_ms']:.2f} / floor {lat['floor']['p50_ms']:.2f} ms", "<= 1.5 ms",
                        _verdict(overhead["added_over_floor_p50_ms"] <= 1.5)))
        rows.append(Row("query_records added over SDK floor, p95", f"{overhead['added_over_floor_p95_ms']:+.2f} ms",
                        f"app {lat['app']['p95_ms']:.2f} / floor {lat['floor']['p95_ms']:.2f} ms", "-", "-"))
        rows.append(Row("query_records added over direct client, p50/p95",
                        f"{overhead['added_over_direct_p50_ms']:+.2f} / {overhead['added_over_direct_p95_ms']:+.2f} ms",
                        f"direct {lat['direct']['p50_ms']:.2f} / {lat['direct']['p95_ms']:.2f} ms", "-", "-"))
    if ratio := results.get("latency_ratio"):
        lat = ratio["latency"]
        rows.append(Row(f"app / direct with {ratio['simulated_latency_ms']:.0f} ms Dataverse latency, p50",
                        f"{ratio['ratio_p50']:.3f}x",
                        f"app {lat['app']['p50_ms']:.1f} / direct {lat['direct']['p50_ms']:.1f} ms; SDK floor with "
                        f"same wait {ratio['floor_ratio_p50']:.3f}x", "<= 1.05x", _verdict(ratio["ratio_p50"] <= 1.05)))
        rows.append(Row("  same, p95", f"{ratio['ratio_p95']:.3f}x",
                        f"app {lat['app']['p95_ms']:.1f} / direct {lat['direct']['p95_ms']:.1f} ms", "-", "-"))
    if trips := results.get("round_trips"):
        per_call = trips["per_call"]
        rows.append(Row("Dataverse requests per steady-state query", f"{per_call['dataverse']:g}",
                        f"first (cold) call: {trips['first_call_dataverse_requests']}", "1",
                        _verdict(per_call["dataverse"] == 1)))
        rows.append(Row("Entra requests per steady-state call", f"{per_call['entra']:g}", trips["entra_note"], "0",
                        _verdict(per_call["entra"] == 0)))
        storage = per_call["storage"]
        rows.append(Row("Storage operations per steady-state call", f"{storage:g}",
                        trips["storage_note"], "0", _verdict(storage == 0)))
    if cold := results.get("cold_start"):
        ms = cold["median_ms"]
        rows.append(Row("import function_app (fresh process)", f"{ms['import_app']:.0f} ms",
                        f"floor (azure.functions + mcp.server.mcpserver) {ms['import_floor']:.0f} ms", "<= 1.25x",
                        _verdict(cold["import_ratio"] <= 1.25)))
        rows.append(Row("first answered tools/call (fresh process)",
                        f"{ms['first_call_app']:.0f} ms ({cold['first_call_ratio']:.2f}x)",
                        f"floor {ms['first_call_floor']:.0f} ms (excl. stored session {ms['sign_in']:.0f} ms)",
                        "<= 1.25x", _verdict(cold["first_call_ratio"] <= 1.25)))
        rows.append(Row("  production estimate (same children)",
                        f"{ms['first_call_production_estimate']:.0f} ms "
                        f"({cold['first_call_production_estimate_ratio']:.2f}x)",
                        f"- sandbox import {ms['sandbox_import']:.0f} ms, build {ms['sandbox_build']:.0f} ms; "
                        f"+ Table Storage SDK import {ms['table_storage_import']:.0f} ms",
                        "<= 1.25x", _verdict(cold["first_call_production_estimate_ratio"] <= 1.25)))
    if load := results.get("throughput"):
        rate, rss = load["calls_per_second"], load["peak_rss_mib"]
        rows.append(Row(f"tools/call per second, 1 uvicorn worker, {load['concurrency']} clients",
                        f"{rate['app']:.0f}/s ({load['throughput_ratio']:.2f}x)", f"floor {rate['floor']:.0f}/s",
                        "-", "-"))
        rows.append(Row("server peak RSS (VmHWM) after load", f"{rss['app']:.1f} MiB", f"floor {rss['floor']:.1f} MiB",
                        "-", "-"))
    if compact := results.get("compactness"):
        per_table = ", ".join(f"{name} {entry['output_bytes_per_row']:.0f}/{entry['odata_bytes_per_row']:.0f} B"
                              for name, entry in compact["tables"].items())
        rows.append(Row("query_records bytes per row vs raw OData", f"{compact['ratio'] * 100:.1f} %", per_table,
                        "<= 40 %", _verdict(compact["ratio"] <= 0.40)))
    if listed := results.get("tool_list"):
        largest = ", ".join(f"{name} {size} B" for name, size in listed["largest"].items())
        rows.append(Row("tools/list tokens per tool (bytes / 4)", f"{listed['tokens_per_tool']:.0f}",
                        f"{listed['tools']} tools, {listed['bytes']} B; largest {largest}", "<= 220",
                        _verdict(listed["tokens_per_tool"] <= 220)))
    if bulk := results.get("bulk"):
        rows.append(Row(f"Dataverse requests per confirmed bulk update of {bulk['rows']} rows",
                        f"{bulk['dataverse_requests']}", f"{bulk['batch_requests']} $batch", "1 ($batch)",
                        _verdict(bulk["dataverse_requests"] == 1 and bulk["batch_requests"] == 1)))
        rows.append(Row("  time per row (sandbox, in process)", f"{bulk['ms_per_row']:.2f} ms", "-", "-", "-"))
    return rows


def targets(rows: list[Row]) -> list[dict[str, Any]]:
    """Every figure that has a target, as {figure, value, target, met}: the one place for the verdicts."""
    return [{"figure": row.figure, "value": row.value, "target": row.target, "met": row.verdict == "PASS"}
            for row in rows if row.verdict in ("PASS", "MISS")]


def print_table(rows: list[Row]) -> None:
    headers = Row("Figure", "Value", "Reference", "Target", "")
    widths = [max(len(getattr(row, name)) for row in [headers, *rows]) for name in asdict(headers)]
    for index, row in enumerate([headers, *rows]):
        cells = zip(asdict(row).values(), widths, strict=True)
        print("  ".join(str(value).ljust(width) for value, width in cells).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


def write_results(results: dict[str, Any], rows: list[Row], path: Path = RESULTS_PATH) -> None:
    document = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "results": results,
        "table": [asdict(row) for row in rows],
        "targets": targets(rows),
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
