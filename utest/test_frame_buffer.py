"""FrameBuffer and Frame: the per-connection store of received frames.

Cross-thread tests synchronise through events and the buffer's own lock, never by sleeping:
a predicate sets an event once take() has scanned the buffer, and take() holds the buffer's
lock until it waits, so a frame appended after that event necessarily arrives while take()
is waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from WebSocketLibrary.frames import Frame, FrameBuffer


def buffer_with(*raws: str, limit: int = 100) -> FrameBuffer:
    buffer = FrameBuffer(limit)
    for n, raw in enumerate(raws):
        buffer.append(raw, n)
    return buffer


def data_is(wanted: object) -> Callable[[Frame], bool]:
    return lambda frame: frame.is_json and frame.data == wanted


def test_take_returns_the_first_matching_frame_and_removes_only_it() -> None:
    buffer = buffer_with('{"n": 1}', '{"n": 2, "first": true}', '{"n": 2}', "not json")

    frame = buffer.take(lambda f: f.is_json and f.data["n"] == 2, timeout=0)

    assert frame is not None
    assert frame.index == 2
    assert frame.data == {"n": 2, "first": True}
    assert [f.index for f in buffer.snapshot()] == [1, 3, 4]
    assert buffer.received == 4


def test_take_with_no_match_leaves_the_buffer_alone() -> None:
    buffer = buffer_with('{"n": 1}', '{"n": 2}')

    assert buffer.take(data_is({"n": 3}), timeout=0) is None
    assert [f.data for f in buffer.snapshot()] == [{"n": 1}, {"n": 2}]


def test_successive_takes_consume_frames_in_order() -> None:
    buffer = buffer_with('{"n": 1}', '{"n": 1}', '{"n": 1}')

    indices = [frame.index for frame in iter(lambda: buffer.take(data_is({"n": 1}), 0), None)]

    assert indices == [1, 2, 3]
    assert buffer.snapshot() == []


def test_a_frame_appended_by_another_thread_while_take_waits_is_found() -> None:
    buffer = buffer_with('{"n": 0}')  # something for take() to scan before it waits
    scanned = threading.Event()

    def wanted(frame: Frame) -> bool:
        scanned.set()
        return frame.data == {"n": 1}

    def producer() -> None:
        scanned.wait(5)
        buffer.append('{"n": 1}', 1)  # blocks on the buffer's lock until take() waits

    thread = threading.Thread(target=producer)
    thread.start()
    started = time.monotonic()
    frame = buffer.take(wanted, timeout=5)
    elapsed = time.monotonic() - started
    thread.join(5)

    assert frame is not None and frame.data == {"n": 1}
    assert elapsed < 4
    assert [f.data for f in buffer.snapshot()] == [{"n": 0}]


def test_a_match_behind_many_frames_appended_while_waiting_is_found() -> None:
    buffer = buffer_with('{"n": -1}', limit=1000)
    scanned = threading.Event()

    def wanted(frame: Frame) -> bool:
        scanned.set()
        return frame.data == {"n": 50}

    def producer() -> None:
        scanned.wait(5)
        for n in range(100):
            buffer.append(f'{{"n": {n}}}', n)

    thread = threading.Thread(target=producer)
    thread.start()
    frame = buffer.take(wanted, timeout=5)
    thread.join(5)

    assert frame is not None and frame.data == {"n": 50}
    assert len(buffer.snapshot()) == 100  # the 101 frames less the one taken
    assert buffer.dropped == 0


def test_take_times_out_with_none_within_a_bounded_time() -> None:
    buffer = buffer_with('{"n": 1}')

    started = time.monotonic()
    frame = buffer.take(data_is({"n": 2}), timeout=0.2)
    elapsed = time.monotonic() - started

    assert frame is None
    assert 0.2 <= elapsed < 1.0
    assert len(buffer.snapshot()) == 1


def test_a_closed_buffer_returns_none_at_once() -> None:
    buffer = buffer_with('{"n": 1}')
    buffer.mark_closed()

    started = time.monotonic()
    frame = buffer.take(data_is({"n": 2}), timeout=5)

    assert frame is None
    assert time.monotonic() - started < 0.5


def test_a_closed_buffer_still_gives_up_matching_frames() -> None:
    buffer = buffer_with('{"n": 1}', '{"n": 2}')
    buffer.mark_closed()

    frame = buffer.take(data_is({"n": 2}), timeout=5)

    assert frame is not None and frame.index == 2


def test_closing_wakes_a_waiting_take() -> None:
    buffer = buffer_with('{"n": 0}')
    scanned = threading.Event()
    result: list[Frame | None] = []

    def wanted(frame: Frame) -> bool:
        scanned.set()
        return False

    def taker() -> None:
        result.append(buffer.take(wanted, timeout=5))

    thread = threading.Thread(target=taker)
    started = time.monotonic()
    thread.start()
    assert scanned.wait(5)
    buffer.mark_closed()  # takes the lock, so only once take() is waiting
    thread.join(5)

    assert not thread.is_alive()
    assert result == [None]
    assert time.monotonic() - started < 4
    assert buffer.closed


def test_a_full_buffer_drops_the_oldest_and_counts_them() -> None:
    buffer = buffer_with(*(f'{{"n": {n}}}' for n in range(1, 6)), limit=3)

    assert [f.data["n"] for f in buffer.snapshot()] == [3, 4, 5]
    assert buffer.dropped == 2
    assert buffer.received == 5


def test_an_unfilled_buffer_drops_nothing() -> None:
    buffer = buffer_with('{"n": 1}', '{"n": 2}', limit=2)

    assert buffer.dropped == 0
    assert len(buffer.snapshot()) == 2


def test_clear_returns_the_count_and_indices_keep_growing() -> None:
    buffer = buffer_with('{"n": 1}', "text", '{"n": 3}')

    assert buffer.clear() == 3
    assert buffer.snapshot() == []
    assert buffer.clear() == 0
    buffer.append('{"n": 4}', 4)
    assert [f.index for f in buffer.snapshot()] == [4]
    assert buffer.received == 4


def test_snapshot_is_a_copy() -> None:
    buffer = buffer_with('{"n": 1}')
    snapshot = buffer.snapshot()
    snapshot.clear()
    assert len(buffer.snapshot()) == 1


@pytest.mark.parametrize(("raw", "is_json", "data"), [
    ('{"type": "pong", "id": 7}', True, {"type": "pong", "id": 7}),
    ("[1, 2]", True, [1, 2]),
    ("42", True, 42),
    ('"text"', True, "text"),
    ("null", True, None),
    ("not json", False, None),
    ("{incomplete json", False, None),
    ("", False, None),
    (b'{"type": "pong"}', False, None),  # binary frames are never decoded
    (b"\x00\x01", False, None),
])
def test_frame_decode(raw: str | bytes, is_json: bool, data: object) -> None:
    frame = Frame.decode(3, raw, 123)
    assert (frame.index, frame.raw, frame.arrived_ns) == (3, raw, 123)
    assert frame.is_json is is_json
    assert frame.data == data


def test_preview_keeps_short_text_whole() -> None:
    assert Frame(1, "x" * 10, 0).preview(10) == "x" * 10
    assert Frame(1, '{"a": 1}', 0).preview() == '{"a": 1}'


def test_preview_truncates_long_text_and_gives_its_length() -> None:
    text = "abcdefghij" * 30  # 300 chars
    assert Frame(1, text, 0).preview() == f"{text[:200]}… (300 chars)"
    assert Frame(1, "x" * 11, 0).preview(10) == f"{'x' * 10}… (11 chars)"


def test_preview_of_binary_gives_its_size() -> None:
    assert Frame(1, b"\x00\x01\x02", 0).preview() == "<3 bytes binary: 00 01 02>"
