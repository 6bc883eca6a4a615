-- Which instance holds a running job's lease (api/src/instance.rs:
-- host, process and a random tag), for admins asking who is working on
-- what, and for tests that kill the holder. NULL for jobs claimed before
-- this migration; kept after the job ends, naming who finished it.
ALTER TABLE jobs ADD COLUMN lease_holder TEXT;
