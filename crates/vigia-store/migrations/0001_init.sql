-- Vigia's advisory database. Portable SQL: the same schema runs on SQLite and PostgreSQL.
-- JSON columns are TEXT holding JSON, so that both backends store them alike.

-- One row per fetched file of a feed (`PyPI/all.zip`, `kev/known_exploited_vulnerabilities.json`).
CREATE TABLE sources (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,            -- osv | kev | epss | nvd
    ecosystem TEXT,                -- for osv sources
    location TEXT NOT NULL,        -- where it was last read from
    etag TEXT,
    last_modified TEXT,
    sha256 TEXT,
    bytes BIGINT NOT NULL DEFAULT 0,
    records BIGINT NOT NULL DEFAULT 0,
    withdrawn BIGINT NOT NULL DEFAULT 0,
    malformed BIGINT NOT NULL DEFAULT 0,
    malformed_entries TEXT NOT NULL DEFAULT '[]',  -- JSON [{entry, reason}], first 100
    snapshot_at TEXT,              -- upstream's own time for the data
    changed_at TEXT,               -- when Vigia last ingested new content
    checked_at TEXT                -- when Vigia last confirmed it current
);

CREATE TABLE advisories (
    source TEXT NOT NULL,
    id TEXT NOT NULL,
    modified TEXT NOT NULL,
    published TEXT,
    withdrawn TEXT,
    summary TEXT,
    details TEXT,
    aliases TEXT NOT NULL,         -- JSON list
    related TEXT NOT NULL,         -- JSON list
    upstream TEXT NOT NULL,        -- JSON list
    severity TEXT NOT NULL,        -- JSON list of {type, score}
    refs TEXT NOT NULL,            -- JSON list of {type, url}
    database_specific TEXT,        -- JSON
    PRIMARY KEY (source, id)
);
CREATE INDEX advisories_id ON advisories (id);

-- Affected entries, found by (ecosystem, name normalised per ecosystem).
CREATE TABLE affected (
    source TEXT NOT NULL,
    advisory_id TEXT NOT NULL,
    idx BIGINT NOT NULL,
    ecosystem TEXT NOT NULL,       -- full OSV ecosystem: Debian:12, Alpine:v3.20, PyPI
    name TEXT NOT NULL,
    name_norm TEXT NOT NULL,
    purl TEXT,
    ranges TEXT NOT NULL,          -- JSON
    versions TEXT NOT NULL,        -- JSON
    severity TEXT NOT NULL,        -- JSON
    ecosystem_specific TEXT,       -- JSON (Debian urgency, …)
    database_specific TEXT,        -- JSON (RustSec informational, …)
    PRIMARY KEY (source, advisory_id, idx)
);
CREATE INDEX affected_package ON affected (ecosystem, name_norm);
CREATE INDEX affected_advisory ON affected (advisory_id);

-- Every ID a record names, and how: self, alias, upstream, related; `same` marks
-- the IDs that denote the same vulnerability (they form the alias groups).
CREATE TABLE advisory_ids (
    source TEXT NOT NULL,
    advisory_id TEXT NOT NULL,
    id TEXT NOT NULL,
    relation TEXT NOT NULL,
    same BIGINT NOT NULL
);
CREATE INDEX advisory_ids_id ON advisory_ids (id);
CREATE INDEX advisory_ids_advisory ON advisory_ids (advisory_id);
CREATE INDEX advisory_ids_source ON advisory_ids (source);

-- Alias groups: every ID that names a vulnerability, mapped to the group's preferred ID.
CREATE TABLE vuln_groups (
    member TEXT PRIMARY KEY,
    group_id TEXT NOT NULL
);
CREATE INDEX vuln_groups_group ON vuln_groups (group_id);

-- CVSS vectors per vulnerability ID, from every source that carries them.
CREATE TABLE cvss (
    vuln_id TEXT NOT NULL,
    source TEXT NOT NULL,          -- the feed file the row came from
    origin TEXT NOT NULL,          -- nvd | osv
    scorer TEXT NOT NULL,          -- nvd@nist.gov, a CNA, or the OSV record ID
    primary_score BIGINT NOT NULL, -- NVD's `Primary` type
    version TEXT NOT NULL,
    vector TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    severity TEXT NOT NULL
);
CREATE INDEX cvss_vuln ON cvss (vuln_id);
CREATE INDEX cvss_source ON cvss (source);

CREATE TABLE kev (
    cve TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    vendor_project TEXT NOT NULL,
    product TEXT NOT NULL,
    vulnerability_name TEXT NOT NULL,
    date_added TEXT NOT NULL,
    due_date TEXT NOT NULL,
    ransomware TEXT NOT NULL,
    short_description TEXT NOT NULL,
    required_action TEXT NOT NULL,
    notes TEXT NOT NULL
);

CREATE TABLE epss (
    cve TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    percentile DOUBLE PRECISION NOT NULL,
    score_date TEXT
);

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
