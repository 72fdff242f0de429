"""docs/schemas: valid draft 2020-12 schemas that accept the contract's examples and reject
crafted bad frames; and, as a cross-check, they agree with dashboards.validation on client
messages wherever a schema can express the rule."""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from dashboards.messages import ProtocolError
from dashboards.validation import METRICS, validate

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "docs" / "schemas"
DOC = ROOT / "docs" / "protocol.md"

CLIENT_TYPES = ["ping", "metrics", "metric_update", "metrics_batch", "subscribe",
                "unsubscribe", "resume", "ack_alert"]
SERVER_TYPES = ["welcome", "pong", "heartbeat", "metrics_received", "subscribed",
                "unsubscribed", "resumed", "error", "metrics_update", "slo_alert",
                "alert_resolved", "seam", "voice_activation", "voice_deactivation",
                "recovery_action", "alert_acknowledged"]
ERROR_CODES = ["invalid_json", "invalid_message", "unknown_type", "validation_error",
               "unknown_channel", "unknown_session", "rate_limited", "forbidden",
               "internal_error"]
T = 1640995200000  # the scenario document's timestamp


def load(name: str) -> Any:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


INDEX: dict[str, str] = load("index.json")
VALIDATORS = {kind: Draft202012Validator(load(file)) for kind, file in INDEX.items()}


def errors(frame: dict[str, Any]) -> list[str]:
    """Schema errors of a frame, looked up by its type, as 'path: message' strings."""
    found = VALIDATORS[frame["type"]].iter_errors(frame)
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found)


# -- the schema files themselves ------------------------------------------------------------

def test_index_lists_every_schema_file_and_every_message_type() -> None:
    files = {path.name for path in SCHEMAS.glob("*.schema.json")}
    assert set(INDEX.values()) == files
    assert sorted(INDEX) == sorted(CLIENT_TYPES + SERVER_TYPES)
    assert all(file == f"{kind}.schema.json" for kind, file in INDEX.items())


@pytest.mark.parametrize("kind", sorted(INDEX))
def test_schema_is_valid_draft_2020_12(kind: str) -> None:
    schema = load(INDEX[kind])
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for key in ("$id", "title", "description"):
        assert isinstance(schema[key], str) and schema[key]
    assert schema["type"] == "object"
    assert schema["properties"]["type"] == {"const": kind}
    assert "type" in schema["required"]
    assert set(schema["required"]) <= set(schema["properties"])
    assert schema["additionalProperties"] is True
    assert "additionalProperties is true" in schema["description"]


def test_ids_are_unique() -> None:
    ids = [load(file)["$id"] for file in INDEX.values()]
    assert len(set(ids)) == len(ids)


def test_every_error_code_of_section_9_is_listed() -> None:
    assert load("error.schema.json")["properties"]["code"]["enum"] == ERROR_CODES


# -- examples quoted in /work/shared/protocol.md and scenarios.md ---------------------------
# Copied verbatim where the document gives a complete, concrete frame.

VERBATIM = {
    "protocol 3 welcome": '{"type":"welcome","dashboard":"pulse","session_id":"<opaque>",'
                          '"protocol_version":"1.0","heartbeat_interval_ms":5000,'
                          '"server_time":1640995200000}',
    "scenario 2.1 ping": '{"type":"ping","timestamp":1640995200000}',
    "scenario 2.2 metrics": '{"type":"metrics","data":{"clarity":0.8,"chaos":0.4,"trust":0.7,'
                            '"pain":0.3}}',
    "scenario 3.1 subscribe": '{"type":"subscribe","channels":["clarity","chaos","trust",'
                              '"pain"]}',
    "scenario 3.1 subscribed": '{"type":"subscribed","channels":["clarity","chaos","trust",'
                               '"pain"],"status":"ok"}',
    "scenario 3.3 unsubscribe": '{"type":"unsubscribe","channels":["clarity","pain"]}',
    "scenario 7.1 metric_update": '{"type":"metric_update","metric":"clarity","value":0.95}',
    "scenario 7.2 metric_update": '{"type":"metric_update","metric":"chaos","value":0.1}',
}

