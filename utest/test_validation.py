"""dashboards.validation: every rule of protocol.md section 4 and its boundaries."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboards.messages import ProtocolError, parse_frame
from dashboards.validation import (
    CHANNELS,
    CLIENT_TYPES,
    METRICS,
    AckAlert,
    ChannelRequest,
    Ingest,
    Ping,
    Record,
    Resume,
    validate,
)

NOW = 1_700_000_000_000
DAY = 24 * 60 * 60 * 1000


def rejected(message: dict[str, Any], dashboard: str = "pulse") -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        validate(message, dashboard, NOW)
    return caught.value


# -- accepted messages ----------------------------------------------------------------------

ACCEPTED: list[tuple[str, dict[str, Any], Any]] = [
    ("ping 2.1", {"type": "ping", "timestamp": 1640995200000}, Ping(1640995200000)),
    ("ping without timestamp", {"type": "ping"}, Ping(None)),
    ("ping echoes any JSON", {"type": "ping", "timestamp": {"a": [1, "x"]}}, Ping({"a": [1, "x"]})),
    ("metrics 2.2", {"type": "metrics",
                     "data": {"clarity": 0.8, "chaos": 0.4, "trust": 0.7, "pain": 0.3}},
     Ingest((Record("clarity", 0.8, None), Record("chaos", 0.4, None),
             Record("trust", 0.7, None), Record("pain", 0.3, None)), "websocket")),
    ("metrics subset", {"type": "metrics", "data": {"pain": 0.5}},
     Ingest((Record("pain", 0.5, None),), "websocket")),
    ("metrics timestamp and source",
     {"type": "metrics", "data": {"trust": 1}, "timestamp": NOW - 5, "source": "load_gen-1"},
     Ingest((Record("trust", 1.0, NOW - 5),), "load_gen-1")),
    ("metric_update 7.1", {"type": "metric_update", "metric": "clarity", "value": 0.95},
     Ingest((Record("clarity", 0.95, None),), "websocket")),
    ("metric_update 7.2", {"type": "metric_update", "metric": "chaos", "value": 0.1},
     Ingest((Record("chaos", 0.1, None),), "websocket")),
    ("metric_update integer 0", {"type": "metric_update", "metric": "pain", "value": 0},
     Ingest((Record("pain", 0.0, None),), "websocket")),
    ("metric_update integer 1", {"type": "metric_update", "metric": "pain", "value": 1},
     Ingest((Record("pain", 1.0, None),), "websocket")),
    ("metric_update -0.0 normalised", {"type": "metric_update", "metric": "pain", "value": -0.0},
     Ingest((Record("pain", 0.0, None),), "websocket")),
    ("float timestamp with no fraction",
     {"type": "metric_update", "metric": "pain", "value": 0.5, "timestamp": float(NOW)},
     Ingest((Record("pain", 0.5, NOW),), "websocket")),
    ("batch", {"type": "metrics_batch", "source": "s:1.2", "records": [
        {"metric": "clarity", "value": 0.1, "timestamp": NOW},
        {"metric": "clarity", "value": 0.2}]},
     Ingest((Record("clarity", 0.1, NOW), Record("clarity", 0.2, None)), "s:1.2")),
    ("batch ignores a message-level timestamp",
     {"type": "metrics_batch", "timestamp": "not a field of metrics_batch",
      "records": [{"metric": "chaos", "value": 0.5}]},
     Ingest((Record("chaos", 0.5, None),), "websocket")),
    ("unknown extra fields ignored",
     {"type": "metric_update", "metric": "trust", "value": 0.7, "extra": [1, 2], "id": 9},
     Ingest((Record("trust", 0.7, None),), "websocket")),
    ("subscribe 3.1", {"type": "subscribe", "channels": ["clarity", "chaos", "trust", "pain"]},
     ChannelRequest(("clarity", "chaos", "trust", "pain"))),
    ("unsubscribe 3.3", {"type": "unsubscribe", "channels": ["clarity", "pain"]},
     ChannelRequest(("clarity", "pain"))),
    ("duplicates collapsed", {"type": "subscribe", "channels": ["pain", "alerts", "pain"]},
     ChannelRequest(("pain", "alerts"))),
    ("resume", {"type": "resume", "session_id": "abc", "last_seq": 0}, Resume("abc", 0)),
    ("resume integer-valued float", {"type": "resume", "session_id": "s" * 128, "last_seq": 7.0},
     Resume("s" * 128, 7)),
    ("ack_alert", {"type": "ack_alert", "alert_id": "alert-1"}, AckAlert("alert-1")),
]


@pytest.mark.parametrize(("message", "expected"), [(m, e) for _, m, e in ACCEPTED],
                         ids=[name for name, _, _ in ACCEPTED])
def test_accepted(message: dict[str, Any], expected: Any) -> None:
    assert validate(message, "pulse", NOW) == expected


@pytest.mark.parametrize(("dashboard", "channels"), sorted(CHANNELS.items()))
def test_every_dashboard_accepts_its_own_channels(dashboard: str,
                                                  channels: tuple[str, ...]) -> None:
    for kind in ("subscribe", "unsubscribe"):
        result = validate({"type": kind, "channels": list(channels)}, dashboard, NOW)
        assert result == ChannelRequest(channels)


@pytest.mark.parametrize("dashboard", sorted(CHANNELS))
def test_metrics_are_accepted_on_every_dashboard(dashboard: str) -> None:
    result = validate({"type": "metric_update", "metric": "chaos", "value": 0.3}, dashboard, NOW)
    assert result == Ingest((Record("chaos", 0.3, None),), "websocket")


# -- boundaries -----------------------------------------------------------------------------

def update(value: Any = 0.5, **extra: Any) -> dict[str, Any]:
    return {"type": "metric_update", "metric": "clarity", "value": value, **extra}


def batch(count: int) -> dict[str, Any]:
    return {"type": "metrics_batch",
            "records": [{"metric": METRICS[i % 4], "value": (i % 101) / 100} for i in range(count)]}


@pytest.mark.parametrize(("message", "ok"), [
    (update(0), True), (update(1), True), (update(0.0), True), (update(1.0), True),
    (update(-1e-9), False), (update(1.0000001), False), (update(-1), False), (update(2), False),
    (update(source="a" * 64), True), (update(source="a" * 65), False),
    (update(source="a"), True), (update(source=""), False),
    (batch(1), True), (batch(1000), True), (batch(1001), False), (batch(0), False),
    (update(timestamp=NOW + DAY), True), (update(timestamp=NOW - DAY), True),
    (update(timestamp=NOW + DAY + 1), False), (update(timestamp=NOW - DAY - 1), False),
    (update(timestamp=float(NOW + DAY)), True), (update(timestamp=float(NOW + DAY + 1)), False),
    ({"type": "resume", "session_id": "x", "last_seq": 0}, True),
    ({"type": "resume", "session_id": "x", "last_seq": -1}, False),
    ({"type": "resume", "session_id": "x" * 128, "last_seq": 1}, True),
    ({"type": "resume", "session_id": "x" * 129, "last_seq": 1}, False),
    ({"type": "ack_alert", "alert_id": "a" * 128}, True),
    ({"type": "ack_alert", "alert_id": "a" * 129}, False),
], ids=lambda value: "" if isinstance(value, dict) else str(value))
def test_boundaries(message: dict[str, Any], ok: bool) -> None:
    if ok:
        validate(message, "pulse", NOW)
    else:
        assert rejected(message).code == "validation_error"


def test_records_count_is_reported() -> None:
    assert "got 1001" in rejected(batch(1001)).message
    assert "got 0" in rejected(batch(0)).message


# -- rejected messages ----------------------------------------------------------------------

SQL = "x'; DROP TABLE metrics;--"
XSS = "<script>alert(1)</script>"

REJECTED: list[tuple[str, dict[str, Any], str, str]] = [
    # name, message, code, text the error message must contain
    ("unknown type", {"type": "pong"}, "unknown_type", "'pong'"),
    ("type is case-sensitive", {"type": "PING"}, "unknown_type", "expected ping, metrics"),
    ("value true", update(True), "validation_error",
     "value: must be a finite number in [0, 1], got true"),
    ("value false", update(False), "validation_error", "got false"),
    ("value string", update("0.5"), "validation_error", "got '0.5'"),
    ("value null", update(None), "validation_error", "got null"),
    ("value NaN", update(math.nan), "validation_error", "got NaN"),
    ("value Infinity", update(math.inf), "validation_error", "got Infinity"),
    ("value -Infinity", update(-math.inf), "validation_error", "got -Infinity"),
    ("value array", update([0.5]), "validation_error", "got [0.5]"),
    ("value object", update({"v": 0.5}), "validation_error", "value:"),
    ("value huge integer", update(10**400), "validation_error", "value:"),
    ("value missing", {"type": "metric_update", "metric": "pain"}, "validation_error",
     "value: required"),
    ("metric missing", {"type": "metric_update", "value": 0.5}, "validation_error",
     "metric: required"),
    ("metric misspelt", {"type": "metric_update", "metric": "clarty", "value": 0.5},
     "validation_error", "metric: unknown metric 'clarty' (expected clarity, chaos, trust, pain)"),
    ("metric case", {"type": "metric_update", "metric": "Clarity", "value": 0.5},
     "validation_error", "unknown metric 'Clarity'"),
    ("metric not a string", {"type": "metric_update", "metric": 1, "value": 0.5},
     "validation_error", "unknown metric 1"),
    ("data missing", {"type": "metrics"}, "validation_error", "data: required"),
    ("data empty", {"type": "metrics", "data": {}}, "validation_error", "data: must be"),
    ("data array", {"type": "metrics", "data": [0.5]}, "validation_error", "data: must be"),
    ("data unknown key", {"type": "metrics", "data": {"clarity": 0.5, "clarty": 0.5}},
     "validation_error", "data: unknown metric 'clarty'"),
    ("data bad value", {"type": "metrics", "data": {"clarity": 0.5, "chaos": True}},
     "validation_error", "data.chaos: must be a finite number in [0, 1], got true"),
    ("records missing", {"type": "metrics_batch"}, "validation_error", "records: required"),
    ("records object", {"type": "metrics_batch", "records": {"metric": "pain"}},
     "validation_error", "records: must be an array"),
    ("record not an object", {"type": "metrics_batch", "records": [5]}, "validation_error",
     "records[0]: must be an object"),
    ("record bad metric", {"type": "metrics_batch", "records": [
        {"metric": "pain", "value": 0.1}, {"metric": "pain", "value": 0.1},
        {"metric": "pain", "value": 0.1}, {"metric": "clarty", "value": 0.1}]},
     "validation_error", "records[3].metric: unknown metric 'clarty'"),
    ("record bad timestamp", {"type": "metrics_batch", "records": [
        {"metric": "pain", "value": 0.1, "timestamp": "now"}]},
     "validation_error", "records[0].timestamp: must be an integer"),
    ("record value missing", {"type": "metrics_batch", "records": [{"metric": "pain"}]},
     "validation_error", "records[0].value: required"),
    ("timestamp string", update(timestamp="1640995200000"), "validation_error",
     "timestamp: must be an integer number of milliseconds"),
    ("timestamp bool", update(timestamp=True), "validation_error", "timestamp: must be"),
    ("timestamp null", update(timestamp=None), "validation_error", "timestamp: must be"),
    ("timestamp fraction", update(timestamp=NOW + 0.5), "validation_error", "timestamp: must be"),
    ("timestamp NaN", update(timestamp=math.nan), "validation_error", "timestamp: must be"),
    ("timestamp in seconds", update(timestamp=NOW // 1000), "validation_error",
     "timestamp: must be within 24 h"),
    ("source SQL injection", update(source=SQL), "validation_error", "source: must be 1 to 64"),
    ("source XSS", update(source=XSS), "validation_error", "source: must be 1 to 64"),
    ("source null", update(source=None), "validation_error", "source: must be"),
    ("source number", update(source=5), "validation_error", "source: must be"),
    ("source space", update(source="a b"), "validation_error", "source: must be"),
    ("source newline", update(source="abc\n"), "validation_error", "source: must be"),
    ("source non-ASCII", update(source="sensör"), "validation_error", "source: must be"),
    ("metric SQL injection", {"type": "metric_update", "metric": SQL, "value": 0.5},
     "validation_error", "metric: unknown metric"),
    ("value XSS", update(XSS), "validation_error", "value: must be"),
    ("data key XSS", {"type": "metrics", "data": {XSS: 0.5}}, "validation_error",
     "data: unknown metric"),
    ("channels missing", {"type": "subscribe"}, "validation_error", "channels: required"),
    ("channels empty", {"type": "subscribe", "channels": []}, "validation_error",
     "channels: must be a non-empty array"),
    ("channels string", {"type": "subscribe", "channels": "clarity"}, "validation_error",
     "channels: must be a non-empty array"),
    ("channels non-string", {"type": "unsubscribe", "channels": ["clarity", 3]},
     "validation_error", "channels[1]: must be a channel name"),
    ("channels unknown", {"type": "subscribe", "channels": ["clarity", "bogus"]},
     "unknown_channel", "unknown channel(s) 'bogus' on the pulse dashboard"),
    ("channels case-sensitive", {"type": "subscribe", "channels": ["Clarity"]},
     "unknown_channel", "'Clarity'"),
    ("channel of another dashboard", {"type": "unsubscribe", "channels": ["voices"]},
     "unknown_channel", "(expected clarity, chaos, trust, pain, alerts)"),
    ("channel XSS", {"type": "subscribe", "channels": [XSS]}, "unknown_channel",
     "\\u003cscript\\u003e"),
    ("resume no session", {"type": "resume", "last_seq": 1}, "validation_error",
     "session_id: required"),
    ("resume empty session", {"type": "resume", "session_id": "", "last_seq": 1},
     "validation_error", "session_id: must be a non-empty string"),
    ("resume numeric session", {"type": "resume", "session_id": 5, "last_seq": 1},
     "validation_error", "session_id: must be"),
    ("resume no last_seq", {"type": "resume", "session_id": "s"}, "validation_error",
     "last_seq: required"),
    ("resume bool last_seq", {"type": "resume", "session_id": "s", "last_seq": True},
     "validation_error", "last_seq: must be a non-negative integer, got true"),
    ("resume fractional last_seq", {"type": "resume", "session_id": "s", "last_seq": 1.5},
     "validation_error", "last_seq: must be"),
    ("resume string last_seq", {"type": "resume", "session_id": "s", "last_seq": "1"},
     "validation_error", "last_seq: must be"),
    ("ack_alert missing", {"type": "ack_alert"}, "validation_error", "alert_id: required"),
    ("ack_alert empty", {"type": "ack_alert", "alert_id": ""}, "validation_error",
     "alert_id: must be"),
    ("ack_alert integer", {"type": "ack_alert", "alert_id": 17}, "validation_error",
     "alert_id: must be"),
]


@pytest.mark.parametrize(("message", "code", "text"), [(m, c, t) for _, m, c, t in REJECTED],
                         ids=[name for name, *_ in REJECTED])
def test_rejected(message: dict[str, Any], code: str, text: str) -> None:
    error = rejected(message)
    assert error.code == code
    assert text in error.message, error.message
    assert "<" not in error.message and ">" not in error.message


@pytest.mark.parametrize(("dashboard", "foreign"), [
    ("pulse", "seams"), ("pulse", "voices"), ("seams", "clarity"), ("seams", "voices"),
    ("voices", "pain"), ("voices", "seams")])
def test_another_dashboards_channel_is_unknown(dashboard: str, foreign: str) -> None:
    error = rejected({"type": "subscribe", "channels": ["alerts", foreign]}, dashboard)
    assert error.code == "unknown_channel"
    assert f"'{foreign}'" in error.message and f"on the {dashboard} dashboard" in error.message


def test_structural_channel_errors_win_over_unknown_names() -> None:
    assert rejected({"type": "subscribe", "channels": ["bogus", None]}).code == "validation_error"


def test_one_bad_record_rejects_the_whole_message() -> None:
    message = batch(10)
    message["records"][7]["value"] = 1.5
    error = rejected(message)
    assert error.code == "validation_error"
    assert error.message.startswith("records[7].value: must be a finite number in [0, 1]")


def test_every_problem_is_named_up_to_five() -> None:
    message = batch(10)
    for record in message["records"]:
        record["value"] = "bad"
    error = rejected(message)
    assert error.message.count("must be a finite number") == 5
    assert error.message.endswith("(and 5 more)")
    for index in range(5):
        assert f"records[{index}].value" in error.message


def test_several_fields_are_reported_together() -> None:
    error = rejected({"type": "metric_update", "metric": "x", "value": 2, "source": ""})
    assert "metric:" in error.message and "value:" in error.message
    assert "source:" in error.message


def test_long_client_text_is_truncated_in_the_error() -> None:
    error = rejected(update(source="x" * 10_000))
    assert len(error.message) < 300


def test_nan_and_infinity_literals_from_the_wire_are_invalid_json() -> None:
    """Python's json accepts NaN/Infinity literals, which are not JSON: they must not pass."""
    for literal in ("NaN", "Infinity", "-Infinity"):
        frame = f'{{"type":"metric_update","metric":"clarity","value":{literal}}}'
        with pytest.raises(ProtocolError) as raised:
            parse_frame(frame)
        assert raised.value.code == "invalid_json"


