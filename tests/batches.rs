//! A backlog approved at once goes out in few UPDATE messages, each
//! request with its own prerequisites; a request whose prerequisite no
//! longer holds is split out and held back alone, the others go live.
//!
//! The backlog is approved on an instance that does not provision
//! (`DNSDESK_WORKER=false`), then an instance that does is started on the
//! same database: every request is waiting when the worker first looks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use common::{Instance, Site, dead_port, dig, free_port, rdata};
use hickory_proto::rr::{Name, RecordType};
use provisioner::tsig::TsigKey;
use serde_json::json;

common::on_both_databases!(
    a_backlog_goes_out_in_few_messages_and_a_conflict_holds_back_only_its_request,
    a_round_records_every_message_before_sending_any,
    when_the_primary_fails_a_message_the_rest_of_the_round_waits,
);

const BACKLOG: usize = 40;
/// The request whose name is taken behind dnsdesk's back.
const TAKEN: usize = 17;

async fn a_backlog_goes_out_in_few_messages_and_a_conflict_holds_back_only_its_request() {
    let site = Site::new();
    let pd = site.pd("DISKOMINFO");
    let reviewer = site.staff("reviewer1", "reviewer");
    let front = site.start_with_env(&[("DNSDESK_WORKER", "false".to_owned())]);
    let key = TsigKey::read_file(site.data_dir().join("dnsdesk.key")).unwrap();
    let mut ids = BTreeMap::new();
    for i in 0..BACKLOG {
        let name = format!("backlog{i}.kalbarprov.go.id");
        let ip = format!("203.0.113.{}", i + 1);
        let id = front
            .file(
                &pd,
                &name,
                json!([{ "type": "A", "value": ip, "ttl": 300 }]),
            )
            .await;
        front.approve(id, &reviewer).await;
        ids.insert(i, (id, name, ip));
    }
    // Nobody provisions on the front instance.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for (id, _, _) in ids.values() {
        let detail = front
            .get(&format!("/api/v1/requests/{id}"), &reviewer)
            .await;
        assert_eq!(detail.body["state"], "approved", "{:?}", detail.body);
    }
    let server = front.dns.unwrap();
    let taken = &ids[&TAKEN].1;
    common::out_of_band_a(server, &key, taken, "198.51.100.66").await;
    let zone = Name::from_ascii("kalbarprov.go.id.").unwrap();
    let serial_before =
        provisioner::client::soa_serial(server, &zone, std::time::Duration::from_secs(2))
            .await
            .unwrap();
    drop(front);

    let worker = site.start();
    let server = worker.dns.unwrap();
    for (i, (id, name, ip)) in &ids {
        if *i == TAKEN {
            let held = worker.wait_for_state(*id, &pd, "conflict").await;
            let reason = held["state_reason"].as_str().unwrap();
            assert!(reason.contains(name.as_str()), "{reason}");
            assert!(reason.contains("198.51.100.66"), "{reason}");
            continue;
        }
        worker.wait_for_state(*id, &pd, "active").await;
        let answer = dig(server, name, RecordType::A).await;
        assert_eq!(rdata(&answer), vec![ip.clone()], "{name}");
    }
    // The name taken out of band keeps what was put there.
    assert_eq!(
        rdata(&dig(server, taken, RecordType::A).await),
        vec!["198.51.100.66".to_owned()]
    );

    // Each live request was applied by exactly one accepted attempt, and
    // those attempts shared few messages: the embedded primary raises its
    // serial once per message applied. Splitting 40 requests to isolate
    // one takes at most one accepted message per halving (6 levels).
    let accepted = site
        .column("SELECT COUNT(*) FROM dns_attempts WHERE outcome = 'accepted' GROUP BY request_id");
    assert_eq!(accepted.len(), BACKLOG - 1, "{accepted:?}");
    assert!(accepted.iter().all(|n| n == "1"), "{accepted:?}");
    let serial_after =
        provisioner::client::soa_serial(server, &zone, std::time::Duration::from_secs(2))
            .await
            .unwrap();
    let messages = serial_after.wrapping_sub(serial_before);
    assert!(
        (1..=6).contains(&messages),
        "{messages} messages applied for {} requests",
        BACKLOG - 1
    );
    // The held-back request was sent alone at last, and refused alone.
    let alone = site.column(&format!(
        "SELECT outcome FROM dns_attempts WHERE request_id = {} ORDER BY id",
        ids[&TAKEN].0
    ));
    assert!(alone.len() >= 2, "{alone:?}");
    assert!(alone.iter().all(|o| o == "rejected"), "{alone:?}");

    let verify = site.cli(&["audit", "verify"]);
    assert!(verify.contains("intact"), "{verify}");
}

/// Files and approves `count` requests (`round{i}`, one A record each) on
/// an instance that does not provision; returns their ids.
async fn approved_backlog(site: &Site, pd: &str, reviewer: &str, count: usize) -> Vec<i64> {
    let front: Instance = site.start_with_env(&[("DNSDESK_WORKER", "false".to_owned())]);
    let mut ids = Vec::new();
    for i in 0..count {
        let name = format!("round{i}.kalbarprov.go.id");
        let records = json!([{ "type": "A", "value": format!("203.0.113.{}", i + 1), "ttl": 300 }]);
        let id = front.file(pd, &name, records).await;
        front.approve(id, reviewer).await;
        ids.push(id);
    }
    ids
}

