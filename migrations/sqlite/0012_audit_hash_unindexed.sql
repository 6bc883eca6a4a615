-- The audit log without a unique index on `hash` (issue 8). Nothing looks
-- an entry up by its hash: `dnsdesk audit verify` and the checkpoints walk
-- the chain by `seq`, whose primary key already keeps the chain from
-- forking (no two entries share a number, and each names its
-- predecessor's hash). A unique index on a random 64-character key costs
-- every append a write at a random place of a large B-tree, about as
-- much as the row itself on a log of millions of entries.
--
-- SQLite cannot drop a column's UNIQUE constraint: the table is rebuilt
-- with the same columns, indexes and triggers, entries copied as they are.
DROP TRIGGER audit_log_no_update;
DROP TRIGGER audit_log_no_delete;
CREATE TABLE audit_log_rebuilt (
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
    hash           TEXT NOT NULL,
    name_rev       TEXT                     -- name reversed (0011), not hashed
);
INSERT INTO audit_log_rebuilt (seq, at, action, actor, actor_user_id, agency_id, name,
                               request_id, detail, prev_hash, hash, name_rev)
    SELECT seq, at, action, actor, actor_user_id, agency_id, name,
           request_id, detail, prev_hash, hash, name_rev
    FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_rebuilt RENAME TO audit_log;

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_agency ON audit_log (agency_id, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_request ON audit_log (request_id, seq);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_name_rev ON audit_log (name_rev, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit entries cannot be changed');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit entries cannot be removed');
END;
