//! Delegations are verified from both sides: the parent serves the NS
//! records and glue, and every delegated server answers authoritatively
//! for the child zone. A lame server keeps the request from `active` and
//! is reported with what it said.
//!
//! NS records carry no port, so the child's servers must listen on port 53
//! at their glue addresses. The test adds documentation addresses (RFC
//! 5737) to the loopback interface for that, which needs root; elsewhere
//! it prints why and skips (and fails with DNSDESK_REQUIRE_SERVERS=1).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Command;

use common::Site;
use provisioner::Name;
use provisioner::embedded::{EmbeddedConfig, EmbeddedServer};
use provisioner::tsig::{TsigAlgorithm, TsigKey};
use serde_json::json;

common::on_both_databases!(
    a_lame_server_holds_the_request_until_it_serves_the_child_zone,
    a_delegation_that_stays_lame_fails_naming_what_each_server_said,
);

/// An address added to `lo` for the test's lifetime.
struct LoopbackAddress(IpAddr);

impl LoopbackAddress {
    /// Adds `ip`; `Err` says why it cannot be.
    fn add(ip: &str) -> Result<Self, String> {
        let out = Command::new("ip")
            .args(["addr", "add", &format!("{ip}/32"), "dev", "lo"])
            .output()
            .map_err(|e| format!("cannot run `ip`: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() && !stderr.contains("File exists") {
            return Err(format!("`ip addr add {ip}/32 dev lo` failed: {stderr}"));
        }
        Ok(Self(ip.parse().unwrap()))
    }
}

impl Drop for LoopbackAddress {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["addr", "del", &format!("{}/32", self.0), "dev", "lo"])
            .output();
    }
}

/// Held while a test uses its addresses on `lo` (port 53 on each): each
/// test runs once per database, and the two runs need the same addresses.
static LOOPBACK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The addresses, or `None` after printing why the test skips.
fn loopback_addresses(ips: &[&str]) -> Option<Vec<LoopbackAddress>> {
    match ips.iter().map(|ip| LoopbackAddress::add(ip)).collect() {
        Ok(all) => Some(all),
        Err(why) if std::env::var("DNSDESK_REQUIRE_SERVERS").as_deref() == Ok("1") => {
            panic!("DNSDESK_REQUIRE_SERVERS=1 but delegated servers cannot be set up: {why}")
        }
        Err(why) => {
            eprintln!("SKIP: delegated servers need addresses on lo: {why}");
            None
        }
    }
}

/// An authoritative server for `zone` on `ip`:53, from a minimal zone file.
async fn child_server(dir: &Path, zone: &str, ip: IpAddr) -> EmbeddedServer {
    let file = dir.join(format!("{zone}.{ip}.zone"));
    std::fs::write(
        &file,
        format!(
            "$ORIGIN {zone}.\n$TTL 300\n@ IN SOA ns1.{zone}. hostmaster.{zone}. 7 3600 900 1209600 300\n@ IN NS ns1.{zone}.\nns1 IN A 203.0.113.151\nwww IN A 203.0.113.80\n"
        ),
    )
    .unwrap();
    let name = Name::from_ascii("child-key.").unwrap();
    EmbeddedServer::start(EmbeddedConfig {
        zone: Name::from_ascii(format!("{zone}.")).unwrap(),
        zone_file: file,
        journal: dir.join(format!("{zone}.{ip}.jnl")),
        listen: SocketAddr::new(ip, 53),
        update_key: TsigKey::generate(name, TsigAlgorithm::HmacSha256),
        key_dir: dir.join(format!("keys-{ip}")),
    })
    .await
    .unwrap()
}

