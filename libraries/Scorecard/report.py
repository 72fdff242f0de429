"""Build results/summary.json and results/summary.md from a run's output.xml."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from robot.api import ExecutionResult, ResultVisitor
from robot.result import Message, TestCase, TestSuite

from .figures import Figure, Unchecked

# The charts a test logged (inline SVG), written out as files that summary.md shows.
_SVG = re.compile(r"<svg\b.*?</svg>", re.S)


class _FigureCollector(ResultVisitor):
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.unchecked: list[dict[str, Any]] = []
        self.charts: list[tuple[str, str]] = []  # (test or suite name, svg)
        self._test: TestCase | None = None
        self._suites: list[TestSuite] = []

    def start_suite(self, suite: TestSuite) -> None:
        self._suites.append(suite)

    def end_suite(self, suite: TestSuite) -> None:
        self._suites.pop()

    def start_test(self, test: TestCase) -> None:
        self._test = test

    def end_test(self, test: TestCase) -> None:
        self._test = None

    def visit_message(self, msg: Message) -> None:
        if not msg.html:
            return
        suite = self._suites[-1]
        owner = self._test or suite
        figure = Figure.from_message(msg.message)
        if figure is not None:
            self.rows.append({**asdict(figure), "verdict": figure.verdict,
                              "suite": suite.full_name, "test": owner.name,
                              "test_status": owner.status})
        unchecked = Unchecked.from_message(msg.message)
        if unchecked is not None:
            self.unchecked.append({**asdict(unchecked), "test": owner.name})
        self.charts += [(owner.name, svg) for svg in _SVG.findall(msg.message)]


def _scenario_key(row: dict[str, Any]) -> tuple[int, ...]:
    parts = [int(p) for p in row["scenario"].split(".") if p.isdigit()]
    return (*parts, 0) if parts else (999,)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "chart"


def build(output_xml: Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The summary, and each chart of the run as (file name under charts/, svg)."""
    result = ExecutionResult(str(output_xml))
    collector = _FigureCollector()
    result.visit(collector)
    files: list[tuple[str, str]] = []
    charts = []
    per_test: Counter[str] = Counter()
    for test, svg in collector.charts:
        per_test[test] += 1
        name = f"{_slug(test)}-{per_test[test]}.svg"
        files.append((name, svg))
        charts.append({"test": test, "file": f"charts/{name}"})
    stats = result.statistics.total
    figures = sorted(collector.rows, key=_scenario_key)
    return {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": str(output_xml),
        "tests": {"passed": stats.passed, "failed": stats.failed, "skipped": stats.skipped},
        "figures": figures,
        "figures_failing": sum(1 for f in figures if f["verdict"] == "fail"),
        "not_checked": sorted(collector.unchecked, key=_scenario_key),
        "charts": charts,
    }, files


def to_markdown(summary: dict[str, Any]) -> str:
    tests = summary["tests"]
    lines = [
        "# Acceptance run: measured figures",
        "",
        f"Tests: {tests['passed']} passed, {tests['failed']} failed, "
        f"{tests['skipped']} skipped. Generated {summary['generated_at']}.",
        "",
        "| scenario | figure | measured | target | verdict | test |",
        "|---|---|---|---|---|---|",
    ]
    for row in summary["figures"]:
        target = f"{row['target']} {row['unit']}".strip() if row["target"] else "—"
        test = row["test"]
        measured = f"{row['value']:.4g} {row['unit']}".strip()
        lines.append(f"| {row['scenario']} | {row['name']} | {measured} "
                     f"| {target} | {row['verdict'].upper()} | {test} ({row['test_status']}) |")
    if not summary["figures"]:
        lines.append("| — | no figures were recorded | | | | |")
    if summary.get("not_checked"):
        lines += ["", "## Not checked against this target", "",
                  "| scenario | check | why | test |", "|---|---|---|---|"]
        lines += [f"| {row['scenario']} | {row['what']} | {row['reason']} | {row['test']} |"
                  for row in summary["not_checked"]]
    if summary.get("charts"):
        lines += ["", "## Charts", ""]
        lines += [f"![{chart['test']}]({chart['file']})" for chart in summary["charts"]]
    return "\n".join(lines) + "\n"


def write(output_xml: Path, out_dir: Path) -> dict[str, Any]:
    summary, files = build(output_xml)
    out_dir.mkdir(parents=True, exist_ok=True)
    if files:
        (out_dir / "charts").mkdir(exist_ok=True)
    for name, svg in files:
        (out_dir / "charts" / name).write_text(svg)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out_dir / "summary.md").write_text(to_markdown(summary))
    return summary
