"""Template for testing an external deployment: copy, fill in, pass with --variablefile."""

PULSE_URL = "ws://monitoring.example.internal:3001"
SEAMS_URL = "ws://monitoring.example.internal:3002"
VOICES_URL = "ws://monitoring.example.internal:3003"

# The database the deployment writes to (read-only access is enough for the checks).
DATABASE_URL = "postgresql://qa_reader:secret@db.example.internal:5432/dashboards"

# Alert notifications (tests/08_alerting.robot). The suite starts its capture server (a real
# SMTP server and Slack webhook receiver) on this runner; configure the deployment to send
# there: SLACK_WEBHOOK_URL=http://<CAPTURE_HOST>:<CAPTURE_WEBHOOK_PORT>/slack/webhook,
# SMTP_HOST=<CAPTURE_HOST>, SMTP_PORT=<CAPTURE_SMTP_PORT>, and ALERT_EMAIL_TO with the
# addresses below ("devops_lead=…,sre=…,tech_lead=…,pm=…"). CAPTURE_HOST is the runner's
# address as the deployment sees it; the capture server listens on it.
CAPTURE_HOST = "10.0.0.15"
CAPTURE_SMTP_PORT = 2525
CAPTURE_WEBHOOK_PORT = 8025
CAPTURE_CONTROL_PORT = 8026
ALERT_RECIPIENTS = {
    "devops_lead": "devops-lead@alerts.test",
    "sre": "sre@alerts.test",
    "tech_lead": "tech-lead@alerts.test",
    "pm": "pm@alerts.test",
}
# The deployment's ESCALATION_TIME_SCALE and P1_GROUP_WAIT_S, from which the suite computes
# when each step is due. Keep the scale small (0.01: 5 min → 3 s) and the window short, and
# set ALERT_COOLDOWN_S=0 so that earlier alerts cannot silence the notifications under test.
ESCALATION_TIME_SCALE = 0.01
P1_GROUP_WAIT_S = 2
