"""Run Slow Consumer and Run Idle Client (LoadGenerator) against real WebSocket servers: one
that keeps every reply for a client that does not read, one that closes with 1008 once it
holds more than a bound."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from ws_server import serving

from LoadGenerator.idleclient import run_idle_client
from LoadGenerator.slowconsumer import run_slow_consumer

MESSAGE = '{"type":"ping","id":"{id}"}'


def make_handler(bound: int | None):
    async def handler(ws: ServerConnection) -> None:
        closing: list[asyncio.Task[None]] = []
        try:
            async for text in ws:
                message = json.loads(text)
                if bound is not None and ws.transport.get_write_buffer_size() > bound:
                    closing.append(asyncio.create_task(ws.close(1008, "too much unread")))
                    break
                # Not awaited: a reply waits for nothing, as in a server that queues them.
                reply = json.dumps({"type": "pong", "id": message["id"], "pad": "x" * 100})
                asyncio.get_running_loop().create_task(ws.send(reply))
            for task in closing:
                await task
        except ConnectionClosed:
            pass
    return handler


@pytest.fixture
def server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    bound, ping_interval = request.param  # keepalive off unless a test wants it
    with serving(make_handler(bound), close_timeout=10, ping_interval=ping_interval,
                 ping_timeout=ping_interval) as url:
        yield url


@pytest.mark.parametrize("server_url", [(None, None)], indirect=True)
def test_a_server_that_keeps_everything_delivers_every_reply_and_stays_open(
        server_url: str) -> None:
    result = run_slow_consumer(server_url, MESSAGE, rate=2000, unread_bytes=300_000,
                               max_seconds=20, id_digits=64)
    assert result["ended"] == "open"
    assert result["close_code"] is None
    assert result["replies_read"] == result["sent"]
    assert result["unread_bytes"] >= 300_000
    assert result["reply_bytes"] > 100


@pytest.mark.parametrize("server_url", [(64_000, None)], indirect=True)
def test_a_server_that_bounds_what_it_keeps_is_seen_closing_with_its_code(
        server_url: str) -> None:
    result = run_slow_consumer(server_url, MESSAGE, rate=2000, unread_bytes=300_000,
                               max_seconds=20, id_digits=64)
    assert result["ended"] == "close frame"
    assert result["close_code"] == 1008
    assert result["replies_read"] < result["sent"]


@pytest.mark.parametrize("server_url", [(None, None)], indirect=True)
def test_no_reply_to_size_fails_with_the_reason(server_url: str) -> None:
    with pytest.raises(AssertionError, match="No reply with id"):
        run_slow_consumer(server_url, '{"type":"ping","id":"{id}","other":1}'.replace(
            '"id"', '"ref"'), rate=10, unread_bytes=1000, max_seconds=1, timeout=1)


@pytest.mark.parametrize("server_url", [(None, 0.3)], indirect=True)
def test_the_idle_client_answers_pings_or_is_closed_for_not_answering(server_url: str) -> None:
    answered = run_idle_client(server_url, 1.5)
    assert answered["pings_s"] and answered["ended"] == "open"
    silent = run_idle_client(server_url, 5, answer_pings=False)
    assert silent["ended"] == "close frame" and silent["close_code"] == 1011
    assert silent["ended_after_s"] - silent["pings_s"][0] >= 0.3
