-- Web sign-in: password sessions and the throttle on failed sign-ins
-- (api/src/service/accounts.rs). API tokens stay in api_tokens.

-- One row per signed-in browser. The cookie carries a random token; only
-- its SHA-256 (hex) is stored, so a copy of the database cannot be used to
-- take over a session.
CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    -- Deleting a user is not something dnsdesk does (they are disabled),
    -- but a session must never outlive its user row.
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,          -- random, per session; echoed by forms
    created_at    INTEGER NOT NULL,
    -- Kept to the minute (a write per request would cost an fsync each):
    -- the idle timeout counts from here.
    last_seen_at  INTEGER NOT NULL,
    -- Absolute end, whatever the activity.
    expires_at    INTEGER NOT NULL,
    client        TEXT NOT NULL,          -- the address it signed in from
    CHECK (expires_at > created_at),
    CHECK (last_seen_at >= created_at)
);
-- Ending every session of a user (disable, new password, log out all).
CREATE INDEX sessions_user ON sessions (user_id);
-- Purging expired sessions, by either timeout.
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

-- Failed sign-ins per username tried (`user:<name>`, whether or not the
-- user exists) and per client address (`client:<ip>`), counted in a
-- window that starts at the first failure; at the limit the key is locked
-- until `locked_until` and sign-ins for it are refused without checking
-- the password. A successful sign-in clears its username's row only.
CREATE TABLE login_failures (
    key           TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL CHECK (failures > 0),
    first_at      INTEGER NOT NULL,       -- start of the counting window
    locked_until  INTEGER                 -- NULL: not locked
);
-- Purging rows whose window and lock are over.
CREATE INDEX login_failures_first_at ON login_failures (first_at);
