"""Refused and failed opening handshakes in the log: one WARNING line each, never a
traceback, and never a flood.

Anyone can open a TCP connection and drop it, or send a malformed request; websockets logs
each such failure at ERROR with a 2.5 KB traceback. `HandshakeLog` turns those into one
line naming the failure, and lets at most ``burst`` lines out at once and ``per_s`` a
second after that; the next line that goes out says how many were left out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from .limits import TokenBucket

WEBSOCKETS_FAILURE = "opening handshake failed"


class HandshakeLog(logging.Filter):
    """A filter for websockets' server logger, and the app's own refusals (`refused`)."""

    def __init__(self, logger: logging.Logger, per_s: float = 1.0, burst: int = 10,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._log = logger
        self._bucket = TokenBucket(per_s, burst, clock)
        self.suppressed = 0

    def refused(self, dashboard: str, status: int, reason: str, **extra: Any) -> None:
        """Logs a handshake the app refused with HTTP ``status``, if the rate allows."""
        if self._admit():
            self._log.warning("handshake refused: HTTP %d, %s%s", status, reason.strip(),
                              self._suppressed_note(),
                              extra={"dashboard": dashboard, "status": status, **extra})

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != WEBSOCKETS_FAILURE or not record.exc_info:
            return True
        if not self._admit():
            return False
        cause = describe(record.exc_info[1])
        record.msg, record.args = "opening handshake failed: %s%s", (
            cause, self._suppressed_note())
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = None
        return True

    def _admit(self) -> bool:
        if self._bucket.take():
            self.suppressed += 1
            return False
        return True

    def _suppressed_note(self) -> str:
        if not self.suppressed:
            return ""
        note, self.suppressed = f" ({self.suppressed} more not logged)", 0
        return note


def describe(error: BaseException | None) -> str:
    """``Type: message`` of ``error`` and of what caused it, on one line."""
    parts: list[str] = []
    while error is not None and len(parts) < 3:
        parts.append(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
        error = error.__cause__ or error.__context__
    return " ← ".join(parts) or "unknown"
