//! The audit log from outside: a request's whole story in order, read by
//! network admins only, exported as CSV and JSON Lines without secrets,
//! and tampering caught by `dnsdesk audit verify` — an edited row by the
//! hash chain, removed last rows by the checkpoint kept outside the
//! database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Site;
use serde_json::{Value, json};

common::on_both_databases!(
    a_requests_whole_story_is_in_the_log_for_network_admins_only,
    an_edited_entry_is_named_by_verify,
    removed_last_entries_are_caught_by_the_checkpoint,
);

fn a_record(ip: &str) -> Value {
    json!([{ "type": "A", "value": ip, "ttl": 300 }])
}

/// The database as someone with full access would change it: the
/// triggers that stop dnsdesk's own code are taken away first.
fn tamper(site: &Site, sql: &str) {
    site.tamper(sql);
}

/// `dnsdesk audit verify`: success and what it printed.
fn verify(site: &Site) -> (bool, String) {
    let out = site.cli_output(&["audit", "verify"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn a_requests_whole_story_is_in_the_log_for_network_admins_only() {
    let site = Site::new();
    let pd = site.pd("DISDIK");
    let reviewer = site.staff("reviewer1", "reviewer");
    let netadmin = site.staff("netadmin1", "netadmin");
    let dns = site.start();
    dns.provision(
        &pd,
        &reviewer,
        "ppdb.kalbarprov.go.id",
        a_record("203.0.113.80"),
    )
    .await;
    // A failed sign-in is on record too.
    let denied = dns
        .call(
            "GET",
            "/api/v1/requests",
            Some("dnsdesk_not-a-real-token"),
            None,
        )
        .await;
    assert_eq!(denied.status, 401);

    let items = dns.audit_story(&netadmin, "ppdb.kalbarprov.go.id").await;
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, common::CREATE_STORY, "{items:#?}");
    let by_action = |action: &str| items.iter().find(|e| e["action"] == action).unwrap();
    assert_eq!(by_action("request.submitted")["actor"], "user:op-disdik");
    // Stored in UTC, shown in WIB (UTC+7) as well.
    let submitted = by_action("request.submitted");
    assert!(
        submitted["at"].as_str().unwrap().ends_with('Z'),
        "{submitted}"
    );
    assert!(
        submitted["at_wib"].as_str().unwrap().ends_with(" WIB"),
        "{submitted}"
    );
    assert_eq!(by_action("request.approved")["actor"], "user:reviewer1");
    assert_eq!(by_action("request.active")["actor"], "system");
    let sent = &by_action("dns.update_sent")["detail"];
    assert_eq!(sent["key"], "dnsdesk");
    assert_eq!(sent["serial_before"], 2026112801);
    let message: Vec<&str> = sent["message"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        message.contains(&"prereq nxdomain ppdb.kalbarprov.go.id.")
            && message.contains(&"update add ppdb.kalbarprov.go.id. 300 IN A 203.0.113.80"),
        "{message:?}"
    );
    let answered = &by_action("dns.update_answered")["detail"];
    assert_eq!(answered["rcode"], "NOERROR");
    assert_eq!(answered["serial_after"], 2026112802);
    assert!(answered["duration_ms"].as_i64().unwrap() >= 0);
    assert_eq!(by_action("dns.verification")["detail"]["matches"], true);
    let seqs: Vec<i64> = items.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    // Filters: an action family, an actor, the failed sign-in.
    let dns_only = dns
        .get(
            "/api/v1/audit?action=dns&name=ppdb.kalbarprov.go.id",
            &netadmin,
        )
        .await;
    assert_eq!(dns_only.body["total"], 3, "{:?}", dns_only.body);
    let failed = dns.get("/api/v1/audit?action=auth.failed", &netadmin).await;
    assert_eq!(failed.body["total"], 1, "{:?}", failed.body);
    assert_eq!(failed.body["items"][0]["actor"], "anonymous");
    assert!(!failed.body.to_string().contains("not-a-real-token"));
    let console = dns.get("/api/v1/audit?action=admin", &netadmin).await;
    assert!(
        console.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"].as_str().unwrap().starts_with("console:")),
        "{:?}",
        console.body
    );
    let bad = dns.get("/api/v1/audit?action=nonsense", &netadmin).await;
    assert_eq!((bad.status, bad.field()), (422, "action"));
    let bad = dns.get("/api/v1/audit?from=yesterday", &netadmin).await;
    assert_eq!((bad.status, bad.field()), (422, "from"));

    // Only network admins and admins read it.
    for token in [&pd, &reviewer] {
        let refused = dns.get("/api/v1/audit", token).await;
        assert_eq!(refused.status, 403, "{:?}", refused.body);
    }

    // Exports: every entry, oldest first, and never the TSIG secret.
    let secret = std::fs::read_to_string(site.data_dir().join("dnsdesk.key")).unwrap();
    let secret = secret
        .split("secret \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let all = dns.get("/api/v1/audit?per_page=1", &netadmin).await;
    let total = all.body["total"].as_u64().unwrap();
    let csv = reqwest::Client::new()
        .get(dns.url("/api/v1/audit?format=csv"))
        .bearer_auth(&netadmin)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("seq,at,action,actor,"));
    assert_eq!(csv.matches("\r\n").count() as u64, total + 1);
    let jsonl = reqwest::Client::new()
        .get(dns.url("/api/v1/audit?format=jsonl"))
        .bearer_auth(&netadmin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, total);
    assert_eq!(lines[0]["seq"], 1);
    assert_eq!(lines[0]["prev_hash"], "0".repeat(64));
    assert!(!csv.contains(secret) && !jsonl.contains(secret));
    assert!(!site.log().contains(secret));

    let (ok, text) = verify(&site);
    assert!(ok && text.contains("audit log intact"), "{text}");
}

async fn an_edited_entry_is_named_by_verify() {
    let site = Site::new();
    let pd = site.pd("DINKES");
    let reviewer = site.staff("reviewer1", "reviewer");
    let dns = site.start();
    dns.provision(
        &pd,
        &reviewer,
        "sehat.kalbarprov.go.id",
        a_record("203.0.113.20"),
    )
    .await;
    drop(dns);
    let (ok, text) = verify(&site);
    assert!(ok, "{text}");

    // Someone rewrites who approved the request.
    let seq: i64 = site.column("SELECT seq FROM audit_log WHERE action = 'request.approved'")[0]
        .parse()
        .unwrap();
    // dnsdesk's own triggers refuse it ...
    let refused = site.execute(&format!(
        "UPDATE audit_log SET actor = 'user:admin' WHERE seq = {seq}"
    ));
    assert!(refused.is_err());
    // ... someone with full access takes them away first.
    tamper(
        &site,
        &format!("UPDATE audit_log SET actor = 'user:admin' WHERE seq = {seq};"),
    );
    let (ok, text) = verify(&site);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("entry {seq}:")) && text.contains("changed"),
        "{text}"
    );
}

