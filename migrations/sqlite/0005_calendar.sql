-- Admins' changes to the holiday calendar shipped with dnsdesk, kept in
-- order and replayed on top of it: a holiday added or renamed, a day
-- given back as a working day, a year imported from a holiday file.
CREATE TABLE calendar_edits (
    id      INTEGER PRIMARY KEY,
    action  TEXT NOT NULL CHECK (action IN ('add', 'remove', 'import')),
    date    TEXT,                 -- YYYY-MM-DD (add, remove)
    kind    TEXT CHECK (kind IN ('libur_nasional', 'cuti_bersama')),   -- add
    name    TEXT,                 -- add
    year    INTEGER,              -- import
    file    TEXT,                 -- import: the holiday file as given
    at      INTEGER NOT NULL,
    CHECK ((action = 'add' AND date IS NOT NULL AND kind IS NOT NULL AND name IS NOT NULL)
        OR (action = 'remove' AND date IS NOT NULL)
        OR (action = 'import' AND year IS NOT NULL AND file IS NOT NULL))
);
