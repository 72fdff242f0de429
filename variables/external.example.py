"""Template for testing an external deployment: copy, fill in, pass with --variablefile.

    scripts/acceptance --variablefile my_target.py

Every setting the suite reads about a target is listed here. Secrets (tokens, a database
password) come from the environment as robot.api.types.Secret, so they never appear in
log.html, output.xml or the summary. variables/target.py documents each setting.
"""

import os

from robot.api.types import Secret

PULSE_URL = "wss://monitoring.example.internal:3001"
SEAMS_URL = "wss://monitoring.example.internal:3002"
VOICES_URL = "wss://monitoring.example.internal:3003"

# The database the deployment writes to (read access is enough for the checks). Query
# parameters such as ?sslmode=verify-full&sslrootcert=/path/ca.pem are passed on.
DATABASE_URL = Secret(os.environ.get("DASHBOARDS_DATABASE_URL", ""))

# Credentials: the producer and viewer tokens of AUTH_TOKENS, and the Origin allow-list.
PRODUCER_TOKEN = Secret(os.environ.get("DASHBOARDS_PRODUCER_TOKEN", ""))
VIEWER_TOKEN = Secret(os.environ.get("DASHBOARDS_VIEWER_TOKEN", ""))
ALLOWED_ORIGIN = "https://dashboards.example.internal"
REFUSED_ORIGIN = "https://not-allowed.example"

# TLS: the CA that signs the deployment's certificate; a client certificate if it requires one;
# TLS_VERIFY = False only for a self-signed test setup.
CA_BUNDLE = "/etc/ssl/certs/internal-ca.pem"
CLIENT_CERT = ""
CLIENT_KEY = ""
TLS_VERIFY = True

# Settings the deployment runs with (protocol.md section 10). The suite needs
# VOICE_COOLDOWN_S=0 (voices tested back to back) and ALERT_COOLDOWN_S=0 on the target.
VOICE_COOLDOWN_S = 0
SESSION_TTL_S = 60
MAX_CONNECTIONS = 1000
RATE_LIMIT_PER_S = 200
RATE_LIMIT_BURST = 200
# With the contract's 1 MiB, a client allowed 200 pings a second cannot make the server owe
# it 4 MiB before the keepalive drops it: the slow-consumer test is then skipped, saying so.
MAX_MESSAGE_BYTES = 1024 * 1024
# What the network between the suite and the target holds of an unread connection (more
# through a proxy or load balancer).
SLOW_CONSUMER_NETWORK_BYTES = 96 * 1024
# Over TLS (wss://), added to it: what a transport below the server's TLS layer holds
# (asyncio's and uvloop's: up to 64 KiB; measured on loopback, 112-128 KiB in all for TLS).
SLOW_CONSUMER_TLS_BYTES = 64 * 1024

# Process control by the deployment's own means (4.4 restart, 4.5 database outage). Each
# command returns once done; leave one empty to skip the tests that need it.
RESTART_COMMAND = "systemctl restart dashboards"
DATABASE_STOP_COMMAND = "systemctl stop postgresql"
DATABASE_START_COMMAND = "systemctl start postgresql"
COMMAND_TIMEOUT = "3 min"
RECOVERY_TIMEOUT = "60s"

# Its process, to sample memory and CPU (9.2, 9.3): a pid on this machine, or a Prometheus
# endpoint with the process_* series. Neither: 9.2 and 9.3 are skipped, saying why.
SYSTEM_PID = ""
SYSTEM_METRICS_URL = ""

# Storage the contract leaves to the implementation: one query per kind of record, for the
# deployment's own tables, with named parameters %(name)s (variables/target.py lists them).
# Empty: reported as not checked. These are the reference system's tables; adapt them.
ALERT_STORED_QUERY = ("SELECT 1 FROM alerts WHERE alert_id = %(alert_id)s "
                      "AND metric = %(metric)s")
RECOVERY_ACTION_STORED_QUERY = (
    "SELECT 1 FROM recovery_actions WHERE action = %(action)s AND trigger = %(trigger)s "
    "AND abs(extract(epoch FROM time) * 1000 - %(timestamp)s) < 1")
VOICE_ACTIVATION_STORED_QUERY = (
    "SELECT 1 FROM voice_events WHERE voice = %(voice)s AND kind = 'activation' "
    "AND reason = %(reason)s AND abs(extract(epoch FROM time) * 1000 - %(timestamp)s) < 1")
SEAM_STORED_QUERY = ""  # the contract does not require seams to be stored
NOTIFICATION_STORED_QUERY = ("SELECT 1 FROM notification_outbox "
                             "WHERE %(alert_id)s = ANY(alert_ids) AND channel = %(channel)s")

# Alert notifications (tests/08_alerting.robot). The suite starts its capture server (a real
# SMTP server and Slack webhook receiver) on this runner; configure the deployment to send
# there: SLACK_WEBHOOK_URL=http://<CAPTURE_HOST>:<CAPTURE_WEBHOOK_PORT>/slack/webhook,
# SMTP_HOST=<CAPTURE_HOST>, SMTP_PORT=<CAPTURE_SMTP_PORT>, ALERT_EMAIL_TO=<any address(es)>.
# CAPTURE_HOST is the runner's address as the deployment sees it; the capture server listens
# on it.
CAPTURE_HOST = "10.0.0.15"
CAPTURE_SMTP_PORT = 2525
CAPTURE_WEBHOOK_PORT = 8025
CAPTURE_CONTROL_PORT = 8026
# A sharded run (n runners, docs/ci/*-sharded.yml): start one capture server beside the
# deployment (python -m AlertCapture.server --host H --smtp-port 2525 --webhook-port 8025
# --control-port 8026 --state-dir DIR --owner-pid $$) and name its control URL here; every
# shard then uses it, and notification latency is timed on its host's clock.
CAPTURE_CONTROL_URL = ""
# Notifications are recognised by the alert id and the role named in them. If the deployment
# gives roles addresses of their own, name them to check those too; {} for one mailbox.
ALERT_RECIPIENTS = {}
# The deployment's ESCALATION_TIME_SCALE and P1_GROUP_WAIT_S, from which the suite computes
# when each step is due. Keep the scale small (0.01: 5 min → 3 s) and the window short, and
# set ALERT_COOLDOWN_S=0 so that earlier alerts cannot silence the notifications under test.
ESCALATION_TIME_SCALE = 0.01
P1_GROUP_WAIT_S = 2
# How late an escalation step may arrive after it is due (ms). 500 tells a 15-minute step
# from a 16-minute one at the scale above; raise it for a deployment that delivers slower.
NOTIFICATION_TOLERANCE_MS = 500
