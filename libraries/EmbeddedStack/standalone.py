"""Extra reference-system processes for tests that stop and restart one on purpose.

The shared embedded system must keep serving the rest of a parallel run, so a restart test
gets a process (and a database) of its own.

Also the readiness check of a reference system this package started itself (here and in
the supervisor), over plain HTTP or TLS.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
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


def uses_tls(settings: Mapping[str, str]) -> bool:
    """True when the reference system started with ``settings`` serves wss:// and https://."""
    return bool(str(settings.get("TLS_CERT_FILE", "")).strip())


def published_urls(host: str, ports: Mapping[str, int],
                   settings: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The WebSocket URLs and the /healthz URLs of each dashboard."""
    ws, http = ("wss", "https") if uses_tls(settings) else ("ws", "http")
    return ({d: f"{ws}://{host}:{p}" for d, p in ports.items()},
            {d: f"{http}://{host}:{p}/healthz" for d, p in ports.items()})


def is_ready(health_url: str, settings: Mapping[str, str], timeout: float = 1.0) -> bool:
    """True once the dashboard of ``health_url`` serves, for a reference system that this
    package started itself with ``settings``.

    Plain or TLS: its /healthz answers 200. The certificate is not verified: the process
    was started by us on loopback a moment ago, and what is checked is that it serves, not
    who it is (the tests that connect to it verify its certificate as any client would).

    With ``TLS_CLIENT_CA_FILE`` the system refuses every client without a certificate of its
    CA, /healthz included, and this package holds no such certificate. Readiness is then a
    TLS server answering on the port: the TLS handshake completes, or is refused by the
    server with a TLS alert. That is as strong as /healthz here: a dashboard's port listens
    only once the application has opened its database and restored its state (a database
    that cannot be reached at start ends the process, which the caller sees), and a
    connection refused or reset means it is not listening yet.
    """
    if not uses_tls(settings):
        return _healthy(health_url, None, timeout)
    context = ssl.create_default_context()
    context.check_hostname = False  # our own loopback process: see above
    context.verify_mode = ssl.CERT_NONE
    if not str(settings.get("TLS_CLIENT_CA_FILE", "")).strip():
        return _healthy(health_url, context, timeout)
    parts = urlsplit(health_url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=parts.hostname):
            return True
    except ssl.SSLError as error:
        # An alert from the server (e.g. "certificate required"): a TLS server answered.
        return "ALERT" in (error.reason or "")
    except OSError:
        return False


@dataclass
class ReferenceProcess:
    process: subprocess.Popen[bytes]
    ports: dict[str, int]
    log: Path
    settings: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, object]:
        urls, health_urls = published_urls("127.0.0.1", self.ports, self.settings)
        return {"pid": self.process.pid, "log": str(self.log), "urls": urls,
                "health_urls": health_urls}


def start(database_url: str, settings: dict[str, str], log_dir: Path,
          ports: dict[str, int] | None = None, timeout: float = 30.0) -> ReferenceProcess:
    """Start ``python -m dashboards`` and return once all three dashboards serve (their
    /healthz answers 200; see `is_ready` for TLS). With ``TLS_CERT_FILE`` in ``settings``
    its URLs are wss:// and https://."""
    ports = ports or {d: free_loopback_port() for d in DASHBOARDS}
    env = {**os.environ, **settings, "DATABASE_URL": database_url,
           "DASHBOARDS_HOST": "127.0.0.1",
           **{f"{d.upper()}_PORT": str(p) for d, p in ports.items()}}
    log = log_dir / f"reference-{ports['pulse']}.log"
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "dashboards"], env=env,
                                   stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT)
    running = ReferenceProcess(process, ports, log,
                               {k: v for k, v in env.items() if k.startswith("TLS_")})
    _, health_urls = published_urls("127.0.0.1", ports, env)
    deadline = time.monotonic() + timeout
    for url in health_urls.values():
        while not is_ready(url, env):
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


def _healthy(url: str, context: ssl.SSLContext | None, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False
