"""AlertCapture: receive the Slack messages and e-mails a system sends, and assert on them.

A real SMTP server (aiosmtpd) and a real HTTP webhook receiver run in one background process
(``python -m AlertCapture.server``) for the whole run, so that every pabot process sees the
same captures; this library talks to it over a small loopback HTTP control API.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from robot.api import logger
from robot.api.deco import keyword, library
from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError

import runstate
from runstate import pid_alive

from .client import CaptureUnavailable, ControlClient, Criteria, summary, wait_for
from .state import CaptureState, default_state_dir

__version__ = "0.1.0"
__all__ = ["AlertCapture"]
MARKER = "AlertCapture.server"
POLL_S = 0.05


def _terminate(pid: int, timeout: float = 10.0) -> bool:
    """SIGTERM ``pid`` if it is a capture server (guards against pid reuse); SIGKILL if stuck."""
    return runstate.terminate(pid, MARKER, timeout)


def _robot_variable(name: str) -> Any:
    try:
        return BuiltIn().get_variable_value(name)
    except RobotNotRunningError:
        return None


@library(scope="GLOBAL", version=__version__)
class AlertCapture:
    """Capture the alert notifications of the system under test: Slack webhooks and e-mail.

    = The capture server =
    `Start Alert Capture` starts, once per run, a background process with a real SMTP server
    and a real HTTP webhook receiver on loopback ports, and publishes its ports in a state
    file; `Get Alert Capture` finds it from every pabot process; `Stop Alert Capture` ends it.
    The server also ends by itself when the run that started it is gone, and a server left by
    a killed run is removed by the next start. Point the system under test at the
    ``webhook_url``, ``host`` and ``smtp_port`` that these keywords return.

    = Asserting =
    Every received notification is a *capture*: a dictionary with ``seq`` (increasing over
    the whole run), ``kind`` (``slack`` or ``email``), ``monotonic`` (this host's
    ``time.monotonic()`` when it arrived, comparable with `Get Monotonic Time`) and
    ``received_at_ms``. A Slack capture has ``text`` (the JSON ``text`` field), ``json``,
    ``body``, ``path`` and ``headers``; an e-mail has ``subject``, ``body``, ``from``, ``to``,
    ``mail_from``, ``rcpt_tos``, ``message_id``, ``headers`` and ``raw``.

    The waiting keywords look at everything captured since the start (or since the last
    `Clear Alert Captures`), so a message that arrived before the call is found: nothing needs
    arming. Positional arguments are substrings that must all appear (in a Slack message's
    text; in an e-mail's subject or body); ``regex`` is searched in the same text. ``after``
    (a ``seq``) ignores earlier captures, e.g. to prove that no second copy arrives.

    Captures are shared by all pabot processes: match on something unique to your test (an
    alert id) rather than clearing.

    = Fault injection =
    `Fail Next Webhook Requests` and `Fail Next Emails` make the receivers answer errors,
    `Refuse Emails For` greets SMTP clients with 421 and hangs up, `Stop Listening For` closes
    a receiver's socket (connection refused) and listens again later on the same port.
    `Get Delivery Attempts` lists every arrival, rejected ones included, to prove retries.

    Example:
    | ${capture}=    Start Alert Capture
    | # configure the system with ${capture}[webhook_url], ${capture}[smtp_port] ...
    | ${slack}=    Wait For Slack Message    P0    ${alert_id}    timeout=5s
    | ${mail}=    Wait For Email    ${alert_id}    subject_regex=^P0    recipient=ops@example.com
    | Slack Message Should Not Arrive    ${alert_id}    after=${slack}[seq]    within=2s
    """

    def __init__(self, state_dir: str | None = None) -> None:
        """``state_dir`` holds the state file (default: a per-user directory in /tmp)."""
        self.state_dir = Path(state_dir) if state_dir else default_state_dir()
        self._client: ControlClient | None = None
        # True when connected by URL (Connect To Alert Capture): the server may be on another
        # host, so its clock, not this one's, times notifications.
        self._remote = False

    # -- the capture server ---------------------------------------------------------------

    @keyword(tags=["Action"])
    def start_alert_capture(self, host: str = "127.0.0.1", smtp_port: int = 0,
                            webhook_port: int = 0, control_port: int = 0,
                            timeout: timedelta = timedelta(seconds=15),
                            log_dir: str | None = None) -> dict[str, Any]:
        """Starts the capture server (once per run) and returns where it listens.

        Ports 0 pick free ports. The result has ``host``, ``smtp_port``, ``webhook_port``,
        ``control_port``, ``webhook_url``, ``control_url`` and ``pid``. When this run's server
        is already running it is reused; one left by a finished or killed run is removed.
        The server's log is ``alert-capture.log`` in ``log_dir`` (default: the output dir).

        Example:
        | &{capture}=    Start Alert Capture
        | Log    SLACK_WEBHOOK_URL=${capture}[webhook_url] SMTP_PORT=${capture}[smtp_port]
        | Start Alert Capture    host=0.0.0.0    smtp_port=2525    webhook_port=8025
        """
        owner = self._owner_pid()
        existing = CaptureState.read(self.state_dir)
        if existing is not None and pid_alive(existing.pid):
            if existing.owner_pid == owner:
                logger.info("The alert capture server of this run is already running.")
                return self._connect(existing)
            if pid_alive(existing.owner_pid):
                raise AssertionError(
                    f"An alert capture server of another run is active (pid {existing.pid}, "
                    f"run pid {existing.owner_pid}). Wait for that run to finish, or stop "
                    f"it: kill {existing.pid}.")
            logger.warn(f"Removing a stale alert capture server (pid {existing.pid}) left "
                        f"by an earlier run.")
            _terminate(existing.pid)
        CaptureState.remove(self.state_dir)
        logs = Path(log_dir) if log_dir else self._default_log_dir()
        logs.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", MARKER, "--host", host,
                   "--smtp-port", str(smtp_port), "--webhook-port", str(webhook_port),
                   "--control-port", str(control_port), "--state-dir", str(self.state_dir),
                   "--owner-pid", str(owner)]
        log_file = logs / "alert-capture.log"
        with log_file.open("ab") as out:
            # A session of its own: it must outlive the pabot process that starts it.
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout.total_seconds()
        while True:
            state = CaptureState.read(self.state_dir)
            if state is not None and state.pid == process.pid:
                break
            if process.poll() is not None:
                tail = log_file.read_text(errors="replace").splitlines()[-15:]
                raise AssertionError("The alert capture server failed to start:\n"
                                     + "\n".join(tail))
            if time.monotonic() > deadline:
                _terminate(process.pid)
                raise AssertionError(f"The alert capture server did not start within "
                                     f"{timeout.total_seconds():g} s; see {log_file}.")
            time.sleep(POLL_S)
        info = self._connect(state)
        logger.info(f"Alert capture listening: webhook {info['webhook_url']}, SMTP "
                    f"{host}:{info['smtp_port']}, control {info['control_url']}; "
                    f"log {log_file}")
        return info

    @keyword(tags=["Getter"])
    def get_alert_capture(self, timeout: timedelta = timedelta(seconds=30)) -> dict[str, Any]:
        """Finds the run's capture server (waiting up to ``timeout`` for another pabot process
        to start it), makes this library use it and returns where it listens.

        Example:
        | &{capture}=    Get Alert Capture
        """
        deadline = time.monotonic() + timeout.total_seconds()
        while True:
            state = CaptureState.read(self.state_dir)
            if state is not None and pid_alive(state.pid):
                return self._connect(state)
            if time.monotonic() > deadline:
                raise AssertionError(f"No alert capture server is running (state dir "
                                     f"{self.state_dir}); was Start Alert Capture run?")
            time.sleep(POLL_S)

    @keyword(tags=["Action"])
    def connect_to_alert_capture(self, control_url: str) -> dict[str, Any]:
        """Uses the capture server whose control API is at ``control_url`` (one this library
        did not start, e.g. on another host) and returns its description.

        Example:
        | Connect To Alert Capture    http://127.0.0.1:8026
        """
        client = ControlClient(control_url)
        health = client.health()
        self._client = client
        self._remote = True
        return {**health, "control_url": control_url}

    @keyword(tags=["Action"])
    def stop_alert_capture(self) -> None:
        """Stops the run's capture server. Safe to repeat.

        Example:
        | Suite Teardown    Stop Alert Capture
        """
        state = CaptureState.read(self.state_dir)
        self._client = None
        if state is None:
            logger.info("No alert capture server is running.")
            return
        _terminate(state.pid)
        CaptureState.remove(self.state_dir)
        logger.info("Alert capture server stopped.")

    # -- asserting ------------------------------------------------------------------------

    @keyword(tags=["Wait"])
    def wait_for_slack_message(self, *contains: str, regex: str | None = None,
                               timeout: timedelta = timedelta(seconds=5),
                               after: int = 0) -> dict[str, Any]:
        """Waits until a Slack message whose text contains every ``contains`` (and matches
        ``regex``) has arrived, and returns it. Fails after ``timeout`` listing what arrived.

        Example:
        | ${msg}=    Wait For Slack Message    P0    ${alert_id}    DevOps Lead    timeout=2s
        | Should Contain    ${msg}[text]    pain
        | Wait For Slack Message    regex=^\\[P1 \\d+ alerts\\]
        """
        return self._wait(Criteria("slack", tuple(contains), regex), timeout, after)

    @keyword(tags=["Wait"])
    def wait_for_email(self, *contains: str, subject: str | None = None,
                       subject_regex: str | None = None, regex: str | None = None,
                       recipient: str | None = None, sender: str | None = None,
                       timeout: timedelta = timedelta(seconds=5),
                       after: int = 0) -> dict[str, Any]:
        """Waits until an e-mail matching everything given has arrived, and returns it.

        ``contains`` must all appear in the subject or the body, ``regex`` is searched there;
        ``subject`` is a substring and ``subject_regex`` a pattern of the subject;
        ``recipient`` must be one of the envelope recipients or in ``To``; ``sender`` in the
        envelope sender or ``From``.

        Example:
        | ${mail}=    Wait For Email    ${alert_id}    subject_regex=^P0    recipient=lead@x.io
        | Should Contain    ${mail}[body]    threshold
        """
        criteria = Criteria("email", tuple(contains), regex, subject, subject_regex,
                            recipient, sender)
        return self._wait(criteria, timeout, after)

    @keyword(tags=["Assertion"])
    def slack_message_should_not_arrive(self, *contains: str, regex: str | None = None,
                                        within: timedelta = timedelta(seconds=2),
                                        after: int = 0) -> None:
        """Fails as soon as a matching Slack message is (or has been) captured after seq
        ``after``, watching for ``within``.

        Example:
        | Slack Message Should Not Arrive    ${alert_id}    SRE    within=4s
        | Slack Message Should Not Arrive    ${alert_id}    after=${first}[seq]    within=2s
        """
        self._should_not_arrive(Criteria("slack", tuple(contains), regex), within, after)

    @keyword(tags=["Assertion"])
    def email_should_not_arrive(self, *contains: str, subject: str | None = None,
                                subject_regex: str | None = None, regex: str | None = None,
                                recipient: str | None = None, sender: str | None = None,
                                within: timedelta = timedelta(seconds=2),
                                after: int = 0) -> None:
        """Fails as soon as a matching e-mail is (or has been) captured after seq ``after``,
        watching for ``within``. Criteria as in `Wait For Email`.

        Example:
        | Email Should Not Arrive    ${alert_id}    recipient=tech-lead@x.io    within=3s
        """
        criteria = Criteria("email", tuple(contains), regex, subject, subject_regex,
                            recipient, sender)
        self._should_not_arrive(criteria, within, after)

    @keyword(tags=["Assertion"])
    def slack_message_count_should_be(self, expected: int, *contains: str,
                                      regex: str | None = None, after: int = 0) -> None:
        """Fails unless exactly ``expected`` matching Slack messages are captured now.

        Example:
        | Slack Message Count Should Be    1    ${alert_id}    DevOps Lead
        """
        self._count_should_be("slack", Criteria("slack", tuple(contains), regex),
                              expected, after)

    @keyword(tags=["Assertion"])
    def email_count_should_be(self, expected: int, *contains: str, subject: str | None = None,
                              subject_regex: str | None = None, regex: str | None = None,
                              recipient: str | None = None, after: int = 0) -> None:
        """Fails unless exactly ``expected`` matching e-mails are captured now.

        Example:
        | Email Count Should Be    1    ${alert_id}    recipient=lead@x.io
        """
        criteria = Criteria("email", tuple(contains), regex, subject, subject_regex, recipient)
        self._count_should_be("email", criteria, expected, after)

    # -- reading --------------------------------------------------------------------------

    @keyword(tags=["Getter"])
    def get_slack_messages(self, *contains: str, regex: str | None = None,
                           after: int = 0) -> list[dict[str, Any]]:
        """Returns the captured Slack messages that match (all of them without criteria).

        Example:
        | @{messages}=    Get Slack Messages    ${alert_id}
        | Length Should Be    ${messages}    2
        """
        return self._matching(Criteria("slack", tuple(contains), regex), after)

    @keyword(tags=["Getter"])
    def get_emails(self, *contains: str, subject: str | None = None,
                   subject_regex: str | None = None, regex: str | None = None,
                   recipient: str | None = None, after: int = 0) -> list[dict[str, Any]]:
        """Returns the captured e-mails that match (all of them without criteria).

        Example:
        | @{mails}=    Get Emails    recipient=pm@x.io
        """
        criteria = Criteria("email", tuple(contains), regex, subject, subject_regex, recipient)
        return self._matching(criteria, after)

    @keyword(tags=["Getter"])
    def get_delivery_attempts(self, kind: str = "", *contains: str, regex: str | None = None,
                              after: int = 0) -> list[dict[str, Any]]:
        """Returns every arrival, including those a fault rejected, oldest first.

        Each has ``outcome``: ``captured``, ``rejected <status>`` or ``refused <code>``.
        ``kind`` is ``slack``, ``email`` or empty for both; ``contains`` and ``regex``
        filter on the text (refused SMTP connections carry no text and only match without
        them).

        Example:
        | @{tries}=    Get Delivery Attempts    slack    ${alert_id}
        | Should Be True    len($tries) >= 3
        """
        records = self._require().records("attempts", kind, after)["attempts"]
        if not contains and regex is None:
            return list(records)
        wanted = [Criteria(r.get("kind", ""), tuple(contains), regex) for r in records]
        return [r for r, c in zip(records, wanted, strict=True) if c.matches(r)]

    @keyword(tags=["Getter"])
    def get_last_capture_seq(self) -> int:
        """Returns the ``seq`` of the latest arrival: pass it as ``after`` to look only at what
        comes next.

        Example:
        | ${mark}=    Get Last Capture Seq
        | Wait For Slack Message    P1    after=${mark}
        """
        return int(self._require().records("captures", after=1 << 62)["last_seq"])

    @keyword(tags=["Getter"])
    def get_monotonic_time(self) -> float:
        """Returns the capture server's ``time.monotonic()`` in seconds: the clock of every
        capture's ``monotonic``, so that the difference is a duration on one host's clock.

        A server this process found through its state file runs on this host: its clock is
        read here. A server connected by URL (`Connect To Alert Capture`) may run on another
        host, whose monotonic clock is unrelated to this one: its clock is asked for, and the
        time returned lies within the request's round trip (logged) before the moment this
        keyword returns, so a duration measured from it errs on the long side, never short.

        Example:
        | ${sent}=    Get Monotonic Time
        | ${msg}=    Wait For Slack Message    ${alert_id}
        | ${latency_ms}=    Evaluate    (${msg}[monotonic] - ${sent}) * 1000
        """
        if not self._remote:
            return time.monotonic()
        before = time.monotonic()
        remote = float(self._require().health()["monotonic"])
        logger.info(f"The capture server's clock: {remote:.6f} s (round trip "
                    f"{(time.monotonic() - before) * 1000:.1f} ms)")
        return remote

    @keyword(tags=["Setter"])
    def clear_alert_captures(self) -> None:
        """Forgets every capture and attempt (``seq`` keeps counting). Affects every pabot
        process: prefer matching on an alert id.

        Example:
        | Clear Alert Captures
        """
        self._require().call("POST", "/clear")

    # -- faults ---------------------------------------------------------------------------

    @keyword(tags=["Setter"])
    def fail_next_webhook_requests(self, count: int = 1, status: int = 500,
                                   matching: str | None = None) -> None:
        """Answers HTTP ``status`` to the next ``count`` webhook requests (only those whose
        body matches the regex ``matching``, if given) instead of capturing them.

        Example:
        | Fail Next Webhook Requests    3    status=503    matching=0\\.777
        """
        self._require().fault("fail_webhooks", count=count, status=status, matching=matching)
        logger.info(f"The next {count} webhook request(s) will get HTTP {status}.")

    @keyword(tags=["Setter"])
    def fail_next_emails(self, count: int = 1, code: int = 451,
                         matching: str | None = None) -> None:
        """Answers SMTP ``code`` (e.g. 451, 452, 554) at the end of DATA for the next
        ``count`` e-mails (whose subject or body matches ``matching``, if given).

        Example:
        | Fail Next Emails    2    code=451
        """
        self._require().fault("fail_emails", count=count, code=code, matching=matching)
        logger.info(f"The next {count} e-mail(s) will get SMTP {code}.")

    @keyword(tags=["Setter"])
    def refuse_emails_for(self, duration: timedelta, code: int = 421) -> float:
        """For ``duration``, greets every SMTP connection with ``code`` and hangs up. Returns
        the time at which e-mail is accepted again, on the clock of every capture's
        ``monotonic`` (the server's).

        Example:
        | ${open_again}=    Refuse Emails For    2s
        """
        answer = self._require().fault("refuse_emails", seconds=duration.total_seconds(),
                                       code=code)
        return float(answer["accepting_again_at"])

    @keyword(tags=["Setter"])
    def stop_listening_for(self, service: str, duration: timedelta) -> float:
        """Closes the ``webhook`` or ``smtp`` listening socket (connections are refused) and
        listens again on the same port after ``duration``. Returns the time at which it
        listens again, on the clock of every capture's ``monotonic`` (the server's).

        Example:
        | ${back}=    Stop Listening For    webhook    2s
        | ${msg}=    Wait For Slack Message    ${alert_id}    timeout=10s
        | Should Be True    ${msg}[monotonic] >= ${back}
        """
        answer = self._require().fault("stop_listening", service=service,
                                       seconds=duration.total_seconds())
        return float(answer["listening_again_at"])

    @keyword(tags=["Setter"])
    def reset_capture_faults(self) -> None:
        """Ends every injected fault and listens again at once.

        Example:
        | Test Teardown    Reset Capture Faults
        """
        self._require().fault("reset")

    @keyword(tags=["Getter"])
    def get_capture_faults(self) -> dict[str, Any]:
        """Returns the faults still armed (counts left, seconds left).

        Example:
        | &{faults}=    Get Capture Faults
        | Should Be Equal As Integers    ${faults}[webhook_failures]    0
        """
        faults: dict[str, Any] = self._require().call("GET", "/faults")
        return faults

    # -- internals ------------------------------------------------------------------------

    def _require(self) -> ControlClient:
        if self._client is None:
            state = CaptureState.read(self.state_dir)
            if state is None or not pid_alive(state.pid):
                raise AssertionError("No alert capture server: use Start Alert Capture or "
                                     "Get Alert Capture first.")
            self._connect(state)
        assert self._client is not None
        return self._client

    def _connect(self, state: CaptureState) -> dict[str, Any]:
        client = ControlClient(state.control_url)
        self._remote = False
        deadline = time.monotonic() + 10
        while True:
            try:
                client.health()
                break
            except CaptureUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(POLL_S)
        self._client = client
        return state.describe()

    def _wait(self, criteria: Criteria, timeout: timedelta, after: int) -> dict[str, Any]:
        seconds = timeout.total_seconds()
        found, others = wait_for(self._require(), criteria, seconds, after)
        if found is None:
            shown = "\n".join(summary(r) for r in others[-10:]) or "(none)"
            why = "\n".join(f"#{r['seq']} {criteria.mismatch(r)}" for r in others[-10:])
            raise AssertionError(f"No {criteria.describe()} within {seconds:g} s. "
                                 f"{len(others)} other(s) arrived:\n{shown}"
                                 + (f"\nWhy they do not match:\n{why}" if why else ""))
        logger.info(f"Received {summary(found, 1000)}")
        return found

    def _should_not_arrive(self, criteria: Criteria, within: timedelta, after: int) -> None:
        seconds = within.total_seconds()
        found, _ = wait_for(self._require(), criteria, seconds, after)
        if found is not None:
            raise AssertionError(f"Expected no {criteria.describe()} within {seconds:g} s, "
                                 f"but got {summary(found, 1000)}")
        logger.info(f"No {criteria.describe()} within {seconds:g} s.")

    def _matching(self, criteria: Criteria, after: int) -> list[dict[str, Any]]:
        records = self._require().records("captures", criteria.kind, after)["captures"]
        found = [r for r in records if criteria.matches(r)]
        logger.info(f"{len(found)} {criteria.describe()}(s):\n"
                    + "\n".join(summary(r) for r in found))
        return found

    def _count_should_be(self, kind: str, criteria: Criteria, expected: int,
                         after: int) -> None:
        found = self._matching(criteria, after)
        if len(found) != int(expected):
            shown = "\n".join(summary(r) for r in found) or "(none)"
            raise AssertionError(f"Expected {expected} {criteria.describe()}(s), found "
                                 f"{len(found)}:\n{shown}")

    @staticmethod
    def _owner_pid() -> int:
        # Under pabot every suite runs in its own robot process, so the server belongs to
        # pabot itself (our parent); under plain robot (or Python) to this process.
        under_pabot = _robot_variable("${PABOTQUEUEINDEX}") is not None
        return os.getppid() if under_pabot else os.getpid()

    def _default_log_dir(self) -> Path:
        output_dir = _robot_variable("${OUTPUT DIR}")
        if not output_dir:
            return self.state_dir
        path = Path(output_dir)
        # pabot gives each process <outputdir>/pabot_results/<n>; logs belong beside the report.
        return path.parent.parent if path.parent.name == "pabot_results" else path
