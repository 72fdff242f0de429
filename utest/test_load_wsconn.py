"""The load generator's connection (LoadGenerator.wsconn) against a raw TCP server that
writes exact bytes: the handshake, frames of every length, fragments, ping, close,
protocol errors, what the client puts on the wire, and kernel receive timestamps."""

from __future__ import annotations

import base64
import hashlib
import select
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from websockets.exceptions import InvalidStatus

from LoadGenerator.wsconn import (
    READ_TIME_NO_STAMP,
    READ_TIME_OUT_OF_WINDOW,
    RECV_BYTES,
    SO_TIMESTAMPNS,
    TIMESPEC,
    WsConnection,
    keep_kernel_stamping,
    open_connection,
    wall_offset,
)

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3


def server_frame(opcode: int, payload: bytes, fin: bool = True, masked: bool = False,
                 rsv: int = 0) -> bytes:
    """A frame as a server writes it (unmasked unless ``masked``)."""
    first = (0x80 if fin else 0) | rsv | opcode
    length = len(payload)
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head = bytes((first, mask_bit | length))
    elif length < 65_536:
        head = bytes((first, mask_bit | 126)) + length.to_bytes(2, "big")
    else:
        head = bytes((first, mask_bit | 127)) + length.to_bytes(8, "big")
    if masked:
        key = b"\x01\x02\x03\x04"
        return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + payload


def client_frames(data: bytes) -> list[tuple[int, bool, bytes]]:
    """(opcode, was masked, unmasked payload) of every whole frame a client wrote."""
    frames = []
    pos = 0
    while pos + 2 <= len(data):
        first, second = data[pos], data[pos + 1]
        length, head = second & 0x7F, 2
        if length == 126:
            length, head = int.from_bytes(data[pos + 2:pos + 4], "big"), 4
        elif length == 127:
            length, head = int.from_bytes(data[pos + 2:pos + 10], "big"), 10
        masked = bool(second & 0x80)
        key = data[pos + head:pos + head + 4] if masked else b"\0\0\0\0"
        start = pos + head + (4 if masked else 0)
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(data[start:start + length]))
        frames.append((first & 0x0F, masked, payload))
        pos = start + length
    return frames


