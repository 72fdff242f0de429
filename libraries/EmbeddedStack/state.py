"""The state file that lets later processes find, reuse within one run, or clean up a stack."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"


def default_state_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"dashboards-embedded-{os.getuid()}"


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it has exited all the same.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


@dataclass
class StackState:
    """What a running stack publishes. ``owner_pid`` is the run it serves (pabot or robot)."""

    status: str  # starting | ready | failed | stopping
    supervisor_pid: int
    owner_pid: int
    started_at: float
    urls: dict[str, str] = field(default_factory=dict)
    health_urls: dict[str, str] = field(default_factory=dict)
    database_url: str = ""
    embedded_database: bool = False
    system_pid: int | None = None
    log_dir: str = ""
    error: str = ""

    def write(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        tmp = state_dir / f".{STATE_FILE}.{os.getpid()}"
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(state_dir / STATE_FILE)  # atomic: readers never see half a file

    @classmethod
    def read(cls, state_dir: Path) -> StackState | None:
        try:
            data: dict[str, Any] = json.loads((state_dir / STATE_FILE).read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            return None  # a torn file can only come from a crash; treat it as absent
        return cls(**data)

    @staticmethod
    def remove(state_dir: Path) -> None:
        (state_dir / STATE_FILE).unlink(missing_ok=True)
