"""Starting a load run's workers (threads or processes), following them, merging results.

The caller's thread only waits, in short slices (``poll``): Robot Framework's timeouts
and Ctrl-C keep working, and a progress line can be printed between slices.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from .config import LoadConfig
from .histogram import merged
from .worker import run_worker

START_DELAY_NS = 50_000_000     # the common start lies this far after the last worker is ready
READY_TIMEOUT_S = 120.0
MIN_CPU_SPAN_S = 0.5  # the shortest run whose CPU share of a core is reported


class ThreadControl:
    """Control of a worker running in a thread of this process."""

    def __init__(self) -> None:
        self.messages: queue.Queue[tuple[str, int, Any]] = queue.Queue()
        self.started = threading.Event()
        self.stopped = threading.Event()
        self.start_ns = 0

    def send(self, kind: str, worker: int, data: Any) -> None:
        self.messages.put((kind, worker, data))

    def wait_start(self, timeout: float) -> int | None:
        if not self.started.wait(timeout) or self.stopped.is_set():
            return None
        return self.start_ns

    def stop_requested(self) -> bool:
        return self.stopped.is_set()

    def begin(self, start_ns: int) -> None:
        self.start_ns = start_ns
        self.started.set()

    def get(self, timeout: float) -> tuple[str, int, Any] | None:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None


class ProcessControl:
    """Control of workers in processes of their own (picklable: spawn passes it along)."""

    def __init__(self, ctx: Any) -> None:
        self.messages = ctx.Queue()
        self.started = ctx.Event()
        self.stopped = ctx.Event()
        self.start_value = ctx.Value("q", 0)

    def send(self, kind: str, worker: int, data: Any) -> None:
        self.messages.put((kind, worker, data))

    def wait_start(self, timeout: float) -> int | None:
        if not self.started.wait(timeout) or self.stopped.is_set():
            return None
        return int(self.start_value.value)

    def stop_requested(self) -> bool:
        return bool(self.stopped.is_set())

    def begin(self, start_ns: int) -> None:
        self.start_value.value = start_ns
        self.started.set()

    def get(self, timeout: float) -> tuple[str, int, Any] | None:
        try:
            item: tuple[str, int, Any] = self.messages.get(timeout=timeout)
            return item
        except queue.Empty:
            return None


class LoadRun:
    """One load run: ``start()``, then ``poll()`` until it returns True, then ``result()``."""

    def __init__(self, cfg: LoadConfig, progress: Callable[[str], None] | None = None) -> None:
        self.cfg = cfg
        self.progress = progress
        self.control: ThreadControl | ProcessControl
        self.workers: list[Any] = []
        self.ready: dict[int, dict[str, Any]] = {}
        self.results: dict[int, dict[str, Any]] = {}
        self.failures: dict[int, str] = {}
        self.seconds: dict[int, dict[str, float]] = {}
        self.started_at = 0.0
        self.start_ns = 0
        self.last_progress = 0.0
        self.merged: dict[str, Any] | None = None
        self.ready_timeout = READY_TIMEOUT_S  # for the connections to open and the start

    @property
    def finished(self) -> bool:
        return len(self.results) + len(self.failures) >= self.cfg.workers

    def start(self) -> LoadRun:
        self.started_at = self.last_progress = time.monotonic()
        count = self.cfg.workers
        if self.cfg.processes == 0:
            control = ThreadControl()
            self.control = control
            self.workers = [threading.Thread(target=run_worker, args=(self.cfg, 0, control),
                                             name=f"load-{self.cfg.name}", daemon=True)]
        else:
            ctx = multiprocessing.get_context("spawn")
            pcontrol = ProcessControl(ctx)
            self.control = pcontrol
            self.workers = [ctx.Process(target=run_worker, args=(self.cfg, i, pcontrol),
                                        name=f"load-{self.cfg.name}-{i}", daemon=True)
                            for i in range(count)]
        for worker in self.workers:
            worker.start()
        return self

    def poll(self, timeout: float = 0.2) -> bool:
        """Handles what the workers reported within ``timeout`` s; True once all ended."""
        deadline = time.monotonic() + timeout
        while not self.finished:
            item = self.control.get(max(0.0, deadline - time.monotonic()))
            if item is None:
                break
            self._handle(*item)
        if not self.start_ns and not self.finished and \
                time.monotonic() - self.started_at > self.ready_timeout:
            self.stop()
            raise RuntimeError(f"the load's connections were not open within "
                               f"{self.ready_timeout:g} s")
        if not self.finished and any(not w.is_alive() for w in self.workers):
            self._reap_dead()
        return self.finished

    def _handle(self, kind: str, worker: int, data: Any) -> None:
        if kind == "ready":
            self.ready[worker] = data
            if len(self.ready) == self.cfg.workers:
                self.start_ns = time.monotonic_ns() + START_DELAY_NS
                self.control.begin(self.start_ns)
        elif kind == "second":
            self.seconds.setdefault(data["second"], {})
            self._second(worker, data)
        elif kind == "result":
            self.results[worker] = data
        elif kind == "failed":
            self.failures[worker] = data
            self.stop()

    def _second(self, worker: int, data: dict[str, Any]) -> None:
        second = data["second"]
        row = self.seconds[second]
        for key in ("sent", "acknowledged", "errored", "pending"):
            row[key] = row.get(key, 0) + data[key]
        row["max_ms"] = max(row.get("max_ms", 0.0), data["max_ms"])
        row["workers"] = row.get("workers", 0) + 1
        now = time.monotonic()
        if (self.progress and row["workers"] == self.cfg.workers
                and now - self.last_progress >= self.cfg.progress_interval):
            self.last_progress = now
            totals = {key: sum(r.get(key, 0) for r in self.seconds.values())
                      for key in ("sent", "acknowledged", "errored")}
            self.progress(
                f"load {self.cfg.name}: {second + 1:>4d}/{self.cfg.duration:.0f} s  "
                f"sent {totals['sent']:.0f}  acked {totals['acknowledged']:.0f}  "
                f"errored {totals['errored']:.0f}  in flight {row['pending']:.0f}  "
                f"slowest reply of the second {row['max_ms']:.1f} ms")

    def _reap_dead(self) -> None:
        # A process that died without a word (killed, out of memory) is a failure too.
        time.sleep(0.05)
        while (item := self.control.get(0.0)) is not None:
            self._handle(*item)
        for index, worker in enumerate(self.workers):
            if not worker.is_alive() and index not in self.results \
                    and index not in self.failures:
                code = getattr(worker, "exitcode", None)
                self.failures[index] = f"worker {index} ended without a result (exit {code})"
                self.stop()

    def stop(self) -> None:
        """Asks every worker to stop sending (they still report what they measured)."""
        self.control.stopped.set()
        if not self.control.started.is_set():
            self.control.begin(time.monotonic_ns())

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        """Waits for the end (in 0.2 s slices) and returns the merged result."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not self.poll(0.2):
                if deadline is not None and time.monotonic() > deadline:
                    self.stop()
                    deadline = None
        except BaseException:
            self.stop()
            self.join(5.0)
            raise
        self.join(10.0)
        return self.result()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.is_alive() and hasattr(worker, "terminate"):
                worker.terminate()

    def result(self) -> dict[str, Any]:
        if self.failures:
            texts = set(self.failures.values())
            if len(texts) == 1 and "\n" not in (text := texts.pop()):
                raise RuntimeError(f"the load run {self.cfg.name} failed: {text}")
            details = "\n".join(f"worker {i}: {text}" for i, text in sorted(self.failures.items()))
            raise RuntimeError(f"the load run {self.cfg.name} failed:\n{details}")
        if self.merged is None:
            self.merged = merge_results(self.cfg, [self.results[i] for i in sorted(self.results)],
                                        time.monotonic() - self.started_at)
            # CLOCK_MONOTONIC is one clock for the machine: lets a caller line samples of
            # its own (CPU, memory) up with the run's schedule.
            self.merged["start_monotonic_s"] = self.start_ns / 1e9
        return self.merged


