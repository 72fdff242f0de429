"""SystemProbe: is the system under test there at all? Fails fast, says why."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from robot.api import logger
from robot.api.deco import keyword, library
from robot.api.types import Secret

from WebSocketLibrary.tlsoptions import (
    TlsOptions,
    bearer_headers,
    client_context,
    closed_after_handshake,
    describe_tls_error,
    find_tls_error,
    http_opener,
    redact_url,
)

__version__ = "0.1.0"
SUITE_TLS_SETTINGS = ("the suite's settings for it are CA_BUNDLE (a PEM file of the CAs to "
                      "trust), CLIENT_CERT and CLIENT_KEY (a client certificate and its key) "
                      "and TLS_VERIFY (False trusts any certificate: a self-signed test "
                      "setup only)")


class TlsProblem(Exception):
    """A TLS failure: a setting to fix, which waiting does not cure."""


def health_url(ws_url: str) -> str:
    """``ws://host:3001/anything`` → ``http://host:3001/healthz`` (wss → https)."""
    parts = urlsplit(ws_url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"Not a WebSocket URL: {ws_url!r} (expected ws:// or wss://).")
    scheme = "https" if parts.scheme == "wss" else "http"
    return urlunsplit((scheme, parts.netloc, "/healthz", "", ""))


@library(scope="GLOBAL", version=__version__)
class SystemProbe:
    """Checks that the dashboards answer their ``/healthz`` before any test runs."""

    @keyword(tags=["Assertion"])
    def dashboards_should_be_reachable(self, urls: dict[str, str],
                                       timeout: timedelta = timedelta(seconds=10),
                                       token: Secret | str | None = None,
                                       ca_bundle: str | None = None,
                                       client_cert: str | None = None,
                                       client_key: str | None = None,
                                       verify: bool = True) -> None:
        """Fails unless every dashboard's ``/healthz`` answers 200 within ``timeout``.

        ``urls`` maps a dashboard name to its WebSocket URL (``wss://`` is probed over
        ``https://``). The failure names each dashboard that did not answer and what
        happened instead.

        ``token`` is sent as ``Authorization: Bearer <token>`` (never logged).
        ``ca_bundle`` is a PEM file of the CAs to trust (default: the system's),
        ``client_cert`` and ``client_key`` a client certificate for servers that require
        one, and ``verify=False`` trusts any certificate (a WARN says so). A certificate
        that does not verify, a TLS handshake that fails, or a server that ends the
        connection right after the TLS handshake without answering (as one that requires
        a client certificate does) fails at once (waiting does not cure it), naming the
        URL, what failed and the suite's settings for it.

        Example:
        | Dashboards Should Be Reachable    ${SYSTEM}[urls]    timeout=10s
        | Dashboards Should Be Reachable    ${SYSTEM}[urls]    token=${TOKEN}
        | ...    ca_bundle=${CA_BUNDLE}    client_cert=${CLIENT_CERT}
        | ...    client_key=${CLIENT_KEY}    verify=${TLS_VERIFY}
        """
        deadline = time.monotonic() + timeout.total_seconds()
        problems: dict[str, str] = {}
        pending = dict(urls)
        tls = TlsOptions(ca_bundle, client_cert, client_key, verify)
        headers = bearer_headers(token, {"Accept": "application/json"})
        openers = {name: http_opener(client_context(health_url(ws_url), ca_bundle,
                                                    client_cert, client_key, verify),
                                     environment_proxies=True)
                   for name, ws_url in urls.items()}
        while pending:
            for name, ws_url in list(pending.items()):
                try:
                    problem = self._probe(health_url(ws_url), openers[name], headers, tls)
                except TlsProblem as error:
                    raise AssertionError(
                        f"The system under test is not reachable: {name} "
                        f"({redact_url(ws_url)}): {error}; {SUITE_TLS_SETTINGS}.") from None
                if problem is None:
                    del pending[name]
                    problems.pop(name, None)
                else:
                    problems[name] = problem
            if pending and time.monotonic() > deadline:
                detail = "\n".join(f"  {n} ({redact_url(urls[n])}): {problems[n]}"
                                   for n in pending)
                raise AssertionError(f"The system under test is not reachable after "
                                     f"{timeout.total_seconds():g} s:\n{detail}")
            if pending:
                time.sleep(0.2)
        logger.info(f"All dashboards answer /healthz: {', '.join(urls)}")

    @staticmethod
    def _probe(url: str, opener: urllib.request.OpenerDirector, headers: dict[str, str],
               tls: TlsOptions) -> str | None:
        """None when ``url`` answers 200, else what happened; TlsProblem for TLS."""
        request = urllib.request.Request(url, headers=headers)
        try:
            with opener.open(request, timeout=2) as answer:
                return None if answer.status == 200 else f"HTTP {answer.status}"
        except urllib.error.HTTPError as error:
            body = error.read().decode(errors="replace")[:200]
            try:
                database = json.loads(body).get("database")
            except (ValueError, AttributeError):
                database = None
            hint = " (its database is down)" if database == "down" else ""
            return f"{url} answered HTTP {error.code}{hint}: {body}"
        except (urllib.error.URLError, OSError) as error:
            if find_tls_error(error) is not None or closed_after_handshake(url, error):
                raise TlsProblem(describe_tls_error(
                    url, error, tls, after_handshake=closed_after_handshake(url, error))) \
                    from None
            reason = getattr(error, "reason", error)
            return f"{url}: {reason}"
