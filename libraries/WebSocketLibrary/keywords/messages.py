"""Sending frames and waiting for the ones that match."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from robot.api import logger
from robotlibcore import keyword

from ..connection import Frame
from ..context import LibraryContext, as_json_value, log_frame, recent_traffic
from ..matching import matches, mismatch


class MessageKeywords:
    def __init__(self, ctx: LibraryContext) -> None:
        self.ctx = ctx

    @keyword
    def send_text(self, text: str, alias: str | None = None) -> None:
        """Sends ``text`` as one text frame, exactly as given (no JSON check).

        Example:
        | Send Text    {incomplete json
        """
        self.ctx.connection(alias).send(text)
        log_frame(">>", text)

    @keyword
    def send_json(self, message: dict | list | str, alias: str | None = None) -> None:
        """Sends ``message`` as a JSON text frame.

        ``message`` is a Robot dictionary/list or a JSON string (checked to be valid JSON).

        Example:
        | Send Json    {"type": "ping", "timestamp": 1640995200000}
        | Send Json    ${message_dict}    alias=pulse
        """
        text = json.dumps(as_json_value(message), separators=(",", ":"))
        self.ctx.connection(alias).send(text)
        log_frame(">>", text)

    @keyword
    def wait_for_message(self, template: dict | list | str | None = None,
                         timeout: timedelta | None = None, alias: str | None = None) -> Any:
        """Waits for a JSON message that matches ``template`` and returns it.

        The match is partial: every key of the template must be present with an equal value,
        extra keys are ignored (nested objects likewise). Without a template the next JSON
        message matches. Messages are consumed: the matched one is removed from the buffer,
        others stay for later waits. Fails after ``timeout`` showing what did arrive.

        Example:
        | ${pong}=    Wait For Message    {"type": "pong"}    timeout=200ms
        """
        frame = self._take(as_json_value(template) if template is not None else None,
                           timeout, alias)
        return frame.data

    @keyword
    def measure_round_trip(self, message: dict | str, reply_template: dict | str,
                           timeout: timedelta | None = None, alias: str | None = None) -> float:
        """Sends ``message``, waits for a reply matching ``reply_template``, returns the ms.

        The round trip runs from just before the frame is handed to the socket to the
        moment the reader thread received the reply (monotonic clock), so the time this
        keyword spends matching is not counted.

        Example:
        | ${rtt}=    Measure Round Trip    {"type":"ping","id":7}    {"type":"pong","id":7}
        | Should Be True    ${rtt} < 200
        """
        template = as_json_value(reply_template)
        text = json.dumps(as_json_value(message), separators=(",", ":"))
        connection = self.ctx.connection(alias)
        sent_ns = connection.send(text)
        log_frame(">>", text)
        frame = self._take(template, timeout, alias, after_ns=sent_ns)
        rtt_ms = (frame.arrived_ns - sent_ns) / 1e6
        logger.info(f"Round trip {rtt_ms:.3f} ms")
        return rtt_ms

    @keyword
    def get_buffered_messages(self, alias: str | None = None) -> list[Any]:
        """Returns the frames received and not yet consumed, oldest first (JSON decoded).

        Example:
        | ${messages}=    Get Buffered Messages
        """
        return [f.data if f.is_json else f.raw
                for f in self.ctx.connection(alias).buffer.snapshot()]

    @keyword
    def clear_message_buffer(self, alias: str | None = None) -> int:
        """Discards the buffered frames and returns how many there were.

        Example:
        | Clear Message Buffer    pulse
        """
        return self.ctx.connection(alias).buffer.clear()

    def _take(self, template: Any, timeout: timedelta | None, alias: str | None,
              after_ns: int = 0) -> Frame:
        connection = self.ctx.connection(alias)
        seconds = self.ctx.seconds(timeout)

        def wanted(frame: Frame) -> bool:
            return (frame.is_json and frame.arrived_ns >= after_ns
                    and (template is None or matches(template, frame.data)))

        frame = connection.buffer.take(wanted, seconds)
        if frame is None:
            raise AssertionError(self._no_match(connection, template, seconds))
        log_frame("<<", frame.preview(10_000) if isinstance(frame.raw, bytes) else frame.raw)
        return frame

    @staticmethod
    def _no_match(connection: Any, template: Any, seconds: float) -> str:
        wanted = "any JSON message" if template is None else json.dumps(template)
        state = "" if connection.is_open else (
            f" The connection closed (code {connection.close_code}).")
        lines = [f"No message matching {wanted} within {seconds:g} s on "
                 f"{connection.url}.{state}"]
        buffered = connection.buffer.snapshot()
        if template is not None:
            for frame in buffered[-5:]:
                if frame.is_json:
                    lines.append(f"  {frame.preview(200)}  <- {mismatch(template, frame.data)}")
        lines.append(recent_traffic(connection))
        return "\n".join(lines)