@dataclass
class RawServer:
    """Accepts one client, answers its handshake with ``response`` (101 by default) plus
    ``after_handshake``, then exposes the socket to the test."""

    after_handshake: bytes = b""
    status: bytes = b"101 Switching Protocols"
    body: bytes = b""
    listener: socket.socket = field(default_factory=socket.socket)
    peer: socket.socket | None = None
    ready: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        threading.Thread(target=self.serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.listener.getsockname()[1]}/"

    def serve(self) -> None:
        peer, _ = self.listener.accept()
        request = b""
        while b"\r\n\r\n" not in request:
            request += peer.recv(4096)
        key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        if self.status.startswith(b"101"):
            head = (b"HTTP/1.1 " + self.status + b"\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        else:
            head = (b"HTTP/1.1 " + self.status + b"\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: " + str(len(self.body)).encode() + b"\r\n\r\n")
        peer.sendall(head + self.body + self.after_handshake)
        self.peer = peer
        self.ready.set()

    def client_wrote(self, timeout: float = 5.0) -> bytes:
        """Everything the client wrote until it closed or ``timeout`` passed quietly."""
        assert self.ready.wait(5) and self.peer is not None
        data = b""
        self.peer.settimeout(0.3)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = self.peer.recv(65_536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
        return data

    def send(self, data: bytes) -> None:
        assert self.ready.wait(5) and self.peer is not None
        self.peer.sendall(data)

    def close(self) -> None:
        self.listener.close()
        if self.peer is not None:
            self.peer.close()


@pytest.fixture
def servers() -> Iterator[list[RawServer]]:
    made: list[RawServer] = []
    yield made
    for server in made:
        server.close()


def connect(servers: list[RawServer], **options: bytes) -> tuple[RawServer, WsConnection]:
    server = RawServer(**options)  # type: ignore[arg-type]
    servers.append(server)
    conn = open_connection(server.url, timeout=5)
    assert server.ready.wait(5)
    return server, conn


class Reader:
    """Reads a connection as a worker does and keeps the texts it hands over."""

    def __init__(self, conn: WsConnection) -> None:
        self.conn = conn
        self.buffer = memoryview(bytearray(RECV_BYTES))
        self.texts: list[tuple[bytes, int]] = []
        self.alive = conn.handle_buffered(self.on_text, time.monotonic_ns())

    def on_text(self, data: bytes, arrival: int) -> None:
        self.texts.append((data, arrival))

    def read_until(self, count: int, timeout: float = 5.0, clock_step_ns: int = 0) -> list[bytes]:
        """Reads until ``count`` texts came (0: until ``timeout``) or the connection ended;
        ``clock_step_ns`` plays a wall clock stepped by that much since the kernel's stamp."""
        deadline = time.monotonic() + timeout
        while self.alive and not 0 < count <= len(self.texts) and time.monotonic() < deadline:
            select.select([self.conn.sock], [], [], 0.1)
            self.alive = self.conn.read(self.buffer, self.on_text, time.monotonic_ns,
                                        wall_offset() + clock_step_ns)
        return [text for text, _ in self.texts]


def test_a_frame_sent_with_the_handshake_response_is_not_lost(servers: list[RawServer]) -> None:
    _, conn = connect(servers, after_handshake=server_frame(0x1, b'{"type":"welcome"}'))
    assert Reader(conn).read_until(1) == [b'{"type":"welcome"}']


@pytest.mark.parametrize("size", [0, 125, 126, 300, 65_535, 65_536, 200_000])
def test_text_of_every_length_encoding_arrives_whole(servers: list[RawServer],
                                                     size: int) -> None:
    server, conn = connect(servers)
    text = bytes(ord("a") + i % 26 for i in range(size))
    server.send(server_frame(0x1, text))
    assert Reader(conn).read_until(1) == [text]


def test_a_frame_split_across_reads_is_handed_over_once_whole(
        servers: list[RawServer]) -> None:
    server, conn = connect(servers)
    reader = Reader(conn)
    data = server_frame(0x1, b"x" * 300) + server_frame(0x1, b"second")
    for offset in range(0, len(data), 7):
        server.send(data[offset:offset + 7])
        time.sleep(0.001)  # separate segments, so that reads see partial frames
        reader.read_until(0, timeout=0.05)
    assert reader.read_until(2) == [b"x" * 300, b"second"]


def test_fragments_are_joined_and_binary_messages_ignored(servers: list[RawServer]) -> None:
    server, conn = connect(servers)
    server.send(server_frame(0x2, b"\x00\x01")
                + server_frame(0x1, b'{"a":', fin=False) + server_frame(0x0, b"1", fin=False)
                + server_frame(0x9, b"in-between")  # control frames may interleave
                + server_frame(0x0, b"}") + server_frame(0x1, b"after"))
    assert Reader(conn).read_until(2) == [b'{"a":1}', b"after"]


def test_ping_is_answered_with_a_masked_pong_carrying_its_payload(
        servers: list[RawServer]) -> None:
    server, conn = connect(servers)
    server.send(server_frame(0x9, b"are you there"))
    Reader(conn).read_until(0, timeout=0.5)
    assert client_frames(server.client_wrote(timeout=0.5)) == [(0xA, True, b"are you there")]


def test_sent_text_is_one_masked_frame_with_fresh_keys(servers: list[RawServer]) -> None:
    server, conn = connect(servers)
    conn.send_text(b'{"type":"ping","id":1}')
    conn.send_text(b"y" * 70_000)
    wrote = server.client_wrote(timeout=0.5)
    assert client_frames(wrote) == [(0x1, True, b'{"type":"ping","id":1}'),
                                    (0x1, True, b"y" * 70_000)]
    first_key = wrote[2:6]
    second_key = wrote[28 + 10:28 + 14]  # after the first frame (2 + 4 + 22), 64-bit length
    assert first_key != second_key


def test_the_servers_close_is_answered_with_its_code(servers: list[RawServer]) -> None:
    server, conn = connect(servers)
    server.send(server_frame(0x8, (1001).to_bytes(2, "big") + b"going away"))
    reader = Reader(conn)
    reader.read_until(1, timeout=1)
    assert not reader.alive and conn.closed
    assert client_frames(server.client_wrote(timeout=0.5)) == [(0x8, True,
                                                               (1001).to_bytes(2, "big"))]
    with pytest.raises(ConnectionError):
        conn.send_text(b"too late")


@pytest.mark.parametrize("bad", [server_frame(0x1, b"masked", masked=True),
                                 server_frame(0x1, b"rsv1", rsv=0x40),
                                 server_frame(0x3, b"opcode 3"),
                                 server_frame(0x0, b"continuation of nothing")])
def test_a_protocol_error_closes_with_1002(servers: list[RawServer], bad: bytes) -> None:
    server, conn = connect(servers)
    server.send(bad)
    reader = Reader(conn)
    assert reader.read_until(1, timeout=1) == []
    assert not reader.alive
    assert client_frames(server.client_wrote(timeout=0.5)) == [(0x8, True,
                                                               (1002).to_bytes(2, "big"))]


def test_close_starts_the_closing_handshake_with_1000(servers: list[RawServer]) -> None:
    server, conn = connect(servers)
    conn.close()
    assert client_frames(server.client_wrote(timeout=0.5)) == [(0x8, True,
                                                               (1000).to_bytes(2, "big"))]


def test_a_refused_handshake_says_why(servers: list[RawServer]) -> None:
    server = RawServer(status=b"503 Service Unavailable", body=b"full")
    servers.append(server)
    with pytest.raises(InvalidStatus, match="503"):
        open_connection(server.url, timeout=5)


def test_the_connection_ends_when_the_server_goes(servers: list[RawServer]) -> None:
    server, conn = connect(servers)
    assert server.peer is not None
    server.peer.close()
    reader = Reader(conn)
    reader.read_until(1, timeout=2)
    assert not reader.alive and conn.closed


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="SO_TIMESTAMPNS is Linux's")


def reply_read_late(servers: list[RawServer], late_s: float = 0.2,
                    **read: int) -> tuple[WsConnection, int, int, int, int]:
    """One reply, read ``late_s`` after the kernel had it: the connection, the monotonic
    times before the send, once the socket was known readable, of the arrival handed
    over, and after the read."""
    server, conn = connect(servers)
    sent = time.monotonic_ns()
    server.send(server_frame(0x1, b"reply"))
    # Once the socket is readable the kernel has the reply: its receive time is no later
    # than this, however long a loaded machine took to get here.
    assert select.select([conn.sock], [], [], 5)[0]
    known = time.monotonic_ns()
    time.sleep(late_s)  # the worker reads late on purpose: the delay under test
    reader = Reader(conn)
    assert reader.read_until(1, **read) == [b"reply"]
    return conn, sent, known, reader.texts[0][1], time.monotonic_ns()


@linux_only
def test_arrival_is_the_kernels_receive_time_not_the_read_time(
        servers: list[RawServer]) -> None:
    # No help from the test: the connection itself makes sure the kernel stamps (the first
    # socket to ask switches stamping on late; a loaded machine later still).
    offset_at_send = wall_offset()
    conn, sent, known, arrival, read_at = reply_read_late(servers)
    assert conn.stamped and conn.read_time_reason == ""
    # The kernel stamps with the wall clock, turned into the monotonic one with the offset
    # at read time: off by as much as the wall clock was stepped meanwhile (none, mostly).
    step = abs(wall_offset() - offset_at_send) + 100_000
    assert sent - step <= arrival <= known + step, (
        (arrival - sent) / 1e6, (known - sent) / 1e6, step / 1e6)
    assert read_at - arrival >= 200_000_000 - step


@linux_only
def test_a_reply_the_kernel_did_not_stamp_is_timed_by_its_read_and_says_so(
        servers: list[RawServer]) -> None:
    server, conn = connect(servers)
    assert conn.stamped
    conn.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 0)  # the kernel stamps no more
    server.send(server_frame(0x1, b"reply"))
    assert select.select([conn.sock], [], [], 5)[0]
    known = time.monotonic_ns()
    reader = Reader(conn)
    assert reader.read_until(1) == [b"reply"]
    assert reader.texts[0][1] > known  # the read's time
    assert conn.read_time_reason == READ_TIME_NO_STAMP


