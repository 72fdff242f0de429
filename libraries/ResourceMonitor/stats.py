"""Statistics of resource samples: CPU mean/p95/max, and a memory-leak verdict from the
RSS trend (a least-squares line through every sample after warm-up)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .sampling import Sample

MIB = 1024 * 1024
MIN_TREND_SAMPLES = 5


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return float(ordered[rank - 1])


def least_squares(points: Sequence[tuple[float, float]]) -> tuple[float, float, float]:
    """Slope, intercept and r² of the least-squares line through ``points``."""
    n = len(points)
    if n < 2:
        return 0.0, points[0][1] if points else 0.0, 0.0
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    syy = sum((y - mean_y) ** 2 for _, y in points)
    if sxx == 0:
        return 0.0, mean_y, 0.0
    slope = sxy / sxx
    r2 = (sxy * sxy) / (sxx * syy) if syy else 1.0
    return slope, mean_y - slope * mean_x, r2


def _series(values: Sequence[float | int | None]) -> dict[str, float]:
    present = [float(v) for v in values if v is not None]
    if not present:
        return {}
    return {"first": present[0], "last": present[-1], "min": min(present),
            "max": max(present), "mean": round(sum(present) / len(present), 3)}


def compute(samples: Sequence[Sample], warmup: float, cores: int,
            description: str = "") -> dict[str, Any]:
    """CPU, memory, descriptor and thread statistics of ``samples``.

    The RSS trend is the least-squares slope (MiB per minute) through the samples taken
    after ``warmup`` seconds; ``rss.projected_mb_per_hour`` is that slope over an hour.
    """
    trend = [s for s in samples if s.t >= warmup]
    cpu = [s.cpu_percent for s in samples]
    slope, intercept, r2 = least_squares([(s.t / 60, s.rss_bytes / MIB) for s in trend])
    fd_slope, _, _ = least_squares([(s.t / 60, float(s.fds)) for s in trend
                                    if s.fds is not None])
    return {
        "source": description, "samples": len(samples), "trend_samples": len(trend),
        "warmup_s": warmup,
        "duration_s": round(samples[-1].t - samples[0].t, 3) if samples else 0.0,
        "cpu": {"mean": round(sum(cpu) / len(cpu), 2) if cpu else 0.0,
                "p95": round(percentile(cpu, 95), 2), "max": round(max(cpu, default=0.0), 2),
                "mean_of_machine": round(sum(cpu) / len(cpu) / cores, 2) if cpu else 0.0,
                "cores": cores},
        "rss": {**{k: round(v / MIB, 2) for k, v in _series([s.rss_bytes for s in samples])
                   .items()},
                "slope_mb_per_min": round(slope, 4), "r_squared": round(r2, 4),
                "intercept_mb": round(intercept, 2),
                "projected_mb_per_hour": round(slope * 60, 2),
                "trend_from_s": round(trend[0].t, 3) if trend else None},
        "fds": {**_series([s.fds for s in samples]),
                "slope_per_min": round(fd_slope, 3)},
        "threads": _series([s.threads for s in samples]),
        "series": [s.to_dict() for s in samples],
    }


def leak_problems(stats: dict[str, Any], max_slope_mb_per_min: float) -> list[str]:
    """Why ``stats`` shows a leak (empty: no leak)."""
    if stats["trend_samples"] < MIN_TREND_SAMPLES:
        return [f"only {stats['trend_samples']} sample(s) after the {stats['warmup_s']:g} s "
                f"warm-up: at least {MIN_TREND_SAMPLES} are needed to judge a trend"]
    rss = stats["rss"]
    if rss["slope_mb_per_min"] > max_slope_mb_per_min:
        return [f"RSS grows {rss['slope_mb_per_min']:.3f} MiB/min after warm-up "
                f"(least squares over {stats['trend_samples']} samples, r² "
                f"{rss['r_squared']:.2f}; {rss['first']} → {rss['last']} MiB, "
                f"{rss['projected_mb_per_hour']:.1f} MiB per hour), above the "
                f"{max_slope_mb_per_min:g} MiB/min allowed"]
    return []
