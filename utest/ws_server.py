"""A websockets server on a loop of its own, for utests that need a real peer (this module
holds no tests)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from websockets.asyncio.server import serve


@contextmanager
def serving(handler: Callable[..., Any], **options: Any) -> Iterator[str]:
    """Serves ``handler`` on a free loopback port (``options`` go to ``serve``) and yields
    its ws:// URL; stops the server on exit."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    urls: list[str] = []
    stop = asyncio.Event()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, **options) as server:
            urls.append(f"ws://127.0.0.1:{next(iter(server.sockets)).getsockname()[1]}")
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield urls[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
