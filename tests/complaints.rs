//! Complaints (pengaduan) through the running binary: a complaint filed
//! without signing in gets a tracking code, is classified with the
//! standard's deadline, answered and resolved, and its complainant reads
//! the answer by code (and nothing else: no other complaint, no internal
//! note, no staff name); PDs see their own agency's only; staff record
//! complaints from the other channels; every step is audited without the
//! complainant's personal data; and the public web form and status page
//! work for a visitor without a session.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use api::calendar::WorkCalendar;
use api::model::{ComplaintCategory, ComplaintDeadlines};
use api::service::complaints::due_for;
use common::web::WebSession;
use common::{Answer, Instance, Site};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

common::on_both_databases!(
    a_public_complaint_is_classified_answered_and_its_complainant_reads_the_answer,
    codes_open_only_their_own_complaint_and_guessing_them_is_throttled,
    pds_file_for_their_agency_and_see_only_its_complaints,
    staff_record_a_whatsapp_complaint_with_the_standards_deadlines,
    a_visitor_files_through_the_web_form_and_follows_it_on_the_status_page,
);

const PW: &str = "sungai-kapuas-2026";

/// What the complainant writes about themselves and their problem: none
/// of it may reach the audit log or the status page.
const NAME: &str = "Siti Rahma";
const CONTACT: &str = "0812-5555-0101";
const DESCRIPTION: &str = "Situs sekolah tidak bisa dibuka sejak kemarin";
/// Staff's internal note: never on the status page or in the log.
const NOTE: &str = "Sertifikat TLS server sekolah kedaluwarsa";
const RESPONSE: &str = "Terima kasih, kami sedang memperbarui sertifikat situs tersebut.";
const RESOLUTION: &str = "Sertifikat diperbarui; situs dapat dibuka kembali.";

fn time_of(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().unwrap(), &Rfc3339).unwrap()
}

async fn file_public(dnsdesk: &Instance, body: Value) -> Answer {
    dnsdesk
        .call("POST", "/api/v1/complaints", None, Some(body))
        .await
}

async fn public_view(dnsdesk: &Instance, code: &str) -> Answer {
    dnsdesk
        .call("GET", &format!("/api/v1/complaints/{code}"), None, None)
        .await
}

