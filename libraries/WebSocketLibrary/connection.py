"""One client connection: the socket on the loop thread and a buffer of received frames."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .runtime import LoopThread


@dataclass(frozen=True)
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
                return cls(index, raw, arrived_ns, json.loads(raw), True)
            except ValueError:
                pass
        return cls(index, raw, arrived_ns)

    def preview(self, limit: int = 200) -> str:
        text = self.raw if isinstance(self.raw, str) else f"<{len(self.raw)} bytes binary>"
        return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"


class FrameBuffer:
    """Bounded, thread-safe queue of frames not yet consumed by a wait.

    The loop thread appends; keyword threads take the first frame that satisfies a
    predicate. When full, the oldest frame is dropped and counted, never silently.
    """

    def __init__(self, limit: int) -> None:
        self._frames: deque[Frame] = deque()
        self._limit = limit
        self._changed = threading.Condition()
        self._received = 0
        self.dropped = 0
        self.closed = False

    def append(self, raw: str | bytes, arrived_ns: int) -> None:
        with self._changed:
            self._received += 1
            self._frames.append(Frame.decode(self._received, raw, arrived_ns))
            if len(self._frames) > self._limit:
                self._frames.popleft()
                self.dropped += 1
            self._changed.notify_all()

    def mark_closed(self) -> None:
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    @property
    def received(self) -> int:
        return self._received

    def take(self, predicate: Callable[[Frame], bool], timeout: float) -> Frame | None:
        """Remove and return the first frame satisfying ``predicate``, waiting up to ``timeout``.

        Returns None on timeout, or at once when the connection is closed and nothing
        buffered matches.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            seen = 0  # frame indices only grow, so frames up to `seen` need no second look
            while True:
                for frame in self._frames:
                    if frame.index > seen and predicate(frame):
                        self._frames.remove(frame)
                        return frame
                if self._frames:
                    seen = self._frames[-1].index
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed:
                    return None
                # Short slices keep Robot's SIGALRM-based test timeouts responsive.
                self._changed.wait(min(remaining, 0.05))

    def snapshot(self) -> list[Frame]:
        with self._changed:
            return list(self._frames)

    def clear(self) -> int:
        with self._changed:
            count = len(self._frames)
            self._frames.clear()
            return count


class Connection:
    """A WebSocket client connection whose frames are read in the background."""

    def __init__(self, runtime: LoopThread, url: str, buffer_limit: int = 10_000) -> None:
        self.url = url
        self.buffer = FrameBuffer(buffer_limit)
        self.connect_latency_ms: float | None = None
        self.history: deque[str] = deque(maxlen=20)  # recent traffic, shown when a keyword fails
        self._runtime = runtime
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    # -- lifecycle (runs on the loop thread) -------------------------------------------------

    async def _open(self, open_timeout: float, **options: Any) -> None:
        started = time.perf_counter_ns()
        self._ws = await connect(self.url, open_timeout=open_timeout, compression=None,
                                 proxy=None, **options)
        self.connect_latency_ms = (time.perf_counter_ns() - started) / 1e6
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                self.buffer.append(raw, time.perf_counter_ns())
                self.history.append(f"<< {Frame.decode(0, raw, 0).preview(300)}")
        except ConnectionClosed:
            pass
        finally:
            self.buffer.mark_closed()

    async def _send(self, payload: str | bytes) -> int:
        assert self._ws is not None
        await self._ws.send(payload)
        return time.perf_counter_ns()

    async def _close(self, code: int, reason: str) -> None:
        if self._ws is not None:
            await self._ws.close(code, reason)
        if self._reader is not None:
            await self._reader

    # -- keyword-thread API --------------------------------------------------------------

    def open(self, timeout: float, **options: Any) -> float:
        """Connect (handshake included) and return the connect latency in milliseconds."""
        self._runtime.run(self._open(timeout, **options), timeout + 1)
        assert self.connect_latency_ms is not None
        return self.connect_latency_ms

    def send(self, payload: str | bytes, timeout: float = 10.0) -> int:
        """Send one frame; return ``perf_counter_ns()`` taken just before handing it over."""
        before = time.perf_counter_ns()
        self._runtime.run(self._send(payload), timeout)
        preview = Frame(0, payload, 0).preview(300)
        self.history.append(f">> {preview}")
        return before

    def close(self, code: int = 1000, reason: str = "", timeout: float = 10.0) -> None:
        self._runtime.run(self._close(code, reason), timeout)

    @property
    def is_open(self) -> bool:
        return self._ws is not None and not self.buffer.closed

    @property
    def close_code(self) -> int | None:
        return None if self._ws is None else self._ws.close_code
