"""Template for testing an external deployment: copy, fill in, pass with --variablefile."""

PULSE_URL = "ws://monitoring.example.internal:3001"
SEAMS_URL = "ws://monitoring.example.internal:3002"
VOICES_URL = "ws://monitoring.example.internal:3003"

# The database the deployment writes to (read-only access is enough for the checks).
DATABASE_URL = "postgresql://qa_reader:secret@db.example.internal:5432/dashboards"
