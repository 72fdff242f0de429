"""SLO bands, alert lifecycle and auto-actions (protocol.md section 6).

Pure logic: the caller feeds one metric value at a time and gets back the events to broadcast,
store and (when ``notify``) hand to the notifier. Time is read only through the injected
``clock`` (monotonic seconds) so tests control cooldowns without sleeping.

Decisions where the contract is silent:

- ``classify`` raises ``ValueError`` for an unknown metric or a NaN value (validation rejects
  both upstream). Values outside [0, 1] fall in the outermost bands.
- An alert keeps its id and only ever rises in priority: a jump to the other side of the OK
  band without passing through it (e.g. clarity 0.3 then 0.93) changes nothing unless the new
  priority is higher, in which case the escalation names the newly violated limit.
- Cooldown is measured from the resolve of the metric's previous alert and compares with that
  alert's final priority. An open *or escalation* that reaches exactly that priority while
  ``clock() - resolved_at < cooldown`` has ``notify=False``; any other priority notifies. So
  an alert opened silently at P1 after a P1 resolved notifies when it escalates to P0.
- ``notify`` only says "not cooldown-suppressed"; P2 has no notification channel, which is the
  notifier's business, so a P2 open still says ``notify=True``.
- An escalation clears the acknowledgement: the operator acknowledged a lower priority, so the
  higher one's escalation steps run again. ``acknowledge`` of an unknown or already resolved
  id returns False; acknowledging twice returns True.
- A resolve event carries the alert's (final) priority and level, ``threshold``/``bound`` None
  (no limit is violated any more), no auto-actions, no voice triggers, ``notify=False``.
- ``voice_triggers`` of an open/escalate event lists the voices whose own condition on this
  metric holds for this value plus the voices of the auto-actions that hold, sorted; iskra
  (synthesis of several metrics) and voice cooldowns are not considered.
"""

from __future__ import annotations

import functools
import math
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from dashboards.voices import Condition, voices_for

METRICS = ("clarity", "chaos", "trust", "pain")
TARGETS = {"clarity": 0.8, "chaos": 0.45, "trust": 0.8, "pain": 0.3}
PRIORITY_RANK = {"P2": 1, "P1": 2, "P0": 3}
LEVELS = {"P0": "CRITICAL", "P1": "BLOCK", "P2": "WARN"}
DEFAULT_COOLDOWN_S: dict[str, float] = {"pain": 60, "clarity": 120, "chaos": 180, "trust": 240}
OK_BANDS = {"clarity": (0.7, 0.9), "chaos": (0.3, 0.6), "trust": (0.6, 0.9), "pain": (0.2, 0.5)}

_INF = math.inf
# Below the OK band: the first (floor, priority) with value >= floor applies.
_BELOW = {
    "clarity": ((0.65, "P2"), (0.5, "P1"), (-_INF, "P0")),
    "chaos": ((0.25, "P2"), (0.1, "P1"), (-_INF, "P0")),
    "trust": ((0.55, "P2"), (0.4, "P1"), (-_INF, "P0")),
    "pain": ((-_INF, "P2"),),
}
# Above the OK band: the first (ceiling, priority) with value <= ceiling applies.
_ABOVE = {
    "clarity": ((0.95, "P1"), (_INF, "P0")),
    "chaos": ((0.7, "P2"), (0.8, "P1"), (_INF, "P0")),
    "trust": ((0.95, "P2"), (_INF, "P1")),
    "pain": ((0.6, "P2"), (0.7, "P1"), (_INF, "P0")),
}


@dataclass(frozen=True)
class Band:
    """Where a value falls: priority None means the OK band (then threshold and bound are None)."""

    priority: str | None
    threshold: float | None
    bound: Literal["min", "max"] | None


def classify(metric: str, value: float) -> Band:
    """The band of section 6 for ``value``; threshold/bound name the violated OK-band limit."""
    if metric not in OK_BANDS:
        raise ValueError(f"unknown metric {metric!r}")
    if math.isnan(value):
        raise ValueError("value is NaN")
    low, high = OK_BANDS[metric]
    if value < low:
        return Band(next(p for floor, p in _BELOW[metric] if value >= floor), low, "min")
    if value > high:
        return Band(next(p for ceiling, p in _ABOVE[metric] if value <= ceiling), high, "max")
    return _OK


_OK = Band(None, None, None)


@dataclass(frozen=True)
class AutoAction:
    action: str
    metric: str
    op: Literal[">", "<"]
    limit: float
    voices: tuple[str, ...]

    @functools.cached_property
    def condition(self) -> Condition:
        return Condition(self.metric, self.op, self.limit)

    @functools.cached_property
    def trigger(self) -> str:
        return self.condition.text

    def holds(self, value: float) -> bool:
        return value > self.limit if self.op == ">" else value < self.limit


