"""LoadGenerator against real WebSocket servers (the package's echo server, in a process of
its own): counts, matching by id, latency from the intended send time, workers, the
keywords' assertions, the command line, charts and Artillery's report."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from echo_server_support import (  # noqa: F401  (fixtures)
    METRICS,
    echo_fixture,
    slow_echo_fixture,
)

from figurekit.figures import figure_at
from LoadGenerator import LoadGenerator
from LoadGenerator.artillery import CANNOT_PROVIDE, figures, find_artillery, run_artillery
from LoadGenerator.config import LoadConfig
from LoadGenerator.report import charts, summary_table, text_summary
from LoadGenerator.runner import LoadRun, run_load

DRAIN_S = 30.0  # replies are waited for this long: a loaded machine may be slow to echo
LINUX = sys.platform.startswith("linux")  # where the kernel stamps a reply's arrival


def config(url: str, **overrides: Any) -> LoadConfig:
    options: dict[str, Any] = {"connections": 4, "rate": 25.0, "duration": 1.0,
                               "message": METRICS, "reply_type": "metrics_received",
                               "processes": 0, "drain_timeout": DRAIN_S}
    options.update(overrides)
    return LoadConfig(url=url, **options)


# -- counting and matching ------------------------------------------------------------------

def test_every_message_is_acknowledged_and_counted(echo: str) -> None:
    result = run_load(config(echo))
    assert result["expected"] == 100
    assert result["sent"] == result["acknowledged"] == 100
    assert result["lost"] == result["errored"] == 0
    assert result["delivery_percent"] == 100.0
    assert result["latency_ms"]["count"] == 100
    assert result["schedule_lag_ms"]["count"] == 100
    assert result["connections_open"] == 4
    assert sum(second["sent"] for second in result["timeline"]) == 100
    assert sum(second["acknowledged"] for second in result["timeline"]) == 100
    # In ms (no reply takes longer than the whole run), however fast the machine.
    assert 0 < result["latency_ms"]["p50"] <= result["latency_ms"]["max"] \
        <= result["elapsed_s"] * 1000
    if LINUX:  # every arrival is the kernel's receive time, and the figures say so
        assert result["replies_timed_at_read"] == 0
        assert result["timed_at_read_reasons"] == {}


def test_worker_processes_split_the_connections_and_merge_their_histograms(echo: str) -> None:
    result = run_load(config(echo, processes=2))
    assert result["workers"] == 2
    assert result["connections_open"] == 4
    assert result["acknowledged"] == 100
    assert result["latency_ms"]["count"] == 100  # both workers' histograms, merged
    assert result["generator_cpu_s"] > 0


def test_replies_are_matched_by_id_even_when_the_id_is_a_string(echo: str) -> None:
    # The id goes out as a JSON string and comes back as one; it is matched as text.
    result = run_load(config(echo, message='{"type":"metrics","id":"{id}","data":{}}'))
    assert result["acknowledged"] == 100


def test_latency_includes_the_servers_delay(slow_echo: str) -> None:
    result = run_load(config(slow_echo, connections=2, rate=10))
    assert result["acknowledged"] == 20
    assert result["latency_ms"]["p50"] >= 150
    assert result["latency_ms"]["max"] <= result["elapsed_s"] * 1000
    assert result["latency_from_send_ms"]["p50"] >= 150


@pytest.mark.skipif(not LINUX, reason="the kernel's receive time is Linux's")
def test_reading_once_per_long_tick_does_not_add_to_latency(echo: str) -> None:
    # Messages go at the start of a tick, and their replies are read at the next one, 250
    # ms later: the kernel's receive time, not the read's, is their arrival.
    tick_ms = 250
    result = run_load(config(echo, connections=2, rate=4, duration=1.0, tick=tick_ms / 1000))
    assert result["acknowledged"] == 8
    assert result["replies_timed_at_read"] == 0
    # Timed by the read, even the fastest reply would come out a tick after its send (less
    # the time it went late); by the kernel only if every reply took that long.
    assert result["latency_from_send_ms"]["min"] < tick_ms - result["schedule_lag_ms"]["max"]


def test_without_a_tick_each_message_goes_at_its_own_time(echo: str) -> None:
    # 20 msg/s, one every 50 ms: sent at its own time, a message goes well before the next
    # one is due; batched, half of them would go half an interval late or more.
    result = run_load(config(echo, rate=5, tick=0))
    assert result["acknowledged"] == result["expected"] == 20
    assert result["schedule_lag_ms"]["p50"] < 1000 / result["offered_rate"] / 2


def send_capacity(url: str, duration: float) -> float:
    """Messages per second the generator sends on one connection on this machine now: the
    most it sent in any of ``duration``-long runs whose offered rate doubles until fewer
    than half of it go out in time. The most, since a stall (someone else's work) only
    makes a run send less."""
    rate, best = 1_000.0, 0.0
    for _ in range(30):  # 1,000 · 2^30 msg/s: no machine sends that many
        result = run_load(config(url, connections=1, rate=rate, duration=duration))
        # Behind, each message goes later than the one before: the last one, the latest.
        sending_s = duration + result["schedule_lag_ms"]["max"] / 1000
        achieved = result["sent"] / sending_s
        best = max(best, achieved)
        if achieved < rate / 2:
            return best
        rate *= 2
    raise AssertionError(f"the generator kept up with {rate:g} msg/s")


def test_latency_counts_from_the_intended_send_time_when_the_generator_falls_behind(
        echo: str) -> None:
    # Offered 8 times what this machine's generator sends, one connection falls behind:
    # messages go out late, and the time they waited to be sent must be in the latency
    # (coordinated omission). The overload is relative to what the machine achieved just
    # before, so a faster machine, or a loaded one, falls behind alike.
    duration = 0.1
    capacity = send_capacity(echo, duration)
    result = run_load(config(echo, connections=1, rate=8 * capacity, duration=duration,
                             drain_timeout=4 * DRAIN_S))  # the server has much to echo
    assert result["lost"] == 0
    # 8 times too much keeps the generator sending for about 8 schedules: the last message
    # goes out several schedules late (more than one, unless it sent 4 times its best).
    assert result["schedule_lag_ms"]["max"] > duration * 1000, (capacity, result["sent"])
    assert result["latency_ms"]["max"] >= result["schedule_lag_ms"]["max"]
    assert result["latency_ms"]["p99"] >= result["latency_from_send_ms"]["p99"]


def test_error_replies_are_counted_by_code(echo: str) -> None:
    result = run_load(config(echo, message='{"type":"fail","id":{id}}', duration=0.4))
    assert result["acknowledged"] == 0
    assert result["errored"] == result["sent"] == 40
    assert result["errors"] == {"failed": 40}
    assert result["lost"] == 0


def test_unanswered_messages_are_lost_after_the_drain_timeout(echo: str) -> None:
    began = time.monotonic()
    result = run_load(config(echo, message='{"type":"ignore","id":{id}}', duration=0.4,
                             drain_timeout=0.3))
    assert result["lost"] == result["sent"] == 40
    assert result["acknowledged"] == 0
    assert time.monotonic() - began < DRAIN_S  # the run's own drain, not the usual one


def test_warmup_messages_are_sent_but_not_counted(echo: str) -> None:
    result = run_load(config(echo, duration=1.0, warmup=0.5))
    assert result["expected"] == 50
    assert result["acknowledged"] == 50
    assert sum(second["sent"] for second in result["timeline"]) == 100


def test_connections_that_cannot_open_are_reported() -> None:
    result = run_load(config("ws://127.0.0.1:9", connections=3, connect_timeout=2.0))
    assert result["connect_failures"] == 3
    assert result["connections_open"] == 0
    assert result["delivery_percent"] == 0
    assert any(key.startswith("connect:") for key in result["errors"])


def test_a_run_can_be_stopped_and_its_waits_are_short_slices(echo: str) -> None:
    duration = 30.0
    run = LoadRun(config(echo, duration=duration)).start()
    began = time.monotonic()
    assert run.poll(0.1) is False
    assert time.monotonic() - began < duration / 2  # a slice, not a wait for the end
    run.stop()
    result = run.wait(20.0)
    assert result["stopped"] is True
    assert result["sent"] < result["expected"]
    assert result["sent"] == result["acknowledged"] + result["lost"] + result["error_replies"]


def test_progress_lines_are_reported_on_long_runs(echo: str) -> None:
    lines: list[str] = []
    run_load(config(echo, duration=2.5, progress_interval=1.0), progress=lines.append)
    assert lines, "no progress line"
    assert all("sent" in line and "acked" in line for line in lines)


def test_the_configuration_is_checked() -> None:
    with pytest.raises(ValueError, match="placeholder"):
        LoadConfig(url="ws://x", message='{"type":"ping"}')
    with pytest.raises(ValueError, match="WebSocket URL"):
        LoadConfig(url="http://x")
    with pytest.raises(ValueError, match="rate"):
        LoadConfig(url="ws://x", rate=0)
    for tick in (-0.001, 1.5):
        with pytest.raises(ValueError, match="tick"):
            LoadConfig(url="ws://x", tick=tick)


# -- keywords --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def good(echo: str) -> dict[str, Any]:
    return LoadGenerator().run_load(echo, connections=2, rate=20, duration=0.5,
                                    message=METRICS, reply_type="metrics_received",
                                    processes=0, charts=False)


def test_get_load_figure_reads_and_asserts(good: dict[str, Any]) -> None:
    library = LoadGenerator()
    assert library.get_load_figure(good, "acknowledged") == 20
    slowest = good["latency_ms"]["max"]
    assert library.get_load_figure(good, "latency_ms.p99", "<=", str(slowest)) <= slowest
    assert library.get_load_figure(good, "timeline.0.second", "==", "0") == 0


def test_get_load_figure_fails_when_the_assertion_does_not_hold(good: dict[str, Any]) -> None:
    library = LoadGenerator()
    with pytest.raises(AssertionError, match="acknowledged"):
        library.get_load_figure(good, "acknowledged", ">", "20")
    with pytest.raises(AssertionError, match=r"no figure 'latency_ms.p42'"):
        library.get_load_figure(good, "latency_ms.p42")


def test_load_should_deliver_every_message_passes_and_fails(echo: str,
                                                            good: dict[str, Any]) -> None:
    library = LoadGenerator()
    library.load_should_deliver_every_message(good)
    lost = library.run_load(echo, connections=1, rate=20, duration=0.3,
                            message='{"type":"ignore","id":{id}}', processes=0,
                            drain_timeout=timedelta_s(0.2), charts=False)
    with pytest.raises(AssertionError, match="never answered"):
        library.load_should_deliver_every_message(lost)
    errored = library.run_load(echo, connections=1, rate=20, duration=0.3,
                               message='{"type":"fail","id":{id}}', processes=0, charts=False)
    with pytest.raises(AssertionError, match="errored"):
        library.load_should_deliver_every_message(errored)
    with pytest.raises(AssertionError, match=r"delivery 0.0 %"):
        library.load_should_deliver_every_message(errored, min_percent=50)


def test_start_and_wait_for_load_in_the_background(echo: str) -> None:
    library = LoadGenerator()
    name = library.start_load(echo, connections=2, rate=10, duration=0.5,
                              message={"type": "metrics", "id": "{id}"},
                              reply_type="metrics_received", processes=0, name="bg")
    with pytest.raises(AssertionError, match="already running"):
        library.start_load(echo, name="bg", message=METRICS)
    result = library.wait_for_load(name, charts=False)
    assert result["acknowledged"] == 10
    with pytest.raises(AssertionError, match="No load named"):
        library.wait_for_load("nothing")


def timedelta_s(seconds: float) -> Any:
    from datetime import timedelta

    return timedelta(seconds=seconds)


# -- command line ----------------------------------------------------------------------------

def test_command_line_runs_a_load_and_writes_json(echo: str, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    done = subprocess.run([sys.executable, "-m", "LoadGenerator", echo, "-c", "2", "-r", "10",
                           "-d", "0.5", "-m", METRICS, "--reply-type", "metrics_received",
                           "--json", str(out)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "latency from intended send" in done.stderr
    assert json.loads(out.read_text())["acknowledged"] == 10


def test_command_line_exits_1_when_messages_are_lost(echo: str) -> None:
    done = subprocess.run([sys.executable, "-m", "LoadGenerator", echo, "-d", "0.3",
                           "-m", '{"type":"ignore","id":{id}}', "--drain-timeout", "0.2"],
                          capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 1
    assert json.loads(done.stdout)["lost"] == 1


def test_command_line_help() -> None:
    done = subprocess.run([sys.executable, "-m", "LoadGenerator", "--help"],
                          capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0
    assert "--connections" in done.stdout and "coordinated omission" in done.stdout


# -- pictures --------------------------------------------------------------------------------

def test_load_report_has_a_table_and_three_charts(good: dict[str, Any]) -> None:
    assert "delivery" in summary_table(good)
    if LINUX:
        assert "kernel receive time for every reply" in summary_table(good)
        assert "arrival: kernel receive time for every reply" in text_summary(good)
    pictures = charts(good, latency_limit_ms=500)
    assert pictures.count("<svg") == 3
    assert "latency by percentile" in pictures


# -- Artillery -------------------------------------------------------------------------------

def test_artillery_figures_from_a_report_state_what_it_cannot_provide() -> None:
    report = {"aggregate": {"counters": {"websocket.messages_sent": 300, "vusers.created": 10,
                                         "vusers.completed": 9, "vusers.failed": 1,
                                         "errors.ECONNRESET": 1},
                            "firstCounterAt": 1_000, "lastCounterAt": 4_000}}
    result = figures(report)
    assert result["messages_sent"] == 300
    assert result["send_rate"] == 100.0
    assert result["errors"] == {"ECONNRESET": 1}
    assert set(result["cannot_provide"]) == set(CANNOT_PROVIDE)
    assert "message latency" in result["cannot_provide"]


def test_figure_at_walks_nested_results() -> None:
    assert figure_at({"a": {"b": [5, 6]}}, "a.b.1") == 6
    with pytest.raises(AssertionError):
        figure_at({"a": 1}, "b")


def artillery_installed() -> bool:
    try:
        find_artillery()
    except FileNotFoundError:
        return False
    return True


@pytest.mark.skipif(not artillery_installed(), reason="Artillery is not installed "
                    "(scripts/setup installs it into artillery/node_modules)")
def test_artillery_runs_the_scenario_against_a_real_server(echo: str, tmp_path: Path,
                                                          repo_root: Path) -> None:
    result = run_artillery(repo_root / "artillery" / "scenario-9.1.yml", target=echo,
                           variables={"messages": 3}, output=tmp_path / "report.json",
                           timeout=120)
    assert result["exit_code"] == 0
    assert result["vusers_created"] == 100
    assert result["messages_sent"] == 300
    assert result["vusers_failed"] == 0
    assert result["cpu_s"] > 0
    assert "coordinated-omission-corrected latency" in result["cannot_provide"]
