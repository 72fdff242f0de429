"""The seven voices: conditions, aliases, synthesis, cooldown, auto-actions (protocol.md 7)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboards.slo import TARGETS, auto_activations
from dashboards.voices import (
    SYNTHESIS_TRIGGER,
    VOICE_BY_ID,
    VOICES,
    Condition,
    VoiceChange,
    VoiceEngine,
    canonical_voice,
    voices_for,
)

EPS = 1e-9


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def at(**overrides: float) -> dict[str, float]:
    """The SLO targets (no voice active) with some metrics changed."""
    return {**TARGETS, **overrides}


def brief(changes: list[VoiceChange]) -> list[tuple[str, str, str]]:
    return [(c.kind, c.voice, c.reason) for c in changes]


@pytest.mark.parametrize(("voice", "name", "trigger"), [
    ("kain", "Кайн", "chaos > 0.7"),
    ("pino", "Пино", "clarity > 0.9"),
    ("sam", "Сэм", "clarity < 0.7"),
    ("anhantra", "Анхантра", "trust < 0.6"),
    ("hundun", "Хундун", "chaos < 0.2"),
    ("iskriv", "Искрив", "trust < 0.4"),
    ("iskra", "Искра", SYNTHESIS_TRIGGER),
])
def test_voice_table(voice: str, name: str, trigger: str) -> None:
    assert (VOICE_BY_ID[voice].name, VOICE_BY_ID[voice].trigger) == (name, trigger)


def test_seven_voices_in_table_order() -> None:
    assert [v.id for v in VOICES] == ["kain", "pino", "sam", "anhantra", "hundun", "iskriv",
                                      "iskra"]


@pytest.mark.parametrize(("voice", "quiet", "loud"), [
    ("kain", 0.7, 0.7 + EPS),
    ("pino", 0.9, 0.9 + EPS),
    ("sam", 0.7, 0.7 - EPS),
    ("anhantra", 0.6, 0.6 - EPS),
    ("hundun", 0.2, 0.2 - EPS),
    ("iskriv", 0.4, 0.4 - EPS),
])
def test_each_condition_at_its_limit(voice: str, quiet: float, loud: float) -> None:
    metric = VOICE_BY_ID[voice].metric
    assert metric is not None
    engine = VoiceEngine(cooldown_s=0)
    assert voice not in {c.voice for c in engine.update(at(**{metric: quiet}), {})}
    assert ("activation", voice, "metric") in brief(engine.update(at(**{metric: loud}), {}))
    assert voice in engine.active


@pytest.mark.parametrize(("name", "voice"), [
    ("kayn", "kain"), ("KANE", "kain"), ("Sem", "sam"), ("anhantha", "anhantra"),
    ("huyndun", "hundun"), ("kain", "kain"), ("Iskra", "iskra"), ("ISKRIV", "iskriv"),
    ("nobody", None), ("", None), ("kain ", None),
])
def test_canonical_voice(name: str, voice: str | None) -> None:
    assert canonical_voice(name) == voice


@pytest.mark.parametrize(("metric", "value", "voices"), [
    ("chaos", 0.85, ["kain"]), ("chaos", 0.1, ["hundun"]), ("chaos", 0.5, []),
    ("trust", 0.3, ["anhantra", "iskriv"]), ("clarity", 0.95, ["pino"]),
    ("clarity", 0.5, ["sam"]), ("pain", 0.99, []),
])
def test_voices_for_a_metric_value(metric: str, value: float, voices: list[str]) -> None:
    assert voices_for(metric, value) == voices


@pytest.mark.parametrize(("trigger", "value", "intensity"), [
    ("chaos > 0.7", 0.85, 0.5),
    ("chaos > 0.7", 1.0, 1.0),
    ("chaos > 0.7", 0.8, 0.333),
    ("chaos > 0.7", 0.7, 0.0),
    ("chaos > 0.7", 1.5, 1.0),
    ("clarity < 0.7", 0.35, 0.5),
    ("trust < 0.6", 0.0, 1.0),
    ("trust < 0.4", 0.1, 0.75),
    ("clarity > 0.9", 0.95, 0.5),
    ("chaos < 0.2", 0.3, 0.0),
])
def test_intensity(trigger: str, value: float, intensity: float) -> None:
    assert Condition.parse(trigger).intensity(value) == intensity


@pytest.mark.parametrize("text", ["chaos >> 0.7", "latency > 1", "chaos > high", "chaos"])
def test_condition_parse_refuses_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        Condition.parse(text)


def test_scenario_7_3_kain_activates_with_its_intensity() -> None:
    engine = VoiceEngine()
    assert engine.update(at(chaos=0.85), {}) == [
        VoiceChange("activation", "kain", "chaos > 0.7", "metric", 0.5)]
    assert engine.update(at(chaos=0.9), {}) == []  # already active: nothing
    assert engine.update(at(chaos=0.5), {}) == [
        VoiceChange("deactivation", "kain", "chaos > 0.7", "metric", 0.0)]
    assert engine.active == frozenset()


def test_iskra_synthesis_up_and_down() -> None:
    engine = VoiceEngine(cooldown_s=0)
    steps = [
        (at(chaos=0.75), [("activation", "kain", "metric")]),
        (at(chaos=0.75, trust=0.5), [("activation", "anhantra", "metric"),
                                     ("activation", "iskra", "synthesis")]),
        (at(chaos=0.75, trust=0.5, clarity=0.65), [("activation", "sam", "metric")]),
        (at(trust=0.5, clarity=0.65), [("deactivation", "kain", "metric")]),
        (at(clarity=0.65), [("deactivation", "anhantra", "metric"),
                            ("deactivation", "iskra", "synthesis")]),
    ]
    for values, expected in steps:
        assert brief(engine.update(values, {})) == expected
    assert engine.active == {"sam"}


def test_iskra_intensity_counts_the_other_voices() -> None:
    engine = VoiceEngine()
    changes = engine.update(at(chaos=0.1, trust=0.3, clarity=0.5), {})
    assert changes[-1] == VoiceChange("activation", "iskra", SYNTHESIS_TRIGGER, "synthesis",
                                      0.667)  # sam, anhantra, hundun, iskriv: 4 of 6


def test_order_deactivations_activations_then_iskra() -> None:
    engine = VoiceEngine()
    engine.update(at(chaos=0.75), {})
    assert brief(engine.update(at(chaos=0.1, trust=0.5), {})) == [
        ("deactivation", "kain", "metric"), ("activation", "anhantra", "metric"),
        ("activation", "hundun", "metric"), ("activation", "iskra", "synthesis")]


def test_cooldown_blocks_reactivation_until_it_has_passed() -> None:
    clock = FakeClock()
    engine = VoiceEngine(cooldown_s=300, clock=clock)
    engine.update(at(chaos=0.75), {})
    clock.now = 10.0
    engine.update(at(), {})
    for now in (10.0, 100.0, 309.999):
        clock.now = now
        assert engine.update(at(chaos=0.75), {}) == []
        assert engine.active == frozenset()
    clock.now = 310.0
    assert brief(engine.update(at(chaos=0.75), {})) == [("activation", "kain", "metric")]


def test_cooldown_passing_without_the_condition_activates_nothing() -> None:
    clock = FakeClock()
    engine = VoiceEngine(cooldown_s=5, clock=clock)
    engine.update(at(chaos=0.75), {})
    engine.update(at(), {})
    clock.now = 100.0
    assert engine.update(at(), {}) == []


def test_a_voice_in_cooldown_does_not_count_for_iskra_and_iskra_has_a_cooldown() -> None:
    clock = FakeClock()
    engine = VoiceEngine(cooldown_s=60, clock=clock)
    engine.update(at(chaos=0.75, trust=0.5), {})  # kain, anhantra, iskra
    clock.now = 1.0
    assert brief(engine.update(at(trust=0.5), {})) == [
        ("deactivation", "kain", "metric"), ("deactivation", "iskra", "synthesis")]
    clock.now = 2.0
    # kain is blocked; sam makes two voices with anhantra, but iskra is cooling down too
    assert brief(engine.update(at(chaos=0.75, trust=0.5, clarity=0.6), {})) == [
        ("activation", "sam", "metric")]
    clock.now = 61.0
    assert brief(engine.update(at(chaos=0.75, trust=0.5, clarity=0.6), {})) == [
        ("activation", "kain", "metric"), ("activation", "iskra", "synthesis")]


def test_scenario_8_3_auto_action_activates_pino_and_hundun() -> None:
    engine = VoiceEngine()
    values = at(clarity=0.95)
    assert engine.update(values, auto_activations(values)) == [
        VoiceChange("activation", "pino", "clarity > 0.9", "metric", 0.5),
        VoiceChange("activation", "hundun", "clarity > 0.9", "auto_action", 0.5),
        VoiceChange("activation", "iskra", SYNTHESIS_TRIGGER, "synthesis", 0.333),
    ]


def test_a_voice_stays_while_an_auto_action_that_activated_it_holds() -> None:
    engine = VoiceEngine(cooldown_s=0)
    steps = [
        (at(chaos=0.1, clarity=0.95), [("activation", "pino", "metric"),
                                       ("activation", "hundun", "metric"),
                                       ("activation", "iskra", "synthesis")]),
        (at(clarity=0.95), []),  # chaos back to normal, clarity > 0.9 still holds for hundun
        (at(), [("deactivation", "pino", "metric"), ("deactivation", "hundun", "metric"),
                ("deactivation", "iskra", "synthesis")]),
    ]
    for values, expected in steps:
        assert brief(engine.update(values, auto_activations(values))) == expected


def test_a_voice_activated_by_an_auto_action_stays_while_its_own_condition_holds() -> None:
    engine = VoiceEngine(cooldown_s=0)
    values = at(clarity=0.95)
    engine.update(values, auto_activations(values))
    assert engine.update(at(clarity=0.95, chaos=0.1), auto_activations(values)) == []
    changes = engine.update(at(chaos=0.1), {})
    assert brief(changes) == [("deactivation", "pino", "metric"),
                              ("deactivation", "iskra", "synthesis")]
    assert engine.active == {"hundun"}


def test_auto_activations_accept_aliases() -> None:
    engine = VoiceEngine()
    assert brief(engine.update(at(trust=0.45), {"Anhantha": "trust < 0.5"})) == [
        ("activation", "anhantra", "metric")]
    assert brief(engine.update(at(trust=0.45, clarity=0.95), {"huyndun": "clarity > 0.9"})) == [
        ("activation", "pino", "metric"), ("activation", "hundun", "auto_action"),
        ("activation", "iskra", "synthesis")]


@pytest.mark.parametrize(("values", "autos"), [
    ({"chaos": 0.5}, {}),
    (TARGETS, {"nobody": "clarity > 0.9"}),
    (TARGETS, {"iskra": "clarity > 0.9"}),
    (TARGETS, {"pino": "clarity is high"}),
])
def test_update_refuses_caller_bugs(values: dict[str, float], autos: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        VoiceEngine().update(values, autos)


def test_negative_cooldown_is_refused() -> None:
    with pytest.raises(ValueError, match="cooldown"):
        VoiceEngine(cooldown_s=-1)


unit = st.floats(min_value=0, max_value=1)
metric_values = st.fixed_dictionaries({m: unit for m in TARGETS})


@given(st.lists(st.tuples(metric_values, st.floats(0, 50)), max_size=30),
       st.sampled_from([0.0, 20.0, 300.0]))
def test_active_set_is_what_the_changes_say(steps: list[tuple[dict[str, float], float]],
                                            cooldown: float) -> None:
    clock = FakeClock()
    engine = VoiceEngine(cooldown_s=cooldown, clock=clock)
    replayed: set[str] = set()
    for values, elapsed in steps:
        clock.now += elapsed
        autos = auto_activations(values)
        for change in engine.update(values, autos):
            if change.kind == "activation":
                assert change.voice not in replayed
                replayed.add(change.voice)
            else:
                replayed.remove(change.voice)
            assert 0.0 <= change.intensity <= 1.0
        assert engine.active == replayed
        others = replayed - {"iskra"}
        wanted = {v.id for v in VOICES
                  if v.condition and (v.condition.holds(values[v.condition.metric])
                                      or v.id in autos)}
        assert others <= wanted
        if "iskra" in replayed:
            assert len(others) >= 2
        if cooldown == 0:
            assert others == wanted
            assert ("iskra" in replayed) == (len(others) >= 2)
