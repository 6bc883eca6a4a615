//! Every submission rule with bad input: a 4xx naming the field, and
//! nothing written. And who may see and do what.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{PDF, Site};
use serde_json::{Value, json};

common::on_both_databases!(
    bad_input_is_refused_naming_the_field_and_nothing_is_written,
    letters_must_be_pdfs_within_the_limit_and_are_required_for_approval,
    agencies_see_only_their_own_and_roles_are_enforced,
    revision_round_trip,
    health_and_openapi,
);

fn body(name: &str, records: Value) -> Value {
    json!({
        "name": name,
        "records": records,
        "purpose": "Aplikasi",
        "letter_number": "800/1/X/2026",
        "letter_date": "2026-03-01",
    })
}

async fn bad_input_is_refused_naming_the_field_and_nothing_is_written() {
    let site = Site::new();
    let pd = site.pd("DISDIK");
    let dns = site.start();
    let a = |v: &str| json!([{ "type": "A", "value": v }]);
    let cases: Vec<(Value, u16, &str)> = vec![
        (body("", a("203.0.113.1")), 422, "name"),
        (body("kalbarprov.go.id", a("203.0.113.1")), 422, "name"),
        (body("www.kalbarprov.go.id", a("203.0.113.1")), 422, "name"),
        (body("mail.kalbarprov.go.id", a("203.0.113.1")), 422, "name"),
        (body("ns7.kalbarprov.go.id", a("203.0.113.1")), 422, "name"),
        (
            body("_dmarc.kalbarprov.go.id", a("203.0.113.1")),
            422,
            "name",
        ),
        (body("-bad.kalbarprov.go.id", a("203.0.113.1")), 422, "name"),
        (
            body("bad_label.kalbarprov.go.id", a("203.0.113.1")),
            422,
            "name",
        ),
        (
            body(
                &format!("{}.kalbarprov.go.id", "a".repeat(64)),
                a("203.0.113.1"),
            ),
            422,
            "name",
        ),
        (body("situs.example.com", a("203.0.113.1")), 422, "name"),
        (body("situs.kalbarprov.go.id", json!([])), 422, "records"),
        (
            body("situs.kalbarprov.go.id", a("127.0.0.1")),
            422,
            "records[0].value",
        ),
        (
            body("situs.kalbarprov.go.id", a("10.0.0.1")),
            422,
            "records[0].value",
        ),
        (
            body("situs.kalbarprov.go.id", a("224.0.0.5")),
            422,
            "records[0].value",
        ),
        (
            body("situs.kalbarprov.go.id", a("169.254.0.1")),
            422,
            "records[0].value",
        ),
        (
            body("situs.kalbarprov.go.id", a("0.0.0.0")),
            422,
            "records[0].value",
        ),
        (
            body(
                "situs.kalbarprov.go.id",
                json!([{ "type": "AAAA", "value": "fe80::1" }]),
            ),
            422,
            "records[0].value",
        ),
        (
            body(
                "situs.kalbarprov.go.id",
                json!([{ "type": "HINFO", "value": "x" }]),
            ),
            422,
            "records[0].type",
        ),
        (
            body(
                "situs.kalbarprov.go.id",
                json!([{ "type": "A", "value": "203.0.113.1", "ttl": 10 }]),
            ),
            422,
            "records[0].ttl",
        ),
        (
            body(
                "situs.kalbarprov.go.id",
                json!([{ "type": "A", "value": "203.0.113.1", "ttl": 100000 }]),
            ),
            422,
            "records[0].ttl",
        ),
        (
            body(
                "situs.kalbarprov.go.id",
                json!([{ "type": "CNAME", "value": "x.example.com" }, { "type": "A", "value": "203.0.113.1" }]),
            ),
            422,
            "records[0].type",
        ),
        (
            body(
                "situs.kalbarprov.go.id",
                json!([{ "type": "CNAME", "value": "bad_target.example" }]),
            ),
            422,
            "records[0].value",
        ),
        (
            body(
                "situs.kalbarprov.go.id",
                json!([{ "type": "MX", "value": "mail.example.com" }]),
            ),
            422,
            "records[0].value",
        ),
        (
            body(
                "situs.kalbarprov.go.id",
                json!([{ "type": "NS", "value": "ns1.situs.kalbarprov.go.id" }]),
            ),
            422,
            "records[0].glue",
        ),
        (
            body(
                "situs.kalbarprov.go.id",
                json!([{ "type": "A", "value": "203.0.113.1", "ttl": "x" }]),
            ),
            422,
            "records[0].ttl",
        ),
        (
            json!({ "name": "situs.kalbarprov.go.id", "records": [{ "type": "A", "value": "203.0.113.1" }], "purpose": "x", "letter_number": "1", "letter_date": "2026-13-01" }),
            422,
            "letter_date",
        ),
        (
            json!({ "name": "situs.kalbarprov.go.id", "records": [{ "type": "A", "value": "203.0.113.1" }], "purpose": "", "letter_number": "1", "letter_date": "2026-01-01" }),
            422,
            "purpose",
        ),
        (
            json!({ "name": "situs.kalbarprov.go.id", "records": [{ "type": "A", "value": "203.0.113.1" }], "purpose": "x", "letter_number": "1", "letter_date": "kemarin" }),
            422,
            "letter_date",
        ),
        (
            json!({ "name": "situs.kalbarprov.go.id", "records": [{ "type": "A", "value": "203.0.113.1" }], "purpose": "x", "letter_number": "1", "letter_date": "2099-01-01" }),
            422,
            "letter_date",
        ),
        (
            json!({ "name": "situs.kalbarprov.go.id", "records": [{ "type": "A", "value": "203.0.113.1" }], "purpose": "x", "letter_number": "1", "letter_date": "2026-01-01", "extra": 1 }),
            422,
            "",
        ),
        // Names the demo zone already holds outside dnsdesk.
        (
            body("disdik.kalbarprov.go.id", a("203.0.113.1")),
            409,
            "name",
        ),
    ];
    for (input, status, field) in cases {
        let got = dns.post("/api/v1/requests", &pd, input.clone()).await;
        assert_eq!(got.status, status, "{input} → {:?}", got.body);
        if !field.is_empty() {
            assert_eq!(got.field(), field, "{input} → {:?}", got.body);
        }
        assert!(
            got.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let listed = dns.get("/api/v1/requests", &pd).await;
    assert_eq!(
        listed.body["total"], 0,
        "nothing may be written: {:?}",
        listed.body
    );

    // Not JSON at all.
    let resp = dns
        .client
        .post(dns.url("/api/v1/requests"))
        .bearer_auth(&pd)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
}

async fn letters_must_be_pdfs_within_the_limit_and_are_required_for_approval() {
    let site = Site::new();
    let pd = site.pd("DISDIK");
    let reviewer = site.staff("reviewer1", "reviewer");
    let dns = site.start();
    let created = dns
        .post(
            "/api/v1/requests",
            &pd,
            body(
                "surat.kalbarprov.go.id",
                json!([{ "type": "A", "value": "203.0.113.5" }]),
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_i64().unwrap();

    let no_letter = dns
        .post(
            &format!("/api/v1/requests/{id}/approve"),
            &reviewer,
            json!({}),
        )
        .await;
    assert_eq!(no_letter.status, 409);
    assert_eq!(no_letter.code(), "letter_missing");

    let gif = dns
        .put_letter(id, &pd, b"GIF89a not a pdf", "application/pdf")
        .await;
    assert_eq!(gif.status, 415);
    assert_eq!(gif.field(), "letter");
    let wrong_type = dns.put_letter(id, &pd, PDF, "image/png").await;
    assert_eq!(wrong_type.status, 415);
    let mut big = PDF.to_vec();
    big.resize(10 * 1024 * 1024 + 10, b' ');
    let too_big = dns.put_letter(id, &pd, &big, "application/pdf").await;
    assert_eq!(too_big.status, 413);
    assert_eq!(too_big.field(), "letter");

    let ok = dns.put_letter(id, &pd, PDF, "application/pdf").await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["letter"]["size"], PDF.len());
    let resp = dns
        .client
        .get(dns.url(&format!("/api/v1/requests/{id}/letter")))
        .bearer_auth(&reviewer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), PDF);
}

async fn agencies_see_only_their_own_and_roles_are_enforced() {
    let site = Site::new();
    let disdik = site.pd("DISDIK");
    let dinkes = site.pd("DINKES");
    let reviewer = site.staff("reviewer1", "reviewer");
    let netadmin = site.staff("net1", "netadmin");
    let dns = site.start();
    let id = dns
        .file(
            &disdik,
            "sekolah.kalbarprov.go.id",
            json!([{ "type": "A", "value": "203.0.113.7" }]),
        )
        .await;
    let path = format!("/api/v1/requests/{id}");

    // Another agency learns nothing: 404 everywhere.
    assert_eq!(dns.get(&path, &dinkes).await.status, 404);
    assert_eq!(
        dns.get(&format!("{path}/letter"), &dinkes).await.status,
        404
    );
    assert_eq!(
        dns.put_letter(id, &dinkes, PDF, "application/pdf")
            .await
            .status,
        404
    );
    let listed = dns.get("/api/v1/requests", &dinkes).await;
    assert_eq!(listed.body["total"], 0);
    let listed = dns.get("/api/v1/requests?agency=DISDIK", &dinkes).await;
    assert_eq!(listed.status, 422);
    // Nor can it take a name below another agency's pending name.
    let nested = dns
        .post(
            "/api/v1/requests",
            &dinkes,
            body(
                "x.sekolah.kalbarprov.go.id",
                json!([{ "type": "A", "value": "203.0.113.8" }]),
            ),
        )
        .await;
    assert_eq!(nested.status, 409, "{:?}", nested.body);
    assert_eq!(nested.code(), "name_owned_by_other_agency");
    // The owner files the same name twice: the second is refused.
    let twice = dns
        .post(
            "/api/v1/requests",
            &disdik,
            body(
                "sekolah.kalbarprov.go.id",
                json!([{ "type": "A", "value": "203.0.113.9" }]),
            ),
        )
        .await;
    assert_eq!(twice.status, 409);
    assert_eq!(twice.code(), "name_taken");

    // PDs and network admins cannot approve; staff cannot file.
    for token in [&disdik, &netadmin] {
        let got = dns.post(&format!("{path}/approve"), token, json!({})).await;
        assert_eq!(got.status, 403, "{:?}", got.body);
    }
    let filed = dns
        .post(
            "/api/v1/requests",
            &reviewer,
            body(
                "staf.kalbarprov.go.id",
                json!([{ "type": "A", "value": "203.0.113.9" }]),
            ),
        )
        .await;
    assert_eq!(filed.status, 403);
    // Rejection needs a reason.
    let no_note = dns
        .post(&format!("{path}/reject"), &reviewer, json!({}))
        .await;
    assert_eq!(no_note.status, 422);
    assert_eq!(no_note.field(), "note");

    // No token, a wrong token.
    assert_eq!(dns.call("GET", &path, None, None).await.status, 401);
    assert_eq!(dns.get(&path, "dnsdesk_wrong").await.status, 401);

    // An approval bound to a stale digest is refused.
    let stale = dns
        .post(
            &format!("{path}/approve"),
            &reviewer,
            json!({ "digest": "0".repeat(64) }),
        )
        .await;
    assert_eq!(stale.status, 409);
    assert_eq!(stale.code(), "plan_changed");
}

async fn revision_round_trip() {
    let site = Site::new();
    let pd = site.pd("DISDIK");
    let reviewer = site.staff("reviewer1", "reviewer");
    let dns = site.start();
    let id = dns
        .file(
            &pd,
            "revisi.kalbarprov.go.id",
            json!([{ "type": "A", "value": "203.0.113.11" }]),
        )
        .await;
    let path = format!("/api/v1/requests/{id}");
    let asked = dns
        .post(
            &format!("{path}/request-revision"),
            &reviewer,
            json!({ "note": "Gunakan IPv6 juga" }),
        )
        .await;
    assert_eq!(asked.status, 200);
    assert_eq!(asked.body["state"], "revision_requested");
    let revised = dns
        .call(
            "PUT",
            &path,
            Some(&pd),
            Some(body(
                "revisi.kalbarprov.go.id",
                json!([{ "type": "A", "value": "203.0.113.11" }, { "type": "AAAA", "value": "2001:db8::11" }]),
            )),
        )
        .await;
    assert_eq!(revised.status, 200, "{:?}", revised.body);
    assert_eq!(revised.body["state"], "submitted");
    assert_eq!(revised.body["plan"]["updates"].as_array().unwrap().len(), 2);
    let rejected = dns
        .post(
            &format!("{path}/reject"),
            &reviewer,
            json!({ "note": "Tidak sesuai" }),
        )
        .await;
    assert_eq!(rejected.body["state"], "rejected");
    // A rejected request releases its name.
    let again = dns
        .post(
            "/api/v1/requests",
            &pd,
            body(
                "revisi.kalbarprov.go.id",
                json!([{ "type": "A", "value": "203.0.113.12" }]),
            ),
        )
        .await;
    assert_eq!(again.status, 201, "{:?}", again.body);
}

async fn health_and_openapi() {
    let site = Site::new();
    let dns = site.start();
    let health = dns.client.get(dns.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let ready = |dns: &common::Instance| {
        let request = dns.client.get(dns.url("/readyz")).send();
        async move { request.await.unwrap().status().as_u16() }
    };
    assert_eq!(ready(&dns).await, 200);
    // A PostgreSQL outage: not ready (a proxy sends requests elsewhere)
    // while the database is away, ready again once it is back.
    if let Some(db) = &site.postgres {
        db.cut_off();
        common::poll(|| ready(&dns), |status| *status == 503).await;
        db.restore();
        common::poll(|| ready(&dns), |status| *status == 200).await;
    }
    let doc = dns.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(doc.status, 200);
    for path in [
        "/api/v1/requests",
        "/api/v1/requests/{id}/approve",
        "/api/v1/subdomains/{name}",
    ] {
        assert!(doc.body["paths"].get(path).is_some(), "{path} missing");
    }
}
