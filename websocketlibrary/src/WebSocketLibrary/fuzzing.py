"""Messages generated from a JSON Schema: valid ones, near-misses and hostile values.

What Schemathesis does for an OpenAPI operation, for one JSON message type. A *valid*
message is drawn by hypothesis-jsonschema; a *near-miss* is a valid one with one thing made
wrong (a required field left out, a field of the wrong type, a number out of range, a string
or array of the wrong length, a value outside its enum); a *hostile* one carries a hostile
string or number in one field. Whether a message is valid is decided by the schema itself,
never by its kind: a hostile string may be perfectly valid where any string is.
"""

from __future__ import annotations

import enum
import json
import math
import zlib
from dataclasses import dataclass
from typing import Any, cast

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from .schema import SchemaCheck


class FuzzKind(enum.Enum):
    """What the fuzzer generates: ``valid`` messages of the schema, ``near-miss`` ones (one
    thing made wrong) and ``hostile`` ones (a hostile string or number in one field)."""

    VALID = "valid"
    NEAR_MISS = "near-miss"
    HOSTILE = "hostile"


HOSTILE_STRINGS = (
    "\ud800",  # a lone surrogate: legal as a JSON escape, not encodable as UTF-8
    "\udfff\ud800",
    "\x00",
    "<script>alert(1)</script>",
    "'; DROP TABLE metrics;--",
    "\u202e\u0000\ufeff",
    "\U0001f4a5" * 64,
    "A" * 4096,
    "",
)
HOSTILE_NUMBERS = (
    1e308, -1e308, 5e-324, -0.0,
    2**63, -(2**63) - 1, 2**64,
    10**4000,  # far beyond 64 bits; within Python's 4,300-digit limit for int → str
)
# A value of each JSON type, for "a field of the wrong type".
ONE_OF_EACH_TYPE: tuple[Any, ...] = (None, True, "x", 1.5, 7, [], {})


@dataclass(frozen=True)
class Sample:
    """One generated message and how it was made."""

    kind: FuzzKind
    message: dict[str, Any]
    change: str  # "" for a valid message, else what was made wrong or hostile

    def text(self) -> str:
        """The message as RFC 8259 JSON text (lone surrogates as ``\\ud800`` escapes)."""
        return json.dumps(self.message, ensure_ascii=True, allow_nan=False,
                          separators=(",", ":"))


def samples(schema: dict[str, Any], kinds: list[FuzzKind],
            reserved: tuple[str, ...] = ()) -> st.SearchStrategy[Sample]:
    """A strategy of ``Sample`` s of ``schema`` (a JSON Schema of an object) of ``kinds``.
    Fields named in ``reserved`` (the correlation id) are never changed."""
    valid = objects(schema)
    check = SchemaCheck(schema)
    choices: list[st.SearchStrategy[Sample]] = []
    if FuzzKind.VALID in kinds:
        choices.append(valid.map(lambda m: Sample(FuzzKind.VALID, m, "")))
    if FuzzKind.NEAR_MISS in kinds:
        choices.append(valid.flatmap(lambda m: _near_misses(schema, check, m, reserved)))
    if FuzzKind.HOSTILE in kinds:
        choices.append(valid.flatmap(lambda m: _hostile(m, schema, reserved)))
    if not choices:
        raise ValueError("No kind of message to generate.")
    return st.one_of(choices)


def one_rule(schema: dict[str, Any], found: Sample,
             reserved: tuple[str, ...] = ()) -> st.SearchStrategy[Sample]:
    """Samples of the same kind and change as ``found`` on any valid message: what a
    failure is shrunk over (the change stays, the message around it gets smaller)."""
    valid = objects(schema)
    if found.kind is FuzzKind.VALID:
        return valid.map(lambda m: Sample(FuzzKind.VALID, m, ""))
    check = SchemaCheck(schema)
    changes = near_misses if found.kind is FuzzKind.NEAR_MISS else hostile_changes

    def changed(message: dict[str, Any]) -> Sample | None:
        made = dict(changes(schema, message, reserved)).get(found.change)
        if made is None or (found.kind is FuzzKind.NEAR_MISS and not check.errors(made)):
            return None
        return Sample(found.kind, made, found.change)

    return valid.map(changed).filter(lambda sample: sample is not None)  # type: ignore[return-value]


