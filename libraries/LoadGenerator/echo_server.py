"""A minimal JSON-over-WebSocket acknowledging server, for the load generator's own tests.

Every text frame that is a JSON object is answered at once with
``{"type": <reply>, "id": <its id>, "status": "ok"}``; a message whose ``type`` is
``"fail"`` gets ``{"type": "error", "code": "failed", "id": …}``, one whose ``type`` is
``"ignore"`` no reply at all. ``--delay-ms`` holds every reply back (an asyncio timer, the
connection goes on reading). It is the ceiling the generator is measured against
(bench/bench_load_generator.py) and the real server of utest/test_load_generator.py.

    python -m LoadGenerator.echo_server --port 0      # prints "listening on ws://…"
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


def make_handler(reply: str, delay_s: float) -> Callable[[ServerConnection], Awaitable[None]]:
    async def handler(ws: ServerConnection) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for text in ws:
                try:
                    message = json.loads(text)
                except ValueError:
                    continue
                if not isinstance(message, dict) or message.get("type") == "ignore":
                    continue
                if message.get("type") == "fail":
                    answer = {"type": "error", "code": "failed", "id": message.get("id")}
                else:
                    answer = {"type": reply, "id": message.get("id"), "status": "ok"}
                out = json.dumps(answer, separators=(",", ":"))
                if delay_s:
                    loop.call_later(delay_s, _later, ws, out)
                else:
                    await ws.send(out)
        except ConnectionClosed:
            pass

    return handler


_DELAYED: set[asyncio.Task[None]] = set()


def _later(ws: ServerConnection, text: str) -> None:
    task = asyncio.ensure_future(_send_quietly(ws, text))
    _DELAYED.add(task)
    task.add_done_callback(_DELAYED.discard)


async def _send_quietly(ws: ServerConnection, text: str) -> None:
    with contextlib.suppress(ConnectionClosed):
        await ws.send(text)


async def serve_forever(host: str, port: int, reply: str, delay_s: float) -> None:
    async with serve(make_handler(reply, delay_s), host, port, compression=None,
                     max_size=None, ping_interval=None) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"listening on ws://{host}:{bound}", flush=True)
        await asyncio.get_running_loop().create_future()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m LoadGenerator.echo_server",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--reply", default="metrics_received",
                        help="type of the reply (default: metrics_received)")
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    import uvloop

    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve_forever(args.host, args.port, args.reply, args.delay_ms / 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
