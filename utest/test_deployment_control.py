"""DeploymentControl: operator commands, database arguments, storage queries, health."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from robot.api.types import Secret

from DeploymentControl import DeploymentControl


@pytest.fixture
def control() -> DeploymentControl:
    return DeploymentControl()


def test_a_command_that_succeeds_returns_its_output(control: DeploymentControl) -> None:
    result = control.run_deployment_command("echo restarted", "RESTART_COMMAND")
    assert result["exit_code"] == 0
    assert result["output"].strip() == "restarted"


def test_a_failing_command_names_the_setting_the_code_and_the_output(
        control: DeploymentControl) -> None:
    with pytest.raises(AssertionError) as failure:
        control.run_deployment_command("echo unit not found >&2; exit 5", "RESTART_COMMAND")
    text = str(failure.value)
    assert "RESTART_COMMAND failed with exit code 5" in text
    assert "unit not found" in text


def test_a_command_that_outlives_its_timeout_is_killed_with_its_children(
        control: DeploymentControl, tmp_path: Path) -> None:
    marker = tmp_path / "survived"
    with pytest.raises(AssertionError, match=r"DATABASE_STOP_COMMAND did not finish within 0\.3 s"):
        control.run_deployment_command(f"(sleep 2; touch {marker}) & sleep 30",
                                       "DATABASE_STOP_COMMAND", timeout=timedelta(seconds=0.3))
    # The whole process group went: the background child never gets to write its marker.
    control.run_deployment_command("sleep 2.5", "WAIT", timeout=timedelta(seconds=10))
    assert not marker.exists()


def test_an_empty_command_fails_at_once_naming_the_setting(control: DeploymentControl) -> None:
    with pytest.raises(AssertionError, match="DATABASE_START_COMMAND is empty"):
        control.start_deployment_command("  ", "DATABASE_START_COMMAND")


def test_a_background_command_runs_while_the_test_goes_on(control: DeploymentControl,
                                                           tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    running = control.start_deployment_command(
        f"while [ ! -e {gate} ]; do sleep 0.01; done; echo done", "RESTART_COMMAND")
    assert running.process.poll() is None  # still waiting for the test
    gate.touch()
    result = control.wait_for_deployment_command(running, timedelta(seconds=10))
    assert result["output"].strip() == "done"


def test_database_arguments_keep_the_password_secret_and_pass_query_parameters_on(
        control: DeploymentControl) -> None:
    arguments = control.database_connection_arguments(
        Secret("postgresql://qa:p%40ss@db.example:6432/dash?sslmode=verify-full"))
    password = arguments.pop("db_password")
    assert isinstance(password, Secret)
    assert password.value == "p@ss"
    assert arguments == {"db_name": "dash", "db_user": "qa", "db_host": "db.example",
                         "db_port": 6432, "sslmode": "verify-full"}


def test_database_arguments_refuse_what_is_not_a_postgresql_url(
        control: DeploymentControl) -> None:
    with pytest.raises(ValueError, match="Not a PostgreSQL URL"):
        control.database_connection_arguments("mysql://u@h/db")


def test_query_parameters_are_bound_in_the_order_they_appear(
        control: DeploymentControl) -> None:
    sql, parameters = control.bind_query_parameters(
        "SELECT 1 FROM t WHERE a = %(alert_id)s AND c = %(channel)s AND b = %(alert_id)s",
        "NOTIFICATION_STORED_QUERY", {"alert_id": "a1", "channel": "slack", "unused": 1})
    assert sql == "SELECT 1 FROM t WHERE a = %s AND c = %s AND b = %s"
    assert parameters == ["a1", "slack", "a1"]


def test_a_query_parameter_that_cannot_be_filled_names_the_setting_and_the_choices(
        control: DeploymentControl) -> None:
    with pytest.raises(AssertionError, match=r"ALERT_STORED_QUERY uses parameter\(s\) "
                                             r"severity; the ones it can use are: alert_id"):
        control.bind_query_parameters("SELECT 1 WHERE s = %(severity)s", "ALERT_STORED_QUERY",
                                      {"alert_id": "a1"})


def test_describe_target_gives_each_role_its_token_as_a_secret_and_drops_empty_ones(
        control: DeploymentControl, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----")
    target = control.describe_target({"pulse": "wss://h:1"}, "postgresql://u@h/d",
                                     producer_token="p-token", viewer_token=Secret(""),
                                     allowed_origin="https://ok", ca_bundle=str(ca),
                                     verify=False)
    assert target["tls"] == {"ca_bundle": str(ca), "verify": False}
    assert target["producer"]["token"].value == "p-token"
    assert "token" not in target["viewer"]
    assert target["access"]["viewer_token"] is None
    assert target["access"]["refused_origin"] is None
    assert isinstance(target["database_url"], Secret)
    assert "p-token" not in str(target)


def test_describe_target_names_a_tls_file_that_does_not_exist(
        control: DeploymentControl) -> None:
    with pytest.raises(AssertionError, match=r"CA_BUNDLE names /nonexistent/ca\.pem"):
        control.describe_target({}, ca_bundle="/nonexistent/ca.pem")


class _Health(BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[int, dict[str, str]]]] = []
    seen_authorization: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        self.seen_authorization.append(self.headers.get("Authorization"))
        status, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[str, type[_Health]]]:
    handler = type("Health", (_Health,), {"answers": [], "seen_authorization": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"ws://127.0.0.1:{server.server_port}/any/path", handler
    server.shutdown()
    server.server_close()


def test_health_is_read_with_the_token(control: DeploymentControl,
                                       health_server: tuple[str, type[_Health]]) -> None:
    url, handler = health_server
    handler.answers.append((503, {"status": "degraded", "database": "down"}))
    health = control.get_dashboard_health(url, token=Secret("t0k"))
    assert health["status"] == 503
    assert health["body"]["database"] == "down"
    assert handler.seen_authorization == ["Bearer t0k"]


def test_waiting_for_health_returns_once_every_dashboard_reports_it(
        control: DeploymentControl, health_server: tuple[str, type[_Health]]) -> None:
    url, handler = health_server
    handler.answers.extend([(503, {"database": "down"}), (503, {"database": "down"}),
                            (200, {"database": "ok"})])
    elapsed = control.wait_until_dashboards_report({"pulse": url}, 200, database="ok",
                                                   timeout=timedelta(seconds=10))
    assert elapsed >= 0
    assert len(handler.seen_authorization) == 3


def test_waiting_for_health_fails_with_what_each_dashboard_answered(
        control: DeploymentControl, health_server: tuple[str, type[_Health]]) -> None:
    url, handler = health_server
    handler.answers.append((200, {"database": "ok"}))
    with pytest.raises(AssertionError, match=r"database down within 0.3 s: pulse: HTTP 200"):
        control.wait_until_dashboards_report({"pulse": url}, 503, database="down",
                                             timeout=timedelta(seconds=0.3))


def test_a_dashboard_that_does_not_answer_is_reported_as_such(
        control: DeploymentControl) -> None:
    with pytest.raises(AssertionError, match="pulse: HTTP None"):
        control.wait_until_dashboards_report({"pulse": "ws://127.0.0.1:9"}, 200,
                                             timeout=timedelta(seconds=0.2))
