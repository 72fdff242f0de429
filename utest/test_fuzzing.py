"""Fuzz Messages From Schema (WebSocketLibrary) and the messages it generates: against a
real WebSocket server that keeps a small contract, and against servers that break it in one
way each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from ws_server import serving

from WebSocketLibrary import WebSocketLibrary
from WebSocketLibrary.fuzzing import FuzzKind, Sample, coverage, near_misses, samples

ADD = {
    "type": "object",
    "required": ["type", "n"],
    "properties": {
        "type": {"const": "add"},
        "id": {"type": ["string", "integer"], "maxLength": 64},
        "n": {"type": "integer", "minimum": 0, "maximum": 10},
        "tag": {"type": "string", "maxLength": 8},
    },
    "additionalProperties": True,
}
ADDED = {"type": "object", "required": ["type", "total"],
         "properties": {"type": {"const": "added"}, "total": {"type": "integer"}}}
ERROR = {"type": "object", "required": ["type", "code"],
         "properties": {"type": {"const": "error"}, "code": {"type": "string"}}}
PONG = {"type": "pong"}
FAST = {"rate": 2000.0, "timeout": timedelta(seconds=2)}


def has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_lone_surrogate(v) for v in value)
    return False


def answer(message: Any, fault: str, handled: int) -> tuple[dict[str, Any] | None, int | None]:
    """The reply of a server with ``fault`` (``none``: keeps the contract), and a close code
    when it closes instead."""
    if not isinstance(message, dict):
        return {"type": "error", "code": "invalid_json"}, None
    if message.get("type") == "ping":
        return (None if fault == "stops answering" and handled > 5 else {"type": "pong"}), None
    if fault == "closes on a lone surrogate" and has_lone_surrogate(message):
        return None, 1011
    rules = ADD if fault != "no maximum" else {
        **ADD, "properties": {**ADD["properties"], "n": {"type": "integer", "minimum": 0}}}
    reply: dict[str, Any] = ({"type": "error", "code": "validation_error"}
                             if list(Draft202012Validator(rules).iter_errors(message))
                             else {"type": "added", "total": message["n"]})
    if "id" in message and not (fault == "no id on errors" and reply["type"] == "error"):
        reply["id"] = message["id"]
    return reply, None


def make_handler(fault: str):
    async def handler(ws: ServerConnection) -> None:
        handled = 0
        try:
            async for text in ws:
                handled += 1
                reply, close_code = answer(json.loads(text), fault, handled)
                if close_code is not None:
                    await ws.close(close_code, "internal error")
                    return
                if reply is not None:
                    await ws.send(json.dumps(reply))
        except ConnectionClosed:
            pass
    return handler


@pytest.fixture(name="server_url")
def server_url_fixture(request: pytest.FixtureRequest) -> Iterator[str]:
    with serving(make_handler(request.param)) as url:
        yield url


@pytest.fixture(name="wslib")
def wslib_fixture() -> Iterator[WebSocketLibrary]:
    lib = WebSocketLibrary(timeout=timedelta(seconds=5))
    yield lib
    lib.run_keyword("close_all_connections", [], {})


def fuzz(lib: WebSocketLibrary, url: str, **options: Any) -> dict[str, Any]:
    lib.run_keyword("connect", [url], {})
    return lib.run_keyword("fuzz_messages_from_schema", [ADD, [ADDED, ERROR]],
                           {**FAST, **options})


# -- the messages ----------------------------------------------------------------------------

@settings(max_examples=60, suppress_health_check=list(HealthCheck), deadline=None)
@given(samples(ADD, list(FuzzKind), reserved=("id",)))
def test_every_sample_is_json_text_and_a_near_miss_breaks_the_schema(sample: Sample) -> None:
    assert isinstance(json.loads(sample.text()), dict)
    sample.text().encode("ascii")  # lone surrogates travel as escapes
    broken = list(Draft202012Validator(ADD).iter_errors(sample.message))
    if sample.kind is FuzzKind.VALID:
        assert not broken
    if sample.kind is FuzzKind.NEAR_MISS:
        assert broken, sample.change


def test_near_misses_cover_each_rule_of_the_schema() -> None:
    changes = dict(near_misses(ADD, {"type": "add", "n": 3, "tag": "ab", "id": 1}, ("id",)))
    assert {"type left out", "n left out", "n: maximum 10 + 1", "n: minimum 0 - 1",
            "tag: 9 characters", "type: 'ADD' (case changed)"} <= set(changes)
    assert changes["n: maximum 10 + 1"]["n"] == 11
    assert not any(change.startswith("id") for change in changes)


# -- the keyword ---------------------------------------------------------------------------

@pytest.mark.parametrize("server_url", ["none"], indirect=True)
def test_a_server_that_keeps_the_contract_passes_every_kind(
        wslib: WebSocketLibrary, server_url: str) -> None:
    run = fuzz(wslib, server_url, examples=60, control={"type": "ping"}, control_reply=PONG)
    sweep = len(coverage(ADD, list(FuzzKind), ("id",)))
    assert sum(run["sent"][kind.value] for kind in FuzzKind) == sweep + 60
    assert run["sent"]["invalid"] > 0
    assert set(run["replies"]) == {"added", "error"}


@pytest.mark.parametrize("server_url", ["none"], indirect=True)
def test_the_same_seed_sends_the_same_messages(wslib: WebSocketLibrary,
                                               server_url: str) -> None:
    first = fuzz(wslib, server_url, examples=20, seed=3)
    second = wslib.run_keyword("fuzz_messages_from_schema", [ADD, [ADDED, ERROR]],
                               {**FAST, "examples": 20, "seed": 3})
    assert first == second


@pytest.mark.parametrize("server_url", ["no maximum"], indirect=True)
def test_an_accepted_near_miss_is_shrunk_and_reported_with_the_text_to_replay(
        wslib: WebSocketLibrary, server_url: str) -> None:
    with pytest.raises(AssertionError) as failure:
        fuzz(wslib, server_url, examples=100, kinds=FuzzKind.NEAR_MISS, every_rule=False)
    report = str(failure.value)
    assert "breaks the schema ($.n: 11 is greater than the maximum of 10)" in report
    replay = json.loads(report.split("To replay it: Send Text    ")[1].splitlines()[0])
    assert {k: v for k, v in replay.items() if k != "id"} == {"type": "add", "n": 11}


@pytest.mark.parametrize("server_url", ["no id on errors"], indirect=True)
def test_an_error_without_the_id_is_a_missing_reply(wslib: WebSocketLibrary,
                                                    server_url: str) -> None:
    with pytest.raises(AssertionError, match=r'No reply carrying "id": "fuzz-\d+" within 0.3 s'
                                             r'(.|\n)*arrived meanwhile: \{"type": "error"'):
        fuzz(wslib, server_url, examples=50, kinds=FuzzKind.NEAR_MISS,
             timeout=timedelta(seconds=0.3))


@pytest.mark.parametrize("server_url", ["closes on a lone surrogate"], indirect=True)
def test_a_message_that_closes_the_connection_is_reported_as_found(
        wslib: WebSocketLibrary, server_url: str) -> None:
    with pytest.raises(AssertionError) as failure:
        fuzz(wslib, server_url, examples=100, kinds=FuzzKind.HOSTILE)
    report = str(failure.value)
    assert "not shrunk: the connection is closed" in report
    assert "The connection closed (code 1011)" in report
    assert "\\ud" in report or "\\ud" in report.lower()


@pytest.mark.parametrize("server_url", ["stops answering"], indirect=True)
def test_a_server_that_stops_answering_the_control_message_fails(
        wslib: WebSocketLibrary, server_url: str) -> None:
    with pytest.raises(AssertionError, match="no longer answers the control message"):
        fuzz(wslib, server_url, examples=30, control={"type": "ping"}, control_reply=PONG,
             timeout=timedelta(seconds=0.3))


@pytest.mark.parametrize("server_url", ["none"], indirect=True)
def test_a_message_over_max_bytes_is_counted_and_not_sent(wslib: WebSocketLibrary,
                                                          server_url: str) -> None:
    run = fuzz(wslib, server_url, examples=20, kinds=FuzzKind.HOSTILE, max_bytes=200)
    assert run["sent"]["too large"] > 0  # the sweep's 4,096 characters and 4,001 digits
    assert run["sent"]["hostile"] > 0


@pytest.mark.parametrize("server_url", ["none"], indirect=True)
def test_bad_arguments_are_refused_with_the_reason(wslib: WebSocketLibrary,
                                                   server_url: str) -> None:
    with pytest.raises(ValueError, match="examples must be at least 1"):
        fuzz(wslib, server_url, examples=0)
    with pytest.raises(ValueError, match="both control and control_reply"):
        wslib.run_keyword("fuzz_messages_from_schema", [ADD, [ADDED]],
                          {"control": {"type": "ping"}})
    with pytest.raises(ValueError, match="at least one reply schema"):
        wslib.run_keyword("fuzz_messages_from_schema", [ADD, []], {})
    with pytest.raises(ValueError, match="rate must be positive"):
        wslib.run_keyword("fuzz_messages_from_schema", [ADD, [ADDED]], {"rate": 0})
