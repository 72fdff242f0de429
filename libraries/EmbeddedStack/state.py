"""The state file that lets later processes find, reuse within one run, or clean up a stack."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import runstate


def default_state_dir() -> Path:
    return runstate.default_state_dir("dashboards-embedded")


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
        runstate.write_state(state_dir, asdict(self))

    @classmethod
    def read(cls, state_dir: Path) -> StackState | None:
        data = runstate.read_state(state_dir)
        return None if data is None else cls(**data)

    @staticmethod
    def remove(state_dir: Path) -> None:
        runstate.remove_state(state_dir)
