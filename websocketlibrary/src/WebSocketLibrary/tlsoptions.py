"""TLS and credential options of the client libraries, in one place.

Every library that opens a connection (WebSocketLibrary, and in the dashboards project
LoadGenerator, PrometheusLibrary, SystemProbe and DeploymentControl) takes the same keyword
arguments, with the same meaning:

- ``ca_bundle``: a PEM file of the CAs to trust (default: the system's CAs),
- ``client_cert`` and ``client_key``: a client certificate (PEM) and its key, for servers
  that require mutual TLS,
- ``verify``: ``False`` turns certificate and hostname verification off (a loud warning is
  logged naming the URL),
- ``token``: sent as ``Authorization: Bearer <token>``, never logged.

This module builds the client ``ssl.SSLContext`` from them, turns ``ssl`` errors into
sentences that say what was expected and what happened, and makes URLs safe to log. Outside
of a Robot Framework run (a load generator's command line or worker process) its warnings go
to stderr.
"""

from __future__ import annotations

import http.client
import os
import ssl
import sys
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

if TYPE_CHECKING:
    from robot.api.types import Secret

__all__ = [
    "MASK",
    "SECRET_QUERY_NAMES",
    "TlsConfigError",
    "TlsOptions",
    "bearer_headers",
    "client_context",
    "closed_after_handshake",
    "describe_tls_error",
    "find_tls_error",
    "http_opener",
    "is_secure",
    "redact_url",
    "secret_value",
    "sentence",
    "unverified_warning",
    "warn_unverified",
]

MASK = "***"
# Query parameters whose values never reach a log line.
SECRET_QUERY_NAMES = frozenset({"token", "access_token", "auth", "password", "key", "api_key"})
SECURE_SCHEMES = frozenset({"wss", "https"})
SYSTEM_CAS = "the system CAs"

# OpenSSL reasons (ssl.SSLError.reason) that mean "the peer does not speak TLS".
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST",
                      "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL", "RECORD_TOO_LARGE"})
# Alerts a server sends when it wants a client certificate and got none (TLS 1.3, 1.2).
_CERT_REQUIRED = frozenset({"TLSV13_ALERT_CERTIFICATE_REQUIRED", "SSLV3_ALERT_HANDSHAKE_FAILURE"})
# Alerts a server sends about a client certificate it got and did not accept.
_CERT_REFUSED = frozenset({"TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_BAD_CERTIFICATE",
                           "SSLV3_ALERT_CERTIFICATE_UNKNOWN", "TLSV1_ALERT_ACCESS_DENIED",
                           "SSLV3_ALERT_CERTIFICATE_EXPIRED", "TLSV1_ALERT_DECRYPT_ERROR",
                           "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE"})


class TlsConfigError(ValueError):
    """A TLS option is wrong (a file that does not exist, a key without a certificate);
    the message names the argument and the path."""


@dataclass(frozen=True)
class TlsOptions:
    """The four TLS options. Picklable: load worker processes get it in their config and
    build their own context with `context`."""

    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    verify: bool = True

    def check(self) -> None:
        """Raises TlsConfigError unless every given file exists and is readable, and a
        ``client_key`` comes with a ``client_cert``."""
        for name in ("ca_bundle", "client_cert", "client_key"):
            path = getattr(self, name)
            if path is None:
                continue
            if not str(path).strip():
                raise TlsConfigError(f"{name} is empty: give the path of a PEM file, or "
                                     f"leave it out")
            if not os.path.isfile(path):
                raise TlsConfigError(f"{name}: no such file: {path}")
            if not os.access(path, os.R_OK):
                raise TlsConfigError(f"{name}: cannot read {path} (permission denied)")
        if self.client_key is not None and self.client_cert is None:
            raise TlsConfigError(f"client_key ({self.client_key}) was given without "
                                 f"client_cert: give the client certificate too")

    @property
    def trusted(self) -> str:
        """What server certificates are verified against, for messages."""
        return self.ca_bundle or SYSTEM_CAS

    def context(self, url: str) -> ssl.SSLContext | None:
        """The client context for ``url``; None for a plain ``ws://``/``http://`` URL (TLS
        options do not apply there). Checks the files first (TlsConfigError)."""
        self.check()
        if not is_secure(url):
            return None
        context = ssl.create_default_context(cafile=self.ca_bundle)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.client_cert is not None:
            try:
                context.load_cert_chain(self.client_cert, self.client_key,
                                        password=self._encrypted)
            except ssl.SSLError as error:
                key = f" and client_key {self.client_key}" if self.client_key else ""
                raise TlsConfigError(
                    f"client_cert {self.client_cert}{key}: not a certificate and matching "
                    f"unencrypted private key in PEM ({_reason(error)})") from None
        return context

    def _encrypted(self) -> str:
        # Without a password callback OpenSSL would prompt on the terminal for it.
        name = "client_key" if self.client_key else "client_cert"
        raise TlsConfigError(f"{name} {self.client_key or self.client_cert} is an encrypted "
                             f"key: give an unencrypted one")


