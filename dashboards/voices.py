"""The seven voices and their activation rules (protocol.md sections 5 and 7).

Pure logic: the caller feeds the current metric values and gets back the changes to broadcast.
Time is read only through the injected ``clock`` (monotonic seconds) so tests need no sleeping.

Decisions where the contract is silent:

- ``values`` must hold all four metrics (the server always knows a current value: the SLO
  target until something is ingested); a missing one is a caller bug (``ValueError``).
- ``auto_activations`` maps a voice id (aliases accepted) to the trigger text of an auto-action
  that holds *now*; an unknown voice or ``iskra`` there is a caller bug (``ValueError``).
- Intensity says how far past its limit the triggering condition is, relative to the room left:
  ``(v - limit) / (1 - limit)`` for ``>``, ``(limit - v) / limit`` for ``<``, clamped to [0, 1]
  and rounded to 3 decimals. An auto-action activation measures the auto-action's trigger;
  iskra's intensity is (other active voices) / 6. A deactivation carries intensity 0.0.
- A deactivation repeats the trigger and reason of the activation it ends.
- A voice active for one reason that later holds for another (own condition vs auto-action)
  stays active silently; it deactivates only when neither holds.
- Cooldown: a voice deactivated at time t is not activated while ``clock() - t < cooldown_s``
  (so exactly ``cooldown_s`` later it may activate again); iskra obeys the same cooldown.
  A blocked voice stays inactive and does not count towards iskra.
- Order of one update's changes: deactivations, then activations (both in table order),
  then iskra's change, which is judged on the active set after those.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

METRIC_NAMES = ("clarity", "chaos", "trust", "pain")
SYNTHESIS = "iskra"
SYNTHESIS_TRIGGER = "synthesis: 2+ voices active"
SYNTHESIS_QUORUM = 2


@dataclass(frozen=True)
class Condition:
    """A strict comparison of one metric with a limit, e.g. ``chaos > 0.7``."""

    metric: str
    op: Literal[">", "<"]
    limit: float

    @functools.cached_property
    def text(self) -> str:
        return f"{self.metric} {self.op} {self.limit}"

    def holds(self, value: float) -> bool:
        return value > self.limit if self.op == ">" else value < self.limit

    def intensity(self, value: float) -> float:
        """How far past the limit ``value`` is, relative to the room left (0 when not past)."""
        room = 1.0 - self.limit if self.op == ">" else self.limit
        past = value - self.limit if self.op == ">" else self.limit - value
        share = 1.0 if room <= 0 else past / room
        return round(min(1.0, max(0.0, share)), 3)

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Read back a trigger text such as ``"clarity > 0.9"``."""
        parts = text.split()
        if len(parts) != 3 or parts[0] not in METRIC_NAMES or parts[1] not in (">", "<"):
            raise ValueError(f"not a trigger of the form '<metric> > | < <limit>': {text!r}")
        op: Literal[">", "<"] = ">" if parts[1] == ">" else "<"
        return cls(parts[0], op, float(parts[2]))


@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    condition: Condition | None  # None for iskra, whose activation is synthesis

    @property
    def metric(self) -> str | None:
        return self.condition.metric if self.condition else None

    @property
    def trigger(self) -> str:
        return self.condition.text if self.condition else SYNTHESIS_TRIGGER


VOICES: tuple[Voice, ...] = (
    Voice("kain", "Кайн", Condition("chaos", ">", 0.7)),
    Voice("pino", "Пино", Condition("clarity", ">", 0.9)),
    Voice("sam", "Сэм", Condition("clarity", "<", 0.7)),
    Voice("anhantra", "Анхантра", Condition("trust", "<", 0.6)),
    Voice("hundun", "Хундун", Condition("chaos", "<", 0.2)),
    Voice("iskriv", "Искрив", Condition("trust", "<", 0.4)),
    Voice(SYNTHESIS, "Искра", None),
)
VOICE_BY_ID: dict[str, Voice] = {voice.id: voice for voice in VOICES}
ALIASES = {"kayn": "kain", "kane": "kain", "sem": "sam", "anhantha": "anhantra",
           "huyndun": "hundun"}


