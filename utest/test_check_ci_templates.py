"""scripts/check-ci-templates: the docs/ci templates are valid for their CI system, and a
broken template, or one of no known system, fails the check."""

from __future__ import annotations

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check-ci-templates"


def check(*templates: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *map(str, templates)], capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_project_templates_are_valid() -> None:
    done = check()
    assert done.returncode == 0, done.stderr
    assert "docs/ci/github-actions.yml is a valid github-workflows file" in done.stdout
    assert "docs/ci/gitlab-ci.yml is a valid gitlab-ci file" in done.stdout


def test_a_misspelt_workflow_key_fails(tmp_path: Path) -> None:
    workflow = tmp_path / "github-bad.yml"
    workflow.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    done = check(workflow)
    assert done.returncode == 1
    assert "'stepz' was unexpected" in done.stderr


def test_a_gitlab_job_without_a_script_fails(tmp_path: Path) -> None:
    pipeline = tmp_path / "gitlab-bad.yml"
    pipeline.write_text("acceptance:\n  image: debian:12\n  scriptt: [echo hi]\n")
    assert check(pipeline).returncode == 1


def test_a_template_of_no_known_system_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "jenkins.yml"
    other.write_text("pipeline: {}\n")
    done = check(other)
    assert done.returncode == 1
    assert "name it github-… or gitlab-…" in done.stderr
