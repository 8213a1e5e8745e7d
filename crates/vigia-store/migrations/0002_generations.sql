-- Generations and change sets.
--
-- `digest` is a hash of everything in an affected entry that matching reads,
-- and of whether its record is withdrawn: an update compares a source's
-- (advisory, entry, package, digest) rows before and after to tell which
-- packages' advisories changed, without keeping the old rows anywhere else.
-- Rows written before this column existed have 0, so the next update of their
-- source reports every package of it as changed.
ALTER TABLE affected ADD COLUMN digest BIGINT NOT NULL DEFAULT 0;

-- The generation of the published database: 0 until an update writes content,
-- then one more at every update that does (kept in `meta` as `generation`).
INSERT INTO meta (key, value) VALUES ('generation', '0') ON CONFLICT (key) DO NOTHING;
