-- A suppression rule's tags (Inspector's `TagMap`), as JSON.
ALTER TABLE filters ADD COLUMN tags TEXT;
