-- Dashboard accounts (`vigia user create`): passwords as Argon2id PHC strings.
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,              -- admin | viewer
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled_at TEXT
);

-- Dashboard sessions. The cookie holds the session's secret; only its
-- SHA-256 is stored. A session opened with an API token ends when the
-- token is revoked.
CREATE TABLE sessions (
    id_sha256 TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    subject TEXT NOT NULL,           -- user:<name> | token:<token id>
    csrf TEXT NOT NULL,              -- the form token every write must carry
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
