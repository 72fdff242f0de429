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


class RequestIdFormat(Enum):
    """How `Send Request` makes a correlation id: ``uuid`` (a random UUID string) or
    ``counter`` (the integers 1, 2, 3 … of the library instance, as JSON-RPC clients do)."""

    UUID = "uuid"
    COUNTER = "counter"


class TrafficLog(Enum):
    """Where every frame received is logged as it is drained at the end of each keyword:
    ``none`` (only the frames waits return, the default), ``debug`` (visible with
    ``--loglevel DEBUG``) or ``info`` (always)."""

    NONE = "none"
    DEBUG = "debug"
    INFO = "info"


E = TypeVar("E", MessageKind, FrameType, RequestIdFormat, TrafficLog)


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


def request_id_format(kind: RequestIdFormat | str) -> RequestIdFormat:
    """``kind`` as a RequestIdFormat."""
    return _member(RequestIdFormat, kind, "id_format must be uuid or counter, not {value}.")


def traffic_log(level: TrafficLog | str) -> TrafficLog:
    """``level`` as a TrafficLog."""
    return _member(TrafficLog, level, "The traffic log level must be one of {allowed}, "
                                      "not {value}.")
