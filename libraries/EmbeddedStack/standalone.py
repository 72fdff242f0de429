"""Extra reference-system processes for tests that stop and restart one on purpose.

The shared embedded system must keep serving the rest of a parallel run, so a restart test
gets a process (and a database) of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

from .pgcluster import free_loopback_port

DASHBOARDS = ("pulse", "seams", "voices")


def create_database(server_dsn: str, prefix: str = "scratch") -> str:
    """A new database with TimescaleDB on the server of ``server_dsn``; returns its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _execute(server_dsn, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urlsplit(server_dsn)
    dsn = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    _execute(dsn, sql.SQL("CREATE EXTENSION IF NOT EXISTS timescaledb"))
    return dsn


def _execute(dsn: str, statement: sql.Composable) -> None:
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True  # CREATE DATABASE refuses to run inside a transaction
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


@dataclass
class ReferenceProcess:
    process: subprocess.Popen[bytes]
    ports: dict[str, int]
    log: Path

    def describe(self) -> dict[str, object]:
        return {"pid": self.process.pid, "log": str(self.log),
                "urls": {d: f"ws://127.0.0.1:{p}" for d, p in self.ports.items()},
                "health_urls": {d: f"http://127.0.0.1:{p}/healthz"
                                for d, p in self.ports.items()}}


def start(database_url: str, settings: dict[str, str], log_dir: Path,
          ports: dict[str, int] | None = None, timeout: float = 30.0) -> ReferenceProcess:
    """Start ``python -m dashboards`` and return once all three /healthz answer 200."""
    ports = ports or {d: free_loopback_port() for d in DASHBOARDS}
    env = {**os.environ, **settings, "DATABASE_URL": database_url,
           "DASHBOARDS_HOST": "127.0.0.1",
           **{f"{d.upper()}_PORT": str(p) for d, p in ports.items()}}
    log = log_dir / f"reference-{ports['pulse']}.log"
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "dashboards"], env=env,
                                   stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT)
    running = ReferenceProcess(process, ports, log)
    deadline = time.monotonic() + timeout
    for port in ports.values():
        while not _healthy(f"http://127.0.0.1:{port}/healthz"):
            if process.poll() is not None:
                raise AssertionError(f"The reference system exited with code "
                                     f"{process.returncode}; see {log}.")
            if time.monotonic() > deadline:
                stop(running, 5)
                raise AssertionError(f"The reference system did not answer /healthz "
                                     f"within {timeout:g} s; see {log}.")
            time.sleep(0.05)  # polling interval of the health check
    return running


def stop(running: ReferenceProcess, timeout: float) -> int:
    """SIGTERM (graceful shutdown), SIGKILL after ``timeout``; returns the exit code."""
    if running.process.poll() is None:
        running.process.send_signal(signal.SIGTERM)
        try:
            running.process.wait(timeout)
        except subprocess.TimeoutExpired:
            running.process.kill()
            running.process.wait()
    return running.process.returncode


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return answer.status == 200
    except OSError:
        return False
