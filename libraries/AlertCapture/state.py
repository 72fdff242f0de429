"""The state file through which every process of a run finds the one capture server."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"


def default_state_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"alert-capture-{os.getuid()}"


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


@dataclass
class CaptureState:
    """What a running capture server publishes. ``owner_pid`` is the run it serves."""

    status: str
    pid: int
    owner_pid: int
    started_at: float
    host: str
    smtp_port: int
    webhook_port: int
    control_port: int

    @property
    def webhook_url(self) -> str:
        return f"http://{self.host}:{self.webhook_port}/slack/webhook"

    @property
    def control_url(self) -> str:
        return f"http://{self.host}:{self.control_port}"

    def describe(self) -> dict[str, Any]:
        return {**asdict(self), "webhook_url": self.webhook_url,
                "control_url": self.control_url}

    def write(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        tmp = state_dir / f".{STATE_FILE}.{os.getpid()}"
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(state_dir / STATE_FILE)  # atomic: readers never see half a file

    @classmethod
    def read(cls, state_dir: Path) -> CaptureState | None:
        try:
            data: dict[str, Any] = json.loads((state_dir / STATE_FILE).read_text())
            return cls(**data)
        except (FileNotFoundError, ValueError, TypeError):
            return None

    @staticmethod
    def remove(state_dir: Path) -> None:
        (state_dir / STATE_FILE).unlink(missing_ok=True)
