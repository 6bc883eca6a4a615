-- The audit log (api/src/audit.rs): append-only, each entry chained to the
-- previous one by SHA-256. Entries are appended in the same transaction as
-- the change they record; BEGIN IMMEDIATE serialises writers, so the chain
-- never forks.
CREATE TABLE audit_log (
    seq            INTEGER PRIMARY KEY,     -- 1, 2, 3 ... without gaps
    at             INTEGER NOT NULL,        -- ms since the epoch, UTC
    action         TEXT NOT NULL,           -- e.g. request.approved, dns.update_sent
    actor          TEXT NOT NULL,           -- user:NAME, system, console:NAME, anonymous
    actor_user_id  INTEGER REFERENCES users(id),
    agency_id      INTEGER REFERENCES agencies(id),
    name           TEXT,                    -- the DNS name concerned
    request_id     INTEGER REFERENCES requests(id),
    detail         TEXT NOT NULL,           -- JSON; never secrets
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_name ON audit_log (name, seq);
CREATE INDEX audit_log_agency ON audit_log (agency_id, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_request ON audit_log (request_id, seq);

-- dnsdesk never changes or removes an entry; these stop a slip in its own
-- code. Someone with the database file can drop them: the hash chain and
-- the checkpoints outside the database catch what they do then.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit entries cannot be changed');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit entries cannot be removed');
END;

-- The primary's SOA serial read just before an UPDATE was sent.
ALTER TABLE dns_attempts ADD COLUMN serial_before INTEGER;
