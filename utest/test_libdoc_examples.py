"""Every example in WebSocketLibrary's keyword documentation is run, so none can go stale.

The examples talk to APIs that do not exist here (ws://localhost:3001, a "pong" that only
their server sends), so they run in Robot Framework's dry-run mode: each becomes a test of
a generated suite, and Robot checks that every keyword exists and that every argument binds
(count and names). On top of that, each argument given literally is converted as Robot would
convert it (Enums, numbers, times, booleans), JSON-looking arguments must parse as JSON, and
every inline Python expression (``${{ }}``) must be found whole by Robot's variable parser
and compile. A broken example fails here naming the keyword and the line.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import robot
from robot.api import ExecutionResult, get_model
from robot.api import TestSuite as RobotSuite
from robot.api.parsing import ModelVisitor
from robot.errors import VariableError
from robot.running import TestLibrary
from robot.utils import normalize
from robot.variables.search import search_variable

from WebSocketLibrary import jsontext

LIBRARY = "WebSocketLibrary"
SETTINGS_TABLE = f"*** Settings ***\nLibrary    {LIBRARY}\nLibrary    Collections\n"
SETTINGS = ("Library ", "Suite Setup ", "Suite Teardown ", "Test Setup ", "Test Teardown ")
CELL = re.compile(r" {2,}|\t")


def examples(doc: str) -> list[list[str]]:
    """The example blocks of a docstring: runs of ``| cell    cell`` lines, as cell text."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            # Keep the indentation after "| ": a file-shaped example needs its test bodies.
            current.append(stripped[2:].rstrip() if stripped.startswith("| ") else "")
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def documented() -> dict[str, tuple[str, list[list[str]]]]:
    """Keyword name -> (its doc, its example blocks), plus the library's own docs."""
    library = TestLibrary.from_name(LIBRARY)
    found = {kw.name: (kw.doc, examples(kw.doc)) for kw in library.keywords}
    found["(library introduction)"] = (library.doc, examples(library.doc))
    if library.init is not None:
        found["(library import)"] = (library.init.doc, examples(library.init.doc))
    return found


DOCS = documented()


def test_every_keyword_documents_an_example() -> None:
    missing = [name for name, (_, blocks) in DOCS.items()
               if not blocks and not name.startswith("(")]
    assert missing == []


def suite_text() -> str:
    """One test per example block; a block that is a whole file (the introduction) keeps its
    own sections, a setting line (``Library``, ``Suite Teardown`` …) becomes a setting."""
    tests: list[str] = []
    settings = [SETTINGS_TABLE]
    for name, (_, blocks) in DOCS.items():
        for number, block in enumerate(blocks, 1):
            if any(line.startswith("*****") for line in block):
                settings.append(whole_file(block))
                continue
            body = []
            # A test setting such as [Teardown] needs a step beside it to make a test.
            lines = [*block, "No Operation"] if all(
                line.strip().startswith("[") for line in block) else block
            for line in filter(str.strip, lines):
                if line.startswith(SETTINGS):
                    settings.append(f"*** Settings ***\n{line}\n")
                else:
                    body.append(f"    {line.strip()}")
            if body:
                tests.append(f"{name} Example {number}\n" + "\n".join(body))
    return "\n".join(settings) + "\n*** Test Cases ***\n" + "\n\n".join(tests) + "\n"


def whole_file(block: list[str]) -> str:
    """A file-shaped example, its sections named with three asterisks as Robot expects."""
    lines = [re.sub(r"^\*{5} (.*) \*{5}$", r"*** \1 ***", line) for line in block]
    return "\n".join(lines) + "\n"


def test_every_example_binds_its_keywords_and_arguments_in_a_dry_run(tmp_path: Path) -> None:
    suite = tmp_path / "libdoc_examples.robot"
    suite.write_text(suite_text(), encoding="utf-8")
    rc = robot.run(str(suite), dryrun=True, outputdir=str(tmp_path), output="output.xml",
                   log="NONE", report="NONE", stdout=io.StringIO(), stderr=io.StringIO())
    result = ExecutionResult(str(tmp_path / "output.xml"))
    failures = {test.name: test.message for test in result.suite.all_tests
                if test.status == "FAIL"}
    assert failures == {}
    assert rc == 0
    generated = len(RobotSuite.from_file_system(suite).tests)
    assert result.statistics.total.passed == generated > 40  # every example ran


