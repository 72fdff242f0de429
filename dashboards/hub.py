"""Events, their per-dashboard sequence numbers, fan-out, and sessions for ``resume``.

Every event gets the next ``seq`` of the dashboard it is published on, is written to the
subscribed connections at once (synchronously, so a replay and live events can never
interleave out of order), and is kept for replay to a session that resumes.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import State

REPLAY_LOG_LIMIT = 50_000  # events kept per dashboard for replay


class Subscriber(Protocol):
    @property
    def ws(self) -> ServerConnection: ...

    @property
    def channels(self) -> set[str]: ...


def encode(frame: dict[str, Any]) -> str:
    """A server frame as RFC 8259 JSON text that is valid UTF-8 whatever it echoes: every
    non-ASCII character is escaped (a lone surrogate from a client has no UTF-8 form), and
    a NaN or infinity raises instead of being sent as text that is not JSON."""
    return json.dumps(frame, separators=(",", ":"), allow_nan=False)


@dataclass
class LoggedEvent:
    seq: int
    channel: str
    text: str
    kind: str
    logged_at: float


@dataclass
class Session:
    """A connection's resumable identity: its dashboard and subscriptions."""

    session_id: str
    dashboard: str
    channels: set[str] = field(default_factory=set)
    disconnected_at: float | None = None


class Hub:
    def __init__(self, dashboards: Iterable[str], session_ttl_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seq = dict.fromkeys(dashboards, 0)
        self._log: dict[str, deque[LoggedEvent]] = {d: deque() for d in self.seq}
        self._ttl = session_ttl_s
        self._clock = clock
        self.sessions: dict[str, Session] = {}

    def publish_many(self, dashboard: str, items: list[tuple[str, dict[str, Any]]],
                     subscribers: Iterable[Subscriber]) -> list[tuple[int, str]]:
        """Number, log and send events to the subscribers of their channels; return each
        one's seq and text. One write per subscriber carries every frame of its channels,
        in seq order (one syscall instead of one per event)."""
        out: list[tuple[int, str]] = []
        wire: list[tuple[str, bytes]] = []
        log = self._log[dashboard]
        for channel, frame in items:
            self.seq[dashboard] += 1
            seq = self.seq[dashboard]
            text = encode({**frame, "seq": seq})
            log.append(LoggedEvent(seq, channel, text, frame["type"], self._clock()))
            out.append((seq, text))
            wire.append((channel, Frame(Opcode.TEXT, text.encode()).serialize(mask=False)))
        while len(log) > REPLAY_LOG_LIMIT:
            log.popleft()
        for s in subscribers:
            data = b"".join(d for c, d in wire if c in s.channels)
            ws = s.ws
            if data and ws.protocol.state is State.OPEN and ws.send_in_progress is None:
                ws.transport.write(data)
        return out

    def replay(self, dashboard: str, channels: set[str], last_seq: int) -> list[LoggedEvent]:
        return [e for e in self._log[dashboard] if e.seq > last_seq and e.channel in channels]

    # -- sessions ---------------------------------------------------------------------------

    def open_session(self, session_id: str, dashboard: str) -> Session:
        self._expire()
        session = Session(session_id, dashboard)
        self.sessions[session_id] = session
        return session

    def close_session(self, session: Session) -> None:
        session.disconnected_at = self._clock()

    def take_over(self, session_id: str, dashboard: str) -> Session | None:
        """The resumable session ``session_id`` of ``dashboard``, removed from the table."""
        self._expire()
        session = self.sessions.get(session_id)
        if session is None or session.dashboard != dashboard:
            return None
        del self.sessions[session_id]
        return session

    def _expire(self) -> None:
        now = self._clock()
        expired = [sid for sid, s in self.sessions.items()
                   if s.disconnected_at is not None and now - s.disconnected_at > self._ttl]
        for sid in expired:
            del self.sessions[sid]
        # A resuming client asks for events after the last one it saw, which it saw at most
        # a TTL ago (it was connected until then); older events are never asked for.
        horizon = now - self._ttl - 60
        for log in self._log.values():
            while log and log[0].logged_at < horizon:
                log.popleft()