/// The site's DNS settings with `batch_size` requests to a message:
/// the embedded server on `embedded`, UPDATEs sent to `primary`. The
/// lease is short: a job that a killed instance held (its retry under
/// way) is taken up by the next instance within seconds, not a minute.
fn pin_with_batch_size(site: &Site, embedded: SocketAddr, primary: SocketAddr, batch_size: usize) {
    let zone_file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/kalbarprov.go.id.zone");
    site.write_config(&format!(
        "[provisioning]\nbatch_size = {batch_size}\nmax_backoff_secs = 1\nlease_secs = 3\n\
         [zone]\nprimary = \"{primary}\"\nauthoritative = [\"{embedded}\"]\n\
         [embedded_dns]\nlisten = \"{embedded}\"\nzone_file = {zf:?}\n",
        zf = zone_file.display().to_string()
    ));
}

/// With several messages' worth waiting, the worker takes them in one
/// round: every request's attempt is on record (one transaction, one
/// moment) before the first message leaves, and each message is applied
/// once.
async fn a_round_records_every_message_before_sending_any() {
    let site = Site::new();
    let pd = site.pd("DISKOMINFO");
    let reviewer = site.staff("reviewer1", "reviewer");
    let embedded = free_port();
    pin_with_batch_size(&site, embedded, embedded, 4);
    let ids = approved_backlog(&site, &pd, &reviewer, 20).await;
    let zone = Name::from_ascii("kalbarprov.go.id.").unwrap();

    let worker = site.start();
    let server = worker.dns.unwrap();
    all_live_once(&site, &worker, &pd, &ids).await;
    // One write-ahead transaction for the five messages: one moment.
    let started = site.column("SELECT COUNT(DISTINCT started_at) FROM dns_attempts");
    assert_eq!(started, ["1"], "attempts recorded at different moments");
    let serials = site.column("SELECT COUNT(DISTINCT serial_after) FROM dns_attempts");
    assert_eq!(
        serials,
        ["1"],
        "a round's answers share the serial read after it"
    );
    // Five messages of four, each applied once: the embedded primary
    // raises its serial once per message.
    let before: u32 = site.column("SELECT serial_before FROM dns_attempts LIMIT 1")[0]
        .parse()
        .unwrap();
    let after = provisioner::client::soa_serial(server, &zone, std::time::Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(
        after.wrapping_sub(before),
        5,
        "messages applied for 20 requests"
    );
}

/// The primary fails the round's first message as it would fail any
/// (here: nothing listens): the round's other messages are not sent but
/// handed back, each attempt ending with why, and every request goes live
/// once the primary is back, with exactly one accepted attempt.
async fn when_the_primary_fails_a_message_the_rest_of_the_round_waits() {
    let site = Site::new();
    let pd = site.pd("DISKOMINFO");
    let reviewer = site.staff("reviewer1", "reviewer");
    let embedded = free_port();
    let down = dead_port();
    pin_with_batch_size(&site, embedded, down, 3);
    let ids = approved_backlog(&site, &pd, &reviewer, 12).await;

    let worker = site.start();
    let start = std::time::Instant::now();
    let ended = loop {
        let ended = site.column("SELECT detail FROM dns_attempts WHERE outcome <> 'sending'");
        if ended.len() >= 12 {
            break ended;
        }
        assert!(start.elapsed() < common::DEADLINE, "attempts: {ended:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    drop(worker);
    let not_sent = ended.iter().filter(|d| d.starts_with("not sent:")).count();
    assert_eq!(not_sent, 9, "{ended:#?}");
    let accepted = site.column("SELECT COUNT(*) FROM dns_attempts WHERE outcome = 'accepted'");
    assert_eq!(accepted, ["0"]);

    pin_with_batch_size(&site, embedded, embedded, 3);
    let worker = site.start();
    all_live_once(&site, &worker, &pd, &ids).await;
}

/// Every request of [`approved_backlog`] goes live with its address on
/// the embedded server, applied by exactly one accepted attempt, and the
/// audit chain holds.
async fn all_live_once(site: &Site, worker: &Instance, pd: &str, ids: &[i64]) {
    let server = worker.dns.unwrap();
    for (i, id) in ids.iter().enumerate() {
        worker.wait_for_state(*id, pd, "active").await;
        let answer = dig(server, &format!("round{i}.kalbarprov.go.id"), RecordType::A).await;
        assert_eq!(rdata(&answer), vec![format!("203.0.113.{}", i + 1)]);
    }
    let accepted = site
        .column("SELECT COUNT(*) FROM dns_attempts WHERE outcome = 'accepted' GROUP BY request_id");
    assert_eq!(accepted, vec!["1".to_owned(); ids.len()]);
    let verify = site.cli(&["audit", "verify"]);
    assert!(verify.contains("intact"), "{verify}");
}