async fn a_public_complaint_is_classified_answered_and_its_complainant_reads_the_answer() {
    let site = Site::new();
    let reviewer = site.staff("rina", "reviewer");
    let auditor = site.staff("nadia", "netadmin");
    let dnsdesk = site.start();

    let filed = file_public(
        &dnsdesk,
        json!({
            "name": NAME,
            "contact": CONTACT,
            "request_reference": "DNS/2026/000007",
            "description": DESCRIPTION,
        }),
    )
    .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    assert_eq!(filed.body["state"], "received");
    let code = filed.body["tracking_code"].as_str().unwrap().to_owned();
    let id = filed.body["id"].as_i64().unwrap();
    assert!(code.starts_with("ADU-") && code.len() == 13, "{code}");

    // The complainant sees it received, not yet classified.
    let view = public_view(&dnsdesk, &code).await;
    assert_eq!(view.status, 200, "{:?}", view.body);
    assert_eq!(view.body["state"], "received");
    assert_eq!(view.body["due_at"], Value::Null);
    // Typed as people type it, the code still works.
    let typed = code.to_lowercase().replace('-', " ");
    assert_eq!(public_view(&dnsdesk, &typed).await.status, 200);

    // Staff classify it as light: due 5 working days of the office's
    // working time after it was received.
    let classified = dnsdesk
        .post(
            &format!("/api/v1/complaints/{id}/classify"),
            &reviewer,
            json!({"category": "ringan"}),
        )
        .await;
    assert_eq!(classified.status, 200, "{:?}", classified.body);
    assert_eq!(classified.body["state"], "classified");
    let detail = dnsdesk
        .get(&format!("/api/v1/complaints/{id}/detail"), &reviewer)
        .await;
    let received = time_of(&detail.body["complaint"]["received_at"]);
    let expected = due_for(
        &WorkCalendar::builtin(),
        &ComplaintDeadlines::default(),
        ComplaintCategory::Ringan,
        received,
    );
    assert_eq!(time_of(&classified.body["due_at"]), expected.at);
    assert!(time_of(&classified.body["due_at"]) > received);

    // Assigned, noted internally, answered.
    let assigned = dnsdesk
        .post(
            &format!("/api/v1/complaints/{id}/assign"),
            &reviewer,
            json!({"assignee": "rina"}),
        )
        .await;
    assert_eq!(assigned.status, 200, "{:?}", assigned.body);
    let noted = dnsdesk
        .post(
            &format!("/api/v1/complaints/{id}/notes"),
            &reviewer,
            json!({"body": NOTE}),
        )
        .await;
    assert_eq!(noted.status, 201, "{:?}", noted.body);
    let answered = dnsdesk
        .post(
            &format!("/api/v1/complaints/{id}/responses"),
            &reviewer,
            json!({"body": RESPONSE}),
        )
        .await;
    assert_eq!(answered.status, 201, "{:?}", answered.body);
    assert_eq!(answered.body["state"], "answered");

    // The complainant sees the answer and the deadline, and nothing of
    // the office's inside or of themselves.
    let view = public_view(&dnsdesk, &code).await;
    assert_eq!(view.status, 200);
    assert_eq!(view.body["state"], "answered");
    assert_eq!(view.body["category"], "ringan");
    assert_eq!(time_of(&view.body["due_at"]), expected.at);
    assert_eq!(view.body["responses"][0]["body"], RESPONSE);
    let text = view.body.to_string();
    for hidden in [NOTE, "rina", NAME, CONTACT, DESCRIPTION] {
        assert!(!text.contains(hidden), "{hidden} in {text}");
    }
    // Staff see the note.
    let detail = dnsdesk
        .get(&format!("/api/v1/complaints/{id}/detail"), &reviewer)
        .await;
    assert_eq!(detail.body["notes"][0]["body"], NOTE);
    assert_eq!(detail.body["assignee"], "rina");

    let resolved = dnsdesk
        .post(
            &format!("/api/v1/complaints/{id}/resolve"),
            &reviewer,
            json!({"resolution": RESOLUTION}),
        )
        .await;
    assert_eq!(resolved.status, 200, "{:?}", resolved.body);
    let view = public_view(&dnsdesk, &code).await;
    assert_eq!(view.body["state"], "resolved");
    assert_eq!(view.body["resolution"], RESOLUTION);
    // Resolved is final: no further answer.
    let late = dnsdesk
        .post(
            &format!("/api/v1/complaints/{id}/responses"),
            &reviewer,
            json!({"body": "lagi"}),
        )
        .await;
    assert_eq!((late.status, late.code()), (409, "invalid_state"));

    // Every step is on record, by id and channel, without what the
    // complainant wrote or the office's words.
    let audit = dnsdesk
        .get("/api/v1/audit?action=complaint&per_page=500", &auditor)
        .await;
    assert_eq!(audit.status, 200, "{:?}", audit.body);
    let entries: Vec<&Value> = audit.body["items"].as_array().unwrap().iter().collect();
    assert!(
        entries
            .iter()
            .all(|e| e["action"].as_str().unwrap().starts_with("complaint.")),
        "{entries:?}"
    );
    let mut actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    actions.reverse();
    assert_eq!(
        actions,
        [
            "complaint.filed",
            "complaint.classified",
            "complaint.assigned",
            "complaint.noted",
            "complaint.answered",
            "complaint.resolved",
        ]
    );
    assert!(entries.iter().all(|e| e["detail"]["complaint"] == id));
    let text = audit.body.to_string();
    assert!(text.contains("complaint.filed"));
    for private in [
        NAME,
        CONTACT,
        DESCRIPTION,
        NOTE,
        RESPONSE,
        RESOLUTION,
        &code,
    ] {
        assert!(!text.contains(private), "{private} in the audit log");
    }
}

