"""JSON text as keywords see it: RFC 8259 only, and nothing Robot Framework cannot log.

``json.loads`` accepts ``NaN`` and ``Infinity``, which are not JSON; and it decodes the legal
escape of a lone surrogate (``"\\ud800"``) into a character that cannot be encoded as UTF-8,
which makes Robot Framework fail to write its log. Received frames, templates and values
returned to tests are therefore decoded here: the constants are refused, and each lone
surrogate stays the six characters of its escape (``\\ud800``), the same on both sides
of a comparison.
"""

from __future__ import annotations

import json
import re
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def decode(text: str) -> Any:
    """``text`` decoded as RFC 8259 JSON (ValueError if it is not)."""
    value = json.loads(text, parse_constant=_refuse_constant)
    # Only an escape can produce a lone surrogate: text without one needs no walk.
    return _escape_lone_surrogates(value) if "\\u" in text else value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259)")


def _escape_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", value)
    if isinstance(value, list):
        return [_escape_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_escape_lone_surrogates(key): _escape_lone_surrogates(item)
                for key, item in value.items()}
    return value
