"""SLO bands, alert lifecycle, cooldown and auto-actions (protocol.md section 6)."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboards.slo import (
    AUTO_ACTIONS,
    LEVELS,
    METRICS,
    OK_BANDS,
    PRIORITY_RANK,
    TARGETS,
    AlertEvent,
    AutoActionTracker,
    Band,
    SloEngine,
    auto_activations,
    classify,
    triggered_actions,
)

EPS = 1e-9


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def engine(cooldowns: dict[str, float] | None = None) -> tuple[SloEngine, FakeClock]:
    clock = FakeClock()
    counter = itertools.count(1)
    return SloEngine(cooldowns, clock=clock, new_id=lambda: f"a{next(counter)}"), clock


# Every limit of section 6: (metric, limit, band just below, band at the limit, band just above).
LIMITS = [
    ("clarity", 0.5, "P0", "P1", "P1"),
    ("clarity", 0.65, "P1", "P2", "P2"),
    ("clarity", 0.7, "P2", "OK", "OK"),
    ("clarity", 0.9, "OK", "OK", "P1"),
    ("clarity", 0.95, "P1", "P1", "P0"),
    ("chaos", 0.1, "P0", "P1", "P1"),
    ("chaos", 0.25, "P1", "P2", "P2"),
    ("chaos", 0.3, "P2", "OK", "OK"),
    ("chaos", 0.6, "OK", "OK", "P2"),
    ("chaos", 0.7, "P2", "P2", "P1"),
    ("chaos", 0.8, "P1", "P1", "P0"),
    ("trust", 0.4, "P0", "P1", "P1"),
    ("trust", 0.55, "P1", "P2", "P2"),
    ("trust", 0.6, "P2", "OK", "OK"),
    ("trust", 0.9, "OK", "OK", "P2"),
    ("trust", 0.95, "P2", "P2", "P1"),
    ("pain", 0.2, "P2", "OK", "OK"),
    ("pain", 0.5, "OK", "OK", "P2"),
    ("pain", 0.6, "P2", "P2", "P1"),
    ("pain", 0.7, "P1", "P1", "P0"),
]
BOUNDARY_CASES = [
    (metric, value, band)
    for metric, limit, below, at, above in LIMITS
    for value, band in ((limit - EPS, below), (limit, at), (limit + EPS, above))
] + [(m, 0.0, b) for m, b in (("clarity", "P0"), ("chaos", "P0"), ("trust", "P0"),
                                ("pain", "P2"))] \
  + [(m, 1.0, b) for m, b in (("clarity", "P0"), ("chaos", "P0"), ("trust", "P1"),
                              ("pain", "P0"))]


@pytest.mark.parametrize(("metric", "value", "band"), BOUNDARY_CASES)
def test_every_band_boundary(metric: str, value: float, band: str) -> None:
    low, high = OK_BANDS[metric]
    if band == "OK":
        expected = Band(None, None, None)
    elif value < low:
        expected = Band(band, low, "min")
    else:
        expected = Band(band, high, "max")
    assert classify(metric, value) == expected


@pytest.mark.parametrize(("metric", "value", "expected"), [
    ("clarity", 0.95, Band("P1", 0.9, "max")),  # scenario 7.1
    ("chaos", 0.1, Band("P1", 0.3, "min")),  # scenario 7.2
    ("pain", 0.71, Band("P0", 0.5, "max")),  # scenario 8.1
    ("trust", 0.54, Band("P1", 0.6, "min")),  # scenario 8.2
    ("clarity", 0.9000001, Band("P1", 0.9, "max")),
    ("clarity", 0.950001, Band("P0", 0.9, "max")),
    ("clarity", 0.69999, Band("P2", 0.7, "min")),
    ("clarity", 0.6499, Band("P1", 0.7, "min")),
    ("clarity", 0.4999, Band("P0", 0.7, "min")),
    ("trust", 0.96, Band("P1", 0.9, "max")),
    ("trust", 0.3999, Band("P0", 0.6, "min")),
    ("pain", 0.19, Band("P2", 0.2, "min")),
])
def test_scenario_examples(metric: str, value: float, expected: Band) -> None:
    assert classify(metric, value) == expected


def test_targets_are_all_ok() -> None:
    assert all(classify(m, TARGETS[m]).priority is None for m in METRICS)


@pytest.mark.parametrize(("metric", "value"), [("latency", 0.5), ("clarity", float("nan"))])
def test_classify_refuses_unknown_metric_and_nan(metric: str, value: float) -> None:
    with pytest.raises(ValueError, match=r"unknown metric|NaN"):
        classify(metric, value)


def table_band(metric: str, v: float) -> str:
    """Section 6's table transcribed literally, as an oracle for the property test."""
    if metric == "clarity":
        return ("OK" if 0.7 <= v <= 0.9 else "P2" if 0.65 <= v < 0.7
                else "P1" if 0.5 <= v < 0.65 or 0.9 < v <= 0.95 else "P0")
    if metric == "chaos":
        return ("OK" if 0.3 <= v <= 0.6 else "P2" if 0.25 <= v < 0.3 or 0.6 < v <= 0.7
                else "P1" if 0.1 <= v < 0.25 or 0.7 < v <= 0.8 else "P0")
    if metric == "trust":
        return ("OK" if 0.6 <= v <= 0.9 else "P2" if 0.55 <= v < 0.6 or 0.9 < v <= 0.95
                else "P1" if 0.4 <= v < 0.55 or v > 0.95 else "P0")
    return ("OK" if 0.2 <= v <= 0.5 else "P2" if v < 0.2 or 0.5 < v <= 0.6
            else "P1" if 0.6 < v <= 0.7 else "P0")


