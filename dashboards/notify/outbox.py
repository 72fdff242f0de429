"""The durable outbox: every notification is a row first, then a delivery with retries.

Two kinds of task share the table ``notification_outbox`` (schema.sql):

- the *recorder* applies, in order, what the application reported: an alert event becomes
  the rows of its escalation chain (policy.py), each with the time it is due; an
  acknowledgement or a resolve cancels the alert's pending cancellable rows;
- one *worker* per channel (Slack, e-mail) delivers due rows. It locks a row
  (``FOR UPDATE SKIP LOCKED``), sends it, and in the same transaction marks it delivered or
  schedules the next attempt with exponential backoff. A row stays pending until delivered,
  across restarts; a delivered row is never picked again.

At-least-once edge: if the process dies (or the database connection breaks) after the
receiver accepted a message but before the ``delivered`` mark commits, the row is still
pending and is sent again after the restart. E-mails carry one Message-ID per row, so such a
repeat is recognisable. The other window is the reverse: what the application reported in the
last few milliseconds before a crash and the recorder had not yet written is lost; a graceful
stop writes all of it first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import asyncpg

from ..config import Config
from ..observability import Observability
from ..slo import AlertEvent
from . import Notifier
from .policy import CHANNELS, Channel, Step, delay_s, parse_recipients, plan
from .render import email_message, slack_body
from .transport import DeliveryError, post_webhook, send_email

log = logging.getLogger(__name__)

OUTCOMES = ("sent", "failed", "cancelled", "suppressed")
SEND_TIMEOUT_S = 5.0
BACKOFF_FIRST_S = 0.25
BACKOFF_MAX_S = 30.0
POLL_S = 1.0  # a worker re-checks the table at least this often
MIN_WAIT_S = 0.02  # never spin: a due row may be locked for a moment by the recorder
DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)

SQL_INSERT = (
    "INSERT INTO notification_outbox (alert_ids, channel, role, step, priority, payload, "
    "cancellable, due_at, created_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9) "
    "RETURNING id")
# A P1 alert joins the group of its window: the pending, never attempted team message that
# is not yet due. It then goes out at the group's time, which is no later than its own.
SQL_JOIN_GROUP = (
    "UPDATE notification_outbox SET alert_ids = array_append(alert_ids, $1), "
    "payload = jsonb_set(payload, '{alerts}', (payload -> 'alerts') || $2::jsonb) "
    "WHERE id = (SELECT id FROM notification_outbox WHERE step = $3 AND status = 'pending' "
    "AND attempts = 0 AND due_at > $4 AND NOT ($1 = ANY (alert_ids)) ORDER BY due_at "
    "LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id")
SQL_CANCEL = (
    "UPDATE notification_outbox SET status = 'cancelled', finished_at = $2, last_error = $3 "
    "WHERE $1 = ANY (alert_ids) AND status = 'pending' AND cancellable RETURNING channel")
SQL_NEXT_DUE = (
    "SELECT id, payload, attempts FROM notification_outbox WHERE channel = $1 "
    "AND status = 'pending' AND due_at <= $2 ORDER BY due_at, id LIMIT 1 "
    "FOR UPDATE SKIP LOCKED")
SQL_DELIVERED = (
    "UPDATE notification_outbox SET status = 'delivered', attempts = $2, "
    "last_attempt_at = $3, finished_at = $3, last_error = NULL WHERE id = $1")
SQL_RETRY = (
    "UPDATE notification_outbox SET attempts = $2, last_attempt_at = $3, last_error = $4, "
    "due_at = $5 WHERE id = $1")
SQL_EARLIEST = ("SELECT min(due_at) FROM notification_outbox WHERE channel = $1 "
                "AND status = 'pending'")


def backoff_s(attempts: int) -> float:
    """Delay before the next attempt after ``attempts`` failed ones (jittered ±20 %)."""
    base = min(BACKOFF_FIRST_S * 2 ** (attempts - 1), BACKOFF_MAX_S)
    return base * random.uniform(0.8, 1.2)


def alert_record(event: AlertEvent, timestamp_ms: int) -> dict[str, Any]:
    return {"id": event.alert_id, "metric": event.metric, "value": event.value,
            "priority": event.priority, "level": event.level, "threshold": event.threshold,
            "bound": event.bound, "timestamp": timestamp_ms, "kind": event.kind}


class OutboxNotifier(Notifier):
    """Slack and e-mail notifications through the durable outbox."""

    def __init__(self, config: Config, obs: Observability | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._dsn = config.database_url
        self._webhook_url = config.slack_webhook_url
        self._smtp = (config.smtp_host, config.smtp_port)
        self._sender = config.alert_email_from
        self._recipients = parse_recipients(config.alert_email_to)
        self._scale = config.escalation_time_scale
        self._group_wait_s = config.p1_group_wait_s
        self._clock = clock
        self.channels: tuple[Channel, ...] = tuple(
            c for c in CHANNELS if (c == "slack" and self._webhook_url)
            or (c == "email" and config.smtp_host and self._recipients))
        self._counter = obs.notifications if obs is not None else None
        for channel in CHANNELS:
            for outcome in OUTCOMES:
                self._count(channel, outcome, 0)
        self._ops: asyncio.Queue[tuple[str, Any, int]] = asyncio.Queue()
        self._wake = {c: asyncio.Event() for c in self.channels}
        self._conns: dict[str, asyncpg.Connection] = {}
        self._recorder: asyncio.Task[None] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._stopping = False

    # -- the application's side --------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        try:  # connect now, so that the first alert does not wait for a connection
            await self._connection("recorder")
        except DB_ERRORS as error:
            log.warning("outbox: database not reachable yet (%s); will retry", error)
        self._recorder = asyncio.create_task(self._record_loop(), name="outbox-recorder")
        self._workers = [asyncio.create_task(self._work_loop(c), name=f"outbox-{c}")
                         for c in self.channels]
        log.info("notifications via the outbox", extra={
            "channels": list(self.channels), "escalation_time_scale": self._scale,
            "p1_group_wait_s": self._group_wait_s})

    async def stop(self, timeout: float = 10.0) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._ops.join()
        except TimeoutError:
            log.error("%d notification events not written to the outbox at shutdown",
                      self._ops.qsize())
        self._stopping = True
        for event in self._wake.values():
            event.set()
        # A worker finishes the send it is in (bounded by SEND_TIMEOUT_S) and its commit.
        _, pending = await asyncio.wait(self._workers, timeout=SEND_TIMEOUT_S + 3) \
            if self._workers else (set(), set())
        tasks = [*pending, *([self._recorder] if self._recorder else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for conn in self._conns.values():
            conn.terminate()
        self._conns.clear()

    def on_alert(self, event: AlertEvent, timestamp_ms: int) -> None:
        self._ops.put_nowait(("alert", event, timestamp_ms))

    def on_acknowledged(self, alert_id: str, timestamp_ms: int) -> None:
        self._ops.put_nowait(("ack", alert_id, timestamp_ms))

    # -- recording ---------------------------------------------------------------------------

    async def _record_loop(self) -> None:
        while True:
            op = await self._ops.get()
            delay = 0.2
            while True:
                try:
                    conn = await self._connection("recorder")
                    async with conn.transaction():
                        await self._record(conn, *op)
                    break
                except DB_ERRORS as error:
                    log.warning("outbox not written yet (%s); retrying", error)
                    self._drop_connection("recorder")
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                except Exception:  # a bug must not stop all notifications
                    log.exception("outbox: cannot record %s", op[0])
                    break
            self._ops.task_done()
            for event in self._wake.values():
                event.set()

    async def _record(self, conn: asyncpg.Connection, kind: str, subject: Any,
                      timestamp_ms: int) -> None:
        now = self._now()
        if kind == "ack":
            await self._cancel(conn, subject, now, "acknowledged")
            return
        event: AlertEvent = subject
        work = plan(event, self._group_wait_s)
        if work.cancel_pending:
            await self._cancel(conn, event.alert_id, now,
                               "resolved" if event.kind == "resolve"
                               else f"escalated to {event.priority}")
        if work.suppressed:
            log.info("alert %s %s: notifications suppressed by the cooldown",
                     event.alert_id, event.priority)
            for channel in CHANNELS:
                self._count(channel, "suppressed")
        alert = alert_record(event, timestamp_ms)
        for step in work.steps:
            await self._add_step(conn, step, alert, timestamp_ms / 1000, now)

    async def _add_step(self, conn: asyncpg.Connection, step: Step, alert: dict[str, Any],
                        event_s: float, now: datetime) -> None:
        if step.channel not in self.channels:
            log.debug("step %s skipped: channel %s is not configured", step.name, step.channel)
            return
        payload: dict[str, Any] = {"step": step.name, "role": step.role,
                                   "priority": alert["priority"], "alerts": [alert]}
        if step.channel == "email":
            recipients = self._recipients.get(step.role)
            if not recipients:
                log.warning("step %s skipped: ALERT_EMAIL_TO names nobody for %s",
                            step.name, step.role)
                return
            payload["recipients"] = recipients
        if step.grouped:
            joined = await conn.fetchval(SQL_JOIN_GROUP, alert["id"], json.dumps([alert]),
                                         step.name, now)
            if joined is not None:
                log.info("alert %s joins group notification %d", alert["id"], joined)
                return
        due = datetime.fromtimestamp(event_s + delay_s(step, self._scale), UTC)
        row_id = await conn.fetchval(SQL_INSERT, [alert["id"]], step.channel, step.role,
                                     step.name, alert["priority"], json.dumps(payload),
                                     step.cancellable, due, now)
        log.info("notification %d queued: %s %s to %s due %s", row_id, step.name,
                 step.channel, step.role, due.isoformat())

    async def _cancel(self, conn: asyncpg.Connection, alert_id: str, now: datetime,
                      reason: str) -> None:
        rows = await conn.fetch(SQL_CANCEL, alert_id, now, f"cancelled: {reason}")
        for row in rows:
            self._count(row["channel"], "cancelled")
        if rows:
            log.info("alert %s %s: %d pending escalation step(s) cancelled", alert_id,
                     reason, len(rows))

    # -- delivering --------------------------------------------------------------------------

    async def _work_loop(self, channel: Channel) -> None:
        wake = self._wake[channel]
        delay = 0.2
        while not self._stopping:
            wake.clear()
            try:
                conn = await self._connection(channel)
                if await self._deliver_one(conn, channel):
                    delay = 0.2
                    continue
                earliest = await conn.fetchval(SQL_EARLIEST, channel)
                delay = 0.2
            except DB_ERRORS as error:
                log.warning("outbox %s: database unavailable (%s)", channel, error)
                self._drop_connection(channel)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            wait = POLL_S
            if earliest is not None:
                wait = min(POLL_S, max(MIN_WAIT_S, earliest.timestamp() - self._clock()))
            try:
                async with asyncio.timeout(wait):
                    await wake.wait()
            except TimeoutError:
                pass

    async def _deliver_one(self, conn: asyncpg.Connection, channel: Channel) -> bool:
        async with conn.transaction():
            row = await conn.fetchrow(SQL_NEXT_DUE, channel, self._now())
            if row is None:
                return False
            attempts = row["attempts"] + 1
            payload = json.loads(row["payload"])
            try:
                await self._send(channel, row["id"], payload)
            except Exception as error:  # DeliveryError, or a bug: neither may lose the row
                if not isinstance(error, DeliveryError):
                    log.exception("notification %d: unexpected error", row["id"])
                retry_s = backoff_s(attempts)
                log.warning("notification %d (%s to %s) attempt %d failed: %s; retry in "
                            "%.2f s", row["id"], channel, payload["role"], attempts, error,
                            retry_s)
                now = self._now()
                await conn.execute(SQL_RETRY, row["id"], attempts, now, str(error)[:500],
                                   datetime.fromtimestamp(now.timestamp() + retry_s, UTC))
                self._count(channel, "failed")
                return True
            await conn.execute(SQL_DELIVERED, row["id"], attempts, self._now())
        self._count(channel, "sent")
        log.info("notification %d delivered: %s %s to %s (attempt %d)", row["id"],
                 payload["step"], channel, payload["role"], attempts)
        return True

    async def _send(self, channel: Channel, row_id: int, payload: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        if channel == "slack":
            await loop.run_in_executor(None, partial(
                post_webhook, self._webhook_url, slack_body(payload), SEND_TIMEOUT_S))
            return
        message = email_message(payload, self._sender, row_id)
        refused = await loop.run_in_executor(None, partial(
            send_email, self._smtp[0], self._smtp[1], message, SEND_TIMEOUT_S))
        if refused:
            log.warning("notification %d: the SMTP server refused %s", row_id, refused)

    # -- helpers -----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _count(self, channel: str, outcome: str, amount: int = 1) -> None:
        if self._counter is not None:
            self._counter.labels(channel, outcome).inc(amount)

    async def _connection(self, name: str) -> asyncpg.Connection:
        conn = self._conns.get(name)
        if conn is None or conn.is_closed():
            conn = self._conns[name] = await asyncpg.connect(self._dsn, timeout=5,
                                                             command_timeout=10)
        return conn

    def _drop_connection(self, name: str) -> None:
        conn = self._conns.pop(name, None)
        if conn is not None:
            conn.terminate()
