-- The service's state, apart from the advisory database that updates replace.
-- Portable SQL: the same schema runs on SQLite and PostgreSQL. JSON columns are
-- TEXT holding JSON; times are RFC 3339 text (UTC, sortable).

-- A resource Vigia watches: an image, a host, a function, by where it is
-- read from. Two copies of one image are two rows with one resource ID.
CREATE TABLE resources (
    source TEXT PRIMARY KEY,         -- where it is read from (a path, a reference)
    id TEXT NOT NULL,                -- the resource's ID in findings
    kind TEXT NOT NULL,              -- AWS_ECR_CONTAINER_IMAGE | AWS_EC2_INSTANCE | AWS_LAMBDA_FUNCTION | CODE_REPOSITORY
    origin TEXT NOT NULL DEFAULT 'watch', -- watch (a watched folder) | api (registered) | deleted
    content_hash TEXT,               -- of what was last scanned
    details TEXT NOT NULL,           -- JSON: Inspector's resource object
    status_code TEXT NOT NULL,       -- ACTIVE | INACTIVE
    status_reason TEXT NOT NULL,     -- PENDING_INITIAL_SCAN | SCAN_IN_PROGRESS | SUCCESSFUL | ...
    status_message TEXT,             -- what went wrong, when something did
    inventory_id TEXT,               -- the inventory last evaluated
    last_scanned_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX resources_id ON resources (id);
CREATE INDEX resources_inventory ON resources (inventory_id);

-- Inventories, stored once per content (the key is the SHA-256 of the
-- inventory's JSON without its target's name): everything but the packages,
-- which are in package sets.
CREATE TABLE inventories (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,              -- JSON: the inventory without its packages
    created_at TEXT NOT NULL
);

-- Package sets, stored once per content: the packages an image layer
-- introduced (with the OS they are matched for), or all of a function's or
-- host's. A base layer under 1,000 images is one set, stored and rematched
-- once.
CREATE TABLE package_sets (
    id TEXT PRIMARY KEY,             -- SHA-256 of the OS and the packages
    layer TEXT,                      -- the layer's diff ID, for images
    created_at TEXT NOT NULL
);
CREATE TABLE set_packages (
    set_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    grp TEXT NOT NULL,               -- the finding group: type and (source) package name
    body TEXT NOT NULL,              -- JSON: the package
    PRIMARY KEY (set_id, seq)
);
CREATE INDEX set_packages_group ON set_packages (set_id, grp);
CREATE TABLE inventory_sets (
    inventory_id TEXT NOT NULL,
    set_id TEXT NOT NULL,
    PRIMARY KEY (inventory_id, set_id)
);
CREATE INDEX inventory_sets_set ON inventory_sets (set_id, inventory_id);

-- Which package sets hold a package, by the (ecosystem, name) keys it is
-- matched under (its name and its source package's): what a change set's
-- rematch starts from.
CREATE TABLE set_keys (
    ecosystem TEXT NOT NULL,
    name TEXT NOT NULL,
    set_id TEXT NOT NULL,
    grp TEXT NOT NULL,
    PRIMARY KEY (ecosystem, name, set_id, grp)
);

-- Findings, one per Inspector finding ARN.
CREATE TABLE findings (
    arn TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL,
    kind TEXT NOT NULL,              -- PACKAGE_VULNERABILITY | CODE_VULNERABILITY | NETWORK_REACHABILITY
    status TEXT NOT NULL,            -- ACTIVE | SUPPRESSED | CLOSED
    severity TEXT NOT NULL,
    severity_rank BIGINT NOT NULL,   -- 0 CRITICAL … 5 UNTRIAGED, for sorting
    -- The sortable columns hold a value for every finding: '' for no
    -- vulnerability ID, -1 for no score.
    vulnerability_id TEXT NOT NULL,
    title TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    epss DOUBLE PRECISION NOT NULL,
    first_observed_at TEXT NOT NULL,
    last_observed_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    suppressed_by TEXT,              -- the filter ARN
    body TEXT NOT NULL               -- JSON: the finding as Inspector shows it
);
-- /findings/list reads a page in the order of its sort column, from a
-- keyset cursor (value, ARN): one index per sortable column.
CREATE INDEX findings_resource ON findings (resource_id, arn);
CREATE INDEX findings_updated ON findings (updated_at, arn);
CREATE INDEX findings_first_observed ON findings (first_observed_at, arn);
CREATE INDEX findings_last_observed ON findings (last_observed_at, arn);
CREATE INDEX findings_severity ON findings (severity_rank, arn);
CREATE INDEX findings_score ON findings (score, arn);
CREATE INDEX findings_epss ON findings (epss, arn);
CREATE INDEX findings_vulnerability ON findings (vulnerability_id, arn);
CREATE INDEX findings_status ON findings (status, arn);
CREATE INDEX findings_kind ON findings (kind, arn);

-- The names of each finding's vulnerable packages: what a package filter
-- of /findings/list starts from, and what a rematch reads a resource's
-- findings of changed packages by.
CREATE TABLE finding_packages (
    name TEXT NOT NULL,
    arn TEXT NOT NULL,
    resource_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (arn, name)          -- rewritten with its finding
);
CREATE INDEX finding_packages_name ON finding_packages (name, arn);
CREATE INDEX finding_packages_resource ON finding_packages (resource_id, name);

-- Every status change of a finding, with its cause.
CREATE TABLE finding_history (
    arn TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    event TEXT NOT NULL,             -- OPENED | CLOSED | REOPENED | SUPPRESSED | UNSUPPRESSED
    cause TEXT NOT NULL,             -- scan N | generation G | filter F | resource terminated
    PRIMARY KEY (arn, seq)
);

-- Scans and rematches.
CREATE TABLE scans (
    id TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL,
    kind TEXT NOT NULL,              -- SCAN (the resource read) | REMATCH (stored inventory)
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT NOT NULL,           -- RUNNING | SUCCESSFUL | FAILED
    generation BIGINT,
    message TEXT,
    opened BIGINT NOT NULL DEFAULT 0,
    closed BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX scans_resource ON scans (resource_id, started_at);

-- Suppression rules (Inspector filters).
CREATE TABLE filters (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    action TEXT NOT NULL,            -- SUPPRESS | NONE
    criteria TEXT NOT NULL,          -- JSON: Inspector's FilterCriteria
    description TEXT,
    reason TEXT,
    expires_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- API tokens, stored as SHA-256 of the secret.
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,             -- public part, shown in lists (and the SigV4 access key ID)
    name TEXT NOT NULL,
    role TEXT NOT NULL,              -- admin | viewer | agent
    secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- Changes for delivery (webhooks, Slack, Jira …), written in the same
-- transaction as the change.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    detail_type TEXT NOT NULL,       -- Inspector2 Finding | Inspector2 Scan | Inspector2 Coverage
    resource_id TEXT,
    body TEXT NOT NULL,              -- JSON: the EventBridge-shaped event
    delivered_at TEXT
);

-- Work shared by every process on this database (see jobs.rs): one pending
-- job per subject, claimed under a lease that a killed worker lets run out.
CREATE TABLE jobs (
    kind TEXT NOT NULL,              -- SCAN | UPDATE | REMATCH
    subject TEXT NOT NULL,           -- SCAN: the resource's source; else 'advisories'
    fingerprint TEXT,                -- SCAN: what the watcher saw
    state TEXT NOT NULL,             -- QUEUED | RUNNING
    owner TEXT,                      -- the worker holding the lease
    lease_until BIGINT,              -- epoch seconds; a lease run out frees the job
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (kind, subject)
);

-- What the service remembers between runs (the advisory generation last
-- rematched, …).
CREATE TABLE service_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
