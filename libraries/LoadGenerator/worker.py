"""One worker of a load run: its share of the connections, its own fixed schedule.

A worker runs in a thread (``processes=0``) or in a process of its own, with a poll loop
of its own (see wsconn.py for why not asyncio). It opens its connections, reports
ready, waits for the common start time, then sends on an open-model schedule: message k
is due at ``start + k / rate`` whatever happened to the messages before it, so a slow
server cannot slow the generator down and hide its own latency (coordinated omission).
Each reply is matched to its message by id; latency is recorded from the intended send
time and from the actual one, and their difference (the schedule lag) too. Every second
the worker rolls a timeline entry and reports progress.

Timing: with a ``tick`` (default 10 ms) a message's intended time is the start of the
tick its exact time falls in; the worker sleeps until the next tick, sends everything
due, and reads every reply that arrived meanwhile, whose arrival time is the kernel's
receive time (wsconn.py), not the read's. One wake-up thus carries a tick's worth of
messages. With ``tick=0`` each message is sent at its own time and the worker wakes on
every reply (no bursts; ~20 % more CPU at the 9.1 load, bench/README.md).
"""

from __future__ import annotations

import select
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import orjson
from websockets.exceptions import InvalidStatus

from WebSocketLibrary.tlsoptions import sentence

from .config import ID_PLACEHOLDER, TIME_PLACEHOLDER, LoadConfig
from .histogram import Histogram
from .wsconn import RECV_BYTES, TlsError, WsConnection, open_connection, wall_offset

NS = 1_000_000_000
FOLD_AT = 128  # values kept per list before they are bucketed: each stall stays ~0.2 ms


class ConnectRefused(ConnectionError):
    """The server refused a connection on purpose (an HTTP status instead of the upgrade,
    or TLS that fails): every other connection would fail alike, so the run stops at once
    with this message instead of counting failures."""


def refusal(cfg: LoadConfig, error: BaseException) -> str | None:
    """The readable reason when ``error`` ends the run, else None (a failure to count)."""
    if isinstance(error, TlsError):
        return sentence(str(error))
    if isinstance(error, InvalidStatus):
        response = error.response
        body = (response.body or b"").decode("utf-8", errors="replace").strip()
        said = f": {body.splitlines()[0][:200]}" if body else ""
        return (f"{cfg.log_url} refused the WebSocket handshake with HTTP "
                f"{response.status_code} {response.reason_phrase}{said}")
    return None


class Control(Protocol):
    """How a worker talks to the run that started it (thread or process flavour)."""

    def send(self, kind: str, worker: int, data: Any) -> None: ...

    def wait_start(self, timeout: float) -> int | None: ...

    def stop_requested(self) -> bool: ...


