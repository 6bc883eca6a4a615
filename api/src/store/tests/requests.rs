//! Requests: filing under a reference, the one open request per name,
//! state changes checked against state and version (also when they race),
//! letters and revisions, lists, and corrupt stored values.

use std::sync::Arc;

use time::macros::{date, datetime};

use super::fixture::Fixture;
use super::{LEASE, TestDb, agency, now, record};
use crate::model::{
    Actor, Letter, RequestId, RequestKind, RequestState, SubdomainRequest, Transition,
};
use crate::store::{
    Constraint, JobEffect, JobFence, RequestFilter, RequestOrder, RequestRevision, StateChange,
    StoreError,
};

on_both_databases! {
    inserted_request_reads_back_every_field,
    references_count_per_year,
    a_name_is_held_by_one_open_request,
    exactly_the_open_states_hold_the_name,
    transitions_check_state_and_version,
    concurrent_approvals_make_one_job(flavor = "multi_thread", worker_threads = 2),
    concurrent_fenced_changes_wait_their_turn(flavor = "multi_thread", worker_threads = 2),
    letters_and_revisions_follow_the_state,
    lists_filter_and_page,
    corrupt_values_are_reported_with_their_column,
}

async fn inserted_request_reads_back_every_field(db: TestDb) {
    let f = Fixture::new(db).await;
    let new = f.new_request("ppdb.kalbarprov.go.id");
    let inserted = f.store.insert_request(new.clone()).await.expect("insert");
    let expected = SubdomainRequest {
        id: inserted.id,
        reference: "DNS/2026/000001".to_owned(),
        agency_id: f.agency,
        kind: RequestKind::Create,
        name: new.name,
        records: new.records,
        previous_records: Vec::new(),
        purpose: new.purpose,
        letter_number: new.letter_number,
        letter_date: new.letter_date,
        letter: None,
        confirmation: None,
        state: RequestState::Submitted,
        state_reason: None,
        version: 1,
        submitted_by: f.pd,
        submitted_at: new.submitted_at,
        due_at: new.due_at,
        due_uncertain: new.due_uncertain,
        approved_digest: None,
        serial_after: None,
        verify_deadline: None,
        updated_at: new.submitted_at,
    };
    assert_eq!(inserted, expected);
    assert_eq!(
        f.store.request(inserted.id).await.expect("read"),
        Some(expected)
    );
    assert_eq!(
        f.store.transitions(inserted.id).await.expect("transitions"),
        vec![Transition {
            from: None,
            to: RequestState::Submitted,
            actor: Actor::User(f.pd),
            actor_name: Some("operator".to_owned()),
            note: None,
            at: new.submitted_at,
        }]
    );
    assert_eq!(f.store.request(RequestId(999)).await.expect("read"), None);
}

async fn references_count_per_year(db: TestDb) {
    let f = Fixture::new(db).await;
    let mut references = Vec::new();
    for (name, year) in [
        ("a.kalbarprov.go.id", 2026),
        ("b.kalbarprov.go.id", 2026),
        ("c.kalbarprov.go.id", 2027),
    ] {
        let mut new = f.new_request(name);
        new.reference_year = year;
        references.push(f.store.insert_request(new).await.expect("insert").reference);
    }
    assert_eq!(
        references,
        ["DNS/2026/000001", "DNS/2026/000002", "DNS/2027/000001"]
    );
}

async fn a_name_is_held_by_one_open_request(db: TestDb) {
    let f = Fixture::new(db).await;
    let first = f.submit("ppdb.kalbarprov.go.id").await;
    let err = f
        .store
        .insert_request(f.new_request("ppdb.kalbarprov.go.id"))
        .await;
    assert!(
        matches!(
            err,
            Err(StoreError::Conflict(Constraint::OpenRequestForName))
        ),
        "{err:?}"
    );
    // The refused insert did not use up a reference.
    assert_eq!(
        f.submit("other.kalbarprov.go.id").await.reference,
        "DNS/2026/000002"
    );

    let reject = StateChange::new(
        first.id,
        RequestState::Submitted,
        RequestState::Rejected,
        Actor::User(f.reviewer),
    );
    f.store.transition(reject).await.expect("reject");
    let second = f.submit("ppdb.kalbarprov.go.id").await;
    let open = f
        .store
        .open_request_for_name("ppdb.kalbarprov.go.id")
        .await
        .expect("open");
    assert_eq!(open.map(|r| r.id), Some(second.id));
}

/// The partial unique index's literal state list matches
/// `RequestState::OPEN`, state by state.
async fn exactly_the_open_states_hold_the_name(db: TestDb) {
    let f = Fixture::new(db).await;
    for state in RequestState::ALL {
        let name = format!("{}.kalbarprov.go.id", state.as_str().replace('_', "-"));
        let first = f.submit(&name).await;
        f.force_state(first.id, *state).await;
        let second = f.store.insert_request(f.new_request(&name)).await;
        if state.is_open() {
            assert!(
                matches!(
                    second,
                    Err(StoreError::Conflict(Constraint::OpenRequestForName))
                ),
                "{state}"
            );
        } else {
            assert!(second.is_ok(), "{state}: {second:?}");
        }
    }
}

