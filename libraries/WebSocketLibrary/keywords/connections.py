"""Opening, choosing and closing connections."""

from __future__ import annotations

from datetime import timedelta

from robot.api import logger
from robotlibcore import keyword

from ..connection import Connection
from ..context import LibraryContext


class ConnectionKeywords:
    def __init__(self, ctx: LibraryContext) -> None:
        self.ctx = ctx

    @keyword
    def connect(self, url: str, alias: str | None = None, timeout: timedelta | None = None,
                headers: dict[str, str] | None = None, subprotocols: list[str] | None = None,
                origin: str | None = None) -> float:
        """Opens a WebSocket connection to ``url`` and returns the connect latency in ms.

        The latency is measured with a monotonic clock from the start of the TCP connect to
        the end of the opening handshake. The new connection becomes the current one; give
        ``alias`` to switch between several. Frames are read in the background from now on,
        so nothing that arrives between keywords is lost.

        ``timeout`` limits the handshake (default: the library's timeout). ``headers`` are
        extra HTTP headers, ``origin`` sets the Origin header.

        Example:
        | ${latency_ms}=    Connect    ws://localhost:3001    alias=pulse
        | Should Be True    ${latency_ms} < 500
        """
        seconds = self.ctx.seconds(timeout)
        connection = Connection(self.ctx.runtime, url, self.ctx.buffer_limit)
        options: dict[str, object] = {}
        if headers:
            options["additional_headers"] = headers
        if subprotocols:
            options["subprotocols"] = subprotocols
        if origin:
            options["origin"] = origin
        try:
            latency = connection.open(seconds, **options)
        except TimeoutError:
            raise AssertionError(f"Connecting to {url} timed out after {seconds:g} s.") from None
        except OSError as error:
            raise AssertionError(f"Cannot connect to {url}: {error}") from None
        self.ctx.cache.register(connection, alias)
        logger.info(f"Connected to {url} in {latency:.2f} ms"
                    + (f" (alias {alias})" if alias else ""))
        return latency

    @keyword
    def get_connect_latency(self, alias: str | None = None) -> float:
        """Returns the connect latency in ms measured when the connection was opened.

        Example:
        | ${ms}=    Get Connect Latency    pulse
        """
        latency = self.ctx.connection(alias).connect_latency_ms
        assert latency is not None
        return latency

    @keyword
    def switch_connection(self, alias: str) -> None:
        """Makes the connection named ``alias`` the current one.

        Example:
        | Switch Connection    seams
        """
        self.ctx.connection(alias)
        self.ctx.cache.switch(alias)

    @keyword
    def connection_should_be_open(self, alias: str | None = None) -> None:
        """Fails unless the connection is open.

        Example:
        | Connection Should Be Open    pulse
        """
        connection = self.ctx.connection(alias)
        if not connection.is_open:
            raise AssertionError(f"Connection to {connection.url} is closed "
                                 f"(close code {connection.close_code}).")

    @keyword
    def close_connection(self, alias: str | None = None, code: int = 1000,
                         reason: str = "") -> None:
        """Closes the connection with a close ``code`` (default 1000) and ``reason``.

        Example:
        | Close Connection    pulse
        """
        connection = self.ctx.connection(alias)
        connection.close(code, reason)

    @keyword
    def close_all_connections(self) -> None:
        """Closes every connection this library opened. Use it in a teardown.

        Example:
        | Suite Teardown    Close All Connections
        """
        for connection in list(self.ctx.cache):
            if isinstance(connection, Connection) and connection.is_open:
                try:
                    connection.close()
                except Exception as error:  # teardown must go on with the others
                    logger.warn(f"Closing {connection.url} failed: {error}")
        self.ctx.cache.empty_cache()
