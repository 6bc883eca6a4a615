//! Complaints: filing under a code, the steps and the states they are
//! allowed from, the lists, and what the audit log keeps (and does not).

use std::sync::Arc;

use time::OffsetDateTime;
use time::macros::datetime;

use super::TestDb;
use crate::audit::{AuditActor, AuditEntry};
use crate::model::{
    AgencyId, ComplaintCategory, ComplaintChannel, ComplaintState, ComplaintStep, Role,
    TrackingCode, UserId,
};
use crate::store::{ComplaintFilter, NewAgency, NewComplaint, NewUser, Store, StoreError};

on_both_databases! {
    a_complaint_is_filed_under_a_code_and_found_by_it,
    steps_apply_only_from_the_states_the_diagram_allows,
    lists_filter_by_agency_state_and_deadline_open_and_nearest_first,
}

const RECEIVED: OffsetDateTime = datetime!(2026-03-17 03:00 UTC);

struct Fixture {
    store: Arc<dyn Store>,
    officer: UserId,
    agency: AgencyId,
    _db: TestDb,
}

impl Fixture {
    async fn new(db: TestDb) -> Self {
        let store = Arc::clone(&db.store);
        let console = AuditActor::Console("test".to_owned());
        let agency = store
            .create_agency(
                NewAgency {
                    code: "DISDIK".into(),
                    name: "Dinas Pendidikan".into(),
                    email: "it@disdik.kalbarprov.go.id".into(),
                },
                console.clone(),
            )
            .await
            .expect("agency")
            .id;
        let officer = store
            .create_user(
                NewUser {
                    username: "rina".into(),
                    role: Role::Reviewer,
                    agency_id: None,
                    password_hash: None,
                },
                console,
            )
            .await
            .expect("user")
            .id;
        Self {
            store,
            officer,
            agency,
            _db: db,
        }
    }

    async fn complaint_entries(&self) -> Vec<AuditEntry> {
        self.store
            .audit_range(0, 1000)
            .await
            .expect("audit")
            .into_iter()
            .filter(|e| e.action.starts_with("complaint."))
            .collect()
    }
}

fn public(description: &str) -> NewComplaint {
    NewComplaint {
        channel: ComplaintChannel::WebForm,
        complainant_name: "Siti Rahma".into(),
        contact: "0812-5555-0101".into(),
        request_reference: Some("DNS/2026/000007".into()),
        description: description.into(),
        agency_id: None,
        filed_by: None,
        received_at: RECEIVED,
    }
}

fn classify(category: ComplaintCategory, due_at: OffsetDateTime) -> ComplaintStep {
    ComplaintStep::Classify {
        category,
        due_at,
        due_uncertain: false,
    }
}

async fn a_complaint_is_filed_under_a_code_and_found_by_it(db: TestDb) {
    let f = Fixture::new(db).await;
    let filed = f
        .store
        .insert_complaint(public("Situs sekolah tidak bisa dibuka"))
        .await
        .expect("filed");
    assert_eq!(filed.state, ComplaintState::Received);
    assert_eq!(filed.received_at, RECEIVED);
    assert!(filed.recorded_at >= RECEIVED);
    assert_eq!((filed.category, filed.due_at), (None, None));
    let found = f
        .store
        .complaint_by_code(&filed.tracking_code)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found, filed);
    let other = TrackingCode::parse("ADU-2222-2222").expect("code");
    assert_eq!(f.store.complaint_by_code(&other).await.expect("read"), None);

    // Two complaints never share a code.
    let second = f
        .store
        .insert_complaint(public("Lagi"))
        .await
        .expect("filed");
    assert_ne!(second.tracking_code, filed.tracking_code);

    // The audit log names the complaint and its channel, by an anonymous
    // actor, and nothing the complainant wrote about themselves.
    let entries = f.complaint_entries().await;
    assert_eq!(entries.len(), 2);
    let first = &entries[0];
    assert_eq!(first.action, "complaint.filed");
    assert_eq!(first.actor, "anonymous");
    assert_eq!(first.detail["complaint"], filed.id.0);
    assert_eq!(first.detail["channel"], "web_form");
    let text = first.detail.to_string();
    for private in [
        "Siti",
        "0812",
        "sekolah",
        "DNS/2026",
        filed.tracking_code.as_str(),
    ] {
        assert!(!text.contains(private), "{private} in {text}");
    }
}

