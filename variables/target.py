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
