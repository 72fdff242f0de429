"""Validation of client messages (protocol.md sections 2, 4 and 9).

Pure functions, no I/O. :func:`validate` takes a message already decoded by
:func:`dashboards.messages.parse_frame` (a JSON object with a string ``type``) and returns a
typed request, or raises :class:`~dashboards.messages.ProtocolError` with code
``unknown_type``, ``validation_error`` or ``unknown_channel``. A message with any invalid part
is rejected whole; the error message names every offending field path (up to five) and what
was wrong with it, e.g. ``data.clarity: must be a finite number in [0, 1], got true``.

Decisions where the contract leaves room (also written down in docs/protocol.md):

- Integer fields (``timestamp``, ``last_seq``) follow JSON Schema's notion of an integer: any
  JSON number with no fractional part, so ``1.7e12`` is accepted as 1700000000000 while
  ``1640995200000.5`` and booleans are rejected.
- An optional field that is present must be valid: ``"source": null`` or ``"timestamp": null``
  is an error, not "absent".
- ``ping`` needs no ``timestamp``; whatever JSON value it carries is echoed as is (``None``,
  sent as ``null``, when absent).
- ``metrics_batch`` has no message-level ``timestamp`` (the contract lists none); one given is
  an unknown extra field and is ignored, so records without their own timestamp get server time.
- Duplicate channel names in ``subscribe``/``unsubscribe`` are collapsed, first occurrence
  first. A channel this dashboard lacks — including another dashboard's channel — is
  ``unknown_channel``; a structurally bad ``channels`` field is ``validation_error``.
- Client text shown in an error message is truncated and has ``<``, ``>`` and ``&`` escaped
  as ``\\u003c``, ``\\u003e``, ``\\u0026``, so no markup is ever reflected.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from .messages import ProtocolError, valid_id

METRICS: tuple[str, ...] = ("clarity", "chaos", "trust", "pain")
CHANNELS: dict[str, tuple[str, ...]] = {
    "pulse": ("clarity", "chaos", "trust", "pain", "alerts"),
    "seams": ("seams", "alerts"),
    "voices": ("voices", "alerts"),
}
CLIENT_TYPES: tuple[str, ...] = (
    "ping", "metrics", "metric_update", "metrics_batch",
    "subscribe", "unsubscribe", "resume", "ack_alert",
)
DEFAULT_SOURCE = "websocket"
MAX_RECORDS = 1000
MAX_SOURCE_LENGTH = 64
MAX_TOKEN_LENGTH = 128  # session_id, alert_id
TIMESTAMP_WINDOW_MS = 24 * 60 * 60 * 1000
MAX_REPORTED_ERRORS = 5

_SOURCE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_SHOW_LIMIT = 60


@dataclass(frozen=True)
class Record:
    """One metric value to store; ``timestamp_ms`` None means "server time at commit"."""

    metric: str
    value: float
    timestamp_ms: int | None


@dataclass(frozen=True)
class Ingest:
    """``metrics``, ``metric_update`` or ``metrics_batch``: records to store, in message order."""

    records: tuple[Record, ...]
    source: str


@dataclass(frozen=True)
class Ping:
    """``ping``: ``timestamp`` is echoed in the pong exactly as sent (None when absent)."""

    timestamp: Any


@dataclass(frozen=True)
class ChannelRequest:
    """``subscribe`` / ``unsubscribe``: known channels of this dashboard, duplicates collapsed."""

    channels: tuple[str, ...]


@dataclass(frozen=True)
class Resume:
    session_id: str
    last_seq: int


@dataclass(frozen=True)
class AckAlert:
    alert_id: str


Request = Ping | Ingest | ChannelRequest | Resume | AckAlert


# -- rendering client values in error messages ---------------------------------------------

def _escape(text: str) -> str:
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return text if len(text) <= _SHOW_LIMIT else text[:_SHOW_LIMIT] + "…"


def _show(value: Any) -> str:
    """A short, markup-free rendering of a client value: JSON literals, strings in quotes."""
    if isinstance(value, str):
        return "'" + _escape(value) + "'"
    try:
        text = json.dumps(value, separators=(", ", ": "), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return _escape(text)


def _expected(names: tuple[str, ...]) -> str:
    return ", ".join(names)


# -- error accumulation ---------------------------------------------------------------------

class _Problems:
    """Collects ``path: problem`` lines so that one reply names everything that is wrong."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, path: str, problem: str) -> None:
        self.lines.append(f"{path}: {problem}")

    def raise_if_any(self, message_id: Any) -> None:
        if not self.lines:
            return
        shown = "; ".join(self.lines[:MAX_REPORTED_ERRORS])
        more = len(self.lines) - MAX_REPORTED_ERRORS
        if more > 0:
            shown += f" (and {more} more)"
        raise ProtocolError("validation_error", shown, message_id)