def is_secure(url: str) -> bool:
    """True for ``wss://`` and ``https://`` URLs."""
    return urlsplit(url).scheme.lower() in SECURE_SCHEMES


def client_context(url: str, ca_bundle: str | None = None, client_cert: str | None = None,
                   client_key: str | None = None, verify: bool = True,
                   log_url: str | None = None,
                   warn: Callable[[str], None] | None = None) -> ssl.SSLContext | None:
    """The client ``ssl.SSLContext`` for ``url`` from the four options; None for a plain
    URL. With ``verify=False`` (on a ``wss://``/``https://`` URL) the warning of
    `unverified_warning` is logged through ``warn`` (default: `warn_unverified`).
    ``log_url`` is the URL to name in it (default: ``url`` redacted)."""
    options = TlsOptions(ca_bundle, client_cert, client_key, verify)
    context = options.context(url)
    if context is not None and not verify:
        (warn or warn_unverified)(unverified_warning(log_url or redact_url(url)))
    return context


def unverified_warning(url: str) -> str:
    """The warning for a connection whose server certificate is not verified."""
    return (f"TLS certificate verification is OFF for {url}: any server is trusted. "
            f"Use it only for a self-signed test setup.")


def warn_unverified(text: str) -> None:
    """Logs ``text`` as a WARN in Robot Framework's log; to stderr outside of a Robot run
    (the load generator's command line and worker processes)."""
    if "robot" in sys.modules:  # outside a run its logger still ends on stderr
        from robot.api import logger

        logger.warn(text)
    else:
        print(f"WARNING: {text}", file=sys.stderr, flush=True)


def secret_value(value: Secret | str | None) -> str | None:
    """The text of a ``robot.api.types.Secret`` or a plain string (None stays None)."""
    if value is None or isinstance(value, str):
        return value
    inner = getattr(value, "value", None)
    if not isinstance(inner, str):
        raise TypeError(f"Expected a string or a Secret, got {type(value).__name__}")
    return inner


def bearer_headers(token: Secret | str | None,
                   headers: Mapping[str, str] | None = None) -> dict[str, str]:
    """``headers`` plus ``Authorization: Bearer <token>`` when a token is given.

    A token together with an ``Authorization`` header of its own is refused (ValueError):
    which of the two should be sent is not for the library to guess.
    """
    result = dict(headers or {})
    secret = secret_value(token)
    if secret is None:
        return result
    if any(name.lower() == "authorization" for name in result):
        raise ValueError("Both a token and an Authorization header were given: use one of "
                         "them (the token is sent as 'Authorization: Bearer <token>').")
    result["Authorization"] = f"Bearer {secret}"
    return result


def redact_url(url: str, every_parameter: bool = False) -> str:
    """``url`` safe for a log line: the values of the query parameters named in
    SECRET_QUERY_NAMES (all of them with ``every_parameter``, for a URL given as a Secret)
    and a password in the user part become ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK if every_parameter else url
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        name, has_password, _ = user.partition(":")
        if has_password or every_parameter:
            netloc = f"{name}:{MASK}@{host}" if has_password else f"{MASK}@{host}"
    pieces = []
    for piece in parts.query.split("&") if parts.query else []:
        name, _, _ = piece.partition("=")
        secret = every_parameter or unquote_plus(name).lower() in SECRET_QUERY_NAMES
        pieces.append(f"{name}={MASK}" if secret else piece)
    return urlunsplit((parts.scheme, netloc, parts.path, "&".join(pieces), parts.fragment))


def find_tls_error(error: BaseException | None) -> ssl.SSLError | None:
    """The ``ssl.SSLError`` that ``error`` is, wraps (``URLError.reason``) or was caused
    by; None if none."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ssl.SSLError):
            return error
        reason = getattr(error, "reason", None)
        if isinstance(reason, ssl.SSLError):
            return reason
        error = error.__cause__ or error.__context__
    return None


