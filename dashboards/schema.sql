-- Schema of the reference system. Idempotent: applied at every start.
-- The metrics table is exactly protocol.md section 8; the scenarios query it directly.
CREATE EXTENSION IF NOT EXISTS timescaledb;

CREATE TABLE IF NOT EXISTS metrics (
    timestamp   timestamptz      NOT NULL,
    metric_name text             NOT NULL,
    value       double precision NOT NULL,
    source      text             NOT NULL
);
SELECT create_hypertable('metrics', 'timestamp', if_not_exists => TRUE);
CREATE INDEX IF NOT EXISTS metrics_name_time_idx ON metrics (metric_name, timestamp DESC);
