-- Delivery of the outbox's events to targets (webhooks, Slack), each
-- event once per target whose event pattern it matches, with its own retry
-- state (see delivery/).

CREATE TABLE targets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,              -- WEBHOOK | SLACK
    url TEXT NOT NULL,
    secret TEXT,                     -- a webhook's signing secret (whsec_…): kept to sign, never listed whole
    pattern TEXT NOT NULL,           -- the EventBridge event pattern (JSON) its events match
    max_attempts BIGINT NOT NULL,    -- attempts before an event becomes a dead letter
    backoff_ms BIGINT NOT NULL,      -- the first retry's delay; it doubles per attempt (capped at an hour), with jitter
    created_at TEXT NOT NULL
);

-- One event's delivery to one target.
CREATE TABLE deliveries (
    target_id TEXT NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL REFERENCES outbox (id),
    state TEXT NOT NULL,             -- PENDING | DELIVERED | DEAD
    attempts BIGINT NOT NULL,
    next_at BIGINT NOT NULL,         -- epoch milliseconds of the next attempt
    owner TEXT,                      -- the process sending it now (host:pid:random) …
    lease_until BIGINT,              -- … until then (epoch milliseconds)
    last_status BIGINT,              -- the receiver's last HTTP status
    last_error TEXT,                 -- or why the last attempt failed
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    PRIMARY KEY (target_id, event_id)
);
CREATE INDEX deliveries_due ON deliveries (state, next_at);

-- outbox.delivered_at is set when an event has been handed to the targets
-- (a delivery row per matching target): the events not yet handed over.
CREATE INDEX outbox_undispatched ON outbox (created_at, id) WHERE delivered_at IS NULL;

-- The coverage state last reported in an `Inspector2 Coverage` event
-- (status code / reason): a change is reported once, and a scan in progress
-- is not reported.
ALTER TABLE resources ADD COLUMN reported_coverage TEXT;
