-- Which instance holds a running job's lease (api/src/instance.rs), as
-- migrations/sqlite/0010_job_holder.sql.
ALTER TABLE jobs ADD COLUMN lease_holder TEXT;
