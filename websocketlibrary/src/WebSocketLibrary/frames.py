"""Received frames and the bounded, thread-safe buffer that keeps them until a wait takes them."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import jsontext

# Robot's test timeouts arrive as SIGALRM in the main thread: waits block in short slices.
WAIT_SLICE_S = 0.05
BINARY_PREVIEW_BYTES = 16


@dataclass(frozen=True, eq=False)
class Frame:
    """A received frame. ``arrived_ns`` is ``time.perf_counter_ns()`` at arrival."""

    index: int
    raw: str | bytes
    arrived_ns: int
    data: Any = None
    is_json: bool = False

    @classmethod
    def decode(cls, index: int, raw: str | bytes, arrived_ns: int) -> Frame:
        if isinstance(raw, str):
            try:
                return cls(index, raw, arrived_ns, jsontext.decode(raw), True)
            except ValueError:
                pass
        return cls(index, raw, arrived_ns)

    @property
    def kind(self) -> str:
        """``json``, ``text`` (text that is not JSON) or ``binary``."""
        if self.is_json:
            return "json"
        return "text" if isinstance(self.raw, str) else "binary"

    @property
    def value(self) -> Any:
        """What keywords return: the decoded JSON, else the raw text or bytes."""
        return self.data if self.is_json else self.raw

    def preview(self, limit: int = 200) -> str:
        return preview(self.raw, limit)


def preview(raw: str | bytes, limit: int = 200) -> str:
    """``raw`` cut to ``limit`` characters, saying how long it was; binary as its size."""
    if isinstance(raw, bytes):
        head = raw[:BINARY_PREVIEW_BYTES].hex(" ")
        more = " …" if len(raw) > BINARY_PREVIEW_BYTES else ""
        return f"<{len(raw)} bytes binary: {head}{more}>"
    return raw if len(raw) <= limit else f"{raw[:limit]}… ({len(raw)} chars)"


class FrameBuffer:
    """Bounded, thread-safe queue of frames not yet consumed by a wait.

    The loop thread appends; keyword threads wait for frames satisfying a predicate and take
    them. When full, the oldest frame is dropped and counted, never silently.
    """

    def __init__(self, limit: int) -> None:
        self._frames: deque[Frame] = deque()
        self._limit = limit
        self._changed = threading.Condition()
        self._indices = itertools.count(1)
        self._received = 0
        self._removals = 0  # bumped when frames leave other than by overflow
        self.dropped = 0
        self.closed = False

    # -- producer side (loop thread) ---------------------------------------------------------

    def decode(self, raw: str | bytes, arrived_ns: int) -> Frame:
        """A numbered frame for ``raw``, counted as received but not yet buffered."""
        self._received += 1
        return Frame.decode(next(self._indices), raw, arrived_ns)

    def add(self, frame: Frame) -> None:
        with self._changed:
            self._frames.append(frame)
            if len(self._frames) > self._limit:
                self._frames.popleft()
                self.dropped += 1
            self._changed.notify_all()

    def append(self, raw: str | bytes, arrived_ns: int) -> Frame:
        frame = self.decode(raw, arrived_ns)
        self.add(frame)
        return frame

    def mark_closed(self, closed: bool = True) -> None:
        with self._changed:
            self.closed = closed
            self._changed.notify_all()

    def notify(self) -> None:
        """Wake the waiters so that they re-check their conditions."""
        with self._changed:
            self._changed.notify_all()

    # -- consumer side (keyword threads) ------------------------------------------------------

    @property
    def received(self) -> int:
        return self._received

    def take(self, predicate: Callable[[Frame], bool], timeout: float) -> Frame | None:
        """Remove and return the first frame satisfying ``predicate``, waiting up to ``timeout``.

        Returns None on timeout, or at once when the connection is closed and nothing
        buffered matches.
        """
        found = self.collect(predicate, 1, timeout)
        return found[0] if found else None

    def collect(self, predicate: Callable[[Frame], bool], count: int, timeout: float,
                consume: bool = True) -> list[Frame]:
        """Wait until ``count`` buffered frames satisfy ``predicate`` and return them.

        With ``consume`` they are removed from the buffer. On timeout (or once the connection
        is closed) the matches found so far are returned and nothing is removed.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            matched: list[Frame] = []
            seen = 0  # frame indices only grow: frames up to `seen` need no second look
            removals = self._removals
            while True:
                if removals != self._removals:  # another wait took frames: start over
                    matched, seen, removals = [], 0, self._removals
                if matched and self._frames and matched[0].index < self._frames[0].index:
                    first = self._frames[0].index  # overflow dropped the oldest matches
                    matched = [frame for frame in matched if frame.index >= first]
                for frame in self._frames:
                    if frame.index > seen and predicate(frame):
                        matched.append(frame)
                        if len(matched) == count:
                            if consume:
                                self._remove(matched)
                            return matched
                if self._frames:
                    seen = self._frames[-1].index
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed:
                    return matched
                self._changed.wait(min(remaining, WAIT_SLICE_S))

    def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait up to ``timeout`` for ``condition`` (re-checked on every change)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, WAIT_SLICE_S))
            return True

    def snapshot(self) -> list[Frame]:
        with self._changed:
            return list(self._frames)

    def clear(self) -> int:
        with self._changed:
            count = len(self._frames)
            self._frames.clear()
            self._removals += 1
            return count

    def _remove(self, frames: Iterable[Frame]) -> None:
        frames = list(frames)
        if len(frames) == 1:
            self._frames.remove(frames[0])
        else:
            gone = {id(frame) for frame in frames}
            self._frames = deque(f for f in self._frames if id(f) not in gone)
        self._removals += 1