def closed_after_handshake(url: str, error: BaseException) -> bool:
    """True when an https request to ``url`` failed because the server closed the
    connection without answering, after the TLS handshake: how a TLS 1.3 server that
    requires a client certificate refuses a client without one, as the client sees it."""
    return is_secure(url) and isinstance(error, http.client.RemoteDisconnected)


def describe_tls_error(url: str, error: BaseException, options: TlsOptions | None = None,
                       after_handshake: bool = False) -> str:
    """A sentence saying what was expected of ``url``'s TLS and what happened.

    ``url`` should already be redacted. ``error`` is an ``ssl`` error (or one wrapping
    it); ``after_handshake`` tells that the TLS handshake had completed when the server
    ended the connection without answering (how a TLS 1.3 server refuses a client
    certificate, as seen from the client)."""
    options = options or TlsOptions()
    tls = find_tls_error(error)
    if isinstance(tls, ssl.SSLCertVerificationError):
        reason = tls.verify_message or _reason(tls)
        return (f"the certificate of {url} did not verify against {options.trusted}: "
                f"{reason}")
    if tls is None and after_handshake:
        return _likely_client_certificate(
            url, options, "", "the server ended the connection right after the TLS "
            "handshake, before answering the request, as a server that requires client "
            "certificates does")
    if tls is None:
        return (f"the TLS handshake with {url} failed: {_plain(error)} (expected a TLS "
                f"server: is it a plain ws:// or http:// one?)")
    reason = tls.reason or ""
    if reason in _NOT_TLS:
        return (f"{url} does not speak TLS: expected a TLS handshake, got something else "
                f"({_reason(tls)}); use ws:// or http:// for a plain server")
    if reason in _CERT_REQUIRED or reason in _CERT_REFUSED:
        return _client_certificate_text(url, options, f"the server sent the alert "
                                        f"'{_reason(tls)}'")
    if isinstance(tls, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return _likely_client_certificate(
            url, options, ", or does not speak TLS", f"the server closed the connection in "
            f"the TLS handshake or right after it ({_reason(tls)})")
    return f"the TLS handshake with {url} failed: {_reason(tls)}"


def _likely_client_certificate(url: str, options: TlsOptions, otherwise: str,
                               what: str) -> str:
    if options.client_cert is None:
        return (f"{url} most likely requires a client certificate and none was given "
                f"(client_cert, client_key){otherwise}: {what}")
    return (f"{url} most likely did not accept the client certificate {options.client_cert}"
            f"{otherwise}: {what}; is it signed by a CA the server trusts?")


def sentence(text: str) -> str:
    """``text`` as a sentence: a capital first letter (unless it starts with a URL) and a
    full stop."""
    if text[:1].islower() and "://" not in text.split(" ", 1)[0]:
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def _client_certificate_text(url: str, options: TlsOptions, what: str) -> str:
    if options.client_cert is None:
        return (f"{url} requires a client certificate and none was given (client_cert, "
                f"client_key): {what}")
    return (f"{url} did not accept the client certificate {options.client_cert}: {what}; "
            f"is it signed by a CA the server trusts?")


def _reason(error: ssl.SSLError) -> str:
    text = getattr(error, "verify_message", None) or error.strerror or str(error)
    text = str(text)
    if text.startswith("[SSL"):
        text = text.split("]", 1)[-1].strip()
    return text.split(" (_ssl.c:")[0].strip() or type(error).__name__


def _plain(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def http_opener(context: ssl.SSLContext | None,
                environment_proxies: bool = False) -> urllib.request.OpenerDirector:
    """A urllib opener that uses ``context`` for https and, unless ``environment_proxies``,
    never goes through a proxy named in the environment (loopback and test targets)."""
    handlers: list[Any] = [] if environment_proxies else [urllib.request.ProxyHandler({})]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers)
