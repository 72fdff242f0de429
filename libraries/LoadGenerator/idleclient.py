"""A client that only listens, to see a server's keepalive (`Run Idle Client`).

It opens one connection, sends nothing, reads everything and notes when each WebSocket
ping frame arrives; it answers them, or with ``answer_pings=False`` plays a peer that
has gone away without closing, which the server must detect and close.
"""

from __future__ import annotations

import select
import ssl
import time
from typing import Any

from WebSocketLibrary.tlsoptions import TlsOptions

from .wsconn import RECV_BYTES, open_connection


def run_idle_client(url: str, seconds: float, *, answer_pings: bool = True,
                    headers: dict[str, str] | None = None,
                    context: ssl.SSLContext | None = None, tls: TlsOptions | None = None,
                    log_url: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
    """Listens for ``seconds`` or until the server ends the connection; returns the ping
    frames' arrival times and how the connection ended (see `Run Idle Client`)."""
    conn = open_connection(url, headers, timeout, context, tls=tls, log_url=log_url)
    conn.answer_pings = answer_pings
    opened = time.monotonic_ns()
    texts = [0]

    def on_text(_: bytes, __: int) -> None:
        texts[0] += 1

    buffer = memoryview(bytearray(RECV_BYTES))
    try:
        alive = conn.handle_buffered(on_text, opened)
        deadline = time.monotonic() + seconds
        while alive and (left := deadline - time.monotonic()) > 0:
            pending = isinstance(conn.sock, ssl.SSLSocket) and conn.sock.pending()
            if pending or select.select([conn.sock], [], [], min(left, 1.0))[0]:
                alive = conn.read(buffer, on_text, time.monotonic_ns,
                                  time.time_ns() - time.monotonic_ns())
        ended_at = time.monotonic_ns()
        ended = ("close frame" if conn.close_code is not None
                 else "open" if not conn.closed else "without a close frame")
    finally:
        conn.close()
    return {"pings_s": [round((at - opened) / 1e9, 3) for at in conn.pings],
            "texts": texts[0], "answered_pings": answer_pings, "ended": ended,
            "close_code": conn.close_code,
            "ended_after_s": None if ended == "open" else round((ended_at - opened) / 1e9, 3)}
