-- Findings reports and SBOM exports (Inspector's CreateFindingsReport and
-- CreateSbomExport), written to a folder or to S3-compatible storage.
CREATE TABLE exports (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,              -- FINDINGS | SBOM
    format TEXT NOT NULL,            -- CSV | JSON | CYCLONEDX_1_4 | SPDX_2_3
    status TEXT NOT NULL,            -- IN_PROGRESS | SUCCEEDED | FAILED | CANCELLED
    destination TEXT NOT NULL,       -- JSON: Inspector's Destination (bucketName, keyPrefix, kmsKeyArn)
    filter TEXT NOT NULL,            -- JSON: the filterCriteria or resourceFilterCriteria
    error_code TEXT,                 -- Inspector's ReportingErrorCode
    error_message TEXT,
    keys TEXT,                       -- JSON: the object keys written
    created_at TEXT NOT NULL,
    finished_at TEXT
);