class LiteralArguments(ModelVisitor):
    """Collects (example, keyword, problem) for the literal arguments of library keywords."""

    def __init__(self) -> None:
        library = TestLibrary.from_name(LIBRARY)
        self.keywords = {normalize(kw.name): kw for kw in library.keywords}
        self.test = ""
        self.problems: list[str] = []

    def visit_TestCase(self, node: Any) -> None:
        self.test = node.name
        self.generic_visit(node)

    def visit_KeywordCall(self, node: Any) -> None:
        calls = [(node.keyword, list(node.args))]
        if node.keyword and normalize(node.keyword) == "runkeywordandexpecterror":
            calls.append((node.args[1], list(node.args[2:])))
        for name, args in calls:
            kw = self.keywords.get(normalize(name or ""))
            if kw is not None:
                for index, value in enumerate(args):
                    self.check(kw, index, value)
            for value in args:
                self.check_inline_python(name, value)

    def check(self, kw: Any, index: int, value: str) -> None:
        spec = kw.args
        arg_name, _, given = value.partition("=")
        if arg_name not in spec.argument_names:
            # Robot passes an unknown name=value on as a positional value, silently.
            if re.fullmatch(r"[a-z_]+", arg_name) and given and spec.var_named is None:
                self.problems.append(f"{self.test}: {kw.name} {value}: {kw.name} has no "
                                     f"argument {arg_name!r}")
                return
            if index >= len(spec.positional):
                return  # too many: the dry run says so
            arg_name, given = spec.positional[index], value
        if "${" in given or "@{" in given or "&{" in given:
            return
        info = spec.types.get(arg_name)
        if info is None:
            return
        try:
            converted = info.convert(given, arg_name)
        except ValueError as error:
            self.problems.append(f"{self.test}: {kw.name} {value}: {error}")
            return
        if (isinstance(converted, str) and given.lstrip()[:1] in ("{", "[")
                and accepts_json(info)):
            try:
                jsontext.decode(given)
            except ValueError as error:
                self.problems.append(f"{self.test}: {kw.name} {value}: not JSON ({error})")

    def check_inline_python(self, keyword: str | None, value: str) -> None:
        start = value.find("${{")
        if start < 0:
            return
        try:
            found = search_variable(value[start:])
        except VariableError as error:
            self.problems.append(f"{self.test}: {keyword} {value}: Robot cannot read the inline "
                                 f"Python: {error}")
            return
        expression = found.base[1:-1] if found.base else ""
        try:
            compile(expression.strip(), "<example>", "eval")
        except SyntaxError as error:
            self.problems.append(f"{self.test}: {keyword} {value}: Robot reads the expression "
                                 f"as {expression!r}, which is not Python ({error.msg})")


def accepts_json(info: Any) -> bool:
    """Whether an argument's type takes a JSON object or array (``dict | list | str``)."""
    types = [nested.type for nested in info.nested] if info.is_union else [info.type]
    return dict in types or list in types


def test_literal_arguments_convert_and_inline_python_compiles(tmp_path: Path) -> None:
    suite = tmp_path / "libdoc_examples.robot"
    suite.write_text(suite_text(), encoding="utf-8")
    visitor = LiteralArguments()
    visitor.visit(get_model(suite))
    assert visitor.problems == []


@pytest.mark.parametrize(("line", "problem"), [
    ("Send Bytes    ${{b'{\"type\": \"ping\"'}}", "Robot cannot read the inline Python"),
    ("Send Request    {}    id_format=sequential", "cannot be converted to RequestIdFormat"),
    ("Wait For Message    timeuot=1s", "Wait For Message has no argument 'timeuot'"),
    ("Send Json    {\"type\": ping}", "not JSON"),
    ("Wait For Message    timeout=soon", "soon"),
])
def test_a_broken_example_is_caught(tmp_path: Path, line: str, problem: str) -> None:
    suite = tmp_path / "broken.robot"
    suite.write_text(SETTINGS_TABLE + f"*** Test Cases ***\nBroken\n    {line}\n",
                     encoding="utf-8")
    visitor = LiteralArguments()
    visitor.visit(get_model(suite))
    assert len(visitor.problems) == 1
    assert problem in visitor.problems[0]


def test_a_wrong_keyword_or_argument_count_fails_the_dry_run(tmp_path: Path) -> None:
    suite = tmp_path / "broken.robot"
    suite.write_text(SETTINGS_TABLE + "*** Test Cases ***\nUnknown\n    Send Jsn    {}\n\n"
                     "Wrong Count\n    Send Json\n", encoding="utf-8")
    robot.run(str(suite), dryrun=True, outputdir=str(tmp_path), output="output.xml",
              log="NONE", report="NONE", stdout=io.StringIO(), stderr=io.StringIO())
    result = ExecutionResult(str(tmp_path / "output.xml"))
    assert {test.name: test.status for test in result.suite.all_tests} == {
        "Unknown": "FAIL", "Wrong Count": "FAIL"}


def test_json_is_json() -> None:  # the helper the JSON check relies on
    assert jsontext.decode('{"a": [1]}') == json.loads('{"a": [1]}')
