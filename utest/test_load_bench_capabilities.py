"""What LoadGenerator gained for bench/bench_reference_system.py, against real servers:
idle connections during a run, stepping the rate up, connect timing, event fan-out."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from echo_server_support import (  # noqa: F401  (fixtures)
    METRICS,
    echo_fixture,
    slow_echo_fixture,
)
from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed
from ws_server import serving

from LoadGenerator.config import LoadConfig
from LoadGenerator.connects import run_connects
from LoadGenerator.fanout import FanoutPlan, run_fanout
from LoadGenerator.runner import run_load
from LoadGenerator.stepping import find_sustained_rate, step_held


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def config(url: str, **overrides: Any) -> LoadConfig:
    options: dict[str, Any] = {"connections": 2, "rate": 25.0, "duration": 1.0,
                               "message": METRICS, "reply_type": "metrics_received",
                               "processes": 0, "drain_timeout": 2.0}
    options.update(overrides)
    return LoadConfig(url=url, **options)


# -- idle connections -----------------------------------------------------------------------

def test_idle_connections_are_split_between_workers_like_the_others() -> None:
    cfg = LoadConfig(url="ws://127.0.0.1:1", connections=4, idle_connections=5, processes=2)
    assert [cfg.idle_share(w) for w in range(cfg.workers)] == [3, 2]
    with pytest.raises(ValueError, match="idle_connections"):
        LoadConfig(url="ws://127.0.0.1:1", idle_connections=-1)


@pytest.mark.parametrize("processes", [0, 2])
def test_idle_connections_stay_open_send_nothing_and_answer_pings(processes: int) -> None:
    lock = threading.Lock()
    ended: list[tuple[bool, int]] = []  # per connection: ping answered, messages received

    async def handler(ws: ServerConnection) -> None:
        received = 0
        answered = False
        try:
            await asyncio.wait_for(await ws.ping(), 10)
            answered = True
            async for text in ws:
                received += 1
                ident = json.loads(text)["id"]
                await ws.send(json.dumps({"type": "metrics_received", "id": ident}))
        except ConnectionClosed:
            pass
        finally:
            with lock:
                ended.append((answered, received))

    with serving(handler, ping_interval=None) as url:
        result = run_load(config(url, idle_connections=3, processes=processes))
        wait_until(lambda: len(ended) == 5)
    assert result["connections_open"] == 2
    assert result["idle_connections_open"] == 3
    assert result["acknowledged"] == result["expected"] == 50
    assert all(answered for answered, _ in ended)
    assert sorted(received for _, received in ended) == [0, 0, 0, 25, 25]


def test_the_command_line_opens_idle_connections(echo: str) -> None:
    done = subprocess.run([sys.executable, "-m", "LoadGenerator", echo, "-c", "1", "-r", "10",
                           "-d", "1", "-p", "0", "-m", METRICS, "--reply-type",
                           "metrics_received", "--idle-connections", "2"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["idle_connections_open"] == 2
    assert result["acknowledged"] == 10


# -- stepping the rate up -------------------------------------------------------------------

def test_the_rate_steps_up_to_the_ceiling_while_every_step_holds(echo: str) -> None:
    seen: list[float] = []
    result = find_sustained_rate(config(echo), 20, 20, 60, p99_limit_ms=60_000, pause=0,
                                 on_step=lambda step: seen.append(step["offered_rate"]))
    assert seen == [20, 40, 60]
    assert [s["held"] for s in result["steps"]] == [True, True, True]
    assert result["sustained_rate"] == 60
    assert [s["rate_per_connection"] for s in result["steps"]] == [10, 20, 30]
    assert all(s["acknowledged"] == s["expected"] for s in result["steps"])
    assert all(s["start_monotonic_s"] > 0 for s in result["steps"])


def test_a_step_over_the_latency_limit_is_retried_once_then_ends_the_search(
        slow_echo: str) -> None:
    # Every reply is held back 150 ms: over a 100 ms limit whatever the machine's speed.
    result = find_sustained_rate(config(slow_echo), 20, 20, 100, p99_limit_ms=100, pause=0)
    assert [(s["offered_rate"], s["attempt"], s["held"]) for s in result["steps"]] == [
        (20, 1, False), (20, 2, False)]
    assert result["sustained_rate"] == 0
    once = find_sustained_rate(config(slow_echo), 20, 20, 100, p99_limit_ms=100, pause=0,
                               retry=False)
    assert len(once["steps"]) == 1


def test_a_step_with_a_lost_or_errored_message_does_not_hold() -> None:
    good = {"lost": 0, "errored": 0, "connect_failures": 0, "dropped_connections": 0,
            "acknowledged": 100, "sent": 100, "latency_ms": {"p99": 5.0}}
    assert step_held(good, 10)
    assert not step_held(good, 4)
    for key, value in (("lost", 1), ("errored", 1), ("acknowledged", 99), ("sent", 0),
                       ("dropped_connections", 1), ("connect_failures", 1)):
        assert not step_held({**good, key: value}, 10), key


# -- connect timing -------------------------------------------------------------------------

def welcome_server(delay: float, peak: list[int], welcome: bool = True,
                   ) -> Callable[[ServerConnection], Any]:
    open_now = [0]

    async def handler(ws: ServerConnection) -> None:
        open_now[0] += 1
        peak[0] = max(peak[0], open_now[0])
        try:
            await asyncio.sleep(delay)  # the server's own slowness, part of what is timed
            if welcome:
                await ws.send('{"type":"heartbeat"}')
                await ws.send('{"type":"welcome"}')
            else:
                await ws.close(1011)
            await ws.wait_closed()
        finally:
            open_now[0] -= 1

    return handler


def test_connect_time_runs_to_the_welcome_and_all_stay_open_until_the_last() -> None:
    peak = [0]
    with serving(welcome_server(0.2, peak)) as url:
        result = run_connects(LoadConfig(url=url), 4, concurrency=1)
        peak_of_the_four = peak[0]
        handshake_only = run_connects(LoadConfig(url=url), 2, concurrency=2, until_type=None)
    assert result["opened"] == 4 and result["failures"] == 0
    assert result["connect_ms"]["count"] == 4
    assert result["connect_ms"]["min"] >= 200  # the welcome came 200 ms after the upgrade
    assert peak_of_the_four == 4  # one after another, and all four open at the end
    assert handshake_only["opened"] == 2 and handshake_only["connect_ms"]["count"] == 2


def test_a_connection_closed_before_its_welcome_is_a_failure_with_its_reason() -> None:
    with serving(welcome_server(0.0, [0], welcome=False)) as url:
        result = run_connects(LoadConfig(url=url, connect_timeout=5), 3, concurrency=3)
    assert result["opened"] == 0 and result["failures"] == 3
    assert result["connect_ms"]["count"] == 0
    [(reason, count)] = result["errors"].items()
    assert count == 3 and "close code 1011" in reason


# -- fan-out --------------------------------------------------------------------------------

def fanout_server(events: int, events_first: bool = False,
                  delay: float = 0.0) -> Callable[[ServerConnection], Any]:
    """Subscribe -> subscribed; metrics -> its ack and ``events`` slo_alerts to every
    subscriber (the producer too), numbered by seq; a heartbeat among them."""
    subscribed: set[ServerConnection] = set()
    seq = itertools.count(1)

    async def handler(ws: ServerConnection) -> None:
        try:
            async for text in ws:
                message = json.loads(text)
                if message["type"] == "subscribe":
                    subscribed.add(ws)
                    await ws.send('{"type":"subscribed","channels":["alerts"]}')
                    continue
                ack = json.dumps({"type": "metrics_received", "id": message["id"]})
                alerts = [json.dumps({"type": "slo_alert", "seq": next(seq)})
                          for _ in range(events)]
                if not events_first:
                    await ws.send(ack)
                await asyncio.sleep(delay)  # the server's own delay, part of what is timed
                broadcast(subscribed, '{"type":"heartbeat"}')
                for alert in alerts:
                    broadcast(subscribed, alert)
                if events_first:
                    await ws.send(ack)
        except ConnectionClosed:
            pass
        finally:
            subscribed.discard(ws)

    return handler


def plan(**overrides: Any) -> FanoutPlan:
    options: dict[str, Any] = {
        "subscribers": 20, "subscribe": '{"type":"subscribe","channels":["alerts"]}',
        "subscribed_type": "subscribed",
        "triggers": ['{"type":"metrics","id":{id},"data":{"clarity":0.9}}'] * 4,
        "reply_type": "metrics_received", "event_types": ("slo_alert",), "warmup": 1,
        "delivery_timeout": 10.0}
    options.update(overrides)
    return FanoutPlan(**options)


def test_every_event_of_every_measured_trigger_reaches_every_subscriber_timed_from_the_ack(
        ) -> None:
    with serving(fanout_server(2, delay=0.1)) as url:
        result = run_fanout(LoadConfig(url=url), plan(events_per_trigger=2))
    assert result["triggers"] == 3
    assert result["events"] == 6  # the warm-up trigger's two are not counted
    assert result["deliveries"] == result["deliveries_expected"] == 6 * 20
    assert result["latency_ms"]["count"] == 120
    assert result["latency_ms"]["min"] >= 100  # the events left 100 ms after the ack
    assert result["arrived_before_ack"] == 0
    assert result["per_event_first_ms"] <= result["per_event_last_ms"]
    assert result["incomplete_triggers"] == 0 and result["dropped_connections"] == 0
    start, end = result["window_monotonic_s"]
    assert 0 < start < end


def test_without_a_known_event_count_a_trigger_owns_what_appears_before_it_settles() -> None:
    # Events before the ack, on the producer's own connection too: known when it arrives.
    with serving(fanout_server(3, events_first=True)) as url:
        result = run_fanout(LoadConfig(url=url), plan(settle=0.0))
    assert result["events"] == 9
    assert result["deliveries"] == result["deliveries_expected"] == 9 * 20
    assert result["incomplete_triggers"] == 0


def test_a_trigger_without_a_reply_ends_the_run_saying_so() -> None:
    with serving(fanout_server(1)) as url, pytest.raises(RuntimeError, match="no 'nope'"):
        run_fanout(LoadConfig(url=url), plan(reply_type="nope", delivery_timeout=1.0))


def test_a_plan_must_match_replies_and_leave_a_trigger_to_measure() -> None:
    with pytest.raises(ValueError, match="id"):
        plan(triggers=['{"type":"metrics"}'])
    with pytest.raises(ValueError, match="warmup"):
        plan(warmup=4)
