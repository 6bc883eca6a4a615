//! Several `dnsdesk serve` processes on one PostgreSQL database, as a
//! deployment without a single point of failure runs them: three
//! instances behind no proxy (each called in turn), one BIND primary.
//! One instance is killed with SIGKILL while it works; the other two
//! finish what it held once its leases run out, and nothing is done
//! twice or lost.
//!
//! Needs PostgreSQL and BIND: without them it prints why and passes as
//! skipped, unless `DNSDESK_REQUIRE_POSTGRES=1` / `DNSDESK_REQUIRE_SERVERS=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod servers;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::postgres::{Db, run_on};
use common::{Instance, Site};
use hickory_proto::rr::RData;
use serde_json::json;
use servers::{Kind, ZoneSetup};

/// Requests filed and approved across the instances.
const REQUESTS: usize = 200;

/// The name and address of request `n`.
fn name_and_ip(n: usize) -> (String, String) {
    (
        format!("layanan{n}.kalbarprov.go.id"),
        format!("203.0.113.{}", n % 250 + 1),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_provision_200_requests_once_each_through_a_kill_9() {
    run_on(Db::Postgres, module_path!(), three_instances()).await;
}

async fn three_instances() {
    if !servers::require_deployment(Kind::Bind, 0) {
        return;
    }
    let setup = ZoneSetup::kalbarprov(&[]);
    let bind = servers::deploy(Kind::Bind, &setup, 0);
    let primary = bind.primary.addr();
    let site = Site::new();
    let key_file = site.dir.path().join("update.key");
    std::fs::write(&key_file, setup.update_key.to_bind_key_file()).unwrap();
    let transfer_file = site.dir.path().join("transfer.key");
    std::fs::write(&transfer_file, setup.transfer_key.to_bind_key_file()).unwrap();
    let pd = site.pd("DISKOMINFO");
    let reviewer = site.staff("reviewer1", "reviewer");
    let before = serial(primary, &setup).await;

    // Three instances on the one database (and one data directory, as
    // shared storage holds the letters in such a deployment).
    let env = [
        ("DNSDESK_EMBEDDED_DNS", "false".to_owned()),
        ("DNSDESK_ZONE", "kalbarprov.go.id".to_owned()),
        ("DNSDESK_PRIMARY", primary.to_string()),
        ("DNSDESK_AUTHORITATIVE", primary.to_string()),
        ("DNSDESK_TSIG_KEY_FILE", key_file.display().to_string()),
        (
            "DNSDESK_TRANSFER_KEY_FILE",
            transfer_file.display().to_string(),
        ),
    ];
    let mut instances: Vec<Option<Instance>> =
        (0..3).map(|_| Some(site.start_with_env(&env))).collect();
    let live = |instances: &[Option<Instance>], n: usize| -> usize {
        let alive: Vec<usize> = (0..instances.len())
            .filter(|i| instances[*i].is_some())
            .collect();
        alive[n % alive.len()]
    };

    // Filed across all three.
    let mut ids = Vec::with_capacity(REQUESTS);
    for n in 0..REQUESTS {
        let (name, ip) = name_and_ip(n);
        let at = instances[n % 3].as_ref().unwrap();
        let id = at
            .file(
                &pd,
                &name,
                json!([{ "type": "A", "value": ip, "ttl": 300 }]),
            )
            .await;
        ids.push(id);
    }

    // Half approved across all three.
    for (n, id) in ids.iter().enumerate().take(REQUESTS / 2) {
        let at = instances[n % 3].as_ref().unwrap();
        at.approve(*id, &reviewer).await;
    }
    // Then instance 1 is caught holding a job: a burst of approvals on it
    // (it claims what it approves at once; the others would only find
    // them on their next poll), frozen with SIGSTOP when the database says
    // it holds a running job, and killed with SIGKILL in that state.
    let burst = REQUESTS / 2..REQUESTS / 2 + 10;
    let victim = instances[1].as_ref().unwrap();
    futures_util::future::join_all(
        ids[burst.clone()]
            .iter()
            .map(|id| victim.approve(*id, &reviewer)),
    )
    .await;
    let held_by_victim = format!(
        "SELECT request_id FROM jobs WHERE state = 'running' AND lease_holder = '{}'",
        victim.id
    );
    let abandoned: i64 = common::poll(
        || async {
            if site.column(&held_by_victim).is_empty() {
                return None;
            }
            victim.freeze();
            // Frozen: if it still holds the job now, it holds it for good.
            let held = site
                .column(&held_by_victim)
                .first()
                .map(|r| r.parse().unwrap());
            if held.is_none() {
                victim.thaw();
            }
            held
        },
        Option::is_some,
    )
    .await
    .unwrap();
    let victim_id = victim.id.clone();
    instances[1].take().unwrap().kill9();
    for (n, id) in ids.iter().enumerate().skip(burst.end) {
        let at = instances[live(&instances, n)].as_ref().unwrap();
        at.approve(*id, &reviewer).await;
    }

    // Every request ends active and its PD told (read from the survivors
    // in turn).
    for (n, id) in ids.iter().enumerate() {
        let at = instances[live(&instances, n)].as_ref().unwrap();
        at.wait_for_state(*id, &pd, "active").await;
        at.wait_until_confirmed(*id, &pd).await;
    }

    // Exactly once each: one `active` transition per request and no job
    // left open.
    let count = |sql: &str| -> usize { site.column(sql)[0].parse().unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM requests WHERE state = 'active'"),
        REQUESTS
    );
    assert_eq!(
        count("SELECT count(*) FROM request_transitions WHERE to_state = 'active'"),
        REQUESTS
    );
    assert_eq!(
        count("SELECT count(DISTINCT request_id) FROM audit_log WHERE action = 'request.active'"),
        REQUESTS
    );
    assert_eq!(
        count("SELECT count(*) FROM audit_log WHERE action = 'request.active'"),
        REQUESTS
    );
    assert_eq!(count("SELECT count(*) FROM jobs WHERE state <> 'done'"), 0);
    // Each PD told once: one confirmation issued and one e-mail queued per
    // request, whichever instance took that last step.
    assert_eq!(
        count(
            "SELECT count(DISTINCT request_id) FROM audit_log \
             WHERE action = 'request.confirmation_issued'"
        ),
        REQUESTS
    );
    assert_eq!(
        count("SELECT count(*) FROM audit_log WHERE action = 'request.confirmation_issued'"),
        REQUESTS
    );
    assert_eq!(
        count("SELECT count(*) FROM outbox WHERE request_id IS NOT NULL"),
        REQUESTS
    );
    // The job the killed instance held was finished by another, which
    // claimed it once the lease ran out.
    let finisher = site.column(&format!(
        "SELECT lease_holder FROM jobs WHERE request_id = {abandoned}"
    ));
    assert_eq!(finisher.len(), 1);
    assert_ne!(finisher[0], victim_id, "request {abandoned}");
    assert!(!finisher[0].is_empty());

    // One successful UPDATE per name. The audit log has every UPDATE sent
    // and every answer received; an UPDATE whose answer the killed
    // instance never recorded is on record as sent, and whoever took the
    // job over read the zone before sending again. So: no name has two
    // accepted UPDATEs, and the primary applied at most one UPDATE message
    // per request (BIND raises the serial once per applied message, and
    // nothing else wrote to the zone); fewer when approvals waiting
    // together shared a message (tests/batches.rs counts those).
    let accepted = site.column(
        "SELECT name FROM audit_log WHERE action = 'dns.update_answered' \
         AND detail LIKE '%\"outcome\":\"accepted\"%'",
    );
    let mut per_name: BTreeMap<String, usize> = BTreeMap::new();
    for name in accepted {
        *per_name.entry(name).or_default() += 1;
    }
    let twice: Vec<_> = per_name.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "names with two accepted UPDATEs: {twice:?}"
    );
    let after = serial(primary, &setup).await;
    let applied = after.wrapping_sub(before) as usize;
    assert!(
        (1..=REQUESTS).contains(&applied),
        "the primary applied {applied} UPDATE messages for {REQUESTS} requests"
    );

    // The zone holds exactly the expected records: every name with its
    // one address, and no other name beyond the zone file's own.
    let zone = provisioner::client::transfer(
        primary,
        &setup.zone,
        &setup.transfer_key,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let mut served: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for record in &zone {
        if let RData::A(a) = &record.data {
            let owner = record.name.to_ascii();
            served
                .entry(owner.trim_end_matches('.').to_owned())
                .or_default()
                .insert(a.to_string());
        }
    }
    for n in 0..REQUESTS {
        let (name, ip) = name_and_ip(n);
        let got = served.get(&name).cloned().unwrap_or_default();
        assert_eq!(got, BTreeSet::from([ip]), "{name}");
    }
    let ours = served
        .keys()
        .filter(|name| name.starts_with("layanan"))
        .count();
    assert_eq!(ours, REQUESTS, "names the requests did not ask for");

    // One audit chain, intact, whatever instance wrote each entry.
    let out = site.cli_output(&["audit", "verify"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The SOA serial `server` serves now.
async fn serial(server: std::net::SocketAddr, setup: &ZoneSetup) -> u32 {
    provisioner::client::soa_serial(server, &setup.zone, Duration::from_secs(2))
        .await
        .unwrap()
}

/// The periodic work (drift checks, checkpoints, mail) runs on the one
/// instance holding the periodic advisory lock; when that instance dies,
/// another takes the lock over.
#[tokio::test]
async fn the_periodic_work_runs_on_one_instance_and_moves_when_it_dies() {
    run_on(Db::Postgres, module_path!(), periodic_work_moves()).await;
}

async fn periodic_work_moves() {
    let site = Site::new();
    let first = site.start();
    let second = site.start();
    // Who holds api's PERIODIC_LOCK (0x646e_7364_6573_6b02): a bigint
    // advisory key shows in pg_locks as classid (high half), objid (low
    // half), objsubid 1.
    let holders = || async {
        site.column(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 1684960100 \
             AND l.objid = 1702062850 AND l.objsubid = 1 \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
    };
    let held = common::poll(holders, |h| h.len() == 1).await;
    let (leader, other) = if held[0] == format!("dnsdesk {}", first.id) {
        (first, second)
    } else {
        assert_eq!(held[0], format!("dnsdesk {}", second.id));
        (second, first)
    };
    leader.kill9();
    let held = common::poll(holders, |h| {
        h.len() == 1 && h[0] == format!("dnsdesk {}", other.id)
    })
    .await;
    assert_eq!(held.len(), 1);
}
