"""Fan-out: how long a server takes to push the events one message causes to many subscribers.

`run_fanout` opens ``subscribers`` connections and one producer, subscribes them all
(``plan.subscribe``, confirmed by a reply of type ``subscribed_type``), then sends the
producer's ``triggers`` one at a time. Each trigger's reply (``reply_type``, matched by
``id_field``) is its reference time; every event (a message whose type is in
``event_types``, told apart by ``key_field``, e.g. the server's ``seq``) that is first seen
while a trigger is the current one belongs to it. A trigger is done once its events
reached every subscriber: either ``events_per_trigger`` of them, or, when that is not
known, whatever events appeared by ``settle`` seconds after its reply. Only then is the
next one sent, so the events of two triggers never mix.

Latency of a delivery = its arrival at a subscriber − the arrival of the trigger's reply
at the producer. Arrivals are the kernel's receive timestamps of each socket (wsconn.py),
so the one thread reading a thousand connections does not add its own queueing to the
figure. A delivery that arrives before the reply counts as 0 and in
``arrived_before_ack``.

All connections live in one poll loop on the caller's thread, on the load generator's own
connection (wsconn.py: pings answered, heartbeats and other messages ignored).
"""

from __future__ import annotations

import select
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from operator import contains
from typing import Any

import orjson

from .config import ID_PLACEHOLDER, LoadConfig
from .histogram import Histogram
from .wsconn import RECV_BYTES, WsConnection, open_connection

NS = 1_000_000_000


@dataclass
class FanoutPlan:
    """What a fan-out run does; see the module. ``triggers`` are text templates whose
    ``{id}`` becomes the trigger's index; the first ``warmup`` of them bring the server to
    a known state and are not measured."""

    subscribers: int
    subscribe: str
    subscribed_type: str
    triggers: list[str]
    reply_type: str
    event_types: tuple[str, ...]
    key_field: str = "seq"
    id_field: str = "id"
    events_per_trigger: int | None = None
    settle: float = 0.3
    delivery_timeout: float = 10.0
    warmup: int = 0
    connect_concurrency: int = 50

    def __post_init__(self) -> None:
        if self.subscribers < 1:
            raise ValueError(f"subscribers must be at least 1, got {self.subscribers}")
        if not all(ID_PLACEHOLDER in t for t in self.triggers):
            raise ValueError(f"every trigger needs {ID_PLACEHOLDER}, to match its reply")
        if not 0 <= self.warmup < len(self.triggers):
            raise ValueError(f"warmup must leave a trigger to measure: {self.warmup} of "
                             f"{len(self.triggers)}")


@dataclass
class _State:
    plan: FanoutPlan
    current: int = -1                                         # index of the current trigger
    subscribed: int = 0
    replies: dict[str, int] = field(default_factory=dict)     # trigger id -> arrival ns
    owner: dict[str, int] = field(default_factory=dict)       # event key -> trigger
    keys_of: dict[int, list[str]] = field(default_factory=dict)
    delivered: dict[str, int] = field(default_factory=dict)   # event key -> subscribers
    arrivals: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        plan = self.plan
        self.markers = [f'"{t}"'.encode() for t in (*plan.event_types, plan.subscribed_type,
                                                    plan.reply_type)]

    def parse(self, data: bytes) -> dict[str, Any] | None:
        if not any(marker in data for marker in self.markers):
            return None  # heartbeats and the like: not parsed
        message = orjson.loads(data)
        return message if isinstance(message, dict) else None

    def event_key(self, message: dict[str, Any]) -> str | None:
        if message.get("type") not in self.plan.event_types:
            return None
        key = str(message.get(self.plan.key_field))
        if key not in self.owner:
            self.owner[key] = self.current
            self.keys_of.setdefault(self.current, []).append(key)
        return key

    def on_subscriber(self, data: bytes, now: int) -> None:
        message = self.parse(data)
        if message is None:
            return
        if message.get("type") == self.plan.subscribed_type:
            self.subscribed += 1
        elif (key := self.event_key(message)) is not None:
            self.delivered[key] = self.delivered.get(key, 0) + 1
            self.arrivals.append((key, now))

    def on_producer(self, data: bytes, now: int) -> None:
        message = self.parse(data)
        if message is None:
            return
        kind = message.get("type")
        if kind == self.plan.subscribed_type:
            self.subscribed += 1
        elif kind == self.plan.reply_type:
            self.replies.setdefault(str(message.get(self.plan.id_field)), now)
        else:
            self.event_key(message)  # the producer may see an event first: it names it

    def done(self, trigger: int, settle_until: int) -> bool:
        keys = self.keys_of.get(trigger, [])
        wanted = self.plan.events_per_trigger
        if wanted is not None and len(keys) < wanted:
            return False
        if wanted is None and time.monotonic_ns() < settle_until:
            return False
        return all(self.delivered.get(k, 0) >= self.plan.subscribers for k in keys)


