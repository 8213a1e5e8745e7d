-- Each source's last attempt, whatever its outcome, and the error when it
-- failed: `db status` shows them beside the last success, so a source that
-- has been failing is never shown as merely old.
ALTER TABLE sources ADD COLUMN attempted_at TEXT;
ALTER TABLE sources ADD COLUMN last_error TEXT;
