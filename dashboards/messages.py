"""Parsing of client frames and construction of server frames (protocol.md sections 2, 9)."""

from __future__ import annotations

import json
import math
import time
from typing import Any


def now_ms() -> int:
    """Wall-clock milliseconds since the Unix epoch, the contract's timestamp unit."""
    return time.time_ns() // 1_000_000


class ProtocolError(Exception):
    """A client frame the server rejects; ``code`` is the contract's error code."""

    def __init__(self, code: str, message: str, message_id: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.message_id = message_id


def valid_id(value: Any) -> bool:
    """A client id is echoed only when it is a string of <= 64 chars or an integer."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and len(value) <= 64)


INT64_MAX = 2**63 - 1


class _OutOfRange:
    """Stands for a JSON number no field can hold (``1e309``, a 5,000-digit integer)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<number out of range>"


OUT_OF_RANGE = _OutOfRange()


def _not_json(name: str) -> Any:
    raise ProtocolError("invalid_json", f"{name} is not JSON (RFC 8259)")


def parse_frame(frame: str | bytes) -> dict[str, Any]:
    """Decode one frame into a message object or raise ProtocolError.

    RFC 8259 only: ``NaN`` and ``Infinity`` are ``invalid_json``. A number that is JSON but
    out of range (a float that overflows, an integer beyond 64 bits) makes the whole
    message a ``validation_error``, with its id, once the rest of it is decoded.
    """
    if isinstance(frame, bytes):
        raise ProtocolError("invalid_message", "binary frames are not accepted; send JSON text")
    if not frame.strip():
        raise ProtocolError("invalid_json", "empty message")
    out_of_range: list[str] = []

    def integer(text: str) -> Any:
        # Compared as text first: int() of thousands of digits is slow, and refused.
        if len(text) > 20 or abs(int(text)) > INT64_MAX:
            out_of_range.append(text[:20] + ("…" if len(text) > 20 else ""))
            return OUT_OF_RANGE
        return int(text)

    def real(text: str) -> Any:
        value = float(text)
        if math.isinf(value):
            out_of_range.append(text[:20])
            return OUT_OF_RANGE
        return value

    try:
        message = json.loads(frame, parse_int=integer, parse_float=real,
                             parse_constant=_not_json)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ProtocolError("invalid_json", f"not valid JSON: {error}") from None
    if not isinstance(message, dict):
        raise ProtocolError("invalid_message",
                            f"a message must be a JSON object, got {type(message).__name__}")
    message_id = message.get("id") if valid_id(message.get("id")) else None
    if not isinstance(message.get("type"), str):
        raise ProtocolError("invalid_message", "a message needs a string field 'type'",
                            message_id)
    if out_of_range:
        raise ProtocolError("validation_error", f"number out of range for its field: "
                            f"{out_of_range[0]}", message_id)
    return message


def peek_id(frame: str | bytes) -> Any:
    """The id a reply to ``frame`` carries, for a frame that is not processed (rate
    limited): its valid ``id``, or None."""
    try:
        message = parse_frame(frame)
    except ProtocolError as error:
        return error.message_id
    return message.get("id") if valid_id(message.get("id")) else None


def error_frame(error: ProtocolError, **extra: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": error.code, "message": error.message,
                             "timestamp": now_ms(), **extra}
    if error.message_id is not None:
        frame["id"] = error.message_id
    return frame


def reply(message: dict[str, Any], frame: dict[str, Any]) -> dict[str, Any]:
    """Attach the client's id to a direct reply."""
    if valid_id(message.get("id")):
        frame["id"] = message["id"]
    return frame
