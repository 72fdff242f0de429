"""Reading figures out of result dictionaries, and assertion operators given as text."""

from __future__ import annotations

from typing import Any

from assertionengine import AssertionOperator


def figure_at(result: dict[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` of a result (``latency_ms.p99``, ``errors.rate_limited``)."""
    value: Any = result
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit():
            value = value[int(part)]
        else:
            known = ", ".join(sorted(value)) if isinstance(value, dict) else type(value).__name__
            raise AssertionError(f"The result has no figure '{path}' (at '{part}'; "
                                 f"known here: {known}).")
    return value


def as_operator(operator: AssertionOperator | str | None) -> AssertionOperator | None:
    """An assertion operator given as text from Python (Robot converts it itself)."""
    if isinstance(operator, str):
        return AssertionOperator[operator]
    return operator


def as_number(expected: Any, value: Any) -> Any:
    """``expected`` as a number when ``value`` is one and ``expected`` is its text."""
    if isinstance(value, int | float) and not isinstance(value, bool) and \
            isinstance(expected, str):
        try:
            return float(expected)
        except ValueError:
            return expected
    return expected
