-- The audit log without a unique index on `hash` (issue 8). Nothing looks
-- an entry up by its hash: `dnsdesk audit verify` and the checkpoints walk
-- the chain by `seq`, whose primary key already keeps the chain from
-- forking (no two entries share a number, and each names its
-- predecessor's hash). A unique index on a random 64-character key costs
-- every append a write at a random place of a large B-tree.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_hash_key;
