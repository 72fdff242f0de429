"""How long connecting takes: TCP connect, opening handshake and the server's first message.

`run_connects` opens ``count`` connections, at most ``concurrency`` at a time (1: one after
another; ``count``: all at once), and times each from just before its TCP connect to the
arrival of the first text message of type ``until_type`` (a welcome, say), as the kernel
stamped it (wsconn.py), or to the end of the handshake when ``until_type`` is None. Every
connection stays open until the last one is timed, so the server carries them all, then
they are closed. It uses the load generator's own connection (wsconn.py) and settings
(`LoadConfig`: URL, token, headers, TLS), so it measures what a load run's connections do.
"""

from __future__ import annotations

import select
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from .config import LoadConfig
from .histogram import Histogram
from .wsconn import WsConnection, open_connection

READ_BYTES = 65_536


def _first_message(conn: WsConnection, until_type: str, deadline: float) -> int:
    """Reads ``conn`` until a text message of ``until_type`` arrives; its arrival (ns)."""
    marker = f'"{until_type}"'.encode()
    arrived: list[int] = []

    def on_text(data: bytes, now: int) -> None:
        if not arrived and marker in data:
            message = orjson.loads(data)
            if isinstance(message, dict) and message.get("type") == until_type:
                arrived.append(now)

    # Frames that came with the handshake response were read inside open_connection: their
    # time is now, a few µs late at most.
    alive = conn.handle_buffered(on_text, time.monotonic_ns())
    buffer = memoryview(bytearray(READ_BYTES))
    poller = select.poll()  # not select.select: the fds of many open connections pass 1024
    poller.register(conn.fd, select.POLLIN)
    while alive and not arrived:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {until_type!r} message within the connect timeout")
        pending = isinstance(conn.sock, ssl.SSLSocket) and conn.sock.pending()
        if pending or poller.poll(max(1, int(left * 1000))):
            alive = conn.read(buffer, on_text, time.monotonic_ns,
                              time.time_ns() - time.monotonic_ns())
    if not arrived:
        raise ConnectionError(f"the server closed the connection before a {until_type!r} "
                              f"message (close code {conn.close_code})")
    return arrived[0]


def run_connects(target: LoadConfig, count: int, concurrency: int = 1,
                 until_type: str | None = "welcome") -> dict[str, Any]:
    """Opens ``count`` connections to ``target.url`` (its token, headers and TLS; its load
    settings are not used), ``concurrency`` at a time, and times each (see the module).

    Returns ``connect_ms`` (count, p50 … max, mean: a `Histogram` summary), ``histogram``
    (its ``to_data`` form, to merge rounds with ``histogram.merged``), ``opened``,
    ``failures`` and ``errors`` (failures by reason).
    """
    if count < 1 or concurrency < 1:
        raise ValueError(f"count and concurrency must be at least 1, got {count}, "
                         f"{concurrency}")
    headers = target.handshake_headers()
    context = target.tls.context(target.url)

    def one(_: int) -> tuple[WsConnection | None, int | str]:
        began = time.monotonic_ns()
        conn = None
        try:
            conn = open_connection(target.url, headers, target.connect_timeout, context,
                                   tls=target.tls, log_url=target.log_url)
            done = (_first_message(conn, until_type, time.monotonic() + target.connect_timeout)
                    if until_type is not None else time.monotonic_ns())
        except Exception as error:  # counted: the others go on
            if conn is not None:
                conn.close()
            return None, f"{type(error).__name__}: {error}"[:120]
        return conn, (done - began) // 1000

    histogram = Histogram()
    errors: dict[str, int] = {}
    opened: list[WsConnection] = []
    try:
        with ThreadPoolExecutor(min(concurrency, count)) as pool:
            for conn, outcome in pool.map(one, range(count)):
                if conn is None:
                    errors[str(outcome)] = errors.get(str(outcome), 0) + 1
                else:
                    opened.append(conn)
                    histogram.record(int(outcome))
    finally:
        for conn in opened:
            conn.close()
    return {"count": count, "concurrency": min(concurrency, count), "until_type": until_type,
            "opened": len(opened), "failures": count - len(opened), "errors": errors,
            "connect_ms": histogram.summary(), "histogram": histogram.to_data()}