AUTO_ACTIONS: tuple[AutoAction, ...] = (
    AutoAction("activate_pino_hundun", "clarity", ">", 0.9, ("pino", "hundun")),
    AutoAction("activate_sam_structure", "clarity", "<", 0.6, ("sam",)),
    AutoAction("stimulate_creative_chaos", "chaos", "<", 0.15, ()),
    AutoAction("stabilize_system", "chaos", ">", 0.8, ()),
    AutoAction("activate_anhantra_empathy", "trust", "<", 0.5, ("anhantra",)),
    AutoAction("emergency_recovery", "pain", ">", 0.7, ()),
)


def triggered_actions(metric: str, value: float) -> list[AutoAction]:
    """The auto-actions whose trigger holds for this value of ``metric``, in table order."""
    return [a for a in AUTO_ACTIONS if a.metric == metric and a.holds(value)]


def auto_activations(values: Mapping[str, float]) -> dict[str, str]:
    """Voice id -> trigger of each auto-action holding now: the input ``VoiceEngine`` wants."""
    return {voice: action.trigger for action in AUTO_ACTIONS if action.metric in values
            and action.holds(values[action.metric]) for voice in action.voices}


class AutoActionTracker:
    """Edge-triggers auto-actions so a steady violation emits one ``recovery_action``, not many.

    An action fires when its trigger holds for a value of its metric and did not hold for the
    previous value of that metric; the first value seen of a metric counts as an edge.
    """

    def __init__(self) -> None:
        self._holding: dict[str, frozenset[str]] = {}

    def actions_fired(self, metric: str, value: float) -> list[AutoAction]:
        if metric not in OK_BANDS:
            raise ValueError(f"unknown metric {metric!r}")
        now = triggered_actions(metric, value)
        before = self._holding.get(metric, frozenset())
        self._holding[metric] = frozenset(a.action for a in now)
        return [a for a in now if a.action not in before]


@dataclass(frozen=True)
class AlertEvent:
    kind: Literal["open", "escalate", "resolve"]
    alert_id: str
    metric: str
    value: float
    priority: str | None
    level: str | None
    threshold: float | None
    bound: str | None
    notify: bool
    auto_actions: tuple[str, ...]
    voice_triggers: tuple[str, ...]


@dataclass
class _Alert:
    id: str
    priority: str
    acknowledged: bool = False


def _new_alert_id() -> str:
    return "alrt_" + uuid.uuid4().hex[:12]


class SloEngine:
    """One open alert per metric: open, escalate, resolve, with cooldown-suppressed notify."""

    def __init__(self, cooldowns: Mapping[str, float] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 new_id: Callable[[], str] = _new_alert_id) -> None:
        unknown = set(cooldowns or {}) - set(METRICS)
        if unknown:
            raise ValueError(f"cooldowns for unknown metrics: {sorted(unknown)}")
        self._cooldowns = {**DEFAULT_COOLDOWN_S, **(cooldowns or {})}
        if any(seconds < 0 for seconds in self._cooldowns.values()):
            raise ValueError("cooldowns must not be negative")
        self._clock = clock
        self._new_id = new_id
        self._open: dict[str, _Alert] = {}
        self._resolved: dict[str, tuple[float, str]] = {}  # metric -> (when, final priority)

    @property
    def open_alerts(self) -> dict[str, tuple[str, str]]:
        return {metric: (alert.id, alert.priority) for metric, alert in self._open.items()}

    def observe(self, metric: str, value: float) -> list[AlertEvent]:
        band = classify(metric, value)
        alert = self._open.get(metric)
        if band.priority is None:
            if alert is None:
                return []
            del self._open[metric]
            self._resolved[metric] = (self._clock(), alert.priority)
            return [AlertEvent("resolve", alert.id, metric, value, alert.priority,
                               LEVELS[alert.priority], None, None, False, (), ())]
        if alert is None:
            alert = self._open[metric] = _Alert(self._new_id(), band.priority)
            kind: Literal["open", "escalate"] = "open"
        elif PRIORITY_RANK[band.priority] > PRIORITY_RANK[alert.priority]:
            alert.priority, alert.acknowledged = band.priority, False
            kind = "escalate"
        else:
            return []
        actions = triggered_actions(metric, value)
        voices = {*voices_for(metric, value), *(v for a in actions for v in a.voices)}
        return [AlertEvent(kind, alert.id, metric, value, band.priority,
                           LEVELS[band.priority], band.threshold, band.bound,
                           not self._cooling(metric, band.priority),
                           tuple(a.action for a in actions), tuple(sorted(voices)))]

    def _cooling(self, metric: str, priority: str) -> bool:
        resolved = self._resolved.get(metric)
        return (resolved is not None and resolved[1] == priority
                and self._clock() - resolved[0] < self._cooldowns[metric])

    def acknowledge(self, alert_id: str) -> bool:
        for alert in self._open.values():
            if alert.id == alert_id:
                alert.acknowledged = True
                return True
        return False

    def is_acknowledged(self, alert_id: str) -> bool:
        return any(a.id == alert_id and a.acknowledged for a in self._open.values())
