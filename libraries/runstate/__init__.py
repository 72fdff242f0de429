"""Processes a test run owns, and the state files through which its processes find them.

Shared by EmbeddedStack and AlertCapture: a fixture process publishes a JSON state file;
every pabot process of the run reads it; a later run recognises a stale one by its pids.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"
POLL_S = 0.05


def default_state_dir(name: str) -> Path:
    """A per-user directory under the temp dir, e.g. /tmp/dashboards-embedded-0."""
    return Path(tempfile.gettempdir()) / f"{name}-{os.getuid()}"


def pid_alive(pid: int | None) -> bool:
    """True while ``pid`` runs; a zombie counts as gone."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def terminate(pid: int | None, marker: str, timeout: float) -> bool:
    """SIGTERM ``pid`` if its command line contains ``marker`` (a reused pid is left alone),
    SIGKILL when it outlives ``timeout``; False when there was nothing to stop."""
    if not pid or not pid_alive(pid) or marker not in cmdline(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(POLL_S)
    return True


def write_state(state_dir: Path, data: dict[str, Any]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / f".{STATE_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(state_dir / STATE_FILE)  # atomic: readers never see half a file


def read_state(state_dir: Path) -> dict[str, Any] | None:
    """The state, or None when absent or torn (a torn file can only come from a crash)."""
    try:
        data = json.loads((state_dir / STATE_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def remove_state(state_dir: Path) -> None:
    (state_dir / STATE_FILE).unlink(missing_ok=True)