def test_a_number_that_overflows_is_a_validation_error_carrying_the_id() -> None:
    for literal in ("1e400", "-1e400", "9" * 20, "-" + "9" * 5000):
        with pytest.raises(ProtocolError) as raised:
            parse_frame(f'{{"type":"ping","timestamp":{literal},"id":"n"}}')
        assert (raised.value.code, raised.value.message_id) == ("validation_error", "n")


def test_numbers_within_range_decode_as_usual() -> None:
    frame = parse_frame('{"type":"ping","timestamp":9223372036854775807,"v":-1.5e308}')
    assert frame["timestamp"] == 2**63 - 1 and frame["v"] == -1.5e308


def test_unknown_dashboard_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown dashboard"):
        validate({"type": "ping"}, "other", NOW)


# -- id echo --------------------------------------------------------------------------------

BAD_MESSAGES = [update(2), {"type": "nope"}, {"type": "subscribe", "channels": ["x"]},
                {"type": "resume", "session_id": "s"}]


@pytest.mark.parametrize("message", BAD_MESSAGES, ids=["validation", "type", "channel", "resume"])
@pytest.mark.parametrize("client_id", ["req-1", "", "x" * 64, 0, 42, -7, 10**20])
def test_a_valid_id_is_carried_by_the_error(message: dict[str, Any], client_id: Any) -> None:
    assert rejected({**message, "id": client_id}).message_id == client_id


