"""A Locust worker's measuring engine: LoadGenerator's run in a clean process of its own.

    python -m LoadGenerator.distributed.engine     # JSON lines on stdin and stdout

Locust patches the whole interpreter with gevent; the measuring loop must not run under it.
The worker therefore starts this module as a child process (a fresh interpreter: no gevent)
and talks to it by lines of JSON:

- in, first line: ``{"load": {LoadConfig fields}, "token_env": NAME|null,
  "ready_timeout": s}``; later ``{"kind": "go", "delay_s": s}`` (start the schedule that
  long after now, on this host's monotonic clock) or ``{"kind": "stop"}``. End of input
  (the worker is gone) stops the run and ends the engine.
- out: ``ready`` (connections open, host, pid, wall clock), one ``second`` per second of
  the schedule (counts of all the engine's processes), then ``result`` with the raw
  per-process parts of `LoadRun` (histograms in ``Histogram.to_data`` form), or
  ``failed`` with the reason.

Every latency is measured here, on this host's monotonic clock; the master only adds the
histograms of the parts up.
"""

from __future__ import annotations

import json
import os
import select
import socket
import sys
import time
from typing import Any

from ..config import LoadConfig
from ..runner import LoadRun
from .protocol import dumps

GO_WAIT_S = 600.0  # the longest the engine waits for the master's go, connections open


class HeldRun(LoadRun):
    """A load run whose common start comes from outside (the master's go) and which
    reports each second's counts as soon as every process has reported it."""

    def __init__(self, cfg: LoadConfig, emit: Any) -> None:
        super().__init__(cfg)
        self.emit = emit
        self.all_ready = False

    def _handle(self, kind: str, worker: int, data: Any) -> None:
        if kind == "ready":
            self.ready[worker] = data
            if len(self.ready) == self.cfg.workers and not self.all_ready:
                self.all_ready = True
                self.emit({
                    "kind": "ready", "host": socket.gethostname(), "pid": os.getpid(),
                    "wall_time": time.time(),
                    "connections": sum(int(r["connections"]) for r in self.ready.values()),
                    "connect_failures": sum(int(r["connect_failures"])
                                            for r in self.ready.values())})
            return
        super()._handle(kind, worker, data)

    def _second(self, worker: int, data: dict[str, Any]) -> None:
        super()._second(worker, data)
        row = self.seconds[data["second"]]
        if row["workers"] == self.cfg.workers:
            self.emit({"kind": "second", "second": data["second"],
                       **{key: int(row[key]) for key in ("sent", "acknowledged", "errored",
                                                          "pending")},
                       "max_ms": row["max_ms"]})

    def go(self, delay_s: float) -> None:
        if not self.start_ns and not self.control.stopped.is_set():
            self.start_ns = time.monotonic_ns() + int(max(0.0, delay_s) * 1e9)
            self.control.begin(self.start_ns)


class Engine:
    """Reads commands, runs the load, writes events."""

    def __init__(self) -> None:
        self.fd = sys.stdin.fileno()
        self.pending = b""
        self.closed = False      # stdin ended: the worker is gone
        self.out_broken = False

    def emit(self, event: dict[str, Any]) -> None:
        if self.out_broken:
            return
        try:
            sys.stdout.write(dumps(event) + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, OSError):
            self.out_broken = True

    def commands(self, timeout: float) -> list[dict[str, Any]]:
        """The complete lines that arrived within ``timeout`` s."""
        if self.closed:
            time.sleep(timeout)
            return []
        readable, _, _ = select.select([self.fd], [], [], timeout)
        if not readable:
            return []
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.closed = True
            return [{"kind": "stop", "why": "end of input"}]
        self.pending += chunk
        *lines, self.pending = self.pending.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]

    def first(self) -> dict[str, Any]:
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline:
            for command in self.commands(0.5):
                return command
            if self.closed:
                break
        raise RuntimeError("no settings arrived on standard input")

    def run(self) -> int:
        try:
            settings = self.first()
            cfg = self.config(settings)
        except (RuntimeError, ValueError, TypeError) as error:
            self.emit({"kind": "failed", "error": str(error)})
            return 2
        run = HeldRun(cfg, self.emit)
        run.ready_timeout = float(settings.get("ready_timeout", 60.0)) + GO_WAIT_S
        run.start()
        try:
            while not run.poll(0.05):
                for command in self.commands(0.15):
                    if command.get("kind") == "go":
                        run.go(float(command.get("delay_s", 0.0)))
                    elif command.get("kind") == "stop":
                        run.stop()
            run.join(10.0)
            run.result()  # raises when a process failed
        except RuntimeError as error:
            self.emit({"kind": "failed", "error": str(error)})
            return 1
        parts = [run.results[i] for i in sorted(run.results)]
        self.emit({"kind": "result", "parts": parts})
        return 0

    @staticmethod
    def config(settings: dict[str, Any]) -> LoadConfig:
        load = dict(settings["load"])
        token_env = settings.get("token_env")
        if token_env:
            token = os.environ.get(token_env)
            if not token:
                raise ValueError(f"the environment variable {token_env} (the bearer token) "
                                 f"is not set on {socket.gethostname()}")
            load["token"] = token
        return LoadConfig(**load)


def main() -> int:
    return Engine().run()


if __name__ == "__main__":
    sys.exit(main())
