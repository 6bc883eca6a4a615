//! `dnsdesk database copy`: an office that started on SQLite moves to
//! PostgreSQL (to run several instances) with its whole history. The
//! service then runs on the copy as it ran before: the requests, letters,
//! tokens and complaints are there, new work continues the numbering, and
//! the audit chain verifies against the checkpoints taken on SQLite.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Site;
use serde_json::json;

fn a(ip: &str) -> serde_json::Value {
    json!([{ "type": "A", "value": ip, "ttl": 300 }])
}

#[tokio::test]
async fn a_sqlite_site_moves_to_postgresql_with_its_history() {
    let Some(target) = common::postgres::fresh_database(module_path!()) else {
        return;
    };
    // A site that has been working on SQLite.
    let site = Site::new();
    assert!(site.postgres.is_none());
    let pd = site.pd("DISDIK");
    let reviewer = site.staff("reviewer1", "reviewer");
    let dns = site.start();
    let first = dns
        .provision(&pd, &reviewer, "ppdb.kalbarprov.go.id", a("203.0.113.80"))
        .await;
    let first_id = first["id"].as_i64().unwrap();
    let complaint = dns
        .call(
            "POST",
            "/api/v1/complaints",
            None,
            Some(json!({"name": "Siti", "contact": "0812-5555-0101",
                        "description": "Situs tidak bisa dibuka"})),
        )
        .await;
    assert_eq!(complaint.status, 201, "{:?}", complaint.body);
    let code = complaint.body["tracking_code"].as_str().unwrap().to_owned();
    site.cli(&["audit", "checkpoint"]);
    drop(dns);
    let checkpoints = site.data_dir().join("audit-checkpoints.jsonl");
    let on_sqlite = std::fs::read_to_string(&checkpoints).unwrap();

    let out = site.cli(&["database", "copy", "--to", &target.url()]);
    assert!(out.starts_with("copied "), "{out}");
    // Never into a database that holds data: nothing is overwritten.
    let again = site.cli_output(&["database", "copy", "--to", &target.url()]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds data"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // The service on the copy (same data directory: letters, zone).
    let on_pg = [("DNSDESK_DATABASE_URL", target.url())];
    let dns = site.start_with_env(&on_pg);
    let moved = dns.get(&format!("/api/v1/requests/{first_id}"), &pd).await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    assert_eq!(moved.body["state"], "active");
    assert_eq!(moved.body["reference"], first["reference"]);
    assert_eq!(moved.body["timeline"], first["timeline"]);
    let letter = dns
        .client
        .get(dns.url(&format!("/api/v1/requests/{first_id}/confirmation")))
        .bearer_auth(&pd)
        .send()
        .await
        .unwrap();
    assert_eq!(letter.status(), 200);
    let status = dns
        .call("GET", &format!("/api/v1/complaints/{code}"), None, None)
        .await;
    assert_eq!(status.status, 200, "{:?}", status.body);

    // New work continues the numbering.
    let second = dns
        .provision(&pd, &reviewer, "perpus.kalbarprov.go.id", a("203.0.113.81"))
        .await;
    assert_eq!(second["id"].as_i64().unwrap(), first_id + 1);
    assert!(
        second["reference"].as_str().unwrap().ends_with("000002"),
        "{}",
        second["reference"]
    );

    // One chain from the first SQLite entry to the last PostgreSQL one,
    // checked against every checkpoint, those written on SQLite included;
    // the copy itself is on record.
    let verify = site.cli_output_env(&["audit", "verify"], &on_pg);
    let text = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(text.contains("audit log intact"), "{text}");
    let now = std::fs::read_to_string(&checkpoints).unwrap();
    assert!(now.starts_with(&on_sqlite));
    let count = now.lines().count();
    assert!(count >= 2, "{now}");
    assert!(text.contains(&format!("{count} checkpoint(s)")), "{text}");
    assert_eq!(
        target.column("SELECT count(*) FROM audit_log WHERE action = 'database.copied'"),
        ["1"]
    );
}