async fn transitions_check_state_and_version(db: TestDb) {
    let f = Fixture::new(db).await;
    let request = f.submit("ppdb.kalbarprov.go.id").await;

    let wrong_state = StateChange::new(
        request.id,
        RequestState::Approved,
        RequestState::Provisioning,
        Actor::System,
    );
    let err = f.store.transition(wrong_state).await;
    assert!(
        matches!(
            err,
            Err(StoreError::StateMismatch {
                expected: RequestState::Approved,
                actual: RequestState::Submitted
            })
        ),
        "{err:?}"
    );

    let mut stale = StateChange::new(
        request.id,
        RequestState::Submitted,
        RequestState::RevisionRequested,
        Actor::User(f.reviewer),
    );
    stale.expected_version = Some(7);
    let err = f.store.transition(stale.clone()).await;
    assert!(
        matches!(
            err,
            Err(StoreError::VersionMismatch {
                expected: 7,
                actual: 1
            })
        ),
        "{err:?}"
    );

    let missing = StateChange::new(
        RequestId(999),
        RequestState::Submitted,
        RequestState::Rejected,
        Actor::System,
    );
    assert!(matches!(
        f.store.transition(missing).await,
        Err(StoreError::NotFound("request"))
    ));

    stale.expected_version = Some(1);
    stale.reason = Some("Lampirkan surat yang ditandatangani".to_owned());
    stale.note = Some("letter unsigned".to_owned());
    let changed = f.store.transition(stale).await.expect("request revision");
    assert_eq!(changed.state, RequestState::RevisionRequested);
    assert_eq!(changed.version, 2);
    assert_eq!(
        changed.state_reason.as_deref(),
        Some("Lampirkan surat yang ditandatangani")
    );
    let history = f.store.transitions(request.id).await.expect("transitions");
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].from, Some(RequestState::Submitted));
    assert_eq!(history[1].actor_name.as_deref(), Some("reviewer"));
    assert_eq!(history[1].note.as_deref(), Some("letter unsigned"));
}

async fn concurrent_approvals_make_one_job(db: TestDb) {
    let f = Arc::new(Fixture::new(db).await);
    let id = f.submit("ppdb.kalbarprov.go.id").await.id;
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let f = Arc::clone(&f);
            tokio::spawn(async move { f.approve(id).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results.iter().any(|r| matches!(
        r,
        Err(StoreError::StateMismatch {
            expected: RequestState::Submitted,
            actual: RequestState::Approved
        })
    )));
    assert_eq!(f.count("SELECT COUNT(*) FROM jobs").await, 1);
    assert_eq!(f.count("SELECT COUNT(*) FROM request_transitions").await, 2);
}

/// Changes that read (the fence) before they write: without `BEGIN
/// IMMEDIATE` two of them would deadlock on SQLite's lock upgrade and one
/// fail with SQLITE_BUSY instead of waiting its turn; on PostgreSQL they
/// queue on the write lock.
async fn concurrent_fenced_changes_wait_their_turn(db: TestDb) {
    let f = Arc::new(Fixture::new(db).await);
    let id = f.submit("ppdb.kalbarprov.go.id").await.id;
    f.approve(id).await.expect("approve");
    let job = f
        .store
        .claim_job(now(), LEASE)
        .await
        .expect("claim")
        .expect("a job");
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let store = f.store.clone();
            let mut change = StateChange::new(
                id,
                RequestState::Approved,
                RequestState::Provisioning,
                Actor::System,
            );
            change.job = JobEffect::Continue(JobFence::from(&job));
            tokio::spawn(async move { store.transition(change).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StoreError::StateMismatch { .. }))),
        "{results:?}"
    );
}

