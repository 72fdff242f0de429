"""Which received frames a keyword is looking for: template, JSONPath + operator, regex, type."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from assertionengine import AssertionOperator, verify_assertion
from jsonpath_ng import JSONPath
from jsonpath_ng.ext import parse as parse_jsonpath

from . import jsontext
from .frames import Frame
from .kinds import MessageKind, message_kind
from .matching import matches, mismatch

_MISSING = object()


@lru_cache(maxsize=256)
def compile_path(path: str) -> JSONPath:
    try:
        return parse_jsonpath(path)
    except Exception as error:
        raise ValueError(f"Invalid JSONPath {path!r}: {error}") from None


def find_path(data: Any, path: str) -> Any:
    """The value at ``path`` (a list when it selects several), or ``_MISSING``."""
    found = [match.value for match in compile_path(path).find(data)]
    if not found:
        return _MISSING
    return found[0] if len(found) == 1 else found


def path_value(data: Any, path: str) -> Any:
    """The value at ``path``; ValueError when the path selects nothing."""
    value = find_path(data, path)
    if value is _MISSING:
        raise ValueError(f"JSONPath {path} selects nothing in {json.dumps(data)[:200]}")
    return value


def coerce_expected(expected: Any, value: Any) -> Any:
    """Robot passes ``expected`` as text: convert it to the type of the JSON ``value``."""
    if not isinstance(expected, str) or isinstance(value, str):
        return expected
    if isinstance(value, bool):
        lowered = expected.strip().lower()
        return {"true": True, "false": False}.get(lowered, expected)
    if isinstance(value, int | float):
        try:
            number = float(expected)
        except ValueError:
            return expected
        return int(number) if number.is_integer() and "." not in expected else number
    if value is None and expected.strip().lower() in ("null", "none"):
        return None
    if isinstance(value, dict | list):
        try:
            return jsontext.decode(expected)
        except ValueError:
            return expected
    return expected


def check_value(value: Any, operator: AssertionOperator | None, expected: Any,
                what: str) -> str | None:
    """Why ``value`` fails ``operator expected`` (None when it passes)."""
    if operator is None:
        if expected is None:
            return None
        operator = AssertionOperator["=="]
    try:
        verify_assertion(value, operator, coerce_expected(expected, value), what)
    except AssertionError as error:
        return str(error)
    except (TypeError, ValueError) as error:
        return f"{what} {value!r}: {error}"
    return None


class FrameFilter:
    """A predicate over frames, combining every criterion given (all must hold).

    ``kind`` is ``json`` (the default, or ``text`` when only a regex is given), ``text`` (any
    text frame, JSON or not), ``binary`` or ``any``. ``after_ns`` skips frames that arrived
    earlier (``perf_counter_ns``).
    """

    def __init__(self, template: Any = None, path: str | None = None,
                 operator: AssertionOperator | None = None, expected: Any = None,
                 regex: str | None = None, kind: MessageKind | str | None = None,
                 after_ns: int = 0) -> None:
        self.template = template
        self.path = path
        self.operator = operator
        self.expected = expected
        self.regex = re.compile(regex) if regex else None
        if kind is None:
            kind = "text" if regex and template is None and path is None else "json"
        self.kind = message_kind(kind).value
        if self.kind == "binary" and (template is not None or path or regex):
            raise ValueError("A template, JSONPath or regex cannot match binary frames.")
        self.after_ns = after_ns
        if path:
            compile_path(path)  # fail early on a bad path
        if (operator is not None or expected is not None) and not path:
            raise ValueError("An assertion operator needs a JSONPath ('path=').")

    def __call__(self, frame: Frame) -> bool:
        return frame.arrived_ns >= self.after_ns and self.explain(frame) is None

    def explain(self, frame: Frame) -> str | None:
        """Why ``frame`` does not match (None when it does)."""
        if self.kind == "json" and not frame.is_json:
            return f"not JSON ({frame.kind})"
        if self.kind in ("json", "text") and isinstance(frame.raw, bytes):
            return "a binary frame"
        if self.kind == "binary" and not isinstance(frame.raw, bytes):
            return "not a binary frame"
        if self.template is not None:
            if not frame.is_json:
                return "not JSON"
            if not matches(self.template, frame.data):
                return mismatch(self.template, frame.data)
        if self.path:
            if not frame.is_json:
                return "not JSON"
            value = find_path(frame.data, self.path)
            if value is _MISSING:
                return f"{self.path}: missing"
            reason = check_value(value, self.operator, self.expected, self.path)
            if reason:
                return reason
        if self.regex is not None:
            if not isinstance(frame.raw, str):
                return "not a text frame"
            if not self.regex.search(frame.raw):
                return f"text does not match /{self.regex.pattern}/"
        return None

    def describe(self) -> str:
        parts = []
        if self.template is not None:
            parts.append(json.dumps(self.template))
        if self.path:
            condition = "exists"
            if self.operator is not None or self.expected is not None:
                symbol = self.operator.value if self.operator is not None else "=="
                condition = f"{symbol} {self.expected!r}"
            parts.append(f"{self.path} {condition}")
        if self.regex is not None:
            parts.append(f"/{self.regex.pattern}/")
        if not parts:
            return {"json": "any JSON message", "text": "any text message",
                    "binary": "any binary message", "any": "any message"}[self.kind]
        text = " and ".join(parts)
        return text if self.kind == "json" else f"{text} ({self.kind} frames)"
