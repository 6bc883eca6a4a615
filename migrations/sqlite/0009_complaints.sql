-- Complaints about the informatics service (pengaduan), as the service
-- standard sets them: filed on the public form or by a PD, or recorded by
-- staff from the other channels; classified into a category that sets the
-- resolution deadline in working days; answered and resolved
-- (api/src/service/complaints.rs, the state diagram in api/src/model.rs).

CREATE TABLE complaints (
    id                 INTEGER PRIMARY KEY,
    -- The complainant's only key to the status page: ADU-XXXX-XXXX, 40
    -- random bits (model::TrackingCode). Unique by the index below.
    tracking_code      TEXT NOT NULL,
    channel            TEXT NOT NULL CHECK (channel IN ('web_form', 'pd_portal', 'tatap_muka',
                           'kotak_pengaduan', 'whatsapp', 'telepon', 'email', 'sp4n_lapor',
                           'media_sosial')),
    -- Personal data: shown to staff (and to the filing PD) only, never on
    -- the status page and never copied into the audit log.
    complainant_name   TEXT NOT NULL,
    contact            TEXT NOT NULL,
    request_reference  TEXT,               -- as the complainant wrote it
    description        TEXT NOT NULL,
    category           TEXT CHECK (category IN ('ringan', 'normatif',
                           'tidak_berkadar_pengawasan', 'berkadar_pengawasan')),
    state              TEXT NOT NULL CHECK (state IN ('received', 'classified', 'answered',
                           'resolved')),
    -- The agency of the PD that filed it from its pages; NULL otherwise.
    agency_id          INTEGER REFERENCES agencies(id),
    -- The PD or staff user who filed or recorded it; NULL: the public form.
    filed_by           INTEGER REFERENCES users(id),
    assigned_to        INTEGER REFERENCES users(id),
    -- When the office received it (given by staff for a recorded
    -- complaint); the deadline counts from here.
    received_at        INTEGER NOT NULL,
    -- When it was entered in dnsdesk.
    recorded_at        INTEGER NOT NULL,
    classified_at      INTEGER,
    due_at             INTEGER,
    -- 1 when due_at relied on a weekday of a year with no loaded holiday
    -- calendar, counted as a working day.
    due_uncertain      INTEGER NOT NULL DEFAULT 0 CHECK (due_uncertain IN (0, 1)),
    resolved_at        INTEGER,
    resolution         TEXT,
    -- A category, its deadline and its time come together, at
    -- classification, which every state after `received` has had.
    CHECK ((category IS NULL) = (state = 'received')),
    CHECK ((category IS NULL) = (due_at IS NULL)),
    CHECK ((category IS NULL) = (classified_at IS NULL)),
    -- Only a resolved complaint has a resolution.
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL)),
    CHECK ((state = 'resolved') = (resolution IS NOT NULL)),
    CHECK (recorded_at >= received_at)
);
-- Lookups by code (the status page), and no two complaints with one code:
-- a colliding insert fails and is retried with a new code.
CREATE UNIQUE INDEX complaints_tracking_code ON complaints (tracking_code);
-- The staff list: open complaints by deadline; overdue ones.
CREATE INDEX complaints_state_due ON complaints (state, due_at);
-- A PD's list of its agency's complaints.
CREATE INDEX complaints_agency ON complaints (agency_id, received_at);

-- Internal notes: staff only.
CREATE TABLE complaint_notes (
    id            INTEGER PRIMARY KEY,
    complaint_id  INTEGER NOT NULL REFERENCES complaints(id),
    author_id     INTEGER NOT NULL REFERENCES users(id),
    body          TEXT NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX complaint_notes_complaint ON complaint_notes (complaint_id, id);

-- Responses to the complainant, shown on the status page (without the
-- author's name).
CREATE TABLE complaint_responses (
    id            INTEGER PRIMARY KEY,
    complaint_id  INTEGER NOT NULL REFERENCES complaints(id),
    author_id     INTEGER NOT NULL REFERENCES users(id),
    body          TEXT NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX complaint_responses_complaint ON complaint_responses (complaint_id, id);
