"""The load process of bench_reference_system.py: one scenario, measured, written as JSON.

Runs in its own process (``bench_reference_system.py --role load``), with uvloop and the
websockets client, compression off. Load follows a fixed, open-model schedule: message k
is due at ``start + k / rate`` whatever happened to earlier messages, so a slow server
cannot slow the generator down and hide its own latency (coordinated omission). Latency is
recorded from the intended send time and from the actual send time; the difference is the
generator's schedule lag, reported too. All times are ``time.monotonic()`` (CLOCK_MONOTONIC,
one clock for every process on the machine), so the orchestrator can line its resource
samples up with the measurement window reported here.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import uvloop
from hdrh.histogram import HdrHistogram
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

CENTRES = {"clarity": 0.8, "chaos": 0.45, "trust": 0.75, "pain": 0.35}  # inside the OK bands
DRAIN_S = 5.0          # how long to wait for the replies still owed after a run
CONNECT_BATCH = 50     # concurrent handshakes while opening many connections
EVENT_TYPES = frozenset({"slo_alert", "alert_resolved", "recovery_action"})


# -- histograms ----------------------------------------------------------------------------

class Latency:
    """An HdrHistogram in microseconds (1 µs .. 1 h, 3 significant digits)."""

    def __init__(self) -> None:
        self.hist = HdrHistogram(1, 3_600_000_000, 3)

    def record(self, seconds: float) -> None:
        self.hist.record_value(max(1, round(seconds * 1e6)))

    def summary(self) -> dict[str, float | int]:
        h = self.hist
        if h.get_total_count() == 0:
            return {"count": 0}

        def ms(value: float) -> float:
            return round(value / 1000, 3)

        return {"count": h.get_total_count(), "p50_ms": ms(h.get_value_at_percentile(50)),
                "p90_ms": ms(h.get_value_at_percentile(90)),
                "p99_ms": ms(h.get_value_at_percentile(99)),
                "p999_ms": ms(h.get_value_at_percentile(99.9)),
                "max_ms": ms(h.get_max_value()), "mean_ms": ms(h.get_mean_value())}


async def wait_until(done: Callable[[], bool], timeout: float, poll: float = 0.005) -> bool:
    """Poll ``done`` until it holds or ``timeout`` s pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if done() or time.monotonic() >= deadline:
            return done()
        await asyncio.sleep(poll)


# -- connections ---------------------------------------------------------------------------

async def open_client(url: str) -> tuple[ClientConnection, float]:
    """Connect and read the welcome; return the connection and connect+welcome seconds."""
    start = time.monotonic()
    ws = await connect(url, compression=None, proxy=None, max_size=None, ping_interval=None,
                       open_timeout=30, close_timeout=2)
    welcome = json.loads(await ws.recv())
    elapsed = time.monotonic() - start
    if welcome.get("type") != "welcome":
        raise RuntimeError(f"expected welcome, got {welcome}")
    return ws, elapsed


async def open_many(url: str, count: int) -> list[ClientConnection]:
    conns: list[ClientConnection] = []
    for first in range(0, count, CONNECT_BATCH):
        batch = range(first, min(count, first + CONNECT_BATCH))
        conns += [ws for ws, _ in await asyncio.gather(*(open_client(url) for _ in batch))]
    return conns


async def close_all(conns: list[ClientConnection]) -> None:
    await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)


# -- request/reply under a fixed schedule --------------------------------------------------

_DATA = [json.dumps({m: round(c + random.Random(i * 4 + j).uniform(-0.05, 0.05), 4)
                     for j, (m, c) in enumerate(CENTRES.items())}, separators=(",", ":"))
         for i in range(64)]


def metrics_frame(n: int) -> str:
    return f'{{"type":"metrics","id":{n},"data":{_DATA[n % len(_DATA)]}}}'


def ping_frame(n: int) -> str:
    return f'{{"type":"ping","id":{n},"timestamp":{n}}}'


