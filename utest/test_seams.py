"""System states and seams (protocol.md section 7)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboards.seams import (
    STATE_BY_NAME,
    STATES,
    SeamChange,
    SeamTracker,
    classify_state,
    intensity,
)

TARGETS = {"clarity": 0.8, "chaos": 0.45, "trust": 0.8, "pain": 0.3}


def point(clarity: float, chaos: float, trust: float, pain: float) -> dict[str, float]:
    return {"clarity": clarity, "chaos": chaos, "trust": trust, "pain": pain}


@pytest.mark.parametrize(("state", "seam_type"), [
    ("CHAOTIC_CREATION", "chaos_seam"), ("CRYSTALLIZATION", "weave_seam"),
    ("CRISIS_MODE", "conflict_seam"), ("HARMONIOUS_FLOW", "insight_seam"),
    ("CREATIVE_TENSION", "bridge_seam"), ("UNKNOWN", "pause_seam"),
])
def test_state_table(state: str, seam_type: str) -> None:
    assert STATE_BY_NAME[state].seam_type == seam_type


def test_states_in_priority_order() -> None:
    assert [s.name for s in STATES] == ["CHAOTIC_CREATION", "CRYSTALLIZATION", "CRISIS_MODE",
                                        "HARMONIOUS_FLOW", "CREATIVE_TENSION", "UNKNOWN"]


@pytest.mark.parametrize(("values", "state"), [
    (point(clarity=0.5, chaos=0.8, trust=0.7, pain=0.3), "CHAOTIC_CREATION"),
    (point(clarity=0.85, chaos=0.1, trust=0.7, pain=0.3), "CRYSTALLIZATION"),
    (point(clarity=0.75, chaos=0.35, trust=0.45, pain=0.65), "CRISIS_MODE"),
    (point(clarity=0.75, chaos=0.35, trust=0.85, pain=0.25), "HARMONIOUS_FLOW"),
    (TARGETS, "CREATIVE_TENSION"),
    (point(clarity=0.65, chaos=0.35, trust=0.7, pain=0.3), "UNKNOWN"),
    # first match wins where several conditions hold
    (point(clarity=0.5, chaos=0.8, trust=0.3, pain=0.9), "CHAOTIC_CREATION"),  # + CRISIS
    (point(clarity=0.9, chaos=0.1, trust=0.9, pain=0.1), "CRYSTALLIZATION"),  # + HARMONIOUS
    (point(clarity=0.9, chaos=0.1, trust=0.3, pain=0.9), "CRYSTALLIZATION"),  # + CRISIS
    (point(clarity=0.8, chaos=0.5, trust=0.3, pain=0.9), "CRISIS_MODE"),  # + CREATIVE
    (point(clarity=0.8, chaos=0.5, trust=0.9, pain=0.1), "HARMONIOUS_FLOW"),  # + CREATIVE
    # strict comparisons at every limit
    (point(clarity=0.5, chaos=0.7, trust=0.7, pain=0.3), "UNKNOWN"),
    (point(clarity=0.6, chaos=0.8, trust=0.7, pain=0.3), "UNKNOWN"),
    (point(clarity=0.8, chaos=0.2, trust=0.7, pain=0.3), "UNKNOWN"),
    (point(clarity=0.8, chaos=0.1, trust=0.7, pain=0.3), "UNKNOWN"),
    (point(clarity=0.75, chaos=0.35, trust=0.45, pain=0.6), "UNKNOWN"),
    (point(clarity=0.75, chaos=0.35, trust=0.5, pain=0.65), "UNKNOWN"),
    (point(clarity=0.75, chaos=0.35, trust=0.8, pain=0.25), "UNKNOWN"),
    (point(clarity=0.75, chaos=0.35, trust=0.85, pain=0.3), "UNKNOWN"),
    (point(clarity=0.8, chaos=0.4, trust=0.7, pain=0.3), "UNKNOWN"),
    (point(clarity=0.8, chaos=0.6, trust=0.7, pain=0.3), "UNKNOWN"),
    (point(clarity=0.7, chaos=0.5, trust=0.7, pain=0.3), "UNKNOWN"),
])
def test_classify_state(values: dict[str, float], state: str) -> None:
    assert classify_state(values) == state


@pytest.mark.parametrize(("values", "expected"), [
    (TARGETS, 0.85),
    (point(clarity=0.9, chaos=0.1234, trust=0.1111, pain=0.0), 0.888),
    (point(clarity=0.5, chaos=0.5, trust=0.5, pain=0.5), 0.0),
    (point(clarity=0.0, chaos=1.0, trust=1.0, pain=0.0), 2.0),
    (point(clarity=0.3, chaos=0.1, trust=0.2, pain=0.7), 0.7),
])
def test_intensity_is_rounded_to_three_decimals(values: dict[str, float],
                                                expected: float) -> None:
    assert intensity(values) == expected


def test_missing_metrics_are_refused() -> None:
    with pytest.raises(ValueError, match="pain"):
        classify_state({"clarity": 0.8, "chaos": 0.45, "trust": 0.8})


def test_tracker_emits_only_when_the_state_changes() -> None:
    tracker = SeamTracker(TARGETS)
    assert tracker.state == "CREATIVE_TENSION"
    assert tracker.update(TARGETS) is None
    assert tracker.update({**TARGETS, "chaos": 0.5}) is None  # moved, same state
    crisis = {**TARGETS, "pain": 0.7, "trust": 0.4}
    assert tracker.update(crisis) == SeamChange("CREATIVE_TENSION", "CRISIS_MODE",
                                                "conflict_seam", 0.65)
    assert tracker.update(crisis) is None
    assert tracker.update(TARGETS) == SeamChange("CRISIS_MODE", "CREATIVE_TENSION",
                                                 "bridge_seam", 0.85)
    assert tracker.state == "CREATIVE_TENSION"


unit = st.floats(min_value=0, max_value=1)
metric_values = st.fixed_dictionaries({m: unit for m in TARGETS})


@given(st.lists(metric_values, max_size=30))
def test_tracker_reports_exactly_the_state_changes(steps: list[dict[str, float]]) -> None:
    tracker = SeamTracker(TARGETS)
    previous = "CREATIVE_TENSION"
    for values in steps:
        state = classify_state(values)
        change = tracker.update(values)
        if state == previous:
            assert change is None
        else:
            assert change is not None
            assert (change.from_state, change.to_state) == (previous, state)
            assert change.seam_type == STATE_BY_NAME[state].seam_type
            assert 0.0 <= change.intensity <= 2.0
        previous = state
        assert tracker.state == state
