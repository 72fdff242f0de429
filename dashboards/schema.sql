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

-- Every event as sent, per dashboard, with its seq: the audit trail and the seq origin
-- after a restart.
CREATE TABLE IF NOT EXISTS events (
    dashboard  text        NOT NULL,
    seq        bigint      NOT NULL,
    type       text        NOT NULL,
    channel    text        NOT NULL,
    payload    jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (dashboard, seq)
);

CREATE TABLE IF NOT EXISTS alerts (
    alert_id        text PRIMARY KEY,
    metric          text             NOT NULL,
    priority        text             NOT NULL,
    level           text             NOT NULL,
    value           double precision NOT NULL,
    threshold       double precision,
    bound           text,
    notify          boolean          NOT NULL,
    opened_at       timestamptz      NOT NULL,
    updated_at      timestamptz      NOT NULL,
    resolved_at     timestamptz,
    resolved_value  double precision,
    acknowledged_at timestamptz
);

CREATE TABLE IF NOT EXISTS voice_events (
    time      timestamptz      NOT NULL,
    voice     text             NOT NULL,
    kind      text             NOT NULL,
    trigger   text             NOT NULL,
    reason    text             NOT NULL,
    intensity double precision NOT NULL
);

CREATE TABLE IF NOT EXISTS recovery_actions (
    time    timestamptz      NOT NULL,
    action  text             NOT NULL,
    trigger text             NOT NULL,
    metric  text             NOT NULL,
    value   double precision NOT NULL
);

CREATE TABLE IF NOT EXISTS seam_transitions (
    time       timestamptz      NOT NULL,
    from_state text             NOT NULL,
    to_state   text             NOT NULL,
    seam_type  text             NOT NULL,
    intensity  double precision NOT NULL
);
