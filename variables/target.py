"""Where the system under test lives, how to reach it, and the settings it runs with.

Empty URLs (the default) start the embedded reference system for the run, configured like
a production deployment (bearer tokens, an Origin allow-list). To test another deployment,
copy variables/external.example.py, fill it in and run
``scripts/acceptance --variablefile my_target.py``; a variable file given on the command
line overrides this one.
"""

from robot.api.types import Secret

# WebSocket URLs of the three dashboards (ws:// or wss://). Empty: start the embedded system.
PULSE_URL = ""
SEAMS_URL = ""
VOICES_URL = ""

# PostgreSQL/TimescaleDB URL the system writes to (a Secret if it holds a password; query
# parameters such as sslmode are passed on). Empty with the embedded system: a throwaway
# cluster is created for the run and removed at its end.
DATABASE_URL = ""

# -- Credentials (protocol.md section 9) ------------------------------------------------------
# Bearer tokens of the target's producer and viewer roles, as Secret (from robot.api.types):
# a token never appears in log.html, output.xml or the summary. Every connection the suite
# opens carries one. Empty: the target needs none (10.4 is then skipped, saying so).
PRODUCER_TOKEN = ""
VIEWER_TOKEN = ""
# An Origin the target's allow-list lets in and one it refuses (10.5). Empty: 10.5 skipped.
ALLOWED_ORIGIN = ""
REFUSED_ORIGIN = ""

# -- TLS (wss:// and https:// targets) --------------------------------------------------------
# CA_BUNDLE: PEM file of the CAs that sign the target's certificate (empty: the system's).
# CLIENT_CERT and CLIENT_KEY: a client certificate, for a target that requires one.
# TLS_VERIFY = False trusts any certificate: only for a self-signed test setup (logged loudly).
CA_BUNDLE = ""
CLIENT_CERT = ""
CLIENT_KEY = ""
TLS_VERIFY = True

# -- Settings of the target that tests must know ----------------------------------------------
# A deactivated voice stays off this long; voice tests need 0 to run back to back.
VOICE_COOLDOWN_S = 0
# How long a disconnected session can be resumed (protocol.md section 3).
SESSION_TTL_S = 60
# Open connections allowed per dashboard (protocol.md section 9).
MAX_CONNECTIONS = 1000
# Rate limit of the target per connection (protocol.md section 9 defaults).
RATE_LIMIT_PER_S = 200
RATE_LIMIT_BURST = 200
# Largest message of the target (protocol.md section 9 default). A client that stops reading
# is disconnected once the server owes it 4 × this (section 2).
MAX_MESSAGE_BYTES = 1024 * 1024
# What the network between the suite and the target holds of a connection nobody reads (the
# kernels' socket buffers, a proxy's): the slow-consumer test leaves this much unread beyond
# the bound. About 42 KB on loopback with its small window; more through a proxy.
SLOW_CONSUMER_NETWORK_BYTES = 96 * 1024
# Over TLS (wss://), added to it: what a transport below the server's TLS layer holds
# (asyncio's and uvloop's: up to 64 KiB; measured on loopback, 112-128 KiB in all for TLS).
SLOW_CONSUMER_TLS_BYTES = 64 * 1024

# -- Process control (4.4 restart, 4.5 database outage) ---------------------------------------
# Shell commands that act on the target by its own means, e.g. "systemctl restart dashboards",
# "docker restart dashboards", "kubectl rollout restart deployment/dashboards"; the database
# likewise ("systemctl stop postgresql", "docker stop timescaledb"). Each must return once
# done. Empty with the embedded system: those tests deploy a system of their own. Empty with
# an external target: those tests are skipped, naming the missing setting.
RESTART_COMMAND = ""
DATABASE_STOP_COMMAND = ""
DATABASE_START_COMMAND = ""
COMMAND_TIMEOUT = "3 min"
# How long the target may take to answer /healthz again after a restart or a database outage
# before the test fails (the scenario's auto-recovery target, 5 s, is scored separately).
RECOVERY_TIMEOUT = "60s"

# -- Storage the contract leaves to the implementation (protocol.md section 8) ----------------
# One query per kind of stored record, written for the target's own tables, with named
# parameters %(name)s; it must return at least one row once the record is stored. Empty: the
# check is reported as not checked (never a failure). Defaults: the reference system's tables.
# Parameters: alert: alert_id, metric, priority, value; recovery action: action, trigger,
# timestamp (ms); voice activation: voice, trigger, reason, timestamp (ms); seam: from_state,
# to_state, seam_type, timestamp (ms); notification: alert_id, channel (slack or email).
ALERT_STORED_QUERY = ("SELECT 1 FROM alerts WHERE alert_id = %(alert_id)s "
                      "AND metric = %(metric)s")