# The contract writes these with placeholders (…, N, <same>, [...], "metric|auto_action|…");
# here every placeholder is filled with a value the contract's prose allows.
INSTANTIATED: dict[str, dict[str, Any]] = {
    "protocol 3 heartbeat": {"type": "heartbeat", "timestamp": T, "seq": 1},
    "protocol 3 resume": {"type": "resume", "session_id": "abc123", "last_seq": 41},
    "protocol 3 resumed": {"type": "resumed", "session_id": "new456", "channels": ["alerts"],
                           "replayed": 2, "status": "ok"},
    "protocol 4 pong": {"type": "pong", "timestamp": T, "server_time": T + 3},
    "protocol 4 metrics (with source, timestamp)": {
        "type": "metrics", "data": {"pain": 0.5}, "source": "websocket_test", "timestamp": T},
    "protocol 4 metric_update (with source, timestamp)": {
        "type": "metric_update", "metric": "trust", "value": 0.54, "source": "qa",
        "timestamp": T},
    "protocol 4 metrics_batch": {"type": "metrics_batch", "source": "load", "records": [
        {"metric": "clarity", "value": 0.8, "timestamp": T}, {"metric": "pain", "value": 0.2}]},
    "protocol 4 unsubscribed": {"type": "unsubscribed", "channels": ["clarity", "pain"],
                                "remaining": ["chaos", "trust"], "status": "ok"},
    "protocol 4 ack_alert": {"type": "ack_alert", "alert_id": "alert-7"},
    "protocol 4 alert_acknowledged": {"type": "alert_acknowledged", "alert_id": "alert-7",
                                      "status": "ok"},
    "protocol 4 metrics_received": {"type": "metrics_received", "status": "ok", "accepted": 4,
                                    "timestamp": T},
    "protocol 5 metrics_update": {"type": "metrics_update", "data": {"clarity": 0.8,
                                                                     "pain": 0.3},
                                  "timestamp": T, "seq": 12},
    "protocol 5 slo_alert (7.1)": {"type": "slo_alert", "seq": 3, "alert": {
        "id": "a1", "metric": "clarity", "value": 0.95, "priority": "P1", "level": "BLOCK",
        "threshold": 0.9, "bound": "max", "timestamp": T,
        "auto_actions": ["activate_pino_hundun"], "voice_triggers": ["pino", "hundun"]}},
    "protocol 5 alert_resolved": {"type": "alert_resolved", "seq": 4, "alert_id": "a1",
                                  "metric": "clarity", "value": 0.8, "timestamp": T},
    "protocol 5 seam": {"type": "seam", "seq": 5, "from": "UNKNOWN", "to": "CHAOTIC_CREATION",
                        "seam_type": "chaos_seam", "intensity": 0.6, "timestamp": T},
    "protocol 5 voice_activation": {"type": "voice_activation", "seq": 6, "voice": "kain",
                                    "trigger": "chaos > 0.7", "reason": "metric",
                                    "intensity": 0.75, "timestamp": T},
    "protocol 5 voice_deactivation": {"type": "voice_deactivation", "seq": 7, "voice": "kain",
                                      "trigger": "chaos > 0.7", "reason": "metric",
                                      "intensity": 0.0, "timestamp": T},
    "protocol 5 recovery_action": {"type": "recovery_action", "seq": 8,
                                   "action": "activate_pino_hundun",
                                   "trigger": "clarity > 0.9", "timestamp": T},
    "protocol 9 error": {"type": "error", "code": "validation_error",
                         "message": "value: must be a finite number in [0, 1], got 2",
                         "timestamp": T, "id": 7},
    "protocol 9 rate_limited": {"type": "error", "code": "rate_limited", "message": "slow down",
                                "timestamp": T, "retry_after_ms": 5},
}

