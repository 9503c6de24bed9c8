"""Small statistics and timing helpers: percentiles, medians of repeated rounds, and interleaved timing loops that
measure a subject and its references side by side (same process, same moment) so drift hits all of them alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile (0..1) by linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("percentile of no samples")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * fraction
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


async def time_interleaved(
    subjects: Mapping[str, Callable[[], Awaitable[object]]], *, iterations: int
) -> dict[str, list[float]]:
    """Milliseconds per call for each subject, calling them in turn (A, B, C, A, B, C, ...) `iterations` times."""
    samples: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(iterations):
        for name, call in subjects.items():
            started = time.perf_counter_ns()
            await call()
            samples[name].append((time.perf_counter_ns() - started) / 1e6)
    return samples


def summarise_rounds(rounds: Sequence[Mapping[str, list[float]]]) -> dict[str, dict[str, float]]:
    """Per subject: the median over rounds of each round's p50 and p95 (ms)."""
    names = rounds[0].keys()
    return {
        name: {
            "p50_ms": median([percentile(one[name], 0.50) for one in rounds]),
            "p95_ms": median([percentile(one[name], 0.95) for one in rounds]),
        }
        for name in names
    }
