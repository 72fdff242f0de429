"""A client that stops reading, to see what a server keeps for it (`Run Slow Consumer`).

A server that goes on answering a client that does not read must keep the answers
somewhere. This client sends messages on a schedule and reads nothing until it has made
the server produce ``unread_bytes`` of replies; then it reads everything there is and
reports how the connection ended: with the server's close frame (and its code), without
one, or not at all (every reply delivered: the server kept them all).

What the network holds between the two (the kernels' socket buffers) is not kept by the
server. The client keeps it small by asking, before it connects, for a small receive
buffer and small segments (``SO_RCVBUF`` 1 KiB, ``TCP_MAXSEG`` 88: the server's kernel
sizes its send buffer by the segments). On loopback that is about 42 KB instead of ~4 MB
(measured: a server writing 150-byte messages into a connection nobody reads took 3.9 MB
before its writes would block; 131 KB with 536-byte segments, 42 KB with these).
"""

from __future__ import annotations

import json
import select
import socket
import ssl
import time
from typing import Any

from WebSocketLibrary.tlsoptions import TlsOptions

from .wsconn import RECV_BYTES, WsConnection, open_connection

RECEIVE_BUFFER = 1024
SEGMENT_SIZE = 88  # Linux's smallest
SMALL_WINDOW = ((socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER),
                (socket.IPPROTO_TCP, socket.TCP_MAXSEG, SEGMENT_SIZE))
QUIET_S = 1.0  # every reply read and nothing more for this long: the connection stayed open


def run_slow_consumer(url: str, message: str, rate: float, unread_bytes: int,
                      max_seconds: float, *, id_field: str = "id", id_digits: int = 1,
                      headers: dict[str, str] | None = None,
                      context: ssl.SSLContext | None = None, tls: TlsOptions | None = None,
                      log_url: str | None = None, timeout: float = 10.0,
                      drain_timeout: float = 10.0) -> dict[str, Any]:
    """Runs the slow consumer (see the module) and returns what happened.

    ``message`` holds ``{id}``, replaced by the message's number written with at least
    ``id_digits`` digits. The first message is sent while reading, to learn the size of
    one reply; then ``rate`` messages a second go out, none read, until their replies add
    up to ``unread_bytes`` or ``max_seconds`` have passed.
    """
    conn = open_connection(url, headers, timeout, context, tls=tls, log_url=log_url,
                           socket_options=SMALL_WINDOW)
    try:
        reply_bytes = _size_of_one_reply(conn, message, id_field, id_digits, timeout)
        wanted = max(1, -(-unread_bytes // reply_bytes))
        started = time.monotonic()
        sent = _send_without_reading(conn, message, id_digits, rate, wanted, max_seconds)
        paused_s = time.monotonic() - started
        backlog = len(conn.backlog)
        replies, drain_s = _drain(conn, sent, drain_timeout)
        ended = ("close frame" if conn.close_code is not None
                 else "open" if not conn.closed else "without a close frame")
    finally:
        conn.close()
    return {"reply_bytes": reply_bytes, "sent": sent, "unread_bytes": sent * reply_bytes,
            "paused_s": round(paused_s, 3), "client_backlog_bytes": backlog,
            "replies_read": replies, "drain_s": round(drain_s, 3),
            "close_code": conn.close_code, "ended": ended}


def _text(message: str, number: int, digits: int) -> bytes:
    return message.replace("{id}", str(number).zfill(digits)).encode()


def _size_of_one_reply(conn: WsConnection, message: str, id_field: str, digits: int,
                       timeout: float) -> int:
    """Sends message 0 and reads until its reply (the same ``id_field``) arrives."""
    first = _text(message, 0, digits)
    wanted = json.loads(first).get(id_field)
    found: list[int] = []

    def on_text(payload: bytes, _: int) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            return
        if isinstance(data, dict) and id_field in data and data[id_field] == wanted:
            found.append(len(payload))

    conn.handle_buffered(on_text, 0)
    conn.send_text(first)
    deadline = time.monotonic() + timeout
    while not found:
        left = deadline - time.monotonic()
        if left <= 0 or conn.closed or not _read(conn, on_text, left):
            raise AssertionError(f"No reply with {id_field} {wanted!r} to "
                                 f"{first.decode()[:200]} within {timeout:g} s; the slow "
                                 f"consumer needs one to size the replies.")
    return found[0]


def _send_without_reading(conn: WsConnection, message: str, digits: int, rate: float,
                          count: int, max_seconds: float) -> int:
    """Sends messages 1 … ``count`` at ``rate`` a second, reading nothing; stops early
    when ``max_seconds`` have passed or the connection is gone. Returns how many went."""
    start = time.monotonic()
    sent = 0
    while sent < count and not conn.closed:
        now = time.monotonic()
        if now - start > max_seconds:
            break
        due = start + sent / rate
        if due > now:
            time.sleep(min(due - now, 0.05))
            continue
        try:
            conn.send_text(_text(message, sent + 1, digits))
        except OSError:
            break
        sent += 1
    conn.write()
    return sent


def _drain(conn: WsConnection, expected: int, timeout: float) -> tuple[int, float]:
    """Reads everything until the connection ends, or every reply and then nothing for
    ``QUIET_S``, or ``timeout``. Returns the replies read and the seconds it took."""
    count = [0]

    def on_text(_: bytes, __: int) -> None:
        count[0] += 1

    start = time.monotonic()
    deadline = start + timeout
    quiet_since = start
    while not conn.closed and time.monotonic() < deadline:
        before = count[0]
        # Requests the kernel would not take while the server was not reading are still
        # ours to send: their replies are owed too.
        conn.write()
        if not _read(conn, on_text, min(QUIET_S, deadline - time.monotonic())):
            break
        now = time.monotonic()
        if count[0] != before:
            quiet_since = now
        elif count[0] >= expected and now - quiet_since >= QUIET_S:
            break
    return count[0], time.monotonic() - start


def _read(conn: WsConnection, on_text: Any, wait: float) -> bool:
    """Waits up to ``wait`` seconds for data and reads it (or, while requests are still
    waiting to go out, until the socket takes more of them); False once the connection
    ended."""
    pending = isinstance(conn.sock, ssl.SSLSocket) and conn.sock.pending()
    if not pending:
        writers = [conn.sock] if conn.backlog else []
        readable, _, _ = select.select([conn.sock], writers, [], max(0.0, wait))
        if not readable:
            return True
    buffer = memoryview(bytearray(RECV_BYTES))
    return conn.read(buffer, on_text, time.monotonic_ns, time.time_ns() - time.monotonic_ns())
