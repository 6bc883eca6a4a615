//! The whole path against real authoritative servers: BIND 9, Knot DNS and
//! PowerDNS as the zone's primary, each with a BIND secondary that
//! transfers from it. dnsdesk runs as a child process configured from the
//! environment alone (no zone settings in its file), as in a container.
//!
//! Every scenario of the embedded-server tests runs against each primary:
//! create, change, remove, NS delegation with glue, a prerequisite conflict
//! after an out-of-band change, a wrong TSIG secret, a name outside the
//! key's update policy, the primary down then back, and a request large
//! enough to need TCP. A missing server binary skips its tests with the
//! reason (and fails the run with DNSDESK_REQUIRE_SERVERS=1).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod servers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use common::postgres::{Db, run_on};
use common::{Instance, Site, dig, rdata};
use hickory_proto::rr::{Name, RecordType};
use provisioner::tsig::{TsigAlgorithm, TsigKey};
use serde_json::{Value, json};
use servers::{Deployment, Kind, ZoneSetup};

common::on_both_databases!(dnsdesk_notifies_secondaries_itself_and_waits_for_them,);

const ZONE: &str = "kalbarprov.go.id";

/// The update key's format in dnsdesk's key file: each test run reads
/// the one its server's admins would hand over.
fn key_file_text(kind: Kind, key: &TsigKey) -> String {
    let bind = key.to_bind_key_file();
    let secret = bind
        .split("secret \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let name = key.name.to_ascii();
    let name = name.trim_end_matches('.');
    match kind {
        // As `tsig-keygen` writes it.
        Kind::Bind => bind,
        // As `keymgr -t` writes it.
        Kind::Knot => format!(
            "# {}:{name}:{secret}\nkey:\n  - id: {name}\n    algorithm: {}\n    secret: {secret}\n",
            key.algorithm, key.algorithm
        ),
        // The one-line `alg:name:secret` form.
        Kind::PowerDns => format!("{}:{name}:{secret}\n", key.algorithm),
    }
}

/// A different update-key algorithm per server, so each one's TSIG is
/// exercised with more than the default; transfers use their own key.
fn algorithms(kind: Kind) -> (TsigAlgorithm, TsigAlgorithm) {
    match kind {
        Kind::Bind => (TsigAlgorithm::HmacSha256, TsigAlgorithm::HmacSha1),
        Kind::Knot => (TsigAlgorithm::HmacSha512, TsigAlgorithm::HmacSha384),
        Kind::PowerDns => (TsigAlgorithm::HmacSha224, TsigAlgorithm::HmacSha256),
    }
}

/// A primary of `kind`, a BIND secondary, and a dnsdesk pointed at both.
struct Rig {
    site: Site,
    setup: ZoneSetup,
    servers: Deployment,
    pd: String,
    reviewer: String,
    update_key_file: PathBuf,
    transfer_key_file: PathBuf,
}

impl Rig {
    /// `None` (after saying why) when the server is not installed here.
    fn new(kind: Kind, denied: &[&str]) -> Option<Self> {
        if !servers::require_deployment(kind, 1) {
            return None;
        }
        let (update, transfer) = algorithms(kind);
        let setup = ZoneSetup {
            zone: Name::from_ascii(format!("{ZONE}.")).unwrap(),
            zone_file: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("zones/kalbarprov.go.id.zone"),
            update_key: TsigKey::generate(Name::from_ascii("dnsdesk.").unwrap(), update),
            transfer_key: TsigKey::generate(Name::from_ascii("dnsdesk-xfr.").unwrap(), transfer),
            denied: denied.iter().map(|d| (*d).to_owned()).collect(),
        };
        let servers = servers::deploy(kind, &setup, 1);
        let site = Site::new();
        let update_key_file = site.dir.path().join("update.key");
        let transfer_key_file = site.dir.path().join("transfer.key");
        std::fs::write(&update_key_file, key_file_text(kind, &setup.update_key)).unwrap();
        std::fs::write(&transfer_key_file, key_file_text(kind, &setup.transfer_key)).unwrap();
        let pd = site.pd("DISKOMINFO");
        let reviewer = site.staff("reviewer1", "reviewer");
        Some(Self {
            site,
            setup,
            servers,
            pd,
            reviewer,
            update_key_file,
            transfer_key_file,
        })
    }

    fn primary(&self) -> SocketAddr {
        self.servers.primary.addr()
    }

    fn secondary(&self) -> SocketAddr {
        self.servers.secondaries[0].addr()
    }

    /// dnsdesk, with the zone configured from the environment alone.
    fn start(&self) -> Instance {
        self.start_with_key(&self.update_key_file)
    }

    fn start_with_key(&self, key_file: &std::path::Path) -> Instance {
        self.site.start_with_env(&[
            ("DNSDESK_EMBEDDED_DNS", "false".to_owned()),
            ("DNSDESK_ZONE", ZONE.to_owned()),
            ("DNSDESK_PRIMARY", self.primary().to_string()),
            (
                "DNSDESK_AUTHORITATIVE",
                format!("{},{}", self.primary(), self.secondary()),
            ),
            ("DNSDESK_TSIG_KEY_FILE", key_file.display().to_string()),
            (
                "DNSDESK_TRANSFER_KEY_FILE",
                self.transfer_key_file.display().to_string(),
            ),
        ])
    }

    /// The SOA serial `server` serves now.
    async fn serial(&self, server: SocketAddr) -> u32 {
        provisioner::client::soa_serial(server, &self.setup.zone, Duration::from_secs(2))
            .await
            .unwrap()
    }

    /// Writes an A record straight into the primary with the update key,
    /// as an admin with nsupdate would, behind dnsdesk's back.
    async fn out_of_band_a(&self, name: &str, ip: &str) {
        common::out_of_band_a(self.primary(), &self.setup.update_key, name, ip).await;
    }
}

fn a_record(ip: &str) -> Value {
    json!([{ "type": "A", "value": ip, "ttl": 300 }])
}

/// Files a change or removal of an owned name with its letter.
async fn file_kind(dns: &Instance, pd: &str, kind: &str, name: &str, records: Value) -> i64 {
    let mut body = json!({
        "kind": kind, "name": name,
        "purpose": "Perubahan layanan", "letter_number": "800/77/2026", "letter_date": "2026-03-02",
    });
    if !records.is_null() {
        body["records"] = records;
    }
    let filed = dns.post("/api/v1/requests", pd, body).await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    let id = filed.body["id"].as_i64().unwrap();
    let letter = dns.put_letter(id, pd, common::PDF, "application/pdf").await;
    assert_eq!(letter.status, 200, "{:?}", letter.body);
    id
}

/// Create: `active` only once the secondary serves the records at the
/// primary's new serial; the secondary already answers when dnsdesk says
/// `active`, never only after.
async fn create(kind: Kind) {
    let Some(rig) = Rig::new(kind, &[]) else {
        return;
    };
    let dns = rig.start();
    let before = rig.serial(rig.primary()).await;
    let id = dns
        .file(&rig.pd, "ppdb.kalbarprov.go.id", a_record("203.0.113.80"))
        .await;
    dns.approve(id, &rig.reviewer).await;
    let active = dns.wait_for_state(id, &rig.pd, "active").await;
    // Asked right after dnsdesk said active: both servers answer.
    for server in [rig.secondary(), rig.primary()] {
        let answer = dig(server, "ppdb.kalbarprov.go.id", RecordType::A).await;
        assert!(answer.authoritative, "{kind:?} {server}: {answer:?}");
        assert_eq!(rdata(&answer), ["203.0.113.80"], "{kind:?} {server}");
    }
    let after = rig.serial(rig.primary()).await;
    assert!(after > before, "{kind:?}: the primary's serial moved");
    let servers = active["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2, "{servers:#?}");
    for check in servers {
        assert_eq!(check["matches"], true, "{check:#}");
        assert!(
            check["report"]["serial"].as_u64().unwrap() >= u64::from(after),
            "{check:#}"
        );
    }
    assert_eq!(active["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(active["attempts"][0]["rcode"], "NOERROR", "{active:#}");
    let start = std::time::Instant::now();
    while rig.site.outbox().is_empty() {
        assert!(start.elapsed() < common::DEADLINE, "no confirmation mail");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rig.site.outbox().len(), 1);
}

/// Change, then removal, of an owned name: the prerequisites require the
/// recorded RRsets exactly, and every server follows.
async fn change_and_remove(kind: Kind) {
    let Some(rig) = Rig::new(kind, &[]) else {
        return;
    };
    let dns = rig.start();
    let name = "sehat.kalbarprov.go.id";
    let id = dns.file(&rig.pd, name, a_record("203.0.113.20")).await;
    dns.approve(id, &rig.reviewer).await;
    dns.wait_for_state(id, &rig.pd, "active").await;

    let records = json!([
        { "type": "A", "value": "203.0.113.21", "ttl": 600 },
        { "type": "AAAA", "value": "2001:db8::21", "ttl": 600 },
        { "type": "TXT", "value": "v=spf1 -all", "ttl": 600 },
    ]);
    let change = file_kind(&dns, &rig.pd, "change", name, records).await;
    dns.approve(change, &rig.reviewer).await;
    dns.wait_for_state(change, &rig.pd, "active").await;
    for server in [rig.primary(), rig.secondary()] {
        let a = dig(server, name, RecordType::A).await;
        assert_eq!(rdata(&a), ["203.0.113.21"], "{kind:?} {server}");
        assert_eq!(a.answers[0].ttl, 600);
        assert_eq!(
            rdata(&dig(server, name, RecordType::AAAA).await),
            ["2001:db8::21"]
        );
        assert_eq!(
            rdata(&dig(server, name, RecordType::TXT).await),
            ["v=spf1 -all"]
        );
    }

    let removal = file_kind(&dns, &rig.pd, "remove", name, Value::Null).await;
    dns.approve(removal, &rig.reviewer).await;
    dns.wait_for_state(removal, &rig.pd, "active").await;
    for server in [rig.primary(), rig.secondary()] {
        let gone = dig(server, name, RecordType::A).await;
        assert!(gone.answers.is_empty(), "{kind:?} {server}: {gone:?}");
        assert_eq!(
            gone.rcode,
            hickory_proto::op::ResponseCode::NXDomain,
            "{kind:?} {server}"
        );
    }
}

/// NS delegation with in-bailiwick glue: the parent side on every server
/// (the referral, and the glue in a signed transfer with the transfer key).
/// The child's own servers are tested in tests/delegation.rs.
async fn delegation(kind: Kind) {
    let Some(rig) = Rig::new(kind, &[]) else {
        return;
    };
    rig.site.write_config("[zone]\ncheck_delegations = false\n");
    let dns = rig.start();
    let records = json!([
        { "type": "NS", "value": "ns1.sambas.kalbarprov.go.id", "glue": ["203.0.113.151"] },
        { "type": "NS", "value": "ns2.sambas.kalbarprov.go.id", "glue": ["203.0.113.152", "2001:db8::152"] },
    ]);
    let id = dns.file(&rig.pd, "sambas.kalbarprov.go.id", records).await;
    dns.approve(id, &rig.reviewer).await;
    dns.wait_for_state(id, &rig.pd, "active").await;
    for server in [rig.primary(), rig.secondary()] {
        let referral = dig(server, "www.sambas.kalbarprov.go.id", RecordType::A).await;
        let mut ns: Vec<String> = referral
            .authority
            .iter()
            .filter(|r| r.record_type() == RecordType::NS)
            .map(|r| r.data.to_string())
            .collect();
        ns.sort();
        assert_eq!(
            ns,
            [
                "ns1.sambas.kalbarprov.go.id.",
                "ns2.sambas.kalbarprov.go.id."
            ],
            "{kind:?} {server}: {referral:?}"
        );
        let all = provisioner::client::transfer(
            server,
            &rig.setup.zone,
            &rig.setup.transfer_key,
            Duration::from_secs(2),
        )
        .await
        .unwrap();
        let mut glue: Vec<String> = all
            .iter()
            .filter(|r| r.name.to_ascii().ends_with(".sambas.kalbarprov.go.id."))
            .filter(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA))
            .map(|r| format!("{} {}", r.name, r.data))
            .collect();
        glue.sort();
        assert_eq!(
            glue,
            [
                "ns1.sambas.kalbarprov.go.id. 203.0.113.151",
                "ns2.sambas.kalbarprov.go.id. 2001:db8::152",
                "ns2.sambas.kalbarprov.go.id. 203.0.113.152",
            ],
            "{kind:?} {server}"
        );
    }
}

/// Someone writes the name into the zone after approval but before the
/// update is sent: the server refuses dnsdesk's update on its
/// prerequisite, and nothing is clobbered.
async fn conflict_after_out_of_band_change(kind: Kind) {
    let Some(mut rig) = Rig::new(kind, &[]) else {
        return;
    };
    let dns = rig.start();
    let name = "umkm.kalbarprov.go.id";
    let id = dns.file(&rig.pd, name, a_record("203.0.113.70")).await;
    rig.servers.primary.stop();
    dns.approve(id, &rig.reviewer).await;
    // dnsdesk stops while the primary is down; the change lands meanwhile.
    dns.kill9();
    rig.servers.primary.start();
    rig.out_of_band_a(name, "198.51.100.9").await;
    let dns = rig.start();
    let conflict = dns.wait_for_state(id, &rig.pd, "conflict").await;
    let reason = conflict["state_reason"].as_str().unwrap();
    assert!(
        reason.contains("YXDOMAIN") && reason.contains("198.51.100.9"),
        "{kind:?}: {reason}"
    );
    assert_eq!(
        rdata(&dig(rig.primary(), name, RecordType::A).await),
        ["198.51.100.9"]
    );
}

/// dnsdesk holds a key with the right name and a wrong secret: the
/// request fails at once with a reason that names the key.
async fn wrong_secret(kind: Kind) {
    let Some(rig) = Rig::new(kind, &[]) else {
        return;
    };
    let (algorithm, _) = algorithms(kind);
    let impostor = TsigKey::generate(rig.setup.update_key.name.clone(), algorithm);
    let wrong = rig.site.dir.path().join("wrong.key");
    std::fs::write(&wrong, key_file_text(kind, &impostor)).unwrap();
    let dns = rig.start_with_key(&wrong);
    let id = dns
        .file(
            &rig.pd,
            "rahasia.kalbarprov.go.id",
            a_record("203.0.113.90"),
        )
        .await;
    dns.approve(id, &rig.reviewer).await;
    let failed = dns.wait_for_state(id, &rig.pd, "failed").await;
    let reason = failed["state_reason"].as_str().unwrap();
    assert!(
        reason.contains("key dnsdesk") && reason.contains("secret"),
        "{kind:?}: {reason}"
    );
    // PowerDNS answers every TSIG failure with a plain REFUSED.
    let want = match kind {
        Kind::Bind | Kind::Knot => "BADSIG",
        Kind::PowerDns => "REFUSED",
    };
    assert_eq!(failed["attempts"][0]["rcode"], want, "{kind:?}: {failed:#}");
    let gone = dig(rig.primary(), "rahasia.kalbarprov.go.id", RecordType::A).await;
    assert!(gone.answers.is_empty());
}

/// The server's policy keeps the key away from a subtree: REFUSED, and
/// the request fails with a reason naming the key, the name and the
/// policy that refused it.
async fn outside_the_key_policy(kind: Kind) {
    let Some(rig) = Rig::new(kind, &["legacy"]) else {
        return;
    };
    let dns = rig.start();
    let id = dns
        .file(&rig.pd, "legacy.kalbarprov.go.id", a_record("203.0.113.91"))
        .await;
    dns.approve(id, &rig.reviewer).await;
    let failed = dns.wait_for_state(id, &rig.pd, "failed").await;
    let reason = failed["state_reason"].as_str().unwrap();
    assert!(
        reason.contains("key dnsdesk")
            && reason.contains("legacy.kalbarprov.go.id")
            && reason.contains("update policy"),
        "{kind:?}: {reason}"
    );
    assert_eq!(
        failed["attempts"][0]["rcode"],
        servers::denied_rcode(kind),
        "{kind:?}: {failed:#}"
    );
    // Names the policy allows still go through.
    let ok = dns
        .file(&rig.pd, "baru.kalbarprov.go.id", a_record("203.0.113.92"))
        .await;
    dns.approve(ok, &rig.reviewer).await;
    dns.wait_for_state(ok, &rig.pd, "active").await;
}

/// The primary is down at approval: attempts are recorded and retried
/// with backoff; once it is back the request goes active, with one update
/// applied.
async fn primary_down_then_back(kind: Kind) {
    let Some(mut rig) = Rig::new(kind, &[]) else {
        return;
    };
    let dns = rig.start();
    let id = dns
        .file(
            &rig.pd,
            "darurat.kalbarprov.go.id",
            a_record("203.0.113.93"),
        )
        .await;
    rig.servers.primary.stop();
    dns.approve(id, &rig.reviewer).await;
    // Wait until at least two attempts failed, then bring it back.
    let start = std::time::Instant::now();
    loop {
        let detail = dns.get(&format!("/api/v1/requests/{id}"), &rig.pd).await;
        let state = detail.body["state"].as_str().unwrap();
        assert!(
            ["approved", "provisioning"].contains(&state),
            "{:#}",
            detail.body
        );
        if detail.body["attempts"].as_array().unwrap().len() >= 2 {
            break;
        }
        assert!(start.elapsed() < common::DEADLINE, "{:#}", detail.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rig.servers.primary.start();
    let active = dns.wait_for_state(id, &rig.pd, "active").await;
    let attempts = active["attempts"].as_array().unwrap();
    let accepted = attempts
        .iter()
        .filter(|a| a["outcome"] == "accepted")
        .count();
    assert_eq!(accepted, 1, "{kind:?}: {attempts:#?}");
    for server in [rig.primary(), rig.secondary()] {
        assert_eq!(
            rdata(&dig(server, "darurat.kalbarprov.go.id", RecordType::A).await),
            ["203.0.113.93"]
        );
    }
}

/// 30 records and a 2 KB TXT: more than a UDP answer holds, so the
/// verification queries fall back to TCP, and the update is one message.
async fn large_request(kind: Kind) {
    let Some(rig) = Rig::new(kind, &[]) else {
        return;
    };
    let dns = rig.start();
    let mut records: Vec<Value> = (100..125)
        .map(|i| json!({ "type": "A", "value": format!("203.0.113.{i}"), "ttl": 300 }))
        .collect();
    records.extend(
        (1..5).map(|i| json!({ "type": "AAAA", "value": format!("2001:db8::{i}"), "ttl": 300 })),
    );
    let text: String = (0..2000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    records.push(json!({ "type": "TXT", "value": text.clone(), "ttl": 300 }));
    assert_eq!(records.len(), 30);
    let id = dns
        .file(&rig.pd, "besar.kalbarprov.go.id", Value::Array(records))
        .await;
    dns.approve(id, &rig.reviewer).await;
    dns.wait_for_state(id, &rig.pd, "active").await;
    for server in [rig.primary(), rig.secondary()] {
        assert_eq!(
            dig(server, "besar.kalbarprov.go.id", RecordType::A)
                .await
                .answers
                .len(),
            25
        );
        let txt = dig(server, "besar.kalbarprov.go.id", RecordType::TXT).await;
        let served: String = match &txt.answers[0].data {
            hickory_proto::rr::RData::TXT(t) => t
                .txt_data
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
            other => panic!("{kind:?}: {other:?}"),
        };
        assert_eq!(served, text, "{kind:?} {server}");
    }
}

/// Every test below against one server kind, on each database (as
/// `on_both_databases!` does for single tests).
macro_rules! against {
    ($module:ident, $kind:expr) => {
        mod $module {
            use super::*;

            against_on!($kind, sqlite, Db::Sqlite);
            against_on!($kind, postgres, Db::Postgres);
        }
    };
}

macro_rules! against_on {
    ($kind:expr, $db_module:ident, $db:expr) => {
        mod $db_module {
            use super::*;

            #[tokio::test]
            async fn create_is_served_by_the_secondary_before_it_is_active() {
                run_on($db, module_path!(), create($kind)).await;
            }

            #[tokio::test]
            async fn change_then_remove() {
                run_on($db, module_path!(), change_and_remove($kind)).await;
            }

            #[tokio::test]
            async fn ns_delegation_with_glue() {
                run_on($db, module_path!(), delegation($kind)).await;
            }

            #[tokio::test]
            async fn out_of_band_change_ends_in_conflict() {
                run_on(
                    $db,
                    module_path!(),
                    conflict_after_out_of_band_change($kind),
                )
                .await;
            }

            #[tokio::test]
            async fn wrong_tsig_secret_fails_naming_the_key() {
                run_on($db, module_path!(), wrong_secret($kind)).await;
            }

            #[tokio::test]
            async fn name_outside_the_key_policy_fails_naming_the_rule() {
                run_on($db, module_path!(), outside_the_key_policy($kind)).await;
            }

            #[tokio::test]
            async fn primary_down_is_retried_until_it_is_back() {
                run_on($db, module_path!(), primary_down_then_back($kind)).await;
            }

            #[tokio::test]
            async fn large_request_over_tcp() {
                run_on($db, module_path!(), large_request($kind)).await;
            }
        }
    };
}

against!(bind, Kind::Bind);
against!(knot, Kind::Knot);
against!(powerdns, Kind::PowerDns);

/// dnsdesk's own NOTIFY: a BIND primary that notifies no one (its
/// `also-notify` lists no secondary) and a BIND secondary whose refresh
/// timer is an hour. Without dnsdesk's NOTIFY the request waits in
/// `verifying`, the secondary reported lagging; with it, the secondary
/// transfers and the request turns active.
async fn dnsdesk_notifies_secondaries_itself_and_waits_for_them() {
    if !servers::require(Kind::Bind) {
        return;
    }
    let setup = ZoneSetup::kalbarprov(&[]);
    let servers = servers::deploy(Kind::Bind, &setup, 0);
    let primary = servers.primary.addr();
    let secondary = servers::secondary_of(&setup, primary);
    let site = Site::new();
    let key_file = site.dir.path().join("update.key");
    std::fs::write(&key_file, setup.update_key.to_bind_key_file()).unwrap();
    let transfer_key_file = site.dir.path().join("transfer.key");
    std::fs::write(&transfer_key_file, setup.transfer_key.to_bind_key_file()).unwrap();
    let pd = site.pd("DISKOMINFO");
    let reviewer = site.staff("reviewer1", "reviewer");
    let env = |notify: Option<&str>| {
        let mut env = vec![
            ("DNSDESK_EMBEDDED_DNS", "false".to_owned()),
            ("DNSDESK_PRIMARY", primary.to_string()),
            (
                "DNSDESK_AUTHORITATIVE",
                format!("{primary},{}", secondary.addr()),
            ),
            ("DNSDESK_TSIG_KEY_FILE", key_file.display().to_string()),
            (
                "DNSDESK_TRANSFER_KEY_FILE",
                transfer_key_file.display().to_string(),
            ),
        ];
        if let Some(list) = notify {
            env.push(("DNSDESK_NOTIFY", list.to_owned()));
        }
        env
    };

    // Verify both, but NOTIFY no one.
    let dns = site.start_with_env(&env(Some("")));
    let id = dns
        .file(&pd, "kabar.kalbarprov.go.id", a_record("203.0.113.81"))
        .await;
    dns.approve(id, &reviewer).await;
    let secondary_name = secondary.addr().to_string();
    let lagging = loop {
        let detail = dns.wait_for_state(id, &pd, "verifying").await;
        let report = detail["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["server"] == secondary_name.as_str())
            .cloned();
        if let Some(report) = report {
            break report;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(lagging["report"]["verdict"], "lagging", "{lagging:#}");
    assert_eq!(lagging["matches"], false);
    let stale = dig(secondary.addr(), "kabar.kalbarprov.go.id", RecordType::A).await;
    assert!(stale.answers.is_empty(), "{stale:?}");

    // The same request after a restart with NOTIFY on (the default: every
    // authoritative server but the primary).
    dns.kill9();
    let dns = site.start_with_env(&env(None));
    let active = dns.wait_for_state(id, &pd, "active").await;
    assert_eq!(
        rdata(&dig(secondary.addr(), "kabar.kalbarprov.go.id", RecordType::A).await),
        ["203.0.113.81"]
    );
    let checks = active["servers"].as_array().unwrap();
    assert!(checks.iter().all(|s| s["matches"] == true), "{checks:#?}");
    assert_eq!(
        active["attempts"].as_array().unwrap().len(),
        1,
        "{active:#}"
    );
}
