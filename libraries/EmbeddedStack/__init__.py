"""EmbeddedStack: start and stop the embedded system under test for a test run.

The stack is the reference system (``python -m dashboards``) plus, unless a database is
named, a throwaway TimescaleDB cluster. One supervisor process owns both; it publishes a
state file that the other pabot processes read, and it tears everything down when the run
ends or dies.
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from robot.api import logger
from robot.api.deco import keyword, library
from robot.libraries.BuiltIn import BuiltIn

import runstate
from runstate import pid_alive

from . import standalone
from .pgcluster import cleanup_stale
from .state import StackState, default_state_dir

__version__ = "0.1.0"
POLL_S = 0.1


def _terminate(pid: int | None, marker: str, timeout: float) -> bool:
    return runstate.terminate(pid, marker, timeout)


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


@library(scope="GLOBAL", version=__version__)
class EmbeddedStack:
    """Starts the embedded reference system (and a throwaway TimescaleDB) for a test run.

    Use `Start Embedded System` once per run (with pabot: through ``Run Setup Only Once``),
    `Get Embedded System` in every process to learn its URLs and database, and
    `Stop Embedded System` once at the end. A stack left by an earlier, interrupted run is
    detected and removed, never reused.
    """

    def __init__(self, state_dir: str | None = None) -> None:
        self.state_dir = Path(state_dir) if state_dir else default_state_dir()
        self._standalone: dict[int, standalone.ReferenceProcess] = {}
        self._deployments: list[Path] = []
        atexit.register(self._close)

    @keyword(tags=["Action"])
    def start_embedded_system(self, ports: str = "3001,3002,3003", host: str = "127.0.0.1",
                              database_url: str = "", settings: dict[str, Any] | None = None,
                              timeout: timedelta = timedelta(seconds=90),
                              log_dir: str | None = None) -> dict[str, Any]:
        """Starts the reference system and returns its description (see `Get Embedded System`).

        ``ports`` are Pulse, Seams and Voices. An empty ``database_url`` starts a throwaway
        TimescaleDB cluster on a free loopback port. ``settings`` are environment variables
        of the reference system (protocol.md section 10), e.g. ``HEARTBEAT_INTERVAL_MS``.
        The reference system's log goes to ``log_dir`` (default: the run's output dir).

        Example:
        | &{info}=    Start Embedded System    settings=&{EMBEDDED_SETTINGS}
        | Log    ${info}[urls][pulse]
        """
        owner = self._owner_pid()
        existing = StackState.read(self.state_dir)
        if existing is not None:
            if existing.owner_pid == owner and pid_alive(existing.supervisor_pid):
                logger.info("The embedded system of this run is already running.")
                return self.get_embedded_system()
            self._remove_stale(existing)
        self._remove_stale_database()
        port_list = [int(p) for p in str(ports).split(",")]
        busy = [p for p in port_list if _port_in_use(host, p)]
        if busy:
            raise AssertionError(
                f"Cannot start the embedded system: port(s) {busy} on {host} are in use by "
                f"another program. Stop it, or choose other ports with EMBEDDED_PORTS.")
        logs = Path(log_dir) if log_dir else self._default_log_dir()
        logs.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "EmbeddedStack.supervisor",
                   "--state-dir", str(self.state_dir), "--owner-pid", str(owner),
                   "--log-dir", str(logs), "--host", host,
                   "--ports", ",".join(map(str, port_list)),
                   "--database-url", database_url,
                   "--start-timeout", str(timeout.total_seconds())]
        for name, value in (settings or {}).items():
            command += ["--setting", f"{name}={value}"]
        self.state_dir.mkdir(parents=True, exist_ok=True)
        supervisor_log = logs / "embedded-stack.log"
        with supervisor_log.open("ab") as out:
            # A session of its own: the stack must outlive the pabot process that starts it.
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        started = time.monotonic()
        deadline = started + timeout.total_seconds() + 5
        while True:
            state = StackState.read(self.state_dir)
            if state and state.status == "ready" and state.supervisor_pid == process.pid:
                break
            if process.poll() is not None:
                tail = supervisor_log.read_text(errors="replace").splitlines()[-25:]
                raise AssertionError("The embedded system failed to start:\n"
                                     + "\n".join(tail))
            if time.monotonic() > deadline:
                _terminate(process.pid, "EmbeddedStack.supervisor", 15)
                raise AssertionError(f"The embedded system was not ready within "
                                     f"{timeout.total_seconds():g} s; see {supervisor_log}.")
            time.sleep(POLL_S)
        logger.info(f"Embedded system ready in {time.monotonic() - started:.2f} s: "
                    f"{state.urls}, database {'throwaway' if state.embedded_database else 'given'}"
                    f"; logs in {logs}")
        return self._describe(state)

    @keyword(tags=["Getter"])
    def get_embedded_system(self, timeout: timedelta = timedelta(seconds=90)) -> dict[str, Any]:
        """Returns ``urls``, ``health_urls``, ``database_url`` and pids of the running system.

        Waits up to ``timeout`` for a stack that another pabot process is starting.

        Example:
        | &{info}=    Get Embedded System
        | Connect    ${info}[urls][voices]
        """
        deadline = time.monotonic() + timeout.total_seconds()
        while True:
            state = StackState.read(self.state_dir)
            if state and state.status == "ready" and pid_alive(state.supervisor_pid):
                return self._describe(state)
            if time.monotonic() > deadline:
                raise AssertionError(f"No embedded system is running (state dir "
                                     f"{self.state_dir}); was Start Embedded System run?")
            time.sleep(POLL_S)

    @keyword(tags=["Action"])
    def stop_embedded_system(self, timeout: timedelta = timedelta(seconds=30)) -> None:
        """Stops the reference system and removes the throwaway database. Safe to repeat.

        Example:
        | Suite Teardown    Run Teardown Only Once    Stop Embedded System
        """
        state = StackState.read(self.state_dir)
        if state is None:
            logger.info("No embedded system is running.")
            return
        if not _terminate(state.supervisor_pid, "EmbeddedStack.supervisor",
                          timeout.total_seconds()):
            self._remove_stale(state)
        logger.info("Embedded system stopped.")

    def _remove_stale(self, state: StackState) -> None:
        if pid_alive(state.owner_pid) and pid_alive(state.supervisor_pid):
            raise AssertionError(
                f"An embedded system of another run is active (supervisor pid "
                f"{state.supervisor_pid}, run pid {state.owner_pid}). Wait for that run to "
                f"finish, or stop it: kill {state.supervisor_pid}.")
        logger.warn(f"Removing a stale embedded system left by an earlier run "
                    f"(supervisor pid {state.supervisor_pid}, started "
                    f"{time.ctime(state.started_at)}).")
        _terminate(state.supervisor_pid, "EmbeddedStack.supervisor", 30)
        _terminate(state.system_pid, "dashboards", 15)
        self._remove_stale_database()
        StackState.remove(self.state_dir)

    def _remove_stale_database(self) -> None:
        for action in cleanup_stale(self.state_dir / "db"):
            logger.info(f"Stale database: {action}")

    @keyword(tags=["Action"])
    def create_scratch_database(self, server_dsn: str) -> str:
        """Creates a new, empty database with TimescaleDB next to ``server_dsn``; returns its DSN.

        Example:
        | ${dsn}=    Create Scratch Database    ${SYSTEM}[database_url]
        """
        return standalone.create_database(server_dsn)

    @keyword(tags=["Action"])
    def start_reference_system(self, database_url: str, settings: dict[str, Any] | None = None,
                               ports: dict[str, int] | None = None,
                               timeout: timedelta = timedelta(seconds=30)) -> dict[str, Any]:
        """Starts a reference-system process of the test's own; returns its ``urls``, ``pid``.

        For tests that stop and restart a system on purpose: the shared embedded system keeps
        serving the rest of the run. ``ports`` (pulse, seams, voices) default to free ones;
        pass the previous ``ports`` to restart on the same addresses. The process is killed
        at the end of the run if a test leaves it running.

        Example:
        | &{system}=    Start Reference System    ${dsn}    settings=${{ {"LOG_LEVEL": "INFO"} }}
        """
        logs = self._default_log_dir()
        logs.mkdir(parents=True, exist_ok=True)
        running = standalone.start(database_url, {k: str(v) for k, v in (settings or {}).items()},
                                   logs, dict(ports) if ports else None, timeout.total_seconds())
        self._standalone[running.process.pid] = running
        description = running.describe()
        description["ports"] = running.ports
        return description

    @keyword(tags=["Action"])
    def stop_reference_system(self, system: dict[str, Any],
                              timeout: timedelta = timedelta(seconds=30)) -> int:
        """Sends SIGTERM to a system of `Start Reference System`; returns its exit code.

        Example:
        | ${code}=    Stop Reference System    ${system}
        | Should Be Equal As Integers    ${code}    0
        """
        running = self._standalone.pop(int(system["pid"]))
        return standalone.stop(running, timeout.total_seconds())

    @keyword(tags=["Action"])
    def stop_all_reference_systems(self) -> None:
        """Stops every system started with `Start Reference System` and still running.

        Example:
        | [Teardown]    Stop All Reference Systems
        """
        self._close()

    @keyword(tags=["Action"])
    def deploy_reference_system(self, settings: dict[str, Any] | None = None,
                                timeout: timedelta = timedelta(seconds=60)) -> dict[str, Any]:
        """Deploys a reference system of the test's own as a service, with a TimescaleDB
        cluster of its own, and returns how to reach and control it.

        The result has ``urls``, ``health_urls``, ``database_url``, ``pid`` and the shell
        commands an operator would have (``python -m EmbeddedStack.service``):
        ``restart_command``, ``database_stop_command`` and ``database_start_command``. For
        tests that restart a system or stop its database: the shared system keeps serving
        the rest of the run. `Remove Deployments` (or the end of the run) removes it.

        Example:
        | &{system}=    Deploy Reference System    settings=${EMBEDDED_SETTINGS}
        | Run Deployment Command    ${system}[restart_command]    restart_command
        """
        # Short: the database's Unix socket lives in it (at most 107 bytes of path).
        directory = Path(tempfile.mkdtemp(prefix="deployment-"))
        directory.chmod(0o755)  # its database runs as the postgres user, who must reach it
        self._deployments.append(directory)
        command = [sys.executable, "-m", "EmbeddedStack.service", "--dir", str(directory),
                   "--timeout", str(timeout.total_seconds())]
        up = command + ["up"] + [f"--setting={name}={value}"
                                 for name, value in (settings or {}).items()]
        result = subprocess.run(up, capture_output=True, text=True, check=False,
                                timeout=timeout.total_seconds() + 60)
        if result.returncode != 0:
            raise AssertionError(f"Deploying a reference system failed:\n{result.stderr}")
        status = json.loads(result.stdout)
        logger.info(f"Deployed a reference system in {directory}: {status['urls']}")
        return {"urls": status["urls"], "health_urls": status["health_urls"],
                "database_url": status["database_url"], "pid": status["pid"],
                "directory": str(directory),
                "restart_command": shlex.join([*command, "restart"]),
                "database_stop_command": shlex.join([*command, "db-stop"]),
                "database_start_command": shlex.join([*command, "db-start"])}

    @keyword(tags=["Action"])
    def remove_deployments(self) -> None:
        """Stops every system of `Deploy Reference System`, deletes its database, and keeps
        its log in the run's output directory.

        Example:
        | [Teardown]    Remove Deployments
        """
        logs = self._default_log_dir()
        for directory in self._deployments:
            self._remove_deployment(directory, logs)
        self._deployments.clear()

    @staticmethod
    def _remove_deployment(directory: Path, logs: Path | None) -> None:
        subprocess.run([sys.executable, "-m", "EmbeddedStack.service", "--dir",
                        str(directory), "down"], capture_output=True, check=False, timeout=120)
        log = directory / "dashboards.log"
        if logs is not None and log.exists():
            shutil.copy(log, logs / f"{directory.name}.log")
        shutil.rmtree(directory, ignore_errors=True)

    def _close(self) -> None:
        for running in self._standalone.values():
            standalone.stop(running, 5)
        self._standalone.clear()
        for directory in self._deployments:
            self._remove_deployment(directory, None)
        self._deployments.clear()

    @staticmethod
    def _owner_pid() -> int:
        # Under pabot every suite runs in its own robot process, so the stack belongs to
        # pabot itself (our parent); under plain robot it belongs to this process.
        under_pabot = BuiltIn().get_variable_value("${PABOTQUEUEINDEX}") is not None
        return os.getppid() if under_pabot else os.getpid()

    @staticmethod
    def _default_log_dir() -> Path:
        output_dir = Path(BuiltIn().get_variable_value("${OUTPUT DIR}"))
        # pabot gives each process <outputdir>/pabot_results/<n>; logs belong beside the report.
        if output_dir.parent.name == "pabot_results":
            return output_dir.parent.parent
        return output_dir

    @staticmethod
    def _describe(state: StackState) -> dict[str, Any]:
        return {"urls": state.urls, "health_urls": state.health_urls,
                "database_url": state.database_url,
                "embedded_database": state.embedded_database,
                "system_pid": state.system_pid, "supervisor_pid": state.supervisor_pid,
                "log_dir": state.log_dir}
