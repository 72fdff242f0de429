"""The suites of tests/ in run order, for pabot's ``--ordering`` file."""

from __future__ import annotations

from pathlib import Path

from robot.api import TestSuiteBuilder

# Suites that interrupt the system under test (restart, database outage).
DISRUPTIVE = frozenset({"Recovery"})


def is_disruptive(suite_name: str) -> bool:
    """``11 Recovery`` is disruptive: the name without its number prefix is in DISRUPTIVE."""
    return suite_name.split(" ", 1)[-1] in DISRUPTIVE


def suites(tests: Path) -> list[str]:
    """Full names of the top-level suites of ``tests`` in file order."""
    return [suite.full_name for suite in TestSuiteBuilder().build(str(tests)).suites]


def ordering(tests: Path, part: str) -> list[str]:
    """Lines of an ordering file. ``part``: ``all`` (every suite, the disruptive ones after a
    ``#WAIT``), ``shards`` (all but the disruptive ones: what ``--shard i/n`` splits) or
    ``late`` (only the disruptive ones: run after every shard ended)."""
    names = suites(tests)
    late = [name for name in names if is_disruptive(name.rsplit(".", 1)[-1])]
    early = [name for name in names if name not in late]
    if part == "all":
        return [f"--suite {n}" for n in early] + ["#WAIT"] + [f"--suite {n}" for n in late]
    if part == "shards":
        return [f"--suite {n}" for n in early]
    if part == "late":
        return [f"--suite {n}" for n in late]
    raise ValueError(f"part must be all, shards or late, not {part!r}")