_MISSING = object()


# -- field checks ---------------------------------------------------------------------------

def _is_integer(value: Any) -> bool:
    """JSON Schema's integer: a number, not a boolean, with no fractional part."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def _value(raw: Any, path: str, problems: _Problems) -> float | None:
    if raw is _MISSING:
        problems.add(path, "required: a finite number in [0, 1]")
        return None
    # ints are compared as they are: math.isfinite would overflow on a huge JSON integer
    ok = (not isinstance(raw, bool) and isinstance(raw, int | float)
          and (isinstance(raw, int) or math.isfinite(raw)) and 0 <= raw <= 1)
    if not ok:
        problems.add(path, f"must be a finite number in [0, 1], got {_show(raw)}")
        return None
    return float(raw) + 0.0  # + 0.0 turns -0.0 into 0.0


def _metric(raw: Any, path: str, problems: _Problems) -> str | None:
    if raw is _MISSING:
        problems.add(path, f"required: one of {_expected(METRICS)}")
        return None
    if not isinstance(raw, str) or raw not in METRICS:
        problems.add(path, f"unknown metric {_show(raw)} (expected {_expected(METRICS)})")
        return None
    return str(raw)


def _timestamp(raw: Any, path: str, now_ms: int, problems: _Problems) -> int | None:
    if raw is _MISSING:
        return None
    if not _is_integer(raw):
        problems.add(path, "must be an integer number of milliseconds since the Unix epoch, "
                           f"got {_show(raw)}")
        return None
    stamp = int(raw)
    if abs(stamp - now_ms) > TIMESTAMP_WINDOW_MS:
        problems.add(path, f"must be within 24 h of server time {now_ms}, got {stamp}")
        return None
    return stamp


def _source(message: dict[str, Any], problems: _Problems) -> str:
    raw = message.get("source", _MISSING)
    if raw is _MISSING:
        return DEFAULT_SOURCE
    if not isinstance(raw, str) or _SOURCE.fullmatch(raw) is None:
        problems.add("source", f"must be 1 to {MAX_SOURCE_LENGTH} characters of "
                               f"[A-Za-z0-9_.:-], got {_show(raw)}")
        return DEFAULT_SOURCE
    return raw


def _token(message: dict[str, Any], field: str, problems: _Problems) -> str:
    raw = message.get(field, _MISSING)
    if raw is _MISSING:
        problems.add(field, f"required: a non-empty string of at most {MAX_TOKEN_LENGTH} "
                            "characters")
        return ""
    if not isinstance(raw, str) or not 1 <= len(raw) <= MAX_TOKEN_LENGTH:
        problems.add(field, f"must be a non-empty string of at most {MAX_TOKEN_LENGTH} "
                            f"characters, got {_show(raw)}")
        return ""
    return raw


# -- message types --------------------------------------------------------------------------

def _ingest_metrics(message: dict[str, Any], now_ms: int, problems: _Problems) -> Ingest:
    timestamp = _timestamp(message.get("timestamp", _MISSING), "timestamp", now_ms, problems)
    source = _source(message, problems)
    data = message.get("data", _MISSING)
    records: list[Record] = []
    if data is _MISSING:
        problems.add("data", "required: a non-empty object of metric name → value")
    elif not isinstance(data, dict) or not data:
        problems.add("data", f"must be a non-empty object of metric name → value, got "
                             f"{_show(data)}")
    else:
        for key, raw in data.items():
            if key not in METRICS:
                problems.add("data", f"unknown metric {_show(key)} "
                                     f"(expected {_expected(METRICS)})")
                continue
            value = _value(raw, f"data.{key}", problems)
            if value is not None:
                records.append(Record(key, value, timestamp))
    return Ingest(tuple(records), source)


def _ingest_update(message: dict[str, Any], now_ms: int, problems: _Problems) -> Ingest:
    metric = _metric(message.get("metric", _MISSING), "metric", problems)
    value = _value(message.get("value", _MISSING), "value", problems)
    timestamp = _timestamp(message.get("timestamp", _MISSING), "timestamp", now_ms, problems)
    source = _source(message, problems)
    if metric is None or value is None:
        return Ingest((), source)
    return Ingest((Record(metric, value, timestamp),), source)


def _ingest_batch(message: dict[str, Any], now_ms: int, problems: _Problems) -> Ingest:
    source = _source(message, problems)
    items = message.get("records", _MISSING)
    records: list[Record] = []
    if items is _MISSING:
        problems.add("records", f"required: an array of 1 to {MAX_RECORDS} records")
    elif not isinstance(items, list):
        problems.add("records", f"must be an array of 1 to {MAX_RECORDS} records, got "
                                f"{_show(items)}")
    elif not 1 <= len(items) <= MAX_RECORDS:
        problems.add("records", f"must hold 1 to {MAX_RECORDS} records, got {len(items)}")
    else:
        for index, item in enumerate(items):
            path = f"records[{index}]"
            if not isinstance(item, dict):
                problems.add(path, "must be an object with metric, value and optional "
                                   f"timestamp, got {_show(item)}")
                continue
            metric = _metric(item.get("metric", _MISSING), f"{path}.metric", problems)
            value = _value(item.get("value", _MISSING), f"{path}.value", problems)
            timestamp = _timestamp(item.get("timestamp", _MISSING), f"{path}.timestamp",
                                   now_ms, problems)
            if metric is not None and value is not None:
                records.append(Record(metric, value, timestamp))
    return Ingest(tuple(records), source)


def _channels(message: dict[str, Any], dashboard: str, message_id: Any) -> ChannelRequest:
    problems = _Problems()
    raw = message.get("channels", _MISSING)
    known = CHANNELS[dashboard]
    wanted = f"a non-empty array of channel names ({_expected(known)})"
    if raw is _MISSING:
        problems.add("channels", f"required: {wanted}")
    elif not isinstance(raw, list) or not raw:
        problems.add("channels", f"must be {wanted}, got {_show(raw)}")
    else:
        for index, name in enumerate(raw):
            if not isinstance(name, str):
                problems.add(f"channels[{index}]", f"must be a channel name (a string), got "
                                                   f"{_show(name)}")
    problems.raise_if_any(message_id)
    channels = tuple(dict.fromkeys(raw))
    unknown = [name for name in channels if name not in known]
    if unknown:
        names = ", ".join(_show(name) for name in unknown[:MAX_REPORTED_ERRORS])
        if len(unknown) > MAX_REPORTED_ERRORS:
            names += f" (and {len(unknown) - MAX_REPORTED_ERRORS} more)"
        raise ProtocolError(
            "unknown_channel",
            f"channels: unknown channel(s) {names} on the {dashboard} dashboard "
            f"(expected {_expected(known)})",
            message_id)
    return ChannelRequest(channels)


def _resume(message: dict[str, Any], problems: _Problems) -> Resume:
    session_id = _token(message, "session_id", problems)
    raw = message.get("last_seq", _MISSING)
    last_seq = 0
    if raw is _MISSING:
        problems.add("last_seq", "required: a non-negative integer")
    elif not _is_integer(raw) or raw < 0:
        problems.add("last_seq", f"must be a non-negative integer, got {_show(raw)}")
    else:
        last_seq = int(raw)
    return Resume(session_id, last_seq)


def validate(message: dict[str, Any], dashboard: str, now_ms: int) -> Request:
    """Check one client message against protocol.md section 4 and return it typed.

    ``dashboard`` (``pulse``, ``seams`` or ``voices``) selects the known channels; ``now_ms``
    is server time for the ±24 h timestamp window. Raises ProtocolError (``unknown_type``,
    ``validation_error`` or ``unknown_channel``) carrying the client's ``id`` when it is a
    valid one; raises ValueError for an unknown ``dashboard`` (a programming error).
    """
    if dashboard not in CHANNELS:
        raise ValueError(f"unknown dashboard {dashboard!r}; expected one of {sorted(CHANNELS)}")
    if not isinstance(message, dict):
        raise ProtocolError("invalid_message",
                            f"a message must be a JSON object, got {type(message).__name__}")
    message_id = message.get("id") if valid_id(message.get("id")) else None
    kind = message.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("invalid_message", "a message needs a string field 'type'",
                            message_id)

    problems = _Problems()
    result: Request
    if kind == "ping":
        result = Ping(message.get("timestamp"))
    elif kind == "metrics":
        result = _ingest_metrics(message, now_ms, problems)
    elif kind == "metric_update":
        result = _ingest_update(message, now_ms, problems)
    elif kind == "metrics_batch":
        result = _ingest_batch(message, now_ms, problems)
    elif kind in ("subscribe", "unsubscribe"):
        result = _channels(message, dashboard, message_id)
    elif kind == "resume":
        result = _resume(message, problems)
    elif kind == "ack_alert":
        result = AckAlert(_token(message, "alert_id", problems))
    else:
        raise ProtocolError("unknown_type",
                            f"type: unknown message type {_show(kind)} "
                            f"(expected {_expected(CLIENT_TYPES)})",
                            message_id)
    problems.raise_if_any(message_id)
    return result