unit = st.floats(min_value=0, max_value=1)


@given(st.sampled_from(METRICS), unit)
def test_classify_agrees_with_the_table_and_ok_is_exactly_the_band(metric: str,
                                                                   v: float) -> None:
    band = classify(metric, v)
    low, high = OK_BANDS[metric]
    assert (band.priority or "OK") == table_band(metric, v)
    assert (band.priority is None) == (low <= v <= high)
    if band.priority is not None:
        assert (band.threshold, band.bound) == ((low, "min") if v < low else (high, "max"))


@pytest.mark.parametrize(("action", "trigger", "voices"), [
    ("activate_pino_hundun", "clarity > 0.9", ("pino", "hundun")),
    ("activate_sam_structure", "clarity < 0.6", ("sam",)),
    ("stimulate_creative_chaos", "chaos < 0.15", ()),
    ("stabilize_system", "chaos > 0.8", ()),
    ("activate_anhantra_empathy", "trust < 0.5", ("anhantra",)),
    ("emergency_recovery", "pain > 0.7", ()),
])
def test_auto_action_table(action: str, trigger: str, voices: tuple[str, ...]) -> None:
    assert [(a.trigger, a.voices) for a in AUTO_ACTIONS if a.action == action] == \
        [(trigger, voices)]


@pytest.mark.parametrize(("metric", "value", "actions"), [
    ("clarity", 0.9, []), ("clarity", 0.9 + EPS, ["activate_pino_hundun"]),
    ("clarity", 0.6, []), ("clarity", 0.6 - EPS, ["activate_sam_structure"]),
    ("chaos", 0.15, []), ("chaos", 0.15 - EPS, ["stimulate_creative_chaos"]),
    ("chaos", 0.8, []), ("chaos", 0.8 + EPS, ["stabilize_system"]),
    ("trust", 0.5, []), ("trust", 0.5 - EPS, ["activate_anhantra_empathy"]),
    ("pain", 0.7, []), ("pain", 0.7 + EPS, ["emergency_recovery"]),
])
def test_triggered_actions_at_their_limits(metric: str, value: float,
                                           actions: list[str]) -> None:
    assert [a.action for a in triggered_actions(metric, value)] == actions


def test_auto_activations_feed_the_voice_engine() -> None:
    assert auto_activations(TARGETS) == {}
    assert auto_activations({**TARGETS, "clarity": 0.95, "trust": 0.3}) == {
        "pino": "clarity > 0.9", "hundun": "clarity > 0.9", "anhantra": "trust < 0.5"}


# --- alert lifecycle ------------------------------------------------------------------------

def kinds(events: list[AlertEvent]) -> list[tuple[str, str, str | None]]:
    return [(e.kind, e.alert_id, e.priority) for e in events]


