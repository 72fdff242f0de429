"""AlertCapture: its real SMTP server and webhook receiver, its assertions and its faults."""

from __future__ import annotations

import json
import shutil
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from AlertCapture import AlertCapture
from AlertCapture.state import CaptureState
from runstate import pid_alive

SHORT = timedelta(milliseconds=300)


def wait_until(condition, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)  # polling interval of a condition wait, not synchronisation


@pytest.fixture(scope="module")
def lib() -> Iterator[AlertCapture]:
    state_dir = Path(tempfile.mkdtemp(prefix="utest-capture-"))
    capture = AlertCapture(str(state_dir))
    capture.start_alert_capture(log_dir=str(state_dir))
    yield capture
    capture.stop_alert_capture()
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def scratch() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="utest-capture-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def info(lib: AlertCapture) -> dict:
    lib.reset_capture_faults()
    return lib.get_alert_capture()


def tag() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def post(info: dict, text: str) -> int:
    request = urllib.request.Request(info["webhook_url"], method="POST",
                                     data=json.dumps({"text": text}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def mail(info: dict, subject: str, body: str = "body", to: str = "ops@alerts.test",
         sender: str = "dashboards@alerts.test") -> None:
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, sender, to
    message.set_content(body)
    with smtplib.SMTP(info["host"], info["smtp_port"], timeout=5) as smtp:
        smtp.send_message(message)


def later(seconds: float, action) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


# -- waiting for a Slack message -------------------------------------------------------------

def test_wait_for_slack_message_finds_one_that_arrived_before_the_call(lib, info) -> None:
    t = tag()
    assert post(info, f"[P0 CRITICAL] pain {t} to DevOps Lead") == 200
    found = lib.wait_for_slack_message("P0", t, "DevOps Lead", timeout=SHORT)
    assert found["kind"] == "slack" and t in found["text"]
    assert found["json"] == {"text": f"[P0 CRITICAL] pain {t} to DevOps Lead"}
    assert found["monotonic"] <= lib.get_monotonic_time()


def test_wait_for_slack_message_waits_for_a_later_one(lib, info) -> None:
    t = tag()
    started = time.monotonic()
    later(0.3, lambda: post(info, f"late {t}"))
    found = lib.wait_for_slack_message(t, regex=r"^late ", timeout=timedelta(seconds=5))
    assert found["monotonic"] - started >= 0.25


def test_wait_for_slack_message_fails_when_nothing_matches(lib, info) -> None:
    t = tag()
    post(info, f"other {t}")
    with pytest.raises(AssertionError, match=r"No Slack message containing .* within 0.3 s"):
        lib.wait_for_slack_message(t, "SRE", timeout=SHORT)
    with pytest.raises(AssertionError, match="does not match"):
        lib.wait_for_slack_message(t, regex=r"^P1", timeout=SHORT)


def test_after_ignores_earlier_captures(lib, info) -> None:
    t = tag()
    post(info, f"first {t}")
    first = lib.wait_for_slack_message(t, timeout=SHORT)
    with pytest.raises(AssertionError):
        lib.wait_for_slack_message(t, timeout=SHORT, after=first["seq"])
    post(info, f"second {t}")
    second = lib.wait_for_slack_message(t, timeout=SHORT, after=first["seq"])
    assert second["seq"] > first["seq"] and "second" in second["text"]


# -- e-mail ----------------------------------------------------------------------------------

def test_wait_for_email_matches_subject_body_recipient_and_sender(lib, info) -> None:
    t = tag()
    mail(info, f"P0 CRITICAL: pain {t}", body=f"threshold max 0.7 {t}", to="lead@alerts.test")
    found = lib.wait_for_email(t, "threshold", subject_regex=r"^P0 ", subject="CRITICAL",
                               recipient="lead@alerts.test", sender="dashboards@alerts.test",
                               timeout=SHORT)
    assert found["rcpt_tos"] == ["lead@alerts.test"]
    assert found["subject"] == f"P0 CRITICAL: pain {t}"
    assert t in found["body"]


@pytest.mark.parametrize(("criteria", "why"), [
    ({"subject_regex": r"^P1"}, "does not match"),
    ({"subject": "BLOCK"}, "lacks"),
    ({"recipient": "pm@alerts.test"}, "recipients"),
    ({"sender": "someone@else"}, "sender"),
    ({"regex": r"nothing like this"}, "does not match"),
])
def test_wait_for_email_fails_when_a_field_differs(lib, info, criteria, why) -> None:
    t = tag()
    mail(info, f"P0 CRITICAL: {t}", to="lead@alerts.test")
    with pytest.raises(AssertionError, match=why):
        lib.wait_for_email(t, timeout=SHORT, **criteria)


# -- asserting silence -----------------------------------------------------------------------

def test_slack_message_should_not_arrive_passes_in_silence(lib, info) -> None:
    lib.slack_message_should_not_arrive(tag(), within=SHORT)


def test_slack_message_should_not_arrive_fails_for_one_already_there(lib, info) -> None:
    t = tag()
    post(info, f"there {t}")
    with pytest.raises(AssertionError, match="Expected no Slack message"):
        lib.slack_message_should_not_arrive(t, within=SHORT)


def test_slack_message_should_not_arrive_fails_as_soon_as_one_arrives(lib, info) -> None:
    t = tag()
    later(0.2, lambda: post(info, f"intruder {t}"))
    started = time.monotonic()
    with pytest.raises(AssertionError, match="intruder"):
        lib.slack_message_should_not_arrive(t, within=timedelta(seconds=5))
    assert time.monotonic() - started < 2


def test_email_should_not_arrive_passes_and_fails(lib, info) -> None:
    t = tag()
    mail(info, f"P2 {t}", to="pm@alerts.test")
    lib.email_should_not_arrive(t, recipient="sre@alerts.test", within=SHORT)
    with pytest.raises(AssertionError, match="Expected no e-mail"):
        lib.email_should_not_arrive(t, recipient="pm@alerts.test", within=SHORT)


# -- counting and reading --------------------------------------------------------------------

def test_count_keywords_pass_on_the_exact_count_and_fail_otherwise(lib, info) -> None:
    t = tag()
    post(info, f"one {t}")
    post(info, f"two {t}")
    mail(info, f"P1 {t}")
    lib.wait_for_email(t, timeout=SHORT)
    lib.slack_message_count_should_be(2, t)
    lib.email_count_should_be(1, t)
    with pytest.raises(AssertionError, match="Expected 1 Slack message"):
        lib.slack_message_count_should_be(1, t)
    with pytest.raises(AssertionError, match="Expected 2 e-mail"):
        lib.email_count_should_be(2, t)


def test_get_keywords_return_what_matches(lib, info) -> None:
    t = tag()
    post(info, f"a {t}")
    mail(info, f"b {t}", to="pm@alerts.test")
    lib.wait_for_email(t, timeout=SHORT)
    assert [m["text"] for m in lib.get_slack_messages(t)] == [f"a {t}"]
    assert [m["subject"] for m in lib.get_emails(t, recipient="pm@alerts.test")] == [f"b {t}"]
    assert lib.get_emails(t, recipient="nobody@alerts.test") == []
    assert lib.get_last_capture_seq() >= lib.get_emails(t)[0]["seq"]


def test_invalid_regex_is_reported(lib, info) -> None:
    with pytest.raises(ValueError, match="invalid regular expression"):
        lib.wait_for_slack_message(regex="(", timeout=SHORT)


# -- faults ----------------------------------------------------------------------------------

def test_fail_next_webhook_requests_rejects_only_matching_ones_and_records_them(lib, info):
    t = tag()
    lib.fail_next_webhook_requests(2, status=503, matching=f"victim {t}")
    assert post(info, f"bystander {t}") == 200
    assert post(info, f"victim {t}") == 503
    assert post(info, f"victim {t}") == 503
    assert post(info, f"victim {t}") == 200
    assert lib.get_capture_faults()["webhook_failures"] == 0
    outcomes = [a["outcome"] for a in lib.get_delivery_attempts("slack", f"victim {t}")]
    assert outcomes == ["rejected 503", "rejected 503", "captured"]
    lib.slack_message_count_should_be(1, f"victim {t}")


def test_fail_next_emails_answers_the_code_at_data(lib, info) -> None:
    t = tag()
    lib.fail_next_emails(1, code=451)
    with pytest.raises(smtplib.SMTPDataError) as error:
        mail(info, f"P0 {t}")
    assert error.value.smtp_code == 451
    mail(info, f"P0 {t}")
    lib.email_count_should_be(1, t)
    assert [a["outcome"] for a in lib.get_delivery_attempts("email", t)] == [
        "rejected 451", "captured"]


def test_refuse_emails_for_greets_with_421_until_the_time_is_up(lib, info) -> None:
    t = tag()
    open_again = lib.refuse_emails_for(timedelta(seconds=0.5))
    with pytest.raises(smtplib.SMTPConnectError) as error:
        mail(info, f"P0 {t}")
    assert error.value.smtp_code == 421
    wait_until(lambda: time.monotonic() >= open_again, what="the refusal to end")
    mail(info, f"P0 {t}")
    assert lib.wait_for_email(t, timeout=SHORT)["monotonic"] >= open_again


@pytest.mark.parametrize("service", ["webhook", "smtp"])
def test_stop_listening_refuses_connections_then_listens_on_the_same_port(lib, info, service):
    t = tag()
    back = lib.stop_listening_for(service, timedelta(seconds=0.5))
    send = (lambda: post(info, t)) if service == "webhook" else (lambda: mail(info, t))
    with pytest.raises((ConnectionRefusedError, urllib.error.URLError)):
        send()

    def accepted() -> bool:
        try:
            send()
        except (OSError, urllib.error.URLError):
            return False
        return True

    wait_until(accepted, what=f"{service} to listen again")
    assert time.monotonic() >= back
    assert lib.get_alert_capture()[f"{service}_port"] == info[f"{service}_port"]


def test_reset_capture_faults_listens_again_at_once(lib, info) -> None:
    lib.stop_listening_for("webhook", timedelta(seconds=60))
    lib.fail_next_emails(5)
    lib.reset_capture_faults()
    assert post(info, tag()) == 200
    assert lib.get_capture_faults()["email_failures"] == 0


def test_unknown_service_is_refused(lib, info) -> None:
    with pytest.raises(AssertionError, match="service must be one of"):
        lib.stop_listening_for("pigeon", SHORT)


# -- lifecycle -------------------------------------------------------------------------------

def test_start_reuses_the_running_server_of_this_run(lib, info) -> None:
    assert lib.start_alert_capture()["pid"] == info["pid"]


def test_get_alert_capture_fails_when_none_runs(scratch: Path) -> None:
    empty = AlertCapture(str(scratch))
    with pytest.raises(AssertionError, match="No alert capture server is running"):
        empty.get_alert_capture(timeout=timedelta(milliseconds=100))
    with pytest.raises(AssertionError, match="No alert capture server"):
        empty.wait_for_slack_message(timeout=SHORT)


def test_server_exits_when_its_run_is_gone_and_a_stale_one_is_replaced(scratch: Path) -> None:
    state_dir = scratch
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    server = subprocess.Popen([sys.executable, "-m", "AlertCapture.server", "--state-dir",
                               str(state_dir), "--owner-pid", str(owner.pid)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: CaptureState.read(state_dir) is not None, what="the state file")
        owner.kill()
        owner.wait()
        server.wait(timeout=10)
        assert CaptureState.read(state_dir) is None
    finally:
        owner.kill()
        server.kill()
    # A state file whose owner is dead but whose server still runs: the next start removes it.
    dead_owner = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_owner.wait()
    stale = subprocess.Popen([sys.executable, "-m", "AlertCapture.server", "--state-dir",
                              str(state_dir), "--owner-pid", str(owner.pid)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: CaptureState.read(state_dir) is not None or stale.poll() is not None,
               what="the stale server to publish its state")
    fresh = AlertCapture(str(state_dir))
    try:
        started = fresh.start_alert_capture(log_dir=str(state_dir))
        assert started["pid"] != stale.pid
        stale.wait(timeout=10)
    finally:
        fresh.stop_alert_capture()
        stale.kill()
    assert not pid_alive(started["pid"])


def test_a_folded_subject_is_captured_without_its_folding_space(lib, info) -> None:
    t = tag()
    subject = f"P1 BLOCK: trust = 0.5 (threshold: min 0.6) - alert alrt_{t} - for PM, a long one"
    mail(info, subject)
    assert lib.wait_for_email(t, subject_regex=r"^P1 ", timeout=SHORT)["subject"] == subject


def test_connect_to_alert_capture_uses_a_server_by_its_control_url(lib, info, scratch) -> None:
    other = AlertCapture(str(scratch))
    assert other.connect_to_alert_capture(info["control_url"])["status"] == "ok"
    t = tag()
    post(info, t)
    assert other.wait_for_slack_message(t, timeout=SHORT)["text"] == t


# -- a capture server on another host's clock --------------------------------------------------

CLOCK_OFFSET_S = 100_000.0  # the other "host"'s monotonic clock runs this far ahead


@pytest.fixture
def far_clock_capture(scratch: Path) -> Iterator[dict]:
    """A capture server in a time namespace of its own: its monotonic clock is unrelated to
    this process's, as a server on another machine's would be."""
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "--time", "--monotonic", "1", "true"], capture_output=True,
            check=False).returncode:
        pytest.skip("time namespaces are not available here (unshare --time needs root and a "
                    "kernel with CONFIG_TIME_NS)")
    process = subprocess.Popen(
        ["unshare", "--time", "--monotonic", str(int(CLOCK_OFFSET_S)), sys.executable, "-m",
         "AlertCapture.server", "--state-dir", str(scratch), "--owner-pid", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: CaptureState.read(scratch) is not None, what="the server")
        state = CaptureState.read(scratch)
        assert state is not None
        yield state.describe()
    finally:
        process.terminate()
        process.wait(10)


def test_a_capture_connected_by_url_times_notifications_on_its_own_clock(
        far_clock_capture: dict) -> None:
    remote = AlertCapture(tempfile.mkdtemp(prefix="utest-capture-"))
    remote.connect_to_alert_capture(far_clock_capture["control_url"])
    sent = remote.get_monotonic_time()
    assert sent - time.monotonic() > CLOCK_OFFSET_S / 2, "the local clock was read"
    t = tag()
    assert post(far_clock_capture, f"[P0 CRITICAL] {t}") == 200
    found = remote.wait_for_slack_message(t, timeout=timedelta(seconds=5))
    latency = found["monotonic"] - sent
    assert 0 <= latency < 5, f"a duration across two clocks: {latency} s"
    webhook_back = remote.stop_listening_for("webhook", timedelta(milliseconds=100))
    smtp_back = remote.refuse_emails_for(timedelta(milliseconds=100))
    for back in (webhook_back, smtp_back):
        assert 0 < back - found["monotonic"] < 5, "a time on this host's clock"
    remote.reset_capture_faults()


def test_a_capture_found_on_this_host_is_timed_on_this_clock(lib: AlertCapture) -> None:
    before = time.monotonic()
    assert before <= lib.get_monotonic_time() <= time.monotonic()
