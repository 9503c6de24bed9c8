"""Turns the measured figures into rows (figure, value, reference, target, PASS/MISS) and prints them as a table.
The verdicts of the rows that have a target are the `targets` list (history.py keeps them in results.json)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

THROUGHPUT_TARGET = 0.8  # at least this fraction of the thin proxy's tools/call per second
COLD_START_TARGET = 1.25  # at most this multiple of the floor
LATENCY_RATIO_TARGET = 1.05
COMPACTNESS_TARGET = 0.35
TOKENS_PER_TOOL_TARGET = 220


@dataclass
class Row:
    figure: str
    value: str
    reference: str
    target: str
    verdict: str  # PASS, MISS, or "-" when there is no target / nothing to judge


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "MISS")


def _overhead(overhead: dict[str, Any]) -> list[Row]:
    lat = overhead["latency"]
    return [
        Row("query_records added over SDK floor, p50", f"{overhead['added_over_floor_p50_ms']:+.2f} ms",
            f"app {lat['app']['p50_ms']:.2f} / floor {lat['floor']['p50_ms']:.2f} ms", "<= 1.5 ms",
            _verdict(overhead["added_over_floor_p50_ms"] <= 1.5)),
        Row("query_records added over SDK floor, p95", f"{overhead['added_over_floor_p95_ms']:+.2f} ms",
            f"app {lat['app']['p95_ms']:.2f} / floor {lat['floor']['p95_ms']:.2f} ms", "-", "-"),
        Row("query_records added over direct client, p50/p95",
            f"{overhead['added_over_direct_p50_ms']:+.2f} / {overhead['added_over_direct_p95_ms']:+.2f} ms",
            f"direct {lat['direct']['p50_ms']:.2f} / {lat['direct']['p95_ms']:.2f} ms", "-", "-"),
    ]


def _latency_ratio(ratio: dict[str, Any]) -> list[Row]:
    lat = ratio["latency"]
    return [
        Row(f"app / direct with {ratio['simulated_latency_ms']:.0f} ms Dataverse latency, p50",
            f"{ratio['ratio_p50']:.3f}x",
            f"app {lat['app']['p50_ms']:.1f} / direct {lat['direct']['p50_ms']:.1f} ms; SDK floor with same wait "
            f"{ratio['floor_ratio_p50']:.3f}x", f"<= {LATENCY_RATIO_TARGET}x",
            _verdict(ratio["ratio_p50"] <= LATENCY_RATIO_TARGET)),
        Row("  same, p95", f"{ratio['ratio_p95']:.3f}x",
            f"app {lat['app']['p95_ms']:.1f} / direct {lat['direct']['p95_ms']:.1f} ms", "-", "-"),
    ]


def _round_trips(trips: dict[str, Any]) -> list[Row]:
    per_call = trips["per_call"]
    return [
        Row("Dataverse requests per steady-state query", f"{per_call['dataverse']:g}",
            f"first (cold) call: {trips['first_call_dataverse_requests']}", "1", _verdict(per_call["dataverse"] == 1)),
        Row("Entra requests per steady-state call", f"{per_call['entra']:g}", trips["entra_note"], "0",
            _verdict(per_call["entra"] == 0)),
        Row("Storage operations per steady-state call", f"{per_call['storage']:g}", trips["storage_note"], "0",
            _verdict(per_call["storage"] == 0)),
    ]


def _cold_start(cold: dict[str, Any]) -> list[Row]:
    ms = cold["median_ms"]
    return [
        Row("import function_app (fresh process)", f"{ms['import_app']:.0f} ms ({cold['import_ratio']:.2f}x)",
            f"floor (azure.functions + mcp.server.mcpserver) {ms['import_floor']:.0f} ms", f"<= {COLD_START_TARGET}x",
            _verdict(cold["import_ratio"] <= COLD_START_TARGET)),
        Row("first answered tools/call (fresh instance)",
            f"{ms['first_call_app']:.0f} ms ({cold['first_call_ratio']:.2f}x)",
            f"floor {ms['first_call_floor']:.0f} ms; Table Storage (Azurite) and the sandbox server over loopback",
            f"<= {COLD_START_TARGET}x", _verdict(cold["first_call_ratio"] <= COLD_START_TARGET)),
        Row("  production estimate (same children)",
            f"{ms['first_call_production_estimate']:.0f} ms ({cold['first_call_production_estimate_ratio']:.2f}x)",
            f"- the sandbox Entra http_client's import {ms['sandbox_import']:.1f} ms", f"<= {COLD_START_TARGET}x",
            _verdict(cold["first_call_production_estimate_ratio"] <= COLD_START_TARGET)),
        Row("  without shared Dataverse tokens",
            f"{ms['first_call_unshared']:.0f} ms ({cold['first_call_unshared_ratio']:.2f}x)",
            "SHARE_DATAVERSE_TOKENS=false: MSAL and On-Behalf-Of on the first call", "-", "-"),
    ]


def _cold_network(network: dict[str, Any]) -> list[Row]:
    latency = network["latency_ms"]
    rows = []
    for name, title in (("shared", "first tools/call, cold instance, simulated network"),
                        ("unshared", "  same, without shared Dataverse tokens")):
        variant = network["variants"][name]
        trips = variant["round_trips"]
        counted = ", ".join(f"{service} {trips[service]} x {latency[service]:.0f} ms"
                            for service in ("entra", "storage", "dataverse"))
        rows.append(Row(title, f"{variant['first_call_ms']:.0f} ms", f"round trips: {counted}", "-", "-"))
    return rows


def _throughput(load: dict[str, Any]) -> list[Row]:
    rows = []
    for entry in load["by_workers"]:
        rate, cpu = entry["calls_per_second"], entry["server_cpu_ms_per_call"]
        rows.append(Row(f"tools/call per second vs thin proxy, {entry['workers']} worker(s), {load['concurrency']} "
                        "clients", f"{rate['app']:.0f}/s ({entry['ratio']:.2f}x)",
                        f"thin proxy {rate['thin']:.0f}/s; server CPU per call app {cpu['app']:.2f} / thin "
                        f"{cpu['thin']:.2f} ms", f">= {THROUGHPUT_TARGET}x",
                        _verdict(entry["ratio"] >= THROUGHPUT_TARGET)))
    for entry in load["by_workers"]:
        rss = entry["peak_rss_mib"]
        rows.append(Row(f"  peak RSS after load, {entry['workers']} worker(s)",
                        f"{rss['app']['per_worker_max']:.0f} MiB a worker, {rss['app']['total']:.0f} MiB in all",
                        f"thin proxy {rss['thin']['per_worker_max']:.0f} MiB a worker, "
                        f"{rss['thin']['total']:.0f} MiB in all", "-", "-"))
    return rows


def _compactness(compact: dict[str, Any]) -> list[Row]:
    per_table = ", ".join(f"{name} {entry['output_bytes_per_row']:.0f}/{entry['odata_bytes_per_row']:.0f} B"
                          for name, entry in compact["tables"].items())
    return [Row("query_records bytes per row vs raw OData", f"{compact['ratio'] * 100:.1f} %", per_table,
                f"<= {COMPACTNESS_TARGET * 100:.0f} %", _verdict(compact["ratio"] <= COMPACTNESS_TARGET))]


def _tool_list(listed: dict[str, Any]) -> list[Row]:
    largest = ", ".join(f"{name} {size} B" for name, size in listed["largest"].items())
    return [Row("tools/list tokens per tool (bytes / 4)", f"{listed['tokens_per_tool']:.0f}",
                f"{listed['tools']} tools, {listed['bytes']} B; largest {largest}", f"<= {TOKENS_PER_TOOL_TARGET}",
                _verdict(listed["tokens_per_tool"] <= TOKENS_PER_TOOL_TARGET))]


def _bulk(bulk: dict[str, Any]) -> list[Row]:
    return [
        Row(f"Dataverse requests per confirmed bulk update of {bulk['rows']} rows", f"{bulk['dataverse_requests']}",
            f"{bulk['batch_requests']} $batch", "1 ($batch)",
            _verdict(bulk["dataverse_requests"] == 1 and bulk["batch_requests"] == 1)),
        Row("  time per row (sandbox, in process)", f"{bulk['ms_per_row']:.2f} ms", "-", "-", "-"),
    ]


ROW_BUILDERS = {
    "overhead": _overhead, "latency_ratio": _latency_ratio, "round_trips": _round_trips, "cold_start": _cold_start,
    "cold_network": _cold_network, "throughput": _throughput, "compactness": _compactness, "tool_list": _tool_list,
    "bulk": _bulk,
}


def build_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for name, builder in ROW_BUILDERS.items():
        if results.get(name):
            rows.extend(builder(results[name]))
    return rows


def targets(rows: list[Row]) -> list[dict[str, Any]]:
    """Every figure that has a target, as {figure, value, target, met}: the one place for the verdicts."""
    return [{"figure": row.figure.strip(), "value": row.value, "target": row.target, "met": row.verdict == "PASS"}
            for row in rows if row.verdict in ("PASS", "MISS")]


def print_table(rows: list[Row]) -> None:
    headers = Row("Figure", "Value", "Reference", "Target", "")
    widths = [max(len(getattr(row, name)) for row in [headers, *rows]) for name in asdict(headers)]
    for index, row in enumerate([headers, *rows]):
        cells = zip(asdict(row).values(), widths, strict=True)
        print("  ".join(str(value).ljust(width) for value, width in cells).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))
