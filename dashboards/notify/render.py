"""The readable text of a notification: Slack ``text``, e-mail subject and body (pure).

Every text names the priority, the metric, its value, the violated threshold, the role it is
addressed to, the alert id and the time of the alert event (protocol.md section 6).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from .policy import ROLES

STEP_NOTES = {
    "p0_immediate_slack": "immediate notification",
    "p0_immediate_email": "immediate notification",
    "p0_sre": "escalation step: not acknowledged after 5 min",
    "p0_tech_lead": "escalation step: not acknowledged after 15 min",
    "p1_team": "team notification",
    "p1_pm": "escalation step: not acknowledged after 60 min",
}


def iso_time(timestamp_ms: int) -> str:
    stamp = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def alert_summary(alert: dict[str, Any]) -> str:
    """``pain = 0.75 (threshold: max 0.5)``."""
    limit = f"threshold: {alert['bound']} {alert['threshold']}"
    return f"{alert['metric']} = {alert['value']} ({limit})"


def alert_line(alert: dict[str, Any]) -> str:
    return (f"{alert['priority']} {alert['level']}: {alert_summary(alert)}, "
            f"alert {alert['id']}, at {iso_time(alert['timestamp'])}")


def slack_text(payload: dict[str, Any]) -> str:
    alerts = payload["alerts"]
    role = ROLES[payload["role"]]
    note = STEP_NOTES.get(payload["step"], payload["step"])
    if len(alerts) == 1:
        return f"[{alert_line(alerts[0])}] to {role} ({note})"
    head = f"[{payload['priority']} {len(alerts)} alerts] to {role} ({note}):"
    return "\n".join([head, *(f"- {alert_line(a)}" for a in alerts)])


def slack_body(payload: dict[str, Any]) -> dict[str, Any]:
    return {"text": slack_text(payload)}


def email_subject(payload: dict[str, Any]) -> str:
    alerts = payload["alerts"]
    role = ROLES[payload["role"]]
    if len(alerts) == 1:
        alert = alerts[0]
        return (f"{alert['priority']} {alert['level']}: {alert_summary(alert)} "
                f"- alert {alert['id']} - for {role}")
    return f"{payload['priority']} {len(alerts)} alerts - for {role}"


def email_message(payload: dict[str, Any], sender: str, outbox_id: int) -> EmailMessage:
    role = ROLES[payload["role"]]
    note = STEP_NOTES.get(payload["step"], payload["step"])
    message = EmailMessage()
    message["Subject"] = email_subject(payload)
    message["From"] = sender
    message["To"] = ", ".join(payload["recipients"])
    message["Date"] = format_datetime(datetime.now(UTC))
    # One Message-ID per outbox row: a receiver can recognise the (rare) repeated delivery.
    message["Message-ID"] = make_msgid(f"notification-{outbox_id}", "dashboards.local")
    message["X-Alert-Ids"] = " ".join(a["id"] for a in payload["alerts"])
    message["X-Alert-Role"] = role
    lines = [f"To {role} ({note}).", ""]
    for alert in payload["alerts"]:
        lines += [f"Alert {alert['id']}",
                  f"  priority:  {alert['priority']} ({alert['level']})",
                  f"  metric:    {alert['metric']}",
                  f"  value:     {alert['value']}",
                  f"  threshold: {alert['bound']} {alert['threshold']}",
                  f"  time:      {iso_time(alert['timestamp'])}",
                  f'  acknowledge: {{"type":"ack_alert","alert_id":"{alert["id"]}"}}', ""]
    message.set_content("\n".join(lines))
    return message