async fn removed_last_entries_are_caught_by_the_checkpoint() {
    let site = Site::new();
    site.write_config("[audit]\ncheckpoint_recipients = [\"noc@kalbarprov.go.id\"]\n");
    let pd = site.pd("BAPPEDA");
    let reviewer = site.staff("reviewer1", "reviewer");
    let dns = site.start();
    dns.provision(
        &pd,
        &reviewer,
        "rencana.kalbarprov.go.id",
        a_record("203.0.113.30"),
    )
    .await;
    drop(dns);

    let out = site.cli(&["audit", "checkpoint"]);
    assert!(out.starts_with("checkpoint written to "), "{out}");
    let file = std::fs::read_to_string(site.data_dir().join("audit-checkpoints.jsonl")).unwrap();
    let last: Value = serde_json::from_str(file.lines().last().unwrap()).unwrap();
    let head = last["seq"].as_i64().unwrap();
    let (ok, text) = verify(&site);
    assert!(ok && text.contains("checkpoint(s)"), "{text}");

    // The last entries go, the checkpoint's own among them: what is left
    // is a valid chain, shorter than the checkpoint says.
    tamper(
        &site,
        &format!("DELETE FROM audit_log WHERE seq >= {};", head - 2),
    );
    let (ok, text) = verify(&site);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("recorded {head} entries")) && text.contains("removed"),
        "{text}"
    );

    // The checkpoint also went by mail, to be kept elsewhere.
    let dns = site.start();
    let subject = format!("Audit checkpoint: {head} entries");
    let start = std::time::Instant::now();
    let mail = loop {
        if let Some(mail) = site.outbox().into_iter().find(|m| m.contains(&subject)) {
            break mail;
        }
        assert!(start.elapsed() < common::DEADLINE, "{:?}", site.outbox());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    drop(dns);
    assert!(mail.contains("noc@kalbarprov.go.id"));
    assert!(mail.contains(last["hash"].as_str().unwrap()));
}