@linux_only
@pytest.mark.parametrize("step_s", [-3600, 3600])
def test_a_stamp_out_of_window_is_not_trusted(servers: list[RawServer], step_s: int) -> None:
    # The wall clock stepped by an hour between the kernel's stamp and the read: the stamp
    # would put the arrival an hour off; the read's time is used, and the reason given.
    conn, _, known, arrival, read_at = reply_read_late(servers, 0.05,
                                                       clock_step_ns=step_s * 1_000_000_000)
    assert known + 50_000_000 <= arrival <= read_at
    assert conn.read_time_reason == READ_TIME_OUT_OF_WINDOW


def test_the_wall_clock_offset_lies_between_two_readings_of_the_clocks() -> None:
    before = time.time_ns() - time.monotonic_ns()  # wall read first: at most the offset
    offset = wall_offset()
    after = -time.monotonic_ns() + time.time_ns()  # monotonic read first: at least it
    # wall_offset's own readings may be a few µs apart (it retries when they are not).
    assert before - 1_000_000 <= offset <= after + 1_000_000, (before, offset, after)


@linux_only
def test_the_process_keeps_kernel_stamping_on() -> None:
    assert keep_kernel_stamping()
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind(("127.0.0.1", 0))
        probe.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        # No wait for the switch-on: it must be on already, so the very first datagram
        # carries the time it arrived, earlier than the read.
        probe.sendto(b"x", probe.getsockname())
        assert select.select([probe], [], [], 5)[0]
        before = time.time_ns()
        _, ancillary, _, _ = probe.recvmsg(16, 64)
        stamps = [TIMESPEC.unpack_from(data) for level, kind, data in ancillary
                  if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS]
        assert stamps and stamps[0][0] * 1_000_000_000 + stamps[0][1] < before
    finally:
        probe.close()


def test_pipelined_replies_share_the_last_segments_time(servers: list[RawServer]) -> None:
    # Two replies read in one go both get the later one's time: latency can come out
    # longer than it was, never shorter.
    server, conn = connect(servers)
    server.send(server_frame(0x1, b"first"))
    time.sleep(0.05)
    server.send(server_frame(0x1, b"second"))
    time.sleep(0.05)
    reader = Reader(conn)
    assert reader.read_until(2) == [b"first", b"second"]
    first, second = (arrival for _, arrival in reader.texts)
    assert first == second or not conn.stamped


def test_receive_timestamps_are_not_asked_of_tls_sockets() -> None:
    import ssl

    from LoadGenerator.wsconn import enable_receive_timestamps

    plain = socket.socket()
    context = ssl.create_default_context()
    wrapped = context.wrap_socket(socket.socket(), server_hostname="localhost",
                                  do_handshake_on_connect=False)
    try:
        assert enable_receive_timestamps(plain) == sys.platform.startswith("linux")
        assert not enable_receive_timestamps(wrapped)
    finally:
        plain.close()
        wrapped.close()