class _Loop:
    """One epoll over every connection; reading hands each text to its connection's
    callback with the kernel's arrival time."""

    def __init__(self, conns: list[WsConnection],
                 callbacks: Sequence[Callable[[bytes, int], None]]) -> None:
        self.poller = select.epoll()
        self.by_fd: dict[int, tuple[WsConnection, Callable[[bytes, int], None]]] = {}
        self.buffer = memoryview(bytearray(RECV_BYTES))
        self.dropped = 0
        for conn, callback in zip(conns, callbacks, strict=True):
            self.by_fd[conn.fd] = (conn, callback)
            self.poller.register(conn.fd, select.EPOLLIN)
            if not conn.handle_buffered(callback, time.monotonic_ns()):
                self._drop(conn)

    def _drop(self, conn: WsConnection) -> None:
        self.by_fd.pop(conn.fd, None)
        self.poller.unregister(conn.fd)
        self.dropped += 1

    def until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Reads until ``condition()`` holds (True) or ``timeout`` s pass (False)."""
        deadline = time.monotonic() + timeout
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            events = self.poller.poll(min(left, 0.05))
            wall_offset = time.time_ns() - time.monotonic_ns()
            for fd, _ in events:
                entry = self.by_fd.get(fd)
                if entry is not None and not entry[0].read(self.buffer, entry[1],
                                                           time.monotonic_ns, wall_offset):
                    self._drop(entry[0])
            for conn, _ in self.by_fd.values():
                if conn.backlog:
                    conn.write()
        return True

    def close(self) -> None:
        self.poller.close()


def _open_all(target: LoadConfig, count: int, concurrency: int) -> list[WsConnection]:
    headers = target.handshake_headers()
    context = target.tls.context(target.url)

    def one(_: int) -> WsConnection | str:
        try:
            return open_connection(target.url, headers, target.connect_timeout, context,
                                   tls=target.tls, log_url=target.log_url)
        except Exception as error:
            return f"{type(error).__name__}: {error}"

    with ThreadPoolExecutor(max(1, min(concurrency, count))) as pool:
        opened = list(pool.map(one, range(count)))
    failures = [item for item in opened if isinstance(item, str)]
    conns = [item for item in opened if isinstance(item, WsConnection)]
    if failures:
        for conn in conns:
            conn.close()
        raise RuntimeError(f"{len(failures)} of {count} connections to {target.log_url} "
                           f"failed, e.g. {failures[0]}")
    return conns


def _median_ms(values: list[int]) -> float | None:
    return round(statistics.median(values) / 1e6, 3) if values else None


def run_fanout(target: LoadConfig, plan: FanoutPlan) -> dict[str, Any]:
    """Runs ``plan`` against ``target.url`` (its token, headers and TLS; its load settings
    are not used); returns the figures (see the module): ``latency_ms`` (a `Histogram`
    summary), ``deliveries`` / ``deliveries_expected``, ``events``, ``arrived_before_ack``,
    ``per_event_first_ms`` / ``per_event_last_ms`` (medians over the events of the time to
    the first and to the last subscriber), ``incomplete_triggers`` (events not delivered
    everywhere within ``delivery_timeout``), ``dropped_connections`` and
    ``window_monotonic_s`` (the measured triggers, CLOCK_MONOTONIC)."""
    conns = _open_all(target, plan.subscribers + 1, plan.connect_concurrency)
    producer = conns[0]
    state = _State(plan)
    loop = _Loop(conns, [state.on_producer] + [state.on_subscriber] * plan.subscribers)
    try:
        for conn in conns:
            conn.send_text(plan.subscribe.encode())
        if not loop.until(lambda: state.subscribed >= len(conns), plan.delivery_timeout):
            raise RuntimeError(f"only {state.subscribed} of {len(conns)} connections were "
                               f"subscribed within {plan.delivery_timeout:g} s")
        reply_at: dict[int, int] = {}
        incomplete = 0
        window_start = 0.0
        for index, template in enumerate(plan.triggers):
            if index == plan.warmup:
                window_start = time.monotonic()
            state.current = index
            ident = str(index)
            producer.send_text(template.replace(ID_PLACEHOLDER, ident).encode())
            if not loop.until(partial(contains, state.replies, ident), plan.delivery_timeout):
                raise RuntimeError(f"no {plan.reply_type!r} to trigger {index} within "
                                   f"{plan.delivery_timeout:g} s")
            reply_at[index] = state.replies[ident]
            settle_until = time.monotonic_ns() + int(plan.settle * NS)
            if not loop.until(partial(state.done, index, settle_until),
                              plan.delivery_timeout + plan.settle):
                incomplete += 1
        window_end = time.monotonic()
    finally:
        for conn in conns:
            conn.close()
        loop.close()
    return _figures(plan, state, reply_at, incomplete, loop.dropped, window_start, window_end)


def _figures(plan: FanoutPlan, state: _State, reply_at: dict[int, int], incomplete: int,
             dropped: int, window_start: float, window_end: float) -> dict[str, Any]:
    latency = Histogram()
    early = 0
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for key, arrived in state.arrivals:
        trigger = state.owner[key]
        if trigger < plan.warmup or trigger not in reply_at:
            continue
        delay = arrived - reply_at[trigger]
        early += delay < 0
        latency.record(max(0, delay) // 1000)
        first[key] = min(first.get(key, delay), delay)
        last[key] = max(last.get(key, delay), delay)
    events = sum(len(keys) for trigger, keys in state.keys_of.items() if trigger >= plan.warmup)
    return {"subscribers": plan.subscribers, "triggers": len(plan.triggers) - plan.warmup,
            "events": events, "deliveries_expected": events * plan.subscribers,
            "deliveries": latency.total, "arrived_before_ack": early,
            "latency_ms": latency.summary(),
            "per_event_first_ms": _median_ms(list(first.values())),
            "per_event_last_ms": _median_ms(list(last.values())),
            "incomplete_triggers": incomplete, "dropped_connections": dropped,
            "window_monotonic_s": [window_start, window_end]}
