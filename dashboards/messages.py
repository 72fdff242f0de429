"""Parsing of client frames and construction of server frames (protocol.md sections 2, 9)."""

from __future__ import annotations

import json
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


def parse_frame(frame: str | bytes) -> dict[str, Any]:
    """Decode one frame into a message object or raise ProtocolError."""
    if isinstance(frame, bytes):
        raise ProtocolError("invalid_message", "binary frames are not accepted; send JSON text")
    if not frame.strip():
        raise ProtocolError("invalid_json", "empty message")
    try:
        message = json.loads(frame)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ProtocolError("invalid_json", f"not valid JSON: {error}") from None
    if not isinstance(message, dict):
        raise ProtocolError("invalid_message",
                            f"a message must be a JSON object, got {type(message).__name__}")
    message_id = message.get("id") if valid_id(message.get("id")) else None
    if not isinstance(message.get("type"), str):
        raise ProtocolError("invalid_message", "a message needs a string field 'type'",
                            message_id)
    return message


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
