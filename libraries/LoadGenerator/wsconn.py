"""A WebSocket client connection driven by hand: websockets' Sans-I/O protocol on a socket.

The load generator's workers run their own poll loop instead of asyncio: on this kind of
machine a wake-up costs more CPU than the message it carries, and an asyncio client wakes
two or three times per message. Here a worker wakes once per schedule tick, sends what is
due and reads whatever replies have arrived, with websockets doing the framing, masking,
pings and closing handshake (``websockets.client.ClientProtocol``).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Callable

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

RECV_BYTES = 262_144
OnText = Callable[[bytes | bytearray, int], None]


class WsConnection:
    """One open connection: ``send_text`` and ``read`` never block."""

    __slots__ = ("backlog", "closed", "fd", "fragments", "protocol", "sock")

    def __init__(self, sock: socket.socket, protocol: ClientProtocol) -> None:
        self.sock = sock
        self.protocol = protocol
        self.fd = sock.fileno()
        self.backlog = bytearray()     # bytes the kernel would not take yet
        self.fragments: list[bytes] = []
        self.closed = False

    def send_text(self, data: bytes) -> None:
        """Queues one text message and writes what the socket takes (raises if closed)."""
        self.protocol.send_text(data)
        self.write()

    def write(self) -> None:
        chunks = self.protocol.data_to_send()
        if chunks:
            self.backlog += b"".join(chunks)
        if not self.backlog:
            return
        try:
            sent = self.sock.send(self.backlog)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            return
        except OSError:
            self.closed = True
            self.backlog.clear()
            return
        del self.backlog[:sent]

    def read(self, on_text: OnText, now_ns: Callable[[], int]) -> bool:
        """Reads what is there and hands each text message to ``on_text``; False at EOF."""
        try:
            data = self.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
            return True
        except OSError:
            data = b""
        now = now_ns()
        protocol = self.protocol
        if data:
            protocol.receive_data(data)
        else:
            protocol.receive_eof()
        for event in protocol.events_received():
            if not isinstance(event, Frame):
                continue
            if event.opcode is Opcode.TEXT or event.opcode is Opcode.CONT:
                if event.fin and not self.fragments:
                    on_text(bytes(event.data), now)
                elif event.fin:
                    self.fragments.append(bytes(event.data))
                    on_text(b"".join(self.fragments), now)
                    self.fragments.clear()
                else:
                    self.fragments.append(bytes(event.data))
        self.write()  # pongs and the closing handshake's answer
        if not data or protocol.state is State.CLOSED:
            self.closed = True
            return False
        return True

    def close(self) -> None:
        """Starts the closing handshake (1000) and closes the socket without waiting."""
        if not self.closed and self.protocol.state is State.OPEN:
            try:
                self.protocol.send_close(1000)
                self.write()
            except Exception:  # closing anyway
                pass
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.close()


def open_connection(url: str, headers: dict[str, str] | None = None,
                    timeout: float = 10.0) -> WsConnection:
    """Opening handshake (blocking, within ``timeout``); returns a non-blocking connection."""
    uri = parse_uri(url)
    sock = socket.create_connection((uri.host, uri.port), timeout=timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if uri.secure:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=uri.host)
        protocol = ClientProtocol(uri, max_size=None)
        request = protocol.connect()
        for name, value in (headers or {}).items():
            request.headers[name] = value
        protocol.send_request(request)
        sock.sendall(b"".join(protocol.data_to_send()))
        while protocol.state is State.CONNECTING:
            data = sock.recv(RECV_BYTES)
            if data:
                protocol.receive_data(data)
            else:
                protocol.receive_eof()
            for event in protocol.events_received():
                if isinstance(event, Response) and protocol.handshake_exc is not None:
                    raise protocol.handshake_exc
            if not data and protocol.state is State.CONNECTING:
                raise ConnectionError("the server closed the connection during the handshake")
        if protocol.handshake_exc is not None:
            raise protocol.handshake_exc
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return WsConnection(sock, protocol)