# The scenario document shows these replies only in part; the contract adds fields to them.
# Each must fail only for the missing fields, and pass once they are added.
PARTIAL = {
    "scenario 2.1 pong (contract adds server_time)":
        ('{"type":"pong","timestamp":1640995200000}', {"server_time": T + 1}),
    "scenario 2.2 ack (contract adds accepted)":
        ('{"type":"metrics_received","status":"ok","timestamp":1640995200000}',
         {"accepted": 4}),
}


@pytest.mark.parametrize("text", VERBATIM.values(), ids=list(VERBATIM))
def test_verbatim_contract_example_validates(text: str) -> None:
    assert errors(json.loads(text)) == []


@pytest.mark.parametrize("frame", INSTANTIATED.values(), ids=list(INSTANTIATED))
def test_instantiated_contract_example_validates(frame: dict[str, Any]) -> None:
    assert errors(frame) == []


@pytest.mark.parametrize(("text", "added"), PARTIAL.values(), ids=list(PARTIAL))
def test_partial_scenario_example_lacks_only_the_contracts_additions(
        text: str, added: dict[str, Any]) -> None:
    frame = json.loads(text)
    assert errors(frame) == [f": '{name}' is a required property" for name in sorted(added)]
    assert errors({**frame, **added}) == []


def test_every_message_type_has_an_example_here() -> None:
    kinds = {json.loads(t)["type"] for t in VERBATIM.values()}
    kinds |= {f["type"] for f in INSTANTIATED.values()}
    assert kinds == set(INDEX)


def doc_examples() -> list[dict[str, Any]]:
    """Every JSON line inside a ```json block of docs/protocol.md."""
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return [json.loads(line) for block in blocks for line in block.splitlines() if line.strip()]


def test_docs_show_an_example_of_every_message_type() -> None:
    assert {frame["type"] for frame in doc_examples()} == set(INDEX)


@pytest.mark.parametrize("frame", doc_examples(), ids=lambda frame: frame["type"])
def test_docs_example_validates(frame: dict[str, Any]) -> None:
    assert errors(frame) == []


# -- crafted invalid frames -----------------------------------------------------------------

def changed(name: str, path: list[Any], value: Any) -> dict[str, Any]:
    """A copy of an instantiated example with one field replaced (``...`` removes it)."""
    frame = copy.deepcopy(INSTANTIATED[name])
    target = frame
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return frame