def merge_results(cfg: LoadConfig, parts: list[dict[str, Any]],
                  elapsed: float) -> dict[str, Any]:
    """The run's figures from its workers' results (histograms merged, counts summed)."""
    def total(key: str) -> int:
        return sum(int(p[key]) for p in parts)

    errors: dict[str, int] = {}
    for part in parts:
        for code, count in part["errors"].items():
            errors[code] = errors.get(code, 0) + count
    read_timed: dict[str, int] = {}  # replies timed by their read, not the kernel, and why
    for part in parts:
        for reason, count in part.get("read_timed", {}).items():
            read_timed[reason] = read_timed.get(reason, 0) + count
    measured_s = max(cfg.duration - cfg.warmup, 1e-9)
    expected = round(cfg.offered_rate * measured_s)
    acknowledged = total("acknowledged")
    # Acks that trail in after the schedule ended (a server behind) stretch the span.
    span = max([measured_s] + [float(p["last_ack_s"]) - cfg.warmup for p in parts])
    seconds: dict[int, dict[str, Any]] = {}
    for part in parts:
        for entry in part["timeline"]:
            row = seconds.setdefault(entry["second"], {"sent": 0, "acknowledged": 0,
                                                        "errored": 0, "lag_max_ms": 0.0,
                                                        "histograms": []})
            for key in ("sent", "acknowledged", "errored"):
                row[key] += entry[key]
            row["lag_max_ms"] = max(row["lag_max_ms"], entry["lag_max_ms"])
            row["histograms"].append(entry["histogram"])
    timeline = []
    for second in sorted(seconds):
        row = seconds[second]
        latency = merged(row.pop("histograms")).summary()
        timeline.append({"second": second, **row, "p50": latency["p50"],
                         "p95": latency["p95"], "p99": latency["p99"], "max": latency["max"]})
    cpu_s = sum(float(p["cpu_s"]) for p in parts)
    run_s = max((float(p["elapsed_s"]) for p in parts), default=0.0)
    return {
        "name": cfg.name, "url": cfg.log_url, "connections": cfg.connections,
        "connections_open": total("connections"), "connect_failures": total("connect_failures"),
        "idle_connections_open": sum(int(p.get("idle_connections", 0)) for p in parts),
        "dropped_connections": total("dropped"), "rate_per_connection": cfg.rate,
        "offered_rate": cfg.offered_rate, "duration_s": cfg.duration, "warmup_s": cfg.warmup,
        "processes": cfg.processes, "workers": len(parts), "expected": expected,
        "scheduled": total("scheduled"), "sent": total("sent"), "acknowledged": acknowledged,
        "lost": total("lost"), "errored": total("error_replies") + total("send_failures"),
        "error_replies": total("error_replies"), "send_failures": total("send_failures"),
        "errors": errors, "stopped": any(p["stopped"] for p in parts),
        "replies_timed_at_read": sum(read_timed.values()),
        "timed_at_read_reasons": read_timed,
        "delivery_percent": round(100.0 * acknowledged / expected, 4) if expected else 0.0,
        "achieved_rate": round(acknowledged / span, 1),
        "latency_ms": merged([p["latency"] for p in parts]).summary(),
        "latency_from_send_ms": merged([p["service"] for p in parts]).summary(),
        "schedule_lag_ms": merged([p["lag"] for p in parts]).summary(),
        "connect_ms": merged([p["connect"] for p in parts]).summary(),
        "timeline": timeline, "generator_cpu_s": round(cpu_s, 3),
        # Over a run that hardly ran (no connection opened) a share of a core means nothing.
        "generator_cpu_percent": round(100.0 * cpu_s / run_s, 1) if run_s >= MIN_CPU_SPAN_S
        else 0.0,
        "run_s": round(run_s, 3), "elapsed_s": round(elapsed, 3)}


def run_load(cfg: LoadConfig, progress: Callable[[str], None] | None = None,
             timeout: float | None = None) -> dict[str, Any]:
    """Runs ``cfg`` to its end and returns the merged figures."""
    return LoadRun(cfg, progress).start().wait(timeout)
