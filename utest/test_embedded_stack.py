"""The embedded stack's supervisor: it cleans up after itself, and after a killed run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from EmbeddedStack import EmbeddedStack, _port_in_use
from EmbeddedStack.pgcluster import free_loopback_port, timescaledb_installed
from EmbeddedStack.state import StackState
from runstate import pid_alive

pytestmark = pytest.mark.skipif(not timescaledb_installed(),
                                reason="TimescaleDB is not installed; run scripts/setup first")


def wait_until(condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling interval of a condition wait, not synchronisation


@pytest.fixture
def state_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="utest-stack-"))
    path.chmod(0o755)  # the database server runs as postgres and must reach its data dir
    yield path
    state = StackState.read(path)
    if state is not None:  # never leave a stack behind, whatever the test did
        for pid in (state.supervisor_pid, state.system_pid):
            if pid and pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
    EmbeddedStack(str(path))._remove_stale_database()
    subprocess.run(["rm", "-rf", str(path)], check=False)


def start_supervisor(state_dir: Path, owner_pid: int) -> tuple[subprocess.Popen, list[int]]:
    ports = [free_loopback_port() for _ in range(3)]
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "EmbeddedStack.supervisor", "--state-dir", str(state_dir),
         "--owner-pid", str(owner_pid), "--log-dir", str(state_dir / "logs"),
         "--ports", ",".join(map(str, ports))],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)

    def ready() -> bool:
        state = StackState.read(state_dir)
        if supervisor.poll() is not None:
            log = (state_dir / "logs" / "dashboards.log")
            raise AssertionError("supervisor exited: "
                                 + (log.read_text() if log.exists() else "no log"))
        return state is not None and state.status == "ready"

    wait_until(ready, what="the stack to be ready")
    return supervisor, ports


def test_stack_serves_and_goes_away_when_its_run_ends(state_dir: Path) -> None:
    owner = subprocess.Popen(["sleep", "600"])
    supervisor, ports = start_supervisor(state_dir, owner.pid)
    state = StackState.read(state_dir)
    assert state is not None and state.embedded_database
    with urllib.request.urlopen(state.health_urls["voices"], timeout=5) as answer:
        assert answer.status == 200

    owner.kill()  # the test run dies without any teardown
    owner.wait()
    assert supervisor.wait(timeout=60) == 0
    assert StackState.read(state_dir) is None
    assert not any(_port_in_use("127.0.0.1", port) for port in ports)
    assert not (state_dir / "db" / "pgdata").exists()
    assert state.system_pid is not None and not pid_alive(state.system_pid)


def test_leftovers_of_a_killed_supervisor_are_removed(state_dir: Path) -> None:
    owner = subprocess.Popen(["sleep", "600"])
    supervisor, ports = start_supervisor(state_dir, owner.pid)
    state = StackState.read(state_dir)
    assert state is not None
    supervisor.kill()  # kill -9: no chance to clean up
    supervisor.wait()
    owner.kill()
    owner.wait()
    assert state.system_pid and pid_alive(state.system_pid)  # the orphans are still there

    EmbeddedStack(str(state_dir))._remove_stale(state)

    assert not pid_alive(state.system_pid)
    assert StackState.read(state_dir) is None
    assert not any(_port_in_use("127.0.0.1", port) for port in ports)
    assert not (state_dir / "db" / "pgdata").exists()


def test_a_stack_of_another_live_run_is_not_taken_over(state_dir: Path) -> None:
    owner = subprocess.Popen(["sleep", "600"])
    try:
        supervisor, _ = start_supervisor(state_dir, owner.pid)
        state = StackState.read(state_dir)
        assert state is not None
        with pytest.raises(AssertionError, match="another run is active"):
            EmbeddedStack(str(state_dir))._remove_stale(state)
        assert supervisor.poll() is None
    finally:
        owner.kill()
        owner.wait()
