-- Zone history: every version of a managed name's records, with what
-- introduced it. Written with the change itself (activation, adoption).
CREATE TABLE name_versions (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    agency_id    INTEGER REFERENCES agencies(id),
    records      TEXT NOT NULL,        -- JSON, as in requests.records; [] once removed
    source       TEXT NOT NULL CHECK (source IN ('request', 'adopted', 'imported')),
    request_id   INTEGER REFERENCES requests(id),
    approved_by  INTEGER REFERENCES users(id),
    serial       INTEGER,              -- the primary's SOA serial after the change
    at           INTEGER NOT NULL
);
CREATE INDEX name_versions_name ON name_versions (name, id);

-- Drift: differences between the zone (read by AXFR) and what dnsdesk
-- recorded. One open finding per fingerprint; a finding the zone no longer
-- shows is cleared; one an admin settles is adopted (the zone's records
-- become dnsdesk's) or restored (a request puts dnsdesk's back).
CREATE TABLE drift_findings (
    id             INTEGER PRIMARY KEY,
    subject        TEXT NOT NULL,       -- the name, or the lagging server
    kind           TEXT NOT NULL CHECK (kind IN ('changed', 'unmanaged', 'lagging')),
    detail         TEXT NOT NULL,       -- JSON: the finding
    fingerprint    TEXT NOT NULL,       -- SHA-256 of the canonical finding
    state          TEXT NOT NULL CHECK (state IN ('open', 'cleared', 'adopted', 'restored')),
    first_seen_at  INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    closed_at      INTEGER,
    closed_by      INTEGER REFERENCES users(id),
    note           TEXT,
    request_id     INTEGER REFERENCES requests(id)   -- the request that restores
);
CREATE UNIQUE INDEX drift_findings_open ON drift_findings (fingerprint) WHERE state = 'open';
CREATE INDEX drift_findings_state ON drift_findings (state, id);

-- Each drift run, for "last checked" and its outcome.
CREATE TABLE drift_runs (
    id              INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    primary_serial  INTEGER,
    findings        INTEGER NOT NULL,   -- open findings after the run
    error           TEXT                -- why the run could not compare
);
