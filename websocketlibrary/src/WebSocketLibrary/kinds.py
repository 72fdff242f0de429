"""The fixed sets of values keywords take: Robot Framework converts the names (any case) to
these, refuses anything else, and libdoc lists them."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar


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


E = TypeVar("E", MessageKind, FrameType)


def _member(kinds: type[E], value: E | str, refusal: str) -> E:
    """``value`` as a member of ``kinds`` (Python callers may pass the value as a string);
    ``refusal`` (with ``{value}`` and ``{allowed}``) when it is none of them."""
    if isinstance(value, kinds):
        return value
    try:
        return kinds(str(value).lower())
    except ValueError:
        allowed = ", ".join(k.value for k in kinds)
        raise ValueError(refusal.format(value=repr(value), allowed=allowed)) from None


def message_kind(kind: MessageKind | str) -> MessageKind:
    """``kind`` as a MessageKind."""
    return _member(MessageKind, kind, "Unknown message type {value}; use one of {allowed}.")


def frame_type(kind: FrameType | str) -> FrameType:
    """``kind`` as a FrameType."""
    return _member(FrameType, kind, "frame_type must be text or binary, not {value}.")
