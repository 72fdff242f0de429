"""What the master, the workers and their engines say to each other, and the run's settings.

Nothing here imports Locust: the launcher, the engine and the tests use it as well as the
locustfile. Messages between master and workers are Locust custom messages (ZeroMQ,
msgpack); a worker's raw parts travel as one JSON text, so that the histograms' integer
bucket keys arrive as they were written whatever the transport does with map keys.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import LoadConfig

# Master -> worker
PREPARE = "loadgen_prepare"   # your share: open the connections, report ready
GO = "loadgen_go"             # start the schedule ``delay_s`` after this arrives
STOP = "loadgen_stop"         # stop sending, report what was measured
FINAL = "loadgen_final"       # the merged result (workers that joined write it out)
# Worker -> master
HELLO = "loadgen_hello"       # this worker's handlers are in place: it can take part
READY = "loadgen_ready"       # connections open; host, pid, wall clock
PROGRESS = "loadgen_progress" # one second's counts
RESULT = "loadgen_result"     # the raw parts (JSON text)
FAILED = "loadgen_failed"     # the engine failed or ended without a result

EVENT_PREFIX = "loadgen-event "  # the master's lines on stdout, for the launcher
ERROR_PREFIX = "loadgen-error: "  # a worker's last word on stderr before it exits
EXIT_UNREACHABLE = 3             # a worker that could not reach the master

# Fields of LoadConfig a worker's engine gets (the token never travels: see token_env).
_SENT_FIELDS = ("url", "rate", "duration", "message", "reply_type", "id_field", "error_type",
                "warmup", "drain_timeout", "connect_timeout", "connect_concurrency",
                "processes", "headers", "tick", "name", "ca_bundle", "client_cert",
                "client_key", "verify", "secret_url")


@dataclass
class RunSettings:
    """A distributed run as the master carries it out.

    ``load`` is the whole run (all connections); each of the ``workers`` Locust workers gets
    an even share of its connections and idle connections and runs it in a LoadGenerator
    engine of its own (``load.processes`` processes per worker, 0 = a thread of the
    engine). Every phase is bounded: ``connect_timeout`` for the workers to connect,
    ``ready_timeout`` for their connections to open, then the schedule, the drain and
    ``result_grace`` for the results to arrive. The schedule starts ``go_delay`` seconds
    after each worker receives the go, on that worker's own clock.

    ``token_env`` names an environment variable that holds the bearer token on every
    worker: the token itself never crosses the network. ``max_clock_offset`` (s): refuse
    to start when a worker's wall clock differs from the master's by more (None: only
    report it; latency never depends on it).
    """

    load: LoadConfig
    workers: int = 2
    connect_timeout: float = 30.0
    ready_timeout: float = 60.0
    go_delay: float = 1.0
    result_grace: float = 15.0
    token_env: str | None = None
    max_clock_offset: float | None = None
    progress_interval: float = 5.0
    result_path: str | None = None

    def __post_init__(self) -> None:
        self.workers = int(self.workers)
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.load.connections < self.workers:
            raise ValueError(f"{self.load.connections} connection(s) cannot be shared by "
                             f"{self.workers} workers: give each at least one")
        for name in ("connect_timeout", "ready_timeout", "result_grace"):
            if float(getattr(self, name)) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0 <= self.go_delay <= 60:
            raise ValueError(f"go_delay must be between 0 and 60 s, got {self.go_delay}")

    def share(self, index: int) -> tuple[int, int]:
        """Connections and idle connections of worker ``index``: an even split."""
        return (_split(self.load.connections, self.workers, index),
                _split(self.load.idle_connections, self.workers, index))

    def worker_load(self, index: int) -> dict[str, Any]:
        """What worker ``index``'s engine runs (a LoadConfig's fields, without a token)."""
        connections, idle = self.share(index)
        data = {name: getattr(self.load, name) for name in _SENT_FIELDS}
        data.update(connections=connections, idle_connections=idle,
                    name=f"{self.load.name}-w{index}", progress_interval=3600.0)
        return data

    def longest_s(self) -> float:
        """The most a whole run may take, every phase at its bound."""
        return (self.connect_timeout + self.ready_timeout + self.go_delay
                + self.load.duration + self.load.drain_timeout + self.result_grace + 30.0)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["load"] = {name: getattr(self.load, name) for name in _SENT_FIELDS}
        data["load"].update(connections=self.load.connections,
                            idle_connections=self.load.idle_connections)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSettings:
        data = dict(data)
        return cls(load=LoadConfig(**data.pop("load")), **data)


@dataclass
class WorkerState:
    """What the master knows of one worker of the run."""

    index: int
    client_id: str
    connections: int
    host: str = ""
    pid: int = 0                # the engine's
    worker_pid: int = 0         # the Locust worker's
    status: str = "connected"   # connected, ready, running, complete, lost, failed
    reason: str = ""
    connections_open: int = 0
    connect_failures: int = 0
    clock_offset_ms: float | None = None
    last_second: int = -1
    sent: int = 0
    acknowledged: int = 0
    errored: int = 0
    in_flight: int = 0
    parts: list[dict[str, Any]] = field(default_factory=list)
    was_missing: bool = False

    def count(self, second: dict[str, Any]) -> None:
        """Adds one second of progress (a second reported twice counts once)."""
        if int(second["second"]) <= self.last_second:
            return
        self.last_second = int(second["second"])
        self.sent += int(second["sent"])
        self.acknowledged += int(second["acknowledged"])
        self.errored += int(second["errored"])
        self.in_flight = int(second.get("pending", 0))


def _split(total: int, parts: int, index: int) -> int:
    base, extra = divmod(total, parts)
    return base + (1 if index < extra else 0)


def clock_offset_ms(worker_wall_s: float, master_wall_s: float) -> float:
    """How far a worker's wall clock is ahead of the master's (ms), from the wall time the
    worker put into a message and the master's wall time when it arrived: the network delay
    makes the worker look that much behind, so this is accurate to one message's trip.
    Informative only: no latency is ever computed from two hosts' clocks."""
    return round((worker_wall_s - master_wall_s) * 1000, 1)


WARN_CLOCK_OFFSET_MS = 1000.0


def clock_findings(workers: list[WorkerState], limit_s: float | None) -> tuple[str | None,
                                                                             list[str]]:
    """The error that stops a run before its start (a wall clock further from the master's
    than ``limit_s``), and warnings for clocks more than a second off."""
    warnings: list[str] = []
    for worker in workers:
        offset = worker.clock_offset_ms or 0.0
        text = (f"worker {worker.index} ({worker.host})'s wall clock differs from the "
                f"master's by about {offset / 1000:+.3f} s")
        if limit_s is not None and abs(offset) > limit_s * 1000:
            return (f"{text}, more than max_clock_offset {limit_s:g} s: the run was not "
                    f"started"), warnings
        if abs(offset) > WARN_CLOCK_OFFSET_MS:
            warnings.append(f"{text}; latency is measured on each worker's own monotonic "
                            f"clock and is not affected, but the {{timestamp}} its messages "
                            f"carry is that clock's")
    return None, warnings


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def event_line(kind: str, **data: Any) -> str:
    return EVENT_PREFIX + dumps({"kind": kind, **data})


def parse_event(line: str) -> dict[str, Any] | None:
    if not line.startswith(EVENT_PREFIX):
        return None
    try:
        event = json.loads(line[len(EVENT_PREFIX):])
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def write_json(path: str | Path, data: Any) -> None:
    """Writes ``data`` so that a reader never sees half a file (private: it may hold URLs)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=1)
    os.replace(temporary, target)
