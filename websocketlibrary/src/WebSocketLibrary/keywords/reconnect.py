"""Automatic reconnection: enabling it, registering what to restore, and timing recovery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from robot.api import logger
from robotlibcore import keyword

from ..context import compact_json
from ..reconnect import ReconnectPolicy, ResumeTemplate
from .base import Component


class ReconnectKeywords(Component):
    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self._waited: dict[int, int] = {}  # id(connection) -> reconnections already returned

    @keyword(tags=["Setter"])
    def enable_auto_reconnect(self, initial_delay: timedelta = timedelta(milliseconds=100),
                              max_delay: timedelta = timedelta(seconds=5),
                              multiplier: float = 2.0, jitter: float = 0.2,
                              max_attempts: int = 0,
                              resubscribe: list | dict | str | None = None,
                              resume: dict | str | None = None, alias: str | None = None) -> None:
        """Reconnects automatically whenever the connection is lost (not when closed by us).

        Attempt n waits ``initial_delay * multiplier ** (n - 1)``, at most ``max_delay``,
        randomly spread by ± ``jitter`` (a fraction, 0.2 = ±20 %). ``max_attempts`` 0 retries
        forever; after the last failed attempt the connection is closed. The new connection
        reuses the URL, headers, token and other options of `Connect`, and the same buffer.

        Once reconnected, the subscriptions are restored before anything else is sent:
        - with ``resume``, a JSON message with ``{{$.path}}`` placeholders, each filled from
          the latest received message that has that JSONPath (e.g. the session id of the
          server's welcome). A placeholder that is a whole JSON string becomes the JSON value
          itself. Frames received before this keyword count too: the first five of the
          connection (where welcomes are) and the last twenty. When a value was never
          received, the subscriptions are re-sent instead.
        - otherwise ``resubscribe`` (a message or a list of messages; JSON objects are sent
          as compact JSON) plus those recorded with `Register Subscription`.

        `Wait For Reconnection` returns how long each recovery took.

        Example:
        | Enable Auto Reconnect    resubscribe={"type": "subscribe", "topic": "prices"}
        | Enable Auto Reconnect    max_delay=2s    jitter=0.1
        | ...    resume={"type": "resume", "session_id": "{{$.session_id}}"}
        """
        connection = self.ctx.connection(alias)
        messages = [] if connection.policy is None else list(connection.policy.resubscribe)
        messages += self._messages(resubscribe)
        policy = ReconnectPolicy(initial_delay.total_seconds(), max_delay.total_seconds(),
                                 multiplier, jitter, max_attempts, messages,
                                 None if resume is None else ResumeTemplate(
                                     resume if isinstance(resume, str) else compact_json(resume)))
        connection.set_policy(policy)
        logger.info(f"Auto reconnect on {connection.describe()}: {len(messages)} subscription(s)"
                    + (f", resume {policy.resume.template}" if policy.resume else ""))

    @keyword(tags=["Setter"])
    def disable_auto_reconnect(self, alias: str | None = None) -> None:
        """Stops reconnecting automatically; a loss of the connection then closes it.

        Example:
        | Disable Auto Reconnect    pulse
        """
        self.ctx.connection(alias).set_policy(None)

    @keyword(tags=["Setter"])
    def register_subscription(self, message: dict | list | str, send: bool = True,
                              alias: str | None = None) -> None:
        """Records ``message`` to be re-sent after every automatic reconnection.

        With ``send`` (default) it is also sent now. Needs `Enable Auto Reconnect` first.

        Example:
        | Enable Auto Reconnect
        | Register Subscription    {"type": "subscribe", "topic": "alerts"}
        """
        connection = self.ctx.connection(alias)
        if connection.policy is None:
            raise RuntimeError("Use 'Enable Auto Reconnect' before 'Register Subscription'.")
        [text] = self._messages(message if not isinstance(message, list) else [message])
        if send:
            connection.send(text)
            self.ctx.log_frame(">>", text)
        connection.policy.resubscribe.append(text)

    @keyword(tags=["Wait"])
    def wait_for_reconnection(self, timeout: timedelta | None = None,
                              alias: str | None = None) -> float:
        """Waits for the next automatic reconnection and returns its recovery time in ms.

        Recovery runs from the moment the connection was lost to the moment its subscriptions
        (or resume message) were sent on the new connection. Each reconnection is returned
        once, so one that completed before this keyword was called is returned at once.
        Fails after ``timeout`` with the state and the last error.

        Example:
        | Abort Connection
        | ${recovery_ms}=    Wait For Reconnection    timeout=10s
        | Should Be True    ${recovery_ms} < 3000
        """
        connection = self.ctx.connection(alias)
        seconds = self.ctx.seconds(timeout)
        done = self._waited.get(id(connection), 0)
        if not connection.buffer.wait_until(lambda: len(connection.reconnections) > done,
                                            seconds):
            error = f" Last error: {connection.reconnect_error}." if (
                connection.reconnect_error) else ""
            raise AssertionError(f"{connection.describe()} did not reconnect within {seconds:g} s "
                                 f"(state {connection.state}).{error}")
        self._waited[id(connection)] = done + 1
        reconnection = connection.reconnections[done]
        logger.info(f"Reconnected to {connection.describe()}: {reconnection.as_dict()}")
        return reconnection.recovery_ms

    @keyword(tags=["Getter"])
    def get_reconnections(self, alias: str | None = None) -> list[dict[str, Any]]:
        """Returns every automatic reconnection of the connection so far, oldest first.

        Each is a dictionary: ``recovery_ms``, ``attempts``, ``close_code`` (of the lost
        connection) and ``resumed`` (True when the resume message was sent).

        Example:
        | ${all}=    Get Reconnections
        | Length Should Be    ${all}    1
        """
        return [r.as_dict() for r in self.ctx.connection(alias).reconnections]

    @staticmethod
    def _messages(value: list | dict | str | None) -> list[str]:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        return [item if isinstance(item, str) else compact_json(item) for item in items]
