"""``python -m EmbeddedStack.supervisor``: one process that owns an embedded stack.

It starts a throwaway TimescaleDB cluster (unless given a database), the reference system
against it, publishes the state file once every /healthz answers, and tears everything down
on SIGTERM/SIGINT or as soon as the run it serves (``--owner-pid``) is gone, so a killed
test run leaves nothing behind.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from runstate import pid_alive

from .pgcluster import PgCluster
from .standalone import is_ready, published_urls
from .state import StackState

log = logging.getLogger("embedded-stack")
DASHBOARDS = ("pulse", "seams", "voices")
POLL_S = 0.2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m EmbeddedStack.supervisor")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--owner-pid", type=int, required=True)
    parser.add_argument("--log-dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ports", default="3001,3002,3003")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--start-timeout", type=float, default=60.0)
    return parser.parse_args(argv)


def wait_healthy(url: str, deadline: float, system: subprocess.Popen[bytes],
                 settings: Mapping[str, str] | None = None) -> None:
    """Returns once the dashboard of ``url`` serves: /healthz answers 200, over TLS when
    ``settings`` (the system's environment) has TLS_CERT_FILE. See standalone.is_ready."""
    while True:
        if system.poll() is not None:
            raise RuntimeError(f"the reference system exited with code {system.returncode}")
        if is_ready(url, settings or {}):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer 200 in time")
        time.sleep(POLL_S)


class Supervisor:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stop_requested = threading.Event()
        self.cluster: PgCluster | None = None
        self.system: subprocess.Popen[bytes] | None = None
        ports = [int(p) for p in args.ports.split(",")]
        if len(ports) != 3:
            raise SystemExit("--ports needs three ports: pulse,seams,voices")
        self.ports = dict(zip(DASHBOARDS, ports, strict=True))
        self.state = StackState(status="starting", supervisor_pid=os.getpid(),
                                owner_pid=args.owner_pid, started_at=time.time(),
                                log_dir=str(args.log_dir))

    def request_stop(self, signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        self.stop_requested.set()

    def start(self) -> None:
        deadline = time.monotonic() + self.args.start_timeout
        database_url = self.args.database_url
        if not database_url:
            self.cluster = PgCluster(self.args.state_dir / "db")
            database_url = self.cluster.start()
            self.state.embedded_database = True
            log.info("TimescaleDB cluster ready at %s", database_url)
        env = dict(os.environ, DATABASE_URL=database_url, DASHBOARDS_HOST=self.args.host,
                   PULSE_PORT=str(self.ports["pulse"]), SEAMS_PORT=str(self.ports["seams"]),
                   VOICES_PORT=str(self.ports["voices"]))
        for setting in self.args.setting:
            name, _, value = setting.partition("=")
            env[name] = value
        system_log = (self.args.log_dir / "dashboards.log").open("ab")
        self.system = subprocess.Popen([sys.executable, "-m", "dashboards"], env=env,
                                       stdin=subprocess.DEVNULL, stdout=system_log,
                                       stderr=subprocess.STDOUT)
        system_log.close()
        host = self.args.host
        self.state.system_pid = self.system.pid
        self.state.database_url = database_url
        # wss:// and https:// when the system was given TLS_CERT_FILE.
        self.state.urls, self.state.health_urls = published_urls(host, self.ports, env)
        for url in self.state.health_urls.values():
            wait_healthy(url, deadline, self.system, env)
        self.state.status = "ready"
        self.state.write(self.args.state_dir)
        log.info("reference system ready (pid %d)", self.system.pid)

    def watch(self) -> None:
        """Return when asked to stop, when the owner run is gone, or when the system died."""
        while not self.stop_requested.wait(POLL_S):
            if not pid_alive(self.args.owner_pid):
                log.info("owner process %d is gone: stopping", self.args.owner_pid)
                return
            if self.system is not None and self.system.poll() is not None:
                log.error("the reference system exited with code %s", self.system.returncode)
                self.state.status = "failed"
                self.state.error = f"reference system exited with code {self.system.returncode}"
                self.state.write(self.args.state_dir)
                self.system = None  # keep the database for the post-mortem until stopped

    def shutdown(self) -> None:
        if self.system is not None and self.system.poll() is None:
            self.system.terminate()
            try:
                self.system.wait(timeout=15)
            except subprocess.TimeoutExpired:
                log.error("reference system ignored SIGTERM for 15 s: killing it")
                self.system.kill()
                self.system.wait()
        if self.cluster is not None:
            self.cluster.stop()
        StackState.remove(self.args.state_dir)
        shutil.rmtree(self.args.state_dir / "db", ignore_errors=True)
        log.info("stopped")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.log_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    supervisor = Supervisor(args)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    supervisor.state.write(args.state_dir)
    try:
        supervisor.start()
        supervisor.watch()
        return 0
    except Exception:
        # The starter sees this process exit and shows the tail of this log.
        log.exception("embedded stack failed")
        return 1
    finally:
        supervisor.shutdown()


if __name__ == "__main__":
    sys.exit(main())
