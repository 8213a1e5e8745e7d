-- A finding event a summary stands for (see events.rs): webhooks and Slack
-- get the summary instead; Security Hub and Jira, which keep a record per
-- finding, still get the finding's own event.
ALTER TABLE outbox ADD COLUMN summarized BIGINT NOT NULL DEFAULT 0;
