//! The request SLA clock through the binary: due times counted in the
//! office's working hours, and moved on resubmission by exactly the
//! working time the request waited for its agency's revision.
//!
//! The clock is real, so nothing here asserts wall-clock numbers: every
//! expected due time is computed with the calendar arithmetic
//! (`api::calendar`) from the instants the API returns.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use api::calendar::{WorkCalendar, WorkingHours};
use common::Site;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::time;

common::on_both_databases!(
    due_time_counts_the_office_working_hours,
    a_revision_pause_moves_the_due_time_by_the_working_time_waited,
    working_hours_that_end_before_they_start_are_refused,
);

fn instant(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("a time"), &Rfc3339).expect("RFC 3339")
}

/// The last transition of `request` (a detail view) into `to`.
fn last_transition_to(request: &Value, to: &str) -> OffsetDateTime {
    let timeline = request["timeline"].as_array().expect("timeline");
    let step = timeline
        .iter()
        .rev()
        .find(|t| t["to"] == to)
        .unwrap_or_else(|| panic!("no transition to {to}: {request:#}"));
    instant(&step["at"])
}

fn revision(ip: &str) -> Value {
    json!({
        "name": "jeda.kalbarprov.go.id",
        "records": [{ "type": "A", "value": ip }],
        "purpose": "Portal layanan publik",
        "letter_number": "800/124/DISDIK/2026",
        "letter_date": "2026-01-05",
    })
}

async fn due_time_counts_the_office_working_hours() {
    let site = Site::new();
    let pd = site.pd("DISDIK");
    let dns = site.start();
    let id = dns
        .file(
            &pd,
            "jam.kalbarprov.go.id",
            json!([{ "type": "A", "value": "203.0.113.40" }]),
        )
        .await;
    let request = dns.get(&format!("/api/v1/requests/{id}"), &pd).await.body;
    let submitted = instant(&request["submitted_at"]);
    let expected = WorkCalendar::builtin().standard_deadline(submitted);
    assert_eq!(instant(&request["due_at"]), expected.at, "{request:#}");
    assert_eq!(request["due_uncertain"], expected.uncertain, "{request:#}");
    // 3 days of 07.30–16.00 is 25 h 30 of working time, whenever filed.
    let calendar = WorkCalendar::builtin();
    assert_eq!(
        calendar.working_time(submitted, expected.at),
        Duration::from_secs(25 * 3600 + 30 * 60)
    );
    // The list carries the flag too.
    let list = dns.get("/api/v1/requests", &pd).await.body;
    assert_eq!(
        list["items"][0]["due_uncertain"], expected.uncertain,
        "{list:#}"
    );
}

