"""scripts/contract_coverage.py: the rule catalogue's format, the rule:<id> tags of Robot tests,
and the generated docs/coverage.md, on small catalogues and .robot files of each test's own."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "contract_coverage", ROOT / "scripts" / "contract_coverage.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


cc = load_module()

HEADER = "| id | rule | § | not tested because |\n|---|---|---|---|\n"
CATALOGUE = (
    "# Contract rules\n\nIntro | with a pipe that is no table.\n\n"
    "## 2. Frames\n\n" + HEADER
    + "| `frames.binary-invalid-message` | A binary frame gets `invalid_message`. | 2 | |\n"
    + "| `frames.no-html` | Never HTML. | 2 | The API has no HTML context. |\n"
    + "\n## 7. Voices and seams\n\n" + HEADER
    + "| `seams.intensity` | \\|chaos − clarity\\| + \\|pain − trust\\| | 7 | |\n"
)
SUITE = """\
*** Settings ***
Test Tags         rule:seams.intensity

*** Test Cases ***
5.1 Binary Frame
    [Tags]    RULE:Frames.Binary-Invalid-Message    smoke
    No Operation

7.6 Seams
    No Operation
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    """A catalogue, a tests folder with one suite, and where the report goes."""
    return {
        "catalogue": write(tmp_path / "docs" / "contract-rules.md", CATALOGUE),
        "tests": write(tmp_path / "tests" / "05_errors.robot", SUITE).parent,
        "output": tmp_path / "docs" / "coverage.md",
    }


def run(project: dict[str, Path], *extra: str) -> int:
    return cc.main(["--catalogue", str(project["catalogue"]), "--tests", str(project["tests"]),
                    "--output", str(project["output"]), *extra])


# --- the catalogue ---------------------------------------------------------------------------

def test_catalogue_sections_rules_and_reasons() -> None:
    catalogue = cc.parse_catalogue(CATALOGUE)
    assert catalogue.problems == []
    assert [s.title for s in catalogue.sections] == ["2. Frames", "7. Voices and seams"]
    binary, no_html, intensity = catalogue.rules
    assert (binary.id, binary.text, binary.section, binary.reason) == (
        "frames.binary-invalid-message", "A binary frame gets `invalid_message`.", "2", "")
    assert no_html.reason == "The API has no HTML context."
    assert intensity.text == "|chaos − clarity| + |pain − trust|"  # escaped pipes


@pytest.mark.parametrize("bad_id", ["Frames.binary", "frames", "frames.", ".binary",
                                    "frames.binary_frame", "frames.binary--frame",
                                    "frames.binary frame", "frames.a.b"])
def test_malformed_ids_are_problems(bad_id: str) -> None:
    catalogue = cc.parse_catalogue(f"## 2. Frames\n\n{HEADER}| `{bad_id}` | Text. | 2 | |\n")
    assert catalogue.rules == []
    assert len(catalogue.problems) == 1
    assert "malformed rule id" in catalogue.problems[0]
    assert ":5:" in catalogue.problems[0]  # names the line


def test_duplicate_ids_are_problems() -> None:
    text = (f"## 2. Frames\n\n{HEADER}| `frames.a` | One. | 2 | |\n"
            f"\n## 9. Errors\n\n{HEADER}| `frames.a` | Again. | 9 | |\n")
    catalogue = cc.parse_catalogue(text)
    assert [rule.text for rule in catalogue.rules] == ["One."]
    assert catalogue.problems == [
        "contract-rules.md:11: duplicate rule id frames.a (first at line 5)"]


def test_rows_with_the_wrong_number_of_cells_and_rows_outside_sections() -> None:
    text = (f"{HEADER}| `frames.a` | One. | 2 | |\n"
            f"## 2. Frames\n\n| `frames.b` | Two. | 2 |\n| `frames.c` | | 2 | |\n")
    catalogue = cc.parse_catalogue(text)
    assert [rule.id for rule in catalogue.rules] == ["frames.a", "frames.c"]
    assert len(catalogue.problems) == 3
    assert "before the first '## ' section heading" in catalogue.problems[0]
    assert "needs 4 cells" in catalogue.problems[1]
    assert "frames.c has no text" in catalogue.problems[2]


# --- the tests -------------------------------------------------------------------------------

def test_rule_tags_are_collected_lower_case_with_test_tags(project: dict[str, Path]) -> None:
    tests = cc.collect_tests(project["tests"])
    assert [(t.suite_file, t.name, t.rule_ids) for t in tests] == [
        ("tests/05_errors.robot", "5.1 Binary Frame",
         ("frames.binary-invalid-message", "seams.intensity")),
        ("tests/05_errors.robot", "7.6 Seams", ("seams.intensity",)),
    ]


