"""Persistence of events, alerts, voices, seams and recovery actions (off the ack path).

Metric records are written by writer.MetricWriter before their ack. Everything derived
from them is queued here and written in batches by one background task; the tables are
documented in docs/storage.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

INSERTS = {
    "event": "INSERT INTO events (dashboard, seq, type, channel, payload, created_at) "
             "VALUES ($1, $2, $3, $4, $5::jsonb, $6) ON CONFLICT DO NOTHING",
    "alert_open": "INSERT INTO alerts (alert_id, metric, priority, level, value, threshold, "
                  "bound, notify, opened_at, updated_at) VALUES "
                  "($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (alert_id) DO UPDATE "
                  "SET priority = $3, level = $4, value = $5, updated_at = $9",
    "alert_resolve": "UPDATE alerts SET resolved_at = $2, updated_at = $2, "
                     "resolved_value = $3 WHERE alert_id = $1",
    "alert_ack": "UPDATE alerts SET acknowledged_at = $2 WHERE alert_id = $1",
    "voice": "INSERT INTO voice_events (time, voice, kind, trigger, reason, intensity) "
             "VALUES ($1, $2, $3, $4, $5, $6)",
    "recovery": "INSERT INTO recovery_actions (time, action, trigger, metric, value) "
                "VALUES ($1, $2, $3, $4, $5)",
    "seam": "INSERT INTO seam_transitions (time, from_state, to_state, seam_type, intensity) "
            "VALUES ($1, $2, $3, $4, $5)",
}


def ms_to_dt(timestamp_ms: int) -> datetime:
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)


class EventStore:
    """Queue of (statement, args); flushed in order, retried while the database is down."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._queue: asyncio.Queue[tuple[str, tuple[Any, ...]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-store")

    def add(self, kind: str, *args: Any) -> None:
        self._queue.put_nowait((kind, args))

    def add_event(self, dashboard: str, seq: int, kind: str, channel: str, text: str,
                  timestamp_ms: int) -> None:
        self.add("event", dashboard, seq, kind, channel, text, ms_to_dt(timestamp_ms))

    async def flush_and_stop(self, timeout: float = 10.0) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._queue.join()
        except TimeoutError:
            log.error("%d derived rows not stored at shutdown (database down?)",
                      self._queue.qsize())
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < 5000:
                batch.append(self._queue.get_nowait())
            delay = 0.2
            while True:
                try:
                    await self._write(batch)
                    break
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
                        TimeoutError) as error:
                    log.warning("derived rows not stored yet (%s); retrying", error)
                    if self._conn is not None:
                        self._conn.terminate()
                        self._conn = None
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
            for _ in batch:
                self._queue.task_done()

    async def _write(self, batch: list[tuple[str, tuple[Any, ...]]]) -> None:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self._dsn, timeout=5)
        async with asyncio.timeout(10), self._conn.transaction():
            for kind, args in batch:
                await self._conn.execute(INSERTS[kind], *args)


async def load_state(pool: asyncpg.Pool) -> tuple[dict[str, float], dict[str, int]]:
    """Latest stored value of each metric, and the last event seq of each dashboard."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT DISTINCT ON (metric_name) metric_name, value FROM metrics "
            "ORDER BY metric_name, timestamp DESC")
        seqs = await conn.fetch("SELECT dashboard, max(seq) AS seq FROM events GROUP BY 1")
    return ({r["metric_name"]: r["value"] for r in rows},
            {r["dashboard"]: r["seq"] for r in seqs})


def dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))