async fn codes_open_only_their_own_complaint_and_guessing_them_is_throttled() {
    let site = Site::new();
    let dnsdesk = site.start();
    let body = |name: &str| json!({"name": name, "contact": "warga@example.id", "description": "Halaman lambat"});
    let mine = file_public(&dnsdesk, body("A")).await;
    let theirs = file_public(&dnsdesk, body("B")).await;
    assert_eq!((mine.status, theirs.status), (201, 201));
    let mine_code = mine.body["tracking_code"].as_str().unwrap();
    let theirs_code = theirs.body["tracking_code"].as_str().unwrap();
    assert_ne!(mine_code, theirs_code);
    let view = public_view(&dnsdesk, mine_code).await;
    assert_eq!(view.body["tracking_code"], mine_code);

    // Unknown and malformed codes alike are "not found".
    for other in ["ADU-2222-2222", "ADU-0000-0000", "hello", "1"] {
        let answer = public_view(&dnsdesk, other).await;
        assert_eq!(
            (answer.status, answer.code()),
            (404, "not_found"),
            "{other}"
        );
    }
    // A client that keeps guessing is slowed down (10 lookups, then 10 a
    // minute), found codes included.
    let mut refused = None;
    for i in 0..20 {
        let answer = public_view(&dnsdesk, &format!("ADU-2222-{:04}", 2222 + i)).await;
        if answer.status == 429 {
            refused = Some(i);
            break;
        }
        assert_eq!(answer.status, 404);
    }
    assert!(refused.is_some(), "guessing was never throttled");
    assert_eq!(public_view(&dnsdesk, mine_code).await.status, 429);

    // Filing without signing in is limited too (spam): 5 at once.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(file_public(&dnsdesk, body("C")).await.status);
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429], "2 were already filed");
    // Field errors name the field.
    let site2 = Site::new();
    let fresh = site2.start();
    for (input, field) in [
        (
            json!({"name": "A", "contact": "bukan kontak", "description": "x"}),
            "contact",
        ),
        (
            json!({"name": "", "contact": "warga@example.id", "description": "x"}),
            "name",
        ),
        (
            json!({"name": "A", "contact": "warga@example.id"}),
            "description",
        ),
        (
            json!({"name": "A", "contact": "warga@example.id", "description": "x", "channel": "whatsapp"}),
            "channel",
        ),
    ] {
        let answer = file_public(&fresh, input).await;
        assert_eq!(
            (answer.status, answer.field()),
            (422, field),
            "{:?}",
            answer.body
        );
    }
}

async fn pds_file_for_their_agency_and_see_only_its_complaints() {
    let site = Site::new();
    let disdik = site.pd("DISDIK");
    let dinkes = site.pd("DINKES");
    let reviewer = site.staff("rina", "reviewer");
    let dnsdesk = site.start();

    let filed = dnsdesk
        .post(
            "/api/v1/complaints",
            &disdik,
            json!({"name": "Operator Disdik", "contact": "it@disdik.kalbarprov.go.id",
                   "description": "Permohonan kami belum diproses"}),
        )
        .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    let id = filed.body["id"].as_i64().unwrap();
    dnsdesk
        .post(
            &format!("/api/v1/complaints/{id}/notes"),
            &reviewer,
            json!({"body": NOTE}),
        )
        .await;
    dnsdesk
        .post(
            &format!("/api/v1/complaints/{id}/assign"),
            &reviewer,
            json!({"assignee": "rina"}),
        )
        .await;

    let own = dnsdesk.get("/api/v1/complaints", &disdik).await;
    assert_eq!(own.body["total"], 1, "{:?}", own.body);
    assert_eq!(own.body["items"][0]["channel"], "pd_portal");
    let detail = dnsdesk
        .get(&format!("/api/v1/complaints/{id}/detail"), &disdik)
        .await;
    assert_eq!(detail.status, 200);
    assert_eq!(detail.body["agency"]["code"], "DISDIK");
    assert_eq!(detail.body["notes"], json!([]));
    assert_eq!(detail.body["assignee"], Value::Null);
    assert!(!detail.body.to_string().contains(NOTE));

    // Another agency sees nothing of it, and cannot act on it.
    let other = dnsdesk.get("/api/v1/complaints", &dinkes).await;
    assert_eq!(other.body["total"], 0, "{:?}", other.body);
    let peek = dnsdesk
        .get(&format!("/api/v1/complaints/{id}/detail"), &dinkes)
        .await;
    assert_eq!(peek.status, 404);
    let act = dnsdesk
        .post(
            &format!("/api/v1/complaints/{id}/classify"),
            &dinkes,
            json!({"category": "ringan"}),
        )
        .await;
    assert_eq!(act.status, 403);
    // Staff see it, with the agency on the audit entry.
    let all = dnsdesk.get("/api/v1/complaints", &reviewer).await;
    assert_eq!(all.body["total"], 1);
}