async fn steps_apply_only_from_the_states_the_diagram_allows(db: TestDb) {
    let f = Fixture::new(db).await;
    let c = f
        .store
        .insert_complaint(public("Lambat"))
        .await
        .expect("filed");
    let respond = ComplaintStep::Respond {
        body: "Sedang kami periksa".into(),
    };
    // No answer before the category (and so the deadline) is known.
    let early = f
        .store
        .complaint_step(c.id, respond.clone(), f.officer)
        .await;
    assert!(matches!(
        early,
        Err(StoreError::ComplaintStateMismatch {
            actual: ComplaintState::Received
        })
    ));
    let due = datetime!(2026-03-31 03:00 UTC);
    let c2 = f
        .store
        .complaint_step(c.id, classify(ComplaintCategory::Ringan, due), f.officer)
        .await
        .expect("classified");
    assert_eq!(c2.state, ComplaintState::Classified);
    assert_eq!(c2.category, Some(ComplaintCategory::Ringan));
    assert_eq!(c2.due_at, Some(due));
    assert!(c2.classified_at.is_some());

    let c3 = f
        .store
        .complaint_step(
            c.id,
            ComplaintStep::Assign {
                to: Some(f.officer),
            },
            f.officer,
        )
        .await
        .expect("assigned");
    assert_eq!(c3.assigned_to, Some(f.officer));
    f.store
        .complaint_step(
            c.id,
            ComplaintStep::Note {
                body: "Cek log server web sekolah".into(),
            },
            f.officer,
        )
        .await
        .expect("noted");
    let c4 = f
        .store
        .complaint_step(c.id, respond.clone(), f.officer)
        .await
        .expect("answered");
    assert_eq!(c4.state, ComplaintState::Answered);
    // Reclassified while open: the state stays, the deadline moves.
    let later = datetime!(2026-04-14 03:00 UTC);
    let c5 = f
        .store
        .complaint_step(
            c.id,
            classify(ComplaintCategory::TidakBerkadarPengawasan, later),
            f.officer,
        )
        .await
        .expect("reclassified");
    assert_eq!(c5.state, ComplaintState::Answered);
    assert_eq!(c5.due_at, Some(later));
    let done = f
        .store
        .complaint_step(
            c.id,
            ComplaintStep::Resolve {
                resolution: "Sertifikat diperbarui".into(),
            },
            f.officer,
        )
        .await
        .expect("resolved");
    assert_eq!(done.state, ComplaintState::Resolved);
    assert_eq!(done.resolution.as_deref(), Some("Sertifikat diperbarui"));
    assert!(done.resolved_at.is_some());
    // Resolved is final for everything but internal notes.
    assert!(matches!(
        f.store.complaint_step(c.id, respond, f.officer).await,
        Err(StoreError::ComplaintStateMismatch { .. })
    ));
    f.store
        .complaint_step(
            c.id,
            ComplaintStep::Note {
                body: "Arsip".into(),
            },
            f.officer,
        )
        .await
        .expect("a note after resolution");

    let notes = f.store.complaint_notes(c.id).await.expect("notes");
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0].author_name, "rina");
    assert_eq!(notes[0].body, "Cek log server web sekolah");
    let responses = f.store.complaint_responses(c.id).await.expect("responses");
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].body, "Sedang kami periksa");

    // Every step is on record, without the words of notes and responses.
    let entries = f.complaint_entries().await;
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "complaint.filed",
            "complaint.classified",
            "complaint.assigned",
            "complaint.noted",
            "complaint.answered",
            "complaint.classified",
            "complaint.resolved",
            "complaint.noted",
        ]
    );
    assert!(entries[1..].iter().all(|e| e.actor == "user:rina"));
    assert_eq!(entries[1].detail["category"], "ringan");
    assert_eq!(entries[1].detail["due_at"], 1_774_926_000_000_i64);
    assert_eq!(entries[2].detail["assigned_to"], "rina");
    assert_eq!(entries[5].detail["previous_category"], "ringan");
    // Resolved in our present, long after 14 April 2026.
    assert_eq!(entries[6].detail["within_deadline"], false);
    assert_eq!(entries[6].detail["state"], "resolved");
    let all = entries
        .iter()
        .map(|e| e.detail.to_string())
        .collect::<String>();
    for private in ["Cek log", "periksa", "Sertifikat", "Siti", "0812"] {
        assert!(!all.contains(private), "{private} in {all}");
    }
}

async fn lists_filter_by_agency_state_and_deadline_open_and_nearest_first(db: TestDb) {
    let f = Fixture::new(db).await;
    let mut from_pd = public("Dari PD");
    from_pd.channel = ComplaintChannel::PdPortal;
    from_pd.agency_id = Some(f.agency);
    let pd = f.store.insert_complaint(from_pd).await.expect("pd");
    let unclassified = f.store.insert_complaint(public("Baru")).await.expect("new");
    let far = f.store.insert_complaint(public("Jauh")).await.expect("far");
    let near = f
        .store
        .insert_complaint(public("Dekat"))
        .await
        .expect("near");
    let step = |id, due| {
        f.store
            .complaint_step(id, classify(ComplaintCategory::Normatif, due), f.officer)
    };
    step(pd.id, datetime!(2026-03-31 03:00 UTC))
        .await
        .expect("pd");
    step(far.id, datetime!(2026-06-01 03:00 UTC))
        .await
        .expect("far");
    step(near.id, datetime!(2026-03-20 03:00 UTC))
        .await
        .expect("near");
    f.store
        .complaint_step(
            near.id,
            ComplaintStep::Resolve {
                resolution: "Selesai".into(),
            },
            f.officer,
        )
        .await
        .expect("resolved");

    let list = |filter: ComplaintFilter| {
        let store = &f.store;
        async move {
            let page = store
                .list_complaints(&ComplaintFilter {
                    limit: 50,
                    ..filter
                })
                .await
                .expect("list");
            (
                page.total.value(),
                page.items.into_iter().map(|c| c.id).collect::<Vec<_>>(),
            )
        }
    };
    assert_eq!(
        list(ComplaintFilter::default()).await,
        (4, vec![unclassified.id, pd.id, far.id, near.id])
    );
    assert_eq!(
        list(ComplaintFilter {
            agency_id: Some(f.agency),
            ..ComplaintFilter::default()
        })
        .await,
        (1, vec![pd.id])
    );
    assert_eq!(
        list(ComplaintFilter {
            state: Some(ComplaintState::Classified),
            ..ComplaintFilter::default()
        })
        .await,
        (2, vec![pd.id, far.id])
    );
    // In April: the PD's complaint is overdue; the resolved one never is,
    // nor the one not yet classified.
    assert_eq!(
        list(ComplaintFilter {
            overdue_at: Some(datetime!(2026-04-01 03:00 UTC)),
            ..ComplaintFilter::default()
        })
        .await,
        (1, vec![pd.id])
    );
    let entries = f.complaint_entries().await;
    assert_eq!(
        entries[0].agency_id,
        Some(f.agency.0),
        "the PD's agency is on record"
    );
}
