"""The shared TLS and credential options (WebSocketLibrary.tlsoptions): contexts from the four
options, readable errors for missing files and for real TLS failures, bearer headers and
URLs safe to log."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import threading

import pytest
from robot.api.types import Secret
from tls_support import (  # noqa: F401  (fixtures)
    TlsFiles,
    other_ca_fixture,
    tls_files_fixture,
)

from WebSocketLibrary.tlsoptions import (
    TlsConfigError,
    TlsOptions,
    bearer_headers,
    client_context,
    describe_tls_error,
    redact_url,
    secret_value,
    sentence,
    unverified_warning,
)

# -- URLs safe to log -------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "shown"), [
    ("wss://h:1/p?token=abc", "wss://h:1/p?token=***"),
    ("ws://h/p?access_token=a&x=1&API_KEY=b&auth=c&password=d&key=e",
     "ws://h/p?access_token=***&x=1&API_KEY=***&auth=***&password=***&key=***"),
    ("https://user:pw@h/metrics", "https://user:***@h/metrics"),
    ("ws://h:3001", "ws://h:3001"),
    ("ws://h/?tokens=not-a-secret-name&a%20b=c", "ws://h/?tokens=not-a-secret-name&a%20b=c"),
])
def test_secret_query_values_and_passwords_are_masked(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_secret_url_shows_no_query_value_at_all() -> None:
    assert redact_url("wss://h/ws?session=s1&t=abc", every_parameter=True) == \
        "wss://h/ws?session=***&t=***"


# -- credentials ------------------------------------------------------------------------------


def test_a_token_becomes_a_bearer_header() -> None:
    assert bearer_headers(Secret("s3"), {"X-A": "1"}) == {"X-A": "1",
                                                          "Authorization": "Bearer s3"}
    assert bearer_headers("plain") == {"Authorization": "Bearer plain"}
    assert bearer_headers(None, {"Authorization": "Basic x"}) == {"Authorization": "Basic x"}
    assert secret_value(Secret("v")) == "v"


def test_a_token_and_an_authorization_header_together_are_refused() -> None:
    with pytest.raises(ValueError, match="Both a token and an Authorization header"):
        bearer_headers("t", {"authorization": "Basic x"})


# -- options and contexts ---------------------------------------------------------------------


def test_plain_urls_get_no_context_and_secure_ones_a_verifying_one(tls_files: TlsFiles) -> None:
    assert TlsOptions(ca_bundle=tls_files.ca_bundle).context("ws://127.0.0.1:1") is None
    context = TlsOptions(ca_bundle=tls_files.ca_bundle).context("wss://127.0.0.1:1")
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    unverified = TlsOptions(verify=False).context("https://127.0.0.1:1")
    assert unverified is not None
    assert unverified.verify_mode == ssl.CERT_NONE and not unverified.check_hostname


@pytest.mark.parametrize(("options", "words"), [
    ({"ca_bundle": "/nowhere/ca.pem"}, "ca_bundle: no such file: /nowhere/ca.pem"),
    ({"client_cert": "/nowhere/c.pem"}, "client_cert: no such file: /nowhere/c.pem"),
    ({"ca_bundle": ""}, "ca_bundle is empty"),
])
def test_missing_files_are_named_with_their_argument(options: dict[str, str],
                                                     words: str) -> None:
    with pytest.raises(TlsConfigError) as raised:
        TlsOptions(**options).context("wss://127.0.0.1:1")
    assert words in str(raised.value)


def test_a_key_without_its_certificate_and_a_wrong_key_are_refused(tls_files: TlsFiles,
                                                                    other_ca: TlsFiles) -> None:
    with pytest.raises(TlsConfigError, match=r"client_key .* without client_cert"):
        TlsOptions(client_key=tls_files.client_key).check()
    with pytest.raises(TlsConfigError, match=r"client_cert .* not a certificate and matching"):
        TlsOptions(client_cert=tls_files.client_cert,
                   client_key=other_ca.client_key).context("wss://127.0.0.1:1")


def test_verify_off_warns_naming_the_url_without_its_secrets() -> None:
    warnings: list[str] = []
    client_context("wss://127.0.0.1:1/?token=abc", verify=False, warn=warnings.append)
    assert warnings == [unverified_warning("wss://127.0.0.1:1/?token=***")]
    assert warnings[0] == ("TLS certificate verification is OFF for "
                           "wss://127.0.0.1:1/?token=***: any server is trusted. Use it only "
                           "for a self-signed test setup.")
    client_context("ws://127.0.0.1:1", verify=False, warn=warnings.append)
    assert len(warnings) == 1  # no TLS, nothing to warn about


def test_outside_robot_the_warning_goes_to_stderr() -> None:
    run = subprocess.run([sys.executable, "-c", "from WebSocketLibrary import tlsoptions; "
                          "tlsoptions.client_context('wss://127.0.0.1:1', verify=False)"],
                         capture_output=True, text=True, check=True)
    assert "TLS certificate verification is OFF for wss://127.0.0.1:1" in run.stderr


# -- readable TLS errors, from real handshakes ------------------------------------------------


def _handshake_error(server: ssl.SSLContext | None, client: ssl.SSLContext) -> BaseException:
    """The error of a client handshake against a loopback server with ``server``'s TLS
    (None: a server that answers in plain text)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        peer, _ = listener.accept()
        try:
            if server is None:
                peer.recv(4096)
                peer.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            else:
                with server.wrap_socket(peer, server_side=True) as tls:
                    tls.recv(1)
        except (OSError, ssl.SSLError):
            pass
        finally:
            peer.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                client.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"x")
            tls.recv(1)
    except (OSError, ssl.SSLError) as error:
        return error
    finally:
        thread.join(5)
        listener.close()
    raise AssertionError("the handshake did not fail")


def test_a_certificate_that_does_not_verify_says_against_what(tls_files: TlsFiles) -> None:
    error = _handshake_error(tls_files.server_context(), ssl.create_default_context())
    text = describe_tls_error("wss://127.0.0.1:3001", error, TlsOptions())
    assert text.startswith("the certificate of wss://127.0.0.1:3001 did not verify against "
                           "the system CAs: ")
    assert "unable to get local issuer certificate" in text
    bundle = TlsOptions(ca_bundle="/etc/my-ca.pem")
    assert "did not verify against /etc/my-ca.pem: " in describe_tls_error(
        "wss://127.0.0.1:3001", error, bundle)


def test_a_missing_client_certificate_is_named(tls_files: TlsFiles) -> None:
    error = _handshake_error(tls_files.server_context(client_ca=tls_files.ca_bundle),
                             tls_files.client_context())
    text = describe_tls_error("wss://127.0.0.1:3001", error, TlsOptions())
    # The server's alert, or its closing of the connection, whichever the client sees first.
    assert text.startswith("wss://127.0.0.1:3001 ")
    assert "requires a client certificate and none was given (client_cert, client_key)" in text


def test_a_server_without_tls_is_named(tls_files: TlsFiles) -> None:
    error = _handshake_error(None, tls_files.client_context())
    text = describe_tls_error("wss://127.0.0.1:3001", error, TlsOptions())
    assert text.startswith("wss://127.0.0.1:3001 does not speak TLS: expected a TLS "
                           "handshake"), text


def test_sentences_keep_urls_as_they_are() -> None:
    assert sentence("the certificate of x") == "The certificate of x."
    assert sentence("wss://h does not speak TLS") == "wss://h does not speak TLS."