def objects(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Valid messages of ``schema``: JSON objects (a schema may allow other values)."""
    return cast(st.SearchStrategy[dict[str, Any]],
                from_schema(schema).filter(lambda m: isinstance(m, dict)))


def _near_misses(schema: dict[str, Any], check: SchemaCheck, message: dict[str, Any],
                 reserved: tuple[str, ...]) -> st.SearchStrategy[Sample]:
    candidates = [(change, wrong) for change, wrong in near_misses(schema, message, reserved)
                  if check.errors(wrong)]  # made wrong for real: the schema refuses it
    if not candidates:
        return st.nothing()
    return _fairly(candidates, message).map(
        lambda pair: Sample(FuzzKind.NEAR_MISS, pair[1], pair[0]))


def near_misses(schema: dict[str, Any], message: dict[str, Any],
                reserved: tuple[str, ...] = ()) -> list[tuple[str, dict[str, Any]]]:
    """Every message one change away from ``message`` that may break ``schema``: each
    required field left out, each field given a value of another type, numbers just out of
    range, strings and arrays one too long or short, values just outside an enum."""
    properties: dict[str, Any] = schema.get("properties", {})
    changes: list[tuple[str, dict[str, Any]]] = []
    for name in schema.get("required", []):
        if name in message and name not in reserved:
            changes.append((f"{name} left out",
                            {k: v for k, v in message.items() if k != name}))
    for name, rule in properties.items():
        if name in reserved or not isinstance(rule, dict):
            continue
        for change, value in _wrong_values(rule, message.get(name)):
            changes.append((f"{name}: {change}", {**message, name: value}))
    return changes


def _wrong_values(rule: dict[str, Any], current: Any) -> list[tuple[str, Any]]:
    wrong: list[tuple[str, Any]] = [(f"{type(value).__name__} {value!r}", value)
                                    for value in ONE_OF_EACH_TYPE]
    for bound, step in (("minimum", -1), ("maximum", 1)):
        if isinstance(rule.get(bound), (int, float)):
            edge = rule[bound]
            wrong.append((f"{bound} {edge} {'-' if step < 0 else '+'} 1", edge + step))
            if isinstance(edge, float) or rule.get("type") == "number":
                nudged = math.nextafter(float(edge), math.inf * step)
                wrong.append((f"just past the {bound} {edge}", nudged))
    for bound in ("exclusiveMinimum", "exclusiveMaximum"):
        if isinstance(rule.get(bound), (int, float)):
            wrong.append((f"{bound} {rule[bound]} itself", rule[bound]))
    if isinstance(rule.get("maxLength"), int):
        wrong.append((f"{rule['maxLength'] + 1} characters", "a" * (rule["maxLength"] + 1)))
    if isinstance(rule.get("minLength"), int) and rule["minLength"] > 0:
        wrong.append((f"{rule['minLength'] - 1} characters", "a" * (rule["minLength"] - 1)))
    if isinstance(current, list) and current and isinstance(rule.get("maxItems"), int):
        longer = (current * (rule["maxItems"] // len(current) + 1))[:rule["maxItems"] + 1]
        wrong.append((f"{rule['maxItems'] + 1} items", longer))
    if isinstance(current, list) and isinstance(rule.get("minItems"), int) and rule["minItems"]:
        wrong.append((f"{rule['minItems'] - 1} items", current[:rule["minItems"] - 1]))
    for allowed in (rule.get("enum"), [rule["const"]] if "const" in rule else None):
        for value in allowed or []:
            if isinstance(value, str):
                wrong.append((f"{value.upper()!r} (case changed)", value.upper()))
                wrong.append((f"{value + ' '!r}", value + " "))
    return wrong


def _hostile(message: dict[str, Any], schema: dict[str, Any],
             reserved: tuple[str, ...]) -> st.SearchStrategy[Sample]:
    return _fairly(hostile_changes(schema, message, reserved), message).map(
        lambda pair: Sample(FuzzKind.HOSTILE, pair[1], pair[0]))


def hostile_changes(schema: dict[str, Any], message: dict[str, Any],
                    reserved: tuple[str, ...] = ()) -> list[tuple[str, dict[str, Any]]]:
    """Every message one hostile value away from ``message``: each hostile string and
    number in each field (of the message or of the schema), and each hostile string as
    the name of an extra field."""
    fields = sorted((set(message) | set(schema.get("properties", {}))) - set(reserved))
    changes = [(f"{name}: {_short(value)}", {**message, name: value})
               for name in fields for value in HOSTILE_STRINGS + HOSTILE_NUMBERS]
    changes += [(f"a field named {_short(name)}", {**message, name: 1})
                for name in HOSTILE_STRINGS if name not in message]
    return changes


def coverage(schema: dict[str, Any], kinds: list[FuzzKind],
             reserved: tuple[str, ...] = ()) -> list[Sample]:
    """The smallest valid message of ``schema``, then each near-miss and hostile change of
    it once (of the ``kinds`` asked for): every rule of the schema tried, whatever the
    random draws do. Near-misses the schema still accepts are left out."""
    # Hypothesis draws its simplest example first; shrinking it further takes seconds.
    smallest = find(objects(schema), lambda m: True,
                    settings=settings(database=None, phases=(Phase.generate,),
                                      suppress_health_check=list(HealthCheck)))
    check = SchemaCheck(schema)
    found: list[Sample] = []
    if FuzzKind.VALID in kinds:
        found.append(Sample(FuzzKind.VALID, smallest, ""))
    if FuzzKind.NEAR_MISS in kinds:
        found += [Sample(FuzzKind.NEAR_MISS, wrong, change)
                  for change, wrong in near_misses(schema, smallest, reserved)
                  if check.errors(wrong)]
    if FuzzKind.HOSTILE in kinds:
        found += [Sample(FuzzKind.HOSTILE, hostile, change)
                  for change, hostile in hostile_changes(schema, smallest, reserved)]
    return found


def _fairly(choices: list[Any], message: dict[str, Any]) -> st.SearchStrategy[Any]:
    """One of ``choices``, each about as often. Hypothesis draws its simplest value (0) for
    nearly half of all integers, so an index alone would try the first choice over and
    over; offset by a digest of the message, which varies, every choice gets its turn."""
    offset = zlib.crc32(json.dumps(message, sort_keys=True, default=repr).encode())
    return st.integers(0, len(choices) - 1).map(
        lambda i: choices[(i + offset) % len(choices)])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}… ({len(text)} characters)"
