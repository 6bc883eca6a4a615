-- Indexes for the lists people page through on a large database (issue
-- 8: 100,000 requests, 1,000,000 audit entries), each matching a query
-- of the store exactly as it is written (api/src/store/*/requests.rs and
-- audit.rs build their statements with only the conditions a filter
-- sets); api/src/store/tests/explain.rs checks their plans.

-- GET /api/v1/requests?state=S (and the reviewer queue): the newest
-- page of one state, and its count, without reading the other states.
CREATE INDEX requests_state ON requests (state, id);

-- A PD's own requests (every state), newest first.
CREATE INDEX requests_agency ON requests (agency_id, id);

-- The audit log filtered by who acted, newest first.
CREATE INDEX audit_log_actor ON audit_log (actor, seq);

-- The audit search by name is "this name and every name below it": the
-- name or a suffix after a dot, which no index on `name` can find. The
-- name reversed turns the names below one into a range of an index
-- (api/src/store/rows/listing.rs writes it for new entries). It is not
-- part of an entry's hash: derived from `name`, it can always be
-- rebuilt. Filling it is the one UPDATE the log ever takes, so the
-- trigger that forbids changes steps aside for this statement.
DROP TRIGGER audit_log_no_update;
ALTER TABLE audit_log ADD COLUMN name_rev TEXT;
UPDATE audit_log SET name_rev = (
    WITH RECURSIVE r(i, reversed) AS (
        SELECT length(audit_log.name), ''
        UNION ALL
        SELECT i - 1, reversed || substr(lower(audit_log.name), i, 1) FROM r WHERE i > 0
    )
    SELECT reversed FROM r WHERE i = 0
) WHERE name IS NOT NULL;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit entries cannot be changed');
END;
DROP INDEX audit_log_name;
CREATE INDEX audit_log_name_rev ON audit_log (name_rev, seq);
