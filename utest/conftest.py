"""Shared fixtures: a real TimescaleDB cluster and a real reference system on free ports."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dashboards.app import Application
from dashboards.config import Config
from EmbeddedStack.pgcluster import PgCluster, timescaledb_installed

needs_timescaledb = pytest.mark.skipif(
    not timescaledb_installed(),
    reason="TimescaleDB is not installed; run scripts/setup first")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    if not timescaledb_installed():
        pytest.skip("TimescaleDB is not installed; run scripts/setup first")
    # Not pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="utest-pg-"))
    base.chmod(0o755)
    cluster = PgCluster(base, fsync=False)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


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
    running.loop.call_soon_threadsafe(stop.set)
    thread.join(30)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
