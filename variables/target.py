"""Where the system under test lives.

Empty URLs (the default) start the embedded reference system on EMBEDDED_PORTS for the run.
To test another deployment, copy variables/external.example.py, fill it in and run
``pabot --variablefile my_target.py tests/``; a variable file given on the command line
overrides this one.
"""

# WebSocket URLs of the three dashboards. Empty: start the embedded reference system.
PULSE_URL = ""
SEAMS_URL = ""
VOICES_URL = ""

# PostgreSQL/TimescaleDB DSN the system writes to. Empty with the embedded system: a
# throwaway cluster is created for the run and removed at its end.
DATABASE_URL = ""

# Settings of the target that tests must know (the embedded system is started with them).
# A deactivated voice stays off this long; voice tests need 0 to run back to back.
VOICE_COOLDOWN_S = 0
# Open connections allowed per dashboard (protocol.md section 9).
MAX_CONNECTIONS = 1000

# The embedded system: Pulse, Seams, Voices ports, and its settings (protocol.md section 10).
EMBEDDED_HOST = "127.0.0.1"
EMBEDDED_PORTS = "3001,3002,3003"
EMBEDDED_SETTINGS = {
    "HEARTBEAT_INTERVAL_MS": "5000",
    "UPDATE_INTERVAL_MS": "500",
    "VOICE_COOLDOWN_S": str(VOICE_COOLDOWN_S),
    "MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    "RATE_LIMIT_PER_S": "200",
    "RATE_LIMIT_BURST": "200",
}

# How long a reachability check of the target may take before the run fails fast.
REACHABILITY_TIMEOUT = "10s"

# Rate limit of the target per connection (protocol.md section 9 defaults).
RATE_LIMIT_PER_S = 200
RATE_LIMIT_BURST = 200

# -- Alert notifications (tests/08_alerting.robot, libraries/AlertCapture) --------------------
# The alert capture server: a real SMTP server and a Slack webhook receiver, started once per
# run before the embedded system, which is configured to send its notifications there
# (SLACK_WEBHOOK_URL, SMTP_HOST, SMTP_PORT, ALERT_EMAIL_TO). Port 0 = any free port. For an
# external deployment use fixed ports and an address the deployment can reach, and configure
# the deployment with them (see variables/external.example.py).
CAPTURE_HOST = "127.0.0.1"
CAPTURE_SMTP_PORT = 0
CAPTURE_WEBHOOK_PORT = 0
CAPTURE_CONTROL_PORT = 0

# Who alert e-mail goes to, per role of protocol.md section 6 (ALERT_EMAIL_TO "role=address").
ALERT_RECIPIENTS = {
    "devops_lead": "devops-lead@alerts.test",
    "sre": "sre@alerts.test",
    "tech_lead": "tech-lead@alerts.test",
    "pm": "pm@alerts.test",
}

# Escalation timing of the system under test; the suite computes its expectations from these.
# 0.01 turns the 5/15/60 min steps into 3/9/36 s; the P1 grouping window is not scaled.
ESCALATION_TIME_SCALE = 0.01
P1_GROUP_WAIT_S = 2

# What the alerting suite needs of the embedded system, merged with the capture addresses
# under EMBEDDED_SETTINGS (a setting named there wins). The alert cooldown is off so that
# alerts of earlier or parallel suites cannot silence the notifications a test waits for; the
# cooldown rule itself is covered by utest/test_notify.py and utest/test_slo.py.
ALERTING_SETTINGS = {
    "ESCALATION_TIME_SCALE": str(ESCALATION_TIME_SCALE),
    "P1_GROUP_WAIT_S": str(P1_GROUP_WAIT_S),
    "ALERT_EMAIL_TO": ",".join(f"{role}={address}" for role, address in ALERT_RECIPIENTS.items()),
    "ALERT_COOLDOWN_S": "0",
}