ALERT = "protocol 5 slo_alert (7.1)"
# name: (frame, the one field path the schema must blame; "" is the frame itself)
INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "wrong priority": (changed(ALERT, ["alert", "priority"], "P3"), "alert/priority"),
    "priority and level disagree": (changed(ALERT, ["alert", "level"], "CRITICAL"),
                                    "alert/level"),
    "unknown bound": (changed(ALERT, ["alert", "bound"], "above"), "alert/bound"),
    "alert value above 1": (changed(ALERT, ["alert", "value"], 1.5), "alert/value"),
    "unknown auto-action": (changed(ALERT, ["alert", "auto_actions"], ["reboot"]),
                            "alert/auto_actions/0"),
    "alert id number": (changed(ALERT, ["alert", "id"], 17), "alert/id"),
    "alert without priority": (changed(ALERT, ["alert", "priority"], ...), "alert"),
    "missing seq": (changed(ALERT, ["seq"], ...), ""),
    "negative seq": (changed("protocol 5 recovery_action", ["seq"], -1), "seq"),
    "zero seq": (changed("protocol 3 heartbeat", ["seq"], 0), "seq"),
    "fractional seq": (changed("protocol 5 alert_resolved", ["seq"], 1.5), "seq"),
    "boolean seq": (changed("protocol 5 seam", ["seq"], True), "seq"),
    "string seq": (changed("protocol 3 heartbeat", ["seq"], "1"), "seq"),
    "string timestamp": (changed("protocol 3 heartbeat", ["timestamp"], str(T)), "timestamp"),
    "timestamp in seconds": (changed("protocol 4 metrics_received", ["timestamp"], T // 1000),
                             "timestamp"),
    "fractional timestamp": (changed("protocol 5 metrics_update", ["timestamp"], T + 0.5),
                             "timestamp"),
    "seam_type not of the state entered": (changed("protocol 5 seam", ["seam_type"],
                                                   "pause_seam"), "seam_type"),
    "seam to its own state": (changed("protocol 5 seam", ["from"], "CHAOTIC_CREATION"), "from"),
    "unknown state": (changed("protocol 5 seam", ["to"], "CALM"), "to"),
    "intensity above 2": (changed("protocol 5 seam", ["intensity"], 2.5), "intensity"),
    "alias as voice id": (changed("protocol 5 voice_activation", ["voice"], "kayn"), "voice"),
    "iskra not by synthesis": (changed("protocol 5 voice_activation", ["voice"], "iskra"),
                               "reason"),
    "synthesis for another voice": (changed("protocol 5 voice_activation", ["reason"],
                                            "synthesis"), "reason"),
    "unknown reason": (changed("protocol 5 voice_deactivation", ["reason"], "mood"), "reason"),
    "unknown error code": (changed("protocol 9 error", ["code"], "oops"), "code"),
    "rate_limited without retry_after_ms": (changed("protocol 9 rate_limited",
                                                    ["retry_after_ms"], ...), ""),
    "status not ok": (changed("protocol 4 alert_acknowledged", ["status"], "error"), "status"),
    "ack without accepted": (changed("protocol 4 metrics_received", ["accepted"], ...), ""),
    "unknown metric in update": (changed("protocol 5 metrics_update", ["data", "clarty"], 0.5),
                                 "data"),
    "unknown channel subscribed": ({"type": "subscribed", "channels": ["news"],
                                    "status": "ok"}, "channels/0"),
    "duplicate in remaining": (changed("protocol 4 unsubscribed", ["remaining"],
                                       ["chaos", "chaos"]), "remaining"),
    "unknown dashboard": ({**json.loads(VERBATIM["protocol 3 welcome"]), "dashboard": "main"},
                          "dashboard"),
    "value as string": ({"type": "metric_update", "metric": "clarity", "value": "0.95"},
                        "value"),
    "value boolean": ({"type": "metric_update", "metric": "clarity", "value": True}, "value"),
    "metric case": ({"type": "metric_update", "metric": "Clarity", "value": 0.5}, "metric"),
    "empty data": ({"type": "metrics", "data": {}}, "data"),
    "empty batch": ({"type": "metrics_batch", "records": []}, "records"),
    "batch of 1001": ({"type": "metrics_batch",
                       "records": [{"metric": "pain", "value": 0.5}] * 1001}, "records"),
    "SQL injection in source": ({"type": "metrics", "data": {"pain": 0.5},
                                 "source": "x'; DROP TABLE metrics;--"}, "source"),
    "XSS in source": ({"type": "metrics", "data": {"pain": 0.5}, "source": "<script>"},
                      "source"),
    "source with trailing newline": ({"type": "metrics", "data": {"pain": 0.5},
                                      "source": "abc\n"}, "source"),
    "source of 65": ({"type": "metrics", "data": {"pain": 0.5}, "source": "a" * 65}, "source"),
    "empty channels": ({"type": "subscribe", "channels": []}, "channels"),
    "negative last_seq": ({"type": "resume", "session_id": "s", "last_seq": -1}, "last_seq"),
    "empty alert_id": ({"type": "ack_alert", "alert_id": ""}, "alert_id"),
    "client id too long": ({"type": "ping", "id": "x" * 65}, "id"),
}


