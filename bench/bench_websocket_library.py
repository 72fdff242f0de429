"""Benchmark of WebSocketLibrary against a bare `websockets` client (figures only, no asserts).

    .venv/bin/python bench/bench_websocket_library.py [--messages 5000] [--wakeups 2000]

1. Per message, send + matched receive: the library's `Send Json` + `Wait For Message`
   (through the keyword dispatcher) versus a bare `websockets` client loop of send + recv,
   both against the same local echo server (the library's atest server,
   websocketlibrary/atest/servers/python_ws_server.py, run in its own process). Target: the
   library costs at most 2x the bare loop.
2. Wake-up latency: the time from a frame's arrival at the background reader to the return
   of the `Wait For Message` that was already waiting for it. Target: p99 <= 1 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from WebSocketLibrary import WebSocketLibrary
from WebSocketLibrary.frames import Frame
from WebSocketLibrary.latency import summarise

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "websocketlibrary" / "atest" / "servers" / "python_ws_server.py"


def start_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, str(SERVER)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().split()
    return process, f"ws://127.0.0.1:{line[1]}"


async def bare_loop(url: str, count: int) -> float:
    """Microseconds per send + recv with a plain websockets client."""
    async with connect(url, compression=None, proxy=None) as ws:
        await ws.recv()  # the welcome
        for n in range(200):  # warm-up
            await ws.send(json.dumps({"type": "echo", "n": n}))
            await ws.recv()
        started = time.perf_counter_ns()
        for n in range(count):
            await ws.send(json.dumps({"type": "echo", "n": n}, separators=(",", ":")))
            reply = json.loads(await ws.recv())
            assert reply["n"] == n
        return (time.perf_counter_ns() - started) / count / 1000


def kw(lib: WebSocketLibrary, name: str, *args: Any, **kwargs: Any) -> Any:
    return lib.run_keyword(name, list(args), kwargs)


def library_loop(lib: WebSocketLibrary, count: int) -> float:
    """Microseconds per Send Json + Wait For Message through the keyword dispatcher."""
    for n in range(200):  # warm-up
        kw(lib, "send_json", {"type": "echo", "n": n})
        kw(lib, "wait_for_message", {"type": "echo", "n": n})
    started = time.perf_counter_ns()
    for n in range(count):
        kw(lib, "send_json", {"type": "echo", "n": n})
        kw(lib, "wait_for_message", {"type": "echo", "n": n})
    return (time.perf_counter_ns() - started) / count / 1000


def wakeups(lib: WebSocketLibrary, count: int) -> dict[str, Any]:
    """Arrival-to-return latency of a wait that is already blocked when the frame comes."""
    ctx = lib.keywords["connect"].__self__.ctx
    connection = ctx.connection(None)
    arrivals: dict[int, int] = {}

    def stamp(frame: Frame) -> bool:
        if frame.is_json and isinstance(frame.data, dict) and frame.data.get("type") == "late":
            arrivals[frame.data["n"]] = frame.arrived_ns
        return False

    connection.add_observer(stamp)
    samples_us = []
    for n in range(count):
        later = {"cmd": "later", "delay_ms": 1, "message": {"type": "late", "n": n}}
        kw(lib, "send_json", later)
        kw(lib, "wait_for_message", {"type": "late", "n": n})
        returned = time.perf_counter_ns()
        samples_us.append(max(1, (returned - arrivals[n]) // 1000))
    connection.remove_observer(stamp)
    return summarise(samples_us)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--wakeups", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    process, url = start_server()
    try:
        lib = WebSocketLibrary(log_limit=200)
        kw(lib, "connect", url)
        kw(lib, "wait_for_message", {"type": "welcome"})
        bare, library = [], []
        for _ in range(options.rounds):
            bare.append(asyncio.run(bare_loop(url, options.messages)))
            library.append(library_loop(lib, options.messages))
        best_bare, best_lib = min(bare), min(library)
        print(f"send + matched receive, {options.messages} messages, best of {options.rounds}:")
        print(f"  bare websockets loop : {best_bare:8.1f} µs/message  (rounds: "
              f"{', '.join(f'{v:.1f}' for v in bare)})")
        print(f"  WebSocketLibrary     : {best_lib:8.1f} µs/message  (rounds: "
              f"{', '.join(f'{v:.1f}' for v in library)})")
        print(f"  ratio                : {best_lib / best_bare:8.2f}x  (target <= 2x)")
        stats = wakeups(lib, options.wakeups)
        print(f"frame arrival -> Wait For Message return, {options.wakeups} waits (ms):")
        print("  " + ", ".join(f"{key} {value}" for key, value in stats.items())
              + "  (target p99 <= 1 ms)")
        kw(lib, "close_all_connections")
    finally:
        process.terminate()
        process.wait(5)


if __name__ == "__main__":
    main()
