"""A cold instance's first answer over a simulated network: every request to Entra ID, Table Storage and Dataverse
held for a round trip's latency (80, 10 and 60 ms by default) by the loopback proxies of netem.py, and counted.

The deployment is the cold-start one (benchmarks/processes.py): the sandbox server answers as its proxy's URL (so the
Dataverse environment and the Entra endpoints the app reaches are behind the latency), Table Storage is Azurite
behind its own proxy. Another instance signs alice in and serves her once; then fresh `benchmarks.first_call app`
children answer one query_records each, with the Dataverse tokens shared between instances (the default) and
without (SHARE_DATAVERSE_TOKENS=false). Reported per variant: the median time from spawn to the answer, and the
requests each service received from the child (the same every run), with what they were.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from benchmarks.cold_start import spawn
from benchmarks.measure import median
from benchmarks.netem import delaying_proxy
from benchmarks.processes import Deployment, free_port
from dataverse.sandbox.entra.loopback import bind_loopback

DEFAULT_LATENCY_MS = {"entra": 80.0, "storage": 10.0, "dataverse": 60.0}


def _label(method: str, path: str) -> str:
    """A request as a short name: `GET accounts`, `POST token`, `POST Tables` (a create-table call)..."""
    tail = path.rstrip("/").rsplit("/", 1)[-1]
    return f"{method} {tail.split('(', 1)[0] or path}"


def measure_cold_network(*, runs: int = 3, latency_ms: dict[str, float] | None = None) -> dict[str, Any]:
    latency = {**DEFAULT_LATENCY_MS, **(latency_ms or {})}
    sandbox_listener, storage_listener = bind_loopback(), bind_loopback()
    sandbox_url = f"http://127.0.0.1:{sandbox_listener.getsockname()[1]}"
    storage_url = f"http://127.0.0.1:{storage_listener.getsockname()[1]}"
    sandbox_port = free_port()
    sandbox_routes = {"/sandbox/entra": ("entra", latency["entra"]),
                      "/sandbox/dataverse": ("dataverse", latency["dataverse"]), "": ("sandbox", 0.0)}
    variants: dict[str, Any] = {}
    with Deployment.start(public_sandbox_url=sandbox_url, sandbox_port=sandbox_port) as direct:
        with delaying_proxy(f"http://127.0.0.1:{sandbox_port}", sandbox_routes, listener=sandbox_listener) as net, \
                delaying_proxy(direct.azurite_origin, {"": ("storage", latency["storage"])},
                               listener=storage_listener) as storage:
            deployment = direct.with_storage_at(storage_url)
            bearer = deployment.serve_a_user_elsewhere()
            environments = {"shared": deployment.app_environment(BENCH_BEARER=bearer)}
            environments["unshared"] = {**environments["shared"], "SHARE_DATAVERSE_TOKENS": "false"}
            for name, env in environments.items():
                times: list[float] = []
                seen: list[tuple[str, str, str]] = []
                for _ in range(runs):
                    net.proxy.reset()
                    storage.proxy.reset()
                    elapsed, _ = spawn(["-m", "benchmarks.first_call", "app"], env)
                    times.append(elapsed)
                    seen = [*net.proxy.requests, *storage.proxy.requests]
                counts = Counter(service for service, _, _ in seen)
                variants[name] = {
                    "first_call_ms": median(times),
                    "round_trips": {service: counts.get(service, 0) for service in ("entra", "storage", "dataverse")},
                    "requests": {service: [_label(method, path) for s, method, path in seen if s == service]
                                 for service in ("entra", "storage", "dataverse")},
                }
    shared, unshared = variants["shared"], variants["unshared"]
    return {
        "latency_ms": latency,
        "runs": runs,
        "variants": variants,
        "sharing_saves_ms": unshared["first_call_ms"] - shared["first_call_ms"],
    }