class Worker:
    """The connections, schedule and recording of one worker."""

    def __init__(self, cfg: LoadConfig, index: int, control: Control) -> None:
        self.cfg = cfg
        self.index = index
        self.control = control
        self.conns: list[WsConnection] = []
        self.idle: list[WsConnection] = []  # cfg.idle_connections: read, never sent on
        self.by_fd: dict[int, WsConnection] = {}
        self.backlogged: set[WsConnection] = set()
        self.pending: dict[str, tuple[int, int]] = {}
        self.latency = Histogram()          # reply - intended send time (µs)
        self.service = Histogram()          # reply - actual send time
        self.lag = Histogram()              # actual - intended send time
        self.connect_time = Histogram()
        self.interval = Histogram()         # latency of this second's replies (timeline)
        self.intervals: list[Histogram] = []  # one per second
        # Values in µs not yet bucketed: the hot loop only appends, fold() buckets them in
        # batches of FOLD_AT. "counted" ones belong to messages due after the warm-up.
        self.second_latency: list[int] = []
        self.counted_latency: list[int] = []
        self.counted_service: list[int] = []
        self.counted_lag: list[int] = []
        self.second_latency_max = 0
        self.buffer = memoryview(bytearray(RECV_BYTES))  # every read lands here first
        self.wall_offset = 0                # time.time_ns() - time.monotonic_ns(), per wake
        self.timeline: list[dict[str, Any]] = []
        self.errors: dict[str, int] = {}
        # Counted replies whose arrival is the read time, not the kernel's, by reason.
        self.read_timed: dict[str, int] = {}
        self.scheduled = self.sent = self.acked = self.error_replies = self.send_failures = 0
        self.second_sent = self.second_acked = self.second_errored = 0
        self.second_lag_max = 0
        self.connect_failures = 0
        self.dropped = 0
        self.start_ns = 0
        self.last_ack = 0
        self.record_from = 0
        self.stopping = False
        self.reply_type = cfg.reply_type.encode()
        self.error_type = cfg.error_type.encode()

    def count_error(self, key: str) -> None:
        self.errors[key] = self.errors.get(key, 0) + 1

    # -- replies ------------------------------------------------------------------------

    def on_text(self, data: bytes | bytearray, now: int) -> None:
        if self.reply_type not in data and self.error_type not in data:
            return
        try:
            message = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if type(message) is not dict:
            return
        kind = message.get("type")
        cfg = self.cfg
        if kind not in (cfg.reply_type, cfg.error_type):
            return
        entry = self.pending.pop(str(message.get(cfg.id_field)), None)
        if entry is None:
            return
        intended, actual = entry
        if kind == cfg.reply_type:
            self.second_acked += 1
            from_intended = (now - intended) // 1000
            self.second_latency.append(from_intended)
            self.second_latency_max = max(self.second_latency_max, from_intended)
            if intended >= self.record_from:
                self.acked += 1
                self.last_ack = max(self.last_ack, now)
                self.counted_latency.append(from_intended)
                self.counted_service.append((now - actual) // 1000)
        else:
            self.second_errored += 1
            if intended >= self.record_from:
                self.error_replies += 1
                self.count_error(str(message.get("code", kind)))

    def read_ready(self, events: list[tuple[int, int]]) -> None:
        if not events:
            return
        self.wall_offset = wall_offset()
        for fd, _ in events:
            conn = self.by_fd.get(fd)
            acked = self.acked
            if conn is not None and not conn.read(self.buffer, self.on_text,
                                                  time.monotonic_ns, self.wall_offset):
                self.drop(conn)
            if conn is not None and conn.read_time_reason and self.acked > acked:
                reason = conn.read_time_reason
                self.read_timed[reason] = self.read_timed.get(reason, 0) + self.acked - acked

    def flush(self) -> None:
        for conn in list(self.backlogged):
            conn.write()
            if not conn.backlog:
                self.backlogged.discard(conn)

    def drop(self, conn: WsConnection) -> None:
        self.by_fd.pop(conn.fd, None)
        self.poller.unregister(conn.fd)
        self.dropped += 1

    # -- connections --------------------------------------------------------------------

    def open(self, count: int, idle: int = 0) -> None:
        cfg = self.cfg
        headers = cfg.handshake_headers()  # the token's Authorization included
        context = cfg.tls.context(cfg.url)  # each worker process builds its own
        refused: list[str] = []

        def one(_: int) -> tuple[WsConnection, int] | str | None:
            if refused:
                return None  # the run stops: no point in being refused again
            began = time.monotonic_ns()
            try:
                conn = open_connection(cfg.url, headers, cfg.connect_timeout, context,
                                       tls=cfg.tls, log_url=cfg.log_url)
            except Exception as error:
                reason = refusal(cfg, error)
                if reason is not None:
                    refused.append(reason)
                    return None
                return f"{type(error).__name__}: {error}"  # counted, the run goes on
            return conn, (time.monotonic_ns() - began) // 1000

        with ThreadPoolExecutor(max(1, min(cfg.connect_concurrency, count + idle))) as pool:
            opened = list(pool.map(one, range(count + idle)))
        if refused:
            for item in opened:
                if isinstance(item, tuple):
                    item[0].close()
            raise ConnectRefused(refused[0])
        for index, item in enumerate(opened):
            if item is None:
                continue
            if isinstance(item, str):
                self.connect_failures += 1
                self.count_error(f"connect: {item}"[:120])
            else:
                (self.conns if index < count else self.idle).append(item[0])
                self.connect_time.record(item[1])
        self.poller = select.epoll()
        for conn in [*self.conns, *self.idle]:
            self.by_fd[conn.fd] = conn
            self.poller.register(conn.fd, select.EPOLLIN)
            if not conn.handle_buffered(self.on_text, time.monotonic_ns()):
                self.drop(conn)

    # -- the schedule -------------------------------------------------------------------

    def loop(self) -> None:  # noqa: PLR0915 - the hot loop, inlined on purpose
        cfg, conns, pending = self.cfg, self.conns, self.pending
        count = len(conns)
        workers = cfg.workers
        step = NS / (count * cfg.rate)
        offset = int(step * self.index / workers)  # workers interleave their messages
        tick = int(cfg.tick * NS)
        start = self.start_ns
        end = start + int(cfg.duration * NS)

        def due(k: int) -> int:
            exact = offset + int(k * step)
            return start + (exact - exact % tick if tick else exact)

        parts = [part.encode() for part in cfg.message.split(ID_PLACEHOLDER)]
        stamp = TIME_PLACEHOLDER.encode() if TIME_PLACEHOLDER in cfg.message else None
        monotonic_ns, poll, sleep = time.monotonic_ns, self.poller.poll, time.sleep
        counted_lag = self.counted_lag
        k = 0
        intended = due(0)
        sending = True
        drain_deadline = 0
        next_roll = start + NS
        next_tick = start
        second = 0
        while True:
            now = monotonic_ns()
            while sending and intended <= now:
                if intended >= end or self.stopping:
                    sending = False
                    drain_deadline = now + int(cfg.drain_timeout * NS)
                    break
                ident = str(k * workers + self.index)
                data = ident.encode().join(parts)
                if stamp:
                    data = data.replace(stamp, str(time.time_ns() // 1_000_000).encode())
                conn = conns[k % count]
                self.scheduled += 1
                actual = monotonic_ns()
                if conn.closed:
                    failed = "ConnectionClosed"
                else:
                    pending[ident] = (intended, actual)
                    try:
                        conn.send_text(data)
                        failed = ""
                        if conn.backlog:
                            self.backlogged.add(conn)
                    except Exception as error:  # a closing connection: count, go on
                        pending.pop(ident, None)
                        failed = type(error).__name__
                if failed:
                    self.second_errored += 1
                    if intended >= self.record_from:
                        self.send_failures += 1
                        self.count_error(f"send: {failed}")
                else:
                    self.second_sent += 1
                    lag_us = (actual - intended) // 1000
                    self.second_lag_max = max(self.second_lag_max, lag_us)
                    if intended >= self.record_from:
                        self.sent += 1
                        counted_lag.append(lag_us)
                k += 1
                intended = due(k)
            self.read_ready(poll(0))
            if self.backlogged:
                self.flush()
            if len(self.second_latency) >= FOLD_AT or len(counted_lag) >= FOLD_AT:
                self.fold()
            now = monotonic_ns()
            if now >= next_roll:
                self.roll(second)
                second += 1
                next_roll += NS
                if self.control.stop_requested():
                    self.stopping = True
            if not sending and (not pending or now >= drain_deadline or self.stopping):
                break
            wake = min(intended if sending else drain_deadline, next_roll)
            if tick:
                # Once per tick: replies wait in their sockets, stamped by the kernel.
                while next_tick <= now:
                    next_tick += tick
                wake = min(wake, next_tick)
                if wake > now:
                    sleep((wake - now) / NS)
            elif wake > now:
                # Wake on any reply's arrival; whole milliseconds from epoll, the rest slept.
                whole_ms = (wake - now) // 1_000_000
                if whole_ms:
                    self.read_ready(poll(whole_ms / 1000))
                else:
                    sleep((wake - now) / NS)

    def fold(self) -> None:
        """Buckets the values gathered since the last fold."""
        for histogram, values in ((self.interval, self.second_latency),
                                  (self.latency, self.counted_latency),
                                  (self.service, self.counted_service),
                                  (self.lag, self.counted_lag)):
            histogram.record_many(values)
            values.clear()

    def roll(self, second: int) -> None:
        # Cheap on purpose (it runs inside the schedule): the second's histogram is kept
        # as it is and summarised after the run.
        self.fold()
        self.intervals.append(self.interval)
        self.interval = Histogram()
        entry = {"second": second, "sent": self.second_sent, "acknowledged": self.second_acked,
                 "errored": self.second_errored, "lag_max_ms": round(self.second_lag_max / 1000, 3)}
        self.timeline.append(entry)
        self.control.send("second", self.index, {
            "second": second, "sent": entry["sent"], "acknowledged": entry["acknowledged"],
            "errored": entry["errored"], "pending": len(self.pending),
            "max_ms": self.second_latency_max / 1000})
        self.second_sent = self.second_acked = self.second_errored = 0
        self.second_lag_max = self.second_latency_max = 0

    # -- the run ------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        cfg = self.cfg
        cpu_clock = time.thread_time if cfg.processes == 0 else time.process_time
        cpu_began = cpu_clock()
        self.open(cfg.share(self.index), cfg.idle_share(self.index))
        self.control.send("ready", self.index, {"connections": len(self.conns),
                                                "connect_failures": self.connect_failures})
        start = self.control.wait_start(600.0)
        if start is None or not self.conns:
            self.stopping = True
            start = time.monotonic_ns()
        self.start_ns = start
        self.record_from = start + int(cfg.warmup * NS)
        began = time.monotonic_ns()
        try:
            if self.conns:
                while time.monotonic_ns() < start:
                    time.sleep(max(0, start - time.monotonic_ns()) / NS)
                self.loop()
        finally:
            elapsed = (time.monotonic_ns() - began) / NS
            if self.second_sent or self.second_acked or self.second_errored:
                self.roll(len(self.timeline))
            for conn in [*self.conns, *self.idle]:
                conn.close()
            self.poller.close()
        lost = sum(1 for intended, _ in self.pending.values() if intended >= self.record_from)
        for entry, histogram in zip(self.timeline, self.intervals, strict=True):
            entry["histogram"] = histogram.to_data()
        cpu = cpu_clock() - cpu_began
        return {"worker": self.index, "connections": len(self.conns),
                "idle_connections": len(self.idle),
                "connect_failures": self.connect_failures, "dropped": self.dropped,
                "scheduled": self.scheduled, "sent": self.sent, "acknowledged": self.acked,
                "error_replies": self.error_replies, "send_failures": self.send_failures,
                "lost": lost, "errors": self.errors, "stopped": self.stopping,
                "read_timed": self.read_timed,
                "latency": self.latency.to_data(), "service": self.service.to_data(),
                "lag": self.lag.to_data(), "connect": self.connect_time.to_data(),
                "timeline": self.timeline, "elapsed_s": elapsed, "cpu_s": cpu,
                "last_ack_s": max(0, self.last_ack - self.start_ns) / NS if self.last_ack else 0.0}


def run_worker(cfg: LoadConfig, index: int, control: Control) -> None:
    """Runs one worker to its end; reports its result, or its failure, to the run."""
    try:
        result = Worker(cfg, index, control).run()
    except ConnectRefused as error:  # says it all: no traceback
        control.send("failed", index, str(error))
        return
    except BaseException as error:  # reported to the run, which fails with it
        control.send("failed", index, f"{type(error).__name__}: {error}\n"
                                      f"{traceback.format_exc()}")
        return
    control.send("result", index, result)
