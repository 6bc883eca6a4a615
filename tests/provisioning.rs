//! The whole path, from outside: a PD files, a reviewer approves, the
//! update reaches the embedded authoritative server, every server is
//! verified, the request turns active and the PD is mailed. Then the same
//! path through crashes, outages and out-of-band changes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Site, dead_port, dig, free_port, rdata};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use provisioner::tsig::TsigKey;
use serde_json::json;

common::on_both_databases!(
    request_goes_live_after_one_approval_and_the_pd_is_told,
    change_and_removal_of_an_owned_subdomain,
    kill_9_right_after_approval_still_ends_active_exactly_once,
    kill_9_while_verifying_resumes_after_restart,
    primary_down_is_retried_then_the_zone_is_checked_before_resending,
    out_of_band_change_before_approval_is_refused,
    out_of_band_change_after_approval_ends_in_conflict_without_clobbering,
    concurrent_approvals_send_one_update,
    delegation_with_glue_is_provisioned_and_verified,
    a_key_the_primary_does_not_know_fails_with_an_actionable_reason_and_can_be_retried,
    a_server_that_never_agrees_fails_the_request_at_the_deadline_with_each_answer,
);

fn a_record(ip: &str) -> serde_json::Value {
    json!([{ "type": "A", "value": ip, "ttl": 300 }])
}

/// Writes `ip` as the A record of `name` into the embedded server behind
/// dnsdesk's back, with the site's own key.
async fn out_of_band_a(site: &Site, server: std::net::SocketAddr, name: &str, ip: &str) {
    let key = TsigKey::read_file(site.data_dir().join("dnsdesk.key")).unwrap();
    common::out_of_band_a(server, &key, name, ip).await;
}

