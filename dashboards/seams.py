"""System states and the "seams" between them (protocol.md section 7).

Pure logic: classify the four current values into a state, and report a seam only when the
state changes. Decisions where the contract is silent: ``values`` must hold all four metrics
(``ValueError`` otherwise); the tracker starts in the state of ``initial_values`` without
emitting anything (the server starts from the SLO targets, i.e. CREATIVE_TENSION); the seam's
``intensity`` is computed from the values that caused the change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

METRIC_NAMES = ("clarity", "chaos", "trust", "pain")
Values = Mapping[str, float]


@dataclass(frozen=True)
class State:
    name: str
    seam_type: str  # the seam_type of a transition *into* this state
    when: str
    holds: Callable[[Values], bool]


STATES: tuple[State, ...] = (  # priority order: the first match wins
    State("CHAOTIC_CREATION", "chaos_seam", "chaos > 0.7 and clarity < 0.6",
          lambda v: v["chaos"] > 0.7 and v["clarity"] < 0.6),
    State("CRYSTALLIZATION", "weave_seam", "chaos < 0.2 and clarity > 0.8",
          lambda v: v["chaos"] < 0.2 and v["clarity"] > 0.8),
    State("CRISIS_MODE", "conflict_seam", "pain > 0.6 and trust < 0.5",
          lambda v: v["pain"] > 0.6 and v["trust"] < 0.5),
    State("HARMONIOUS_FLOW", "insight_seam", "trust > 0.8 and pain < 0.3",
          lambda v: v["trust"] > 0.8 and v["pain"] < 0.3),
    State("CREATIVE_TENSION", "bridge_seam", "0.4 < chaos < 0.6 and clarity > 0.7",
          lambda v: 0.4 < v["chaos"] < 0.6 and v["clarity"] > 0.7),
    State("UNKNOWN", "pause_seam", "otherwise", lambda v: True),
)
STATE_BY_NAME: dict[str, State] = {state.name: state for state in STATES}


def _check(values: Values) -> None:
    missing = [m for m in METRIC_NAMES if m not in values]
    if missing:
        raise ValueError(f"values lack {', '.join(missing)}")


def classify_state(values: Values) -> str:
    """The name of the first state of ``STATES`` whose condition holds."""
    _check(values)
    return next(state.name for state in STATES if state.holds(values))


def intensity(values: Values) -> float:
    _check(values)
    return round(abs(values["chaos"] - values["clarity"])
                 + abs(values["pain"] - values["trust"]), 3)


@dataclass(frozen=True)
class SeamChange:
    from_state: str  # "from" in the seam event
    to_state: str  # "to" in the seam event
    seam_type: str
    intensity: float


class SeamTracker:
    """Remembers the current state and reports a seam when an update changes it."""

    def __init__(self, initial_values: Values) -> None:
        self._state = classify_state(initial_values)

    @property
    def state(self) -> str:
        return self._state

    def update(self, values: Values) -> SeamChange | None:
        new = classify_state(values)
        if new == self._state:
            return None
        change = SeamChange(self._state, new, STATE_BY_NAME[new].seam_type, intensity(values))
        self._state = new
        return change
