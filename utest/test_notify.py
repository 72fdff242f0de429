"""Alert notifications end to end: the reference system, a real TimescaleDB, and the real
SMTP server and webhook receiver of AlertCapture (protocol.md section 6)."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from AlertCapture import AlertCapture
from conftest import Peer, RunningSystem, start_system, stop_system
from dashboards.notify.outbox import backoff_s
from dashboards.notify.policy import parse_recipients
from EmbeddedStack.pgcluster import PgCluster

RECIPIENTS = {"devops_lead": "devops-lead@alerts.test", "sre": "sre@alerts.test",
              "tech_lead": "tech-lead@alerts.test", "pm": "pm@alerts.test"}
# 5 min → 0.6 s, 15 min → 1.8 s, 60 min → 7.2 s.
SCALE = 0.002


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def capture() -> Iterator[AlertCapture]:
    state_dir = Path(tempfile.mkdtemp(prefix="utest-notify-capture-"))
    lib = AlertCapture(str(state_dir))
    lib.start_alert_capture(log_dir=str(state_dir))
    yield lib
    lib.stop_alert_capture()
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def notify_env(capture: AlertCapture) -> dict[str, str]:
    capture.reset_capture_faults()
    info = capture.get_alert_capture()
    return {"SLACK_WEBHOOK_URL": info["webhook_url"], "SMTP_HOST": info["host"],
            "SMTP_PORT": str(info["smtp_port"]),
            "ALERT_EMAIL_TO": ",".join(f"{r}={a}" for r, a in RECIPIENTS.items()),
            "ESCALATION_TIME_SCALE": str(SCALE), "P1_GROUP_WAIT_S": "0.5",
            "HEARTBEAT_INTERVAL_MS": "60000"}


@pytest.fixture
def peers() -> Iterator[Callable[[RunningSystem], Peer]]:
    opened: list[Peer] = []

    def open_peer(system: RunningSystem) -> Peer:
        peer = Peer(system.url("pulse"))
        peer.request({"type": "subscribe", "channels": ["alerts"]}, "subscribed")
        opened.append(peer)
        return peer

    yield open_peer
    for peer in opened:
        peer.close()


def send(peer: Peer, metric: str, value: float) -> float:
    """Send one value; return the monotonic time just before sending."""
    sent = time.monotonic()
    peer.request({"type": "metric_update", "metric": metric, "value": value},
                 "metrics_received")
    return sent


def open_alert(peer: Peer, metric: str, value: float) -> tuple[dict[str, Any], float]:
    sent = send(peer, metric, value)
    return peer.next("slo_alert")["alert"], sent


def outbox(dsn: str, alert_id: str) -> list[tuple[str, str, str, int]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT step, channel, status, attempts FROM notification_outbox "
                    "WHERE %s = ANY (alert_ids) ORDER BY id", (alert_id,))
        return cur.fetchall()


def metric_sample(system: RunningSystem, channel: str, outcome: str) -> float:
    with urllib.request.urlopen(system.http("pulse", "/metrics"), timeout=5) as answer:
        text = answer.read().decode()
    pattern = (rf'^alert_notifications_total\{{channel="{channel}",outcome="{outcome}"\}} '
               rf"(\S+)$")
    found = re.search(pattern, text, re.MULTILINE)
    assert found, f"alert_notifications_total{{{channel},{outcome}}} not exposed"
    return float(found.group(1))


def not_before(scheduled_s: float) -> float:
    """The earliest a notification scheduled ``scheduled_s`` after its alert may arrive, on
    the monotonic clock: the system schedules by the wall clock (a schedule survives a
    restart), and where the wall clock is being slewed it runs apart from the monotonic one
    (seen: 0.5 % on a VM). 1 % early is allowed; a wrong step is far earlier."""
    return scheduled_s * 0.99


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling interval of a condition wait, not synchronisation


# -- P0 --------------------------------------------------------------------------------------

def test_p0_reaches_devops_lead_by_slack_and_email_at_once(make_system, notify_env, peers,
                                                          capture) -> None:
    system = make_system(notify_env)
    alert, sent = open_alert(peers(system), "pain", 0.75)
    assert alert["priority"] == "P0"
    slack = capture.wait_for_slack_message("P0", "pain", "0.75", "0.5", "DevOps Lead",
                                           alert["id"], timeout=s(2))
    mail = capture.wait_for_email(alert["id"], "pain", "0.75", "0.5",
                                  subject_regex=r"^P0 ", recipient=RECIPIENTS["devops_lead"],
                                  timeout=s(2))
    assert slack["monotonic"] - sent < 0.5
    assert mail["monotonic"] - sent < 0.5
    assert "DevOps Lead" in mail["body"] and re.search(r"\d{4}-\d\d-\d\dT", slack["text"])
    # Counted once the delivery is committed, a moment after the receiver has it.
    wait_until(lambda: metric_sample(system, "slack", "sent") == 1, what="slack sent == 1")
    wait_until(lambda: metric_sample(system, "email", "sent") == 1, what="email sent == 1")


def test_p0_escalates_to_sre_at_5_and_tech_lead_at_15_scaled_minutes(
        make_system, notify_env, peers, capture) -> None:
    system = make_system(notify_env)
    alert, sent = open_alert(peers(system), "chaos", 0.85)
    sre = capture.wait_for_slack_message(alert["id"], "to SRE", timeout=s(3))
    lead = capture.wait_for_email(alert["id"], recipient=RECIPIENTS["tech_lead"],
                                  subject_regex="^P0", timeout=s(4))
    assert not_before(300 * SCALE) <= sre["monotonic"] - sent < 300 * SCALE + 0.5
    assert not_before(900 * SCALE) <= lead["monotonic"] - sent < 900 * SCALE + 0.5
    assert "Tech Lead" in lead["subject"]
    capture.email_count_should_be(0, alert["id"], recipient=RECIPIENTS["sre"])


@pytest.mark.parametrize("stop", ["ack", "resolve"])
def test_ack_or_resolve_cancels_the_remaining_p0_steps(make_system, notify_env, peers,
                                                       capture, stop) -> None:
    system = make_system(notify_env)
    peer = peers(system)
    alert, _ = open_alert(peer, "clarity", 0.3)
    capture.wait_for_slack_message(alert["id"], "DevOps Lead", timeout=s(2))
    if stop == "ack":
        peer.request({"type": "ack_alert", "alert_id": alert["id"]}, "alert_acknowledged")
    else:
        send(peer, "clarity", 0.8)
    capture.slack_message_should_not_arrive(alert["id"], "SRE", within=s(900 * SCALE + 0.4))
    capture.email_should_not_arrive(alert["id"], recipient=RECIPIENTS["tech_lead"],
                                    within=s(0.1))
    steps = {step: status for step, _, status, _ in outbox(system.app.config.database_url,
                                                           alert["id"])}
    assert steps == {"p0_immediate_slack": "delivered", "p0_immediate_email": "delivered",
                     "p0_sre": "cancelled", "p0_tech_lead": "cancelled"}
    assert metric_sample(system, "slack", "cancelled") == 1


# -- P1 --------------------------------------------------------------------------------------

def test_p1_alerts_of_one_window_reach_sre_in_one_message_even_if_resolved(
        make_system, notify_env, peers, capture) -> None:
    system = make_system(notify_env)
    peer = peers(system)
    trust, sent = open_alert(peer, "trust", 0.5)
    clarity, _ = open_alert(peer, "clarity", 0.93)
    send(peer, "trust", 0.8)  # resolved within the window: the team is told all the same
    group = capture.wait_for_slack_message(trust["id"], clarity["id"], "to SRE",
                                           regex=r"^\[P1 2 alerts\]", timeout=s(2))
    assert not_before(0.5) <= group["monotonic"] - sent < 1.0
    assert "trust = 0.5" in group["text"] and "clarity = 0.93" in group["text"]
    capture.slack_message_count_should_be(1, trust["id"])
    # The next P1 opens a new window: its own message.
    chaos, _ = open_alert(peer, "chaos", 0.2)
    alone = capture.wait_for_slack_message(chaos["id"], timeout=s(2))
    assert trust["id"] not in alone["text"]


def test_p1_pm_email_after_the_scaled_hour_unless_acknowledged(make_system, notify_env, peers,
                                                               capture) -> None:
    system = make_system({**notify_env, "ESCALATION_TIME_SCALE": "0.0005"})  # 60 min → 1.8 s
    peer = peers(system)
    trust, sent = open_alert(peer, "trust", 0.5)
    clarity, _ = open_alert(peer, "clarity", 0.93)
    peer.request({"type": "ack_alert", "alert_id": clarity["id"]}, "alert_acknowledged")
    pm = capture.wait_for_email(trust["id"], subject_regex="^P1", recipient=RECIPIENTS["pm"],
                                timeout=s(4))
    assert not_before(3600 * 0.0005) <= pm["monotonic"] - sent < 3600 * 0.0005 + 0.5
    capture.email_should_not_arrive(clarity["id"], within=s(0.3))


def test_p2_and_cooldown_suppressed_alerts_send_nothing(make_system, notify_env, peers,
                                                        capture) -> None:
    system = make_system({**notify_env, "ALERT_COOLDOWN_S": "60"})
    peer = peers(system)
    warn, _ = open_alert(peer, "pain", 0.55)
    assert warn["priority"] == "P2"
    first, _ = open_alert(peer, "trust", 0.3)
    capture.wait_for_slack_message(first["id"], timeout=s(2))
    send(peer, "trust", 0.8)
    again, _ = open_alert(peer, "trust", 0.3)  # same priority within the cooldown
    assert again["id"] != first["id"]
    capture.slack_message_should_not_arrive(again["id"], within=s(300 * SCALE + 0.3))
    capture.slack_message_should_not_arrive(warn["id"], within=s(0.1))
    capture.email_should_not_arrive(again["id"], within=s(0.1))
    assert outbox(system.app.config.database_url, again["id"]) == []
    assert metric_sample(system, "slack", "suppressed") == 1


# -- retries ---------------------------------------------------------------------------------

def test_webhook_500s_are_retried_until_delivered_exactly_once(make_system, notify_env, peers,
                                                               capture) -> None:
    system = make_system(notify_env)
    capture.fail_next_webhook_requests(3, status=500, matching=r"pain = 0\.777.*DevOps Lead")
    alert, _ = open_alert(peers(system), "pain", 0.777)
    first = capture.wait_for_slack_message(alert["id"], "DevOps Lead", timeout=s(5))
    tries = capture.get_delivery_attempts("slack", alert["id"], "DevOps Lead")
    assert [t["outcome"] for t in tries] == ["rejected 500"] * 3 + ["captured"]
    capture.slack_message_should_not_arrive(alert["id"], "DevOps Lead", after=first["seq"],
                                            within=s(0.5))
    wait_until(lambda: metric_sample(system, "slack", "sent") >= 1, what="slack sent")
    assert metric_sample(system, "slack", "failed") == 3


def test_smtp_rejections_and_refusals_are_retried_until_delivered_once(
        make_system, notify_env, peers, capture) -> None:
    system = make_system(notify_env)
    capture.fail_next_emails(2, code=451, matching=r"pain = 0\.778")
    alert, _ = open_alert(peers(system), "pain", 0.778)
    mail = capture.wait_for_email(alert["id"], recipient=RECIPIENTS["devops_lead"],
                                  timeout=s(5))
    outcomes = [t["outcome"] for t in capture.get_delivery_attempts("email", alert["id"])]
    assert outcomes == ["rejected 451", "rejected 451", "captured"]
    capture.email_should_not_arrive(alert["id"], after=mail["seq"],
                                    recipient=RECIPIENTS["devops_lead"], within=s(0.3))
    # SMTP down (421 greeting) for a while: the escalation to the Tech Lead waits it out.
    open_again = capture.refuse_emails_for(s(2.2))
    lead = capture.wait_for_email(alert["id"], recipient=RECIPIENTS["tech_lead"],
                                  timeout=s(8))
    assert lead["monotonic"] >= open_again
    assert metric_sample(system, "email", "failed") >= 3


def test_unreachable_webhook_is_retried_after_it_listens_again(make_system, notify_env, peers,
                                                               capture) -> None:
    system = make_system(notify_env)
    back = capture.stop_listening_for("webhook", s(1.5))
    alert, _ = open_alert(peers(system), "chaos", 0.05)
    slack = capture.wait_for_slack_message(alert["id"], "DevOps Lead", timeout=s(8))
    assert slack["monotonic"] >= back
    capture.slack_message_count_should_be(1, alert["id"], "DevOps Lead")
    assert metric_sample(system, "slack", "failed") >= 1


# -- durability ------------------------------------------------------------------------------

def test_pending_and_scheduled_notifications_survive_a_restart_and_none_is_repeated(
        cluster: PgCluster, notify_env, capture) -> None:
    dsn = cluster.create_database(f"t_restart_{time.monotonic_ns()}")
    env = {"DATABASE_URL": dsn, "PULSE_PORT": "0", "SEAMS_PORT": "0", "VOICES_PORT": "0",
           **notify_env, "ESCALATION_TIME_SCALE": "0.01"}  # SRE at 3 s, Tech Lead at 9 s
    capture.fail_next_webhook_requests(1000, matching=r"pain = 0\.779")
    first, thread, stop = start_system(env)
    try:
        with Peer(first.url("pulse")) as peer:
            peer.request({"type": "subscribe", "channels": ["alerts"]}, "subscribed")
            sent = time.monotonic()
            peer.request({"type": "metric_update", "metric": "pain", "value": 0.779},
                         "metrics_received")
            alert = peer.next("slo_alert")["alert"]
        delivered = capture.wait_for_email(alert["id"], recipient=RECIPIENTS["devops_lead"],
                                           timeout=s(3))
        wait_until(lambda: bool(capture.get_delivery_attempts("slack", alert["id"])),
                   what="a rejected Slack attempt")
    finally:
        stop_system(first, thread, stop)
    rows = {step: status for step, _, status, _ in outbox(dsn, alert["id"])}
    assert rows == {"p0_immediate_slack": "pending", "p0_immediate_email": "delivered",
                    "p0_sre": "pending", "p0_tech_lead": "pending"}
    capture.reset_capture_faults()
    second, thread, stop = start_system(env)
    try:
        slack = capture.wait_for_slack_message(alert["id"], "DevOps Lead", timeout=s(5))
        sre = capture.wait_for_slack_message(alert["id"], "to SRE", timeout=s(5))
        assert sre["monotonic"] - sent >= not_before(300 * 0.01)
        lead = capture.wait_for_email(alert["id"], recipient=RECIPIENTS["tech_lead"],
                                      timeout=s(9))
        assert lead["monotonic"] - sent >= not_before(900 * 0.01)
        capture.email_count_should_be(1, alert["id"], recipient=RECIPIENTS["devops_lead"])
        capture.slack_message_count_should_be(1, alert["id"], "DevOps Lead")
        assert delivered["message_id"] != lead["message_id"]
        assert slack["seq"] < sre["seq"]
    finally:
        stop_system(second, thread, stop)
    assert {status for _, _, status, _ in outbox(dsn, alert["id"])} == {"delivered"}


# -- pure parts ------------------------------------------------------------------------------

def test_recipients_by_role_with_bare_addresses_as_the_default() -> None:
    assert parse_recipients("ops@x.io, pm=pm@x.io") == {
        "devops_lead": ["ops@x.io"], "sre": ["ops@x.io"], "tech_lead": ["ops@x.io"],
        "pm": ["pm@x.io"]}
    assert parse_recipients("tech_lead=tl@x.io") == {"tech_lead": ["tl@x.io"]}
    assert parse_recipients("") == {}
    with pytest.raises(ValueError, match="unknown role"):
        parse_recipients("ceo=boss@x.io")


def test_backoff_grows_exponentially_to_a_cap() -> None:
    assert 0.2 <= backoff_s(1) <= 0.3
    assert 0.8 <= backoff_s(3) <= 1.2
    assert backoff_s(50) <= 36


def test_build_notifier_sends_nothing_unconfigured_and_refuses_bad_recipients() -> None:
    from dashboards.config import Config, ConfigError
    from dashboards.notify import Notifier, build_notifier
    from dashboards.notify.outbox import OutboxNotifier

    base = {"DATABASE_URL": "postgresql://u@127.0.0.1:1/db"}
    assert type(build_notifier(Config.from_env(base))) is Notifier
    only_smtp_host = Config.from_env({**base, "SMTP_HOST": "127.0.0.1"})
    assert type(build_notifier(only_smtp_host)) is Notifier  # nobody to e-mail
    slack = build_notifier(Config.from_env({**base, "SLACK_WEBHOOK_URL": "http://h/x"}))
    assert isinstance(slack, OutboxNotifier) and slack.channels == ("slack",)
    with pytest.raises(ConfigError, match="unknown role"):
        build_notifier(Config.from_env({**base, "ALERT_EMAIL_TO": "boss=b@x.io"}))


def test_texts_name_priority_metric_value_threshold_role_id_and_time() -> None:
    from dashboards.notify.render import email_message, slack_text

    alert = {"id": "alrt_1", "metric": "pain", "value": 0.75, "priority": "P0",
             "level": "CRITICAL", "threshold": 0.5, "bound": "max",
             "timestamp": 1640995200000}
    one = {"step": "p0_sre", "role": "sre", "priority": "P0", "alerts": [alert]}
    text = slack_text(one)
    for part in ("P0", "pain", "0.75", "max 0.5", "SRE", "alrt_1", "2022-01-01T00:00:00.000Z"):
        assert part in text
    group = {"step": "p1_team", "role": "sre", "priority": "P1",
             "alerts": [{**alert, "priority": "P1", "id": "a"},
                        {**alert, "priority": "P1", "id": "b"}]}
    assert slack_text(group).startswith("[P1 2 alerts] to SRE")
    mail = email_message({**one, "role": "tech_lead", "recipients": ["tl@x.io"]}, "d@x.io", 7)
    assert str(mail["Subject"]).startswith("P0 CRITICAL: pain = 0.75")
    assert "notification-7" in str(mail["Message-ID"]) and mail["To"] == "tl@x.io"
    assert "Tech Lead" in mail.get_content()
