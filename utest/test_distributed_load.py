"""Distributed load (LoadGenerator.distributed): the master's merge is exact, and real runs of
a Locust master and local workers against the echo server: counts and histograms add up, a
worker killed mid-run is reported lost with what it had done, too few workers and an
unreachable master fail with a clear message, each within its bound."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from echo_server_support import METRICS, echo_fixture, start_echo  # noqa: F401  (fixture)
from hypothesis import given, settings
from hypothesis import strategies as st

from LoadGenerator.config import LoadConfig
from LoadGenerator.distributed import (
    DistributedLoadError,
    Launcher,
    LaunchOptions,
    RunSettings,
    run_distributed,
)
from LoadGenerator.distributed.merge import build_result
from LoadGenerator.distributed.protocol import WorkerState, clock_findings, clock_offset_ms
from LoadGenerator.histogram import HIGHEST_US, Histogram, merged
from LoadGenerator.report import text_summary, workers_table
from LoadGenerator.runner import merge_results

DRAIN_S = 20.0  # a loaded machine may be slow to echo


# -- the merge: exact, whatever the split -----------------------------------------------------

def histogram_of(values: list[int]) -> Histogram:
    histogram = Histogram()
    histogram.record_many(values)
    return histogram


def split(values: list[int], cuts: list[int]) -> list[list[int]]:
    edges = sorted({min(len(values), cut) for cut in cuts})
    bounds = [0, *edges, len(values)]
    return [values[a:b] for a, b in itertools.pairwise(bounds)]


latencies = st.lists(st.one_of(st.integers(1, 2_000), st.integers(2_000, 5_000_000),
                               st.integers(1, HIGHEST_US)), min_size=1, max_size=400)


@settings(max_examples=150, deadline=None)
@given(values=latencies, cuts=st.lists(st.integers(0, 400), max_size=6))
def test_merged_parts_equal_one_histogram_of_all_samples(values: list[int],
                                                         cuts: list[int]) -> None:
    whole = histogram_of(values)
    parts = [histogram_of(part).to_data() for part in split(values, cuts)]
    # As the parts travel: JSON text, the buckets' integer keys turned into strings.
    travelled = [json.loads(json.dumps(part)) for part in parts]
    total = merged(travelled)
    assert total.counts == whole.counts
    assert total.summary() == whole.summary()  # count, min, every percentile, max, mean
    assert (total.total, total.min, total.max, total.sum) == \
        (len(values), min(values), max(values), sum(values))


def fake_part(values: list[int], sent: int) -> dict[str, Any]:
    """A worker process's raw result holding ``values`` as its latencies."""
    histogram = histogram_of(values).to_data()
    return {"connections": 1, "idle_connections": 0, "connect_failures": 0, "dropped": 0,
            "scheduled": sent, "sent": sent, "acknowledged": len(values), "error_replies": 0,
            "send_failures": 0, "lost": sent - len(values), "errors": {}, "stopped": False,
            "read_timed": {}, "latency": histogram, "service": histogram, "lag": histogram,
            "connect": histogram_of([100]).to_data(), "elapsed_s": 1.0, "cpu_s": 0.1,
            "last_ack_s": 1.0,
            "timeline": [{"second": 0, "sent": sent, "acknowledged": len(values),
                          "errored": 0, "lag_max_ms": 0.0, "histogram": histogram}]}


@settings(max_examples=40, deadline=None)
@given(values=latencies, cuts=st.lists(st.integers(0, 400), min_size=1, max_size=3))
def test_the_masters_result_merges_the_workers_parts_exactly(values: list[int],
                                                             cuts: list[int]) -> None:
    pieces = [piece for piece in split(values, cuts) if piece]
    load = LoadConfig(url="ws://127.0.0.1:1/", connections=len(pieces) * 2, duration=1.0)
    run = RunSettings(load=load, workers=len(pieces))
    workers = []
    for index, piece in enumerate(pieces):
        worker = WorkerState(index, f"w{index}", 2, status="complete")
        # each worker's parts as two engine processes of its own
        half = len(piece) // 2
        worker.parts = [json.loads(json.dumps(fake_part(p, len(p) + 1)))
                        for p in (piece[:half], piece[half:])]
        workers.append(worker)
    result = build_result(run, workers, 1.0, "127.0.0.1:0")
    assert result["complete"] and result["error"] is None
    assert result["latency_ms"] == histogram_of(values).summary()
    assert result["acknowledged"] == len(values)
    assert result["acknowledged"] == sum(r["acknowledged"] for r in result["workers_breakdown"])
    assert result["sent"] == sum(r["sent"] for r in result["workers_breakdown"])
    assert merged([r["latency_histogram"] for r in result["workers_breakdown"]]).counts == \
        Histogram.from_data(result["latency_histogram"]).counts
    # The same figures runner.merge_results gives for all parts in one process.
    alone = merge_results(load, [p for w in workers for p in w.parts], 1.0)
    assert result["latency_ms"] == alone["latency_ms"]
    assert result["timeline"] == alone["timeline"]


