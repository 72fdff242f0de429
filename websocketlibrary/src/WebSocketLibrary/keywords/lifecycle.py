"""Asserting a connection's state, closing it normally, and breaking it on purpose."""

from __future__ import annotations

from datetime import timedelta

from robot.api import logger
from robotlibcore import keyword

from ..connection import Connection
from .base import Component


class LifecycleKeywords(Component):
    @keyword(tags=["Assertion"])
    def connection_should_be_open(self, alias: str | None = None) -> None:
        """Fails unless the connection is open.

        A connection that is reconnecting (see `Enable Auto Reconnect`) is not open.

        Example:
        | Connection Should Be Open    pulse
        """
        connection = self.ctx.connection(alias)
        if not connection.is_open:
            state = "is closed" if connection.state == "closed" else f"is {connection.state}"
            raise AssertionError(f"Connection to {connection.describe()} {state} "
                                 f"(close code {connection.close_code}).")

    @keyword(tags=["Assertion"])
    def connection_should_be_closed(self, code: int | None = None, reason: str | None = None,
                                    timeout: timedelta = timedelta(0),
                                    alias: str | None = None) -> int | None:
        """Fails unless the connection is closed, with close ``code`` and ``reason`` if given.

        Waits up to ``timeout`` for the close (for example one the server starts), so it
        can follow a message that makes the server close. Returns the close code: 1006
        means the connection was lost without a closing handshake.

        Example:
        | Send Json    {"cmd": "close", "code": 4001}
        | Connection Should Be Closed    4001    timeout=2s
        """
        connection = self.ctx.connection(alias)
        seconds = timeout.total_seconds()
        if not connection.wait_closed(seconds):
            raise AssertionError(f"Connection to {connection.describe()} is still "
                                 f"{connection.state} after {seconds:g} s.")
        if code is not None and connection.close_code != code:
            raise AssertionError(f"Connection to {connection.describe()} closed with code "
                                 f"{connection.close_code} ({connection.close_reason!r}), "
                                 f"expected {code}.")
        if reason is not None and connection.close_reason != reason:
            raise AssertionError(f"Connection to {connection.describe()} closed with reason "
                                 f"{connection.close_reason!r}, expected {reason!r}.")
        return connection.close_code

    @keyword(tags=["Action"])
    def close_connection(self, code: int = 1000, reason: str = "",
                         alias: str | None = None) -> None:
        """Closes the connection with a close ``code`` (default 1000) and ``reason``.

        This is a normal closing handshake; automatic reconnection does not start.

        Example:
        | Close Connection    alias=pulse
        | Close Connection    code=4000    reason=done
        """
        self.ctx.connection(alias).close(code, reason)

    @keyword(tags=["Action"])
    def abort_connection(self, alias: str | None = None) -> None:
        """Drops the TCP connection at once, without a closing handshake.

        This is an artificial network break: the server sees the connection vanish, the
        close code becomes 1006, and automatic reconnection (when enabled) starts.

        Example:
        | Enable Auto Reconnect    resubscribe=${subscription}
        | Abort Connection
        | ${ms}=    Wait For Reconnection    timeout=10s
        """
        self.ctx.connection(alias).abort()

    @keyword(tags=["Getter"])
    def ping(self, timeout: timedelta | None = None, alias: str | None = None) -> float:
        """Sends a WebSocket protocol ping and returns the ms until its pong arrived.

        This is the control-frame ping, answered by the WebSocket stack of the server, not a
        JSON message; see `Measure Round Trip` for application-level pings.

        Example:
        | ${ms}=    Ping    alias=pulse
        """
        connection = self.ctx.connection(alias)
        seconds = self.ctx.seconds(timeout)
        try:
            return connection.ping(seconds)
        except TimeoutError:
            raise AssertionError(
                f"No pong from {connection.describe()} within {seconds:g} s.") from None

    @keyword(tags=["Action"])
    def close_all_connections(self) -> None:
        """Closes every connection this library opened. Use it in a teardown.

        Example:
        | Suite Teardown    Close All Connections
        """
        for connection in self.ctx.connections():
            close_quietly(connection)
        self.ctx.forget_all()


def close_quietly(connection: Connection) -> None:
    if connection.state == "closed":
        return
    try:
        connection.close()
    except Exception as error:  # teardown must go on with the others
        logger.warn(f"Closing {connection.describe()} failed: {error}")
