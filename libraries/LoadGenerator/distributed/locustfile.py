"""Locust's side of a distributed LoadGenerator run: ``locust -f`` loads this file.

Locust carries the run across machines (its ZeroMQ master/worker link, heartbeats, web UI,
CSV files); LoadGenerator measures. The master, started with ``--lg-config`` (a
`RunSettings` JSON file, written by `launcher.Launcher`), waits for its workers, gives each
its share of the connections (`protocol.PREPARE`), waits until every worker's connections
are open, then sends the go: each worker starts its schedule ``go_delay`` after the go
arrives, on its own clock (no wall-clock start time: clocks of machines differ). Each
worker runs LoadGenerator's engine in a child process (engine.py: no gevent there),
forwards its per-second counts and at the end its raw parts (HDR histograms); the master
merges them exactly (merge.py) and writes the result file. A worker that stops sending
heartbeats, quits or whose engine fails is listed with what it had reported, and the
result is marked incomplete.

Locust's request statistics (web UI, ``--csv``) get each second's acknowledged and errored
messages, without a response time: throughput only. Latency comes from the histograms.

Workers started with ``--lg-connect-timeout S`` give up when the master is not reached
within S seconds (exit code 3, saying so); ``--lg-result FILE`` writes the merged result
the master sends at the end (how a worker that joined a master elsewhere learns it).

Started by ``python -m LoadGenerator.distributed`` and the ``Run Distributed Load``
keyword; not meant to be run by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
import traceback
from typing import Any

import gevent
from locust import User, constant, events, task
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner

from LoadGenerator.distributed import protocol
from LoadGenerator.distributed.merge import build_result
from LoadGenerator.distributed.protocol import RunSettings, WorkerState, clock_offset_ms

log = logging.getLogger("loadgen")
_CONNECTED = {"value": False}
_DONE = ("complete", "lost", "failed")


class LoadGeneratorEngine(User):
    """One per worker in Locust's view: the LoadGenerator engine that the worker runs. It
    does nothing itself; the engine is driven by the master's messages."""

    wait_time = constant(3600)

    @task
    def hold(self) -> None:
        """The engine runs beside the user; nothing to do here."""


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument("--lg-config", default="", include_in_web_ui=False,
                        help="master: the distributed run's settings (JSON)")
    parser.add_argument("--lg-connect-timeout", type=float, default=0.0,
                        include_in_web_ui=False,
                        help="worker: give up when the master is not reached within this "
                             "many seconds (0: Locust's own retries)")
    parser.add_argument("--lg-result", default="", include_in_web_ui=False,
                        help="worker: write the merged result the master sends here")


def _emit(kind: str, **data: Any) -> None:
    print(protocol.event_line(kind, **data), flush=True)


