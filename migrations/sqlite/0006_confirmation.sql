-- The confirmation letter (surat konfirmasi) made when a request goes
-- active: a PDF stored like the request letters, under its SHA-256 in the
-- letters directory, and attached to the PD's e-mail.

-- The request's letter, recorded in the activation's transaction; NULL
-- for requests settled before letters were made, and for an activation
-- whose letter could not be rendered.
ALTER TABLE requests ADD COLUMN confirmation_sha256 TEXT;
ALTER TABLE requests ADD COLUMN confirmation_size INTEGER
    CHECK ((confirmation_size IS NULL) = (confirmation_sha256 IS NULL));

-- A stored PDF an outbox mail carries, and the file name its recipient
-- sees (`konfirmasi-DNS-2026-000123.pdf`); NULL for plain-text mail. The
-- size is kept so the mail sender reads the file back as the letter it
-- is.
ALTER TABLE outbox ADD COLUMN attachment_sha256 TEXT;
ALTER TABLE outbox ADD COLUMN attachment_size INTEGER;
ALTER TABLE outbox ADD COLUMN attachment_name TEXT
    CHECK ((attachment_name IS NULL) = (attachment_sha256 IS NULL)
       AND (attachment_size IS NULL) = (attachment_sha256 IS NULL));
