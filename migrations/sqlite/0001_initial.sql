-- dnsdesk schema, SQLite flavour.
-- Times are INTEGER milliseconds since the Unix epoch, UTC: they compare
-- and index the same way in SQLite and PostgreSQL.
-- States, roles and kinds are stored as text and converted into enums at
-- the store boundary; CHECK constraints keep stray values out.

-- Regional government units (Perangkat Daerah).
CREATE TABLE agencies (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,   -- short code, e.g. DISDIK (stored uppercase)
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,          -- where confirmation letters go
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL CHECK (role IN ('pd', 'reviewer', 'netadmin', 'admin')),
    agency_id      INTEGER REFERENCES agencies(id),
    password_hash  TEXT,                -- argon2id PHC string; NULL = token-only
    disabled       INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at     INTEGER NOT NULL,
    -- a PD user belongs to exactly one agency; staff to none
    CHECK ((role = 'pd') = (agency_id IS NOT NULL))
);

-- API tokens, stored only as SHA-256 hex of the token.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id),
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);

-- Per-year sequence behind references like DNS/2026/000123.
CREATE TABLE reference_counters (
    year  INTEGER PRIMARY KEY,
    last  INTEGER NOT NULL
);

CREATE TABLE requests (
    id                INTEGER PRIMARY KEY,
    reference         TEXT NOT NULL UNIQUE,
    agency_id         INTEGER NOT NULL REFERENCES agencies(id),
    kind              TEXT NOT NULL CHECK (kind IN ('create', 'change', 'remove')),
    name              TEXT NOT NULL,     -- lowercase, no trailing dot
    records           TEXT NOT NULL,     -- JSON array: the records after the change
    previous_records  TEXT NOT NULL,     -- JSON array: the records the catalogue held before
    purpose           TEXT NOT NULL,
    letter_number     TEXT NOT NULL,
    letter_date       TEXT NOT NULL,     -- YYYY-MM-DD
    letter_sha256     TEXT,              -- the signed letter, stored by content hash
    letter_size       INTEGER,
    state             TEXT NOT NULL CHECK (state IN ('submitted', 'revision_requested', 'rejected',
                          'approved', 'provisioning', 'verifying', 'active', 'conflict', 'failed')),
    state_reason      TEXT,              -- why failed / conflict, for people
    version           INTEGER NOT NULL DEFAULT 1,
    submitted_by      INTEGER NOT NULL REFERENCES users(id),
    submitted_at      INTEGER NOT NULL,
    due_at            INTEGER NOT NULL,
    approved_digest   TEXT,              -- digest of the update plan the reviewer approved
    serial_after      INTEGER,           -- primary's SOA serial after our UPDATE
    verify_deadline   INTEGER,
    updated_at        INTEGER NOT NULL
);

-- One open request per name, whatever the agency: enforced here so that
-- two concurrent submissions cannot both pass the service's check.
-- The state list must equal RequestState::OPEN (a store test checks it).
CREATE UNIQUE INDEX requests_one_open_per_name ON requests (name)
    WHERE state IN ('submitted', 'revision_requested', 'approved', 'provisioning', 'verifying');
-- Lookups by name (the open request for a name, a name's history): the
-- store binds the open states as a parameter, and SQLite uses a partial
-- index only for queries whose WHERE repeats its condition literally.
CREATE INDEX requests_name ON requests (name, id);
CREATE INDEX requests_agency_state ON requests (agency_id, state, id);
CREATE INDEX requests_state_due ON requests (state, due_at);

-- Every step of every request: who, when, why.
CREATE TABLE request_transitions (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    actor_id    INTEGER REFERENCES users(id),   -- NULL: dnsdesk itself
    note        TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX request_transitions_request ON request_transitions (request_id, id);

-- Provisioning jobs, claimed under a lease with a fencing token.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    request_id   INTEGER NOT NULL REFERENCES requests(id),
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done')),
    attempts     INTEGER NOT NULL DEFAULT 0,   -- claims so far
    run_at       INTEGER NOT NULL,
    lease_until  INTEGER,
    lease_token  INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX jobs_one_open_per_request ON jobs (request_id) WHERE state <> 'done';
CREATE INDEX jobs_due ON jobs (state, run_at);

-- Every UPDATE sent, written before sending (outcome 'sending') so that a
-- crash leaves a trace: the next worker checks the zone before resending.
CREATE TABLE dns_attempts (
    id            INTEGER PRIMARY KEY,
    request_id    INTEGER NOT NULL REFERENCES requests(id),
    server        TEXT NOT NULL,
    key_name      TEXT NOT NULL,     -- the TSIG key's name, never its secret
    message       TEXT NOT NULL,     -- JSON array of presentation lines
    outcome       TEXT NOT NULL CHECK (outcome IN ('sending', 'accepted', 'rejected', 'unknown')),
    rcode         TEXT,
    detail        TEXT,
    serial_after  INTEGER,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER
);
CREATE INDEX dns_attempts_request ON dns_attempts (request_id, id);

-- Each authoritative server's latest answer for a request.
CREATE TABLE server_checks (
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    server      TEXT NOT NULL,
    report      TEXT NOT NULL,       -- JSON: verdict, serial, records
    matches     INTEGER NOT NULL CHECK (matches IN (0, 1)),
    checked_at  INTEGER NOT NULL,
    PRIMARY KEY (request_id, server)
);

-- The catalogue: names granted and what dnsdesk last wrote for them.
CREATE TABLE subdomains (
    name        TEXT PRIMARY KEY,
    agency_id   INTEGER NOT NULL REFERENCES agencies(id),
    records     TEXT NOT NULL,       -- JSON array
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    updated_at  INTEGER NOT NULL
);
CREATE INDEX subdomains_agency ON subdomains (agency_id, name);

-- E-mail to deliver (SMTP, or .eml files in the outbox directory), queued
-- in the same transaction as the event it reports.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER REFERENCES requests(id),
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    abandoned_at INTEGER             -- refused for good (bad address, 5xx): not retried
);
CREATE INDEX outbox_pending ON outbox (sent_at, id);