async fn a_lame_server_holds_the_request_until_it_serves_the_child_zone() {
    let _turn = LOOPBACK.lock().await;
    let Some(_addresses) = loopback_addresses(&["203.0.113.151", "203.0.113.152"]) else {
        return;
    };
    let site = Site::new();
    let pd = site.pd("PEMKAB");
    let reviewer = site.staff("reviewer1", "reviewer");
    let dns = site.start();
    let servers = tempfile::tempdir().unwrap();
    let ns1: IpAddr = "203.0.113.151".parse().unwrap();
    let ns2: IpAddr = "203.0.113.152".parse().unwrap();
    let _good = child_server(servers.path(), "sambas.kalbarprov.go.id", ns1).await;
    // ns2 is up, but serves another zone: it answers REFUSED for the child.
    let wrong = child_server(servers.path(), "other.test", ns2).await;

    let records = json!([
        { "type": "NS", "value": "ns1.sambas.kalbarprov.go.id", "glue": ["203.0.113.151"] },
        { "type": "NS", "value": "ns2.sambas.kalbarprov.go.id", "glue": ["203.0.113.152"] },
    ]);
    let id = dns.file(&pd, "sambas.kalbarprov.go.id", records).await;
    dns.approve(id, &reviewer).await;

    // The parent serves the delegation, ns1 answers for the child, ns2 is
    // lame: the request waits in `verifying`, with each answer recorded.
    let lame_seen = loop {
        let detail = dns.wait_for_state(id, &pd, "verifying").await;
        let servers = detail["servers"].as_array().unwrap().clone();
        let about = |needle: &str| {
            servers
                .iter()
                .find(|s| s["server"].as_str().unwrap().contains(needle))
                .cloned()
        };
        if let (Some(good), Some(lame)) = (about("ns1.sambas"), about("ns2.sambas")) {
            break (good, lame);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let (good, lame) = lame_seen;
    assert_eq!(good["matches"], true, "{good:#}");
    assert_eq!(good["report"]["verdict"], "authoritative", "{good:#}");
    assert_eq!(good["report"]["serial"], 7, "{good:#}");
    assert_eq!(lame["matches"], false, "{lame:#}");
    assert_eq!(lame["report"]["verdict"], "lame", "{lame:#}");
    assert_eq!(lame["report"]["reason"], "answered REFUSED", "{lame:#}");
    assert_eq!(
        lame["server"],
        "ns2.sambas.kalbarprov.go.id (203.0.113.152:53)"
    );

    // Once ns2 serves the child zone, the request turns active.
    wrong.shutdown().await.unwrap();
    let _fixed = child_server(servers.path(), "sambas.kalbarprov.go.id", ns2).await;
    let active = dns.wait_for_state(id, &pd, "active").await;
    let servers = active["servers"].as_array().unwrap();
    assert!(servers.iter().all(|s| s["matches"] == true), "{servers:#?}");
    assert_eq!(
        servers.len(),
        3,
        "the zone's server and both child servers: {servers:#?}"
    );
}

async fn a_delegation_that_stays_lame_fails_naming_what_each_server_said() {
    let _turn = LOOPBACK.lock().await;
    let Some(_addresses) = loopback_addresses(&["203.0.113.153"]) else {
        return;
    };
    let site = Site::new();
    site.write_config(
        "[provisioning]\ndns_timeout_secs = 1\nverify_deadline_secs = 2\nmax_backoff_secs = 1\nlease_secs = 4\n",
    );
    let pd = site.pd("PEMKAB");
    let reviewer = site.staff("reviewer1", "reviewer");
    let dns = site.start();
    // Nothing listens at the glue address of ns1; ns.landak.invalid has no
    // address at all (RFC 6761 §6.4: .invalid never resolves).
    let records = json!([
        { "type": "NS", "value": "ns1.landak.kalbarprov.go.id", "glue": ["203.0.113.153"] },
        { "type": "NS", "value": "ns2.landak.kalbarprov.go.id", "glue": [] },
    ]);
    let filed = dns
        .post(
            "/api/v1/requests",
            &pd,
            json!({
                "name": "landak.kalbarprov.go.id", "records": records,
                "purpose": "Situs", "letter_number": "1/2026", "letter_date": "2026-02-01",
            }),
        )
        .await;
    if filed.status == 422 {
        // In-bailiwick servers need glue: file with an out-of-zone one.
        assert_eq!(filed.field(), "records[1].glue", "{:?}", filed.body);
    }
    let records = json!([
        { "type": "NS", "value": "ns1.landak.kalbarprov.go.id", "glue": ["203.0.113.153"] },
        { "type": "NS", "value": "ns.landak.invalid" },
    ]);
    let id = dns.file(&pd, "landak.kalbarprov.go.id", records).await;
    dns.approve(id, &reviewer).await;
    let failed = dns.wait_for_state(id, &pd, "failed").await;
    let reason = failed["state_reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("lame"), "{failed:#}");
    assert!(
        reason.contains("ns1.landak.kalbarprov.go.id for landak.kalbarprov.go.id at 203.0.113.153:53: unreachable"),
        "{reason}"
    );
    assert!(
        reason.contains("ns.landak.invalid for landak.kalbarprov.go.id: unreachable: cannot resolve ns.landak.invalid"),
        "{reason}"
    );
}