async fn staff_record_a_whatsapp_complaint_with_the_standards_deadlines() {
    let site = Site::new();
    let officer = site.staff("rina", "reviewer");
    let dnsdesk = site.start();

    // Received on WhatsApp on Tuesday 17 March 2026, 10.00 WIB, the day
    // before Nyepi, the Idul Fitri collective leave and the holidays that
    // take 18-24 March off.
    let recorded = dnsdesk
        .post(
            "/api/v1/complaints",
            &officer,
            json!({"name": "Pak Hendra", "contact": "WhatsApp 0813-4567-8900",
                   "description": "Email dinas tidak bisa menerima surat",
                   "channel": "whatsapp", "received_at": "2026-03-17T10:00"}),
        )
        .await;
    assert_eq!(recorded.status, 201, "{:?}", recorded.body);
    let id = recorded.body["id"].as_i64().unwrap();
    let detail = dnsdesk
        .get(&format!("/api/v1/complaints/{id}/detail"), &officer)
        .await;
    assert_eq!(detail.body["complaint"]["channel"], "whatsapp");
    assert_eq!(
        detail.body["complaint"]["received_at"],
        "2026-03-17T03:00:00Z"
    );
    assert_eq!(detail.body["filed_by"], "rina");

    // Each category, counted from receipt in working days.
    for (category, due) in [
        ("ringan", "2026-03-31T03:00:00Z"),
        ("normatif", "2026-03-31T03:00:00Z"),
        ("tidak_berkadar_pengawasan", "2026-04-14T03:00:00Z"),
        ("berkadar_pengawasan", "2026-06-26T03:00:00Z"),
    ] {
        let classified = dnsdesk
            .post(
                &format!("/api/v1/complaints/{id}/classify"),
                &officer,
                json!({ "category": category }),
            )
            .await;
        assert_eq!(classified.status, 200, "{:?}", classified.body);
        assert_eq!(classified.body["due_at"], due, "{category}");
        assert_eq!(classified.body["due_uncertain"], false);
    }
    // Long past its deadline now: it leads the overdue list.
    let overdue = dnsdesk
        .get("/api/v1/complaints?overdue=true", &officer)
        .await;
    assert_eq!(overdue.body["items"][0]["id"], id, "{:?}", overdue.body);
    assert_eq!(overdue.body["items"][0]["sla"], "overdue");

    // The public channels are not for recording; the time is checked.
    for (input, field) in [
        (
            json!({"name": "A", "contact": "x", "description": "d", "channel": "web_form"}),
            "channel",
        ),
        (
            json!({"name": "A", "contact": "x", "description": "d"}),
            "channel",
        ),
        (
            json!({"name": "A", "contact": "x", "description": "d", "channel": "telepon", "received_at": "kemarin"}),
            "received_at",
        ),
        (
            json!({"name": "A", "contact": "x", "description": "d", "channel": "telepon", "received_at": "2099-01-01T10:00"}),
            "received_at",
        ),
    ] {
        let answer = dnsdesk.post("/api/v1/complaints", &officer, input).await;
        assert_eq!(
            (answer.status, answer.field()),
            (422, field),
            "{:?}",
            answer.body
        );
    }
}

