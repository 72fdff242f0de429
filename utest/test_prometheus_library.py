"""PrometheusLibrary against the real reference system's /metrics (and a bare
prometheus_client endpoint): scraping, selecting series by labels, assertion operators,
deltas between scrapes, and eventually-true values."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from conftest import Peer, RunningSystem
from PrometheusLibrary import PrometheusLibrary
from PrometheusLibrary.scrape import parse_exposition, parse_selector

RECEIVED = "dashboard_messages_received_total"
EXPOSITION = """# HELP jobs_total Jobs done
# TYPE jobs_total counter
jobs_total{queue="a",state="ok"} 3.0
jobs_total{queue="a",state="failed"} 1.0
jobs_total{queue="b",state="ok"} 5.0
# HELP temperature Degrees
# TYPE temperature gauge
temperature{room="say \\"hi\\""} 21.5
"""


@pytest.fixture
def library() -> PrometheusLibrary:
    return PrometheusLibrary()


def test_scrape_of_the_reference_system(system: RunningSystem, library: PrometheusLibrary) -> None:
    scrape = library.scrape_metrics(system.http("pulse", "/metrics"))
    assert "dashboard_connections_active" in scrape.names()
    assert library.get_metric_value(scrape, "slo_alerts_total",
                                    labels={"metric": "pain", "priority": "P0"}) >= 0


def test_a_series_is_selected_by_its_labels_and_asserted(system: RunningSystem,
                                                         library: PrometheusLibrary) -> None:
    url = system.http("pulse", "/metrics")
    with Peer(system.url("pulse")):
        scrape = library.scrape_metrics(url)
        open_now = library.get_metric_value(
            scrape, 'dashboard_connections_active{dashboard="pulse"}', None, ">=", "1")
        assert open_now >= 1
        assert library.get_metric_value(scrape, "dashboard_connections_active",
                                        "dashboard=pulse", "==", str(open_now)) == open_now
        with pytest.raises(AssertionError, match="dashboard_connections_active"):
            library.get_metric_value(scrape, "dashboard_connections_active",
                                     "dashboard=pulse", "<", "1")


def test_a_missing_series_fails_and_names_what_exists(system: RunningSystem,
                                                      library: PrometheusLibrary) -> None:
    scrape = library.scrape_metrics(system.http("pulse", "/metrics"))
    with pytest.raises(AssertionError, match=r'series of that name: dashboard_connections_active'):
        library.get_metric_value(scrape, "dashboard_connections_active", "dashboard=nowhere")
    with pytest.raises(AssertionError, match="no series of that name at all"):
        library.get_metric_value(scrape, "no_such_metric")


def test_delta_between_two_scrapes(system: RunningSystem, library: PrometheusLibrary) -> None:
    url = system.http("pulse", "/metrics")
    selector = f'{RECEIVED}{{dashboard="pulse",type="ping"}}'
    with Peer(system.url("pulse")) as peer:
        peer.request({"type": "ping", "timestamp": 1}, "pong")  # the series exists now
        before = library.scrape_metrics(url)
        for n in range(3):
            peer.request({"type": "ping", "timestamp": n}, "pong")
        after = library.scrape_metrics(url)
    assert library.get_metric_delta(before, after, selector, None, "==", "3") == 3
    with pytest.raises(AssertionError, match="Delta of"):
        library.get_metric_delta(before, after, selector, None, "==", "4")


def test_a_series_absent_before_counts_as_zero(library: PrometheusLibrary) -> None:
    before = parse_exposition("# TYPE jobs_total counter\n")
    after = parse_exposition(EXPOSITION)
    assert library.get_metric_delta(before, after, "jobs_total", "queue=b") == 5
    with pytest.raises(AssertionError, match="no series jobs_total"):
        library.get_metric_delta(after, before, "jobs_total", "queue=b")


def test_an_eventually_true_value_is_polled_until_the_timeout(
        system: RunningSystem, library: PrometheusLibrary) -> None:
    url = system.http("seams", "/metrics")
    with Peer(system.url("seams")):
        value = library.get_metric_value(url, 'dashboard_connections_active{dashboard="seams"}',
                                         None, ">=", "1", timeout=timedelta(seconds=5))
        assert value >= 1
    began = time.monotonic()
    with pytest.raises(AssertionError):
        library.get_metric_value(url, "dashboard_connections_active", "dashboard=seams",
                                 "==", "999", timeout=timedelta(milliseconds=500))
    assert 0.5 <= time.monotonic() - began < 5


def test_several_matching_series_are_summed(library: PrometheusLibrary) -> None:
    scrape = library.parse_metrics(EXPOSITION)
    assert library.get_metric_value(scrape, "jobs_total", "state=ok") == 8
    assert library.get_metric_value(scrape, 'jobs_total{queue="a"}') == 4
    assert library.get_metric_value(scrape, "jobs_total", {"queue": "a", "state": "ok"}) == 3
    assert library.get_metric_value(scrape, 'temperature{room="say \\"hi\\""}') == 21.5
    samples = library.get_metric_samples(scrape, "jobs_total", "queue=a")
    assert {s["labels"]["state"] for s in samples} == {"ok", "failed"}
    assert library.get_metric_samples(scrape, "jobs_total", "queue=c") == []


def test_selectors_are_parsed_strictly() -> None:
    assert parse_selector('m{a="1", b="x,y"}', "c=3") == ("m", {"a": "1", "b": "x,y", "c": "3"})
    with pytest.raises(ValueError):
        parse_selector("m{a=1}")
    with pytest.raises(ValueError):
        parse_selector("not a name")
    with pytest.raises(ValueError):
        parse_selector("m", "novalue")


def test_an_endpoint_that_does_not_answer_fails(library: PrometheusLibrary) -> None:
    with pytest.raises(AssertionError, match=r"Scraping http://127.0.0.1:9/metrics failed"):
        library.scrape_metrics("http://127.0.0.1:9/metrics", timeout=timedelta(seconds=2))


def test_a_declared_family_without_samples_is_exposed_and_a_missing_one_is_not() -> None:
    library = PrometheusLibrary()
    scrape = library.parse_metrics("# HELP slo_alerts_total Alerts.\n"
                                   "# TYPE slo_alerts_total counter\n"
                                   "# TYPE voice_active gauge\n"
                                   'voice_active{voice="kain"} 1\n')
    assert library.metric_should_be_exposed(scrape, "slo_alerts_total", "counter") == "counter"
    assert library.metric_should_be_exposed(scrape, "slo_alerts") == "counter"
    with pytest.raises(AssertionError, match="voice_active is a gauge, expected a counter"):
        library.metric_should_be_exposed(scrape, "voice_active", "counter")
    with pytest.raises(AssertionError, match="declares no metric alert_notifications_total"):
        library.metric_should_be_exposed(scrape, "alert_notifications_total")