@pytest.mark.parametrize(("metric", "value", "level", "threshold", "bound", "actions", "voices"), [
    ("clarity", 0.95, "BLOCK", 0.9, "max", ("activate_pino_hundun",), ("hundun", "pino")),
    ("chaos", 0.1, "BLOCK", 0.3, "min", ("stimulate_creative_chaos",), ("hundun",)),
    ("pain", 0.71, "CRITICAL", 0.5, "max", ("emergency_recovery",), ()),
    ("trust", 0.54, "BLOCK", 0.6, "min", (), ("anhantra",)),
    ("trust", 0.3, "CRITICAL", 0.6, "min", ("activate_anhantra_empathy",),
     ("anhantra", "iskriv")),
    ("clarity", 0.68, "WARN", 0.7, "min", (), ("sam",)),
])
def test_open_event_carries_the_alert_fields(metric: str, value: float, level: str,
                                             threshold: float, bound: str,
                                             actions: tuple[str, ...],
                                             voices: tuple[str, ...]) -> None:
    slo, _ = engine()
    priority = next(p for p, name in LEVELS.items() if name == level)
    assert slo.observe(metric, value) == [AlertEvent(
        "open", "a1", metric, value, priority, level, threshold, bound, True, actions, voices)]
    assert slo.open_alerts == {metric: ("a1", priority)}


@pytest.mark.parametrize(("values", "expected"), [
    # open P2, escalate to P1 then P0 (same id), no downgrade, resolve with the final priority
    ([0.66, 0.6, 0.4, 0.6, 0.66, 0.8],
     [[("open", "a1", "P2")], [("escalate", "a1", "P1")], [("escalate", "a1", "P0")], [], [],
      [("resolve", "a1", "P0")]]),
    # a new alert after a resolve gets a new id
    ([0.95, 0.8, 0.8, 0.6], [[("open", "a1", "P1")], [("resolve", "a1", "P1")], [],
                             [("open", "a2", "P1")]]),
    # same priority on the other side of the band: nothing; higher priority there: escalation
    ([0.6, 0.93, 0.99], [[("open", "a1", "P1")], [], [("escalate", "a1", "P0")]]),
    ([0.8, 0.85], [[], []]),
])
def test_alert_sequences(values: list[float], expected: list[list[tuple[str, str, str]]]) -> None:
    slo, _ = engine()
    assert [kinds(slo.observe("clarity", v)) for v in values] == expected


def test_escalation_names_the_limit_now_violated() -> None:
    slo, _ = engine()
    slo.observe("clarity", 0.6)
    [event] = slo.observe("clarity", 0.99)
    assert (event.threshold, event.bound, event.level) == (0.9, "max", "CRITICAL")


def test_resolve_event_fields() -> None:
    slo, _ = engine()
    slo.observe("pain", 0.71)
    assert slo.observe("pain", 0.3) == [AlertEvent(
        "resolve", "a1", "pain", 0.3, "P0", "CRITICAL", None, None, False, (), ())]
    assert slo.open_alerts == {}


def test_metrics_have_independent_alerts() -> None:
    slo, _ = engine()
    slo.observe("pain", 0.71)
    slo.observe("trust", 0.54)
    assert slo.open_alerts == {"pain": ("a1", "P0"), "trust": ("a2", "P1")}
    slo.observe("pain", 0.3)
    assert slo.open_alerts == {"trust": ("a2", "P1")}


@pytest.mark.parametrize(("resolved", "delay", "reopened", "notify"), [
    (0.65, 0.0, 0.65, False),  # same priority (P1) right after the resolve
    (0.65, 59.999, 0.65, False),  # still inside pain's 60 s
    (0.65, 60.0, 0.65, True),  # cooldown over
    (0.65, 10.0, 0.71, True),  # higher priority
    (0.65, 10.0, 0.55, True),  # lower priority
    (0.71, 10.0, 0.75, False),  # P0 again
])
def test_cooldown_suppresses_only_same_priority(resolved: float, delay: float,
                                                reopened: float, notify: bool) -> None:
    slo, clock = engine()
    slo.observe("pain", resolved)
    clock.now = 500.0  # measured from the resolve, not the open
    slo.observe("pain", 0.3)
    clock.now += delay
    [event] = slo.observe("pain", reopened)
    assert (event.kind, event.alert_id, event.notify) == ("open", "a2", notify)


def test_cooldowns_are_per_metric_and_configurable() -> None:
    slo, clock = engine({"pain": 5})
    for metric, bad, good in (("pain", 0.65, 0.3), ("trust", 0.5, 0.8)):
        slo.observe(metric, bad)
        slo.observe(metric, good)
    clock.now = 6.0
    assert slo.observe("pain", 0.65)[0].notify is True
    assert slo.observe("trust", 0.5)[0].notify is False  # trust keeps its default 240 s


def test_escalation_out_of_a_suppressed_alert_notifies() -> None:
    slo, clock = engine()
    slo.observe("pain", 0.65)
    slo.observe("pain", 0.3)
    clock.now = 1.0
    assert slo.observe("pain", 0.65)[0].notify is False
    assert [(e.kind, e.notify) for e in slo.observe("pain", 0.75)] == [("escalate", True)]