/// The code on the confirmation page.
fn code_in(body: &str) -> String {
    let at = body
        .find("id=\"tracking-code\">")
        .expect("the code is shown")
        + 19;
    body[at..at + 13].to_owned()
}

async fn a_visitor_files_through_the_web_form_and_follows_it_on_the_status_page() {
    let site = Site::new();
    site.web_user("rina", "reviewer", None, PW);
    let dnsdesk = site.start();
    let base = dnsdesk.url("");

    let mut visitor = WebSession::new(&base);
    let login = visitor.get("/login").await;
    assert!(
        login.body.contains("href=\"/complaints/new\""),
        "a public link"
    );
    let form = visitor.get("/complaints/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("Ajukan Pengaduan"));
    let csrf = form.csrf();
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", NAME),
        ("contact", CONTACT),
        ("request_reference", ""),
        ("description", DESCRIPTION),
    ];
    // Without the form's token, nothing is filed.
    let mut forger = WebSession::new(&base);
    let forged = forger.post("/complaints", &fields).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // A field error comes back on the form, with what was typed.
    let mut bad = fields;
    bad[2] = ("contact", "tidak ada");
    let again = visitor.post("/complaints", &bad).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.body.contains("contact"), "{}", again.body);
    assert!(again.body.contains(DESCRIPTION));

    let filed = visitor.post("/complaints", &fields).await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    let code = code_in(&filed.body);
    assert!(code.starts_with("ADU-"), "{code}");
    assert!(filed.body.contains("Kode pelacakan"));
    // The token is spent: a reload files nothing more.
    let reload = visitor.post("/complaints", &fields).await;
    assert_eq!(reload.status, StatusCode::FORBIDDEN);

    let status = visitor
        .get(&format!("/complaints/status?code={code}"))
        .await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.body);
    assert!(status.body.contains(&code));
    assert!(status.body.contains("Diterima"));
    assert!(status.body.contains("Belum diklasifikasikan"));
    let unknown = visitor.get("/complaints/status?code=ADU-2222-2222").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // A reviewer finds it in the list, classifies and answers it on its
    // page.
    let mut officer = WebSession::new(&base);
    officer.login("rina", PW).await;
    let list = officer.get("/complaints").await;
    assert!(list.body.contains(&code), "{}", list.body);
    let href = {
        let at = list.body.find(&format!("\">{code}</a>")).unwrap();
        let start = list.body[..at].rfind("href=\"").unwrap() + 6;
        list.body[start..at].to_owned()
    };
    let page = officer.get(&href).await;
    assert!(page.body.contains(NAME) && page.body.contains(CONTACT));
    let csrf = page.csrf();
    let classified = officer
        .post(
            &format!("{href}/classify"),
            &[("csrf", &csrf), ("category", "ringan")],
        )
        .await;
    assert_eq!(
        classified.status,
        StatusCode::SEE_OTHER,
        "{}",
        classified.body
    );
    let noted = officer
        .post(&format!("{href}/notes"), &[("csrf", &csrf), ("body", NOTE)])
        .await;
    assert_eq!(noted.status, StatusCode::SEE_OTHER);
    let answered = officer
        .post(
            &format!("{href}/responses"),
            &[("csrf", &csrf), ("body", RESPONSE)],
        )
        .await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER);
    let forged = officer
        .post(
            &format!("{href}/resolve"),
            &[("csrf", "x"), ("resolution", "x")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let page = officer.get(&href).await;
    assert!(page.body.contains(NOTE) && page.body.contains("Ditanggapi"));

    // The visitor sees the answer and the deadline, not the note.
    let status = visitor
        .get(&format!("/complaints/status?code={code}"))
        .await;
    assert!(status.body.contains("Ringan"), "{}", status.body);
    assert!(status.body.contains("Tenggat penyelesaian"));
    assert!(status.body.contains(RESPONSE));
    assert!(!status.body.contains(NOTE));
    assert!(!status.body.contains(NAME));
}