@dataclass
class Window:
    """Latency of the replies to messages intended within [start, end)."""

    start: float
    end: float
    from_intended: Latency = field(default_factory=Latency)
    from_actual: Latency = field(default_factory=Latency)
    lag: Latency = field(default_factory=Latency)
    sent: int = 0
    replied: int = 0
    unanswered: int = 0
    errors: int = 0
    last_reply: float = 0.0
    worst_per_second: dict[int, float] = field(default_factory=dict)

    def record(self, intended: float, actual: float, now: float) -> None:
        self.replied += 1
        self.last_reply = now
        self.from_intended.record(now - intended)
        self.from_actual.record(now - actual)
        second = int(intended - self.start)
        worst = self.worst_per_second.get(second, 0.0)
        self.worst_per_second[second] = max(worst, now - intended)

    def result(self, rate: float) -> dict[str, Any]:
        duration = self.end - self.start
        return {"offered_rate": rate, "window_s": round(duration, 3), "sent": self.sent,
                "replied": self.replied, "unanswered": self.unanswered, "errors": self.errors,
                "replied_per_s": round(self.replied / duration, 1),
                "latency_from_intended": self.from_intended.summary(),
                "latency_from_actual": self.from_actual.summary(),
                "schedule_lag": self.lag.summary(),
                "worst_ms_per_second": [round(1000 * self.worst_per_second.get(i, 0.0), 1)
                                        for i in range(round(duration))]}


class Collector:
    """Matches replies of ``reply_type`` to the messages they answer (by ``id``)."""

    def __init__(self, reply_type: str) -> None:
        self.marker = f'"{reply_type}"'
        self.pending: dict[int, tuple[float, float]] = {}
        self.window = Window(0.0, 0.0)

    def sent(self, n: int, intended: float, actual: float) -> None:
        self.pending[n] = (intended, actual)
        if self.window.start <= intended < self.window.end:
            self.window.sent += 1
            self.window.lag.record(actual - intended)

    def on_frame(self, text: str | bytes, now: float) -> None:
        if isinstance(text, bytes) or self.marker not in text:
            if isinstance(text, str) and '"type":"error"' in text:
                self.window.errors += 1
            return
        times = self.pending.pop(json.loads(text).get("id"), None)
        if times is None:
            return
        intended, actual = times
        if self.window.start <= intended < self.window.end:
            self.window.record(intended, actual, now)

    async def drain(self, timeout: float) -> None:
        """Wait for the replies owed in the window; count the missing ones as unanswered."""
        await wait_until(lambda: not self._owed(), timeout)
        now = time.monotonic()
        for n, (intended, _) in list(self.pending.items()):
            if self.window.start <= intended < self.window.end:
                self.window.unanswered += 1
                self.window.from_intended.record(now - intended)  # a lower bound
            del self.pending[n]

    def _owed(self) -> bool:
        return any(self.window.start <= i < self.window.end for i, _ in self.pending.values())


async def read_replies(ws: ClientConnection, collector: Collector) -> None:
    try:
        async for text in ws:
            collector.on_frame(text, time.monotonic())
    except ConnectionClosed:
        pass


async def drive(conns: list[ClientConnection], collector: Collector, frame: Callable[[int], str],
                rate: float, start: float, end: float, first_id: int) -> int:
    """Send on the fixed schedule ``start + k / rate`` until ``end``; return the next id."""
    interval, k, count = 1.0 / rate, 0, len(conns)
    while (intended := start + k * interval) < end:
        delay = intended - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        n = first_id + k
        collector.sent(n, intended, time.monotonic())
        await conns[n % count].send(frame(n))
        k += 1
    return first_id + k


async def timed_run(conns: list[ClientConnection], collector: Collector,
                    frame: Callable[[int], str], rate: float, warmup: float, duration: float,
                    first_id: int = 0) -> tuple[dict[str, Any], int]:
    """One rate: warm up, measure ``duration`` s, drain; return the window's figures."""
    start = time.monotonic() + 0.05
    collector.window = Window(start + warmup, start + warmup + duration)
    next_id = await drive(conns, collector, frame, rate, start, start + warmup + duration,
                          first_id)
    await collector.drain(DRAIN_S)
    result = collector.window.result(rate)
    result["window_monotonic"] = [collector.window.start, collector.window.end]
    return result, next_id


# -- scenarios -----------------------------------------------------------------------------