def canonical_voice(name: str) -> str | None:
    """The voice id for an id or alias in any letter case; None when it names no voice."""
    if not isinstance(name, str):
        return None
    key = name.lower()
    key = ALIASES.get(key, key)
    return key if key in VOICE_BY_ID else None


def voices_for(metric: str, value: float) -> list[str]:
    """Ids of the voices whose own condition on ``metric`` holds for ``value``."""
    return [v.id for v in VOICES if v.condition and v.condition.metric == metric
            and v.condition.holds(value)]


@dataclass(frozen=True)
class VoiceChange:
    kind: Literal["activation", "deactivation"]
    voice: str
    trigger: str
    reason: Literal["metric", "auto_action", "synthesis"]
    intensity: float


class VoiceEngine:
    """Keeps the active set and turns each update into activation/deactivation changes."""

    def __init__(self, cooldown_s: float = 300,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if cooldown_s < 0:
            raise ValueError("cooldown_s must not be negative")
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._active: dict[str, VoiceChange] = {}  # voice -> the activation that started it
        self._deactivated_at: dict[str, float] = {}

    @property
    def active(self) -> frozenset[str]:
        return frozenset(self._active)

    def update(self, values: Mapping[str, float],
               auto_activations: Mapping[str, str]) -> list[VoiceChange]:
        missing = [m for m in METRIC_NAMES if m not in values]
        if missing:
            raise ValueError(f"values lack {', '.join(missing)}")
        autos = self._canonical_autos(auto_activations)
        now = self._clock()
        wanted = {v.id: self._wanted(v.id, v.condition, values, autos)
                  for v in VOICES if v.condition}
        changes = [self._deactivate(voice, now) for voice, want in wanted.items()
                   if want is None and voice in self._active]
        for voice, want in wanted.items():
            if want is not None and voice not in self._active and self._ready(voice, now):
                changes.append(self._activate(want))
        others = sum(1 for voice in self._active if voice != SYNTHESIS)
        if SYNTHESIS in self._active and others < SYNTHESIS_QUORUM:
            changes.append(self._deactivate(SYNTHESIS, now))
        elif (SYNTHESIS not in self._active and others >= SYNTHESIS_QUORUM
              and self._ready(SYNTHESIS, now)):
            changes.append(self._activate(VoiceChange(
                "activation", SYNTHESIS, SYNTHESIS_TRIGGER, "synthesis",
                round(others / (len(VOICES) - 1), 3))))
        return changes

    @staticmethod
    def _canonical_autos(auto_activations: Mapping[str, str]) -> dict[str, str]:
        autos: dict[str, str] = {}
        for name, trigger in auto_activations.items():
            voice = canonical_voice(name)
            if voice is None or voice == SYNTHESIS:
                raise ValueError(f"no auto-action activates voice {name!r}")
            autos[voice] = trigger
        return autos

    @staticmethod
    def _wanted(voice: str, condition: Condition, values: Mapping[str, float],
                autos: Mapping[str, str]) -> VoiceChange | None:
        """The activation this voice would get now, or None when nothing holds for it."""
        value = values[condition.metric]
        if condition.holds(value):
            return VoiceChange("activation", voice, condition.text, "metric",
                               condition.intensity(value))
        if voice in autos:
            trigger = Condition.parse(autos[voice])
            return VoiceChange("activation", voice, autos[voice], "auto_action",
                               trigger.intensity(values[trigger.metric]))
        return None

    def _ready(self, voice: str, now: float) -> bool:
        since = self._deactivated_at.get(voice)
        return since is None or now - since >= self._cooldown_s

    def _activate(self, change: VoiceChange) -> VoiceChange:
        self._active[change.voice] = change
        return change

    def _deactivate(self, voice: str, now: float) -> VoiceChange:
        started = self._active.pop(voice)
        self._deactivated_at[voice] = now
        return VoiceChange("deactivation", voice, started.trigger, started.reason, 0.0)
