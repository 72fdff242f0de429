"""The master's result: every worker's raw parts merged exactly, and a breakdown per worker.

The merged figures are `runner.merge_results` over the raw parts of every worker that
delivered them: histograms are added bucket by bucket (the same as one histogram of all
samples), counts summed. The run's expectation is the whole load's, so a worker that was
lost shows as missing messages; it is also listed in ``lost_workers`` with what it had
reported before it went, and ``complete`` is false. Locust's own statistics play no part.
"""

from __future__ import annotations

from typing import Any

from ..config import LoadConfig
from ..histogram import merged
from ..runner import merge_results
from .protocol import RunSettings, WorkerState

# Figures of a worker's own summary kept in the breakdown.
_SUMMARY_KEYS = ("connections_open", "connect_failures", "dropped_connections", "expected",
                 "sent", "acknowledged", "lost", "errored", "delivery_percent",
                 "achieved_rate", "latency_ms", "schedule_lag_ms", "generator_cpu_s",
                 "generator_cpu_percent", "replies_timed_at_read")


def worker_summary(settings: RunSettings, worker: WorkerState, elapsed: float) -> dict[str, Any]:
    """The worker's own figures, from its parts alone."""
    load = dict(settings.worker_load(worker.index))
    cfg = LoadConfig(**load)
    merged = merge_results(cfg, worker.parts, elapsed)
    return {key: merged[key] for key in _SUMMARY_KEYS}


def breakdown_row(settings: RunSettings, worker: WorkerState, elapsed: float) -> dict[str, Any]:
    row: dict[str, Any] = {
        "worker": worker.index, "id": worker.client_id, "host": worker.host,
        "pid": worker.pid, "worker_pid": worker.worker_pid, "status": worker.status,
        "reason": worker.reason,
        "connections": worker.connections, "connections_open": worker.connections_open,
        "clock_offset_ms": worker.clock_offset_ms, "missed_heartbeats": worker.was_missing,
        "seconds_reported": worker.last_second + 1}
    if worker.parts:
        summary = worker_summary(settings, worker, elapsed)
        row.update(summary)
        row["latency_histogram"] = merged([p["latency"] for p in worker.parts]).to_data()
    else:  # what its progress said before it went: no histogram, nothing to merge
        row.update(sent=worker.sent, acknowledged=worker.acknowledged,
                   errored=worker.errored, lost=None, in_flight=worker.in_flight,
                   latency_ms=None)
    return row


def lost_text(row: dict[str, Any]) -> str:
    """One worker that did not deliver its result, and what it had done."""
    host = f" on {row['host']}" if row["host"] else ""
    head = (f"worker {row['worker']} ({row['id']}{host}, {row['connections']} connections) "
            f"{row['status']}: {row['reason']}")
    if not row["seconds_reported"] and not row["sent"]:
        return f"{head}; it had sent nothing"
    return (f"{head}; before that it reported {row['seconds_reported']} s: sent "
            f"{row['sent']}, acknowledged {row['acknowledged']}, errored {row['errored']}, "
            f"in flight {row.get('in_flight', 0)}; its latency samples are not in the figures")


def build_result(settings: RunSettings, workers: list[WorkerState], elapsed: float,
                 master: str, error: str | None = None,
                 warnings: list[str] | None = None) -> dict[str, Any]:
    """The distributed run's result: `Run Load`'s shape plus the distributed fields."""
    delivered = [w for w in workers if w.status == "complete"]
    parts = [part for worker in delivered for part in worker.parts]
    result = merge_results(settings.load, parts, elapsed)
    result["processes"] = settings.load.processes
    breakdown = [breakdown_row(settings, w, elapsed) for w in workers]
    lost = [row for row in breakdown if row["status"] != "complete"]
    missing = settings.workers - len(workers)
    problems = [lost_text(row) for row in lost]
    if missing > 0:
        problems.append(f"{missing} of {settings.workers} workers never took part")
    if error:
        problems.insert(0, error)
    result.update({
        "distributed": True, "master": master, "locust_workers": settings.workers,
        "workers_delivered": len(delivered), "complete": not problems,
        "workers_breakdown": breakdown, "lost_workers": lost,
        "error": "; ".join(problems) if problems else None,
        "warnings": list(warnings or []),
        # The merged histogram itself (HdrHistogram buckets, µs): runs can be merged later.
        "latency_histogram": merged([p["latency"] for p in parts]).to_data(),
        "settings": {"connect_timeout_s": settings.connect_timeout,
                     "ready_timeout_s": settings.ready_timeout,
                     "go_delay_s": settings.go_delay,
                     "engine_processes": settings.load.processes}})
    return result


def failure_message(result: dict[str, Any]) -> str:
    """Why a distributed result is not whole, for an error or an assertion."""
    return (f"The distributed load {result['name']} is incomplete: {result['error']}. "
            f"Its figures cover {result['workers_delivered']} of {result['locust_workers']} "
            f"workers ({result['acknowledged']} of {result['expected']} expected messages "
            f"acknowledged) and are not reported as the run's.")
