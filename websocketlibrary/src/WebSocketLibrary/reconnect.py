"""Automatic reconnection: backoff with jitter, what to re-send, and how long recovery took."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from typing import Any

from .filters import _MISSING, find_path
from .frames import Frame

PLACEHOLDER = re.compile(r"\{\{\s*(\$[^}]*?)\s*\}\}")


@dataclass
class ReconnectPolicy:
    """Exponential backoff: attempt n waits ``initial * multiplier**(n-1)`` seconds, at most
    ``max_delay``, spread by ± ``jitter`` (a fraction) so that clients do not reconnect in step.
    ``max_attempts`` 0 means no limit."""

    initial_delay: float = 0.1
    max_delay: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.2
    max_attempts: int = 0
    resubscribe: list[str] = field(default_factory=list)
    resume: ResumeTemplate | None = None
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.initial_delay < 0 or self.max_delay < 0:
            raise ValueError("Reconnect delays cannot be negative.")
        if self.multiplier < 1:
            raise ValueError("The backoff multiplier must be at least 1.")
        if not 0 <= self.jitter < 1:
            raise ValueError("Jitter is a fraction in [0, 1).")

    def delay(self, attempt: int) -> float:
        base = min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1))
        return max(0.0, base * (1 + self.rng.uniform(-self.jitter, self.jitter)))

    def restore_messages(self) -> tuple[list[str], bool]:
        """What to send on a new connection: the resume message when every value it needs has
        been seen (True), else the recorded subscriptions (False)."""
        if self.resume is not None:
            message = self.resume.render()
            if message is not None:
                return [message], True
        return list(self.resubscribe), False


@dataclass
class Reconnection:
    """One recovery: from losing the connection to having restored its subscriptions."""

    lost_ns: int
    restored_ns: int
    attempts: int
    close_code: int | None
    resumed: bool

    @property
    def recovery_ms(self) -> float:
        return (self.restored_ns - self.lost_ns) / 1e6

    def as_dict(self) -> dict[str, Any]:
        return {"recovery_ms": round(self.recovery_ms, 3), "attempts": self.attempts,
                "close_code": self.close_code, "resumed": self.resumed}


class ResumeTemplate:
    """A JSON message with ``{{$.path}}`` placeholders filled from received frames.

    Each placeholder takes the value of its JSONPath in the latest received JSON frame that
    has it (for example the session id of a welcome). A placeholder that is a whole JSON
    string (``"{{$.seq}}"``) is replaced by the JSON value itself, so numbers stay numbers.
    """

    def __init__(self, template: str) -> None:
        self.template = template
        self.paths = list(dict.fromkeys(PLACEHOLDER.findall(template)))
        if not self.paths:
            raise ValueError(f"Resume template {template!r} has no {{{{$.path}}}} placeholder.")
        self.values: dict[str, Any] = {}

    def observe(self, frame: Frame) -> bool:
        if frame.is_json:
            for path in self.paths:
                value = find_path(frame.data, path)
                if value is not _MISSING:
                    self.values[path] = value
        return False  # watching only: the frame stays in the buffer

    def render(self) -> str | None:
        if any(path not in self.values for path in self.paths):
            return None

        def whole(match: re.Match[str]) -> str:
            return json.dumps(self.values[match.group(1).strip()])

        def inner(match: re.Match[str]) -> str:
            value = self.values[match.group(1).strip()]
            text = value if isinstance(value, str) else json.dumps(value)
            return json.dumps(text)[1:-1]

        quoted = re.compile(r'"' + PLACEHOLDER.pattern + r'"')
        return PLACEHOLDER.sub(inner, quoted.sub(whole, self.template))
