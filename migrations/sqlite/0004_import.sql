-- Import (`dnsdesk zone import`): the names an existing zone holds on day
-- one enter the catalogue without a request, and those no mapping assigns
-- to an agency stay unassigned (visible to staff only, taken for new
-- requests, until a request of an agency settles them). So a catalogue
-- entry's agency and request become optional.
--
-- SQLite cannot drop NOT NULL from a column: the table is rebuilt (create
-- the new one, copy, drop the old, rename, recreate its index), keeping
-- every other constraint. sqlx runs this file in a transaction, where
-- `PRAGMA foreign_keys = OFF` would be a no-op; none is needed: no table
-- references `subdomains`, so dropping it (an implicit DELETE of a child
-- table) and renaming the copy touch no other table's foreign keys, and
-- the copied rows already satisfy their own.
CREATE TABLE subdomains_new (
    name        TEXT PRIMARY KEY,
    agency_id   INTEGER REFERENCES agencies(id),   -- NULL: imported, not assigned yet
    records     TEXT NOT NULL,                     -- JSON array
    request_id  INTEGER REFERENCES requests(id),   -- NULL: imported, no request since
    updated_at  INTEGER NOT NULL,
    -- every request belongs to an agency, so a name a request wrote has one
    CHECK (request_id IS NULL OR agency_id IS NOT NULL)
);
INSERT INTO subdomains_new (name, agency_id, records, request_id, updated_at)
    SELECT name, agency_id, records, request_id, updated_at FROM subdomains;
DROP TABLE subdomains;
ALTER TABLE subdomains_new RENAME TO subdomains;
CREATE INDEX subdomains_agency ON subdomains (agency_id, name);
