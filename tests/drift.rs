//! Drift, as a network admin meets it: someone changes a managed name
//! behind dnsdesk's back with `nsupdate`; one drift run shows exactly the
//! difference; the admin adopts what the zone holds; the name's history
//! and the audit log tell the whole story, and the chain verifies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{Site, free_port};
use serde_json::{Value, json};

common::on_both_databases!(
    a_change_behind_dnsdesks_back_is_found_adopted_and_on_record,
    the_periodic_drift_check_finds_a_stray_name,
    restoring_puts_dnsdesks_record_back_through_a_request,
);

/// Runs BIND's `nsupdate -k` with `script`; `None` (after saying why)
/// when it is not installed here.
fn nsupdate(key: &std::path::Path, script: &str) -> Option<()> {
    let child = Command::new("nsupdate")
        .arg("-k")
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if std::env::var("DNSDESK_REQUIRE_SERVERS").as_deref() == Ok("1") => {
            panic!("DNSDESK_REQUIRE_SERVERS=1 but nsupdate cannot run: {e}")
        }
        Err(e) => {
            eprintln!("SKIP: nsupdate (package bind9-dnsutils) cannot run: {e}");
            return None;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "nsupdate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(())
}

/// A site whose embedded server listens on a fixed port (so the CLI
/// reaches it), with ppdb.kalbarprov.go.id provisioned by DISDIK.
struct Managed {
    site: Site,
    embedded: std::net::SocketAddr,
    pd: String,
    reviewer: String,
    netadmin: String,
    dns: common::Instance,
}

impl Managed {
    async fn ppdb() -> Self {
        let site = Site::new();
        let embedded = free_port();
        site.pin_dns(embedded, embedded, &[]);
        let pd = site.pd("DISDIK");
        let reviewer = site.staff("reviewer1", "reviewer");
        let netadmin = site.staff("netadmin1", "netadmin");
        let dns = site.start();
        dns.provision(
            &pd,
            &reviewer,
            "ppdb.kalbarprov.go.id",
            json!([{ "type": "A", "value": "203.0.113.80", "ttl": 300 }]),
        )
        .await;
        Self {
            site,
            embedded,
            pd,
            reviewer,
            netadmin,
            dns,
        }
    }
}

fn drift_now(site: &Site) -> String {
    site.cli(&["zone", "drift"])
}

async fn a_change_behind_dnsdesks_back_is_found_adopted_and_on_record() {
    let Managed {
        site,
        embedded,
        pd,
        reviewer: _,
        netadmin,
        dns,
    } = Managed::ppdb().await;
    assert_eq!(
        drift_now(&site).lines().next().unwrap().split(':').next(),
        Some("no drift")
    );

    // An admin edits the name with nsupdate and adds a name below it.
    let key = site.data_dir().join("dnsdesk.key");
    let edit = format!(
        "server 127.0.0.1 {port}\nzone kalbarprov.go.id\n\
         update delete ppdb.kalbarprov.go.id A\n\
         update add ppdb.kalbarprov.go.id 300 A 198.51.100.7\n\
         update add uji.ppdb.kalbarprov.go.id 60 TXT \"sementara\"\nsend\n",
        port = embedded.port()
    );
    if nsupdate(&key, &edit).is_none() {
        return;
    }

    // One run shows exactly that.
    let printed = drift_now(&site);
    assert!(printed.starts_with("2 difference(s)"), "{printed}");
    let drift = dns
        .get("/api/v1/zones/kalbarprov.go.id/drift", &netadmin)
        .await;
    assert_eq!(drift.status, 200, "{:?}", drift.body);
    let findings = drift.body["findings"].as_array().unwrap().clone();
    let about = |kind: &str| -> Value {
        findings
            .iter()
            .find(|f| f["kind"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} finding: {findings:#?}"))
    };
    let changed = about("changed");
    assert_eq!(changed["subject"], "ppdb.kalbarprov.go.id");
    assert_eq!(
        changed["detail"]["added"],
        json!(["ppdb.kalbarprov.go.id. 300 IN A 198.51.100.7"])
    );
    assert_eq!(
        changed["detail"]["removed"],
        json!(["ppdb.kalbarprov.go.id. 300 IN A 203.0.113.80"])
    );
    let unmanaged = about("unmanaged");
    assert_eq!(unmanaged["subject"], "uji.ppdb.kalbarprov.go.id");
    assert_eq!(unmanaged["detail"]["below"], "ppdb.kalbarprov.go.id");
    assert!(drift.body["last_run"]["primary_serial"].as_u64().unwrap() > 2026112802);
    // Only network admins (and admins) see drift.
    let refused = dns.get("/api/v1/zones/kalbarprov.go.id/drift", &pd).await;
    assert_eq!(refused.status, 403);
    let unknown = dns.get("/api/v1/zones/example.org/drift", &netadmin).await;
    assert_eq!(unknown.status, 404);

    // A second run opens nothing new.
    let again = drift_now(&site);
    assert!(again.contains(", 0 new:"), "{again}");

    // Adopt what the zone holds for the managed name.
    let id = changed["id"].as_i64().unwrap();
    let adopted = dns
        .post(
            &format!("/api/v1/drift/{id}/adopt"),
            &netadmin,
            json!({ "note": "Pindah server, dikonfirmasi lewat telepon" }),
        )
        .await;
    assert_eq!(adopted.status, 200, "{:?}", adopted.body);
    assert_eq!(adopted.body["state"], "adopted");
    let pd_refused = dns
        .post(&format!("/api/v1/drift/{id}/adopt"), &pd, json!({}))
        .await;
    assert_eq!(pd_refused.status, 403);
    let sub = dns
        .get("/api/v1/subdomains/ppdb.kalbarprov.go.id", &pd)
        .await;
    assert_eq!(
        sub.body["records"][0]["value"], "198.51.100.7",
        "{:?}",
        sub.body
    );

    // The history: the request's version, then the adopted one, with diffs.
    let history = dns
        .get("/api/v1/subdomains/ppdb.kalbarprov.go.id/history", &pd)
        .await;
    assert_eq!(history.status, 200, "{:?}", history.body);
    let versions = history.body.as_array().unwrap();
    assert_eq!(versions.len(), 2, "{versions:#?}");
    assert_eq!(versions[0]["source"], "request");
    assert_eq!(versions[0]["approved_by"], "reviewer1");
    assert_eq!(versions[0]["serial"], 2026112802);
    assert_eq!(versions[0]["added"], json!(["A 203.0.113.80 300"]));
    assert_eq!(versions[1]["source"], "adopted");
    assert_eq!(versions[1]["approved_by"], "netadmin1");
    assert_eq!(versions[1]["added"], json!(["A 198.51.100.7 300"]));
    assert_eq!(versions[1]["removed"], json!(["A 203.0.113.80 300"]));
    let other = site.pd("DINKES");
    let hidden = dns
        .get("/api/v1/subdomains/ppdb.kalbarprov.go.id/history", &other)
        .await;
    assert_eq!(hidden.status, 404);

    // The stray name goes; the next run clears its finding.
    let cleanup = format!(
        "server 127.0.0.1 {port}\nzone kalbarprov.go.id\n\
         update delete uji.ppdb.kalbarprov.go.id\nsend\n",
        port = embedded.port()
    );
    nsupdate(&key, &cleanup).unwrap();
    let clean = drift_now(&site);
    assert!(clean.starts_with("no drift"), "{clean}");
    let open = dns
        .get("/api/v1/zones/kalbarprov.go.id/drift", &netadmin)
        .await;
    assert_eq!(open.body["findings"], json!([]), "{:?}", open.body);
    let all = dns
        .get("/api/v1/zones/kalbarprov.go.id/drift?all=true", &netadmin)
        .await;
    let states: Vec<&str> = all.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["cleared", "adopted"]);

    // The whole story of the name, in order, and the chain verifies.
    let actions: Vec<String> = dns
        .audit_story(&netadmin, "ppdb.kalbarprov.go.id")
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    let drift_story = [
        "drift.found",
        "drift.found",
        "drift.adopted",
        "drift.cleared",
    ];
    let want: Vec<&str> = common::CREATE_STORY
        .into_iter()
        .chain(drift_story)
        .collect();
    assert_eq!(actions, want);
    drop(dns);
    let out = site.cli(&["audit", "verify"]);
    assert!(out.starts_with("audit log intact"), "{out}");
}

/// The periodic job finds drift on its own (here every second), with no
/// command run.
async fn the_periodic_drift_check_finds_a_stray_name() {
    let site = Site::new();
    site.write_config("[drift]\ninterval_secs = 1\n");
    let pd = site.pd("DISDIK");
    let reviewer = site.staff("reviewer1", "reviewer");
    let netadmin = site.staff("netadmin1", "netadmin");
    let dns = site.start();
    dns.provision(
        &pd,
        &reviewer,
        "ppdb.kalbarprov.go.id",
        json!([{ "type": "A", "value": "203.0.113.80", "ttl": 300 }]),
    )
    .await;
    let key = provisioner::tsig::TsigKey::read_file(site.data_dir().join("dnsdesk.key")).unwrap();
    common::out_of_band_a(
        dns.dns.unwrap(),
        &key,
        "lain.ppdb.kalbarprov.go.id",
        "198.51.100.8",
    )
    .await;
    let start = std::time::Instant::now();
    let finding = loop {
        let drift = dns
            .get("/api/v1/zones/kalbarprov.go.id/drift", &netadmin)
            .await;
        if let Some(f) = drift.body["findings"].as_array().unwrap().first() {
            break f.clone();
        }
        assert!(start.elapsed() < common::DEADLINE, "{:?}", drift.body);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(finding["kind"], "unmanaged");
    assert_eq!(finding["subject"], "lain.ppdb.kalbarprov.go.id");
    assert_eq!(
        finding["detail"]["records"],
        json!(["lain.ppdb.kalbarprov.go.id. 300 IN A 198.51.100.8"])
    );
}

/// "Restore ours": a change request, approved by the network admin, puts
/// dnsdesk's record back through the normal provisioning path.
async fn restoring_puts_dnsdesks_record_back_through_a_request() {
    let Managed {
        site,
        embedded,
        pd: _,
        reviewer,
        netadmin,
        dns,
    } = Managed::ppdb().await;
    let edit = format!(
        "server 127.0.0.1 {port}\nzone kalbarprov.go.id\n\
         update delete ppdb.kalbarprov.go.id A\n\
         update add ppdb.kalbarprov.go.id 600 A 198.51.100.7\nsend\n",
        port = embedded.port()
    );
    if nsupdate(&site.data_dir().join("dnsdesk.key"), &edit).is_none() {
        return;
    }
    assert!(drift_now(&site).starts_with("1 difference(s)"));
    let drift = dns
        .get("/api/v1/zones/kalbarprov.go.id/drift", &netadmin)
        .await;
    let id = drift.body["findings"][0]["id"].as_i64().unwrap();

    let refused = dns
        .post(&format!("/api/v1/drift/{id}/restore"), &reviewer, json!({}))
        .await;
    assert_eq!(refused.status, 403);
    let restored = dns
        .post(
            &format!("/api/v1/drift/{id}/restore"),
            &netadmin,
            json!({ "note": "Perubahan tanpa surat" }),
        )
        .await;
    assert_eq!(restored.status, 202, "{:?}", restored.body);
    assert_eq!(restored.body["kind"], "change");
    // The prerequisites hold the zone to what it has now; nothing newer
    // can be clobbered.
    assert_eq!(
        restored.body["plan"]["prerequisites"],
        json!(["prereq yxrrset ppdb.kalbarprov.go.id. IN A 198.51.100.7"])
    );
    let request = restored.body["id"].as_i64().unwrap();
    dns.wait_for_state(request, &netadmin, "active").await;
    let served = common::dig(
        embedded,
        "ppdb.kalbarprov.go.id",
        hickory_proto::rr::RecordType::A,
    )
    .await;
    assert_eq!(common::rdata(&served), ["203.0.113.80"]);
    assert_eq!(served.answers[0].ttl, 300);
    assert!(drift_now(&site).starts_with("no drift"));
    let all = dns
        .get("/api/v1/zones/kalbarprov.go.id/drift?all=true", &netadmin)
        .await;
    assert_eq!(
        all.body["findings"][0]["state"], "restored",
        "{:?}",
        all.body
    );
    let history = dns
        .get(
            "/api/v1/subdomains/ppdb.kalbarprov.go.id/history",
            &netadmin,
        )
        .await;
    let versions = history.body.as_array().unwrap();
    assert_eq!(versions.len(), 2, "{versions:#?}");
    assert_eq!(versions[1]["approved_by"], "netadmin1");
    assert_eq!(versions[1]["request_id"], request);
    drop(dns);
    let out = site.cli(&["audit", "verify"]);
    assert!(out.starts_with("audit log intact"), "{out}");
}
