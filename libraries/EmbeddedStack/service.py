"""``python -m EmbeddedStack.service``: the reference system run as a service, with the
commands an operator's service manager would have.

A deployment under test is started and stopped by its own means (``systemctl restart``,
``docker restart``, ``kubectl rollout restart``). This is such a means for the reference
system, so the suite can be run against it exactly as against any external deployment:
through commands named in a variables file.

    python -m EmbeddedStack.service --dir D up --setting AUTH_TOKENS=… [--ports 3001,3002,3003]
    python -m EmbeddedStack.service --dir D restart       # stop (SIGTERM), then start
    python -m EmbeddedStack.service --dir D db-stop       # stop its database (fast shutdown)
    python -m EmbeddedStack.service --dir D db-start
    python -m EmbeddedStack.service --dir D status        # JSON: urls, pid, database
    python -m EmbeddedStack.service --dir D down          # stop it, delete its database

``up`` creates a TimescaleDB cluster of its own in D (unless ``--database-url`` names one)
and starts the system detached from the caller: like a service, it outlives the command
that started it. ``start`` and ``restart`` return once every dashboard answers /healthz.
Exit codes: 0 done, 1 failed (the message and the system's log tail on stderr), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from runstate import pid_alive

from .pgcluster import PgCluster

DASHBOARDS = ("pulse", "seams", "voices")
STATE = "service.json"
LOG = "dashboards.log"
# Ports below Linux's ephemeral range (32768-60999 by default): a restart must get its
# ports back, and a port in the ephemeral range may meanwhile be some client's source port.
PORT_RANGE = (20000, 32000)
POLL_S = 0.05


class ServiceError(Exception):
    """A command of the service failed; the message says what and why."""


def service_ports(host: str, count: int = 3) -> list[int]:
    """``count`` distinct ports on ``host`` that are free now, outside the ephemeral range."""
    chosen: list[int] = []
    for _ in range(500):
        port = random.randint(*PORT_RANGE)
        if port in chosen:
            continue
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
        chosen.append(port)
        if len(chosen) == count:
            return chosen
    raise ServiceError(f"no free ports in {PORT_RANGE} on {host}")


class Service:
    """The state of one deployment in its directory, and the commands on it."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory.absolute()
        self.state: dict[str, Any] = {}
        if (self.dir / STATE).exists():
            self.state = json.loads((self.dir / STATE).read_text())

    # -- commands ----------------------------------------------------------------------

    def up(self, settings: dict[str, str], host: str, ports: list[int] | None,
           database_url: str, probe: dict[str, str], timeout: float) -> None:
        if self.state:
            raise ServiceError(f"{self.dir} already holds a deployment; run 'down' first")
        self.dir.mkdir(parents=True, exist_ok=True)
        cluster_port = None
        if not database_url:
            # On an address besides loopback the database is served there too: the suite
            # checks its rows from wherever it runs.
            cluster = PgCluster(self.dir / "db",
                                also_listen="" if host.startswith("127.") else host)
            database_url = cluster.start()
            cluster_port = cluster.port
        tls = bool(settings.get("TLS_CERT_FILE"))
        ports = ports or service_ports(host)
        self.state = {
            "settings": settings, "host": host, "ports": dict(zip(DASHBOARDS, ports, strict=True)),
            "database_url": database_url, "cluster_port": cluster_port, "probe": probe,
            "urls": {d: f"{'wss' if tls else 'ws'}://{host}:{p}"
                     for d, p in zip(DASHBOARDS, ports, strict=True)},
            "health_urls": {d: f"{'https' if tls else 'http'}://{host}:{p}/healthz"
                            for d, p in zip(DASHBOARDS, ports, strict=True)},
            "pid": None}
        self._save()
        self.start(timeout)

    def start(self, timeout: float) -> None:
        self._require()
        if pid_alive(self.state["pid"]):
            return
        env = {**os.environ, **self.state["settings"],
               "DATABASE_URL": self.state["database_url"],
               "DASHBOARDS_HOST": self.state["host"],
               **{f"{d.upper()}_PORT": str(p) for d, p in self.state["ports"].items()}}
        with (self.dir / LOG).open("ab") as log:
            # A session of its own: a service outlives the command that started it.
            process = subprocess.Popen([sys.executable, "-m", "dashboards"], env=env,
                                       stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.state["pid"] = process.pid
        self._save()
        self._wait_healthy(process, timeout)

    def stop(self, timeout: float) -> int | None:
        """SIGTERM (a graceful shutdown), SIGKILL after ``timeout``; the exit code if known."""
        self._require()
        pid = self.state["pid"]
        self.state["pid"] = None
        self._save()
        if not pid_alive(pid):
            return None
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                raise ServiceError(f"the system (pid {pid}) ignored SIGTERM for {timeout:g} s "
                                   f"and was killed")
            time.sleep(POLL_S)
        return None  # not our child: its exit code is its parent's (init's) to read

    def database_stop(self) -> None:
        self._cluster().pause()

    def database_start(self, timeout: float) -> None:
        self._cluster().resume(timeout)

    def down(self, timeout: float) -> None:
        if not self.state:
            return
        try:
            self.stop(timeout)
        finally:
            if self.state.get("cluster_port"):
                self._cluster().stop()
                shutil.rmtree(self.dir / "db", ignore_errors=True)
            (self.dir / STATE).unlink(missing_ok=True)  # the log stays, for a post-mortem

    def status(self) -> dict[str, Any]:
        self._require()
        return {**self.state, "running": pid_alive(self.state["pid"]),
                "log": str(self.dir / LOG)}

    # -- helpers -----------------------------------------------------------------------

    def _require(self) -> None:
        if not self.state:
            raise ServiceError(f"no deployment in {self.dir}; run 'up' first")

    def _cluster(self) -> PgCluster:
        self._require()
        port = self.state.get("cluster_port")
        if not port:
            raise ServiceError("the database was given with --database-url: it is not this "
                               "service's to stop or start")
        return PgCluster.attach(self.dir / "db", port)

    def _save(self) -> None:
        tmp = self.dir / f".{STATE}.{os.getpid()}"
        tmp.write_text(json.dumps(self.state, indent=2))
        tmp.replace(self.dir / STATE)

    def _wait_healthy(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        context = self._probe_context()
        deadline = time.monotonic() + timeout
        for url in self.state["health_urls"].values():
            while not _answers_200(url, context):
                if process.poll() is not None:
                    raise ServiceError(f"the system exited with code {process.returncode} "
                                       f"while starting:\n{self._log_tail()}")
                if time.monotonic() > deadline:
                    raise ServiceError(f"{url} did not answer 200 within {timeout:g} s:\n"
                                       f"{self._log_tail()}")
                time.sleep(POLL_S)

    def _probe_context(self) -> ssl.SSLContext | None:
        if not self.state["settings"].get("TLS_CERT_FILE"):
            return None
        probe = self.state["probe"]
        if probe.get("ca"):
            context = ssl.create_default_context(cafile=probe["ca"])
        else:  # our own process on our own address: its readiness, not its identity
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if probe.get("cert"):
            context.load_cert_chain(probe["cert"], probe.get("key") or None)
        return context

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = (self.dir / LOG).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _answers_200(url: str, context: ssl.SSLContext | None) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(url, timeout=1) as answer:
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m EmbeddedStack.service",
        description="Run the reference system as a service: up, start, stop, restart, "
                    "db-stop, db-start, status, down.")
    parser.add_argument("--dir", type=Path, required=True,
                        help="the deployment's directory (state, log, database cluster)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds a start or stop may take (default 60)")
    parser.add_argument("command", choices=("up", "start", "stop", "restart", "db-stop",
                                            "db-start", "status", "down"))
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="(up) a setting of the system, e.g. AUTH_TOKENS=…")
    parser.add_argument("--host", default="127.0.0.1", help="(up) address to serve on")
    parser.add_argument("--ports", default="",
                        help="(up) pulse,seams,voices ports (default: free ones, kept for "
                             "restarts)")
    parser.add_argument("--database-url", default="",
                        help="(up) an existing database (default: a cluster of its own)")
    parser.add_argument("--probe-ca", default="", help="(up) CA to verify its TLS readiness")
    parser.add_argument("--probe-cert", default="", help="(up) client certificate, if required")
    parser.add_argument("--probe-key", default="", help="(up) key of --probe-cert")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    service = Service(args.dir)
    try:
        if args.command == "up":
            settings = dict(s.partition("=")[::2] for s in args.setting)
            ports = [int(p) for p in args.ports.split(",")] if args.ports else None
            if ports is not None and len(ports) != 3:
                print("--ports needs three ports: pulse,seams,voices", file=sys.stderr)
                return 2
            probe = {"ca": args.probe_ca, "cert": args.probe_cert, "key": args.probe_key}
            service.up(settings, args.host, ports, args.database_url, probe, args.timeout)
        elif args.command == "start":
            service.start(args.timeout)
        elif args.command == "stop":
            service.stop(args.timeout)
        elif args.command == "restart":
            service.stop(args.timeout)
            service.start(args.timeout)
        elif args.command == "db-stop":
            service.database_stop()
        elif args.command == "db-start":
            service.database_start(args.timeout)
        elif args.command == "down":
            service.down(args.timeout)
        if args.command in ("up", "status"):
            print(json.dumps(service.status(), indent=2))
    except (ServiceError, RuntimeError, OSError) as error:
        print(f"service {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
