"""Sampling a process's CPU, memory, descriptors and threads in a background thread."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Protocol

import psutil


@dataclass
class Sample:
    """One sample: ``t`` seconds since the monitor started; ``cpu_percent`` of one core."""

    t: float
    cpu_percent: float
    rss_bytes: int
    fds: int | None
    threads: int | None

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


class Source(Protocol):
    """Where samples come from: a local pid, or a Prometheus endpoint's process_* series."""

    description: str

    def sample(self, t: float) -> Sample: ...


class PidSource:
    """psutil on a local process (optionally with its children)."""

    def __init__(self, pid: int, include_children: bool = False) -> None:
        try:
            self.process = psutil.Process(int(pid))
        except psutil.NoSuchProcess:
            raise AssertionError(f"No process with pid {pid} to monitor.") from None
        self.include_children = include_children
        command = " ".join(" ".join(self.process.cmdline()[:3]).split())
        self.description = f"pid {pid} ({command[:60]})" + \
            (" and its children" if include_children else "")
        self._children: dict[int, psutil.Process] = {}
        self.process.cpu_percent(None)  # primes the CPU counter: the next call is a delta

    def _processes(self) -> list[psutil.Process]:
        if not self.include_children:
            return [self.process]
        current = {}
        for child in self.process.children(recursive=True):
            known = self._children.get(child.pid)
            if known is None:
                child.cpu_percent(None)
                known = child
            current[child.pid] = known
        self._children = current
        return [self.process, *current.values()]

    def sample(self, t: float) -> Sample:
        cpu = 0.0
        rss = 0
        fds = threads = 0
        for process in self._processes():
            try:
                with process.oneshot():
                    cpu += process.cpu_percent(None)
                    rss += process.memory_info().rss
                    fds += process.num_fds()
                    threads += process.num_threads()
            except psutil.NoSuchProcess:
                if process is self.process:
                    raise
        return Sample(t, cpu, rss, fds, threads)


class PrometheusSource:
    """The standard process_* series of an exposition endpoint (a remote target)."""

    def __init__(self, url: str) -> None:
        from PrometheusLibrary.scrape import scrape

        self.url = url
        self.scrape = scrape
        self.description = f"process_* series of {url}"
        first = self._read()
        if first["rss"] is None or first["cpu"] is None:
            raise AssertionError(f"{url} has no process_resident_memory_bytes / "
                                 f"process_cpu_seconds_total series to sample.")
        self.last_cpu, self.last_at = first["cpu"], time.monotonic()

    def _read(self) -> dict[str, float | None]:
        found = self.scrape(self.url, 5.0)
        values: dict[str, float | None] = {"rss": None, "cpu": None, "fds": None}
        for sample in found.samples:
            if sample.name == "process_resident_memory_bytes":
                values["rss"] = sample.value
            elif sample.name == "process_cpu_seconds_total":
                values["cpu"] = sample.value
            elif sample.name == "process_open_fds":
                values["fds"] = sample.value
        return values

    def sample(self, t: float) -> Sample:
        values = self._read()
        now = time.monotonic()
        cpu_s = values["cpu"] or 0.0
        percent = 100.0 * (cpu_s - self.last_cpu) / max(now - self.last_at, 1e-9)
        self.last_cpu, self.last_at = cpu_s, now
        fds = values["fds"]
        return Sample(t, max(percent, 0.0), int(values["rss"] or 0),
                      None if fds is None else int(fds), None)


class Sampler:
    """Takes a sample every ``interval`` s in a daemon thread until ``stop()``."""

    def __init__(self, source: Source, interval: float) -> None:
        self.source = source
        self.interval = interval
        self.samples: list[Sample] = []
        self.error: str | None = None
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="resource-monitor", daemon=True)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        n = 1
        while not self._stop.wait(max(0.0, self.started + n * self.interval - time.monotonic())):
            try:
                sample = self.source.sample(time.monotonic() - self.started)
            except Exception as error:  # the process ended or the endpoint went away
                self.error = f"{type(error).__name__}: {error}"
                return
            with self._lock:
                self.samples.append(sample)
            n += 1

    def snapshot(self) -> list[Sample]:
        with self._lock:
            return list(self.samples)

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join(timeout=self.interval + 10)
        return self.snapshot()
