"""EmbeddedStack.service: the reference system run as a service, controlled by commands."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import needs_timescaledb
from runstate import pid_alive

pytestmark = needs_timescaledb


def service(directory: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "EmbeddedStack.service", "--dir",
                           str(directory), *arguments], capture_output=True, text=True,
                          timeout=120, check=False)


def health(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def deployment() -> Iterator[tuple[Path, dict[str, Any]]]:
    # Short, and not pytest's tmp_path: the database's socket lives in it and runs as postgres.
    directory = Path(tempfile.mkdtemp(prefix="svc-"))
    directory.chmod(0o755)
    up = service(directory / "d", "up", "--setting", "HEARTBEAT_INTERVAL_MS=1000")
    assert up.returncode == 0, up.stderr
    try:
        yield directory / "d", json.loads(up.stdout)
    finally:
        service(directory / "d", "down")
        shutil.rmtree(directory, ignore_errors=True)


def test_up_serves_every_dashboard_on_ports_outside_the_ephemeral_range(
        deployment: tuple[Path, dict[str, Any]]) -> None:
    _, status = deployment
    assert status["running"]
    assert status["settings"] == {"HEARTBEAT_INTERVAL_MS": "1000"}
    for dashboard, url in status["health_urls"].items():
        assert health(url) == (200, {"status": "ok", "dashboard": dashboard, "database": "ok"})
    assert all(20000 <= port < 32768 for port in status["ports"].values())


def test_restart_replaces_the_process_and_keeps_the_addresses(
        deployment: tuple[Path, dict[str, Any]]) -> None:
    directory, before = deployment
    assert service(directory, "restart").returncode == 0
    after = json.loads(service(directory, "status").stdout)
    assert after["pid"] != before["pid"]
    assert not pid_alive(before["pid"])
    assert after["urls"] == before["urls"]
    assert health(after["health_urls"]["pulse"])[0] == 200


def test_a_stopped_database_is_reported_and_a_started_one_serves_again(
        deployment: tuple[Path, dict[str, Any]]) -> None:
    directory, status = deployment
    url = status["health_urls"]["seams"]
    assert service(directory, "db-stop").returncode == 0
    assert health(url) == (503, {"status": "degraded", "dashboard": "seams",
                                 "database": "down"})
    assert service(directory, "db-start").returncode == 0
    assert health(url)[0] == 200


def test_a_command_without_a_deployment_says_so() -> None:
    result = service(Path(tempfile.gettempdir()) / "no-such-deployment", "restart")
    assert result.returncode == 1
    assert "no deployment in" in result.stderr


def test_a_database_given_by_url_is_not_the_services_to_stop(tmp_path: Path) -> None:
    (tmp_path / "service.json").write_text(json.dumps({"cluster_port": None}))
    result = service(tmp_path, "db-stop")
    assert result.returncode == 1
    assert "not this service's to stop" in result.stderr
