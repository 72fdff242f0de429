"""PrometheusLibrary: scrape a Prometheus exposition endpoint and assert on its series."""

from __future__ import annotations

import ssl
import time
from datetime import timedelta
from typing import Any

from assertionengine import AssertionOperator, verify_assertion
from robot.api import logger
from robot.api.deco import keyword, library
from robot.api.types import Secret

from figurekit.figures import as_operator
from WebSocketLibrary.tlsoptions import TlsOptions, client_context, redact_url, secret_value

from .scrape import Sample, Scrape, ScrapeTlsError, parse_exposition, parse_selector, scrape

__all__ = ["PrometheusLibrary", "Sample", "Scrape", "parse_exposition", "scrape"]
__version__ = "0.1.0"
POLL_S = 0.2


def _expected_number(expected: Any) -> Any:
    if isinstance(expected, str):
        try:
            return float(expected)
        except ValueError:
            return expected
    return expected


@library(scope="GLOBAL", version=__version__)
class PrometheusLibrary:
    """Reads a Prometheus text exposition endpoint (``/metrics``) and asserts on series.

    A series is named like in PromQL, with or without labels:
    ``dashboard_connections_active{dashboard="pulse"}``; labels can also be given apart
    (``labels=dashboard=pulse,type=metrics`` or a dictionary). The given labels select
    every series that has them; when several series match, their values are **summed**
    (e.g. a counter over all of its other labels). Counters are named with their
    ``_total`` sample name, histograms with ``_bucket``/``_count``/``_sum``.

    Getters take an assertion operator (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, …)
    as the Browser library does, and return the value:
    | Get Metric Value    ${scrape}    slo_metric_value{metric="pain"}    ==    0.3

    Parsing is prometheus_client's own (``prometheus_client.parser``).

    = TLS and credentials =
    Keywords that scrape a URL take the arguments of the project's other libraries:
    ``token`` (sent as ``Authorization: Bearer <token>``, never logged), ``ca_bundle`` (PEM
    file of the CAs to trust for ``https://``; default: the system's), ``client_cert`` and
    ``client_key`` (a client certificate, for mutual TLS) and ``verify=False`` (any
    certificate is trusted; a WARN says so). A certificate that does not verify fails the
    scrape with a message saying against what it was verified; a TLS failure is not
    retried by the ``timeout`` of `Get Metric Value` (waiting does not cure it).
    """

    @keyword(tags=["Getter"])
    def scrape_metrics(self, url: str, timeout: timedelta = timedelta(seconds=5),
                       token: Secret | str | None = None, ca_bundle: str | None = None,
                       client_cert: str | None = None, client_key: str | None = None,
                       verify: bool = True) -> Scrape:
        """GETs the exposition at ``url`` and returns the scrape, for the getters.

        Fails if the endpoint does not answer. A scrape keeps every sample and its time.
        ``token`` and the TLS arguments: see `TLS and credentials`.

        Example:
        | ${before}=    Scrape Metrics    http://127.0.0.1:3001/metrics
        | ${scrape}=    Scrape Metrics    https://127.0.0.1:3001/metrics    token=${TOKEN}
        | ...    ca_bundle=${CA_BUNDLE}
        """
        tls = TlsOptions(ca_bundle, client_cert, client_key, verify)
        result = scrape(url, timeout.total_seconds(), secret_value(token),
                        self._context(url, tls), tls)
        logger.info(f"Scraped {redact_url(url)}: {len(result.samples)} samples of "
                    f"{len(result.names())} names.")
        return result

    @staticmethod
    def _context(url: str, tls: TlsOptions) -> ssl.SSLContext | None:
        return client_context(url, tls.ca_bundle, tls.client_cert, tls.client_key, tls.verify)

    @keyword(tags=["Getter"])
    def get_metric_value(self, source: Scrape | str, name: str, labels: Any = None,
                         assertion_operator: AssertionOperator | None = None,
                         assertion_expected: Any = None, message: str | None = None,
                         timeout: timedelta = timedelta(0),
                         token: Secret | str | None = None, ca_bundle: str | None = None,
                         client_cert: str | None = None, client_key: str | None = None,
                         verify: bool = True) -> float:
        """The value of the series ``name`` (with ``labels``) in ``source``, optionally
        asserted.

        ``source`` is a scrape (from `Scrape Metrics`) or an endpoint URL, scraped now
        (with ``token`` and the TLS arguments, see `TLS and credentials`; they are ignored
        for a scrape). With a URL and a ``timeout``, it is scraped again until the
        assertion holds (for a value that becomes true eventually). Fails if no series
        matches, naming the label sets that exist.

        Example:
        | ${open}=    Get Metric Value    ${scrape}    dashboard_connections_active
        | ...    labels=dashboard=pulse
        | Get Metric Value    ${url}    slo_metric_value{metric="pain"}    ==    0.3
        | Get Metric Value    ${url}    dashboard_messages_received_total    >=    100
        | ...    timeout=5s
        | Get Metric Value    https://127.0.0.1:3001/metrics    voice_active{voice="kain"}
        | ...    ==    0    token=${TOKEN}    ca_bundle=${CA_BUNDLE}
        """
        deadline = time.monotonic() + timeout.total_seconds()
        tls = TlsOptions(ca_bundle, client_cert, client_key, verify)
        context = self._context(source, tls) if isinstance(source, str) else None
        secret = secret_value(token)
        while True:
            try:
                current = (scrape(source, token=secret, context=context, tls=tls)
                           if isinstance(source, str) else source)
                value = self._value(current, name, labels)
                return verify_assertion(value, as_operator(assertion_operator),
                                        _expected_number(assertion_expected), f"Metric {name}",
                                        message)
            except ScrapeTlsError:
                raise  # no retry: waiting does not make a certificate verify
            except AssertionError:
                if not isinstance(source, str) or time.monotonic() >= deadline:
                    raise
            time.sleep(POLL_S)

    @keyword(tags=["Getter"])
    def get_metric_delta(self, before: Scrape, after: Scrape, name: str, labels: Any = None,
                         assertion_operator: AssertionOperator | None = None,
                         assertion_expected: Any = None, message: str | None = None) -> float:
        """``after`` − ``before`` for the series ``name`` (with ``labels``), optionally
        asserted: how much a counter grew between two scrapes.

        A series absent from ``before`` counts as 0 there (a labelled counter appears at
        its first increment); one absent from ``after`` fails.

        Example:
        | ${before}=    Scrape Metrics    ${url}
        | Send Json    {"type": "ping"}
        | ${after}=    Scrape Metrics    ${url}
        | Get Metric Delta    ${before}    ${after}
        | ...    dashboard_messages_received_total{type="ping"}    ==    1
        """
        metric, wanted = parse_selector(name, labels)
        end = self._value(after, name, labels)
        start = sum(s.value for s in before.find(metric, wanted))
        delta = end - start
        logger.info(f"{name} {wanted or ''}: {start:g} → {end:g} (delta {delta:g}) over "
                    f"{after.taken_at - before.taken_at:.3f} s")
        return verify_assertion(delta, as_operator(assertion_operator),
                                _expected_number(assertion_expected), f"Delta of {name}",
                                message)

    @keyword(tags=["Getter"])
    def get_metric_samples(self, source: Scrape | str, name: str,
                           labels: Any = None, token: Secret | str | None = None,
                           ca_bundle: str | None = None, client_cert: str | None = None,
                           client_key: str | None = None,
                           verify: bool = True) -> list[dict[str, Any]]:
        """Every sample of ``name`` matching ``labels``, as ``{"labels": …, "value": …}``
        (an empty list if none).

        ``source`` is a scrape or a URL scraped now (with ``token`` and the TLS arguments,
        see `TLS and credentials`).

        Example:
        | ${samples}=    Get Metric Samples    ${scrape}    dashboard_errors_total
        | Length Should Be    ${samples}    0
        """
        if isinstance(source, str):
            tls = TlsOptions(ca_bundle, client_cert, client_key, verify)
            current = scrape(source, token=secret_value(token),
                             context=self._context(source, tls), tls=tls)
        else:
            current = source
        metric, wanted = parse_selector(name, labels)
        return [{"labels": dict(s.labels), "value": s.value}
                for s in current.find(metric, wanted)]

    @staticmethod
    def _value(current: Scrape, name: str, labels: Any) -> float:
        metric, wanted = parse_selector(name, labels)
        found = current.find(metric, wanted)
        if not found:
            others = [s.describe() for s in current.samples if s.name == metric][:10]
            hint = ("series of that name: " + "; ".join(others)) if others else \
                "no series of that name at all"
            raise AssertionError(f"{current.url or 'The scrape'} has no series {metric} "
                                 f"with labels {wanted}; {hint}.")
        if len(found) > 1:
            logger.info(f"{len(found)} series match {metric} {wanted}; their sum is used: "
                        + "; ".join(s.describe() for s in found))
        return float(sum(s.value for s in found))

    @keyword(tags=["Assertion"])
    def metric_should_be_exposed(self, source: Scrape, name: str,
                                 metric_type: str | None = None) -> str:
        """Fails unless ``source`` declares the metric family ``name`` (``# TYPE``), with
        samples or not yet; returns its type. A counter may be named with or without
        ``_total``. ``metric_type`` (``counter``, ``gauge``, ``histogram``, …) must match if
        given.

        A labelled series has no sample before its first event (an alert counter before any
        alert); this checks that it is exposed at all.

        Example:
        | Metric Should Be Exposed    ${scrape}    slo_alerts_total    counter
        """
        found = source.families.get(name)
        if found is None:
            known = ", ".join(sorted(source.families)) or "none"
            raise AssertionError(f"{source.url or 'The scrape'} declares no metric {name}; "
                                 f"it declares: {known}.")
        if metric_type is not None and found != metric_type:
            raise AssertionError(f"{name} is a {found}, expected a {metric_type}.")
        return found

    @keyword(tags=["Getter"])
    def parse_metrics(self, text: str) -> Scrape:
        """A scrape of exposition ``text`` given directly (e.g. read from a file).

        Example:
        | ${scrape}=    Parse Metrics    ${text}
        """
        return parse_exposition(text, "text")
