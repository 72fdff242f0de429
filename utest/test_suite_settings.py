"""The acceptance suite against a deployment it was given wrong settings for: each mistake
ends the run at once, naming the setting and what was seen.

A real deployment (EmbeddedStack.service: wss with a required client certificate, bearer
tokens) is tested by ``robot`` with a variables file like an operator's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from robot.api import ExecutionResult

from conftest import needs_timescaledb
from EmbeddedStack.testca import write_test_ca

pytestmark = needs_timescaledb
REPO = Path(__file__).resolve().parent.parent
PRODUCER, VIEWER = "utest-producer-token", "utest-viewer-token"


@pytest.fixture(scope="module")
def deployment() -> Iterator[dict[str, Any]]:
    base = Path(tempfile.mkdtemp(prefix="settings-"))
    base.chmod(0o755)  # the database runs as postgres
    tls = write_test_ca(base / "tls")
    other = write_test_ca(base / "other-ca")
    command = [sys.executable, "-m", "EmbeddedStack.service", "--dir", str(base / "svc")]
    up = subprocess.run(
        [*command, "up", f"--setting=TLS_CERT_FILE={tls['server_cert']}",
         f"--setting=TLS_KEY_FILE={tls['server_key']}",
         f"--setting=TLS_CLIENT_CA_FILE={tls['ca_bundle']}",
         f"--setting=AUTH_TOKENS={PRODUCER}:producer,{VIEWER}:viewer",
         "--probe-ca", tls["ca_bundle"], "--probe-cert", tls["client_cert"],
         "--probe-key", tls["client_key"]], capture_output=True, text=True, check=False,
        timeout=120)
    assert up.returncode == 0, up.stderr
    status = json.loads(up.stdout)
    try:
        yield {"base": base, "urls": status["urls"], "tls": tls, "other": other,
               "database_url": status["database_url"]}
    finally:
        subprocess.run([*command, "down"], capture_output=True, check=False, timeout=120)
        shutil.rmtree(base, ignore_errors=True)


def run_suite(deployment: dict[str, Any], tmp_path: Path, test: str, suite: str,
              **settings: Any) -> tuple[str, float]:
    """Runs ``test`` of ``suite`` against the deployment with ``settings`` over the good
    ones; returns the first failure message and the run's seconds."""
    tls = deployment["tls"]
    values: dict[str, Any] = {
        "PULSE_URL": deployment["urls"]["pulse"], "SEAMS_URL": deployment["urls"]["seams"],
        "VOICES_URL": deployment["urls"]["voices"],
        "DATABASE_URL": deployment["database_url"], "PRODUCER_TOKEN": PRODUCER,
        "VIEWER_TOKEN": VIEWER, "CA_BUNDLE": tls["ca_bundle"],
        "CLIENT_CERT": tls["client_cert"], "CLIENT_KEY": tls["client_key"],
        "REACHABILITY_TIMEOUT": "3s", **settings}
    variables = tmp_path / "target.py"
    variables.write_text("from robot.api.types import Secret\n" + "".join(
        f"{name} = Secret({value!r})\n" if name.endswith("_TOKEN") else f"{name} = {value!r}\n"
        for name, value in values.items()))
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "robot", "--outputdir", str(tmp_path), "--log", "NONE",
                    "--report", "NONE", "--variablefile", str(variables), "--test", test,
                    str(REPO / "tests" / suite)], capture_output=True, check=False,
                   cwd=tmp_path, timeout=300)
    seconds = time.monotonic() - started
    result = ExecutionResult(str(tmp_path / "output.xml"))
    failed = [t for t in result.suite.all_tests if t.status == "FAIL"]
    assert failed, "the run passed"
    return failed[0].message, seconds


def test_a_token_the_deployment_does_not_know_names_the_setting(
        deployment: dict[str, Any], tmp_path: Path) -> None:
    message, seconds = run_suite(deployment, tmp_path, "1.1*", "01_connections.robot",
                                 PRODUCER_TOKEN="not-the-token")
    assert "does not accept PRODUCER_TOKEN" in message
    assert "401" in message
    assert "not-the-token" not in (tmp_path / "output.xml").read_text()
    assert seconds < 60


def test_a_certificate_that_does_not_verify_names_the_url_and_the_settings(
        deployment: dict[str, Any], tmp_path: Path) -> None:
    message, _ = run_suite(deployment, tmp_path, "1.1*", "01_connections.robot",
                           CA_BUNDLE=deployment["other"]["ca_bundle"])
    assert "did not verify" in message
    assert "CA_BUNDLE" in message


def test_a_missing_client_certificate_is_named(deployment: dict[str, Any],
                                                tmp_path: Path) -> None:
    message, _ = run_suite(deployment, tmp_path, "1.1*", "01_connections.robot",
                           CLIENT_CERT="", CLIENT_KEY="")
    assert "client certificate" in message


def test_an_unreachable_target_names_each_dashboard(deployment: dict[str, Any],
                                                    tmp_path: Path) -> None:
    message, seconds = run_suite(deployment, tmp_path, "1.1*", "01_connections.robot",
                                 PULSE_URL="wss://127.0.0.1:9", SEAMS_URL="wss://127.0.0.1:9",
                                 VOICES_URL="wss://127.0.0.1:9")
    assert "not reachable after 3 s" in message
    assert "pulse (wss://127.0.0.1:9)" in message
    assert seconds < 60


def test_a_restart_command_that_fails_names_the_setting_and_its_output(
        deployment: dict[str, Any], tmp_path: Path) -> None:
    message, _ = run_suite(deployment, tmp_path, "4.4*", "11_recovery.robot",
                           RESTART_COMMAND="echo 'unit dashboards not found' >&2; exit 5")
    assert "RESTART_COMMAND failed with exit code 5" in message
    assert "unit dashboards not found" in message
