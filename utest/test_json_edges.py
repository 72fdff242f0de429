"""JSON at its edges as WebSocketLibrary sees it (jsontext), and handshakes with a header
sent twice (header_pairs)."""

from __future__ import annotations

import pytest
from robot.api.types import Secret

from WebSocketLibrary.frames import Frame
from WebSocketLibrary.jsontext import decode
from WebSocketLibrary.keywords.connections import header_pairs


@pytest.mark.parametrize("text", ['{"v": NaN}', '{"v": Infinity}', '[-Infinity]'])
def test_constants_that_are_not_json_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not JSON"):
        decode(text)


def test_a_frame_carrying_infinity_is_text_not_json() -> None:
    frame = Frame.decode(0, '{"type": "pong", "timestamp": Infinity}', 0)
    assert frame.kind == "text"
    assert frame.value == '{"type": "pong", "timestamp": Infinity}'


def test_a_lone_surrogate_stays_its_escape_and_can_be_written_as_utf8() -> None:
    value = decode(r'{"id": "a\ud800b", "\udfff": ["\uDC00"]}')
    assert value == {"id": "a\\ud800b", "\\udfff": ["\\udc00"]}
    "".join([value["id"], *value]).encode()  # what Robot Framework's log needs


def test_a_surrogate_pair_is_the_character_it_encodes() -> None:
    assert decode(r'"\ud83d\ude00"') == "\U0001F600"


def test_a_template_and_a_frame_decode_a_lone_surrogate_alike() -> None:
    frame = Frame.decode(0, r'{"type":"pong","id":"\ud800"}', 0)
    assert frame.value["id"] == decode(r'"\ud800"')


def test_header_pairs_send_a_header_twice() -> None:
    pairs = header_pairs(None, [("Origin", "https://a"), ("Origin", "https://a")])
    assert pairs == [("Origin", "https://a"), ("Origin", "https://a")]


def test_a_list_of_tokens_sends_one_authorization_each() -> None:
    token = Secret("t0k")
    assert header_pairs([token, token], {"X-Trace": "1"}) == [
        ("X-Trace", "1"), ("Authorization", "Bearer t0k"), ("Authorization", "Bearer t0k")]


def test_a_token_and_an_authorization_header_are_refused_together() -> None:
    with pytest.raises(ValueError, match="Both a token and an Authorization header"):
        header_pairs("t", [("authorization", "Basic x")])