def test_a_lost_worker_makes_the_result_incomplete_with_its_partial_counts() -> None:
    load = LoadConfig(url="ws://127.0.0.1:1/", connections=4, rate=10, duration=2.0)
    run = RunSettings(load=load, workers=2)
    done = WorkerState(0, "w0", 2, host="a", status="complete",
                       parts=[fake_part([500] * 40, 40)])
    lost = WorkerState(1, "w1", 2, host="b", status="lost",
                       reason="it stopped sending heartbeats (Locust marked it missing)")
    lost.count({"second": 0, "sent": 20, "acknowledged": 19, "errored": 0, "pending": 1})
    lost.count({"second": 0, "sent": 20, "acknowledged": 19, "errored": 0, "pending": 1})
    result = build_result(run, [done, lost], 2.0, "127.0.0.1:0")
    assert not result["complete"]
    assert result["acknowledged"] == 40 and result["expected"] == 80  # the whole load's
    assert result["delivery_percent"] == 50.0
    [row] = result["lost_workers"]
    assert (row["worker"], row["sent"], row["acknowledged"], row["in_flight"]) == (1, 20, 19, 1)
    assert "worker 1 (w1 on b, 2 connections) lost: it stopped sending heartbeats" \
        in result["error"]
    assert "sent 20, acknowledged 19" in result["error"]
    assert "INCOMPLETE" in text_summary(result) and "INCOMPLETE" in workers_table(result)


def test_clock_offset_is_the_workers_wall_clock_less_the_masters() -> None:
    assert clock_offset_ms(1000.250, 1000.0) == 250.0
    assert clock_offset_ms(999.0, 1000.0) == -1000.0


def test_settings_refuse_what_cannot_be_shared() -> None:
    load = LoadConfig(url="ws://127.0.0.1:1/", connections=2)
    with pytest.raises(ValueError, match="cannot be shared by 3 workers"):
        RunSettings(load=load, workers=3)
    assert [RunSettings(load=LoadConfig(url="ws://h/", connections=7), workers=3).share(i)
            for i in range(3)] == [(3, 0), (2, 0), (2, 0)]


# -- real runs: a Locust master and workers on this host -------------------------------------

def run_settings(url: str, workers: int, **overrides: Any) -> RunSettings:
    load = LoadConfig(url=url, connections=overrides.pop("connections", 3 * workers),
                      rate=overrides.pop("rate", 20.0), duration=overrides.pop("duration", 2.0),
                      message=METRICS, reply_type="metrics_received", processes=0,
                      drain_timeout=DRAIN_S)
    options: dict[str, Any] = {"connect_timeout": 45.0, "ready_timeout": 45.0,
                               "progress_interval": 1.0}
    options.update(overrides)
    return RunSettings(load=load, workers=workers, **options)


def test_master_and_three_workers_merge_every_workers_histograms(echo: str,
                                                                 tmp_path: Path) -> None:
    lines: list[str] = []
    result = run_distributed(run_settings(echo, 3), LaunchOptions(log_dir=str(tmp_path)),
                             progress=lines.append)
    rows = result["workers_breakdown"]
    assert result["complete"] and result["lost_workers"] == [] and len(rows) == 3
    assert {row["status"] for row in rows} == {"complete"}
    assert [row["connections"] for row in rows] == [3, 3, 3]
    assert result["expected"] == 9 * 20 * 2 == result["sent"] == result["acknowledged"]
    for key in ("sent", "acknowledged", "errored", "connections_open"):
        assert result[key] == sum(row[key] for row in rows), key
    assert result["lost"] == 0 and result["latency_ms"]["count"] == result["acknowledged"]
    whole = Histogram.from_data(result["latency_histogram"])
    assert whole.counts == merged([row["latency_histogram"] for row in rows]).counts
    assert whole.summary() == result["latency_ms"]
    assert sum(second["acknowledged"] for second in result["timeline"]) == 360
    assert all(row["host"] == socket.gethostname() for row in rows)
    assert len({row["worker_pid"] for row in rows}) == 3  # three Locust worker processes
    assert any("3 workers ready" in line for line in lines)
    assert (tmp_path / "result.json").exists() and (tmp_path / "master.log").exists()


