"""Partial matching of JSON messages against templates."""

from __future__ import annotations

from typing import Any


def matches(template: Any, actual: Any) -> bool:
    """True when ``actual`` contains everything ``template`` states.

    Objects match when every key of the template is present and matches (extra keys are
    ignored); arrays match element by element and must have the same length; scalars must be
    equal, with ``true``/``1`` kept apart.
    """
    if isinstance(template, dict):
        return isinstance(actual, dict) and all(
            key in actual and matches(value, actual[key]) for key, value in template.items())
    if isinstance(template, list):
        return (isinstance(actual, list) and len(actual) == len(template)
                and all(matches(t, a) for t, a in zip(template, actual, strict=True)))
    if isinstance(template, bool) or isinstance(actual, bool):
        return type(template) is type(actual) and template == actual
    return bool(template == actual)


def mismatch(template: Any, actual: Any, path: str = "$") -> str | None:
    """Why ``actual`` does not match ``template`` (the first difference), or None."""
    if isinstance(template, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {type(actual).__name__}"
        for key, value in template.items():
            if key not in actual:
                return f"{path}.{key}: missing"
            reason = mismatch(value, actual[key], f"{path}.{key}")
            if reason:
                return reason
        return None
    if isinstance(template, list):
        if not isinstance(actual, list) or len(actual) != len(template):
            return f"{path}: expected an array of {len(template)}, got {actual!r}"
        for index, (t, a) in enumerate(zip(template, actual, strict=True)):
            reason = mismatch(t, a, f"{path}[{index}]")
            if reason:
                return reason
        return None
    return None if matches(template, actual) else f"{path}: expected {template!r}, got {actual!r}"
