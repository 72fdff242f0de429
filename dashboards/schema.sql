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

-- The notification outbox (docs/alerting.md): every Slack message and e-mail, immediate or
-- a scheduled escalation step, is one row, written before anything is sent. Workers deliver
-- the rows that are due, retrying with backoff; a row is marked delivered in the same
-- transaction that holds its lock while sending, so a delivered row is never picked again.
CREATE TABLE IF NOT EXISTS notification_outbox (
    id              bigserial   PRIMARY KEY,
    alert_ids       text[]      NOT NULL,            -- one alert, or a P1 group
    channel         text        NOT NULL CHECK (channel IN ('slack', 'email')),
    role            text        NOT NULL,            -- devops_lead | sre | tech_lead | pm
    step            text        NOT NULL,            -- p0_immediate_slack, p0_sre, p1_team, ...
    priority        text        NOT NULL,
    payload         jsonb       NOT NULL,            -- what the message says (alerts, recipients)
    cancellable     boolean     NOT NULL,            -- skipped once acknowledged or resolved
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'cancelled')),
    due_at          timestamptz NOT NULL,            -- next attempt (first: the step's time)
    created_at      timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    last_attempt_at timestamptz,
    last_error      text,
    finished_at     timestamptz                      -- delivered or cancelled
);
CREATE INDEX IF NOT EXISTS notification_outbox_pending_idx
    ON notification_outbox (channel, due_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS notification_outbox_alerts_idx
    ON notification_outbox USING gin (alert_ids);
