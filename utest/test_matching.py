"""Partial matching of JSON messages against templates, and the reason given for a mismatch."""

from __future__ import annotations

from typing import Any

import pytest

from WebSocketLibrary.matching import matches, mismatch

MATCHES: list[tuple[Any, Any, bool]] = [
    # objects: every template key present and matching, extra keys ignored
    ({}, {"type": "pong"}, True),
    ({"type": "pong"}, {"type": "pong", "timestamp": 1}, True),
    ({"type": "pong", "timestamp": 1}, {"type": "pong", "timestamp": 1}, True),
    ({"type": "pong"}, {"type": "ping"}, False),
    ({"type": "pong", "timestamp": 1}, {"type": "pong"}, False),
    ({"a": None}, {"a": None}, True),
    ({"a": None}, {}, False),
    ({"a": 1}, {}, False),
    ({}, [], False),
    ({"a": 1}, "a", False),
    # nested objects are partial too
    ({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}, "d": 3}, True),
    ({"a": {"b": 1}}, {"a": {"b": 2}}, False),
    ({"a": {"b": {"c": "x"}}}, {"a": {"b": {"c": "x", "d": "y"}}}, True),
    ({"a": {}}, {"a": 1}, False),
    # arrays: same length, element by element, elements matched partially
    ([], [], True),
    ([1, 2], [1, 2], True),
    ([1, 2], [2, 1], False),
    ([1, 2], [1, 2, 3], False),
    ([1, 2, 3], [1, 2], False),
    ([{"id": 1}], [{"id": 1, "name": "x"}], True),
    ([{"id": 1}], [{"id": 2, "name": "x"}], False),
    ([], {}, False),
    ({"items": [1, {"ok": True}]}, {"items": [1, {"ok": True, "n": 0}]}, True),
    # bool and int kept apart, at any depth
    (True, True, True),
    (False, False, True),
    (True, 1, False),
    (1, True, False),
    (False, 0, False),
    (0, False, False),
    (1.0, True, False),
    ({"ok": True}, {"ok": 1}, False),
    ({"items": [1, {"ok": True}]}, {"items": [1, {"ok": 1}]}, False),
    # numbers compare by value: 1 == 1.0
    (1, 1.0, True),
    (1.0, 1, True),
    (0, 0.0, True),
    ({"n": 2}, {"n": 2.0}, True),
    (1, 1.5, False),
    # other scalars
    ("x", "x", True),
    ("1", 1, False),
    (None, None, True),
    (None, 0, False),
    (None, False, False),
    ("", None, False),
]


@pytest.mark.parametrize(("template", "actual", "expected"), MATCHES)
def test_matches(template: Any, actual: Any, expected: bool) -> None:
    assert matches(template, actual) is expected


@pytest.mark.parametrize(("template", "actual", "expected"), MATCHES)
def test_mismatch_is_none_exactly_when_matches(template: Any, actual: Any,
                                                expected: bool) -> None:
    reason = mismatch(template, actual)
    if expected:
        assert reason is None
    else:
        assert isinstance(reason, str) and reason.startswith("$")


@pytest.mark.parametrize(("template", "actual", "reason"), [
    ({"type": "pong"}, {"type": "hello"}, "$.type: expected 'pong', got 'hello'"),
    ({"type": "pong"}, [], "$: expected an object, got list"),
    ({"type": "pong"}, None, "$: expected an object, got NoneType"),
    ({"a": 1}, {}, "$.a: missing"),
    ({"a": {"b": 1}}, {"a": {"c": 1}}, "$.a.b: missing"),
    ({"a": {"b": 1}}, {"a": [1]}, "$.a: expected an object, got list"),
    ({"a": {"b": {"c": 1}}}, {"a": {"b": {"c": 2}}}, "$.a.b.c: expected 1, got 2"),
    ({"a": [1, 2]}, {"a": [1]}, "$.a: expected an array of 2, got [1]"),
    ({"a": [1, 2]}, {"a": "12"}, "$.a: expected an array of 2, got '12'"),
    ({"a": [1, 2]}, {"a": [1, 3]}, "$.a[1]: expected 2, got 3"),
    ([{"id": 1}, {"id": 2}], [{"id": 1}, {}], "$[1].id: missing"),
    ({"ok": True}, {"ok": 1}, "$.ok: expected True, got 1"),
    ({"n": 1}, {"n": True}, "$.n: expected 1, got True"),
    ("x", None, "$: expected 'x', got None"),
    # only the first difference is reported, in template order
    ({"a": 1, "b": 2}, {"a": 0, "b": 0}, "$.a: expected 1, got 0"),
    ({"b": 2, "a": 1}, {"a": 0}, "$.b: missing"),
])
def test_mismatch_names_the_path_of_the_first_difference(template: Any, actual: Any,
                                                         reason: str) -> None:
    assert mismatch(template, actual) == reason


def test_mismatch_uses_the_given_root_path() -> None:
    assert mismatch({"a": 1}, {"a": 2}, path="message") == "message.a: expected 1, got 2"
