"""Starting a distributed run: a Locust master and local workers as subprocesses.

Neither this module nor its callers import Locust (it patches the interpreter with gevent):
``locust`` runs in processes of its own, with locustfile.py. The master writes the result
file; a run that only joins a master elsewhere (``master_host``) gets the merged result
through its local workers (``--lg-result``). Every wait is bounded; whatever is left
running at the end is killed, process group by process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import protocol
from .merge import failure_message
from .protocol import RunSettings

LOCUSTFILE = str(Path(__file__).with_name("locustfile.py"))
TOKEN_VARIABLE = "LOADGEN_TOKEN"
STARTUP_S = 60.0  # for a master to import Locust and listen (a loaded machine is slow)


class DistributedLoadError(RuntimeError):
    """The distributed run failed or is incomplete; ``result`` holds what it measured
    (None when nothing was)."""

    def __init__(self, message: str, result: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class LaunchOptions:
    """How the processes of a run are started (the run itself is a `RunSettings`).

    ``local_workers``: workers started on this host (default: all ``settings.workers``; when
    joining, that many join from here). ``master_host``/``master_port``: join the master running
    there instead of starting one (then ``master_port`` is required); otherwise a master is
    started, listening on ``bind_host`` and ``master_port`` (0: a free port).
    ``worker_prefix`` goes before each local worker's command, ``{worker}`` in it replaced
    by the worker's number from 1 (``["python", "-m", "nethosts", "exec", "nh-{worker}",
    "--"]``: each worker in a network namespace of its own). ``web_port``: serve Locust's
    web UI on ``bind_host`` (None: headless).
    ``csv_prefix``: Locust's CSV statistics. ``token``: put into the local workers'
    environment as ``settings.token_env``. ``log_dir``: keep the processes' output there.
    """

    local_workers: int | None = None
    master_host: str | None = None
    master_port: int = 0
    bind_host: str = "127.0.0.1"
    worker_prefix: list[str] = field(default_factory=list)
    web_port: int | None = None
    csv_prefix: str | None = None
    token: str | None = field(default=None, repr=False)
    log_dir: str | None = None


class Launcher:
    """One distributed run from this host: ``start()``, ``poll()`` until True, ``result()``;
    or ``wait()``."""

    def __init__(self, settings: RunSettings, options: LaunchOptions,
                 progress: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.options = options
        self.progress = progress
        self.joining = options.master_host is not None
        if self.joining and not options.master_port:
            raise ValueError("joining a master needs its port (master_port)")
        local = options.local_workers
        self.local_workers = settings.workers if local is None else int(local)
        if self.joining and self.local_workers < 1:
            raise ValueError("joining a master needs at least one local worker")
        if self.local_workers > settings.workers:
            raise ValueError(f"{self.local_workers} local workers for a run of "
                             f"{settings.workers}")
        self.workdir = Path(options.log_dir or tempfile.mkdtemp(prefix="loadgen-dist-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.keep = options.log_dir is not None
        self.master: subprocess.Popen[str] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.master_address: tuple[str, int] | None = None
        self.started_at = 0.0
        self.deadline = 0.0
        self.files: list[IO[Any]] = []

    # -- starting -----------------------------------------------------------------------

    def start(self) -> Launcher:
        self.started_at = time.monotonic()
        self.deadline = self.started_at + STARTUP_S + self.settings.longest_s()
        try:
            if self.joining:
                assert self.options.master_host is not None
                self.master_address = (self.options.master_host, self.options.master_port)
            else:
                self.start_master()
            for index in range(self.local_workers):
                self.start_worker(index)
        except BaseException:
            self.close()
            raise
        return self

    def start_master(self) -> None:
        settings = RunSettings(**{**vars(self.settings),
                                  "result_path": str(self.workdir / "result.json")})
        config = self.workdir / "settings.json"
        config.write_text(json.dumps(settings.to_dict()))
        config.chmod(0o600)
        workers = str(self.settings.workers)
        command = [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--master",
                   "--master-bind-host", self.options.bind_host,
                   "--master-bind-port", str(self.options.master_port),
                   "--expect-workers", workers, "-u", workers, "-r", workers,
                   "--expect-workers-max-wait", f"{self.settings.connect_timeout + 30:g}",
                   "--lg-config", str(config), "--only-summary", "--loglevel", "INFO"]
        if self.options.web_port is None:
            command.append("--headless")
        else:
            command += ["--autostart", "--web-host", self.options.bind_host,
                        "--web-port", str(self.options.web_port)]
        if self.options.csv_prefix:
            command += ["--csv", self.options.csv_prefix]
        log = self.open_log("master.log")
        self.master = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=log, text=True,
                                       start_new_session=True)
        threading.Thread(target=self.read_master, args=(self.master.stdout,),
                         name="loadgen-master", daemon=True).start()
        listening = self.wait_event("listening", STARTUP_S)
        if listening is None:
            raise DistributedLoadError(f"the Locust master did not start listening within "
                                       f"{STARTUP_S:g} s{self.tail('master.log')}")
        host = self.options.bind_host
        self.master_address = ("127.0.0.1" if host in ("0.0.0.0", "*", "") else host,
                               int(listening["port"]))
        self.say(f"distributed load {self.settings.load.name}: Locust master listening on "
                 f"{host}:{listening['port']}, {self.settings.workers} worker(s) expected")

    def start_worker(self, index: int) -> None:
        assert self.master_address is not None
        host, port = self.master_address
        # "{worker}" in the prefix is the worker's number (1, 2, …): one host each.
        prefix = [part.replace("{worker}", str(index + 1)) for part in self.options.worker_prefix]
        command = [*prefix, sys.executable, "-m", "locust",
                   "-f", LOCUSTFILE, "--worker", "--master-host", host,
                   "--master-port", str(port),
                   "--lg-connect-timeout", f"{self.settings.connect_timeout:g}",
                   "--loglevel", "INFO"]
        if self.joining:
            command += ["--lg-result", str(self.workdir / f"result-worker{index}.json")]
        env = dict(os.environ)
        if self.options.token and self.settings.token_env:
            env[self.settings.token_env] = self.options.token
        log = self.open_log(f"worker{index}.log")
        self.workers.append(subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, env=env,
                                             start_new_session=True))

    def open_log(self, name: str) -> IO[Any]:
        handle = open(self.workdir / name, "w", encoding="utf-8")  # noqa: SIM115 - kept open
        self.files.append(handle)
        return handle

    def read_master(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            event = protocol.parse_event(line.rstrip("\n"))
            if event is None:
                continue
            with self.lock:
                self.events.append(event)
            self.report(event)

    def report(self, event: dict[str, Any]) -> None:
        kind, name = event["kind"], self.settings.load.name
        if kind == "started":
            self.say(f"distributed load {name}: {event['workers']} workers ready, schedule "
                     f"starts {event['go_delay_s']:g} s after the go")
        elif kind == "progress":
            lost = f", {event['lost_workers']} worker(s) lost" if event["lost_workers"] else ""
            self.say(f"distributed load {name}: {event['seconds']:>4d}/"
                     f"{self.settings.load.duration:.0f} s  sent {event['sent']}  acked "
                     f"{event['acknowledged']}  errored {event['errored']}{lost}")
        elif kind == "lost":
            self.say(f"distributed load {name}: worker {event['worker']} ({event['id']}) "
                     f"lost: {event['reason']}")

    def say(self, line: str) -> None:
        if self.progress is not None:
            self.progress(line)

    def event(self, kind: str) -> dict[str, Any] | None:
        with self.lock:
            return next((e for e in self.events if e["kind"] == kind), None)

    def wait_event(self, kind: str, timeout: float) -> dict[str, Any] | None:
        """Waits (bounded) for the master's event ``kind``; None if the master ended or
        the time passed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.event(kind)
            if found is not None:
                return found
            if self.master is not None and self.master.poll() is not None:
                time.sleep(0.2)  # the reader thread may still hold its last lines
                return self.event(kind)
            time.sleep(0.05)
        return None

    # -- following ----------------------------------------------------------------------

    def poll(self, timeout: float = 0.2) -> bool:
        """True once the run has ended (or must be ended: its time bound passed)."""
        end = time.monotonic() + timeout
        while True:
            if self.ended():
                return True
            if time.monotonic() > self.deadline:
                return True
            if time.monotonic() >= end:
                return False
            time.sleep(0.05)

    def ended(self) -> bool:
        if self.master is not None:
            return self.master.poll() is not None
        return all(worker.poll() is not None for worker in self.workers)

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        """Waits for the end (bounded by the run's own bound, or ``timeout``) and returns
        the result; raises `DistributedLoadError` when the run failed or is incomplete."""
        if timeout is not None:
            self.deadline = min(self.deadline, time.monotonic() + timeout)
        try:
            while not self.poll(0.2):
                pass
            return self.result()
        finally:
            self.close()

    def result(self) -> dict[str, Any]:
        timed_out = not self.ended()
        self.close()
        result = self.read_result()
        if result is None:
            raise DistributedLoadError(self.no_result_reason(timed_out))
        if not result["complete"]:
            said = "; ".join(r for i in range(len(self.workers)) if (r := self.worker_error(i)))
            raise DistributedLoadError(failure_message(result)
                                       + (f" Local workers: {said}." if said else ""), result)
        return result

    def read_result(self) -> dict[str, Any] | None:
        paths = [self.workdir / "result.json"] if not self.joining else \
            [self.workdir / f"result-worker{i}.json" for i in range(self.local_workers)]
        for path in paths:
            if path.exists():
                data: dict[str, Any] = json.loads(path.read_text())
                return data
        return None

    def no_result_reason(self, timed_out: bool) -> str:
        reasons = [self.worker_error(i) for i in range(len(self.workers))]
        said = "; ".join(r for r in reasons if r)
        if timed_out:
            head = (f"the distributed run did not end within its bound of "
                    f"{self.deadline - self.started_at:.0f} s and was killed")
        elif self.joining:
            head = "no merged result came back from the master"
        else:
            code = self.master.returncode if self.master is not None else None
            head = f"the Locust master ended (exit {code}) without a result" \
                   f"{self.tail('master.log')}"
        return f"{head}{'; ' + said if said else ''}"

    def worker_error(self, index: int) -> str:
        """What local worker ``index`` said when it gave up, if it did."""
        code = self.workers[index].returncode
        path = self.workdir / f"worker{index}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        for line in text.splitlines():
            if line.startswith(protocol.ERROR_PREFIX):
                return f"worker {index}: {line[len(protocol.ERROR_PREFIX):]}"
        if code not in (None, 0):
            return f"worker {index} ended with exit code {code}{self.tail(path.name)}"
        return ""

    def tail(self, name: str, lines: int = 5) -> str:
        path = self.workdir / name
        if not path.exists():
            return ""
        last = path.read_text(errors="replace").strip().splitlines()[-lines:]
        return f" (last lines of {path if self.keep else name}: " + " | ".join(last) + ")" \
            if last else ""

    # -- ending -------------------------------------------------------------------------

    def close(self) -> None:
        """Ends whatever still runs: first politely, then by force (bounded)."""
        processes: list[subprocess.Popen[Any]] = [*self.workers]
        if self.master is not None:
            processes.insert(0, self.master)
        for process in processes:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 10.0
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
            _signal_group(process, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5.0)
        for handle in self.files:
            handle.close()
        self.files = []

    def cleanup(self) -> None:
        """Removes the run's files unless a ``log_dir`` was asked for."""
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _signal_group(process: subprocess.Popen[Any], sig: int) -> None:
    # Each process leads a session of its own: its group holds what it started (a worker's
    # engine) too. A group already gone, or emptied by the signal, is fine.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def run_distributed(settings: RunSettings, options: LaunchOptions,
                    progress: Callable[[str], None] | None = None,
                    timeout: float | None = None) -> dict[str, Any]:
    """Runs a distributed load to its end and returns the merged result; raises
    `DistributedLoadError` (with the partial result, if any) when it failed or is
    incomplete."""
    launcher = Launcher(settings, options, progress).start()
    try:
        return launcher.wait(timeout)
    finally:
        launcher.cleanup()
