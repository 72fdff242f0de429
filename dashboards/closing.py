"""Closing and keepalive that never wait on a client to read.

websockets' ``close()`` and ``ping()`` write their frame and then wait until the
transport has drained. A client that stops reading never lets it drain, so both would
wait forever: the 1008 of the unsent-data bound (protocol.md section 2) and the keepalive
(section 3) could never end such a connection, and a graceful shutdown would hang on it.
Here the frame is written without waiting, and the connection is aborted when the
client has not completed the closing handshake within the close timeout.
"""

from __future__ import annotations

import asyncio

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State


async def close_without_waiting(ws: ServerConnection, code: int, reason: str,
                                timeout_s: float) -> None:
    """Sends a close frame with ``code`` at once and returns when the connection has ended:
    closed by the client's answer within ``timeout_s``, or aborted after it."""
    if ws.protocol.state is State.OPEN:
        ws.protocol.send_close(code, reason)
        try:
            ws.send_data()  # writes into the transport's buffer; no drain
        except OSError:
            ws.transport.abort()
    try:
        async with asyncio.timeout(timeout_s):
            await ws.wait_closed()
    except TimeoutError:
        ws.transport.abort()
        await ws.wait_closed()


async def keepalive(ws: ServerConnection, interval_s: float, timeout_s: float,
                    close_timeout_s: float) -> None:
    """Pings every ``interval_s``; a pong not back within ``timeout_s`` of the ping (its
    write included, which a client that does not read holds up) closes with 1011."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            async with asyncio.timeout(timeout_s):
                pong = await ws.ping()
                await pong
        except ConnectionClosed:
            return
        except TimeoutError:
            await close_without_waiting(ws, 1011, "keepalive ping timeout", close_timeout_s)
            return