async def with_readers(url: str, count: int, reply_type: str,
                       body: Callable[[list[ClientConnection], Collector],
                                      Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    conns = await open_many(url, count)
    collector = Collector(reply_type)
    readers = [asyncio.create_task(read_replies(ws, collector)) for ws in conns]
    try:
        return await body(conns, collector)
    finally:
        await close_all(conns)
        for task in readers:
            task.cancel()


async def scenario_ack(cfg: dict[str, Any]) -> dict[str, Any]:
    """``connections`` producers, ``rate`` msg/s in all, one fixed schedule."""
    async def body(conns: list[ClientConnection], collector: Collector) -> dict[str, Any]:
        result, _ = await timed_run(conns, collector, metrics_frame, cfg["rate"],
                                    cfg["warmup"], cfg["duration"])
        return result

    return await with_readers(cfg["url"], cfg["connections"], "metrics_received", body)


async def scenario_throughput(cfg: dict[str, Any]) -> dict[str, Any]:
    """Step the offered rate up until p99 passes the limit or acks fall behind."""
    async def body(conns: list[ClientConnection], collector: Collector) -> dict[str, Any]:
        steps: list[dict[str, Any]] = []
        next_id, rate, retried = 0, float(cfg["start_rate"]), False
        while rate <= cfg["max_rate"]:
            step, next_id = await timed_run(conns, collector, metrics_frame, rate,
                                            cfg["warmup"], cfg["duration"], next_id)
            step["held"] = step_held(step, cfg["p99_limit_ms"])
            step["attempt"] = 2 if retried else 1
            steps.append(step)
            print(f"  step {rate:>7.0f} msg/s: acked {step['replied_per_s']:>8.1f}/s  "
                  f"p99 {step['latency_from_intended'].get('p99_ms')} ms  "
                  f"held={step['held']}", flush=True)
            await asyncio.sleep(2.0)  # let the server settle between steps
            if not step["held"] and (retried or not cfg["retry"]):
                break
            # A failed step is run once more: on a shared machine one burst of someone
            # else's work can sink a step. Both attempts are kept.
            retried = not step["held"] and not retried
            if not retried:
                rate += cfg["step"]
        held = [s["offered_rate"] for s in steps if s["held"]]
        return {"steps": steps, "sustained_rate": max(held, default=0.0),
                "window_monotonic": [steps[0]["window_monotonic"][0],
                                     steps[-1]["window_monotonic"][1]]}

    return await with_readers(cfg["url"], cfg["connections"], "metrics_received", body)


def step_held(step: dict[str, Any], p99_limit_ms: float) -> bool:
    """p99 (from the intended time) within the limit and every message of the window acked
    at (nearly) the offered rate."""
    p99 = step["latency_from_intended"].get("p99_ms", float("inf"))
    keeps_up = step["replied"] >= 0.99 * step["sent"] and step["unanswered"] == 0
    return bool(p99 <= p99_limit_ms and keeps_up and step["errors"] == 0)


async def scenario_ping(cfg: dict[str, Any]) -> dict[str, Any]:
    """Pings on one connection while ``idle`` other connections sit open."""
    idle = await open_many(cfg["url"], cfg["idle"])

    async def body(conns: list[ClientConnection], collector: Collector) -> dict[str, Any]:
        result, _ = await timed_run(conns, collector, ping_frame, cfg["rate"], cfg["warmup"],
                                    cfg["duration"])
        result["idle_connections"] = len(idle)
        return result

    try:
        return await with_readers(cfg["url"], 1, "pong", body)
    finally:
        await close_all(idle)


async def scenario_connect(cfg: dict[str, Any]) -> dict[str, Any]:
    """Connect + welcome: ``sequential`` one after another, then rounds of concurrent ones."""
    window_start = time.monotonic()
    await close_all([ws for ws, _ in [await open_client(cfg["url"]) for _ in range(10)]])
    sequential, concurrent = Latency(), Latency()
    opened: list[ClientConnection] = []
    for _ in range(cfg["sequential"]):
        ws, elapsed = await open_client(cfg["url"])
        sequential.record(elapsed)
        opened.append(ws)
    await close_all(opened)
    for _ in range(cfg["rounds"]):
        pairs = await asyncio.gather(*(open_client(cfg["url"])
                                       for _ in range(cfg["concurrent"])))
        for _, elapsed in pairs:
            concurrent.record(elapsed)
        await close_all([ws for ws, _ in pairs])
    return {"sequential": sequential.summary(), "concurrent": concurrent.summary(),
            "concurrent_batch": cfg["concurrent"],
            "window_monotonic": [window_start, time.monotonic()]}


@dataclass
class FanOut:
    """Arrival times of events at the subscribers, matched to the producer's acks by seq."""

    subscribers: int
    arrivals: list[tuple[int, float]] = field(default_factory=list)
    counts: dict[int, int] = field(default_factory=dict)
    producer_seqs: list[int] = field(default_factory=list)
    ack_at: dict[int, float] = field(default_factory=dict)

    def delivered(self, seqs: list[int]) -> bool:
        return all(self.counts.get(s, 0) >= self.subscribers for s in seqs)


class RawSubscriber(asyncio.Protocol):
    """A minimal WebSocket client for the 1000 subscribers: it stamps each read as it comes
    off the socket and parses frames by hand, so the harness adds as little as possible to
    the fan-out it measures (a full websockets client costs tens of µs per frame, and a
    thousand of them queue behind each other in one process)."""

    def __init__(self, host: str, port: int, sink: Callable[[int, float], None]) -> None:
        self.handshake = (f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        self.sink = sink
        self.buffer = b""
        self.upgraded = False
        self.transport: asyncio.Transport | None = None
        self.replies: asyncio.Queue[tuple[dict[str, Any], float]] = asyncio.Queue()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.handshake)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.buffer += data
        if not self.upgraded:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            if b" 101 " not in head.split(b"\r\n", 1)[0]:
                raise RuntimeError(f"handshake refused: {head[:200]!r}")
            self.upgraded, self.buffer = True, rest
        while (frame := self._next_frame()) is not None:
            self._on_frame(*frame, now)

    def _next_frame(self) -> tuple[int, bytes] | None:
        buf = self.buffer
        if len(buf) < 2:
            return None
        opcode, length, start = buf[0] & 0x0F, buf[1] & 0x7F, 2
        if length == 126:
            length, start = int.from_bytes(buf[2:4], "big"), 4
        elif length == 127:
            length, start = int.from_bytes(buf[2:10], "big"), 10
        if len(buf) < start + length:
            return None
        self.buffer = buf[start + length:]
        return opcode, buf[start:start + length]

    def _on_frame(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == 0x9:  # ping: answer, or the server closes us after 20 s
            self.send(payload, 0xA)
            return
        if opcode != 0x1 or payload.startswith(b'{"type":"heartbeat"'):
            return
        message = json.loads(payload)
        if message.get("type") in EVENT_TYPES:
            self.sink(message["seq"], now)
        else:
            self.replies.put_nowait((message, now))

    def send(self, payload: bytes, opcode: int = 0x1) -> None:
        """One masked frame (an all-zero mask: the payload goes as is)."""
        assert self.transport is not None and len(payload) < 126
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + bytes(4) + payload)

    async def subscribe(self, channel: str) -> None:
        self.send(json.dumps({"type": "subscribe", "channels": [channel]}).encode())
        while (await self.replies.get())[0].get("type") != "subscribed":
            pass

    async def request(self, message: dict[str, Any], reply_type: str) -> float:
        """Send ``message``; return when its reply came off the socket."""
        self.send(json.dumps(message, separators=(",", ":")).encode())
        while True:
            reply, at = await self.replies.get()
            if reply.get("type") == reply_type:
                return at


async def open_raw(url: str, sink: Callable[[int, float], None]) -> RawSubscriber:
    host, port = url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(
        lambda: RawSubscriber(host, int(port), sink), host, int(port))
    return protocol


async def flip(producer: RawSubscriber, fan: FanOut, n: int, clarity: float) -> list[int]:
    """Send one clarity value; return the seqs of the events it caused, once delivered."""
    seen = len(fan.producer_seqs)
    ack = await asyncio.wait_for(producer.request(
        {"type": "metrics", "id": n, "data": {"clarity": clarity}}, "metrics_received"), 10)
    # The server publishes a message's events right after its ack, in the same step.
    await asyncio.sleep(0.3)
    seqs = fan.producer_seqs[seen:]
    await wait_until(lambda: fan.delivered(seqs), 10)
    for seq in seqs:
        fan.ack_at[seq] = ack
    return seqs


async def scenario_fanout(cfg: dict[str, Any]) -> dict[str, Any]:
    """``subscribers`` connections on "alerts"; a producer flips clarity 0.95 <-> 0.8."""
    fan = FanOut(cfg["subscribers"])

    def sink(seq: int, now: float) -> None:
        fan.arrivals.append((seq, now))
        fan.counts[seq] = fan.counts.get(seq, 0) + 1

    subs: list[RawSubscriber] = []
    for first in range(0, cfg["subscribers"], CONNECT_BATCH):
        batch = range(first, min(cfg["subscribers"], first + CONNECT_BATCH))
        subs += await asyncio.gather(*(open_raw(cfg["url"], sink) for _ in batch))
    for first in range(0, len(subs), CONNECT_BATCH):
        await asyncio.gather(*(s.subscribe("alerts") for s in subs[first:first + 50]))
    producer = await open_raw(cfg["url"], lambda seq, _: fan.producer_seqs.append(seq))
    await producer.subscribe("alerts")
    try:
        return await measure_fanout(producer, fan, cfg["flips"])
    finally:
        for sub in [*subs, producer]:
            if sub.transport is not None:
                sub.transport.close()


async def measure_fanout(producer: RawSubscriber, fan: FanOut, flips: int) -> dict[str, Any]:
    await flip(producer, fan, 0, 0.8)  # start from the OK band
    fan.ack_at.clear()
    window_start = time.monotonic()
    events = 0
    for n in range(1, flips + 1):
        events += len(await flip(producer, fan, n, 0.95 if n % 2 else 0.8))
    latency, early = Latency(), 0
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    for seq, arrived in fan.arrivals:
        if seq in fan.ack_at:
            delay = arrived - fan.ack_at[seq]
            early += delay < 0
            latency.record(max(0.0, delay))
            first[seq] = min(first.get(seq, delay), delay)
            last[seq] = max(last.get(seq, delay), delay)
    expected = events * fan.subscribers
    return {"subscribers": fan.subscribers, "flips": flips, "events": events,
            "deliveries_expected": expected, "deliveries": latency.hist.get_total_count(),
            "arrived_before_ack": early, "latency_from_ack": latency.summary(),
            "per_event_first_ms": _median_ms(first.values()),
            "per_event_last_ms": _median_ms(last.values()),
            "window_monotonic": [window_start, time.monotonic()]}


def _median_ms(values: Iterable[float]) -> float | None:
    ordered = sorted(values)
    return round(1000 * ordered[len(ordered) // 2], 3) if ordered else None


SCENARIOS: dict[str, Callable[[dict[str, Any]], Coroutine[Any, Any, dict[str, Any]]]] = {
    "ack": scenario_ack, "throughput": scenario_throughput, "ping": scenario_ping,
    "connect": scenario_connect, "fanout": scenario_fanout}


def run_load(scenario: str, cfg: dict[str, Any], out: str) -> None:
    """Entry point of ``--role load``: run one scenario, write its JSON to ``out``."""
    started = time.process_time()
    result: dict[str, Any] = uvloop.run(SCENARIOS[scenario](cfg))
    result["load_process_cpu_s"] = round(time.process_time() - started, 3)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)


# -- the bare server: websockets + uvloop, no database, no application ----------------------

async def _bare_handler(ws: ServerConnection) -> None:
    await ws.send('{"type":"welcome","dashboard":"bare"}')
    try:
        async for text in ws:
            message = json.loads(text)
            reply = ({"type": "pong", "timestamp": message.get("timestamp")}
                     if message.get("type") == "ping" else
                     {"type": "metrics_received", "status": "ok",
                      "accepted": len(message.get("data", {})),
                      "timestamp": time.time_ns() // 1_000_000})
            reply["id"] = message.get("id")
            await ws.send(json.dumps(reply, separators=(",", ":")))
    except ConnectionClosed:
        pass


async def _bare_serve(port: int) -> None:
    async with serve(_bare_handler, "127.0.0.1", port, compression=None, max_size=None):
        print("ready", flush=True)
        await asyncio.get_running_loop().create_future()


def run_bare_server(port: int) -> None:
    """Entry point of ``--role bare-server``: the ceiling of the stack without the app."""
    uvloop.run(_bare_serve(port))
