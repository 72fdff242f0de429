"""Heartbeat monitors, round-trip measurements, and the pure logic behind them."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import pytest
from test_websocket_library_support import (  # noqa: F401  (fixtures)
    ZERO,
    connect,
    kw,
    server_url_fixture,
    sync,
    wslib_fixture,
)

from WebSocketLibrary import WebSocketLibrary
from WebSocketLibrary.filters import FrameFilter
from WebSocketLibrary.frames import Frame
from WebSocketLibrary.heartbeat import HeartbeatMonitor
from WebSocketLibrary.latency import summarise
from WebSocketLibrary.reconnect import ReconnectPolicy, ResumeTemplate
from WebSocketLibrary.sizes import parse_size

MS = 1_000_000
BEAT = {"type": "heartbeat"}


def ms(value: float) -> timedelta:
    return timedelta(milliseconds=value)


# -- heartbeats over a real connection -----------------------------------------------------

def test_heartbeats_on_time_are_healthy_while_other_keywords_run(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "start_heartbeat_monitor", BEAT, interval=ms(50), tolerance=ms(40),
       period=ms(400), consume=True)
    kw(wslib, "send_json", {"cmd": "heartbeat", "interval_ms": 50, "count": 12})
    sync(wslib)  # other keywords run meanwhile
    kw(wslib, "measure_round_trip", {"type": "ping", "id": 1}, {"type": "ping", "id": 1})

    stats = kw(wslib, "heartbeat_monitor_should_be_healthy", minimum_beats=5)

    assert stats["beats"] >= 5
    assert 10 <= stats["min_interval_ms"] <= stats["mean_interval_ms"] <= stats["max_interval_ms"]
    assert stats["observed_s"] == 0.4
    assert kw(wslib, "get_buffered_messages", BEAT) == []  # consumed by the monitor
    assert kw(wslib, "stop_heartbeat_monitor")["beats"] >= stats["beats"]


def test_missing_heartbeats_are_unhealthy(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "start_heartbeat_monitor", BEAT, interval=ms(30), tolerance=ms(25))
    kw(wslib, "send_json", {"cmd": "heartbeat", "interval_ms": 30, "count": 2})
    kw(wslib, "wait_for_messages", 2, BEAT)
    kw(wslib, "message_should_not_arrive", BEAT, within=ms(100), ignore_buffered=True)

    with pytest.raises(AssertionError, match=r"Heartbeats \{\"type\": \"heartbeat\"\} every 30 ms "
                                             r"± 25 ms on ws://.* are unhealthy: no beat for "
                                             r"[\d.]+ ms after beat 2\."):
        kw(wslib, "heartbeat_monitor_should_be_healthy")


def test_early_heartbeats_fail_before_the_period_ends(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "start_heartbeat_monitor", BEAT, interval=ms(500), tolerance=ms(100),
       period=timedelta(seconds=30), name="slow")
    kw(wslib, "send_json", {"cmd": "heartbeat", "interval_ms": 10, "count": 3})

    with pytest.raises(AssertionError, match=r"beat 2 came [\d.]+ ms after the previous one"):
        kw(wslib, "heartbeat_monitor_should_be_healthy", "slow")


def test_too_few_heartbeats_fail(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    kw(wslib, "start_heartbeat_monitor", BEAT, interval=timedelta(seconds=10), period=ZERO)

    with pytest.raises(AssertionError, match=r"Only 0 heartbeat\(s\) .* expected at least 1\."):
        kw(wslib, "heartbeat_monitor_should_be_healthy")


def test_an_unknown_monitor_is_reported(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    with pytest.raises(RuntimeError, match="No heartbeat monitor 'nope'"):
        kw(wslib, "heartbeat_monitor_should_be_healthy", "nope")


# -- round trips ---------------------------------------------------------------------------

def test_measure_round_trips_closed_loop(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)

    result = kw(wslib, "measure_round_trips", {"type": "ping"}, count=50, id_field="id",
                reply_template={"type": "ping"})

    assert result["count"] == 50
    assert result["lost"] == 0
    assert 0 < result["min"] <= result["p50"] <= result["p95"] <= result["p99"] <= result["max"]
    sync(wslib)
    assert kw(wslib, "get_buffered_messages") == []  # the replies were not left behind


def test_measure_round_trips_on_a_schedule(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)

    result = kw(wslib, "measure_round_trips", '{"type": "ping"}', count=40, rate=400)

    assert result["count"] == 40
    assert result["schedule_lag_max"] >= result["schedule_lag_p99"] >= 0


def test_measure_round_trips_fails_when_replies_are_lost(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)

    with pytest.raises(AssertionError, match=r"^2 of 2 replies \(matched by id\) did not arrive "
                                             r"within 0\.1 s"):
        # A command the server answers late and without the id: no reply by id comes.
        kw(wslib, "measure_round_trips", {"cmd": "later", "delay_ms": 5000}, count=2,
           reply_template={"type": "pong"}, timeout=ms(100))


def test_measure_round_trips_fails_at_once_on_a_reply_that_does_not_match(
        wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url, alias="echo")
    started = time.monotonic()
    # The server echoes the ping with its id: a reply by id, but not a pong.
    with pytest.raises(AssertionError, match=(
            r"^The reply to request id=\d+ on 'echo' \(ws://[^)]+\) does not match "
            r'\{"type": "pong"\}: \$\.type: expected \'pong\', got \'ping\'\n'
            r'  reply: \{"type":"ping","id":\d+\}$')):
        kw(wslib, "measure_round_trips", {"type": "ping"}, count=200,
           reply_template={"type": "pong"}, timeout=timedelta(seconds=3))
    assert time.monotonic() - started < 3  # not 200 x 3 s, nor even one timeout


def test_measure_round_trips_needs_an_object(wslib: WebSocketLibrary, server_url: str) -> None:
    connect(wslib, server_url)
    with pytest.raises(ValueError, match="must be a JSON object"):
        kw(wslib, "measure_round_trips", "[1]", count=1)


def test_summarise_reads_percentiles_from_the_histogram() -> None:
    stats = summarise(list(range(1, 1001)))  # 1 µs … 1000 µs

    assert stats["count"] == 1000
    assert stats["min"] == 0.001
    assert stats["p50"] == pytest.approx(0.5, rel=0.01)
    assert stats["p99"] == pytest.approx(0.99, rel=0.01)
    assert stats["max"] == pytest.approx(1.0, rel=0.01)
    assert summarise([]) == {"count": 0}


# -- heartbeat logic on synthetic arrival times --------------------------------------------

def monitor(*beats_ms: float, period_ms: float | None = None) -> HeartbeatMonitor:
    watch = HeartbeatMonitor(FrameFilter(BEAT), 100 * MS, 20 * MS,
                             None if period_ms is None else int(period_ms * MS), started_ns=0)
    for n, at in enumerate(beats_ms):
        watch.observe(Frame(n, '{"type": "heartbeat"}', int(at * MS), BEAT, True))
    return watch


@pytest.mark.parametrize(("beats", "now", "problems"), [
    ((100, 200, 300), 350, []),
    ((115, 200, 319), 400, []),
    ((130,), 140, ["beat 1 came 130.0 ms after the start"]),
    ((100, 150), 200, ["beat 2 came 50.0 ms after the previous one"]),
    ((100, 250), 260, ["beat 2 came 150.0 ms after the previous one"]),
    ((100,), 250, ["no beat for 150.0 ms after beat 1"]),
    ((), 121, ["no beat for 121.0 ms since the start"]),
    ((), 119, []),
])
def test_heartbeat_violations(beats: tuple[float, ...], now: float, problems: list[str]) -> None:
    assert monitor(*beats).violations(int(now * MS)) == problems


def test_a_heartbeat_period_bounds_what_is_judged() -> None:
    watch = monitor(100, 200, 300, 900, period_ms=310)

    assert watch.violations(1000 * MS) == []
    assert watch.period_over(310 * MS) and not watch.period_over(309 * MS)
    assert watch.stats(1000 * MS)["beats"] == 3


def test_non_matching_frames_are_not_beats() -> None:
    watch = monitor()
    assert watch.observe(Frame(1, '{"type": "other"}', 5, {"type": "other"}, True)) is False
    assert watch.arrivals == []


# -- reconnection logic --------------------------------------------------------------------

def test_backoff_grows_exponentially_up_to_the_maximum_with_jitter() -> None:
    exact = ReconnectPolicy(0.1, 1.0, 2.0, 0.0)
    assert [exact.delay(n) for n in range(1, 7)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])

    jittered = ReconnectPolicy(0.1, 1.0, 2.0, 0.2, rng=random.Random(7))
    delays = [jittered.delay(3) for _ in range(200)]
    assert all(0.32 <= d <= 0.48 for d in delays)
    assert max(delays) - min(delays) > 0.1  # spread, not constant


@pytest.mark.parametrize("arguments", [
    {"initial_delay": -1}, {"multiplier": 0.5}, {"jitter": 1.0}, {"jitter": -0.1}])
def test_invalid_backoff_settings_are_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy(**arguments)


def test_resume_template_fills_placeholders_from_the_latest_frames() -> None:
    resume = ResumeTemplate('{"type": "resume", "session": "{{$.session_id}}", '
                            '"after": "{{ $.seq }}", "note": "s={{$.session_id}}"}')
    assert resume.render() is None  # nothing seen yet
    resume.observe(Frame.decode(1, '{"type": "welcome", "session_id": "abc"}', 0))
    assert resume.render() is None  # $.seq still unknown
    resume.observe(Frame.decode(2, '{"seq": 7}', 0))
    resume.observe(Frame.decode(3, '{"seq": 8}', 0))

    assert resume.render() == ('{"type": "resume", "session": "abc", "after": 8, '
                               '"note": "s=abc"}')


def test_restore_prefers_resume_and_falls_back_to_resubscribing() -> None:
    policy = ReconnectPolicy(resubscribe=["sub-a", "sub-b"],
                             resume=ResumeTemplate('{"id": "{{$.id}}"}'))
    assert policy.restore_messages() == (["sub-a", "sub-b"], False)
    assert policy.resume is not None
    policy.resume.observe(Frame.decode(1, '{"id": 5}', 0))
    assert policy.restore_messages() == (['{"id": 5}'], True)


def test_a_resume_template_needs_a_placeholder() -> None:
    with pytest.raises(ValueError, match="has no"):
        ResumeTemplate('{"type": "resume"}')


# -- small parsers -------------------------------------------------------------------------

@pytest.mark.parametrize(("size", "count"), [
    (512, 512), ("512", 512), ("64 kB", 64_000), ("1 KiB", 1024), ("10MB", 10_000_000),
    ("1 MiB", 1_048_576), ("1.5 kb", 1500), ("2 B", 2)])
def test_parse_size(size: int | str, count: int) -> None:
    assert parse_size(size) == count


@pytest.mark.parametrize("size", ["", "ten", "5 parsecs", "-1"])
def test_parse_size_refuses_nonsense(size: str) -> None:
    with pytest.raises(ValueError, match="Invalid size"):
        parse_size(size)


@pytest.mark.parametrize(("arguments", "error"), [
    ({"kind": "xml"}, "Unknown message type"),
    ({"template": {"a": 1}, "kind": "binary"}, "cannot match binary"),
    ({"expected": 1}, "needs a JSONPath"),
    ({"path": "$[?("}, "Invalid JSONPath"),
])
def test_invalid_filters_are_refused(arguments: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        FrameFilter(**arguments)


@pytest.mark.parametrize(("arguments", "text"), [
    ({}, "any JSON message"),
    ({"kind": "any"}, "any message"),
    ({"template": {"a": 1}, "path": "$.b"}, '{"a": 1} and $.b exists'),
    ({"regex": "^x"}, "/^x/ (text frames)"),
])
def test_filter_descriptions(arguments: dict[str, object], text: str) -> None:
    assert FrameFilter(**arguments).describe() == text
