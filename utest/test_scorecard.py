"""Scorecard: targets, verdicts, the figure marker in log messages, and the summary report."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import robot
from robot.api import ExecutionResult

from Scorecard import report
from Scorecard.figures import Figure, parse_target

# -- targets -------------------------------------------------------------------------------

@pytest.mark.parametrize(("target", "parsed"), [
    ("< 500", ("<", 500.0)),
    ("<500", ("<", 500.0)),
    ("<= 500", ("<=", 500.0)),
    ("> 0.5", (">", 0.5)),
    (">= 95", (">=", 95.0)),
    ("== 1", ("==", 1.0)),
    ("!= 0", ("!=", 0.0)),
    ("  <   200  ", ("<", 200.0)),
    ("> -1", (">", -1.0)),
    ("< 1e3", ("<", 1000.0)),
    ("< 2.5e-3", ("<", 0.0025)),
])
def test_parse_target_accepts_an_operator_and_a_number(target: str,
                                                       parsed: tuple[str, float]) -> None:
    assert parse_target(target) == parsed


@pytest.mark.parametrize("target", [
    "", "500", "< ", "fast", "=< 500", "<< 500", "!== 500", "= 500", "< abc", "< 500 ms",
    "500 <", "< 5 0",
])
def test_parse_target_rejects_anything_else_helpfully(target: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_target(target)
    message = str(raised.value)
    assert "A target looks like '< 500'" in message
    assert "<, <=, >, >=, ==" in message
    assert repr(target) in message


@pytest.mark.parametrize("target", ["< 1.2.3", "< .", "> 1..5"])
def test_parse_target_rejects_malformed_numbers_helpfully(target: str) -> None:
    with pytest.raises(ValueError, match="A target looks like"):
        parse_target(target)


# -- verdicts ------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "target", "verdict"), [
    (500, "< 500", "fail"),
    (499.999, "< 500", "pass"),
    (500, "<= 500", "pass"),
    (500.001, "<= 500", "fail"),
    (500, "> 500", "fail"),
    (500.001, "> 500", "pass"),
    (500, ">= 500", "pass"),
    (499.999, ">= 500", "fail"),
    (500, "== 500", "pass"),
    (500.5, "== 500", "fail"),
    (0, "> -1", "pass"),
    (500, "", "info"),
    (-3, "", "info"),
])
def test_verdict_at_the_boundary(value: float, target: str, verdict: str) -> None:
    assert Figure("1.1", "latency", value, "ms", target).verdict == verdict


def test_verdict_with_an_invalid_target_raises() -> None:
    with pytest.raises(ValueError, match="A target looks like"):
        _ = Figure("1.1", "latency", 1, "ms", "fast").verdict


@pytest.mark.parametrize(("figure", "text"), [
    (Figure("1.1", "connect latency", 12.3456789, "ms", "< 500"),
     "1.1 connect latency: 12.3457 ms, target < 500 ms → PASS"),
    (Figure("2.1", "ping round trip p50", 750, "ms", "< 500"),
     "2.1 ping round trip p50: 750 ms, target < 500 ms → FAIL"),
    (Figure("3.1", "messages", 42, "msgs"), "3.1 messages: 42 msgs → INFO"),
])
def test_describe(figure: Figure, text: str) -> None:
    assert figure.describe() == text


@pytest.mark.parametrize(("figure", "text"), [
    (Figure("3.1", "messages", 42, ""), "3.1 messages: 42 → INFO"),
    (Figure("3.2", "ratio", 0.5, "", ">= 0.9"), "3.2 ratio: 0.5, target >= 0.9 → FAIL"),
])
def test_describe_without_a_unit(figure: Figure, text: str) -> None:
    assert figure.describe() == text


# -- the marker in log messages ------------------------------------------------------------

@pytest.mark.parametrize("note", [
    "",
    "a -- b",
    "<> and -->, <!-- too",
    "---",
    "ends with a dash -",
    'quotes " and \\ backslash \\-- and & ampersand',
    "unicode: µs → ✓",
])
def test_to_html_and_from_message_round_trip(note: str) -> None:
    figure = Figure("2.1", "ping round trip p50", 12.5, "ms", "< 500", note)

    message = figure.to_html()

    assert Figure.from_message(message) == figure
    comment = message[message.index("<!--figure:") + len("<!--figure:"):]
    assert "--" not in comment.removesuffix("-->")  # the comment cannot end early


def test_to_html_shows_the_description_escaped() -> None:
    figure = Figure("1.1", "a <b> & c", 1, "ms", "< 500")
    assert figure.to_html().startswith(
        "<b>Figure</b> 1.1 a &lt;b&gt; &amp; c: 1 ms, target &lt; 500 ms → PASS<!--figure:")


def test_from_message_finds_the_marker_inside_other_text() -> None:
    figure = Figure("1.2", "n", 3.0, "", "", "x")
    assert Figure.from_message(f"before {figure.to_html()} after") == figure


@pytest.mark.parametrize("message", ["", "plain log text", "<b>Figure</b> no marker",
                                     "<!-- an ordinary comment -->"])
def test_from_message_without_a_marker_is_none(message: str) -> None:
    assert Figure.from_message(message) is None


# -- end to end: a robot run, then the summary ---------------------------------------------

SUITE = """\
*** Settings ***
Library    Scorecard

