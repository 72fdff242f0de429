"""ResourceMonitor on real processes: a steady one, one that grows its memory, one that
burns CPU, and a real Prometheus endpoint with process_* series."""

from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psutil
import pytest
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.process_collector import ProcessCollector

from ResourceMonitor import ResourceMonitor
from ResourceMonitor.sampling import Sample
from ResourceMonitor.stats import compute, leak_problems, least_squares, percentile

INTERVAL = timedelta(milliseconds=50)
# Children: each prints "ready" once it is doing what it is for.
STEADY = "import time; print('ready', flush=True); time.sleep(120)"
GROWING = ("import time; blocks = []; print('ready', flush=True)\n"
           "for _ in range(2400):\n"
           "    blocks.append(bytearray(b'x' * 1_000_000)); time.sleep(0.02)")
BUSY = ("import time; print('ready', flush=True)\n"
        "end = time.time() + 120\nwhile time.time() < end: pass")


@pytest.fixture
def child() -> Iterator[Any]:
    started: list[subprocess.Popen[str]] = []

    def start(code: str) -> subprocess.Popen[str]:
        process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                   text=True)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
        process.wait(10)


def wait_for_samples(monitor: ResourceMonitor, count: int, name: str = "monitor",
                     timeout: float = 30.0) -> None:
    """Polls the monitor until it holds ``count`` samples (a condition, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while len(monitor.monitors[name].snapshot()) < count:
        assert time.monotonic() < deadline, f"fewer than {count} samples in {timeout} s"
        time.sleep(0.02)


def monitored(monitor: ResourceMonitor, pid: int, samples: int,
              warmup: timedelta = timedelta(0)) -> dict[str, Any]:
    monitor.start_resource_monitor(pid, interval=INTERVAL)
    wait_for_samples(monitor, samples)
    return monitor.stop_resource_monitor(warmup=warmup, charts=False)


# -- verdicts on real processes ------------------------------------------------------------

def test_a_steady_process_does_not_leak(child: Any) -> None:
    monitor = ResourceMonitor()
    stats = monitored(monitor, child(STEADY).pid, 20, warmup=timedelta(milliseconds=200))
    assert stats["trend_samples"] >= 10
    assert abs(stats["rss"]["slope_mb_per_min"]) < 1
    assert stats["threads"]["max"] >= 1
    assert stats["fds"]["max"] >= 3
    monitor.memory_should_not_leak(stats, max_slope=1)


def test_a_process_whose_memory_grows_is_a_leak(child: Any) -> None:
    monitor = ResourceMonitor()
    stats = monitored(monitor, child(GROWING).pid, 20)
    # ~1 MB every 20 ms: thousands of MiB per minute, a clean upward line.
    assert stats["rss"]["slope_mb_per_min"] > 500
    assert stats["rss"]["r_squared"] > 0.9
    with pytest.raises(AssertionError, match=r"RSS grows .* MiB/min after warm-up"):
        monitor.memory_should_not_leak(stats, max_slope=10)


def test_too_few_samples_after_the_warmup_cannot_pass(child: Any) -> None:
    monitor = ResourceMonitor()
    stats = monitored(monitor, child(STEADY).pid, 3, warmup=timedelta(hours=1))
    with pytest.raises(AssertionError, match="at least 5 are needed"):
        monitor.memory_should_not_leak(stats)


def test_cpu_of_a_busy_process_fails_a_low_limit(child: Any) -> None:
    # How much of a core a busy process gets depends on the machine's other work: the
    # monitor must see what the kernel counted for it, and a limit below that must fail.
    monitor = ResourceMonitor()
    busy = psutil.Process(child(BUSY).pid)
    began, cpu_began = time.monotonic(), sum(busy.cpu_times()[:2])
    stats = monitored(monitor, busy.pid, 12)
    counted = 100 * (sum(busy.cpu_times()[:2]) - cpu_began) / (time.monotonic() - began)
    assert stats["cpu"]["mean"] > 0
    assert stats["cpu"]["mean"] == pytest.approx(counted, rel=0.5, abs=5)
    assert stats["cpu"]["max"] >= stats["cpu"]["p95"] >= 0
    with pytest.raises(AssertionError, match=r"CPU mean .* not below"):
        monitor.cpu_should_be_below(stats, stats["cpu"]["mean"] / 2)
    monitor.cpu_should_be_below(stats, 1000, statistic="max")


def test_cpu_of_an_idle_process_passes(child: Any) -> None:
    monitor = ResourceMonitor()
    stats = monitored(monitor, child(STEADY).pid, 10)
    assert stats["cpu"]["mean"] < 20
    monitor.cpu_should_be_below(stats, 80)
    with pytest.raises(ValueError, match="statistic"):
        monitor.cpu_should_be_below(stats, 80, statistic="median")


def test_get_resource_figure_asserts(child: Any) -> None:
    monitor = ResourceMonitor()
    stats = monitored(monitor, child(STEADY).pid, 5)
    assert monitor.get_resource_figure(stats, "rss.max", ">", "1") > 1
    with pytest.raises(AssertionError, match=r"threads.max"):
        monitor.get_resource_figure(stats, "threads.max", ">", "10000")


def test_stats_while_running_and_a_process_that_ends(child: Any) -> None:
    monitor = ResourceMonitor()
    process = child(STEADY)
    monitor.start_resource_monitor(process.pid, interval=INTERVAL, name="m")
    wait_for_samples(monitor, 3, name="m")
    assert monitor.get_resource_stats("m")["samples"] >= 3
    process.kill()
    process.wait(10)
    deadline = time.monotonic() + 10
    while monitor.monitors["m"].error is None:
        assert time.monotonic() < deadline, "the monitor did not notice the process ended"
        time.sleep(0.02)
    stats = monitor.stop_resource_monitor("m", charts=False)
    assert "NoSuchProcess" in stats["error"]
    with pytest.raises(AssertionError, match="No resource monitor named 'm'"):
        monitor.stop_resource_monitor("m")


def test_no_such_process() -> None:
    with pytest.raises(AssertionError, match="No process with pid"):
        ResourceMonitor().start_resource_monitor(2**22 + 1)
    with pytest.raises(AssertionError, match="needs a pid"):
        ResourceMonitor().start_resource_monitor()


def test_children_can_be_included(child: Any) -> None:
    parent = child("import subprocess, sys, time\n"
                   "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
                   "print('ready', flush=True); time.sleep(120)")
    monitor = ResourceMonitor()
    monitor.start_resource_monitor(parent.pid, interval=INTERVAL, include_children=True)
    wait_for_samples(monitor, 3)
    with_children = monitor.stop_resource_monitor(charts=False)
    alone = monitored(monitor, parent.pid, 3)
    assert with_children["threads"]["max"] > alone["threads"]["max"]
    for process in __import__("psutil").Process(parent.pid).children():
        process.kill()


# -- a Prometheus endpoint ---------------------------------------------------------------------

@pytest.fixture
def process_endpoint() -> Iterator[str]:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    yield f"http://127.0.0.1:{server.server_port}/metrics"
    server.shutdown()
    thread.join(10)


def test_a_prometheus_endpoint_with_process_series_is_sampled(process_endpoint: str) -> None:
    monitor = ResourceMonitor()
    monitor.start_resource_monitor(metrics_url=process_endpoint, interval=INTERVAL)
    wait_for_samples(monitor, 5)
    stats = monitor.stop_resource_monitor(charts=False)
    assert stats["rss"]["max"] > 5  # this test process, in MiB
    assert stats["fds"]["max"] > 3
    assert stats["cpu"]["max"] >= 0
    assert stats["source"].startswith("process_* series of http://127.0.0.1")


def test_an_endpoint_without_process_series_is_refused(process_endpoint: str) -> None:
    registry = CollectorRegistry()
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        with pytest.raises(AssertionError, match="no process_resident_memory_bytes"):
            ResourceMonitor().start_resource_monitor(
                metrics_url=f"http://127.0.0.1:{server.server_port}/metrics")
    finally:
        server.shutdown()
        thread.join(10)


# -- statistics --------------------------------------------------------------------------------

def test_least_squares_of_a_line_and_of_noise() -> None:
    slope, intercept, r2 = least_squares([(x, 3 * x + 2) for x in range(10)])
    assert slope == pytest.approx(3)
    assert intercept == pytest.approx(2)
    assert r2 == pytest.approx(1)
    flat, _, _ = least_squares([(x, 5 + (1 if x % 2 else -1)) for x in range(100)])
    assert abs(flat) < 0.01


def test_a_sawtooth_is_not_a_trend() -> None:
    # Memory that rises and falls (allocations, then a collection) and happens to end on a
    # high: a difference of the last and first sample would call it a leak, the trend not.
    rss = [140.0 if i % 2 else 100.0 for i in range(300)]
    samples = [Sample(t, 10.0, int(mb * 1048576), 10, 2) for t, mb in enumerate(rss)]
    stats = compute(samples, warmup=0, cores=2)
    assert stats["rss"]["last"] - stats["rss"]["first"] == 40
    assert stats["rss"]["slope_mb_per_min"] < 2
    assert leak_problems(stats, 2) == []


def test_percentile_nearest_rank() -> None:
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == 10
    assert percentile([5], 50) == 5
    assert percentile([], 95) == 0


def test_resource_charts_are_svg(child: Any) -> None:
    monitor = ResourceMonitor()
    stats = monitored(monitor, child(STEADY).pid, 5)
    from figurekit.charts import line_chart

    ET.fromstring(line_chart("x", [("cpu", [(s["t"], s["cpu_percent"])
                                             for s in stats["series"]])]))
    monitor.log_resource_charts(stats, cpu_limit=80)