def test_escalation_back_to_the_resolved_priority_inside_cooldown_is_silent() -> None:
    slo, clock = engine()
    slo.observe("pain", 0.75)
    slo.observe("pain", 0.3)
    clock.now = 1.0
    assert slo.observe("pain", 0.65)[0].notify is True
    assert [(e.kind, e.notify) for e in slo.observe("pain", 0.75)] == [("escalate", False)]


@pytest.mark.parametrize("cooldowns", [{"latency": 1.0}, {"pain": -1.0}])
def test_bad_cooldowns_are_refused(cooldowns: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="cooldowns"):
        SloEngine(cooldowns)


def test_default_alert_ids_are_unique_and_opaque() -> None:
    slo = SloEngine()
    first = slo.observe("pain", 0.9)[0].alert_id
    slo.observe("pain", 0.3)
    second = slo.observe("pain", 0.9)[0].alert_id
    assert re.fullmatch(r"alrt_[0-9a-f]{12}", first) and first != second


def test_acknowledge() -> None:
    slo, _ = engine()
    slo.observe("trust", 0.5)
    assert slo.acknowledge("nope") is False
    assert slo.is_acknowledged("a1") is False
    assert slo.acknowledge("a1") is True and slo.acknowledge("a1") is True
    assert slo.is_acknowledged("a1") is True
    slo.observe("trust", 0.3)  # escalation to P0: nobody has acknowledged that yet
    assert slo.is_acknowledged("a1") is False
    assert slo.acknowledge("a1") is True
    slo.observe("trust", 0.8)
    assert slo.is_acknowledged("a1") is False and slo.acknowledge("a1") is False


metric_values = st.lists(st.tuples(st.sampled_from(METRICS), unit), max_size=60)


@given(metric_values)
def test_engine_keeps_one_alert_per_metric_and_only_escalates(steps: list[tuple[str, float]]
                                                              ) -> None:
    slo, _ = engine()
    replayed: dict[str, tuple[str, str]] = {}
    seen_ids: set[str] = set()
    for metric, value in steps:
        for event in slo.observe(metric, value):
            assert event.metric == metric
            if event.kind == "open":
                assert metric not in replayed and event.alert_id not in seen_ids
                seen_ids.add(event.alert_id)
                replayed[metric] = (event.alert_id, str(event.priority))
            elif event.kind == "escalate":
                alert_id, priority = replayed[metric]
                assert event.alert_id == alert_id
                assert PRIORITY_RANK[str(event.priority)] > PRIORITY_RANK[priority]
                replayed[metric] = (alert_id, str(event.priority))
            else:
                assert replayed.pop(metric) == (event.alert_id, event.priority)
        assert slo.open_alerts == replayed
        assert (metric in replayed) == (classify(metric, value).priority is not None)


# --- edge-triggered recovery actions --------------------------------------------------------

@pytest.mark.parametrize(("steps", "fired"), [
    ([("clarity", 0.95), ("clarity", 0.97), ("clarity", 0.8), ("clarity", 0.92)],
     [["activate_pino_hundun"], [], [], ["activate_pino_hundun"]]),
    ([("pain", 0.3), ("pain", 0.75), ("pain", 0.8)], [[], ["emergency_recovery"], []]),
    ([("chaos", 0.9), ("chaos", 0.1), ("chaos", 0.12), ("chaos", 0.9)],
     [["stabilize_system"], ["stimulate_creative_chaos"], [], ["stabilize_system"]]),
    ([("trust", 0.4), ("pain", 0.9), ("trust", 0.45)],
     [["activate_anhantra_empathy"], ["emergency_recovery"], []]),
    ([("clarity", 0.5), ("clarity", 0.6), ("clarity", 0.5)],
     [["activate_sam_structure"], [], ["activate_sam_structure"]]),
])
def test_actions_fire_on_edges_only(steps: list[tuple[str, float]],
                                    fired: list[list[str]]) -> None:
    tracker = AutoActionTracker()
    assert [[a.action for a in tracker.actions_fired(m, v)] for m, v in steps] == fired


def test_tracker_refuses_unknown_metric() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        AutoActionTracker().actions_fired("latency", 0.5)


@given(st.lists(unit, max_size=40))
def test_tracker_fires_exactly_on_rising_edges(values: list[float]) -> None:
    tracker = AutoActionTracker()
    before: set[str] = set()
    for value in values:
        now = {a.action for a in triggered_actions("chaos", value)}
        assert {a.action for a in tracker.actions_fired("chaos", value)} == now - before
        before = now
