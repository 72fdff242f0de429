"""Contract coverage: which acceptance tests check which rule of the contract.

Reads the rule catalogue (docs/contract-rules.md) and the ``rule:<id>`` tags of the tests in
tests/ (parsed with Robot Framework's TestSuiteBuilder; nothing is run) and writes
docs/coverage.md: for every rule, the tests that carry its tag, or the reason why no
acceptance test can check it.

    .venv/bin/python scripts/contract_coverage.py            # (re)write docs/coverage.md
    .venv/bin/python scripts/contract_coverage.py --check    # verify, write nothing

``scripts/coverage`` runs it with the project's virtualenv. Both modes exit 1 when a rule id
of the catalogue is malformed or duplicated, a catalogue row is broken, or a test carries a
``rule:`` tag that names no rule; ``--check`` also exits 1 when docs/coverage.md is not what
it would write. A rule with neither a test nor a reason is a failure too.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "docs" / "contract-rules.md"
REPORT = ROOT / "docs" / "coverage.md"
TESTS = ROOT / "tests"

TAG_PREFIX = "rule:"
# <area>.<slug>: lowercase words of [a-z0-9] joined by single hyphens.
RULE_ID = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*\.[a-z0-9]+(?:-[a-z0-9]+)*")
COLUMNS = ("id", "rule", "§", "not tested because")
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
SEPARATOR_ROW = re.compile(r"\|(?:\s*:?-+:?\s*\|)+")
NO_TEST = "—"


@dataclass(frozen=True)
class Rule:
    id: str
    text: str
    section: str  # the contract section(s) stating it, the § column
    reason: str   # why no acceptance test can check it, or ""
    line: int


@dataclass
class Section:
    title: str
    rules: list[Rule] = field(default_factory=list)


@dataclass
class Catalogue:
    sections: list[Section]
    problems: list[str]

    @property
    def rules(self) -> list[Rule]:
        return [rule for section in self.sections for rule in section.rules]


@dataclass(frozen=True)
class RobotTest:
    suite_file: str  # relative to the folder holding the tests folder: tests/05_errors.robot
    name: str
    rule_ids: tuple[str, ...]

    def label(self) -> str:
        return f"{self.suite_file}: {self.name}"


# --- the catalogue ---------------------------------------------------------------------------

def split_row(line: str) -> list[str]:
    """The cells of a Markdown table row; ``\\|`` is a pipe inside a cell."""
    body = line.strip()
    body = body.removeprefix("|")
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [cell.strip().replace("\\|", "|") for cell in UNESCAPED_PIPE.split(body)]


def parse_catalogue(text: str, name: str = "contract-rules.md") -> Catalogue:
    """The sections and rules of a catalogue, and what is wrong with it."""
    sections: list[Section] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("## "):
            sections.append(Section(line[3:].strip()))
            continue
        if not line.startswith("|") or SEPARATOR_ROW.fullmatch(line):
            continue
        cells = split_row(line)
        if [cell.lower() for cell in cells] == list(COLUMNS):
            continue
        where = f"{name}:{number}"
        if not sections:
            problems.append(f"{where}: a rule row before the first '## ' section heading")
            sections.append(Section(""))
        if len(cells) != len(COLUMNS):
            problems.append(f"{where}: a rule row needs {len(COLUMNS)} cells "
                            f"({' | '.join(COLUMNS)}), found {len(cells)}")
            continue
        rule_id, rule_text, section, reason = cells
        rule_id = rule_id.strip("`")
        if not RULE_ID.fullmatch(rule_id):
            problems.append(f"{where}: malformed rule id {rule_id!r} "
                            f"(expected lowercase <area>.<slug> of [a-z0-9-])")
            continue
        if not rule_text:
            problems.append(f"{where}: rule {rule_id} has no text")
        if rule_id in first_line:
            problems.append(f"{where}: duplicate rule id {rule_id} "
                            f"(first at line {first_line[rule_id]})")
            continue
        first_line[rule_id] = number
        sections[-1].rules.append(Rule(rule_id, rule_text, section, reason, number))
    return Catalogue(sections, problems)


def read_catalogue(path: Path) -> Catalogue:
    return parse_catalogue(path.read_text(encoding="utf-8"), path.name)


# --- the tests -------------------------------------------------------------------------------

def collect_tests(tests_dir: Path) -> list[RobotTest]:
    """Every test of ``tests_dir`` with the rule ids of its ``rule:`` tags (lower-case)."""
    from robot.api import TestSuiteBuilder  # the venv's robot; imported only when needed

    suite = TestSuiteBuilder(allow_empty_suite=True).build(str(tests_dir))
    base = tests_dir.resolve().parent
    found = []
    for test in suite.all_tests:
        source = Path(test.source).resolve() if test.source else tests_dir
        try:
            suite_file = source.relative_to(base).as_posix()
        except ValueError:
            suite_file = source.as_posix()
        ids = tuple(tag[len(TAG_PREFIX):].strip().lower() for tag in test.tags
                    if tag.lower().startswith(TAG_PREFIX))
        found.append(RobotTest(suite_file, test.name, ids))
    return found


def unknown_tags(catalogue: Catalogue, tests: Sequence[RobotTest]) -> list[str]:
    """One line per ``rule:`` tag that names no rule of the catalogue."""
    known = {rule.id for rule in catalogue.rules}
    return [f"{test.label()}: tag {TAG_PREFIX}{rule_id} names no rule of the catalogue"
            for test in tests for rule_id in test.rule_ids if rule_id not in known]


# --- the report ------------------------------------------------------------------------------

@dataclass
class Coverage:
    catalogue: Catalogue
    tests_of: dict[str, list[RobotTest]]

    def tested(self) -> list[Rule]:
        return [rule for rule in self.catalogue.rules if self.tests_of[rule.id]]

    def reasoned(self) -> list[Rule]:
        return [rule for rule in self.catalogue.rules
                if not self.tests_of[rule.id] and rule.reason]

    def neither(self) -> list[Rule]:
        return [rule for rule in self.catalogue.rules
                if not self.tests_of[rule.id] and not rule.reason]


def compute_coverage(catalogue: Catalogue, tests: Sequence[RobotTest]) -> Coverage:
    tests_of: dict[str, list[RobotTest]] = {rule.id: [] for rule in catalogue.rules}
    for test in tests:
        for rule_id in dict.fromkeys(test.rule_ids):
            if rule_id in tests_of:
                tests_of[rule_id].append(test)
    return Coverage(catalogue, tests_of)


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(coverage: Coverage, catalogue_name: str = "contract-rules.md") -> str:
    rules = coverage.catalogue.rules
    lines = [
        "# Contract coverage",
        "",
        f"Generated by `scripts/coverage` from [{catalogue_name}]({catalogue_name}) and the",
        "`rule:<id>` tags of the tests in `tests/`. Do not edit it by hand: run",
        "`scripts/coverage` after changing either, and `scripts/coverage --check` to verify.",
        "",
        f"- Rules: {len(rules)}",
        f"- Rules with tests: {len(coverage.tested())}",
        f"- Rules without a test, with a reason: {len(coverage.reasoned())}",
        f"- Rules with neither: {len(coverage.neither())}",
    ]
    for section in coverage.catalogue.sections:
        if not section.rules:
            continue
        lines += ["", f"## {section.title}", "", "| rule | tests |", "|---|---|"]
        for rule in section.rules:
            tests = coverage.tests_of[rule.id]
            if tests:
                tested = "<br>".join(cell(test.label()) for test in tests)
            elif rule.reason:
                tested = f"{NO_TEST} {cell(rule.reason)}"
            else:
                tested = NO_TEST
            lines.append(f"| `{rule.id}`: {cell(rule.text)} | {tested} |")
    lines += ["", "## Rules with no test and no reason", ""]
    neither = coverage.neither()
    lines += [f"- `{rule.id}` (§ {rule.section})" for rule in neither] or ["None."]
    return "\n".join(lines) + "\n"


# --- command line ----------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/coverage",
        description="Write docs/coverage.md from docs/contract-rules.md and the rule:<id> "
                    "tags of the tests, or verify it (--check).")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when the report is stale, a tag names no "
                             "rule, or a rule id is duplicated or malformed")
    parser.add_argument("--catalogue", type=Path, default=CATALOGUE, help=argparse.SUPPRESS)
    parser.add_argument("--tests", type=Path, default=TESTS, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=REPORT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from robot.errors import DataError

    try:
        catalogue = read_catalogue(args.catalogue)
        tests = collect_tests(args.tests)
    except (OSError, DataError) as error:
        print(f"coverage: {error}", file=sys.stderr)
        return 1
    coverage = compute_coverage(catalogue, tests)
    report = render(coverage, args.catalogue.name)
    failures = catalogue.problems + unknown_tags(catalogue, tests)
    failures += [f"rule {rule.id} has neither a test (tag rule:{rule.id}) nor a written reason"
                 for rule in coverage.neither()]

    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current is None:
            failures.append(f"{args.output} does not exist; run scripts/coverage")
        elif current != report:
            diff = list(difflib.unified_diff(current.splitlines(), report.splitlines(),
                                             "as it is", "as it would be written", lineterm="",
                                             n=0))
            shown = "\n".join(diff[:40]) + ("\n…" if len(diff) > 40 else "")
            failures.append(f"{args.output} is out of date; run scripts/coverage\n{shown}")
    else:
        args.output.write_text(report, encoding="utf-8")

    rules = catalogue.rules
    print(f"coverage: {len(rules)} rules, {len(coverage.tested())} with tests, "
          f"{len(coverage.reasoned())} without a test but with a reason, "
          f"{len(coverage.neither())} with neither"
          + ("" if args.check else f"; wrote {args.output}"))
    for failure in failures:
        print(f"coverage: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
