-- The index by resource and vulnerability (migration 0012) served a
-- narrowing of the rematch that was withdrawn before any release: findings
-- are looked up by resource alone again, through the index it replaced.
CREATE INDEX findings_resource ON findings (resource_id, arn);
DROP INDEX findings_resource_vulnerability;
