"""Shared fixtures: a real TimescaleDB cluster and a real reference system on free ports."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dashboards.app import Application
from dashboards.config import Config
from EmbeddedStack.pgcluster import PgCluster, timescaledb_installed

needs_timescaledb = pytest.mark.skipif(
    not timescaledb_installed(),
    reason="TimescaleDB is not installed; run scripts/setup first")


@pytest.fixture(scope="session")
def cluster() -> Iterator[PgCluster]:
    if not timescaledb_installed():
        pytest.skip("TimescaleDB is not installed; run scripts/setup first")
    # Not pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="utest-pg-"))
    base.chmod(0o755)
    pg = PgCluster(base, fsync=False)
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(cluster: PgCluster) -> str:
    return cluster.dsn


@pytest.fixture
def fresh_database(cluster: PgCluster) -> str:
    """A new, empty database for a test that needs the system's state to itself."""
    return cluster.create_database(f"t_{uuid.uuid4().hex[:12]}")


@dataclass
class RunningSystem:
    app: Application
    loop: asyncio.AbstractEventLoop

    def url(self, dashboard: str) -> str:
        return f"ws://127.0.0.1:{self.app.ports[dashboard]}"

    def http(self, dashboard: str, path: str) -> str:
        return f"http://127.0.0.1:{self.app.ports[dashboard]}{path}"


def start_system(env: dict[str, str]) -> tuple[RunningSystem, threading.Thread, asyncio.Event]:
    """Run an Application on its own loop in a thread; return once it is serving."""
    config = Config.from_env({"PULSE_PORT": "0", "SEAMS_PORT": "0", "VOICES_PORT": "0", **env})
    app = Application(config)
    ready = threading.Event()
    holder: dict[str, object] = {}

    def run() -> None:
        async def main() -> None:
            stop = asyncio.Event()
            holder["loop"], holder["stop"] = asyncio.get_running_loop(), stop
            try:
                await app.start()
            except BaseException as error:
                holder["error"] = error
                ready.set()
                raise
            ready.set()
            await stop.wait()
            await app.stop()

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(60)
    if "error" in holder:
        raise RuntimeError(f"reference system failed to start: {holder['error']}")
    loop = holder["loop"]
    assert isinstance(loop, asyncio.AbstractEventLoop)
    stop = holder["stop"]
    assert isinstance(stop, asyncio.Event)
    return RunningSystem(app, loop), thread, stop


@pytest.fixture(scope="module")
def system(database_url: str) -> Iterator[RunningSystem]:
    running, thread, stop = start_system({"DATABASE_URL": database_url,
                                          "HEARTBEAT_INTERVAL_MS": "100"})
    yield running
    stop_system(running, thread, stop)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


class Peer:
    """A blocking test client that keeps frames it skipped, so later waits still see them."""

    def __init__(self, url: str, **options: object) -> None:
        from websockets.sync.client import connect

        self.ws = connect(url, compression=None, **options)  # type: ignore[arg-type]
        self.backlog: list[dict[str, object]] = []
        self.welcome = self.next("welcome")

    def send(self, message: object) -> None:
        self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    def next(self, kind: str, timeout: float = 5.0, **fields: object) -> dict[str, Any]:
        """The next frame of type ``kind`` whose top-level fields equal ``fields``."""
        def wanted(frame: dict[str, Any]) -> bool:
            return frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items())

        for index, frame in enumerate(self.backlog):
            if wanted(frame):
                return self.backlog.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {kind} {fields or ''} within {timeout} s; "
                                     f"kept: {self.backlog[-5:]}")
            try:
                frame = json.loads(self.ws.recv(timeout=remaining))
            except TimeoutError:
                continue
            if wanted(frame):
                return frame
            self.backlog.append(frame)

    def request(self, message: dict[str, Any], kind: str, timeout: float = 5.0) -> dict[str, Any]:
        self.send(message)
        return self.next(kind, timeout)

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> Peer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def make_system(cluster: PgCluster) -> Iterator[Callable[..., RunningSystem]]:
    """Start systems with their own settings (and by default their own database)."""
    started: list[tuple[RunningSystem, threading.Thread, asyncio.Event]] = []

    def make(env: dict[str, str] | None = None, database: str | None = None) -> RunningSystem:
        dsn = database or cluster.create_database(f"t_{uuid.uuid4().hex[:12]}")
        running = start_system({"DATABASE_URL": dsn, **(env or {})})
        started.append(running)
        return running[0]

    yield make
    for running, thread, stop in started:
        stop_system(running, thread, stop)


def stop_system(running: RunningSystem, thread: threading.Thread, stop: asyncio.Event) -> None:
    running.loop.call_soon_threadsafe(stop.set)
    thread.join(30)