@pytest.mark.parametrize(("frame", "path"), INVALID.values(), ids=list(INVALID))
def test_crafted_invalid_frame_is_rejected(frame: dict[str, Any], path: str) -> None:
    found = errors(frame)
    assert found, frame
    assert {error.split(": ", 1)[0] for error in found} == {path}, found


def test_type_const_tells_messages_apart() -> None:
    assert not VALIDATORS["heartbeat"].is_valid({**INSTANTIATED["protocol 3 heartbeat"],
                                                 "type": "pong"})


def test_extra_fields_are_allowed_in_server_frames() -> None:
    assert errors({**INSTANTIATED["protocol 3 heartbeat"], "node": "a", "lag_ms": 1}) == []


def test_source_boundaries() -> None:
    base = {"type": "metrics", "data": {"pain": 0.5}}
    assert errors({**base, "source": "a" * 64}) == []
    assert errors({**base, "source": "a-b_c.d:e"}) == []
    assert errors({**base, "source": ""}) != []


# -- the client schemas agree with dashboards.validation ------------------------------------
# Rules a schema can't express are kept out of the generated inputs: the ±24 h timestamp
# window (generated timestamps are inside it or not integers at all), the per-dashboard channel
# sets (not generated), NaN (not JSON; jsonschema lets it through numeric bounds), and ids
# (the server ignores a malformed id; the schema describes a well-formed one).

NOW = T
DAY = 86_400_000


def choice(*strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One of the strategies, each about equally often (st.one_of favours the first)."""
    return st.integers(0, len(strategies) - 1).flatmap(lambda i: strategies[i])


def sometimes_valid(valid: st.SearchStrategy[Any],
                    invalid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid three times out of four (so whole messages are often valid), else invalid."""
    return choice(valid, valid, valid, invalid)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return choice(st.just(...), strategy)


def message(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, **{k: v for k, v in fields.items() if v is not ...}}


def text_of_length(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).flatmap(
        lambda n: st.text(st.characters(codec="utf-8"), min_size=n, max_size=n))


values = sometimes_valid(
    choice(st.floats(0, 1), st.sampled_from([0, 1, 0.0, 1.0, -0.0])),
    choice(st.sampled_from([-1e-9, -0.05, 1.0000001, 1.05, -1, 2, math.inf, -math.inf, 10**400]),
           st.floats(-0.2, 1.2), st.floats(allow_nan=False),
           st.sampled_from([None, True, False, "0.5", [0.5], {"v": 0.5}])))
timestamps = sometimes_valid(
    choice(st.integers(NOW - DAY, NOW + DAY), st.integers(NOW - DAY, NOW + DAY).map(float),
           st.sampled_from([NOW - DAY, NOW + DAY])),
    choice(st.integers(NOW - DAY, NOW + DAY).map(lambda v: v + 0.5),
           st.sampled_from([str(NOW), True, None]),
           st.floats(allow_nan=False).filter(lambda v: v % 1 != 0)))
metric_names = sometimes_valid(st.sampled_from(METRICS),
                               st.sampled_from(["Clarity", "clarty", "", 1, None]))
sources = sometimes_valid(
    st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True),
    choice(st.sampled_from(["", "a" * 65, "abc\n", "a b", "x'; DROP TABLE metrics;--",
                            "<script>", 5, None]),
           text_of_length(0, 66)))
tokens = sometimes_valid(text_of_length(1, 128),
                         choice(st.sampled_from(["", "a" * 129, 7, None]),
                                text_of_length(126, 130)))
records = sometimes_valid(
    choice(st.builds(dict, metric=metric_names, value=values),
           st.builds(dict, metric=metric_names, value=values, timestamp=timestamps)),
    choice(st.builds(dict, metric=metric_names), st.builds(dict, value=values), values))

