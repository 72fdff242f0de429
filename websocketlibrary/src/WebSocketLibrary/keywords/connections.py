"""Opening, choosing, inspecting and closing connections."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeAlias

from robot.api import logger
from robot.api.types import Secret
from robotlibcore import keyword
from websockets.exceptions import InvalidHandshake, InvalidStatus

from ..connection import Connection, TlsHandshakeError
from ..sizes import parse_size
from ..tlsoptions import (
    TlsOptions,
    bearer_headers,
    redact_url,
    secret_value,
    sentence,
    unverified_warning,
    warn_unverified,
)
from .base import Component

# A header sent more than once needs name-value pairs; a list of tokens, one Authorization each.
Headers: TypeAlias = dict[str, str] | list[tuple[str, str]]
Tokens: TypeAlias = Secret | str | list[Secret | str]


def header_pairs(token: Tokens | None, headers: Headers | None) -> list[tuple[str, str]]:
    """The extra request headers, in order: ``headers`` then one ``Authorization`` per token.

    A token together with an ``Authorization`` header of ``headers`` is refused, as in
    ``bearer_headers``: which of the two should be sent is not for the library to guess.
    """
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    tokens = token if isinstance(token, list) else [] if token is None else [token]
    if not tokens:
        return pairs
    if any(name.lower() == "authorization" for name, _ in pairs):
        bearer_headers(tokens[0], dict(pairs))  # raises the shared message
    return pairs + [("Authorization", bearer_headers(each)["Authorization"])
                    for each in tokens]


class ConnectionKeywords(Component):
    @keyword(tags=["Action"])
    def connect(self, url: Secret | str, alias: str | None = None,
                timeout: timedelta | None = None, headers: Headers | None = None,
                subprotocols: list[str] | None = None, origin: str | None = None,
                token: Tokens | None = None,
                max_message_size: int | str | None = "16 MiB",
                ca_bundle: str | None = None, client_cert: str | None = None,
                client_key: str | None = None, verify: bool = True) -> float:
        """Opens a WebSocket connection to ``url`` and returns the connect latency in ms.

        The latency is measured with a monotonic clock from the start of the TCP connect to
        the end of the opening handshake. The new connection becomes the current one; give
        ``alias`` to switch between several. Frames are read in the background from now on,
        so nothing that arrives between keywords is lost.

        - ``timeout`` limits the opening handshake (default: the library's timeout).
        - ``headers`` are extra HTTP headers, ``origin`` sets the Origin header. Give
          ``headers`` as a list of name-value pairs to send a header more than once (a
          malformed request, for testing that a server refuses it).
        - ``subprotocols`` are offered in ``Sec-WebSocket-Protocol``; see `Get Connection Info`
          for the one the server chose.
        - ``token`` is sent as ``Authorization: Bearer <token>``. Give it as a ``Secret``
          (for example ``%{TOKEN}`` in a secret variable) to keep it out of the log. A
          token and an ``Authorization`` header of ``headers`` together are refused. A
          list of tokens sends each in an ``Authorization`` header of its own (malformed, as
          above).
        - ``max_message_size`` is the largest frame accepted from the server (``16 MiB`` by
          default, ``None`` for no limit); a larger frame closes the connection with 1009.
        - ``url`` may be a ``Secret`` too (a URL carrying ``?token=``): it is used as it is,
          while the log, failure messages and `Get Connection Info` show it with every
          query value as ``***``. In a plain string URL the values of ``token``,
          ``access_token``, ``auth``, ``password``, ``key`` and ``api_key`` are hidden so.

        TLS (``wss://``), see `Connections`:
        - ``ca_bundle``: a PEM file of the CAs to trust (default: the system's CAs).
        - ``client_cert`` and ``client_key``: a client certificate and its key (PEM), for
          servers that require one (mutual TLS).
        - ``verify=False`` trusts any server certificate (a WARN says so in the log): only
          for a self-signed test setup.
        A certificate that does not verify, a refused client certificate or a server that
        does not speak TLS fail at once, saying what was expected and what happened.
        Reconnections (`Enable Auto Reconnect`) use the same URL, token and TLS options.

        Connections opened in a test are closed when it ends, those opened in a suite
        setup when the suite ends (see the library's ``close_at_end`` argument).

        Example:
        | ${latency_ms}=    Connect    ws://localhost:3001    alias=pulse
        | Should Be True    ${latency_ms} < 500
        | Connect    wss://api.example.com/ws    token=${TOKEN}    subprotocols=${{["v2"]}}
        | Connect    wss://127.0.0.1:3001    ca_bundle=${CA_BUNDLE}
        | ...    client_cert=${CLIENT_CERT}    client_key=${CLIENT_KEY}
        """
        target, shown = self._target(url)
        tls = TlsOptions(ca_bundle, client_cert, client_key, verify)
        options = self._options(headers, subprotocols, origin, token, max_message_size,
                                target, shown, tls)
        seconds = self.ctx.seconds(timeout)
        connection = Connection(self.ctx.runtime, target, self.ctx.buffer_limit, alias,
                                log_url=shown, tls=tls)
        named = connection.describe()
        try:
            latency = connection.open(seconds, **options)
        except InvalidStatus as error:
            response = error.response
            body = response.body.decode("utf-8", "replace").strip()[:200] if response.body else ""
            raise AssertionError(
                f"{named} refused the WebSocket handshake: expected HTTP 101 Switching "
                f"Protocols, got HTTP {response.status_code} {response.reason_phrase}"
                + (f" ({body})." if body else ".")) from None
        except TlsHandshakeError as error:
            raise AssertionError(sentence(str(error))) from None
        except TimeoutError:
            raise AssertionError(f"Connecting to {named} timed out after {seconds:g} s: no "
                                 f"completed WebSocket handshake in that time.") from None
        except OSError as error:
            raise AssertionError(f"Cannot connect to {named}: {error}") from None
        except InvalidHandshake as error:
            raise AssertionError(f"Cannot connect to {named}: the opening handshake failed: "
                                 f"{error}.") from None
        self.ctx.register(connection, alias)
        chosen = f", subprotocol {connection.subprotocol}" if connection.subprotocol else ""
        logger.info(f"Connected to {shown} in {latency:.2f} ms"
                    + (f" (alias {alias}{chosen})" if alias else chosen))
        return latency

    @keyword(tags=["Assertion"])
    def connect_should_be_refused(self, url: Secret | str, status: int | None = None,
                                  response_headers: dict[str, str] | None = None,
                                  timeout: timedelta | None = None,
                                  headers: Headers | None = None,
                                  subprotocols: list[str] | None = None,
                                  origin: str | None = None,
                                  token: Tokens | None = None,
                                  ca_bundle: str | None = None,
                                  client_cert: str | None = None,
                                  client_key: str | None = None,
                                  verify: bool = True) -> dict[str, Any]:
        """Fails unless the server refuses the opening handshake; returns its HTTP response.

        ``status`` is the expected HTTP status (any refusal when not given).
        ``response_headers`` are headers the response must carry, name to value; the value
        ``*`` only requires the header to be present. The other arguments are those of
        `Connect`. The result is a dictionary with ``status``, ``reason``, ``headers``
        (names in lower case) and ``body``.

        A handshake that succeeds fails this keyword (and its connection is closed);
        so does a server that cannot be reached at all, or whose TLS fails (a refusal is
        an HTTP answer, so the TLS options must let the connection get that far).

        Example:
        | ${response}=    Connect Should Be Refused    ${URL}/busy    status=503
        | ...    response_headers={"Retry-After": "*"}
        | Should Be Equal    ${response}[headers][retry-after]    5
        | Connect Should Be Refused    ${URL}    status=401    token=wrong
        | Connect Should Be Refused    wss://127.0.0.1:3001    status=401
        | ...    ca_bundle=${CA_BUNDLE}
        | VAR    @{twice}    ${TOKEN}    ${TOKEN}
        | Connect Should Be Refused    ${URL}    status=400    token=${twice}
        """
        target, shown = self._target(url)
        tls = TlsOptions(ca_bundle, client_cert, client_key, verify)
        options = self._options(headers, subprotocols, origin, token, None, target, shown,
                                tls)
        seconds = self.ctx.seconds(timeout)
        connection = Connection(self.ctx.runtime, target, 1, None, log_url=shown, tls=tls)
        try:
            latency = connection.open(seconds, **options)
        except InvalidStatus as error:
            return self._check_refusal(shown, error, status, response_headers)
        except TlsHandshakeError as error:
            raise AssertionError(sentence(str(error)) + " Expected an HTTP refusal of the "
                                 "WebSocket handshake.") from None
        except TimeoutError:
            raise AssertionError(f"Connecting to {shown} timed out after {seconds:g} s "
                                 f"instead of being refused.") from None
        except OSError as error:
            raise AssertionError(f"Cannot reach {shown}: {error}") from None
        except InvalidHandshake as error:
            raise AssertionError(f"Cannot reach {shown}: the opening handshake failed: "
                                 f"{error}.") from None
        connection.close()
        raise AssertionError(f"{shown} accepted the WebSocket handshake in {latency:.1f} ms; "
                             f"expected a refusal" + (f" with HTTP {status}." if status else "."))

    @staticmethod
    def _check_refusal(url: str, error: InvalidStatus, status: int | None,
                       expected_headers: dict[str, str] | None) -> dict[str, Any]:
        response = error.response
        got: dict[str, str] = {}
        for name, value in response.headers.raw_items():
            key = name.lower()
            got[key] = f"{got[key]}, {value}" if key in got else value
        result = {"status": response.status_code, "reason": response.reason_phrase,
                  "headers": got,
                  "body": (response.body or b"").decode("utf-8", errors="replace")}
        logger.info(f"{url} refused the handshake: HTTP {response.status_code} "
                    f"{response.reason_phrase}, headers {got}")
        if status is not None and response.status_code != status:
            raise AssertionError(f"{url} refused the handshake with HTTP "
                                 f"{response.status_code}, expected {status}.")
        for name, value in (expected_headers or {}).items():
            actual = got.get(name.lower())
            if actual is None:
                raise AssertionError(f"The refusal of {url} has no {name} header; "
                                     f"it has: {', '.join(got) or 'none'}.")
            if value != "*" and actual != str(value):
                raise AssertionError(f"The refusal of {url} has {name}: {actual}, "
                                     f"expected {value}.")
        return result

    @staticmethod
    def _target(url: Secret | str) -> tuple[str, str]:
        """The URL to connect to and the one to show: a Secret URL shows no query value."""
        target = secret_value(url)
        if target is None:
            raise ValueError("A URL is required.")
        return target, redact_url(target, every_parameter=not isinstance(url, str))

    @staticmethod
    def _options(headers: Headers | None, subprotocols: list[str] | None,
                 origin: str | None, token: Tokens | None,
                 max_message_size: int | str | None, url: str, shown: str,
                 tls: TlsOptions) -> dict[str, Any]:
        extra = header_pairs(token, headers)
        options: dict[str, Any] = {
            "max_size": None if max_message_size is None else parse_size(max_message_size)}
        context = tls.context(url)
        if context is not None:
            options["ssl"] = context
            if not tls.verify:
                warn_unverified(unverified_warning(shown))
        if extra:
            options["additional_headers"] = extra
        if subprotocols:
            options["subprotocols"] = subprotocols
        if origin:
            options["origin"] = origin
        return options

    @keyword(tags=["Getter"])
    def get_connect_latency(self, alias: str | None = None) -> float:
        """Returns the connect latency in ms measured when the connection was opened.

        Example:
        | ${ms}=    Get Connect Latency    pulse
        """
        latency = self.ctx.connection(alias).connect_latency_ms
        assert latency is not None
        return latency

    @keyword(tags=["Getter"])
    def get_connection_info(self, alias: str | None = None) -> dict[str, Any]:
        """Returns facts about a connection as a dictionary.

        Keys: ``url`` (secrets in it as ``***``), ``alias``, ``state`` (``open``,
        ``reconnecting`` or ``closed``), ``subprotocol``, ``connect_latency_ms``,
        ``close_code``, ``close_reason``, ``received`` (frames in all), ``buffered``,
        ``dropped`` (lost to a full buffer) and ``reconnections``.

        Times, in seconds of Python's ``time.perf_counter()`` (a monotonic clock: compare
        them with each other, e.g. with `Get Last Message Arrival`): ``opened_at`` (the
        start of `Connect`'s TCP connect), ``handshake_done_at`` (the end of its opening
        handshake) and ``closed_at`` (when the background reader saw the connection end;
        None while it is open).

        Example:
        | ${info}=    Get Connection Info    pulse
        | Should Be Equal    ${info}[subprotocol]    chat.v1
        | ${closed_after}=    Evaluate    ${info}[closed_at] - ${info}[handshake_done_at]
        """
        connection = self.ctx.connection(alias)
        return {"url": connection.url, "alias": connection.alias, "state": connection.state,
                "subprotocol": connection.subprotocol,
                "connect_latency_ms": connection.connect_latency_ms,
                "opened_at": connection.opened_at,
                "handshake_done_at": connection.handshake_done_at,
                "closed_at": connection.closed_at,
                "close_code": connection.close_code, "close_reason": connection.close_reason,
                "received": connection.buffer.received,
                "buffered": len(connection.buffer.snapshot()),
                "dropped": connection.buffer.dropped,
                "reconnections": len(connection.reconnections)}

    @keyword(tags=["Setter"])
    def switch_connection(self, alias: str) -> None:
        """Makes the connection named ``alias`` the current one.

        Example:
        | Switch Connection    seams
        """
        self.ctx.connection(alias)
        self.ctx.cache.switch(alias)