@pytest.mark.parametrize("client_id", ["x" * 65, True, False, 1.5, None, [1], {"a": 1}])
def test_an_invalid_id_is_not_echoed(client_id: Any) -> None:
    assert rejected({**update(2), "id": client_id}).message_id is None


def test_no_id_gives_none() -> None:
    assert rejected(update(2)).message_id is None


# -- property-based -------------------------------------------------------------------------

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False) | st.sampled_from([0, 1])
metric_names = st.sampled_from(METRICS)


@given(data=st.dictionaries(metric_names, unit, min_size=1),
       source=st.none() | st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True),
       offset=st.none() | st.integers(-DAY, DAY))
def test_valid_metrics_round_trip(data: dict[str, float], source: str | None,
                                  offset: int | None) -> None:
    message: dict[str, Any] = {"type": "metrics", "data": data}
    if source is not None:
        message["source"] = source
    if offset is not None:
        message["timestamp"] = NOW + offset
    result = validate(message, "pulse", NOW)
    assert isinstance(result, Ingest)
    assert result.source == (source or "websocket")
    assert {r.metric: r.value for r in result.records} == {k: float(v) for k, v in data.items()}
    assert [r.metric for r in result.records] == list(data)
    assert all(isinstance(r.value, float) for r in result.records)
    assert all(r.timestamp_ms == (None if offset is None else NOW + offset)
               for r in result.records)


