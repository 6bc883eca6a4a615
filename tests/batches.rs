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

use common::{Site, dig, rdata};
use hickory_proto::rr::{Name, RecordType};
use provisioner::tsig::TsigKey;
use serde_json::json;

common::on_both_databases!(
    a_backlog_goes_out_in_few_messages_and_a_conflict_holds_back_only_its_request
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
