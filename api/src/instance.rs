//! This process's name among the instances that share a database: the
//! host, the process id and a random tag (a restarted container often
//! gets the same pid). It marks the jobs this process claims
//! (`jobs.lease_holder`), its PostgreSQL connections (`application_name`,
//! seen in `pg_stat_activity`), its start in the audit log and its ready
//! line.

use std::sync::OnceLock;

/// This process's instance id, e.g. `dns1-4211-9f3c`.
pub fn id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        let tag: u16 = rand::random();
        format!("{host}-{}-{tag:04x}", std::process::id())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_names_host_and_process_and_stays_the_same() {
        let pid = format!("-{}-", std::process::id());
        assert!(id().contains(&pid), "{}", id());
        assert_eq!(id(), id());
        // A PostgreSQL application_name holds 63 bytes; the host is the
        // only part of unbounded length, and it is printable.
        assert!(id().chars().all(|c| !c.is_control()));
    }
}
