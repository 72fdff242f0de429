"""From committed metric values to events: SLO alerts, auto-actions, voices, seams.

Pure state, no I/O: ``ingest`` returns the events in the order they happen, each with
the dashboards and channel it belongs on; the application numbers, sends and stores them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .seams import SeamTracker
from .slo import (
    DEFAULT_COOLDOWN_S,
    LEVELS,
    AlertEvent,
    AutoActionTracker,
    SloEngine,
    auto_activations,
)
from .voices import VoiceEngine

ALL_DASHBOARDS = ("pulse", "seams", "voices")


@dataclass(frozen=True)
class Outgoing:
    """One event to publish: ``frame`` without ``seq`` on ``channel`` of ``dashboards``."""

    dashboards: tuple[str, ...]
    channel: str
    frame: dict[str, Any]
    alert: AlertEvent | None = None


def cooldowns(override_s: str) -> dict[str, float]:
    if override_s.strip():
        return dict.fromkeys(DEFAULT_COOLDOWN_S, float(override_s))
    return {m: float(s) for m, s in DEFAULT_COOLDOWN_S.items()}


class Engine:
    def __init__(self, values: Mapping[str, float], alert_cooldowns: Mapping[str, float],
                 voice_cooldown_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.values = dict(values)
        self.slo = SloEngine(alert_cooldowns, clock=clock)
        self.actions = AutoActionTracker()
        self.voices = VoiceEngine(voice_cooldown_s, clock=clock)
        self.seams = SeamTracker(self.values)

    def ingest(self, records: Iterable[tuple[str, float]], now_ms: int) -> list[Outgoing]:
        out: list[Outgoing] = []
        for metric, value in records:
            self.values[metric] = value
            for alert in self.slo.observe(metric, value):
                out.append(self._alert_frame(alert, now_ms))
            for action in self.actions.actions_fired(metric, value):
                out.append(Outgoing(ALL_DASHBOARDS, "alerts", {
                    "type": "recovery_action", "action": action.action,
                    "trigger": action.trigger, "metric": metric, "value": value,
                    "timestamp": now_ms}))
            for change in self.voices.update(self.values, auto_activations(self.values)):
                out.append(Outgoing(("voices",), "voices", {
                    "type": f"voice_{change.kind}", "voice": change.voice,
                    "trigger": change.trigger, "reason": change.reason,
                    "intensity": change.intensity, "timestamp": now_ms}))
            seam = self.seams.update(self.values)
            if seam is not None:
                out.append(Outgoing(("seams",), "seams", {
                    "type": "seam", "from": seam.from_state, "to": seam.to_state,
                    "seam_type": seam.seam_type, "intensity": seam.intensity,
                    "timestamp": now_ms}))
        return out

    @staticmethod
    def _alert_frame(alert: AlertEvent, now_ms: int) -> Outgoing:
        if alert.kind == "resolve":
            return Outgoing(ALL_DASHBOARDS, "alerts", {
                "type": "alert_resolved", "alert_id": alert.alert_id, "metric": alert.metric,
                "value": alert.value, "timestamp": now_ms}, alert)
        assert alert.priority is not None
        return Outgoing(ALL_DASHBOARDS, "alerts", {"type": "slo_alert", "alert": {
            "id": alert.alert_id, "metric": alert.metric, "value": alert.value,
            "priority": alert.priority, "level": LEVELS[alert.priority],
            "threshold": alert.threshold, "bound": alert.bound, "timestamp": now_ms,
            "auto_actions": list(alert.auto_actions),
            "voice_triggers": list(alert.voice_triggers)}}, alert)