async fn letters_and_revisions_follow_the_state(db: TestDb) {
    let f = Fixture::new(db).await;
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    let letter = Letter {
        sha256: "ab".repeat(32),
        size: 48_213,
    };
    let with_letter = f
        .store
        .attach_letter(request.id, letter.clone(), Actor::System)
        .await
        .expect("attach");
    assert_eq!(
        (with_letter.letter.as_ref(), with_letter.version),
        (Some(&letter), 2)
    );

    let revision = RequestRevision {
        records: vec![record("CNAME", "web.example.test.")],
        previous_records: Vec::new(),
        purpose: "Portal PPDB 2026".to_owned(),
        letter_number: "800/124/DISDIK".to_owned(),
        letter_date: date!(2026 - 03 - 03),
        resubmitted_at: datetime!(2026-03-03 10:00 UTC),
        paused: std::time::Duration::from_secs(3600),
        due_at: datetime!(2026-03-05 10:15:00.250 UTC),
        due_uncertain: true,
    };
    let err = f
        .store
        .revise_request(request.id, revision.clone(), Actor::User(f.pd))
        .await;
    assert!(matches!(
        err,
        Err(StoreError::StateMismatch {
            expected: RequestState::RevisionRequested,
            ..
        })
    ));

    let ask = StateChange::new(
        request.id,
        RequestState::Submitted,
        RequestState::RevisionRequested,
        Actor::User(f.reviewer),
    );
    f.store.transition(ask).await.expect("ask for revision");
    let revised = f
        .store
        .revise_request(request.id, revision.clone(), Actor::User(f.pd))
        .await
        .expect("revise");
    assert_eq!(revised.state, RequestState::Submitted);
    assert_eq!(
        (revised.records, revised.purpose),
        (revision.records, revision.purpose)
    );
    assert_eq!(
        (revised.letter_number, revised.letter_date),
        (revision.letter_number, revision.letter_date)
    );
    assert_eq!((revised.letter, revised.version), (Some(letter.clone()), 4));
    // The due time moved by the pause, in the resubmission's transaction,
    // and the resubmission is dated when the pause was measured to.
    assert_eq!(
        (revised.due_at, revised.due_uncertain),
        (revision.due_at, true)
    );
    let history = f.store.transitions(request.id).await.expect("history");
    assert_eq!(history.len(), 3);
    assert_eq!(
        history.last().map(|t| (t.to, t.at)),
        Some((RequestState::Submitted, revision.resubmitted_at))
    );

    f.force_state(request.id, RequestState::Approved).await;
    let err = f
        .store
        .attach_letter(request.id, letter, Actor::System)
        .await;
    assert!(matches!(
        err,
        Err(StoreError::StateMismatch {
            expected: RequestState::Submitted,
            actual: RequestState::Approved
        })
    ));
}

async fn lists_filter_and_page(db: TestDb) {
    let f = Fixture::new(db).await;
    let other = agency(&*f.store, "dinkes").await;
    let mut ids = Vec::new();
    for name in [
        "a-1.kalbarprov.go.id",
        "a_1.kalbarprov.go.id",
        "b.kalbarprov.go.id",
        "c.kalbarprov.go.id",
    ] {
        ids.push(f.submit(name).await.id);
    }
    let mut theirs = f.new_request("dinkes.kalbarprov.go.id");
    theirs.agency_id = other;
    let theirs = f.store.insert_request(theirs).await.expect("insert");
    f.force_state(ids[2], RequestState::Rejected).await;

    let list = |filter: RequestFilter| {
        let store = f.store.clone();
        async move {
            let page = store.list_requests(&filter).await.expect("list");
            (
                page.items.into_iter().map(|r| r.id).collect::<Vec<_>>(),
                page.total.value(),
            )
        }
    };
    let all = RequestFilter {
        limit: 2,
        ..RequestFilter::default()
    };
    assert_eq!(list(all.clone()).await, (vec![theirs.id, ids[3]], 5));
    assert_eq!(
        list(RequestFilter {
            offset: 4,
            ..all.clone()
        })
        .await,
        (vec![ids[0]], 5)
    );
    let mine = RequestFilter {
        agency_id: Some(f.agency),
        limit: 10,
        ..RequestFilter::default()
    };
    assert_eq!(
        list(mine.clone()).await,
        (vec![ids[3], ids[2], ids[1], ids[0]], 4)
    );
    let rejected = RequestFilter {
        state: Some(RequestState::Rejected),
        ..mine.clone()
    };
    assert_eq!(list(rejected).await, (vec![ids[2]], 1));
    // `_` is a character, not a wildcard.
    let underscore = RequestFilter {
        name: Some("a_1".to_owned()),
        ..mine.clone()
    };
    assert_eq!(list(underscore).await, (vec![ids[1]], 1));
    let none = RequestFilter {
        agency_id: Some(other),
        name: Some("%".to_owned()),
        ..mine
    };
    assert_eq!(list(none).await, (vec![], 0));
    // The review queue: the one due first on top, then the first filed.
    f.db.execute(&format!(
        "UPDATE requests SET due_at = due_at - 1000 WHERE id = {}",
        ids[3].0
    ))
    .await
    .expect("due earlier");
    let queue = RequestFilter {
        state: Some(RequestState::Submitted),
        order: RequestOrder::DueFirst,
        limit: 10,
        ..RequestFilter::default()
    };
    assert_eq!(
        list(queue).await,
        (vec![ids[3], ids[0], ids[1], theirs.id], 4)
    );
}

async fn corrupt_values_are_reported_with_their_column(db: TestDb) {
    let f = Fixture::new(db).await;
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    f.db.execute(&format!(
        "UPDATE requests SET records = 'not json' WHERE id = {}",
        request.id.0
    ))
    .await
    .expect("corrupt");
    let err = f.store.request(request.id).await;
    assert!(
        matches!(
            err,
            Err(StoreError::Corrupt {
                column: "requests.records",
                ..
            })
        ),
        "{err:?}"
    );
}
