//! The admins' SLA report from outside: a seeded set of requests (two
//! agencies; active, rejected, open, and one whose due time has passed)
//! shows the right figures on the page and in the CSV, and only admins
//! may read it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Site;
use common::web::WebSession;
use reqwest::StatusCode;
use serde_json::json;

common::on_both_databases!(the_months_report_counts_what_was_filed_done_and_late,);

const PW: &str = "sungai-kapuas-2026";

fn a(ip: &str) -> serde_json::Value {
    json!([{"type": "A", "value": ip, "ttl": 300}])
}

async fn the_months_report_counts_what_was_filed_done_and_late() {
    let site = Site::new();
    let disdik = site.pd("DISDIK");
    let dinkes = site.pd("DINKES");
    let reviewer = site.staff("rina", "reviewer");
    site.web_user("boss", "admin", None, PW);
    site.web_user("net", "netadmin", None, PW);
    let dnsdesk = site.start();

    // DISDIK: two active, one rejected. DINKES: one active, one open.
    for (i, name) in ["a.disdik", "b.disdik"].iter().enumerate() {
        dnsdesk
            .provision(
                &disdik,
                &reviewer,
                &format!("{name}.kalbarprov.go.id"),
                a(&format!("203.0.113.{}", 20 + i)),
            )
            .await;
    }
    let rejected = dnsdesk
        .file(&disdik, "c.disdik.kalbarprov.go.id", a("203.0.113.23"))
        .await;
    let answer = dnsdesk
        .post(
            &format!("/api/v1/requests/{rejected}/reject"),
            &reviewer,
            json!({"note": "Surat tidak distempel"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    dnsdesk
        .provision(
            &dinkes,
            &reviewer,
            "a.dinkes.kalbarprov.go.id",
            a("203.0.113.30"),
        )
        .await;
    let open = dnsdesk
        .file(&dinkes, "b.dinkes.kalbarprov.go.id", a("203.0.113.31"))
        .await;
    // Time passes for the open one: its due time is moved into the past
    // in the database (30 days, in milliseconds), as if the office had sat on it.
    site.execute(&format!(
        "UPDATE requests SET due_at = due_at - 2592000000 WHERE id = {open}"
    ))
    .unwrap();

    // A complaint, classified light (5 working days), whose deadline has
    // passed (moved into the past the same way), and one still in time.
    let mut complaint_ids = Vec::new();
    for who in ["Siti", "Budi"] {
        let filed = dnsdesk
            .call(
                "POST",
                "/api/v1/complaints",
                None,
                Some(json!({"name": who, "contact": "0812-5555-0101",
                            "description": "Situs tidak bisa dibuka"})),
            )
            .await;
        assert_eq!(filed.status, 201, "{:?}", filed.body);
        let id = filed.body["id"].as_i64().unwrap();
        let classified = dnsdesk
            .post(
                &format!("/api/v1/complaints/{id}/classify"),
                &reviewer,
                json!({"category": "ringan"}),
            )
            .await;
        assert_eq!(classified.status, 200, "{:?}", classified.body);
        complaint_ids.push(id);
    }
    site.execute(&format!(
        "UPDATE complaints SET due_at = due_at - 2592000000 WHERE id = {}",
        complaint_ids[0]
    ))
    .unwrap();

    let mut admin = WebSession::new(&dnsdesk.url(""));
    admin.login("boss", PW).await;
    let page = admin.get("/reports").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let totals = section(&page.body, "id=\"sla-totals\"", "</dl>");
    // received 5, completed 3, rejected 1, all 3 within the standard.
    for figure in [
        "<dd>5</dd>",
        "<dd>3</dd>",
        "<dd>1</dd>",
        "<dd>100 % (3/3)</dd>",
    ] {
        assert!(totals.contains(figure), "{figure} not in {totals}");
    }
    let by_agency = section(&page.body, "id=\"sla-agencies\"", "</table>");
    assert!(by_agency.contains(">DISDIK<") && by_agency.contains(">DINKES<"));
    let overdue = section(&page.body, "id=\"overdue\"", "</table>");
    assert!(overdue.contains("b.dinkes.kalbarprov.go.id"), "{overdue}");
    assert!(!overdue.contains("a.dinkes"), "{overdue}");
    assert!(page.body.contains("<svg id=\"sla-chart\""));
    let late = section(&page.body, "id=\"overdue-complaints\"", "</table>");
    assert!(late.contains("(1)"), "{late}");
    assert!(
        late.contains(&format!("href=\"/complaints/{}\"", complaint_ids[0])),
        "{late}"
    );
    assert!(
        !late.contains(&format!("href=\"/complaints/{}\"", complaint_ids[1])),
        "{late}"
    );

    let csv = admin.get("/reports/sla.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    let rows: Vec<&str> = csv.body.lines().collect();
    assert!(rows[0].starts_with("month,agency,received,completed,rejected,within_standard"));
    let row = |agency: &str| {
        rows.iter()
            .find(|r| r.split(',').nth(1) == Some(agency))
            .map(|r| r.split(',').skip(2).take(5).collect::<Vec<_>>().join(","))
            .unwrap_or_else(|| panic!("no {agency} row in {rows:?}"))
    };
    assert_eq!(row("DISDIK"), "3,2,1,2,1.000");
    assert_eq!(row("DINKES"), "2,1,0,1,1.000");
    assert_eq!(row("ALL"), "5,3,1,3,1.000");

    // Another month is empty; a bad month names the field.
    let empty = admin.get("/reports?month=2025-01").await;
    assert!(section(&empty.body, "id=\"sla-totals\"", "</dl>").contains("<dd>0</dd>"));
    let bad = admin.get("/reports?month=2026-13").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("month: "));

    // Only admins.
    let mut net = WebSession::new(&dnsdesk.url(""));
    net.login("net", PW).await;
    assert_eq!(net.get("/reports").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        net.get("/reports/sla.csv").await.status,
        StatusCode::FORBIDDEN
    );
}

/// The part of `html` from `start` to the next `end`.
fn section<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let at = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in page"));
    let rest = &html[at..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}
