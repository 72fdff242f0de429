"""Protection of section 9: rate limits, abuse detection, bearer tokens, Origin allow-list."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers

ROLES = ("viewer", "producer")
ABUSE_REJECTIONS = 1000  # more rejected messages than this ...
ABUSE_WINDOW_S = 10.0    # ... within this window closes the connection with 1008


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; each message takes one."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    def take(self) -> float:
        """0.0 when a token was taken, else the seconds until one is available."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate


class AbuseDetector:
    """Counts rejections in a sliding window; ``record`` says when the limit is passed."""

    def __init__(self, limit: int = ABUSE_REJECTIONS, window_s: float = ABUSE_WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._window = window_s
        self._clock = clock
        self._times: deque[float] = deque()

    def record(self) -> bool:
        now = self._clock()
        self._times.append(now)
        while self._times and self._times[0] <= now - self._window:
            self._times.popleft()
        return len(self._times) > self._limit


def parse_tokens(spec: str) -> dict[str, str]:
    """``"t1:viewer,t2:producer"`` → {token: role}; ValueError naming a bad entry."""
    tokens: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        token, sep, role = entry.rpartition(":")
        if not sep or not token or role not in ROLES:
            raise ValueError(f"AUTH_TOKENS entry {entry!r} must be token:role with role "
                             f"{' or '.join(ROLES)}")
        tokens[token] = role
    return tokens


def request_token(path: str, headers: Headers) -> str | None:
    """The bearer token of a handshake: Authorization header first, else ``?token=``."""
    authorization = headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    values = parse_qs(urlsplit(path).query).get("token")
    return values[0] if values else None


def parse_origins(spec: str) -> frozenset[str]:
    return frozenset(o.strip().rstrip("/") for o in spec.split(",") if o.strip())


def origin_allowed(allowed: frozenset[str], origin: str | None) -> bool:
    """No allow-list, or no Origin header (non-browser clients), or a listed Origin."""
    return not allowed or origin is None or origin.rstrip("/") in allowed
