"""AsyncAPI 3 documents in WebSocketLibrary: loading, $ref resolution (inside the document
and to files beside it), the messages of a channel or operation, and validation failures
that name the message, the schema location and the offending value; against
docs/asyncapi.yaml (whose payloads are docs/schemas) and small inline documents; and the
keywords, with the traffic of a real connection validated both ways."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_websocket_library_support import (  # noqa: F401  (fixtures)
    connect,
    kw,
    server_url_fixture,
    sync,
    wslib_fixture,
)

from WebSocketLibrary import WebSocketLibrary
from WebSocketLibrary.asyncapi import AsyncApiDocument

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "docs" / "asyncapi.yaml"
SCHEMAS = ROOT / "docs" / "schemas"
INDEX: dict[str, str] = json.loads((SCHEMAS / "index.json").read_text(encoding="utf-8"))
T = 1640995200000
PULSE_SENDS = ("welcome, pong, heartbeat, metrics_received, subscribed, unsubscribed, resumed, "
               "alert_acknowledged, error, slo_alert, alert_resolved, recovery_action, "
               "metrics_update")


@pytest.fixture(scope="module", name="contract")
def contract_fixture() -> AsyncApiDocument:
    return AsyncApiDocument(CONTRACT)


def failure(document: AsyncApiDocument, frame: Any, **where: Any) -> str:
    messages, scope = document.messages(**where)
    outcome = document.validate(frame, messages)
    assert outcome.matched is None
    return outcome.describe(frame, scope)


# -- docs/asyncapi.yaml: one source with docs/schemas --------------------------------------

def test_every_schema_file_is_reachable_from_the_contract(contract: AsyncApiDocument) -> None:
    reachable = contract.schema_files()
    files = set(SCHEMAS.glob("*.schema.json"))
    assert files, "no schema files found"
    assert files - reachable == set()
    assert reachable == files | {CONTRACT}


def test_each_message_s_payload_is_its_schema_file_by_reference() -> None:
    raw = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    messages = raw["components"]["messages"]
    assert sorted(messages) == sorted(INDEX)
    for kind, file in INDEX.items():
        assert messages[kind]["payload"] == {"$ref": f"./schemas/{file}"}, kind


def test_the_contract_names_servers_channels_and_operations(contract: AsyncApiDocument) -> None:
    raw = contract.root
    assert raw["asyncapi"] == "3.1.0"
    assert {name: server["host"] for name, server in raw["servers"].items()} == {
        "pulse": "localhost:3001", "seams": "localhost:3002", "voices": "localhost:3003"}
    assert all(server["protocol"] == "ws" for server in raw["servers"].values())
    bearer = raw["components"]["securitySchemes"]["bearer"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    assert contract.channel_names() == ["pulse", "seams", "voices"]
    assert contract.operation_names() == ["pulseReceive", "pulseSend", "seamsReceive",
                                          "seamsSend", "voicesReceive", "voicesSend"]


def test_each_dashboard_takes_the_client_messages_and_sends_its_own_events(
        contract: AsyncApiDocument) -> None:
    client = ["ping", "metrics", "metric_update", "metrics_batch", "subscribe", "unsubscribe",
              "resume", "ack_alert"]
    for dashboard, events in {"pulse": ["metrics_update"], "seams": ["seam"],
                              "voices": ["voice_activation", "voice_deactivation"]}.items():
        takes, _ = contract.messages(dashboard, action="receive")
        sends, _ = contract.messages(operation=f"{dashboard}Send")
        assert [m.name for m in takes] == client
        assert [m.name for m in sends][-len(events):] == events
        assert {"welcome", "pong", "error", "slo_alert"} <= {m.name for m in sends}


@pytest.mark.parametrize(("frame", "where", "name"), [
    ({"type": "welcome", "dashboard": "pulse", "session_id": "k3J9xQ2mLw8aZ1bT",
      "protocol_version": "1.0", "heartbeat_interval_ms": 5000, "server_time": T},
     {"channel": "pulse", "action": "send"}, "welcome"),
    ({"type": "ping", "timestamp": T}, {"operation": "seamsReceive"}, "ping"),
    ({"type": "seam", "seq": 5, "from": "CREATIVE_TENSION", "to": "CHAOTIC_CREATION",
      "seam_type": "chaos_seam", "intensity": 0.65, "timestamp": T},
     {"channel": "seams"}, "seam"),
])
def test_a_contract_example_matches_its_message(contract: AsyncApiDocument, frame: dict[str, Any],
                                                where: dict[str, str], name: str) -> None:
    messages, _ = contract.messages(**where)
    assert contract.validate(frame, messages).matched == name


def test_a_value_out_of_range_names_message_schema_path_and_value(
        contract: AsyncApiDocument) -> None:
    frame = {"type": "heartbeat", "timestamp": T, "seq": 0}
    assert failure(contract, frame, channel="pulse", action="send") == (
        f'{{"type": "heartbeat", "timestamp": {T}, "seq": 0}} matches no message of channel '
        f"'pulse' (operations that send) (tried {PULSE_SENDS}).\n"
        "Closest: message 'heartbeat' (1 error(s)):\n"
        "  $.seq: 0 is less than the minimum of 1 "
        "(schema schemas/heartbeat.schema.json#/properties/seq/minimum, value 0)")


def test_a_missing_field_names_the_required_keyword(contract: AsyncApiDocument) -> None:
    text = failure(contract, {"type": "pong", "timestamp": T}, operation="pulseSend")
    assert text.endswith(
        "Closest: message 'pong' (1 error(s)):\n"
        "  $: 'server_time' is a required property (schema schemas/pong.schema.json#/required, "
        f'value {{"type": "pong", "timestamp": {T}}})')
    assert "matches no message of operation 'pulseSend' (tried welcome, pong," in text


def test_a_broken_pairing_names_the_conditional_it_broke(contract: AsyncApiDocument) -> None:
    alert = {"id": "alert-1", "metric": "clarity", "value": 0.95, "priority": "P1",
             "level": "WARN", "threshold": 0.9, "bound": "max", "timestamp": T,
             "auto_actions": [], "voice_triggers": []}
    text = failure(contract, {"type": "slo_alert", "seq": 12, "alert": alert},
                   channel="voices", action="send")
    assert text.endswith(
        "Closest: message 'slo_alert' (1 error(s)):\n"
        "  $.alert.level: 'BLOCK' was expected (schema schemas/slo_alert.schema.json"
        '#/properties/alert/allOf/1/then/properties/level/const, value "WARN")')


def test_a_client_message_is_not_a_server_message(contract: AsyncApiDocument) -> None:
    text = failure(contract, {"type": "ping"}, channel="pulse", action="send")
    assert text.startswith(f"{{\"type\": \"ping\"}} matches no message of channel 'pulse' "
                           f"(operations that send) (tried {PULSE_SENDS}).\n")
    assert "  $.type: 'pong' was expected (schema schemas/pong.schema.json" \
           "#/properties/type/const, value \"ping\")" in text


def test_an_unknown_type_shows_two_closest_and_names_the_rest(
        contract: AsyncApiDocument) -> None:
    text = failure(contract, {"type": "nope"}, channel="pulse", action="send").splitlines()
    closest = [line for line in text if line.startswith("Closest: ")]
    assert closest == ["Closest: message 'pong' (3 error(s)):",
                       "Closest: message 'heartbeat' (3 error(s)):"]
    assert text[-1] == "As close: subscribed, alert_acknowledged, slo_alert."


def test_unknown_channel_operation_and_a_mismatched_action_are_errors(
        contract: AsyncApiDocument) -> None:
    with pytest.raises(ValueError, match=r"^AsyncAPI 'Dashboards WebSocket API' has no "
                                         r"channel 'alerts'\. Channels: pulse, seams, voices\.$"):
        contract.messages("alerts")
    with pytest.raises(ValueError, match=r"has no operation 'ping'\. Operations: pulseReceive, "):
        contract.messages(operation="ping")
    with pytest.raises(ValueError, match=r"^Operation 'pulseSend' is a 'send' operation, "
                                         r"not 'receive'\.$"):
        contract.messages(operation="pulseSend", action="receive")
    with pytest.raises(ValueError, match=r"^action must be 'send' or 'receive', not 'publish'"):
        contract.messages("pulse", action="publish")


# -- an inline document: $refs inside it and to files beside it ----------------------------

INLINE = """\
asyncapi: 3.0.0
info: {title: Tiny, version: '1'}
channels:
  room:
    address: /rooms/{id}
    parameters:
      id: {}
    messages:
      say: {$ref: '#/components/messages/say'}
      joined: {$ref: 'parts/messages.yaml#/joined'}
      raw: {contentType: text/plain}