def test_a_worker_killed_mid_run_is_reported_lost_with_its_partial_counts(
        echo: str, tmp_path: Path) -> None:
    launcher = Launcher(run_settings(echo, 3, duration=12.0, rate=10.0),
                        LaunchOptions(log_dir=str(tmp_path))).start()
    try:
        victim = launcher.workers[1]
        deadline = time.monotonic() + 90
        while not any(e["kind"] == "progress" and e["sent"] > 0 for e in launcher.events):
            assert time.monotonic() < deadline, "the run did not start"
            assert launcher.master is not None and launcher.master.poll() is None
            time.sleep(0.1)
        os.kill(victim.pid, signal.SIGKILL)
        with pytest.raises(DistributedLoadError) as caught:
            launcher.wait()
    finally:
        launcher.close()
    result = caught.value.result
    assert result is not None and not result["complete"]
    [lost] = result["lost_workers"]
    assert lost["worker_pid"] == victim.pid and lost["status"] == "lost"
    assert "Locust marked it missing" in lost["reason"] or "left the master" in lost["reason"]
    assert lost["sent"] > 0 and lost["latency_ms"] is None  # what it reported, no histogram
    survivors = [row for row in result["workers_breakdown"] if row["status"] == "complete"]
    assert len(survivors) == 2
    assert result["acknowledged"] == sum(row["acknowledged"] for row in survivors)
    assert result["acknowledged"] < result["expected"]  # the lost share shows as missing
    message = str(caught.value)
    assert "incomplete" in message and f"worker {lost['worker']}" in message
    assert f"sent {lost['sent']}" in message


def test_too_few_workers_fail_naming_how_many_came(echo: str, tmp_path: Path) -> None:
    settings_ = run_settings(echo, 3, connect_timeout=8.0)
    started = time.monotonic()
    # Two of three start; on a starved machine even one may still be importing Locust.
    with pytest.raises(DistributedLoadError, match=r"only [012] of 3 workers connected to the "
                                                   r"master at 127\.0\.0\.1:\d+ within 8 s"):
        run_distributed(settings_, LaunchOptions(local_workers=2, log_dir=str(tmp_path)))
    assert time.monotonic() - started < 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_master_fails_within_the_connect_timeout(echo: str,
                                                                tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    with pytest.raises(DistributedLoadError) as caught:
        run_distributed(run_settings(echo, 1, connect_timeout=3.0),
                        LaunchOptions(master_host="127.0.0.1", master_port=port,
                                      local_workers=1, log_dir=str(tmp_path)))
    assert f"could not reach the Locust master at 127.0.0.1:{port} within 3 s" \
        in str(caught.value)
    assert time.monotonic() - started < 45


def test_the_command_line_joins_a_master_and_says_it_is_unreachable(tmp_path: Path) -> None:
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "LoadGenerator.distributed", "worker", "--master-host",
         "127.0.0.1", "--master-port", str(port), "--connect-timeout", "2",
         "--json", str(tmp_path / "out.json")],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert f"could not reach the Locust master at 127.0.0.1:{port} within 2 s" in done.stderr


def test_the_command_line_runs_a_master_with_prefixed_local_workers(echo: str,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, "-m", "LoadGenerator.distributed", "master", echo, "--workers", "2",
         "--master-port", "0", "--connections", "4", "--rate", "10", "--duration", "1",
         "--message", METRICS, "--reply-type", "metrics_received", "--drain-timeout", "20",
         "--worker-prefix", "env LOADGEN_PREFIXED=1", "--json", str(out)],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["complete"] and result["acknowledged"] == 40
    assert "workers: 2 of 2 delivered" in done.stderr
    assert "latency from intended send" in done.stderr


# -- the keyword: output.xml and the Scorecard summary ---------------------------------------

SUITE = """*** Settings ***
Library    LoadGenerator
Library    Scorecard

*** Test Cases ***
Distributed Load Is Recorded
    ${{result}}=    Run Distributed Load    {url}    connections=4    rate=10    duration=1s
    ...    workers=2    message={message}    reply_type=metrics_received
    ...    drain_timeout=20s    scenario=D.1    latency_limit=500
    Get Load Figure    ${{result}}    workers_breakdown.1.acknowledged    ==    20
    Get Load Figure    ${{result}}    complete    ==    ${{True}}

An Unreachable Master Fails The Keyword
    Run Keyword And Expect Error
    ...    *could not reach the Locust master at 127.0.0.1:{port} within 2 s*
    ...    Run Distributed Load    {url}    workers=1    master_host=127.0.0.1
    ...    master_port={port}    local_workers=1    connect_timeout=2s
"""