def test_unknown_tags_are_named(project: dict[str, Path]) -> None:
    write(project["tests"] / "06_more.robot",
          "*** Test Cases ***\n6.1 Typo\n    [Tags]    rule:frames.binary-invalid-mesage\n"
          "    No Operation\n")
    catalogue = cc.read_catalogue(project["catalogue"])
    assert cc.unknown_tags(catalogue, cc.collect_tests(project["tests"])) == [
        "tests/06_more.robot: 6.1 Typo: tag rule:frames.binary-invalid-mesage names no rule "
        "of the catalogue"]


# --- the report ------------------------------------------------------------------------------

def test_report_counts_tables_and_untested_rules(project: dict[str, Path]) -> None:
    assert run(project) == 0
    report = project["output"].read_text(encoding="utf-8")
    assert "- Rules: 3\n- Rules with tests: 2\n" in report
    assert "- Rules without a test, with a reason: 1\n- Rules with neither: 0\n" in report
    assert ("| `frames.binary-invalid-message`: A binary frame gets `invalid_message`. "
            "| tests/05_errors.robot: 5.1 Binary Frame |") in report
    assert ("| `seams.intensity`: \\|chaos − clarity\\| + \\|pain − trust\\| "
            "| tests/05_errors.robot: 5.1 Binary Frame<br>tests/05_errors.robot: 7.6 Seams |"
            ) in report
    assert "| `frames.no-html`: Never HTML. | — The API has no HTML context. |" in report
    assert report.endswith("## Rules with no test and no reason\n\nNone.\n")


def test_rules_with_neither_are_listed_and_fail_both_modes(
        project: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    write(project["tests"] / "05_errors.robot", "*** Test Cases ***\nT\n    No Operation\n")
    assert run(project) == 1
    assert "rule seams.intensity has neither a test" in capsys.readouterr().err
    report = project["output"].read_text(encoding="utf-8")
    assert "- Rules with neither: 2\n" in report
    assert "| `seams.intensity`: \\|chaos" in report
    assert report.endswith("- `frames.binary-invalid-message` (§ 2)\n"
                           "- `seams.intensity` (§ 7)\n")
    assert run(project, "--check") == 1


# --- --check ---------------------------------------------------------------------------------

def test_check_passes_on_a_fresh_report_and_writes_nothing(project: dict[str, Path]) -> None:
    assert run(project) == 0
    written = project["output"].stat().st_mtime_ns
    assert run(project, "--check") == 0
    assert project["output"].stat().st_mtime_ns == written


def test_check_fails_on_a_missing_report(project: dict[str, Path],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project, "--check") == 1
    assert "does not exist" in capsys.readouterr().err
    assert not project["output"].exists()


def test_check_fails_on_a_stale_report(project: dict[str, Path],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project) == 0
    # A test loses its tag: the report no longer says what the tests check.
    write(project["tests"] / "05_errors.robot", SUITE.replace("RULE:", "x"))
    assert run(project, "--check") == 1
    err = capsys.readouterr().err
    assert "is out of date; run scripts/coverage" in err
    assert "+- Rules with tests: 1" in err  # the diff says what changed


def test_check_fails_on_an_unknown_tag(project: dict[str, Path],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    write(project["tests"] / "05_errors.robot", SUITE.replace("Frames.Binary", "frames.bin"))
    assert run(project) == 1  # the report is written, the tag is still an error
    assert run(project, "--check") == 1
    assert "tag rule:frames.bin-invalid-message names no rule" in capsys.readouterr().err


def test_check_fails_on_a_duplicate_id(project: dict[str, Path],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    write(project["catalogue"], CATALOGUE + "| `seams.intensity` | Again. | 7 | |\n")
    assert run(project) == 1
    assert run(project, "--check") == 1
    assert "duplicate rule id seams.intensity" in capsys.readouterr().err


# --- the project's own catalogue -------------------------------------------------------------

def test_the_project_catalogue_is_well_formed() -> None:
    catalogue = cc.read_catalogue(ROOT / "docs" / "contract-rules.md")
    assert catalogue.problems == []
    assert len(catalogue.rules) >= 90
    assert all(rule.section for rule in catalogue.rules)
    titles = [section.title for section in catalogue.sections]
    assert titles[0] == "1. Endpoints"
    assert titles[-1] == "10. Configuration"


def test_missing_inputs_fail_cleanly(project: dict[str, Path],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    project["catalogue"].unlink()
    assert run(project) == 1
    assert "contract-rules.md" in capsys.readouterr().err
    write(project["catalogue"], CATALOGUE)
    project["tests"] = project["tests"].parent / "no-such-folder"
    assert run(project) == 1
    assert "no-such-folder" in capsys.readouterr().err
    assert not project["output"].exists()


def test_a_tests_folder_without_tests_leaves_every_rule_untested(
        project: dict[str, Path]) -> None:
    write(project["tests"] / "05_errors.robot", "*** Settings ***\nDocumentation    None.\n")
    assert run(project) == 1  # every rule untested and unexplained
    assert "- Rules with tests: 0\n" in project["output"].read_text(encoding="utf-8")
