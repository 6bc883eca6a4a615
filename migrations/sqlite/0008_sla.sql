-- The request SLA clock (api/src/calendar/hours.rs): due times counted in
-- the office's working hours, paused while the agency revises a request.

-- The working time, in milliseconds, the request has spent waiting for its
-- agency's revision, summed over every resubmission: the office's clock
-- stood still, and due_at was moved later by as much. Kept so that a due
-- time can be explained (submission + the standard + this), whatever the
-- calendar says later.
ALTER TABLE requests ADD COLUMN paused_working_ms INTEGER NOT NULL DEFAULT 0
    CHECK (paused_working_ms >= 0);

-- 1 when due_at relied on a weekday of a year with no loaded holiday
-- calendar, counted as a working day: the due time may be too early, and
-- staff are shown so. Requests filed before this migration did not record
-- it (the submission logged a warning instead) and read 0.
ALTER TABLE requests ADD COLUMN due_uncertain INTEGER NOT NULL DEFAULT 0
    CHECK (due_uncertain IN (0, 1));
