"""Waiting for frames that match, asserting that none do, and inspecting the buffer."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from assertionengine import AssertionOperator
from robot.api import logger
from robotlibcore import keyword

from ..connection import Connection
from ..context import as_template, recent_traffic
from ..filters import FrameFilter, check_value, path_value
from ..frames import Frame
from ..kinds import MessageKind, TrafficLog
from .base import Component

SHOWN_FRAMES = 5


class ReceivingKeywords(Component):
    @keyword(tags=["Wait"])
    def wait_for_message(self, template: dict | list | str | None = None,
                         timeout: timedelta | None = None, path: str | None = None,
                         assertion_operator: AssertionOperator | None = None,
                         assertion_expected: Any = None, regex: str | None = None,
                         type: MessageKind | None = None, alias: str | None = None) -> Any:
        """Waits for a message that matches, removes it from the buffer and returns it.

        Criteria, all of which must hold:
        - ``template``: a partial JSON template (dict or JSON string). Every key of the
          template must be present with an equal value; extra keys are ignored, nested
          objects likewise, arrays must have the same length.
        - ``path`` with ``assertion_operator`` and ``assertion_expected``: a JSONPath whose
          value must satisfy an assertion operator (``==``, ``!=``, ``<``, ``>=``,
          ``contains``, ``matches`` …, see `Wait For Message Where`). A path alone must exist.
        - ``regex``: a regular expression searched in the raw text of the frame.
        - ``type``: ``json`` (default), ``text`` (any text frame: the default with only a
          regex), ``binary`` or ``any``.

        Without criteria the next JSON message matches. Frames that arrived before the call
        are found too. Other frames stay in the buffer for later waits. Returns the decoded
        JSON, or the text or bytes of a non-JSON frame. Fails after ``timeout`` (default:
        the library's) showing what did arrive, or at once if the connection closes.

        Example:
        | ${pong}=    Wait For Message    {"type": "pong"}    timeout=200ms
        | Wait For Message    {"type": "update"}    path=$.value    assertion_operator=>
        | ...    assertion_expected=5
        | ${text}=    Wait For Message    regex=^ERROR \\\\d+
        | ${blob}=    Wait For Message    type=binary
        """
        wanted = self._filter(template, path, assertion_operator, assertion_expected, regex, type)
        frame = self.take(wanted, timeout, alias)
        self.ctx.connection(alias).last_returned = [frame]
        return frame.value

    @keyword(tags=["Wait"])
    def wait_for_message_where(self, path: str,
                               assertion_operator: AssertionOperator | None = None,
                               assertion_expected: Any = None, timeout: timedelta | None = None,
                               alias: str | None = None) -> Any:
        """Waits for a JSON message whose value at JSONPath ``path`` satisfies the assertion.

        Reads like the getters of Browser library: ``path    assertion_operator
        assertion_expected``. The operators are those of robotframework-assertion-engine:
        ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``contains``, ``not contains``,
        ``starts``, ``ends``, ``matches`` (regex) and ``validate`` (a Python expression on
        ``value``). ``assertion_expected`` is converted to the type of the value found
        (numbers, booleans, JSON). A path that selects several values gives their list.
        Consumes and returns the whole message.

        Example:
        | ${msg}=    Wait For Message Where    $.metrics.clarity    >=    0.9
        | Wait For Message Where    $.type    ==    alert    timeout=10s    alias=seams
        | Wait For Message Where    $.items[*].id    contains    42
        """
        return self.wait_for_message(None, timeout, path, assertion_operator,
                                     assertion_expected, alias=alias)

    @keyword(tags=["Wait"])
    def wait_for_messages(self, count: int, template: dict | list | str | None = None,
                          timeout: timedelta | None = None, path: str | None = None,
                          assertion_operator: AssertionOperator | None = None,
                          assertion_expected: Any = None, regex: str | None = None,
                          type: MessageKind | None = None, alias: str | None = None) -> list[Any]:
        """Waits until ``count`` matching messages have arrived; returns them, oldest first.

        The criteria are those of `Wait For Message`. The messages are consumed only when all
        ``count`` arrived within ``timeout``; otherwise the keyword fails saying how many did.

        Example:
        | ${updates}=    Wait For Messages    5    {"type": "update"}    timeout=10s
        | Length Should Be    ${updates}    5
        """
        if count < 1:
            raise ValueError("count must be at least 1.")
        connection = self.ctx.connection(alias)
        wanted = self._filter(template, path, assertion_operator, assertion_expected, regex, type)
        seconds = self.ctx.seconds(timeout)
        frames = connection.buffer.collect(wanted, count, seconds)
        if len(frames) < count:
            raise AssertionError(self._no_match(connection, wanted, seconds, len(frames), count))
        for frame in frames:
            self.ctx.log_frame("<<", frame.raw)
        connection.last_returned = frames
        return [frame.value for frame in frames]

    @keyword(tags=["Getter"])
    def get_last_message_arrival(self, alias: str | None = None) -> float:
        """Returns when the frame last returned by a wait arrived, in ``perf_counter`` s.

        The frame is the one `Wait For Message` or `Wait For Message Where` returned last
        on the connection, or the last of `Wait For Messages`; its arrival is the time the
        background reader received it (Python's ``time.perf_counter()``, the clock of the
        times of `Get Connection Info`), not the time the wait returned it. Fails if no
        wait has returned a frame on the connection yet.

        Example:
        | ${info}=    Get Connection Info
        | Send Json    {"type": "ping", "timestamp": 1}
        | Wait For Message    {"type": "pong"}
        | ${arrived}=    Get Last Message Arrival
        | ${since_handshake_s}=    Evaluate    ${arrived} - ${info}[handshake_done_at]
        """
        return self._last_returned(alias)[-1].arrived_ns / 1e9

    @keyword(tags=["Getter"])
    def get_last_arrival_times(self, alias: str | None = None) -> list[dict[str, float]]:
        """Returns when each frame the last wait returned arrived, oldest first.

        For `Wait For Messages` that is one entry per message; for `Wait For Message`,
        `Wait For Message Where` and `Send Request`, one. Each entry is a dictionary:
        ``arrived`` (``time.perf_counter()`` seconds, the clock of `Get Connection Info`),
        ``since_previous_ms`` (milliseconds after the entry before it; 0 for the first)
        and ``since_handshake_ms`` (milliseconds after the connection's handshake ended).
        Fails if no wait has returned a frame on the connection yet.

        Example:
        | ${updates}=    Wait For Messages    5    {"type": "update"}    timeout=10s
        | ${times}=    Get Last Arrival Times
        | Should Be True    ${times}[-1][since_previous_ms] <= 1000
        """
        connection = self.ctx.connection(alias)
        frames = self._last_returned(alias)
        handshake_ns = int((connection.handshake_done_at or 0) * 1e9)
        times, previous = [], frames[0].arrived_ns
        for frame in frames:
            times.append({"arrived": frame.arrived_ns / 1e9,
                          "since_previous_ms": (frame.arrived_ns - previous) / 1e6,
                          "since_handshake_ms": (frame.arrived_ns - handshake_ns) / 1e6})
            previous = frame.arrived_ns
        return times

    def _last_returned(self, alias: str | None) -> list[Frame]:
        connection = self.ctx.connection(alias)
        if not connection.last_returned:
            raise AssertionError(f"No wait has returned a message on {connection.describe()} "
                                 f"yet.")
        return connection.last_returned

    @keyword(tags=["Assertion"])
    def message_should_not_arrive(self, template: dict | list | str | None = None,
                                  within: timedelta = timedelta(seconds=1),
                                  path: str | None = None,
                                  assertion_operator: AssertionOperator | None = None,
                                  assertion_expected: Any = None, regex: str | None = None,
                                  type: MessageKind | None = None,
                                  ignore_buffered: bool = False, alias: str | None = None) -> None:
        """Fails if a matching message arrives within ``within``; consumes nothing.

        The criteria are those of `Wait For Message`. A matching message already in the
        buffer fails at once, unless ``ignore_buffered`` (then only frames arriving after
        the call count). When it passes it has waited the whole ``within`` (less if the
        connection closed).

        Example:
        | Send Json    {"type": "unsubscribe", "topic": "prices"}
        | Message Should Not Arrive    {"topic": "prices"}    within=2s    ignore_buffered=True
        """
        connection = self.ctx.connection(alias)
        wanted = self._filter(template, path, assertion_operator, assertion_expected, regex, type,
                              time.perf_counter_ns() if ignore_buffered else 0)
        started = time.perf_counter_ns()
        seconds = within.total_seconds()
        found = connection.buffer.collect(wanted, 1, seconds, consume=False)
        if found:
            frame = found[0]
            when = ("was already buffered" if frame.arrived_ns < started else
                    f"arrived after {(frame.arrived_ns - started) / 1e6:.1f} ms")
            raise AssertionError(f"A message matching {wanted.describe()} {when} on "
                                 f"{connection.describe()}: {frame.preview(self.ctx.log_limit)}")
        watched_ms = (time.perf_counter_ns() - started) / 1e6
        ended = (f"; the connection closed (code {connection.close_code}) after "
                 f"{watched_ms:.0f} ms" if connection.state == "closed" else "")
        logger.info(f"No message matching {wanted.describe()} arrived on "
                    f"{connection.describe()} in {seconds:g} s"
                    f"{' (frames buffered before the call ignored)' if ignore_buffered else ''}"
                    f"{ended}; {len(connection.buffer.snapshot())} other frame(s) buffered.")

    @keyword(tags=["Getter"])
    def get_buffered_messages(self, template: dict | list | str | None = None,
                              path: str | None = None,
                              assertion_operator: AssertionOperator | None = None,
                              assertion_expected: Any = None, regex: str | None = None,
                              type: MessageKind | None = None,
                              alias: str | None = None) -> list[Any]:
        """Returns the frames received and not yet consumed, oldest first; consumes nothing.

        JSON frames are decoded, other text frames are strings and binary frames bytes.
        With criteria (those of `Wait For Message`) only the matching frames are returned;
        without any, every frame is.

        Example:
        | ${messages}=    Get Buffered Messages
        | ${alerts}=    Get Buffered Messages    {"type": "alert"}
        """
        connection = self.ctx.connection(alias)
        given = any(v is not None for v in (template, path, assertion_operator,
                                            assertion_expected, regex, type))
        wanted = self._filter(template, path, assertion_operator, assertion_expected, regex,
                              type if given else MessageKind.ANY)
        return [frame.value for frame in connection.buffer.snapshot() if wanted(frame)]

    @keyword(tags=["Setter"])
    def set_traffic_log(self, level: TrafficLog) -> str:
        """Logs every frame received from now on, on every connection, whether a wait
        returns it or not: ``debug`` (shown with ``--loglevel DEBUG``), ``info`` (always)
        or ``none`` (off: only the frames waits return are logged). Each frame is written,
        with its connection and number, at the end of the keyword during which it arrived.
        Returns the previous level, to restore it.

        Example:
        | ${previous}=    Set Traffic Log    info
        | Send Json    {"type": "subscribe", "channel": "alerts"}
        | Wait For Message    {"type": "subscribed"}    # the alerts before it are logged too
        | Set Traffic Log    ${previous}
        """
        return self.ctx.set_traffic_log(level).value

    @keyword(tags=["Setter"])
    def clear_message_buffer(self, alias: str | None = None) -> int:
        """Discards the buffered frames and returns how many there were.

        Example:
        | Clear Message Buffer    pulse
        """
        return self.ctx.connection(alias).buffer.clear()

    @keyword(tags=["Getter"])
    def get_json_value(self, message: dict | list | str, path: str,
                       assertion_operator: AssertionOperator | None = None,
                       assertion_expected: Any = None) -> Any:
        """Returns the value at JSONPath ``path`` of ``message``, optionally asserting it.

        ``message`` is a dictionary/list (e.g. returned by `Wait For Message`) or a JSON
        string. With ``assertion_operator`` and ``assertion_expected`` the value is checked as in
        `Wait For Message Where` and the keyword fails when it does not hold.

        Example:
        | ${msg}=    Wait For Message    {"type": "welcome"}
        | ${session}=    Get Json Value    ${msg}    $.session_id
        | Get Json Value    ${msg}    $.version    >=    2
        """
        value = path_value(as_template(message), path)
        reason = check_value(value, assertion_operator, assertion_expected, path)
        if reason:
            raise AssertionError(reason)
        return value

    # -- shared with the other components ------------------------------------------------

    def take(self, wanted: FrameFilter, timeout: timedelta | None, alias: str | None,
             what: str | None = None) -> Frame:
        connection = self.ctx.connection(alias)
        seconds = self.ctx.seconds(timeout)
        frame = connection.buffer.take(wanted, seconds)
        if frame is None:
            raise AssertionError(self._no_match(connection, wanted, seconds, what=what))
        self.ctx.log_frame("<<", frame.raw)
        return frame

    def criteria(self, template: Any = None, path: str | None = None,
                 assertion_operator: AssertionOperator | None = None,
                 assertion_expected: Any = None) -> FrameFilter:
        """The filter of a template and/or a JSONPath assertion, for other components."""
        return self._filter(template, path, assertion_operator, assertion_expected, None, None)

    @staticmethod
    def _filter(template: Any, path: str | None, assertion_operator: AssertionOperator | None,
                assertion_expected: Any, regex: str | None, kind: MessageKind | None,
                after_ns: int = 0) -> FrameFilter:
        return FrameFilter(as_template(template) if template is not None else None,
                           path, assertion_operator, assertion_expected, regex, kind, after_ns)

    def _no_match(self, connection: Connection, wanted: FrameFilter, seconds: float,
                  found: int = 0, count: int = 1, what: str | None = None) -> str:
        what = what or f"message matching {wanted.describe()}"
        # A closed connection ends a wait at once: "within N s" would not be true.
        until = (f"before the connection closed (code {connection.close_code})"
                 if connection.state == "closed" else f"within {seconds:g} s")
        if count == 1:
            head = f"No {what} {until}"
        else:
            head = f"Only {found} of {count} messages matching {wanted.describe()} arrived {until}"
        buffer = connection.buffer
        buffered = buffer.snapshot()
        lines = [f"{head} on {connection.describe()}.",
                 f"Buffered: {len(buffered)} frame(s); received in all: {buffer.received}"
                 + (f"; dropped (buffer full): {buffer.dropped}" if buffer.dropped else "")
                 + (":" if buffered else ".")]
        for frame in buffered[-SHOWN_FRAMES:]:
            reason = wanted.explain(frame) or (
                "matches, but arrived before the request was sent"
                if frame.arrived_ns < wanted.after_ns else "matches (counted)")
            lines.append(f"  {frame.preview(200)}  <- {reason}")
        lines.append(recent_traffic(connection))
        return "\n".join(lines)
