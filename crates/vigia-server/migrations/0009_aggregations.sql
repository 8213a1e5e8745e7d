-- What unfiltered aggregations (the dashboard's overview) count findings by,
-- read from indexes alone, never from a finding's body: whether a fix and a
-- known exploit exist ('' when the finding says nothing), and an index per
-- grouping. Rows stored before this migration are filled in when the
-- service opens its database (StateDb::open).
ALTER TABLE findings ADD COLUMN fix_available TEXT;
ALTER TABLE findings ADD COLUMN exploit_available TEXT;
CREATE INDEX findings_by_kind ON findings (status, kind, severity_rank, fix_available, exploit_available);
CREATE INDEX findings_by_resource ON findings (status, resource_id, severity_rank, kind);
CREATE INDEX findings_by_title ON findings (status, title, vulnerability_id, severity_rank);
-- Package counts: each package name carries its finding's status and
-- severity (written with the finding, changed with its status), counted
-- from this index alone. Rows stored before are filled in when the service
-- opens its database.
ALTER TABLE finding_packages ADD COLUMN status TEXT;
ALTER TABLE finding_packages ADD COLUMN severity_rank BIGINT;
CREATE INDEX finding_packages_counts ON finding_packages (status, name, severity_rank);
-- Known exploited findings are few: /findings/list looks them up by this
-- index rather than walking its sort order.
CREATE INDEX findings_exploit ON findings (exploit_available, arn);
-- The trend reads only the history of its days.
CREATE INDEX finding_history_at ON finding_history (at);