def test_the_keyword_records_figures_charts_and_workers_in_output_and_summary(
        echo: str, tmp_path: Path) -> None:
    from Scorecard.report import build

    suite = tmp_path / "distributed.robot"
    suite.write_text(SUITE.format(url=echo, message=METRICS, port=free_port()))
    done = subprocess.run([sys.executable, "-m", "robot", "--outputdir", str(tmp_path),
                           "--output", "output.xml", "--log", "NONE", "--report", "NONE",
                           str(suite)], capture_output=True, text=True, timeout=180,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    output = (tmp_path / "output.xml").read_text()
    assert "workers of the distributed load" in output  # the per-worker table
    summary, charts = build(tmp_path / "output.xml")
    names = {row["name"]: row for row in summary["figures"] if row["scenario"] == "D.1"}
    assert "load latency p99 (merged over 2 workers)" in names
    assert names["load workers lost"]["verdict"] == "pass"
    assert names["load worker 0 acknowledged"]["value"] == 20
    assert len(charts) == 3  # latency over time, by percentile, throughput


def test_the_keywords_documented_example_binds(tmp_path: Path) -> None:
    from robot.running import TestLibrary

    library = TestLibrary.from_name("LoadGenerator")
    [keyword] = [kw for kw in library.keywords if kw.name == "Run Distributed Load"]
    example = [line.strip()[2:] for line in keyword.doc.splitlines()
               if line.strip().startswith("| ")]
    body = "\n".join(f"    {line}" for line in example)
    suite = tmp_path / "example.robot"
    suite.write_text(f"*** Settings ***\nLibrary    LoadGenerator\n\n*** Test Cases ***\n"
                     f"Example\n{body}\n")
    done = subprocess.run([sys.executable, "-m", "robot", "--dryrun", "--output", "NONE",
                           "--log", "NONE", "--report", "NONE", str(suite)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout


# -- credentials: the token stays on each worker's host -----------------------------------------

@pytest.fixture(scope="module", name="token_echo")
def token_echo_fixture() -> Iterator[str]:
    os.environ["DISTRIBUTED_TEST_TOKEN"] = "s3cret-token"
    try:
        process, url = start_echo("--token-env", "DISTRIBUTED_TEST_TOKEN")
    finally:
        del os.environ["DISTRIBUTED_TEST_TOKEN"]
    yield url
    process.terminate()
    process.wait(10)


def test_the_token_reaches_the_workers_through_their_environment_only(
        token_echo: str, tmp_path: Path) -> None:
    settings_ = run_settings(token_echo, 2, token_env="LOADGEN_TOKEN")
    result = run_distributed(settings_, LaunchOptions(token="s3cret-token",
                                                      log_dir=str(tmp_path)))
    assert result["complete"] and result["acknowledged"] == 6 * 20 * 2
    for name in ("settings.json", "result.json", "master.log", "worker0.log", "worker1.log"):
        assert "s3cret-token" not in (tmp_path / name).read_text(), name


def test_a_refused_handshake_stops_the_run_before_it_starts(token_echo: str,
                                                            tmp_path: Path) -> None:
    with pytest.raises(DistributedLoadError) as caught:
        run_distributed(run_settings(token_echo, 2), LaunchOptions(log_dir=str(tmp_path)))
    message = str(caught.value)
    assert "the run did not start" in message
    assert "refused the WebSocket handshake with HTTP 401" in message
    result = caught.value.result
    assert result is not None and result["sent"] == 0 and not result["complete"]


def test_clocks_far_apart_are_reported_and_refused_beyond_the_limit() -> None:
    near = WorkerState(0, "w0", 1, host="a", clock_offset_ms=-40.0)
    far = WorkerState(1, "w1", 1, host="b", clock_offset_ms=30_000.0)
    error, warnings = clock_findings([near, far], None)
    assert error is None
    assert warnings == ["worker 1 (b)'s wall clock differs from the master's by about "
                        "+30.000 s; latency is measured on each worker's own monotonic clock "
                        "and is not affected, but the {timestamp} its messages carry is that "
                        "clock's"]
    error, _ = clock_findings([near, far], 5.0)
    assert error == ("worker 1 (b)'s wall clock differs from the master's by about +30.000 s, "
                     "more than max_clock_offset 5 s: the run was not started")


def time_namespaces() -> bool:
    probe = subprocess.run(["unshare", "--time", "--monotonic", "1", "true"],
                           capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not time_namespaces(), reason="no time namespaces here (unshare --time "
                                                  "needs root and Linux 5.6)")
def test_workers_whose_monotonic_clock_is_a_day_ahead_measure_alike(echo: str,
                                                                    tmp_path: Path) -> None:
    # The workers run in a time namespace: their monotonic clock is 24 h ahead of the
    # master's. Nothing crosses hosts but a delay, so the run and its latency are unaffected.
    ahead = ["unshare", "--time", "--monotonic", "86400", "--boottime", "86400"]
    result = run_distributed(run_settings(echo, 2),
                             LaunchOptions(worker_prefix=ahead, log_dir=str(tmp_path)))
    assert result["complete"] and result["acknowledged"] == 6 * 20 * 2
    assert result["latency_ms"]["max"] < 10_000  # ms: a day of offset would show here
    assert result["schedule_lag_ms"]["max"] < 10_000


def test_workers_that_join_a_running_master_get_the_merged_result(echo: str,
                                                                  tmp_path: Path) -> None:
    # A master here expecting 2 workers, one of its own; one more joins as from elsewhere.
    master = Launcher(run_settings(echo, 2), LaunchOptions(local_workers=1,
                                                           log_dir=str(tmp_path / "m"))).start()
    try:
        assert master.master_address is not None
        host, port = master.master_address
        joining = Launcher(run_settings(echo, 1),
                           LaunchOptions(master_host=host, master_port=port,
                                         log_dir=str(tmp_path / "j"))).start()
        try:
            joined = joining.wait()
        finally:
            joining.close()
        result = master.wait()
    finally:
        master.close()
    assert result["complete"] and joined["complete"]
    assert joined["latency_ms"] == result["latency_ms"]
    assert joined["acknowledged"] == result["acknowledged"] == 6 * 20 * 2
    assert [row["worker_pid"] for row in joined["workers_breakdown"]] == \
        [row["worker_pid"] for row in result["workers_breakdown"]]


# -- workers on hosts of their own ----------------------------------------------------------------

def test_workers_in_network_namespaces_reach_master_and_target_over_the_bridge(
        tmp_path: Path) -> None:
    """Each worker in a namespace of its own (its own address, no access to this machine's
    loopback, a monotonic clock 1000 s × its number ahead): the run still merges exactly,
    because each latency is measured on the clock of the worker that sent the message."""
    import nethosts

    why = nethosts.available()
    if why:
        pytest.skip(f"no network namespaces here: {why}")
    hosts = nethosts.HostSet("lw", 202)  # a set of its own: safe beside other users
    hosts.up(2)
    process = None
    try:
        process, url = start_echo("--host", hosts.bridge_address)
        prefix = [sys.executable, "-m", "nethosts", "exec", "lw-{worker}", "--"]
        result = run_distributed(run_settings(url, 2),
                                 LaunchOptions(bind_host=hosts.bridge_address,
                                               worker_prefix=prefix, log_dir=str(tmp_path)))
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)
        hosts.down()
    rows = result["workers_breakdown"]
    assert result["complete"] and [row["status"] for row in rows] == ["complete"] * 2
    assert result["expected"] == 6 * 20 * 2 == result["acknowledged"]
    assert result["latency_ms"]["max"] < 5_000, "a latency across two clocks"
    whole = Histogram.from_data(result["latency_histogram"])
    assert whole.counts == merged([row["latency_histogram"] for row in rows]).counts


def test_a_run_that_hardly_ran_reports_no_share_of_a_core() -> None:
    from LoadGenerator.config import LoadConfig
    from LoadGenerator.runner import merge_results

    cfg = LoadConfig(url="ws://127.0.0.1:1", connections=1, rate=1.0, duration=1.0)
    brief = {**fake_part([], 0), "elapsed_s": 0.001, "cpu_s": 0.4}
    whole = {**fake_part([1000], 1), "elapsed_s": 2.0, "cpu_s": 0.5}
    assert merge_results(cfg, [brief], 0.01)["generator_cpu_percent"] == 0.0
    assert merge_results(cfg, [whole], 2.0)["generator_cpu_percent"] == 25.0
