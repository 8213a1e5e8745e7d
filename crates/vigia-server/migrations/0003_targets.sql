-- Security Hub targets, and the events written before delivery existed.

-- What else a target's kind needs, as JSON (Security Hub: region,
-- accessKeyId, accountId); kinds: WEBHOOK | SLACK | SECURITYHUB. A Security
-- Hub target's secret is its secret access key.
ALTER TABLE targets ADD COLUMN options TEXT NOT NULL DEFAULT '{}';

-- Events written before this version are not delivered to targets created
-- now: a target receives the events written after it was created.
UPDATE outbox SET delivered_at = created_at WHERE delivered_at IS NULL;
