-- /findings/list walks the sort column's index and checks each finding
-- against the filters that have no index of their own (a status, a
-- severity, a title prefix, another date's range). The indexes of the
-- three dates, the sorts a range of another date comes with, now carry the
-- columns those filters read, so that such a walk reads the index alone
-- and visits a finding's row (its body) only for the findings kept:
-- measured at 1,000,000 findings on SQLite, a title prefix with an
-- `updatedAt` range sorted by first observation walks 220,000 index entries
-- before its first page, 250-370 ms through the rows, 31-53 ms in the
-- index alone. They replace the narrower indexes of the same prefixes.
-- The price: about 200 bytes per finding in each, and an update of a
-- finding's `updatedAt` or `lastObservedAt` rewrites its entry in all three.
CREATE INDEX findings_updated_walk ON findings (updated_at, arn, status, severity, kind, vulnerability_id, title, score, epss, first_observed_at, last_observed_at, fix_available, exploit_available);
DROP INDEX findings_updated;
CREATE INDEX findings_first_observed_walk ON findings (first_observed_at, arn, status, severity, kind, vulnerability_id, title, score, epss, last_observed_at, updated_at, fix_available, exploit_available);
DROP INDEX findings_first_observed;
CREATE INDEX findings_last_observed_walk ON findings (last_observed_at, arn, status, severity, kind, vulnerability_id, title, score, epss, first_observed_at, updated_at, fix_available, exploit_available);
DROP INDEX findings_last_observed;
-- A rematch reads a resource's findings of the vulnerabilities an update
-- changed: by resource and vulnerability, where it read every finding of
-- the changed packages (about eight for each one that changes).
CREATE INDEX findings_resource_vulnerability ON findings (resource_id, vulnerability_id, arn);
DROP INDEX findings_resource;
