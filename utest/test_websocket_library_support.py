"""Fixtures shared by the test_websocket_library_* modules (this module holds no tests).

The server is websocketlibrary/atest/servers/python_ws_server.py, the one the acceptance
tests use, run in-process on its own loop in a thread: a welcome with a session id, echo of
every frame, and ``{"cmd": ...}`` commands (close, drop, heartbeat, burst, later, headers).
Echoes come back in order, so the echo of a marker proves that everything sent before it
has been answered and buffered: that, and waits on conditions, are the only synchronisation
used.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from WebSocketLibrary import WebSocketLibrary
from WebSocketLibrary.context import LibraryContext

SERVER_FILE = (Path(__file__).resolve().parent.parent / "websocketlibrary" / "atest" / "servers"
               / "python_ws_server.py")
SHORT = timedelta(seconds=0.3)
ZERO = timedelta(0)
WELCOME = {"type": "welcome", "server": "python"}


def load_server_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("python_ws_server", SERVER_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


server_module = load_server_module()


@dataclass
class RunningServer:
    url: str
    stop: Callable[[], None]


def start_server() -> RunningServer:
    """The test server on a free port, on its own loop in a daemon thread."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        async def main() -> None:
            stop = asyncio.Event()
            async with server_module.running() as server:
                holder["port"] = server.sockets[0].getsockname()[1]
                holder["loop"], holder["stop"] = asyncio.get_running_loop(), stop
                ready.set()
                await stop.wait()

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10), "test server did not start"

    def stop() -> None:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(10)

    return RunningServer(f"ws://127.0.0.1:{holder['port']}", stop)


@pytest.fixture(scope="session", name="server_url")
def server_url_fixture() -> Iterator[str]:
    server = start_server()
    yield server.url
    server.stop()


@pytest.fixture(name="wslib")
def wslib_fixture() -> Iterator[WebSocketLibrary]:
    library = WebSocketLibrary(timeout=timedelta(seconds=5))
    yield library
    library.run_keyword("close_all_connections", [])


def kw(lib: WebSocketLibrary, keyword: str, /, *args: Any, **kwargs: Any) -> Any:
    return lib.run_keyword(keyword, list(args), kwargs)


def context(lib: WebSocketLibrary) -> LibraryContext:
    ctx = lib.keywords["connect"].__self__.ctx
    assert isinstance(ctx, LibraryContext)
    return ctx


_markers = itertools.count()


def sync(lib: WebSocketLibrary, alias: str | None = None) -> None:
    """Return once everything sent so far on the connection has been echoed and buffered."""
    marker = {"type": "marker", "n": next(_markers)}
    kw(lib, "send_json", marker, alias=alias)
    assert kw(lib, "wait_for_message", marker, alias=alias) == marker


def connect(lib: WebSocketLibrary, url: str, **options: Any) -> dict[str, Any]:
    """Connect and consume the welcome; return it."""
    kw(lib, "connect", url, **options)
    welcome = kw(lib, "wait_for_message", {"type": "welcome"}, alias=options.get("alias"))
    assert isinstance(welcome, dict)
    return welcome