RECOVERY_ACTION_STORED_QUERY = (
    "SELECT 1 FROM recovery_actions WHERE action = %(action)s AND trigger = %(trigger)s "
    "AND abs(extract(epoch FROM time) * 1000 - %(timestamp)s) < 1")
VOICE_ACTIVATION_STORED_QUERY = (
    "SELECT 1 FROM voice_events WHERE voice = %(voice)s AND kind = 'activation' "
    "AND reason = %(reason)s AND abs(extract(epoch FROM time) * 1000 - %(timestamp)s) < 1")
# The contract does not require seams to be stored: checked only where a query is given.
SEAM_STORED_QUERY = (
    "SELECT 1 FROM seam_transitions WHERE to_state = %(to_state)s "
    "AND seam_type = %(seam_type)s AND abs(extract(epoch FROM time) * 1000 - %(timestamp)s) < 1")
NOTIFICATION_STORED_QUERY = ("SELECT 1 FROM notification_outbox "
                             "WHERE %(alert_id)s = ANY(alert_ids) AND channel = %(channel)s")

# -- The embedded system ----------------------------------------------------------------------
# Pulse, Seams, Voices ports, and its settings (protocol.md section 10). It runs like a
# production deployment: bearer tokens and an Origin allow-list (EMBEDDED_ACCESS, used in
# place of the credentials above), so every test of the default run exercises them.
EMBEDDED_HOST = "127.0.0.1"
EMBEDDED_PORTS = "3001,3002,3003"
EMBEDDED_ACCESS = {
    "producer_token": Secret("embedded-producer-token"),
    "viewer_token": Secret("embedded-viewer-token"),
    "allowed_origin": "https://dashboards.example",
    "refused_origin": "https://elsewhere.example",
}
# Small enough that a client allowed RATE_LIMIT_PER_S pings a second can make the server owe
# it 4 × this before the keepalive (20 s) drops it; a batch of 1000 records still fits.
EMBEDDED_MAX_MESSAGE_BYTES = 48 * 1024
EMBEDDED_SETTINGS = {
    "HEARTBEAT_INTERVAL_MS": "5000",
    "MAX_MESSAGE_BYTES": str(EMBEDDED_MAX_MESSAGE_BYTES),
    "UPDATE_INTERVAL_MS": "500",
    "VOICE_COOLDOWN_S": str(VOICE_COOLDOWN_S),
    "MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    "RATE_LIMIT_PER_S": str(RATE_LIMIT_PER_S),
    "RATE_LIMIT_BURST": str(RATE_LIMIT_BURST),
    "AUTH_TOKENS": f"{EMBEDDED_ACCESS['producer_token'].value}:producer,"
                   f"{EMBEDDED_ACCESS['viewer_token'].value}:viewer",
    "ALLOWED_ORIGINS": EMBEDDED_ACCESS["allowed_origin"],
}

# How long a reachability check of the target may take before the run fails fast.
REACHABILITY_TIMEOUT = "10s"

# -- Alert notifications (tests/08_alerting.robot, libraries/AlertCapture) --------------------
# The alert capture server: a real SMTP server and Slack webhook receiver, started once per
# run before the embedded system, which is configured to send its notifications there
# (SLACK_WEBHOOK_URL, SMTP_HOST, SMTP_PORT, ALERT_EMAIL_TO). Port 0 = any free port. For an
# external deployment use fixed ports and an address the deployment can reach, and configure
# the deployment with them (see variables/external.example.py).
CAPTURE_HOST = "127.0.0.1"
CAPTURE_SMTP_PORT = 0
CAPTURE_WEBHOOK_PORT = 0
CAPTURE_CONTROL_PORT = 0
# The control URL of an alert capture server the run did not start, e.g. the one every shard
# of a sharded run shares (scripts/acceptance-deployed --shards N). The suite then neither
# starts nor stops one, and times notifications on that server's clock (it may be on another
# host). Empty: the run starts its own on the CAPTURE_* address above.
CAPTURE_CONTROL_URL = ""

# Notifications are recognised by what the contract guarantees: the alert id and the role
# named in the text (and in an e-mail's subject). Where the target gives a role an address of
# its own, name it here and e-mail to that role must also reach it; a role left out (or an
# empty dict: one mailbox for every role, as ALERT_EMAIL_TO allows) is not filtered by address.
# The embedded system gives each role its own address.
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