*** Test Cases ***
Fast Enough
    Figure Should Meet Target    1.1    connect latency    120    <    500    unit=ms

Too Slow
    Figure Should Meet Target    2.1    ping round trip p50    750.5    <    500    unit=ms
    Log    not reached

Informational
    Record Figure    1.2    messages received    42    note=a -- b <> c

Bad Target
    Record Figure    3.1    throughput    10    contains    5    unit=msg/s
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, dict[str, Any]]:
    """Run the suite once; return robot's rc, the output directory and summary.json."""
    tmp = tmp_path_factory.mktemp("scorecard")
    suite = tmp / "scorecard_demo.robot"
    suite.write_text(SUITE)
    out = tmp / "results"
    rc = robot.run(str(suite), outputdir=str(out), output="output.xml", log="NONE",
                   report="NONE", stdout=io.StringIO(), stderr=io.StringIO())
    returned = report.write(out / "output.xml", out)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["figures"] == returned["figures"]
    return rc, out, summary


def test_the_run_fails_the_failing_tests(run: tuple[int, Path, dict[str, Any]]) -> None:
    rc, out, _ = run
    assert rc == 2
    result = ExecutionResult(str(out / "output.xml"))
    tests = {test.name: test for test in result.suite.tests}
    assert {name: test.status for name, test in tests.items()} == {
        "Fast Enough": "PASS", "Too Slow": "FAIL", "Informational": "PASS",
        "Bad Target": "FAIL"}
    assert tests["Too Slow"].message == (
        "2.1 ping round trip p50: 750.5 ms, target < 500 ms → FAIL")
    assert "A figure is compared with <, <=, >, >=, ==, !=; got '*='" in (
        tests["Bad Target"].message)


def test_summary_json_has_every_figure_with_its_verdict_and_test(
        run: tuple[int, Path, dict[str, Any]]) -> None:
    _, _, summary = run
    assert summary["tests"] == {"passed": 2, "failed": 2, "skipped": 0}
    assert summary["figures_failing"] == 1
    rows = [{key: row[key] for key in ("scenario", "name", "value", "unit", "target", "note",
                                       "verdict", "test", "test_status")}
            for row in summary["figures"]]
    assert rows == [  # sorted by scenario
        {"scenario": "1.1", "name": "connect latency", "value": 120.0, "unit": "ms",
         "target": "< 500", "note": "", "verdict": "pass", "test": "Fast Enough",
         "test_status": "PASS"},
        {"scenario": "1.2", "name": "messages received", "value": 42.0, "unit": "",
         "target": "", "note": "a -- b <> c", "verdict": "info", "test": "Informational",
         "test_status": "PASS"},
        {"scenario": "2.1", "name": "ping round trip p50", "value": 750.5, "unit": "ms",
         "target": "< 500", "note": "", "verdict": "fail", "test": "Too Slow",
         "test_status": "FAIL"},
    ]
    assert {row["suite"] for row in summary["figures"]} == {"Scorecard Demo"}