operations:
  speak:
    action: receive
    channel: {$ref: '#/channels/room'}
    messages: [{$ref: '#/channels/room/messages/say'}]
  announce:
    action: send
    channel: {$ref: '#/channels/room'}
components:
  schemas:
    name: {type: string, minLength: 1, maxLength: 8}
  messages:
    say:
      payload:
        schemaFormat: application/schema+json;version=draft-07
        schema:
          type: object
          required: [text, by]
          properties:
            text: {type: string}
            by: {$ref: '#/components/schemas/name'}
"""
PARTS = """\
joined:
  name: joined
  payload: {$ref: '../../schemas/joined.json'}
"""
JOINED = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
          "required": ["who"], "properties": {"who": {"$ref": "#/$defs/who"}},
          "$defs": {"who": {"enum": ["ann", "bob"]}}}


@pytest.fixture(name="tiny")
def tiny_fixture(tmp_path: Path) -> AsyncApiDocument:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "parts").mkdir()
    (tmp_path / "schemas").mkdir()
    (tmp_path / "api" / "tiny.yaml").write_text(INLINE, encoding="utf-8")
    (tmp_path / "api" / "parts" / "messages.yaml").write_text(PARTS, encoding="utf-8")
    (tmp_path / "schemas" / "joined.json").write_text(json.dumps(JOINED), encoding="utf-8")
    return AsyncApiDocument(tmp_path / "api" / "tiny.yaml")


def test_operations_and_channels_give_their_messages(tiny: AsyncApiDocument) -> None:
    assert [m.name for m in tiny.messages(operation="speak")[0]] == ["say"]
    # An operation that lists no messages has all of its channel's.
    assert [m.name for m in tiny.messages(operation="announce")[0]] == ["say", "joined", "raw"]
    assert [m.name for m in tiny.messages("room", action="receive")[0]] == ["say"]
    assert [m.name for m in tiny.messages("/rooms/{id}")[0]] == ["say", "joined", "raw"]


def test_a_multi_format_payload_with_a_ref_inside_the_document(tiny: AsyncApiDocument) -> None:
    messages, scope = tiny.messages(operation="speak")
    assert tiny.validate({"text": "hi", "by": "ann"}, messages).matched == "say"
    frame = {"text": "hi", "by": "annabella-x"}
    assert tiny.validate(frame, messages).describe(frame, scope) == (
        '{"text": "hi", "by": "annabella-x"} matches no message of operation \'speak\' '
        "(tried say).\n"
        "Closest: message 'say' (1 error(s)):\n"
        "  $.by: 'annabella-x' is too long (schema tiny.yaml#/components/schemas/name/maxLength, "
        'value "annabella-x")')


def test_a_payload_in_another_file_with_its_own_ref(tiny: AsyncApiDocument) -> None:
    messages, scope = tiny.messages("room")
    only_joined = [m for m in messages if m.name == "joined"]
    assert tiny.validate({"who": "bob"}, only_joined).matched == "joined"
    outcome = tiny.validate({"who": "eve"}, messages, only="joined")
    assert outcome.describe({"who": "eve"}, scope) == (
        "{\"who\": \"eve\"} matches no message of channel 'room' (tried joined).\n"
        "Closest: message 'joined' (1 error(s)):\n"
        "  $.who: 'eve' is not one of ['ann', 'bob'] "
        "(schema ../schemas/joined.json#/$defs/who/enum, value \"eve\")")
    assert tiny.schema_files() == {tiny.path, tiny.path.parent / "parts" / "messages.yaml",
                                   tiny.path.parent.parent / "schemas" / "joined.json"}


def test_a_message_without_payload_takes_anything(tiny: AsyncApiDocument) -> None:
    assert tiny.validate([1, 2], tiny.messages("room")[0]).matched == "raw"


def test_documents_that_cannot_be_used_are_refused(tmp_path: Path) -> None:
    (tmp_path / "v2.yaml").write_text("asyncapi: 2.6.0\ninfo: {title: Old}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"is not an AsyncAPI 3 document \(asyncapi: '2\.6\.0'\)"):
        AsyncApiDocument(tmp_path / "v2.yaml")
    with pytest.raises(ValueError, match=r"nowhere\.yaml does not exist"):
        AsyncApiDocument(tmp_path / "nowhere.yaml")
    (tmp_path / "bad.yaml").write_text("asyncapi: [3.0.0\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.yaml is not valid YAML"):
        AsyncApiDocument(tmp_path / "bad.yaml")
    avro = textwrap.dedent("""\
        asyncapi: 3.0.0
        info: {title: Avro, version: '1'}
        channels:
          c:
            messages:
              m:
                payload: {schemaFormat: application/vnd.apache.avro;version=1.9.0, schema: {}}
        """)
    (tmp_path / "avro.yaml").write_text(avro, encoding="utf-8")
    with pytest.raises(ValueError, match=r"is in application/vnd\.apache\.avro;version=1\.9\.0; "
                                         r"only JSON Schema payloads can be validated"):
        AsyncApiDocument(tmp_path / "avro.yaml").messages("c")
    (tmp_path / "json.json").write_text(json.dumps(
        {"asyncapi": "3.0.0", "info": {"title": "J", "version": "1"},
         "channels": {"c": {"messages": {"m": {"payload": {"$ref": "#/nowhere"}}}}}}))
    with pytest.raises(ValueError, match=r"^AsyncAPI: json\.json#/nowhere does not exist\.$"):
        AsyncApiDocument(tmp_path / "json.json").messages("c")


# -- the keywords ------------------------------------------------------------------------

def test_message_should_match_asyncapi_returns_the_message_or_fails(
        wslib: WebSocketLibrary) -> None:
    assert kw(wslib, "Load AsyncAPI", str(CONTRACT), name="dashboards") == "dashboards"
    assert kw(wslib, "Message Should Match AsyncAPI", '{"type": "ping", "timestamp": 1}',
              channel="pulse", action="receive") == "ping"
    with pytest.raises(AssertionError) as failed:
        kw(wslib, "Message Should Match AsyncAPI", {"type": "subscribe", "channels": []},
           operation="voicesReceive", name="subscribe")
    assert str(failed.value) == (
        "{\"type\": \"subscribe\", \"channels\": []} matches no message of operation "
        "'voicesReceive' of AsyncAPI 'Dashboards WebSocket API' (tried subscribe).\n"
        "Closest: message 'subscribe' (1 error(s)):\n"
        "  $.channels: [] should be non-empty (schema "
        "schemas/subscribe.schema.json#/properties/channels/minItems, value [])")
    assert kw(wslib, "Get AsyncAPI Messages", operation="seamsSend")[-1] == "seam"
    with pytest.raises(RuntimeError, match=r"No AsyncAPI document named 'other'\. "
                                           r"Loaded: dashboards\."):
        kw(wslib, "Get AsyncAPI Messages", document="other")


ECHO = ROOT / "websocketlibrary" / "atest" / "websocket_library" / "echo.asyncapi.yaml"


def test_traffic_is_validated_both_ways_and_reported_once(
        wslib: WebSocketLibrary, server_url: str) -> None:
    kw(wslib, "Load AsyncAPI", str(ECHO))
    connect(wslib, server_url, alias="echo")
    kw(wslib, "Validate Traffic With AsyncAPI", channel="echo", alias="echo")
    kw(wslib, "send_json", {"type": "update", "seq": 1}, alias="echo")
    kw(wslib, "wait_for_message", {"type": "update"}, alias="echo")
    assert kw(wslib, "Traffic Should Have Matched AsyncAPI", alias="echo") == 2

    kw(wslib, "send_json", {"type": "note", "text": "x" * 21}, alias="echo")
    kw(wslib, "wait_for_message", {"type": "note"}, alias="echo")
    with pytest.raises(AssertionError) as failed:
        kw(wslib, "Traffic Should Have Matched AsyncAPI", alias="echo")
    note = "{\"type\": \"note\", \"text\": \"xxxxxxxxxxxxxxxxxxxxx\"}"
    where = "echo.asyncapi.yaml#/components/messages/note/payload/schema/properties/text/maxLength"
    lines = str(failed.value).splitlines()
    assert lines[0].startswith("2 frame(s) on 'echo' (ws://127.0.0.1:")
    assert lines[0].endswith(") broke the AsyncAPI document (4 checked):")
    assert lines[1:] == [
        f"sent frame {note} matches no message of channel 'echo' (operations that receive) "
        "of AsyncAPI 'Echo test server' (tried update, note, command).",
        "Closest: message 'note' (1 error(s)):",
        f"  $.text: 'xxxxxxxxxxxxxxxxxxxxx' is too long (schema {where}, "
        "value \"xxxxxxxxxxxxxxxxxxxxx\")",
        f"received frame {note} matches no message of channel 'echo' (operations that send) "
        "of AsyncAPI 'Echo test server' (tried welcome, update, note, heartbeat).",
        "Closest: message 'note' (1 error(s)):",
        f"  $.text: 'xxxxxxxxxxxxxxxxxxxxx' is too long (schema {where}, "
        "value \"xxxxxxxxxxxxxxxxxxxxx\")"]

    kw(wslib, "send_text", "not json", alias="echo")
    kw(wslib, "wait_for_message", regex="^not json$", alias="echo")
    with pytest.raises(AssertionError) as stopped:
        kw(wslib, "stop_validating_traffic", alias="echo")
    assert str(stopped.value).splitlines()[1:] == [
        "sent frame not json is not JSON (the contract's messages are JSON)",
        "received frame not json is not JSON (the contract's messages are JSON)"]
    kw(wslib, "send_text", "not json either", alias="echo")  # no longer checked
    sync(wslib, alias="echo")
    assert kw(wslib, "stop_validating_traffic", alias="echo") == 0
    with pytest.raises(RuntimeError, match=r"is not being validated\. Use 'Validate Traffic"):
        kw(wslib, "Traffic Should Have Matched AsyncAPI", alias="echo")


def test_no_candidates_and_an_unknown_name_are_said_plainly(tiny: AsyncApiDocument) -> None:
    assert tiny.validate({}, []).describe({}, "operation 'x'") == (
        "{} matches no message of operation 'x' (it has none).")
    with pytest.raises(ValueError, match=r"^No message 'shout' among say\.$"):
        tiny.validate({}, tiny.messages(operation="speak")[0], only="shout")


def test_a_client_document_swaps_the_actions() -> None:
    assert AsyncApiDocument(CONTRACT).action_for(sent=True) == "receive"
    client = AsyncApiDocument(CONTRACT, describes="client")
    assert (client.action_for(sent=True), client.action_for(sent=False)) == ("send", "receive")
    with pytest.raises(ValueError, match=r"^describes must be 'server' or 'client', not 'both'"):
        AsyncApiDocument(CONTRACT, describes="both")


def test_a_flood_of_bad_frames_is_counted_past_the_first_twenty(
        wslib: WebSocketLibrary, server_url: str) -> None:
    kw(wslib, "Load AsyncAPI", str(ECHO))
    connect(wslib, server_url)
    kw(wslib, "Validate Traffic With AsyncAPI")
    kw(wslib, "send_json", {"cmd": "burst", "count": 30, "type": "tick"})
    kw(wslib, "wait_for_messages", 30, {"type": "tick"})
    with pytest.raises(AssertionError) as failed:
        kw(wslib, "stop_validating_traffic")
    lines = str(failed.value).splitlines()
    assert lines[0].startswith("30 frame(s) on ws://127.0.0.1:")
    assert lines[0].endswith(" broke the AsyncAPI document (31 checked):")
    assert sum(line.startswith("received frame ") for line in lines) == 20
    assert lines[-1] == "… and 10 more."
