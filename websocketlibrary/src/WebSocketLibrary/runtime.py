"""A private asyncio loop in a daemon thread.

Robot Framework runs an event loop only while an ``async def`` keyword executes, so frames
that arrive between keywords would sit unread. The library's connections live on this
thread's loop instead; keywords hand coroutines to it and wait for their results.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

# Robot's test timeouts arrive as SIGALRM in the main thread: wait in short slices so
# the handler gets a chance to run.
WAIT_SLICE_S = 0.05


class LoopThread:
    """Owns one event loop running forever in a daemon thread."""

    def __init__(self, name: str = "websocket-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for it; TimeoutError after ``timeout`` seconds."""
        future = self.submit(coro)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            slice_s = WAIT_SLICE_S
            if deadline is not None:
                slice_s = min(slice_s, max(0.0, deadline - time.monotonic()))
            try:
                return future.result(timeout=slice_s)
            except TimeoutError:
                if future.done():
                    raise  # the coroutine itself timed out: report it now
                if deadline is not None and time.monotonic() >= deadline:
                    future.cancel()
                    raise
            except BaseException:
                if not future.done():
                    future.cancel()
                raise

    def call_soon(self, callback: Any, *args: Any) -> None:
        self.loop.call_soon_threadsafe(callback, *args)
