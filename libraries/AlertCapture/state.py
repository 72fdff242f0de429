"""The state file through which every process of a run finds the one capture server."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import runstate


def default_state_dir() -> Path:
    return runstate.default_state_dir("alert-capture")


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
        runstate.write_state(state_dir, asdict(self))

    @classmethod
    def read(cls, state_dir: Path) -> CaptureState | None:
        data = runstate.read_state(state_dir)
        try:
            return None if data is None else cls(**data)
        except TypeError:
            return None  # a state file of another version

    @staticmethod
    def remove(state_dir: Path) -> None:
        runstate.remove_state(state_dir)