async fn a_revision_pause_moves_the_due_time_by_the_working_time_waited() {
    let site = Site::new();
    // Working hours over (almost) the whole day, so that the pause below
    // holds working time whenever the test runs on a working day; on a
    // weekend or holiday the relation still holds, with nothing to add.
    site.write_config(
        "[sla]\nworking_hours_start = \"00:00\"\nworking_hours_end = \"23:59\"\nworking_days = 2\n",
    );
    let calendar = WorkCalendar::builtin()
        .with_hours(WorkingHours::new(time!(00:00), time!(23:59)).expect("hours"))
        .with_standard_days(2);
    let pd = site.pd("DISDIK");
    let reviewer = site.staff("reviewer1", "reviewer");
    let dns = site.start();
    let id = dns
        .file(
            &pd,
            "jeda.kalbarprov.go.id",
            json!([{ "type": "A", "value": "203.0.113.41" }]),
        )
        .await;
    let path = format!("/api/v1/requests/{id}");
    let filed = dns.get(&path, &pd).await.body;
    let mut due = instant(&filed["due_at"]);
    let mut uncertain = filed["due_uncertain"].as_bool().expect("a boolean");
    let first = calendar.standard_deadline(instant(&filed["submitted_at"]));
    assert_eq!((due, uncertain), (first.at, first.uncertain), "{filed:#}");

    // Two rounds of revision: each moves the due time by its own pause.
    for (round, ip) in [(1, "203.0.113.42"), (2, "203.0.113.43")] {
        let asked = dns
            .post(
                &format!("{path}/request-revision"),
                &reviewer,
                json!({ "note": "Lengkapi alamat IPv4" }),
            )
            .await;
        assert_eq!(asked.status, 200, "{:?}", asked.body);
        assert_eq!(asked.body["sla"], "paused", "{:#}", asked.body);
        assert_eq!(instant(&asked.body["due_at"]), due, "asking moves nothing");
        // The agency takes a moment: a pause worth measuring.
        tokio::time::sleep(Duration::from_millis(150 * round)).await;
        let revised = dns.call("PUT", &path, Some(&pd), Some(revision(ip))).await;
        assert_eq!(revised.status, 200, "{:?}", revised.body);
        let r = &revised.body;
        assert_eq!(r["state"], "submitted", "{r:#}");

        let paused_from = last_transition_to(r, "revision_requested");
        let paused_to = last_transition_to(r, "submitted");
        assert!(paused_from < paused_to, "{r:#}");
        let waited = calendar.measure_working_time(paused_from, paused_to);
        let moved = calendar.add_working_time(due, waited.time);
        let new_due = instant(&r["due_at"]);
        assert_eq!(new_due, moved.at, "round {round}: {r:#}");
        // Exactly the pause's working time lies between the two due times.
        assert_eq!(calendar.working_time(due, new_due), waited.time);
        if !waited.time.is_zero() {
            assert!(new_due > due, "round {round}");
        }
        uncertain |= waited.uncertain || moved.uncertain;
        assert_eq!(r["due_uncertain"], uncertain, "{r:#}");
        // What the reports will count: the office's own time, pauses
        // excluded, from filing to the due time is the standard.
        let submitted = instant(&r["submitted_at"]);
        let pauses: Vec<(OffsetDateTime, OffsetDateTime)> = pauses_of(r);
        assert_eq!(pauses.len(), round as usize);
        assert_eq!(
            calendar.working_time_excluding(submitted, new_due, &pauses),
            calendar.hours().day_length() * 2,
            "{r:#}"
        );
        due = new_due;
    }
    // The detail read back later says the same.
    let read = dns.get(&path, &reviewer).await.body;
    assert_eq!(instant(&read["due_at"]), due);
    // The last resubmission's audit entry carries the due time it set.
    let auditor = site.staff("auditor", "netadmin");
    let story = dns.audit_story(&auditor, "jeda.kalbarprov.go.id").await;
    let revised: Vec<&Value> = story
        .iter()
        .filter(|e| e["action"] == "request.revised")
        .collect();
    assert_eq!(revised.len(), 2, "{story:#?}");
    let due_ms = i64::try_from(due.unix_timestamp_nanos() / 1_000_000).expect("ms");
    assert_eq!(revised[1]["detail"]["due_at"], due_ms, "{:#}", revised[1]);
}

/// The revision pauses of a request's timeline: from each transition to
/// `revision_requested` to the next one out of it.
fn pauses_of(request: &Value) -> Vec<(OffsetDateTime, OffsetDateTime)> {
    let mut pauses = Vec::new();
    let mut open = None;
    for step in request["timeline"].as_array().expect("timeline") {
        if step["to"] == "revision_requested" {
            open = Some(instant(&step["at"]));
        } else if let Some(start) = open.take() {
            pauses.push((start, instant(&step["at"])));
        }
    }
    pauses
}

async fn working_hours_that_end_before_they_start_are_refused() {
    let site = Site::new();
    site.write_config("[sla]\nworking_hours_start = \"16:00\"\nworking_hours_end = \"07:30\"\n");
    let out = site.cli_output(&["holiday", "list"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sla.working_hours_end"), "{stderr}");
    assert!(stderr.contains("must start before they end"), "{stderr}");
}