@given(records=st.lists(st.tuples(metric_names, unit), min_size=1, max_size=50))
def test_valid_batches_round_trip(records: list[tuple[str, float]]) -> None:
    message = {"type": "metrics_batch",
               "records": [{"metric": m, "value": v} for m, v in records]}
    result = validate(message, "voices", NOW)
    assert isinstance(result, Ingest)
    assert [(r.metric, r.value) for r in result.records] == [(m, float(v)) for m, v in records]


@given(metric=metric_names, value=unit)
def test_valid_update_round_trips_through_json(metric: str, value: float) -> None:
    frame = json.dumps({"type": "metric_update", "metric": metric, "value": value})
    result = validate(parse_frame(frame), "seams", NOW)
    assert result == Ingest((Record(metric, float(value), None),), "websocket")


json_scalars = st.none() | st.booleans() | st.text(max_size=8)
bad_values = (
    st.floats(allow_nan=True).filter(lambda v: not 0 <= v <= 1)
    | st.integers().filter(lambda v: v not in (0, 1))
    | json_scalars
    | st.lists(unit, max_size=2)
    | st.dictionaries(st.text(max_size=3), unit, max_size=2)
)


@given(st.data())
def test_one_bad_value_anywhere_rejects_the_message(data: st.DataObject) -> None:
    bad = data.draw(bad_values, label="bad value")
    kind = data.draw(st.sampled_from(["metrics", "metric_update", "metrics_batch"]))
    if kind == "metrics":
        values = data.draw(st.dictionaries(metric_names, unit, min_size=1))
        key = data.draw(st.sampled_from(sorted(values)))
        message: dict[str, Any] = {"type": kind, "data": {**values, key: bad}}
        path = f"data.{key}"
    elif kind == "metric_update":
        message = {"type": kind, "metric": data.draw(metric_names), "value": bad}
        path = "value"
    else:
        pairs = data.draw(st.lists(st.tuples(metric_names, unit), min_size=1, max_size=20))
        index = data.draw(st.integers(0, len(pairs) - 1))
        records: list[dict[str, Any]] = [{"metric": m, "value": v} for m, v in pairs]
        records[index]["value"] = bad
        message = {"type": kind, "records": records}
        path = f"records[{index}].value"
    error = rejected(message, data.draw(st.sampled_from(sorted(CHANNELS))))
    assert error.code == "validation_error"
    assert f"{path}: must be a finite number in [0, 1]" in error.message


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25,
)
field_names = st.sampled_from(["data", "records", "metric", "value", "source", "timestamp",
                               "channels", "session_id", "last_seq", "alert_id", "id"])
