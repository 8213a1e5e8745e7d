-- Registries the service discovers images in (catalog, tags, push
-- notifications), and what it last saw there.
CREATE TABLE registries (
    name TEXT PRIMARY KEY,           -- also names it in notification URLs
    url TEXT NOT NULL,               -- http(s)://host[:port]
    username TEXT,
    password TEXT,                   -- kept to pull; never listed
    docker_config INTEGER NOT NULL DEFAULT 0, -- credentials from Docker's configuration and helpers
    include_patterns TEXT NOT NULL,  -- JSON: repository globs (empty: all)
    exclude_patterns TEXT NOT NULL,  -- JSON: repository globs
    frequency TEXT NOT NULL,         -- MANUAL | SCAN_ON_PUSH | CONTINUOUS_SCAN
    rescan_duration TEXT NOT NULL,   -- LIFETIME | DAYS_3 | ... | DAYS_180
    max_image_bytes BIGINT,
    platform TEXT,                   -- os/arch[/variant] of multi-platform images
    sync_seconds BIGINT NOT NULL,    -- how often the catalog is reconciled
    page_size BIGINT NOT NULL,       -- catalog and tag pages asked for
    synced_at TEXT,
    sync_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Each tag as last seen, and the manifest it points at.
CREATE TABLE registry_tags (
    registry TEXT NOT NULL,
    repository TEXT NOT NULL,
    tag TEXT NOT NULL,
    digest TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (registry, repository, tag)
);
CREATE INDEX registry_tags_digest ON registry_tags (registry, repository, digest);

-- Each image (repository and manifest digest) found: one resource, however
-- many tags point at it.
CREATE TABLE registry_images (
    source TEXT PRIMARY KEY,         -- host/repository@digest: the resource's source
    registry TEXT NOT NULL,
    repository TEXT NOT NULL,
    digest TEXT NOT NULL,
    pushed_at TEXT NOT NULL,         -- the last push seen (or the sync that first found it)
    gone INTEGER NOT NULL DEFAULT 0  -- no tag points at it any more
);
CREATE INDEX registry_images_registry ON registry_images (registry, repository);
