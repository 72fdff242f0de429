"""``python -m AlertCapture.server``: a real SMTP server and Slack webhook receiver.

One background process per test run, so that every pabot process sees the same captures.
It serves, on loopback ports:

- SMTP (aiosmtpd): every accepted message is captured;
- the webhook: any ``POST`` is captured (JSON decoded when it is JSON) and answered
  ``200 ok`` as Slack does;
- the control API, JSON over HTTP, for the keyword library:
  ``GET /health``, ``GET /captures?after=N&wait=S`` (long poll), ``GET /attempts``,
  ``POST /clear``, ``GET|POST /faults``.

Faults (``POST /faults`` with ``{"action": …}``): ``fail_webhooks`` (answer ``status`` to the
next ``count`` requests, optionally only those whose body matches ``matching``),
``fail_emails`` (answer ``code`` at DATA to the next ``count`` messages), ``refuse_emails``
(greet with ``code`` and hang up for ``seconds``), ``stop_listening`` (close the ``service``
socket for ``seconds``, then listen again on the same port), ``reset``.

Times: each capture has ``monotonic`` (``time.monotonic()`` of this host, comparable with
the test process's) and ``received_at_ms`` (wall clock).

The process publishes its ports in ``<state-dir>/state.json``, removes it on exit, and exits
on SIGTERM/SIGINT or as soon as the run it serves (``--owner-pid``) is gone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import json
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.smtp import SMTP, Envelope, Session

from runstate import pid_alive

from .state import CaptureState

log = logging.getLogger("alert-capture")
MAX_HEAD = 64 * 1024
MAX_BODY = 10 * 1024 * 1024
MAX_WAIT_S = 2.0
SERVICES = ("webhook", "smtp")


@dataclass
class Faults:
    webhook_failures: int = 0
    webhook_status: int = 500
    webhook_matching: str | None = None
    email_failures: int = 0
    email_code: int = 451
    email_matching: str | None = None
    refuse_emails_until: float = 0.0  # monotonic
    refuse_code: int = 421
    closed_until: dict[str, float] = field(default_factory=dict)  # service -> monotonic

    def describe(self) -> dict[str, Any]:
        now = time.monotonic()
        return {"webhook_failures": self.webhook_failures, "webhook_status": self.webhook_status,
                "webhook_matching": self.webhook_matching,
                "email_failures": self.email_failures, "email_code": self.email_code,
                "email_matching": self.email_matching,
                "refusing_emails_for_s": max(0.0, self.refuse_emails_until - now),
                "refuse_code": self.refuse_code,
                "not_listening": {s: round(t - now, 3) for s, t in self.closed_until.items()
                                  if t > now}}


class Store:
    """Captures (accepted notifications) and attempts (everything that arrived)."""

    def __init__(self) -> None:
        self.seq = 0
        self.captures: list[dict[str, Any]] = []
        self.attempts: list[dict[str, Any]] = []
        self.faults = Faults()
        self.changed = asyncio.Condition()

    def record(self, record: dict[str, Any], captured: bool) -> dict[str, Any]:
        self.seq += 1
        record = {"seq": self.seq, "monotonic": time.monotonic(),
                  "received_at_ms": int(time.time() * 1000), **record}
        self.attempts.append(record)
        if captured:
            self.captures.append(record)
        return record

    async def add(self, record: dict[str, Any], captured: bool) -> dict[str, Any]:
        record = self.record(record, captured)
        async with self.changed:
            self.changed.notify_all()
        return record

    def take_webhook_fault(self, body: str) -> int | None:
        faults = self.faults
        if faults.webhook_failures <= 0:
            return None
        if faults.webhook_matching and not re.search(faults.webhook_matching, body):
            return None
        faults.webhook_failures -= 1
        return faults.webhook_status

    def take_email_fault(self, text: str) -> int | None:
        faults = self.faults
        if faults.email_failures <= 0:
            return None
        if faults.email_matching and not re.search(faults.email_matching, text):
            return None
        faults.email_failures -= 1
        return faults.email_code

    def after(self, kind: str, seq: int, which: str = "captures") -> list[dict[str, Any]]:
        records = self.captures if which == "captures" else self.attempts
        return [r for r in records if r["seq"] > seq and (not kind or r["kind"] == kind)]


# -- HTTP (webhook and control API) -------------------------------------------------------

@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        return None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    if length > MAX_BODY:
        return None
    body = await reader.readexactly(length) if length else b""
    parts = urlsplit(target)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return Request(method.upper(), parts.path, query, headers, body)


def http_response(status: int, body: bytes | str | dict[str, Any] | list[Any],
                  content_type: str = "text/plain; charset=utf-8") -> bytes:
    if isinstance(body, dict | list):
        body = json.dumps(body).encode()
        content_type = "application/json"
    elif isinstance(body, str):
        body = body.encode()
    reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}
    head = (f"HTTP/1.1 {status} {reasons.get(status, 'Status')}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")
    return head.encode() + body


HttpHandler = Callable[[Request], Awaitable[bytes]]


def http_server(handler: HttpHandler) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                                  Awaitable[None]]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await read_request(reader)
            if request is None:
                writer.write(http_response(400, "bad request\n"))
            else:
                writer.write(await handler(request))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("HTTP handler failed")
            with contextlib.suppress(ConnectionError):
                writer.write(http_response(500, "capture server error\n"))
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return serve


# -- SMTP ---------------------------------------------------------------------------------

class SmtpHandler:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body_part = message.get_body(preferencelist=("plain", "html"))
        body = body_part.get_content() if body_part is not None else ""
        record = {"kind": "email", "peer": str(session.peer),
                  "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                  # Folded headers may start with the folding white space: not the value.
                  "subject": str(message.get("Subject", "")).strip(),
                  "from": str(message.get("From", "")).strip(),
                  "to": str(message.get("To", "")).strip(),
                  "message_id": str(message.get("Message-ID", "")).strip(),
                  "headers": {k: str(v).strip() for k, v in message.items()},
                  "body": body, "raw": raw.decode("utf-8", errors="replace")}
        code = self.store.take_email_fault(f"{record['subject']}\n{body}")
        if code is not None:
            await self.store.add({**record, "outcome": f"rejected {code}"}, captured=False)
            return f"{code} 4.3.0 Injected fault: try again later"
        await self.store.add({**record, "outcome": "captured"}, captured=True)
        return "250 2.0.0 OK: captured"


class RefuseSmtp(asyncio.Protocol):
    """Greets with a 4xx code and hangs up: an SMTP server that is temporarily unavailable."""

    def __init__(self, code: int) -> None:
        self.code = code

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(f"{self.code} 4.3.2 Service not available (injected)\r\n".encode())
        transport.close()


# -- the process --------------------------------------------------------------------------

class CaptureServer:
    def __init__(self, host: str, ports: dict[str, int]) -> None:
        self.host = host
        self.ports = dict(ports)  # webhook, smtp, control; 0 = any free port
        self.store = Store()
        self.servers: dict[str, asyncio.Server] = {}
        self._reopen: dict[str, asyncio.TimerHandle] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        for service in ("webhook", "smtp", "control"):
            await self._listen(service)

    async def _listen(self, service: str) -> None:
        port = self.ports[service]
        loop = asyncio.get_running_loop()
        if service == "smtp":
            server = await loop.create_server(self._smtp_protocol, self.host, port,
                                              reuse_address=True)
        else:
            handler = self._webhook if service == "webhook" else self._control
            server = await asyncio.start_server(http_server(handler), self.host, port,
                                                reuse_address=True, limit=MAX_HEAD)
        self.servers[service] = server
        self.ports[service] = server.sockets[0].getsockname()[1]

    def _smtp_protocol(self) -> asyncio.BaseProtocol:
        faults = self.store.faults
        if time.monotonic() < faults.refuse_emails_until:
            self.store.record({"kind": "email", "outcome": f"refused {faults.refuse_code}"},
                              captured=False)
            return RefuseSmtp(faults.refuse_code)
        return SMTP(SmtpHandler(self.store), hostname="alert-capture", enable_SMTPUTF8=True,
                    loop=asyncio.get_running_loop())

    async def close(self) -> None:
        for handle in self._reopen.values():
            handle.cancel()
        for server in self.servers.values():
            server.close()
        for server in self.servers.values():
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await server.wait_closed()

    # -- webhook --

    async def _webhook(self, request: Request) -> bytes:
        if request.method != "POST":
            return http_response(404, "POST your webhook here\n")
        text = request.body.decode("utf-8", errors="replace")
        try:
            payload: Any = json.loads(text)
        except ValueError:
            payload = None
        record = {"kind": "slack", "path": request.path, "headers": request.headers,
                  "body": text, "json": payload,
                  "text": payload.get("text", "") if isinstance(payload, dict) else text}
        status = self.store.take_webhook_fault(text)
        if status is not None:
            await self.store.add({**record, "outcome": f"rejected {status}"}, captured=False)
            return http_response(status, "injected fault\n")
        await self.store.add({**record, "outcome": "captured"}, captured=True)
        return http_response(200, "ok")

    # -- control API --

    async def _control(self, request: Request) -> bytes:
        route = (request.method, request.path)
        try:
            body = json.loads(request.body) if request.body else {}
        except ValueError:
            return http_response(400, {"error": "body is not JSON"})
        if route == ("GET", "/health"):
            # monotonic: the clock of every capture's "monotonic", for a client on another
            # host, whose own monotonic clock is unrelated (AlertCapture.Get Monotonic Time).
            return http_response(200, {"status": "ok", "pid": os.getpid(), **self.ports,
                                       "monotonic": time.monotonic()})
        if route in (("GET", "/captures"), ("GET", "/attempts")):
            return http_response(200, await self._records(request))
        if route == ("POST", "/clear"):
            self.store.captures.clear()
            self.store.attempts.clear()
            return http_response(200, {"cleared": True, "last_seq": self.store.seq})
        if route == ("GET", "/faults"):
            return http_response(200, self.store.faults.describe())
        if route == ("POST", "/faults"):
            try:
                answer = await self._fault(body)
            except (KeyError, ValueError, TypeError) as error:
                return http_response(400, {"error": f"bad fault request: {error}"})
            return http_response(200, {**answer, "faults": self.store.faults.describe()})
        return http_response(404, {"error": f"no route {request.method} {request.path}"})

    async def _records(self, request: Request) -> dict[str, Any]:
        which = request.path.strip("/")
        kind = request.query.get("kind", "")
        after = int(request.query.get("after", "0"))
        wait_s = min(float(request.query.get("wait", "0")), MAX_WAIT_S)
        records = self.store.after(kind, after, which)
        if not records and wait_s > 0:
            async with self.store.changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.store.changed.wait_for(
                        lambda: bool(self.store.after(kind, after, which))), wait_s)
            records = self.store.after(kind, after, which)
        return {which: records, "last_seq": self.store.seq, "monotonic": time.monotonic()}

    async def _fault(self, body: dict[str, Any]) -> dict[str, Any]:
        faults = self.store.faults
        action = body["action"]
        matching = body.get("matching") or None
        if matching:
            re.compile(matching)
        if action == "fail_webhooks":
            faults.webhook_failures = int(body.get("count", 1))
            faults.webhook_status = int(body.get("status", 500))
            faults.webhook_matching = matching
        elif action == "fail_emails":
            faults.email_failures = int(body.get("count", 1))
            faults.email_code = int(body.get("code", 451))
            faults.email_matching = matching
        elif action == "refuse_emails":
            faults.refuse_emails_until = time.monotonic() + float(body["seconds"])
            faults.refuse_code = int(body.get("code", 421))
            # On this server's clock: the client may be on another host.
            return {"accepting_again_at": faults.refuse_emails_until}
        elif action == "stop_listening":
            service = body["service"]
            if service not in SERVICES:
                raise ValueError(f"service must be one of {SERVICES}, got {service!r}")
            return await self._stop_listening(service, float(body["seconds"]))
        elif action == "reset":
            for handle in self._reopen.values():
                handle.cancel()
            for service in list(faults.closed_until):
                if service not in self.servers or not self.servers[service].is_serving():
                    await self._listen(service)
            self.store.faults = Faults()
        else:
            raise ValueError(f"unknown action {action!r}")
        return {}

    async def _stop_listening(self, service: str, seconds: float) -> dict[str, Any]:
        server = self.servers[service]
        server.close()
        await server.wait_closed()
        until = time.monotonic() + seconds
        self.store.faults.closed_until[service] = until
        loop = asyncio.get_running_loop()

        def reopened(task: asyncio.Task[None]) -> None:
            if task.exception() is not None:
                log.error("cannot listen on %s again: %s", service, task.exception())

        def reopen() -> None:
            task = loop.create_task(self._listen(service))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            task.add_done_callback(reopened)

        self._reopen[service] = loop.call_later(seconds, reopen)
        log.info("%s not listening for %.2f s", service, seconds)
        return {"listening_again_at": until}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m AlertCapture.server",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=0)
    parser.add_argument("--webhook-port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--owner-pid", type=int, required=True)
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    server = CaptureServer(args.host, {"webhook": args.webhook_port, "smtp": args.smtp_port,
                                       "control": args.control_port})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    state = CaptureState(status="ready", pid=os.getpid(), owner_pid=args.owner_pid,
                         started_at=time.time(), host=args.host,
                         smtp_port=server.ports["smtp"], webhook_port=server.ports["webhook"],
                         control_port=server.ports["control"])
    state.write(args.state_dir)
    log.info("capturing: %s", state)
    try:
        while not stop.is_set():
            if not pid_alive(args.owner_pid):
                log.info("owner process %d is gone: stopping", args.owner_pid)
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.2):
                    await stop.wait()
    finally:
        await server.close()
        current = CaptureState.read(args.state_dir)
        if current is not None and current.pid == os.getpid():
            CaptureState.remove(args.state_dir)
        log.info("stopped")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    try:
        asyncio.run(run(args))
    except OSError as error:
        log.error("cannot serve: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
