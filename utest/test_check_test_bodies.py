"""scripts/check-test-bodies: logic in a test case body is found, logic in keywords is not."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check-test-bodies"


def load_checker():
    loader = importlib.machinery.SourceFileLoader("check_test_bodies", str(SCRIPT))
    spec = importlib.util.spec_from_loader("check_test_bodies", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_each_kind_of_logic_in_a_test_body_is_reported_once(tmp_path: Path) -> None:
    suite = tmp_path / "suite.robot"
    suite.write_text("""*** Test Cases ***
Busy
    FOR    ${i}    IN RANGE    3
        Log    ${i}
    END
    IF    True    Log    x
    ${x}=    Evaluate    1 + 1
    Log    ${{ 1 + 1 }}
    TRY
        Log    x
    EXCEPT
        Log    y
    END
    WHILE    False
        Log    z
    END
    Should Be Equal    ${count + 1}    ${a * 100 / ${b}}
    [Teardown]    Log    ${{ 2 }}

Plain
    Log    nothing to see
    Log    ${SYSTEM}[max_message_bytes] ${name}

*** Keywords ***
Loops Are Fine Here
    FOR    ${i}    IN RANGE    3
        ${y}=    Evaluate    ${i} + 1
    END
""", encoding="utf-8")
    found = load_checker().check([tmp_path])
    assert [line.split(": ", 2)[2] for line in found] == [
        "FOR", "IF", "Evaluate", "${{ }}", "TRY", "WHILE", "arithmetic", "${{ }}"]
    assert all("Busy" in line for line in found)


def test_the_project_suites_hold_no_logic_in_their_tests() -> None:
    assert load_checker().check([SCRIPT.parent.parent / "tests"]) == []
