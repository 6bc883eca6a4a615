//! The working-day calendar as admins keep it: listed, edited through the
//! API and the CLI, every edit audited, and due dates counted in what is in
//! force.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Site;
use serde_json::{Value, json};

common::on_both_databases!(admins_edit_the_calendar_and_due_dates_follow_it,);

/// The WIB date (`2026-12-02`) of a request's due time.
fn due_date(request: &Value) -> String {
    let due = time::OffsetDateTime::parse(
        request["due_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    due.to_offset(time::macros::offset!(+7)).date().to_string()
}

async fn admins_edit_the_calendar_and_due_dates_follow_it() {
    let site = Site::new();
    let pd = site.pd("DISDIK");
    let admin = site.staff("admin1", "admin");
    let reviewer = site.staff("reviewer1", "reviewer");
    let listed = site.cli(&["holiday", "list", "--year", "2026"]);
    assert!(listed.starts_with("years loaded: 2026\n"), "{listed}");
    assert!(listed.contains("2026-12-25 libur_nasional "), "{listed}");

    let dns = site.start();
    let file = |name: &'static str| {
        let dns = &dns;
        let pd = pd.clone();
        async move {
            let id = dns
                .file(&pd, name, json!([{ "type": "A", "value": "203.0.113.5" }]))
                .await;
            dns.get(&format!("/api/v1/requests/{id}"), &pd).await.body
        }
    };
    let first = file("satu.kalbarprov.go.id").await;
    let due = due_date(&first);

    // The due day becomes collective leave: the next request is due one
    // working day later.
    let added = dns
        .post(
            "/api/v1/holidays",
            &admin,
            json!({ "date": due, "kind": "cuti_bersama", "name": "Cuti bersama (uji)" }),
        )
        .await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    let second = file("dua.kalbarprov.go.id").await;
    assert_ne!(due_date(&second), due, "{second:#}");
    assert!(due_date(&second) > due);
    let calendar = dns.get("/api/v1/holidays", &pd).await;
    assert!(
        calendar.body["days"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["date"] == due.as_str() && d["kind"] == "cuti_bersama"),
        "{:?}",
        calendar.body
    );

    // Only admins edit; bad input names its field.
    let refused = dns
        .post(
            "/api/v1/holidays",
            &reviewer,
            json!({ "date": "2026-12-02", "kind": "cuti_bersama", "name": "x" }),
        )
        .await;
    assert_eq!(refused.status, 403);
    for (body, field) in [
        (
            json!({ "date": "2026-13-01", "kind": "cuti_bersama", "name": "x" }),
            "date",
        ),
        (
            json!({ "date": "2026-12-02", "kind": "libur", "name": "x" }),
            "kind",
        ),
        (
            json!({ "date": "2026-12-02", "kind": "cuti_bersama", "name": " " }),
            "name",
        ),
    ] {
        let bad = dns.post("/api/v1/holidays", &admin, body).await;
        assert_eq!((bad.status, bad.field()), (422, field), "{:?}", bad.body);
    }

    // At the console the day is given back: due dates are as before.
    let out = site.cli(&["holiday", "remove", "--date", &due]);
    assert!(out.ends_with("is a working day again\n"), "{out}");
    let third = file("tiga.kalbarprov.go.id").await;
    assert_eq!(due_date(&third), due);
    let not_listed = site.cli_output(&["holiday", "remove", "--date", "2026-07-14"]);
    assert!(!not_listed.status.success());
    assert!(
        String::from_utf8_lossy(&not_listed.stderr).contains("date: is not a listed holiday"),
        "{not_listed:?}"
    );

    // A year's file is loaded; a bad one is refused, naming its line.
    let next = site.dir.path().join("2027.toml");
    std::fs::write(
        &next,
        "year = 2027\n\n[[day]]\ndate = 2027-01-01\nkind = \"libur_nasional\"\nname = \"Tahun Baru 2027 Masehi\"\n",
    )
    .unwrap();
    let out = site.cli(&["holiday", "import", next.to_str().unwrap()]);
    assert!(out.starts_with("2027: 1 non-working days loaded"), "{out}");
    let listed = site.cli(&["holiday", "list", "--year", "2027"]);
    assert!(listed.starts_with("years loaded: 2026, 2027\n"), "{listed}");
    assert!(listed.contains("2027-01-01 libur_nasional Tahun Baru 2027 Masehi"));
    std::fs::write(
        &next,
        "year = 2027\n\n[[day]]\ndate = 2028-01-01\nkind = \"libur_nasional\"\nname = \"Salah tahun\"\n",
    )
    .unwrap();
    let bad = site.cli_output(&["holiday", "import", next.to_str().unwrap()]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("line 4"),
        "{bad:?}"
    );

    // Every edit is on record, by whom.
    let audited = dns.get("/api/v1/audit?action=calendar", &admin).await;
    let mut actions: Vec<(String, String)> = audited.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor"]
                    .as_str()
                    .unwrap()
                    .split(':')
                    .next()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    actions.reverse();
    let want = [
        ("calendar.day_added", "user"),
        ("calendar.day_removed", "console"),
        ("calendar.year_imported", "console"),
    ];
    assert_eq!(
        actions,
        want.map(|(a, b)| (a.to_owned(), b.to_owned())),
        "{:?}",
        audited.body
    );
}
