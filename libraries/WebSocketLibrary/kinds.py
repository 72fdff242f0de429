"""The fixed sets of values keywords take: Robot Framework converts the names (any case) to
these, refuses anything else, and libdoc lists them."""

from __future__ import annotations

from enum import Enum


class MessageKind(Enum):
    """Which frames a wait looks at: ``json`` (text frames holding JSON: the default),
    ``text`` (any text frame, JSON or not: the default when only a ``regex`` is given),
    ``binary`` (binary frames) or ``any``."""

    JSON = "json"
    TEXT = "text"
    BINARY = "binary"
    ANY = "any"


class FrameType(Enum):
    """The WebSocket frame a payload goes out in: ``text`` or ``binary``."""

    TEXT = "text"
    BINARY = "binary"


def message_kind(kind: MessageKind | str) -> MessageKind:
    """``kind`` as a MessageKind (Python callers may pass the value as a string)."""
    if isinstance(kind, MessageKind):
        return kind
    try:
        return MessageKind(str(kind).lower())
    except ValueError:
        raise ValueError(f"Unknown message type {kind!r}; use one of "
                         f"{', '.join(k.value for k in MessageKind)}.") from None


def frame_type(kind: FrameType | str) -> FrameType:
    """``kind`` as a FrameType (Python callers may pass the value as a string)."""
    if isinstance(kind, FrameType):
        return kind
    try:
        return FrameType(str(kind).lower())
    except ValueError:
        raise ValueError(f"frame_type must be text or binary, not {kind!r}.") from None
