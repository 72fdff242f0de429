"""Sending frames: text, JSON, binary, raw bytes, frames of a given size, and at a rate."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from robot.api import logger
from robotlibcore import keyword

from ..context import as_json_value, compact_json
from ..kinds import FrameType
from ..kinds import frame_type as as_frame_type
from ..schedule import send_at_rate
from ..sizes import parse_size
from .base import Component

# Only a keyword that sends JSON can point to the one that sends anything.
SEND_TEXT_ADVICE = "The message (use 'Send Text' for text that is not JSON)"


class SendingKeywords(Component):
    @keyword(tags=["Action"])
    def send_text(self, text: str, alias: str | None = None) -> None:
        """Sends ``text`` as one text frame, exactly as given (no JSON check).

        Example:
        | Send Text    {incomplete json
        """
        self._send(alias, text)

    @keyword(tags=["Action"])
    def send_json(self, message: dict | list | str, alias: str | None = None) -> None:
        """Sends ``message`` as a compact JSON text frame.

        ``message`` is a Robot dictionary/list or a JSON string (checked to be valid JSON).

        Example:
        | Send Json    {"type": "ping", "timestamp": 1640995200000}
        | Send Json    ${message_dict}    alias=pulse
        """
        self._send(alias, compact_json(message, SEND_TEXT_ADVICE))

    @keyword(tags=["Action"])
    def send_binary(self, data: bytes, alias: str | None = None) -> None:
        """Sends ``data`` as one binary frame.

        ``data`` is a bytes value, e.g. from ``Convert To Bytes`` or ``${{b"\\x00\\x01"}}``.
        A plain string is converted character by character (each below 256).

        Example:
        | ${data}=    Convert To Bytes    00 01 ff    hex
        | Send Binary    ${data}
        """
        self._send(alias, bytes(data))

    @keyword(tags=["Action"])
    def send_bytes(self, data: bytes, frame_type: FrameType = FrameType.TEXT,
                   alias: str | None = None) -> None:
        """Sends ``data`` unchanged in a frame of ``frame_type`` (``text`` or ``binary``).

        With ``text`` the bytes go out as a text frame without any UTF-8 or JSON check, so
        a server's handling of invalid UTF-8 or broken JSON can be tested.

        Example:
        | ${truncated}=    Convert To Bytes    {"type": "ping"
        | Send Bytes    ${truncated}    # truncated JSON in a text frame
        | ${invalid}=    Convert To Bytes    ff fe    hex
        | Send Bytes    ${invalid}    # invalid UTF-8 in a text frame
        """
        self._send(alias, bytes(data), text=self._is_text(frame_type))

    @keyword(tags=["Action"])
    def send_frame_of_size(self, size: int | str, frame_type: FrameType = FrameType.TEXT,
                           fill: str = "x", timeout: timedelta = timedelta(seconds=60),
                           alias: str | None = None) -> int:
        """Sends one frame of exactly ``size`` bytes made of ``fill``; returns the size.

        ``size`` is a number of bytes or a size such as ``64 kB``, ``1 MiB`` or ``10 MB``.
        ``fill`` is repeated and cut to the size (ASCII keeps text frames exact). Useful to
        test a server's message size limit.

        Example:
        | Send Frame Of Size    10 MB
        | Connection Should Be Closed    1009    timeout=5s
        """
        count = parse_size(size)
        unit = fill.encode("utf-8") or b"x"
        payload = (unit * (count // len(unit) + 1))[:count]
        connection = self.ctx.connection(alias)
        connection.send(payload, timeout.total_seconds(), text=self._is_text(frame_type))
        logger.info(f">> {as_frame_type(frame_type).value} frame of {count} bytes "
                    f"({payload[:20]!r}…)")
        return count

    @keyword(tags=["Action"])
    def send_at_rate(self, message: dict | list | str, rate: float, duration: timedelta,
                     sequence_field: str | None = None, as_json: bool = True,
                     alias: str | None = None) -> dict[str, Any]:
        """Sends ``message`` ``rate`` times a second for ``duration`` (open loop).

        Frames go out on a fixed schedule (frame n at ``start + n / rate``) whatever the
        server answers, so a slow server cannot slow the load down; replies stay in the
        buffer. With ``sequence_field`` each JSON message gets that field set to its
        number (0, 1, 2 …). With ``as_json=False`` the message is sent as text, unchanged.

        Returns a dictionary: ``sent``, ``planned``, ``elapsed_s``, ``achieved_rate`` and the
        schedule lag ``lag_p50_ms``, ``lag_p99_ms``, ``lag_max_ms`` (send time minus planned).

        Example:
        | ${report}=    Send At Rate    {"type": "metric", "value": 1}    rate=50    duration=10s
        | ...    sequence_field=seq
        | Should Be True    ${report}[lag_p99_ms] < 20
        """
        connection = self.ctx.connection(alias)
        payload = self._payloads(message, sequence_field, as_json)
        seconds = duration.total_seconds()
        report = connection.call(send_at_rate(connection, payload, rate, seconds), seconds + 30)
        logger.info(f">> {report['sent']} frames at {rate:g}/s for {seconds:g} s "
                    f"(first: {payload(0)[:200]!r}); {report}")
        return report

    @staticmethod
    def _payloads(message: Any, sequence_field: str | None,
                  as_json: bool) -> Callable[[int], str]:
        if not as_json:
            text = str(message)
            return lambda _: text
        value = as_json_value(message, SEND_TEXT_ADVICE)
        if sequence_field is None:
            fixed = json.dumps(value, separators=(",", ":"))
            return lambda _: fixed
        if not isinstance(value, dict):
            raise ValueError("sequence_field needs a JSON object message.")
        return lambda n: json.dumps({**value, sequence_field: n}, separators=(",", ":"))

    @staticmethod
    def _is_text(frame_type: FrameType | str) -> bool:
        return as_frame_type(frame_type) is FrameType.TEXT

    def _send(self, alias: str | None, payload: str | bytes, text: bool | None = None) -> None:
        self.ctx.connection(alias).send(payload, text=text)
        self.ctx.log_frame(">>", payload, text)