client_messages = {
    "metric_update": st.builds(message, st.just("metric_update"),
                               metric=sometimes_valid(metric_names, st.just(...)),
                               value=sometimes_valid(values, st.just(...)),
                               source=optional(sources), timestamp=optional(timestamps)),
    "metrics": st.builds(message, st.just("metrics"),
                         data=sometimes_valid(st.dictionaries(metric_names, values, max_size=5),
                                              choice(values, st.just(...))),
                         source=optional(sources), timestamp=optional(timestamps)),
    "metrics_batch": st.builds(
        message, st.just("metrics_batch"), source=optional(sources),
        records=sometimes_valid(st.lists(records, max_size=4),
                                choice(st.lists(records, max_size=3), values, st.just(...)))),
    "resume": st.builds(message, st.just("resume"),
                        session_id=sometimes_valid(tokens, st.just(...)),
                        last_seq=sometimes_valid(choice(st.integers(0, 10**20),
                                                        st.sampled_from([0, 1, 5.0])),
                                                 choice(st.integers(-3, -1), values,
                                                        st.just(...)))),
    "ack_alert": st.builds(message, st.just("ack_alert"),
                           alert_id=sometimes_valid(tokens, st.just(...))),
}


def assert_agree(frame: dict[str, Any]) -> None:
    try:
        validate(frame, "pulse", NOW)
        accepted = True
    except ProtocolError as error:
        assert error.code == "validation_error"
        accepted = False
    assert accepted == (errors(frame) == []), (frame, errors(frame))


@pytest.mark.parametrize("kind", sorted(client_messages))
def test_client_schema_agrees_with_validation(kind: str) -> None:
    """Whole messages, several fields varying at once."""
    @settings(max_examples=200, deadline=None)
    @given(frame=client_messages[kind])
    def agree(frame: dict[str, Any]) -> None:
        assert_agree(frame)

    agree()


VALID_BASE: dict[str, dict[str, Any]] = {
    "metric_update": {"type": "metric_update", "metric": "pain", "value": 0.5},
    "metrics": {"type": "metrics", "data": {"pain": 0.5}},
    "metrics_batch": {"type": "metrics_batch", "records": [{"metric": "pain", "value": 0.5}]},
    "resume": {"type": "resume", "session_id": "s", "last_seq": 3},
    "ack_alert": {"type": "ack_alert", "alert_id": "a"},
}
ONE_FIELD = [
    ("metric_update", "metric", metric_names), ("metric_update", "value", values),
    ("metric_update", "source", sources), ("metric_update", "timestamp", timestamps),
    ("metrics", "source", sources), ("metrics", "timestamp", timestamps),
    ("metrics", "data", choice(st.dictionaries(metric_names, values, max_size=5),
                               st.dictionaries(st.sampled_from(METRICS), values, min_size=3),
                               values)),
    ("metrics_batch", "source", sources), ("metrics_batch", "records", st.lists(records)),
    ("resume", "session_id", tokens),
    ("resume", "last_seq", choice(st.integers(-3, 10**20), values)),
    ("ack_alert", "alert_id", tokens),
]


@pytest.mark.parametrize(("kind", "field", "strategy"), ONE_FIELD,
                         ids=[f"{kind}.{field}" for kind, field, _ in ONE_FIELD])
def test_client_schema_agrees_with_validation_field_by_field(
        kind: str, field: str, strategy: st.SearchStrategy[Any]) -> None:
    """One field varies, the rest of the message is valid: each rule is checked on its own."""
    @settings(max_examples=200, deadline=None)
    @given(value=strategy)
    def agree(value: Any) -> None:
        assert_agree({**VALID_BASE[kind], field: value})

    agree()


def test_nan_is_the_known_gap_between_schema_and_validation() -> None:
    """jsonschema compares NaN with minimum/maximum and finds no violation; JSON has no NaN."""
    frame = {"type": "metric_update", "metric": "pain", "value": math.nan}
    assert errors(frame) == []
    with pytest.raises(ProtocolError):
        validate(frame, "pulse", NOW)
