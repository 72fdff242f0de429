"""A WebSocket client connection for the load generator's poll loop: non-blocking, lean.

The workers run their own poll loop instead of asyncio: on this kind of machine a
wake-up costs more CPU than the message it carries, and an asyncio client wakes two or
three times per message. A worker wakes once per schedule tick, sends what is due and
reads whatever replies have arrived.

The opening handshake is websockets' (``websockets.client.ClientProtocol``: request,
response checks, Sec-WebSocket-Accept). The data phase is framed here, because it is the
generator's hot path: websockets' Sans-I/O parser took ~20 µs per frame in the worker's
loop on a 2-core VM (py-spy), a fifth of what a whole message then cost. It covers what a
client without extensions needs (RFC 6455 §5): masked frames out; unmasked frames in,
with 7/16/64-bit lengths, fragmentation, ping → pong and the closing handshake; anything
else (a masked frame, RSV bits, an unknown opcode) is a protocol error and closes the
connection with 1002.

Reading late does not make latency wrong: on Linux each plain TCP socket asks the kernel
for receive timestamps (``SO_TIMESTAMPNS``), and a reply's arrival is the time the kernel
took in its last segment, not the time the worker got round to reading it. A read holding
several replies gives them all the last segment's time, which can only make latency look
worse, never better. Linux stamps arriving packets only while some socket asks for it, and
the first socket to ask switches stamping on through deferred work: over TCP a segment that
arrives before that work ran has no stamp at all (seen for a third of first replies on a
loaded 2-core VM). So before the first stamped connection is handed over, the process makes
sure stamping is on and keeps it on (`keep_kernel_stamping`).

Where the kernel's time cannot be had, the read time is used, and the connection says why
in ``read_time_reason`` after each read (the load's figures count such replies):
``TLS`` (no timestamps through the TLS layer), ``stamping refused`` (not Linux, or the
socket option refused), ``no kernel stamp`` (the kernel gave none: stamping was not on),
``stamp out of window`` (a stamp from the future or older than ``STAMP_MAX_AGE_NS``: the
wall clock, which the kernel stamps with, was stepped).

Over TLS the socket is an ``ssl.SSLSocket``, non-blocking like a plain one: a read or write
that would block raises ``SSLWantReadError``/``SSLWantWriteError`` (a write is kept and
retried with the same bytes first). A read drains every record there is: OpenSSL may have
taken records off the socket that the kernel therefore no longer signals
(``SSLSocket.pending()``), and a reply left there would wait for the next socket event.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence

from websockets.client import ClientProtocol
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import WebSocketURI, parse_uri

from WebSocketLibrary.tlsoptions import TlsOptions, bearer_headers, describe_tls_error, redact_url

try:
    from websockets.speedups import apply_mask
except ImportError:  # websockets built without its C extension
    from websockets.utils import apply_mask

RECV_BYTES = 262_144
MAX_RESPONSE_BYTES = 65_536
OnText = Callable[[bytes, int], None]
SocketOption = tuple[int, int, int]
NS = 1_000_000_000
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux's value; Python lacks the name
TIMESPEC = struct.Struct("@qq")
STAMP_MAX_AGE_NS = 10 * NS  # an older kernel time means the wall clock stepped: use the read's
# A stamp up to this far after the read is the read (the wall clock offset is measured to
# within microseconds, see wall_offset); further, the wall clock stepped.
STAMP_AHEAD_NS = 1_000_000
STAMPING_ON_TIMEOUT_S = 2.0  # how long a process waits for the kernel to switch stamping on
# Why a read's texts carry the read time instead of the kernel's receive time:
READ_TIME_TLS = "TLS"
READ_TIME_REFUSED = "stamping refused"
READ_TIME_NO_STAMP = "no kernel stamp"
READ_TIME_OUT_OF_WINDOW = "stamp out of window"
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MASKS_AT_ONCE = 64          # mask keys drawn from the OS per call (one getrandom per 64 frames)
TLS_READS_AT_ONCE = 64      # records read per wake-up and connection at most (fairness)
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError,
                ssl.SSLWantWriteError)


class TlsError(ConnectionError):
    """The TLS of a ``wss://`` connection failed: the message says what was expected and
    what happened (certificate not verified, client certificate refused, no TLS)."""


class _ClosedInHandshake(ConnectionError):
    """The server closed the connection before its handshake response was complete."""


_ENDED = (_ClosedInHandshake, ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


def frame(opcode: int, payload: bytes, mask: bytes) -> bytes:
    """One final, masked client frame."""
    length = len(payload)
    if length < 126:
        head = bytes((0x80 | opcode, 0x80 | length))
    elif length < 65_536:
        head = bytes((0x80 | opcode, 0xFE)) + length.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0xFF)) + length.to_bytes(8, "big")
    return head + mask + apply_mask(payload, mask)


class WsConnection:
    """One open connection: ``send_text`` and ``read`` never block."""

    __slots__ = ("answer_pings", "backlog", "close_code", "closed", "fd", "fragments", "inbox",
                 "mask_at", "masks", "pings", "read_time_reason", "sock", "stamped",
                 "text_fragments", "tls", "unstamped")

    def __init__(self, sock: socket.socket, leftover: bytes = b"") -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.backlog = bytearray()     # bytes the kernel would not take yet
        self.inbox = bytearray(leftover)  # received bytes not yet a whole frame
        self.fragments: list[bytes] = []
        self.text_fragments = False
        self.masks = b""
        self.mask_at = 0
        self.closed = False
        self.close_code: int | None = None  # the code of the server's close frame
        self.pings: list[int] = []  # arrival (monotonic ns) of each ping frame
        self.answer_pings = True  # False plays a peer that never answers (keepalive tests)
        self.stamped = enable_receive_timestamps(sock)
        self.tls = isinstance(sock, ssl.SSLSocket)
        # Why every read is timed by the read ("" if the kernel stamps), and why the last was.
        self.unstamped = READ_TIME_TLS if self.tls else "" if self.stamped \
            else READ_TIME_REFUSED
        self.read_time_reason = self.unstamped

    def next_mask(self) -> bytes:
        # Unpredictable keys (RFC 6455 §5.3) from the OS, fetched in batches.
        at = self.mask_at
        if at >= len(self.masks):
            self.masks = os.urandom(4 * MASKS_AT_ONCE)
            at = 0
        self.mask_at = at + 4
        return self.masks[at:at + 4]

    def send_text(self, data: bytes) -> None:
        """Sends one text message, or queues what the socket does not take (raises if
        the connection is closed)."""
        if self.closed:
            raise ConnectionError("the connection is closed")
        data = frame(TEXT, data, self.next_mask())
        if self.backlog:  # keep the order: behind what is already waiting
            self.backlog += data
            self.write()
            return
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            sent = 0
        except OSError:
            self.closed = True
            raise
        if sent < len(data):
            self.backlog += data[sent:]

    def write(self) -> None:
        """Writes as much of the backlog as the socket takes now."""
        if not self.backlog or self.closed:
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

    def read(self, buffer: memoryview, on_text: OnText, now_ns: Callable[[], int],
             wall_offset: int) -> bool:
        """Reads what is there into ``buffer`` and hands each text message to ``on_text``
        with its arrival time (monotonic ns); False once the connection is over.
        ``wall_offset`` is ``time.time_ns() - time.monotonic_ns()`` (see `wall_offset`), to
        turn the kernel's wall-clock receive time into the monotonic clock. Afterwards
        ``read_time_reason`` says why the texts carried the read time ("" if they carried
        the kernel's receive time)."""
        ancillary: list[tuple[int, int, bytes]] = []
        try:
            if self.stamped:
                size, ancillary, _, _ = self.sock.recvmsg_into([buffer], 64)
            else:
                size = self.sock.recv_into(buffer)
        except _WOULD_BLOCK:
            return True
        except OSError:
            size = 0
        if not size:
            self.closed = True
            return False
        now = now_ns()
        if self.tls:
            return self.read_tls(buffer, size, on_text, now)
        reason = self.unstamped
        if self.stamped:
            reason = READ_TIME_NO_STAMP
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    seconds, nanoseconds = TIMESPEC.unpack_from(value)
                    stamp = seconds * NS + nanoseconds - wall_offset
                    if now - STAMP_MAX_AGE_NS < stamp <= now + STAMP_AHEAD_NS:
                        now = min(stamp, now)
                        reason = ""
                    else:
                        reason = READ_TIME_OUT_OF_WINDOW
        self.read_time_reason = reason
        inbox = self.inbox
        inbox += buffer[:size]
        return self.parse(inbox, on_text, now)

    def read_tls(self, buffer: memoryview, size: int, on_text: OnText, now: int) -> bool:
        """The rest of a TLS read: one ``recv`` returns one record at most, so read on
        until OpenSSL has nothing buffered (``pending()``) and the socket nothing more."""
        assert isinstance(self.sock, ssl.SSLSocket)
        inbox = self.inbox
        inbox += buffer[:size]
        ended = False
        reads = 0
        while True:
            if reads >= TLS_READS_AT_ONCE and not self.sock.pending():
                break  # what is left is in the kernel, which signals it: others' turn now
            reads += 1
            try:
                size = self.sock.recv_into(buffer)
            except _WOULD_BLOCK:
                break
            except OSError:
                size = 0
            if not size:
                ended = True
                break
            inbox += buffer[:size]
        alive = self.parse(inbox, on_text, now)
        if ended:
            self.closed = True
            return False
        return alive

    def handle_buffered(self, on_text: OnText, now: int) -> bool:
        """Handles the frames that came in with the handshake response (read() only runs
        when more bytes arrive); False if they ended the connection."""
        return self.parse(self.inbox, on_text, now) if self.inbox else True

    def parse(self, inbox: bytearray, on_text: OnText, now: int) -> bool:
        """Handles every whole frame at the start of ``inbox`` and removes it."""
        pos = 0
        available = len(inbox)
        alive = True
        while available - pos >= 2:
            first, second = inbox[pos], inbox[pos + 1]
            if second & 0x80 or first & 0x70:  # masked by the server, or an extension's bits
                self.fail()
                return False
            length = second & 0x7F
            head = 2
            if length == 126:
                head = 4
                if available - pos < head:
                    break
                length = int.from_bytes(inbox[pos + 2:pos + 4], "big")
            elif length == 127:
                head = 10
                if available - pos < head:
                    break
                length = int.from_bytes(inbox[pos + 2:pos + 10], "big")
            end = pos + head + length
            if end > available:
                break
            payload = bytes(inbox[pos + head:end])
            pos = end
            if first == 0x81 and not self.fragments:  # the usual: a whole text message
                on_text(payload, now)
            elif not self.handle(first & 0x0F, bool(first & 0x80), payload, on_text, now):
                alive = False
                break
        del inbox[:pos]
        return alive

    def handle(self, opcode: int, fin: bool, payload: bytes, on_text: OnText,
               now: int) -> bool:
        if opcode in (TEXT, BINARY):
            if self.fragments:  # a new message inside a fragmented one
                self.fail()
                return False
            if fin:
                return True  # a whole binary message: not a reply
            self.fragments.append(payload)
            self.text_fragments = opcode == TEXT
        elif opcode == CONT:
            if not self.fragments:
                self.fail()
                return False
            self.fragments.append(payload)
            if fin:
                if self.text_fragments:
                    on_text(b"".join(self.fragments), now)
                self.fragments.clear()
        elif opcode == PING:
            self.pings.append(now)
            if self.answer_pings:
                self.backlog += frame(PONG, payload, self.next_mask())
                self.write()
        elif opcode == CLOSE:
            # The server's closing handshake: answer with its code, and stop.
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 \
                else 1005
            self.backlog += frame(CLOSE, payload[:2], self.next_mask())
            self.write()
            self.closed = True
            return False
        elif opcode != PONG:
            self.fail()
            return False
        return True

    def fail(self) -> None:
        """A protocol error: close with 1002 and stop reading."""
        self.backlog += frame(CLOSE, (1002).to_bytes(2, "big"), self.next_mask())
        self.write()
        self.closed = True

    def close(self) -> None:
        """Starts the closing handshake (1000) and closes the socket without waiting."""
        if not self.closed:
            with contextlib.suppress(Exception):
                self.backlog += frame(CLOSE, (1000).to_bytes(2, "big"), self.next_mask())
                self.write()
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.close()


def enable_receive_timestamps(sock: socket.socket) -> bool:
    """Asks the kernel to stamp the segments it receives (Linux, plain TCP); True if so.
    The first time in a process, also waits until the kernel has stamping switched on
    (`keep_kernel_stamping`)."""
    if isinstance(sock, ssl.SSLSocket) or not sys.platform.startswith("linux"):
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    keep_kernel_stamping()
    return True


class _Keeper:
    """The process's stamping probe, once it showed that stamping is on."""

    sock: socket.socket | None = None
    tried = False
    lock = threading.Lock()


def keep_kernel_stamping(timeout: float = STAMPING_ON_TIMEOUT_S) -> bool:
    """Makes sure the kernel stamps packets as they arrive, and keeps it so for as long as
    this process lives; True once it does (at once after the first call).

    Linux stamps arriving packets only while some socket has asked for it; when none has,
    the first to ask switches stamping on through deferred work, which a loaded machine
    runs late, and a TCP segment that arrives before has no stamp. A UDP socket of this
    process asks too, then sends itself datagrams until one comes back stamped before it
    was read; kept open, it keeps stamping on between one load's connections and the
    next's. Tried once per process: if stamping did not come on within ``timeout``, the
    replies that then have no stamp are counted (``no kernel stamp``), not waited for again.
    """
    if not _Keeper.tried:
        with _Keeper.lock:
            if not _Keeper.tried:
                _Keeper.sock = _stamping_probe(timeout)
                _Keeper.tried = True
    return _Keeper.sock is not None


def _stamping_probe(timeout: float) -> socket.socket | None:
    """A UDP socket asking for receive timestamps, once one of its own datagrams was
    stamped on arrival (before it was read); None if none was within ``timeout``."""
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except OSError:
        return None
    try:
        probe.bind(("127.0.0.1", 0))
        probe.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        address = probe.getsockname()
        deadline = time.monotonic() + timeout
        while True:
            probe.sendto(b"?", address)
            if select.select([probe], [], [], max(0.0, deadline - time.monotonic()))[0]:
                before = time.time_ns()  # a stamp taken at the read is later than this
                _, ancillary, _, _ = probe.recvmsg(16, 64)
                for level, kind, value in ancillary:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                        seconds, nanoseconds = TIMESPEC.unpack_from(value)
                        if seconds * NS + nanoseconds < before:
                            return probe
            if time.monotonic() >= deadline:
                break
            time.sleep(0.001)  # polling: the kernel's switch-on has no event to wait for
    except OSError:
        pass
    probe.close()
    return None


def wall_offset() -> int:
    """``time.time_ns() - time.monotonic_ns()``, to turn a kernel (wall-clock) stamp into
    the monotonic clock. Read between two monotonic readings, the tightest of a few tries:
    a thread preempted between the two clocks' readings would put its stamps later by the
    time it was off the CPU (on a loaded machine, later than the read itself)."""
    best_gap = best = 0
    for attempt in range(4):
        before = time.monotonic_ns()
        wall = time.time_ns()
        after = time.monotonic_ns()
        if not attempt or after - before < best_gap:
            best_gap, best = after - before, wall - (before + after) // 2
        if best_gap < 20_000:
            break
    return best


def open_connection(url: str, headers: dict[str, str] | None = None,
                    timeout: float = 10.0, context: ssl.SSLContext | None = None,
                    token: str | None = None, tls: TlsOptions | None = None,
                    log_url: str | None = None,
                    socket_options: Sequence[SocketOption] = ()) -> WsConnection:
    """Opening handshake (blocking, within ``timeout``); returns a non-blocking connection.

    Only the HTTP response goes through websockets' protocol; whatever the server sent
    after it (a welcome frame, say) stays for the connection's own framing.

    ``wss://`` uses ``context`` (default: verified against the system's CAs); ``tls`` are
    the options it was built from, for messages, which name the URL as ``log_url``
    (default: ``url`` with its secrets as ``***``). ``token`` is sent as
    ``Authorization: Bearer <token>``. A refusal raises websockets' ``InvalidStatus``, a
    TLS failure `TlsError` with a readable message. ``socket_options`` (level, option,
    value) are set before the TCP connect, where options such as ``TCP_MAXSEG`` take effect.
    """
    uri = parse_uri(url)
    extra = bearer_headers(token, headers)
    sock = _connect(uri.host, uri.port, timeout, socket_options)
    tls_done = False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if uri.secure:
            sock = (context or ssl.create_default_context()).wrap_socket(
                sock, server_hostname=uri.host)
            tls_done = True
        rest = _handshake(sock, uri, extra)
        if isinstance(sock, ssl.SSLSocket):
            while pending := sock.pending():  # decrypted already: the kernel will not signal
                rest += sock.recv(pending)
        sock.setblocking(False)
    except BaseException as error:
        sock.close()
        # On wss://: an ssl error, or the server ending the connection in the TLS handshake
        # (no TLS server) or right after it, before any response (a TLS 1.3 server refusing
        # the client certificate, as the client sees it).
        if uri.secure and isinstance(error, (ssl.SSLError, *_ENDED)):
            after = tls_done and not isinstance(error, ssl.SSLError)
            raise TlsError(describe_tls_error(log_url or redact_url(url), error, tls,
                                              after_handshake=after)) from None
        raise
    return WsConnection(sock, rest)


def _connect(host: str, port: int, timeout: float,
             options: Sequence[SocketOption]) -> socket.socket:
    """``socket.create_connection``, with ``options`` set on each socket before it connects."""
    if not options:
        return socket.create_connection((host, port), timeout=timeout)
    error: OSError | None = None
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, 0,
                                                              socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            for level, option, value in options:
                sock.setsockopt(level, option, value)
            sock.settimeout(timeout)
            sock.connect(address)
            return sock
        except OSError as failed:
            error = failed
            sock.close()
    raise error or OSError(f"cannot resolve {host}")


def _handshake(sock: socket.socket, uri: WebSocketURI, headers: dict[str, str]) -> bytes:
    """Sends the upgrade request and reads the response; returns what came after it."""
    protocol = ClientProtocol(uri, max_size=None)  # no extensions offered: no compression
    request = protocol.connect()
    for name, value in headers.items():
        request.headers[name] = value
    protocol.send_request(request)
    sock.sendall(b"".join(protocol.data_to_send()))
    received = bytearray()
    while (end := received.find(b"\r\n\r\n")) < 0:
        if len(received) > MAX_RESPONSE_BYTES:
            raise ConnectionError("the server's handshake response is too long")
        data = sock.recv(RECV_BYTES)
        if not data:
            hint = "" if uri.secure else " (a TLS server does so to ws://: use wss:// for it)"
            raise _ClosedInHandshake(f"the server closed the connection during the "
                                     f"handshake{hint}")
        received += data
    protocol.receive_data(bytes(received[:end + 4]))
    rest = bytes(received[end + 4:])
    responded = any(isinstance(e, Response) for e in protocol.events_received())
    if not responded:  # not a 101: websockets reads the body, then says why
        data, rest = rest, b""
        while not responded:
            if data:
                protocol.receive_data(data)
                responded = any(isinstance(e, Response)
                                for e in protocol.events_received())
            if not responded:
                data = sock.recv(RECV_BYTES)
                if not data:
                    protocol.receive_eof()
                    protocol.events_received()
                    break
    if protocol.handshake_exc is not None:
        raise protocol.handshake_exc
    if protocol.state is not State.OPEN:
        raise ConnectionError("the server closed the connection during the handshake")
    return rest