# Sometimes shaped like a real message (so the deep checks run), sometimes anything at all.
records_like = st.lists(st.dictionaries(st.sampled_from(["metric", "value", "timestamp"]),
                                        json_values | metric_names | unit), max_size=5)
messages = st.one_of(
    st.builds(lambda kind, fields: {**fields, "type": kind},
              st.sampled_from(CLIENT_TYPES) | st.text(max_size=12),
              st.dictionaries(field_names, json_values | records_like | unit | metric_names)),
    st.dictionaries(st.text(max_size=10), json_values),
    json_values,
)


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(message=messages, dashboard=st.sampled_from(sorted(CHANNELS)),
       now=st.integers(0, 4_000_000_000_000))
def test_validate_only_ever_raises_protocol_error(message: Any, dashboard: str,
                                                  now: int) -> None:
    try:
        result = validate(message, dashboard, now)
    except ProtocolError as error:
        assert error.code in {"invalid_message", "unknown_type", "validation_error",
                              "unknown_channel"}
        assert isinstance(error.message, str) and error.message
        assert "<" not in error.message and ">" not in error.message
    else:
        assert isinstance(result, Ping | Ingest | ChannelRequest | Resume | AckAlert)
        if isinstance(result, Ingest):
            assert result.records
            assert all(0 <= r.value <= 1 for r in result.records)