async fn request_goes_live_after_one_approval_and_the_pd_is_told() {
    let site = Site::new();
    let pd = site.pd("DISDIK");
    let reviewer = site.staff("reviewer1", "reviewer");
    let dns = site.start();
    let server = dns.dns.unwrap();

    let records = json!([
        { "type": "A", "value": "203.0.113.80", "ttl": 300 },
        { "type": "TXT", "value": "v=spf1 -all" },
    ]);
    let id = dns.file(&pd, "ppdb.kalbarprov.go.id", records).await;

    let detail = dns.get(&format!("/api/v1/requests/{id}"), &reviewer).await;
    assert_eq!(detail.body["state"], "submitted");
    assert!(
        detail.body["reference"]
            .as_str()
            .unwrap()
            .starts_with("DNS/2026/")
    );
    assert_eq!(
        detail.body["plan"]["prerequisites"],
        json!(["prereq nxdomain ppdb.kalbarprov.go.id."])
    );
    let digest = detail.body["plan"]["digest"].as_str().unwrap().to_owned();
    // Filed just now, due 3 working days later: on time.
    assert_eq!(detail.body["sla"], "on_time", "{:?}", detail.body);

    // Not yet in the zone, and no confirmation letter yet.
    let before = dig(server, "ppdb.kalbarprov.go.id", RecordType::A).await;
    assert_eq!(before.rcode, ResponseCode::NXDomain);
    let none = dns
        .get(&format!("/api/v1/requests/{id}/confirmation"), &pd)
        .await;
    assert_eq!(none.status, 404, "{:?}", none.body);

    let approved = dns
        .post(
            &format!("/api/v1/requests/{id}/approve"),
            &reviewer,
            json!({ "note": "ok", "digest": digest }),
        )
        .await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);

    let active = dns.wait_for_state(id, &pd, "active").await;
    assert_eq!(active["sla"], "met");
    let a = dig(server, "ppdb.kalbarprov.go.id", RecordType::A).await;
    assert!(a.authoritative);
    assert_eq!(rdata(&a), ["203.0.113.80"]);
    assert_eq!(a.answers[0].ttl, 300);
    let txt = dig(server, "ppdb.kalbarprov.go.id", RecordType::TXT).await;
    assert_eq!(rdata(&txt), ["v=spf1 -all"]);

    // The story is recorded: one accepted update, each server verified.
    let attempts = active["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["outcome"], "accepted");
    assert_eq!(attempts[0]["key_name"], "dnsdesk");
    let servers = active["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0]["matches"], true);
    let steps: Vec<&str> = active["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "submitted",
            "approved",
            "provisioning",
            "verifying",
            "active"
        ]
    );

    // A second approval (double click) is refused and sends nothing.
    let again = dns
        .post(
            &format!("/api/v1/requests/{id}/approve"),
            &reviewer,
            json!({}),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.code(), "invalid_state");

    // The catalogue and its live view.
    let sub = dns
        .get("/api/v1/subdomains/ppdb.kalbarprov.go.id", &pd)
        .await;
    assert_eq!(sub.status, 200, "{:?}", sub.body);
    assert_eq!(sub.body["servers"][0]["verdict"], "matches");

    // The PD was told (outbox on embedded defaults).
    let start = std::time::Instant::now();
    let mails = loop {
        let mails = site.outbox();
        if !mails.is_empty() || start.elapsed() > common::DEADLINE {
            break mails;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].contains("To: it@disdik.kalbarprov.go.id"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains("ppdb.kalbarprov.go.id"));
    let reference = detail.body["reference"].as_str().unwrap();
    let letter_name = format!("konfirmasi-{}.pdf", reference.replace('/', "-"));
    assert!(
        mails[0].contains("Content-Type: application/pdf"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains(&letter_name), "{}", mails[0]);

    // The confirmation letter: a PDF naming the subdomain and the request.
    let response = dns
        .client
        .get(dns.url(&format!("/api/v1/requests/{id}/confirmation")))
        .bearer_auth(&pd)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/pdf");
    assert!(header("content-disposition").starts_with("attachment;"));
    let pdf = response.bytes().await.unwrap();
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).unwrap();
    for expected in [
        "ppdb.kalbarprov.go.id",
        reference,
        "203.0.113.80",
        "v=spf1 -all",
        "SURAT KONFIRMASI AKTIVASI SUBDOMAIN",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from\n{text}");
    }
    // The embedded zone's SOA was read: its negative TTL is stated.
    assert!(text.contains(" detik"), "{text}");
    let reviewer_copy = dns
        .client
        .get(dns.url(&format!("/api/v1/requests/{id}/confirmation")))
        .bearer_auth(&reviewer)
        .send()
        .await
        .unwrap();
    assert_eq!(reviewer_copy.bytes().await.unwrap(), pdf);

    let final_state = dns.get(&format!("/api/v1/requests/{id}"), &pd).await;
    assert_eq!(final_state.body["attempts"].as_array().unwrap().len(), 1);
}

async fn change_and_removal_of_an_owned_subdomain() {
    let site = Site::new();
    let pd = site.pd("DINKES");
    let reviewer = site.staff("reviewer1", "reviewer");
    let dns = site.start();
    let server = dns.dns.unwrap();

    let id = dns
        .file(&pd, "sehat.kalbarprov.go.id", a_record("203.0.113.20"))
        .await;
    dns.approve(id, &reviewer).await;
    dns.wait_for_state(id, &pd, "active").await;

    let change = dns
        .post(
            "/api/v1/requests",
            &pd,
            json!({
                "kind": "change", "name": "sehat.kalbarprov.go.id",
                "records": [{ "type": "A", "value": "203.0.113.21", "ttl": 600 }, { "type": "AAAA", "value": "2001:db8::21", "ttl": 600 }],
                "purpose": "Pindah server", "letter_number": "800/9/DINKES/2026", "letter_date": "2026-02-01",
            }),
        )
        .await;
    assert_eq!(change.status, 201, "{:?}", change.body);
    let change_id = change.body["id"].as_i64().unwrap();
    assert_eq!(
        change.body["plan"]["prerequisites"],
        json!([
            "prereq yxrrset sehat.kalbarprov.go.id. IN A 203.0.113.20",
            "prereq nxrrset sehat.kalbarprov.go.id. IN AAAA",
        ])
    );
    dns.put_letter(change_id, &pd, common::PDF, "application/pdf")
        .await;
    dns.approve(change_id, &reviewer).await;
    dns.wait_for_state(change_id, &pd, "active").await;
    assert_eq!(
        rdata(&dig(server, "sehat.kalbarprov.go.id", RecordType::A).await),
        ["203.0.113.21"]
    );
    assert_eq!(
        rdata(&dig(server, "sehat.kalbarprov.go.id", RecordType::AAAA).await),
        ["2001:db8::21"]
    );

    let removal = dns
        .post(
            "/api/v1/requests",
            &pd,
            json!({
                "kind": "remove", "name": "sehat.kalbarprov.go.id",
                "purpose": "Tidak dipakai lagi", "letter_number": "800/10/DINKES/2026", "letter_date": "2026-02-02",
            }),
        )
        .await;
    assert_eq!(removal.status, 201, "{:?}", removal.body);
    let removal_id = removal.body["id"].as_i64().unwrap();
    dns.put_letter(removal_id, &pd, common::PDF, "application/pdf")
        .await;
    dns.approve(removal_id, &reviewer).await;
    dns.wait_for_state(removal_id, &pd, "active").await;
    let gone = dig(server, "sehat.kalbarprov.go.id", RecordType::A).await;
    assert!(gone.answers.is_empty());
    let listed = dns.get("/api/v1/subdomains", &pd).await;
    assert_eq!(listed.body["total"], 0);
}

async fn kill_9_right_after_approval_still_ends_active_exactly_once() {
    let site = Site::new();
    let pd = site.pd("BAPPEDA");
    let reviewer = site.staff("reviewer1", "reviewer");
    let dns = site.start();
    let id = dns
        .file(&pd, "rencana.kalbarprov.go.id", a_record("203.0.113.30"))
        .await;
    let approved = dns
        .post(
            &format!("/api/v1/requests/{id}/approve"),
            &reviewer,
            json!({}),
        )
        .await;
    assert_eq!(approved.status, 200);
    dns.kill9();

    let dns = site.start();
    let active = dns.wait_for_state(id, &pd, "active").await;
    let server = dns.dns.unwrap();
    assert_eq!(
        rdata(&dig(server, "rencana.kalbarprov.go.id", RecordType::A).await),
        ["203.0.113.30"]
    );
    let accepted = active["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["outcome"] == "accepted")
        .count();
    assert!(accepted <= 1, "{:#}", active["attempts"]);
    let actives = active["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["to"] == "active")
        .count();
    assert_eq!(actives, 1);
}

async fn kill_9_while_verifying_resumes_after_restart() {
    // A second "authoritative server" that never answers keeps the request
    // in verifying: the process is killed there, deterministically.
    let site = Site::new();
    let silent = dead_port();
    let pd = site.pd("BPKAD");
    let reviewer = site.staff("reviewer1", "reviewer");
    let embedded = free_port();
    site.pin_dns(embedded, embedded, &[embedded, silent]);
    let dns = site.start();
    let id = dns
        .file(&pd, "aset.kalbarprov.go.id", a_record("203.0.113.40"))
        .await;
    dns.approve(id, &reviewer).await;
    let verifying = dns.wait_for_state(id, &pd, "verifying").await;
    assert_eq!(verifying["attempts"][0]["outcome"], "accepted");
    dns.kill9();

    // Back without the silent server: verification resumes, no resend.
    site.pin_dns(embedded, embedded, &[]);
    let dns = site.start();
    let active = dns.wait_for_state(id, &pd, "active").await;
    assert_eq!(
        active["attempts"].as_array().unwrap().len(),
        1,
        "{:#}",
        active["attempts"]
    );
}

async fn primary_down_is_retried_then_the_zone_is_checked_before_resending() {
    let site = Site::new();
    let pd = site.pd("DISHUB");
    let reviewer = site.staff("reviewer1", "reviewer");
    let embedded = free_port();
    let down = dead_port();
    site.pin_dns(embedded, down, &[embedded]);
    let dns = site.start();
    let id = dns
        .file(&pd, "angkutan.kalbarprov.go.id", a_record("203.0.113.50"))
        .await;
    let approved = dns
        .post(
            &format!("/api/v1/requests/{id}/approve"),
            &reviewer,
            json!({}),
        )
        .await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);
    // The worker keeps retrying: attempts pile up as not applied.
    let start = std::time::Instant::now();
    loop {
        let got = dns.get(&format!("/api/v1/requests/{id}"), &pd).await;
        let state = got.body["state"].as_str().unwrap();
        assert!(
            ["approved", "provisioning"].contains(&state),
            "{:#}",
            got.body
        );
        if got.body["attempts"].as_array().unwrap().len() >= 2 {
            break;
        }
        assert!(start.elapsed() < common::DEADLINE);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(dns);

    site.pin_dns(embedded, embedded, &[]);
    let dns = site.start();
    let active = dns.wait_for_state(id, &pd, "active").await;
    let outcomes: Vec<&str> = active["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes.last(), Some(&"accepted"), "{outcomes:?}");
    assert!(
        outcomes[..outcomes.len() - 1]
            .iter()
            .all(|o| *o != "accepted")
    );
    assert_eq!(
        rdata(&dig(embedded, "angkutan.kalbarprov.go.id", RecordType::A).await),
        ["203.0.113.50"]
    );
}

async fn out_of_band_change_before_approval_is_refused() {
    let site = Site::new();
    let pd = site.pd("DISPAR");
    let reviewer = site.staff("reviewer1", "reviewer");
    let dns = site.start();
    let server = dns.dns.unwrap();
    let id = dns
        .file(&pd, "wisata.kalbarprov.go.id", a_record("203.0.113.60"))
        .await;
    out_of_band_a(&site, server, "wisata.kalbarprov.go.id", "198.51.100.7").await;

    let refused = dns
        .post(
            &format!("/api/v1/requests/{id}/approve"),
            &reviewer,
            json!({}),
        )
        .await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);
    assert_eq!(refused.code(), "zone_changed");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("198.51.100.7")
    );
    let still = dns.get(&format!("/api/v1/requests/{id}"), &pd).await;
    assert_eq!(still.body["state"], "submitted");
    assert_eq!(
        rdata(&dig(server, "wisata.kalbarprov.go.id", RecordType::A).await),
        ["198.51.100.7"]
    );
}

async fn out_of_band_change_after_approval_ends_in_conflict_without_clobbering() {
    // The primary is unreachable when the request is approved, so the job
    // waits; meanwhile someone writes the name directly into the zone.
    let site = Site::new();
    let pd = site.pd("DISKOP");
    let reviewer = site.staff("reviewer1", "reviewer");
    let embedded = free_port();
    let down = dead_port();
    site.pin_dns(embedded, down, &[embedded]);
    let dns = site.start();
    let id = dns
        .file(&pd, "umkm.kalbarprov.go.id", a_record("203.0.113.70"))
        .await;
    dns.approve(id, &reviewer).await;
    out_of_band_a(&site, embedded, "umkm.kalbarprov.go.id", "198.51.100.9").await;
    drop(dns);

    site.pin_dns(embedded, embedded, &[]);
    let dns = site.start();
    let conflict = dns.wait_for_state(id, &pd, "conflict").await;
    let reason = conflict["state_reason"].as_str().unwrap();
    assert!(
        reason.contains("YXDOMAIN") && reason.contains("198.51.100.9"),
        "{reason}"
    );
    assert_eq!(
        rdata(&dig(embedded, "umkm.kalbarprov.go.id", RecordType::A).await),
        ["198.51.100.9"]
    );
}

async fn concurrent_approvals_send_one_update() {
    let site = Site::new();
    let pd = site.pd("DPMPTSP");
    let reviewer = site.staff("reviewer1", "reviewer");
    let admin = site.staff("admin1", "admin");
    let dns = site.start();
    let id = dns
        .file(&pd, "izin.kalbarprov.go.id", a_record("203.0.113.90"))
        .await;
    let path = format!("/api/v1/requests/{id}/approve");
    let calls = (0..8).map(|i| {
        let token = if i % 2 == 0 {
            reviewer.clone()
        } else {
            admin.clone()
        };
        let dns = &dns;
        let path = path.clone();
        async move { dns.post(&path, &token, json!({})).await.status }
    });
    let statuses = futures_util::future::join_all(calls).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    let active = dns.wait_for_state(id, &pd, "active").await;
    assert_eq!(active["attempts"].as_array().unwrap().len(), 1);
}

async fn delegation_with_glue_is_provisioned_and_verified() {
    let site = Site::new();
    // The parent's side alone: the child's servers (documentation
    // addresses) do not exist here; tests/delegation.rs checks them.
    site.write_config("[zone]\ncheck_delegations = false\n");
    let pd = site.pd("PEMKAB");
    let reviewer = site.staff("reviewer1", "reviewer");
    let dns = site.start();
    let server = dns.dns.unwrap();
    let records = json!([
        { "type": "NS", "value": "ns1.sambas.kalbarprov.go.id", "glue": ["203.0.113.151"] },
        { "type": "NS", "value": "ns.example.net" },
    ]);
    let id = dns.file(&pd, "sambas.kalbarprov.go.id", records).await;
    let detail = dns.get(&format!("/api/v1/requests/{id}"), &reviewer).await;
    assert_eq!(
        detail.body["plan"]["prerequisites"],
        json!([
            "prereq nxdomain sambas.kalbarprov.go.id.",
            "prereq nxdomain ns1.sambas.kalbarprov.go.id."
        ])
    );
    dns.approve(id, &reviewer).await;
    dns.wait_for_state(id, &pd, "active").await;
    // The parent now refers queries below the cut to the child's servers
    // (hickory-server sets AA on referrals and leaves glue out of them, so
    // the glue itself is checked in a signed transfer).
    let referral = dig(server, "www.sambas.kalbarprov.go.id", RecordType::A).await;
    let mut ns: Vec<String> = referral
        .authority
        .iter()
        .map(|r| r.data.to_string())
        .collect();
    ns.sort();
    assert_eq!(ns, ["ns.example.net.", "ns1.sambas.kalbarprov.go.id."]);
    let key = TsigKey::read_file(site.data_dir().join("dnsdesk.key")).unwrap();
    let zone = Name::from_ascii("kalbarprov.go.id.").unwrap();
    let all = provisioner::client::transfer(server, &zone, &key, Duration::from_secs(2))
        .await
        .unwrap();
    let glue: Vec<String> = all
        .iter()
        .filter(|r| r.name.to_ascii() == "ns1.sambas.kalbarprov.go.id.")
        .map(|r| r.data.to_string())
        .collect();
    assert_eq!(glue, ["203.0.113.151"]);

    // Nothing can be added below the cut: the parent would not serve it.
    let below = dns
        .post(
            "/api/v1/requests",
            &pd,
            json!({
                "name": "web.sambas.kalbarprov.go.id",
                "records": [{ "type": "A", "value": "203.0.113.152" }],
                "purpose": "Situs", "letter_number": "1/2026", "letter_date": "2026-02-01",
            }),
        )
        .await;
    assert_eq!(below.status, 422, "{:?}", below.body);
    assert_eq!(below.field(), "name");
    assert!(
        below.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("delegated")
    );
}

async fn a_key_the_primary_does_not_know_fails_with_an_actionable_reason_and_can_be_retried() {
    // One site runs the zone's primary (the embedded server, its own key);
    // the other is a dnsdesk without its own server, holding another key.
    let primary_site = Site::new();
    let primary = primary_site.start();
    let primary_addr = primary.dns.unwrap();

    let site = Site::new();
    std::fs::create_dir_all(site.data_dir()).unwrap();
    let wrong_key = site.dir.path().join("other.key");
    std::fs::write(
        &wrong_key,
        "key \"dnsdesk-other\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=\";\n};\n",
    )
    .unwrap();
    site.write_config(&format!(
        "[zone]\nprimary = \"{primary_addr}\"\ntsig_key_file = {key:?}\n[embedded_dns]\nenabled = false\n",
        key = wrong_key.display().to_string()
    ));
    let pd = site.pd("DISKOMINFO");
    let reviewer = site.staff("reviewer1", "reviewer");
    let netadmin = site.staff("net1", "netadmin");
    let dns = site.start();
    let id = dns
        .file(&pd, "layanan.kalbarprov.go.id", a_record("203.0.113.120"))
        .await;
    dns.approve(id, &reviewer).await;
    let failed = dns.wait_for_state(id, &pd, "failed").await;
    let reason = failed["state_reason"].as_str().unwrap();
    assert!(
        reason.contains("BADKEY") && reason.contains("dnsdesk-other"),
        "{reason}"
    );
    assert!(reason.contains(&primary_addr.to_string()), "{reason}");
    assert_eq!(failed["attempts"][0]["rcode"], "BADKEY");

    // A PD cannot retry; a network admin can, and it fails the same way.
    let by_pd = dns
        .post(&format!("/api/v1/requests/{id}/retry"), &pd, json!({}))
        .await;
    assert_eq!(by_pd.status, 403);
    let retried = dns
        .post(
            &format!("/api/v1/requests/{id}/retry"),
            &netadmin,
            json!({ "note": "kunci diperiksa" }),
        )
        .await;
    assert_eq!(retried.status, 200, "{:?}", retried.body);
    let again = dns.wait_for_state(id, &pd, "failed").await;
    assert_eq!(again["attempts"].as_array().unwrap().len(), 2);
    let nothing = dig(primary_addr, "layanan.kalbarprov.go.id", RecordType::A).await;
    assert_eq!(nothing.rcode, ResponseCode::NXDomain);
}

async fn a_server_that_never_agrees_fails_the_request_at_the_deadline_with_each_answer() {
    let site = Site::new();
    let pd = site.pd("DISPORA");
    let reviewer = site.staff("reviewer1", "reviewer");
    let embedded = free_port();
    let silent = dead_port();
    site.pin_dns(embedded, embedded, &[embedded, silent]);
    let config = std::fs::read_to_string(site.config_path()).unwrap();
    let config = config.replace("verify_deadline_secs = 60", "verify_deadline_secs = 2");
    std::fs::write(site.config_path(), config).unwrap();
    let dns = site.start();
    let id = dns
        .file(&pd, "olahraga.kalbarprov.go.id", a_record("203.0.113.130"))
        .await;
    dns.approve(id, &reviewer).await;
    let failed = dns.wait_for_state(id, &pd, "failed").await;
    let reason = failed["state_reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("{embedded}: serves the records")),
        "{reason}"
    );
    assert!(
        reason.contains(&format!("{silent}: unreachable")),
        "{reason}"
    );
    let servers = failed["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2);
}
