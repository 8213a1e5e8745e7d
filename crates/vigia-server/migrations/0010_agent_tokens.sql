-- The agent token a host checks in with: another agent token may not speak
-- for the host while that one is active.
ALTER TABLE agents ADD COLUMN token_id TEXT;