def test_summary_md_has_a_table_row_per_figure(run: tuple[int, Path, dict[str, Any]]) -> None:
    _, out, _ = run
    markdown = (out / "summary.md").read_text()
    assert "Tests: 2 passed, 2 failed, 0 skipped." in markdown
    rows = [[cell.strip() for cell in line.strip("|").split("|")]
            for line in markdown.splitlines() if line.startswith("| ")]
    assert rows == [
        ["scenario", "figure", "measured", "target", "verdict", "test"],
        ["1.1", "connect latency", "120 ms", "< 500 ms", "PASS", "Fast Enough (PASS)"],
        ["1.2", "messages received", "42", "—", "INFO", "Informational (PASS)"],
        ["2.1", "ping round trip p50", "750.5 ms", "< 500 ms", "FAIL", "Too Slow (FAIL)"],
    ]


def test_summary_without_figures(tmp_path: Path) -> None:
    suite = tmp_path / "empty.robot"
    suite.write_text(textwrap.dedent("""\
        *** Test Cases ***
        Nothing Measured
            No Operation
        """))
    robot.run(str(suite), outputdir=str(tmp_path), output="output.xml", log="NONE",
              report="NONE", stdout=io.StringIO(), stderr=io.StringIO())

    summary = report.write(tmp_path / "output.xml", tmp_path / "out")

    assert summary["figures"] == []
    assert summary["figures_failing"] == 0
    assert summary["tests"] == {"passed": 1, "failed": 0, "skipped": 0}
    assert "| — | no figures were recorded | | | | |" in (tmp_path / "out" / "summary.md"
                                                         ).read_text()


def test_charts_a_test_logged_are_written_out_and_shown_in_summary_md(tmp_path: Path) -> None:
    suite = tmp_path / "pictures.robot"
    suite.write_text("""\
*** Test Cases ***
Pictured Twice
    Log    <div><svg xmlns="http://www.w3.org/2000/svg"><text>one</text></svg></div>    html=True
    Log    <svg xmlns="http://www.w3.org/2000/svg"><text>two</text></svg>    html=True
    Log    <svg> in plain text is not a chart
""")
    out = tmp_path / "results"
    robot.run(str(suite), outputdir=str(out), output="output.xml", log="NONE", report="NONE",
              stdout=io.StringIO(), stderr=io.StringIO())
    summary = report.write(out / "output.xml", out)
    assert summary["charts"] == [
        {"test": "Pictured Twice", "file": "charts/pictured-twice-1.svg"},
        {"test": "Pictured Twice", "file": "charts/pictured-twice-2.svg"}]
    assert (out / "charts" / "pictured-twice-2.svg").read_text() == (
        '<svg xmlns="http://www.w3.org/2000/svg"><text>two</text></svg>')
    assert "![Pictured Twice](charts/pictured-twice-1.svg)" in (out / "summary.md").read_text()


# -- derived figures -----------------------------------------------------------------------

def test_percent_of_is_the_share_of_the_whole() -> None:
    from Scorecard import Scorecard
    assert Scorecard().percent_of(999, 1000) == pytest.approx(99.9)
    assert Scorecard().percent_of(3, 2) == 150


def test_percent_of_nothing_is_refused() -> None:
    from Scorecard import Scorecard
    with pytest.raises(ValueError, match="positive whole, got 0"):
        Scorecard().percent_of(0, 0)


def test_mean_interval_spreads_the_duration_over_the_events() -> None:
    from datetime import timedelta

    from Scorecard import Scorecard
    assert Scorecard().mean_interval(timedelta(seconds=10), 8) == 1250
    with pytest.raises(ValueError, match="at least one event, got 0"):
        Scorecard().mean_interval(timedelta(seconds=10), 0)
