"""PrometheusLibrary and SystemProbe over https:// with a bearer token, against a real HTTPS
server (tls_support.py) that requires the token, and one that requires a client
certificate: CA bundles, client certificates, verification off, and TLS failures that fail
at once instead of being retried until a timeout."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from robot.api.types import Secret
from tls_support import (  # noqa: F401  (fixtures)
    HTTP_TOKEN,
    HttpsServer,
    TlsFiles,
    other_ca_fixture,
    robot_log_fixture,
    robot_messages,
    start_https_server,
    tls_files_fixture,
)

from PrometheusLibrary import PrometheusLibrary
from SystemProbe import SystemProbe

LONG = timedelta(seconds=30)  # a TLS failure must not wait for it


@pytest.fixture(scope="module", name="https")
def https_fixture(tls_files: TlsFiles) -> Iterator[HttpsServer]:
    server, stop = start_https_server(tls_files.server_context())
    yield server
    stop()


@pytest.fixture(scope="module", name="mtls_https")
def mtls_https_fixture(tls_files: TlsFiles) -> Iterator[HttpsServer]:
    server, stop = start_https_server(tls_files.server_context(client_ca=tls_files.ca_bundle))
    yield server
    stop()


def quickly(began: float) -> None:
    assert time.monotonic() - began < LONG.total_seconds() / 2, "did not fail at once"


# -- PrometheusLibrary ------------------------------------------------------------------------

def test_a_scrape_over_https_sends_the_token(https: HttpsServer, tls_files: TlsFiles,
                                             robot_log: pytest.LogCaptureFixture) -> None:
    library = PrometheusLibrary()
    scrape = library.scrape_metrics(f"{https.base}/metrics", token=Secret(HTTP_TOKEN),
                                    ca_bundle=tls_files.ca_bundle)
    assert library.get_metric_value(scrape, "jobs_total", "queue=a") == 3.0
    assert https.seen[-1] == f"Bearer {HTTP_TOKEN}"
    assert HTTP_TOKEN not in "\n".join(robot_messages(robot_log))


def test_get_metric_value_and_samples_scrape_a_url_with_the_options(
        https: HttpsServer, tls_files: TlsFiles) -> None:
    library = PrometheusLibrary()
    url = f"{https.base}/metrics"
    assert library.get_metric_value(url, "jobs_total", None, None, None, None, timedelta(0),
                                    HTTP_TOKEN, tls_files.ca_bundle) == 3.0
    samples = library.get_metric_samples(url, "jobs_total", token=HTTP_TOKEN,
                                         ca_bundle=tls_files.ca_bundle)
    assert samples == [{"labels": {"queue": "a"}, "value": 3.0}]


def test_a_scrape_without_the_token_names_the_refusal(https: HttpsServer,
                                                      tls_files: TlsFiles) -> None:
    with pytest.raises(AssertionError, match="HTTP Error 401"):
        PrometheusLibrary().scrape_metrics(f"{https.base}/metrics",
                                           ca_bundle=tls_files.ca_bundle)


def test_a_certificate_that_does_not_verify_fails_at_once(https: HttpsServer) -> None:
    url = f"{https.base}/metrics"
    began = time.monotonic()
    with pytest.raises(AssertionError) as raised:
        PrometheusLibrary().get_metric_value(url, "jobs_total", None, None, None, None, LONG,
                                             HTTP_TOKEN)
    quickly(began)
    assert f"The certificate of {url} did not verify against the system CAs: " in \
        str(raised.value)


def test_verify_off_scrapes_and_warns(https: HttpsServer,
                                      robot_log: pytest.LogCaptureFixture) -> None:
    url = f"{https.base}/metrics"
    scrape = PrometheusLibrary().scrape_metrics(url, token=HTTP_TOKEN, verify=False)
    assert scrape.samples
    assert robot_messages(robot_log, logging.WARNING) == [
        f"TLS certificate verification is OFF for {url}: any server is trusted. Use it only "
        f"for a self-signed test setup."]


def test_a_client_certificate_is_presented_to_a_server_that_requires_one(
        mtls_https: HttpsServer, tls_files: TlsFiles) -> None:
    library = PrometheusLibrary()
    url = f"{mtls_https.base}/metrics"
    scrape = library.scrape_metrics(url, token=HTTP_TOKEN, ca_bundle=tls_files.ca_bundle,
                                    client_cert=tls_files.client_cert,
                                    client_key=tls_files.client_key)
    assert scrape.samples
    with pytest.raises(AssertionError, match="requires a client certificate"):
        library.scrape_metrics(url, token=HTTP_TOKEN, ca_bundle=tls_files.ca_bundle)


# -- SystemProbe ------------------------------------------------------------------------------

def test_dashboards_are_reachable_over_https_with_the_token(https: HttpsServer,
                                                            tls_files: TlsFiles) -> None:
    SystemProbe().dashboards_should_be_reachable(
        {"pulse": https.ws_base, "seams": f"{https.ws_base}/seams"}, token=Secret(HTTP_TOKEN),
        ca_bundle=tls_files.ca_bundle)
    assert https.seen[-2:] == [f"Bearer {HTTP_TOKEN}"] * 2


def test_a_certificate_that_does_not_verify_fails_at_once_naming_the_settings(
        https: HttpsServer) -> None:
    began = time.monotonic()
    with pytest.raises(AssertionError) as raised:
        SystemProbe().dashboards_should_be_reachable({"pulse": https.ws_base}, LONG,
                                                     token=HTTP_TOKEN)
    quickly(began)
    message = str(raised.value)
    assert message.startswith(
        f"The system under test is not reachable: pulse ({https.ws_base}): the certificate "
        f"of {https.base}/healthz did not verify against the system CAs: "), message
    for setting in ("CA_BUNDLE", "CLIENT_CERT", "CLIENT_KEY", "TLS_VERIFY"):
        assert setting in message


def test_a_missing_client_certificate_fails_at_once(mtls_https: HttpsServer,
                                                    tls_files: TlsFiles) -> None:
    probe = SystemProbe()
    began = time.monotonic()
    with pytest.raises(AssertionError, match="requires a client certificate and none was given"):
        probe.dashboards_should_be_reachable({"voices": mtls_https.ws_base}, LONG,
                                             token=HTTP_TOKEN, ca_bundle=tls_files.ca_bundle)
    quickly(began)
    probe.dashboards_should_be_reachable({"voices": mtls_https.ws_base}, token=HTTP_TOKEN,
                                         ca_bundle=tls_files.ca_bundle,
                                         client_cert=tls_files.client_cert,
                                         client_key=tls_files.client_key)


def test_a_refused_token_is_reported_after_the_timeout(https: HttpsServer,
                                                       tls_files: TlsFiles) -> None:
    with pytest.raises(AssertionError) as raised:
        SystemProbe().dashboards_should_be_reachable(
            {"pulse": f"{https.ws_base}/?token=in-url"}, timedelta(0), token="wrong",
            ca_bundle=tls_files.ca_bundle)
    message = str(raised.value)
    assert "answered HTTP 401" in message
    assert "in-url" not in message and "wrong" not in message


def test_verify_off_probes_and_warns(https: HttpsServer,
                                     robot_log: pytest.LogCaptureFixture) -> None:
    SystemProbe().dashboards_should_be_reachable({"pulse": https.ws_base}, token=HTTP_TOKEN,
                                                 verify=False)
    assert robot_messages(robot_log, logging.WARNING) == [
        f"TLS certificate verification is OFF for {https.base}/healthz: any server is "
        f"trusted. Use it only for a self-signed test setup."]
