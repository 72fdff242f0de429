"""The shards' output.xml files into one run's output, and what a combined run must hold.

``rebot`` given several outputs nests each under a new top suite (``Tests & Tests``); the
``FlattenShards`` pre-rebot modifier lifts their suites into one top suite named like a single
run's, each suite marked with the shard that ran it (``Shard`` metadata), so the combined
report lists the tests under the same full names as a single run would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robot.api import ExecutionResult, SuiteVisitor, TestSuiteBuilder
from robot.rebot import rebot
from robot.result import TestSuite


class FlattenShards(SuiteVisitor):
    """Pre-rebot modifier: ``Tests & Tests & Tests`` (one per shard) becomes ``Tests``."""

    def start_suite(self, suite: TestSuite) -> bool:
        shards = list(suite.suites)
        if suite.parent is not None or len(shards) < 2:
            return False
        if not all(shard.suites for shard in shards):
            # A shard that ran one file has no suites to lift: keep the shards as they are.
            for shard in shards:
                shard.metadata.setdefault("Shard", "?")
            return False
        suite.name = shards[0].name
        suite.doc = shards[0].doc
        suite.metadata = {k: v for k, v in shards[0].metadata.items() if k != "Shard"}
        suite.metadata["Shards"] = ", ".join(str(s.metadata.get("Shard", "?")) for s in shards)
        suite.setup = shards[0].setup.to_dict() if shards[0].has_setup else None
        suite.teardown = shards[-1].teardown.to_dict() if shards[-1].has_teardown else None
        children = []
        for shard in shards:
            for child in shard.suites:
                child.metadata["Shard"] = shard.metadata.get("Shard", shard.source or "?")
                children.append(child)
        suite.suites = children
        return False


def shard_problems(outputs: list[Path]) -> list[str]:
    """What went wrong in a shard outside its tests: a missing output, a top-level set-up or
    tear-down that failed (its tests say so too, but a failed tear-down would otherwise be
    lost when the shards' top suites are merged into one)."""
    problems = []
    for output in outputs:
        if not output.is_file():
            problems.append(f"{output}: missing; the tests of that shard were lost")
            continue
        top = ExecutionResult(str(output)).suite
        shard = top.metadata.get("Shard", str(output))
        for kind, fixture in (("set-up", top.setup), ("tear-down", top.teardown)):
            if fixture and fixture.status == "FAIL":
                problems.append(f"shard {shard}: suite {kind} failed: {fixture.message}")
    return problems


def combine(outputs: list[Path], out: Path, rebot_options: dict[str, Any]) -> int:
    """Writes output.xml, log.html, report.html and xunit.xml of the combined run into
    ``out``; returns rebot's return code (the number of failed tests, as robot's)."""
    present = [str(o) for o in outputs if o.is_file()]
    if not present:
        raise FileNotFoundError("no shard wrote an output.xml: " + ", ".join(map(str, outputs)))
    return int(rebot(*present, outputdir=str(out), output="output.xml", log="log.html",
                     report="report.html", xunit="xunit.xml",
                     prerebotmodifier=FlattenShards() if len(present) > 1 else None,
                     **rebot_options))


def expected_tests(tests: Path, include: list[str], exclude: list[str]) -> list[str]:
    """Full names of the tests a single run of ``tests`` with these tag filters would run."""
    suite = TestSuiteBuilder().build(str(tests))
    suite.configure(include_tags=include or None, exclude_tags=exclude or None)
    names: list[str] = []
    suite.visit(_TestNames(names))
    return names


def run_tests(output: Path) -> list[str]:
    """Full names of the tests of an output.xml."""
    names: list[str] = []
    ExecutionResult(str(output)).suite.visit(_TestNames(names))
    return names


def test_list_differences(expected: list[str], got: list[str]) -> list[str]:
    """Lines naming each test missing, unexpected or run twice; empty when the lists agree
    (order aside: shards finish in any order)."""
    lines = [f"missing: {name}" for name in expected if name not in set(got)]
    lines += [f"not expected: {name}" for name in got if name not in set(expected)]
    seen: set[str] = set()
    for name in got:
        if name in seen:
            lines.append(f"run twice: {name}")
        seen.add(name)
    return lines


class _TestNames(SuiteVisitor):
    def __init__(self, names: list[str]) -> None:
        self.names = names

    def visit_test(self, test: Any) -> None:
        self.names.append(test.full_name)