def _watch_connection() -> None:
    """In a worker with --lg-connect-timeout: exit, saying why, when the master is not
    reached in time (Locust itself would retry for five minutes)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--master-host", default="127.0.0.1")
    parser.add_argument("--master-port", type=int, default=5557)
    parser.add_argument("--lg-connect-timeout", type=float, default=0.0)
    known, _ = parser.parse_known_args(sys.argv[1:])
    if not known.worker or known.lg_connect_timeout <= 0:
        return

    def give_up() -> None:
        if not _CONNECTED["value"]:
            sys.stderr.write(f"{protocol.ERROR_PREFIX}could not reach the Locust master at "
                             f"{known.master_host}:{known.master_port} within "
                             f"{known.lg_connect_timeout:g} s\n")
            sys.stderr.flush()
            os._exit(protocol.EXIT_UNREACHABLE)

    gevent.spawn_later(known.lg_connect_timeout, give_up)


_watch_connection()


@events.init.add_listener
def _on_init(environment: Any, runner: Any, **_: Any) -> None:
    if isinstance(runner, MasterRunner):
        Master(environment, runner).begin()
    elif isinstance(runner, WorkerRunner):
        _CONNECTED["value"] = True
        WorkerSide(environment, runner)


class Master:
    """Carries a run out on the master: connect, prepare, ready, go, collect, merge."""

    def __init__(self, environment: Any, runner: MasterRunner) -> None:
        options = environment.parsed_options
        if not options.lg_config:
            raise SystemExit("this locustfile's master needs --lg-config (it is started by "
                             "python -m LoadGenerator.distributed)")
        with open(options.lg_config, encoding="utf-8") as source:
            self.settings = RunSettings.from_dict(json.load(source))
        self.environment = environment
        self.runner = runner
        self.workers: dict[str, WorkerState] = {}
        self.greeted: set[str] = set()  # workers whose handlers are in place
        self.error: str | None = None
        self.warnings: list[str] = []
        self.began = time.monotonic()
        self.go_at = 0.0
        port = runner.server.port
        runner.master_bind_port = port  # a reset of the link binds the same port again
        host = options.master_bind_host
        self.address = f"{'0.0.0.0' if host == '*' else host}:{port}"
        for kind, handler in ((protocol.HELLO, self.on_hello), (protocol.READY, self.on_ready),
                              (protocol.PROGRESS, self.on_progress),
                              (protocol.RESULT, self.on_result),
                              (protocol.FAILED, self.on_failed)):
            runner.register_message(kind, handler)

    def begin(self) -> None:
        _emit("listening", host=self.address.rsplit(":", 1)[0], port=self.runner.server.port,
              pid=os.getpid())
        gevent.spawn(self.orchestrate)

    # -- messages from the workers ---------------------------------------------------

    def _worker(self, msg: Any) -> WorkerState | None:
        return self.workers.get(msg.node_id)

    def on_hello(self, environment: Any, msg: Any, **_: Any) -> None:
        self.greeted.add(msg.node_id)

    def on_ready(self, environment: Any, msg: Any, **_: Any) -> None:
        worker = self._worker(msg)
        if worker is None or worker.status != "connected":
            return
        data = msg.data
        worker.host, worker.pid = data["host"], int(data["pid"])
        worker.worker_pid = int(data.get("worker_pid", 0))
        worker.connections_open = int(data["connections"])
        worker.connect_failures = int(data["connect_failures"])
        worker.clock_offset_ms = clock_offset_ms(float(data["wall_time"]), time.time())
        worker.status = "ready"

    def on_progress(self, environment: Any, msg: Any, **_: Any) -> None:
        worker = self._worker(msg)
        if worker is not None:
            worker.count(msg.data)

    def on_result(self, environment: Any, msg: Any, **_: Any) -> None:
        worker = self._worker(msg)
        if worker is None or worker.status in ("complete", "failed"):
            return
        worker.parts = json.loads(msg.data["parts"])
        worker.status, worker.reason = "complete", ""

    def on_failed(self, environment: Any, msg: Any, **_: Any) -> None:
        worker = self._worker(msg)
        if worker is None or worker.status in _DONE:
            return
        worker.status, worker.reason = "failed", str(msg.data["error"])

    # -- the run ------------------------------------------------------------------------

    def orchestrate(self) -> None:
        try:
            self.run()
        except Exception as error:  # reported in the result, never lost
            log.error("the master failed: %s", traceback.format_exc())
            self.error = f"the master failed: {type(error).__name__}: {error}"
        self.finish()

    def connected(self) -> list[str]:
        """Workers that can take part: connected, not missing, and past their init (Locust
        acknowledges a worker before its locustfile's handlers exist; a message sent to
        it in between would be dropped)."""
        return [cid for cid, node in self.runner.clients.items()
                if node.state != STATE_MISSING and cid in self.greeted]

    def run(self) -> None:
        settings = self.settings
        deadline = time.monotonic() + settings.connect_timeout
        while len(connected := self.connected()) < settings.workers:
            if time.monotonic() > deadline:
                names = f": {', '.join(connected)}" if connected else ""
                self.error = (f"only {len(connected)} of {settings.workers} workers connected "
                              f"to the master at {self.address} within "
                              f"{settings.connect_timeout:g} s{names}")
                return
            gevent.sleep(0.2)
        for index, cid in enumerate(connected[:settings.workers]):
            connections, _ = settings.share(index)
            self.workers[cid] = WorkerState(index, cid, connections)
            self.runner.send_message(protocol.PREPARE, {
                "index": index, "load": settings.worker_load(index),
                "token_env": settings.token_env, "ready_timeout": settings.ready_timeout},
                client_id=cid)
        _emit("prepared", workers=list(self.workers))
        if not self.wait_all(lambda w: w.status != "connected", settings.ready_timeout):
            for worker in self.pending(lambda w: w.status == "connected"):
                worker.status = "failed"
                worker.reason = (f"its connections were not open within "
                                 f"{settings.ready_timeout:g} s")
        if any(w.status != "ready" for w in self.workers.values()):
            self.error = "the run did not start: a worker was not ready"
            self.abort()
            return
        if self.clocks_disagree():
            self.abort()
            return
        for cid in self.workers:
            self.runner.send_message(protocol.GO, {"delay_s": settings.go_delay}, client_id=cid)
            self.workers[cid].status = "running"
        self.go_at = time.monotonic()
        _emit("started", workers=len(self.workers), go_delay_s=settings.go_delay)
        bound = (settings.go_delay + settings.load.duration + settings.load.drain_timeout
                 + settings.result_grace)
        if not self.wait_all(lambda w: w.status in _DONE, bound, progress=True):
            for worker in self.pending(lambda w: w.status not in _DONE):
                worker.status = "lost"
                worker.reason = f"no result within {bound:g} s of the start"

    def pending(self, condition: Any) -> list[WorkerState]:
        return [w for w in self.workers.values() if condition(w)]

    def wait_all(self, condition: Any, timeout: float, progress: bool = False) -> bool:
        """Waits until every worker meets ``condition`` or is lost; False on timeout.
        A worker Locust marks missing (no heartbeat) or that left is lost from then on;
        its result is still taken if it comes back with one in time."""
        deadline = time.monotonic() + timeout
        shown = time.monotonic()
        while True:
            self.check_presence()
            if all(condition(w) or w.status in ("lost", "failed")
                   for w in self.workers.values()):
                return True
            if time.monotonic() > deadline:
                return False
            if progress and time.monotonic() - shown >= self.settings.progress_interval:
                shown = time.monotonic()
                self.show_progress()
            gevent.sleep(0.2)

    def check_presence(self) -> None:
        for worker in self.workers.values():
            node = self.runner.clients.get(worker.client_id)
            if node is None or node.state == STATE_MISSING:
                worker.was_missing = True
                if worker.status not in _DONE:
                    second = f" after {worker.last_second + 1} s of the schedule" \
                        if worker.last_second >= 0 else ""
                    worker.status = "lost"
                    worker.reason = ("it left the master" if node is None else
                                     "it stopped sending heartbeats (Locust marked it "
                                     "missing)") + second
                    _emit("lost", worker=worker.index, id=worker.client_id,
                          reason=worker.reason)

    def show_progress(self) -> None:
        totals = {key: sum(getattr(w, key) for w in self.workers.values())
                  for key in ("sent", "acknowledged", "errored")}
        seconds = [w.last_second + 1 for w in self.workers.values()
                   if w.status not in ("lost", "failed")]
        _emit("progress", seconds=min(seconds, default=0), **totals,
              lost_workers=sum(1 for w in self.workers.values() if w.status == "lost"))

    def clocks_disagree(self) -> bool:
        error, warnings = protocol.clock_findings(list(self.workers.values()),
                                                  self.settings.max_clock_offset)
        self.warnings += warnings
        self.error = error or self.error
        return error is not None

    def abort(self) -> None:
        for cid, worker in self.workers.items():
            if worker.status not in _DONE:
                self.runner.send_message(protocol.STOP, {}, client_id=cid)
                worker.status, worker.reason = "failed", worker.reason or "stopped: the run " \
                    "did not start"

    def finish(self) -> None:
        settings = self.settings
        elapsed = time.monotonic() - (self.go_at or self.began)
        ordered = sorted(self.workers.values(), key=lambda w: w.index)
        result = build_result(settings, ordered, elapsed, self.address, self.error,
                              self.warnings)
        if settings.result_path:
            protocol.write_json(settings.result_path, result)
        _emit("result", path=settings.result_path, complete=result["complete"],
              error=result["error"])
        text = protocol.dumps(result)
        for cid in self.connected():
            with contextlib.suppress(Exception):
                self.runner.send_message(protocol.FINAL, {"result": text}, client_id=cid)
        gevent.sleep(0.5)
        code = 0 if result["complete"] else 2
        self.environment.process_exit_code = code
        # Locust's own headless start may still be waiting for its --expect-workers: this
        # ends that wait at its next look (it exits 1; the result file says why).
        self.environment.parsed_options.expect_workers_max_wait = 0.001
        gevent.spawn_later(10.0, os._exit, code)  # whatever else Locust's main loop does
        self.runner.quit()
        if self.environment.web_ui is not None:
            self.environment.web_ui.stop()


class WorkerSide:
    """Runs the engine on a worker and relays between it and the master."""

    def __init__(self, environment: Any, runner: WorkerRunner) -> None:
        self.environment = environment
        self.runner = runner
        self.engine: subprocess.Popen[bytes] | None = None
        self.result_path = environment.parsed_options.lg_result
        for kind, handler in ((protocol.PREPARE, self.on_prepare), (protocol.GO, self.on_go),
                              (protocol.STOP, self.on_stop), (protocol.FINAL, self.on_final)):
            runner.register_message(kind, handler)
        runner.send_message(protocol.HELLO, {"pid": os.getpid()})

    def on_prepare(self, environment: Any, msg: Any, **_: Any) -> None:
        if self.engine is None:
            gevent.spawn(self.run_engine, msg.data)

    def on_go(self, environment: Any, msg: Any, **_: Any) -> None:
        self.tell({"kind": "go", "delay_s": float(msg.data["delay_s"])})

    def on_stop(self, environment: Any, msg: Any, **_: Any) -> None:
        self.tell({"kind": "stop"})

    def on_final(self, environment: Any, msg: Any, **_: Any) -> None:
        if self.result_path:
            protocol.write_json(self.result_path, json.loads(msg.data["result"]))

    def tell(self, command: dict[str, Any]) -> None:
        if self.engine is None or self.engine.stdin is None:
            return
        with contextlib.suppress(OSError):
            self.engine.stdin.write((protocol.dumps(command) + "\n").encode())
            self.engine.stdin.flush()

    def send(self, kind: str, data: dict[str, Any]) -> None:
        self.runner.send_message(kind, data)

    def run_engine(self, data: dict[str, Any]) -> None:
        engine = subprocess.Popen([sys.executable, "-m", "LoadGenerator.distributed.engine"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.engine = engine
        self.tell({"load": data["load"], "token_env": data.get("token_env"),
                   "ready_timeout": data.get("ready_timeout", 60.0)})
        ended = False
        assert engine.stdout is not None
        for raw in engine.stdout:
            event = json.loads(raw)
            kind = event.pop("kind")
            if kind == "ready":
                self.send(protocol.READY, {**event, "worker_pid": os.getpid()})
            elif kind == "second":
                self.send(protocol.PROGRESS, event)
                self.record(event)
            elif kind == "result":
                self.send(protocol.RESULT, {"parts": protocol.dumps(event["parts"])})
                ended = True
            elif kind == "failed":
                self.send(protocol.FAILED, {"error": event["error"]})
                ended = True
        code = engine.wait()
        if not ended:
            self.send(protocol.FAILED, {"error": f"its LoadGenerator engine ended without a "
                                                 f"result (exit {code})"})

    def record(self, second: dict[str, Any]) -> None:
        """Each second's messages into Locust's statistics (counts only, no latency)."""
        fire = self.environment.events.request.fire
        for name, count, exception in (
                ("acknowledged", second["acknowledged"], None),
                ("errored", second["errored"], RuntimeError("error reply or failed send"))):
            for _ in range(int(count)):
                fire(request_type="WS", name=name, response_time=None, response_length=0,
                     exception=exception, context={})
