//! Tests of the SQLite store against a real database file in a temporary
//! directory, with the production pragmas and migrations.

use std::sync::Arc;
use std::time::Duration;

use provisioner::record::RecordInput;
use tempfile::TempDir;
use time::OffsetDateTime;
use time::macros::{date, datetime};

use super::SqliteStore;
use crate::audit::AuditActor;
use crate::model::{
    Actor, AgencyId, AttemptOutcome, Job, Letter, MailAttachment, RequestId, RequestKind,
    RequestState, Role, ServerCheck, SubdomainRequest, Transition, UserId,
};
use crate::store::codec::{from_ms, to_ms};
use crate::store::{
    Constraint, JobEffect, JobFence, NameClaim, NewAgency, NewMail, NewRequest, NewUser,
    RequestFilter, RequestRevision, StateChange, Store, StoreError, StoreResult,
};

/// The actor of accounts made by the tests, as by the CLI.
fn console() -> AuditActor {
    AuditActor::Console("test".to_owned())
}

/// A fresh store with one agency, its PD operator and a reviewer.
struct Fixture {
    store: SqliteStore,
    agency: AgencyId,
    pd: UserId,
    reviewer: UserId,
    _dir: TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("dnsdesk.db"))
        .await
        .expect("open");
    let agency = agency(&store, "disdik").await;
    let pd = user(&store, "operator", Role::Pd, Some(agency)).await;
    let reviewer = user(&store, "reviewer", Role::Reviewer, None).await;
    Fixture {
        store,
        agency,
        pd,
        reviewer,
        _dir: dir,
    }
}

async fn agency(store: &SqliteStore, code: &str) -> AgencyId {
    let new = NewAgency {
        code: code.to_owned(),
        name: format!("Dinas {code}"),
        email: format!("{code}@example.test"),
    };
    store
        .create_agency(new, console())
        .await
        .expect("agency")
        .id
}

async fn user(
    store: &SqliteStore,
    username: &str,
    role: Role,
    agency_id: Option<AgencyId>,
) -> UserId {
    let new = NewUser {
        username: username.to_owned(),
        role,
        agency_id,
        password_hash: None,
    };
    store.create_user(new, console()).await.expect("user").id
}

fn record(rtype: &str, value: &str) -> RecordInput {
    RecordInput {
        rtype: rtype.to_owned(),
        value: value.to_owned(),
        ttl: Some(3600),
        glue: Vec::new(),
    }
}

impl Fixture {
    fn new_request(&self, name: &str) -> NewRequest {
        NewRequest {
            agency_id: self.agency,
            kind: RequestKind::Create,
            name: name.to_owned(),
            records: vec![record("A", "192.0.2.10"), record("TXT", "\"v=spf1 -all\"")],
            previous_records: Vec::new(),
            purpose: "Portal PPDB".to_owned(),
            letter_number: "800/123/DISDIK".to_owned(),
            letter_date: date!(2026 - 02 - 27),
            submitted_by: self.pd,
            submitted_at: datetime!(2026-03-02 09:15:00.250 UTC),
            due_at: datetime!(2026-03-05 09:15:00.250 UTC),
            due_uncertain: false,
            reference_year: 2026,
        }
    }

    async fn submit(&self, name: &str) -> SubdomainRequest {
        self.store
            .insert_request(self.new_request(name))
            .await
            .expect("insert")
    }

    async fn approve(&self, id: RequestId) -> StoreResult<SubdomainRequest> {
        let mut change = StateChange::new(
            id,
            RequestState::Submitted,
            RequestState::Approved,
            Actor::User(self.reviewer),
        );
        change.approved_digest = Some("digest".to_owned());
        change.job = JobEffect::Enqueue;
        self.store.transition(change).await
    }

    /// Moves a request straight to `state` behind the store's back.
    async fn force_state(&self, id: RequestId, state: RequestState) {
        sqlx::query("UPDATE requests SET state = ? WHERE id = ?")
            .bind(state.as_str())
            .bind(id.0)
            .execute(&self.store.pool)
            .await
            .expect("force state");
    }

    async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.store.pool)
            .await
            .expect("count")
    }

    /// Approves and claims, then takes the request to `verifying`.
    /// Activates a verified request and issues its confirmation, as the
    /// worker does; returns the request as the confirmation left it.
    async fn activate(
        &self,
        id: RequestId,
        job: &Job,
        letter: Option<MailAttachment>,
    ) -> SubdomainRequest {
        let fence = JobFence::from(job);
        self.store.activate(id, fence).await.expect("activate");
        self.store
            .issue_confirmation(id, fence, mail(), letter)
            .await
            .expect("confirm")
    }

    async fn to_verifying(&self, id: RequestId) -> Job {
        self.approve(id).await.expect("approve");
        let job = self
            .store
            .claim_job(now(), LEASE)
            .await
            .expect("claim")
            .expect("a job");
        let mut change = StateChange::new(
            id,
            RequestState::Approved,
            RequestState::Provisioning,
            Actor::System,
        );
        change.job = JobEffect::Continue(JobFence::from(&job));
        self.store.transition(change).await.expect("provisioning");
        let mut change = StateChange::new(
            id,
            RequestState::Provisioning,
            RequestState::Verifying,
            Actor::System,
        );
        change.job = JobEffect::Continue(JobFence::from(&job));
        change.serial_after = Some(2026030201);
        change.verify_deadline = Some(datetime!(2026-03-02 10:00 UTC));
        self.store.transition(change).await.expect("verifying");
        job
    }
}

const LEASE: Duration = Duration::from_secs(30);

/// The jobs' clock: enqueued jobs are due at the store's wall-clock now,
/// so claims look from a little later.
fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::from_secs(1)
}

fn mail() -> NewMail {
    NewMail {
        recipient: "disdik@example.test".to_owned(),
        subject: "Subdomain aktif".to_owned(),
        body: "ppdb.kalbarprov.go.id is active".to_owned(),
    }
}

#[tokio::test]
async fn inserted_request_reads_back_every_field() {
    let f = fixture().await;
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

#[tokio::test]
async fn references_count_per_year() {
    let f = fixture().await;
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

#[tokio::test]
async fn a_name_is_held_by_one_open_request() {
    let f = fixture().await;
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
#[tokio::test]
async fn exactly_the_open_states_hold_the_name() {
    let f = fixture().await;
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

#[tokio::test]
async fn transitions_check_state_and_version() {
    let f = fixture().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_approvals_make_one_job() {
    let f = Arc::new(fixture().await);
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

#[tokio::test]
async fn an_approval_queues_one_claimable_job() {
    let f = fixture().await;
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    assert_eq!(f.store.next_job_due().await.expect("due"), None);
    let approved = f.approve(request.id).await.expect("approve");
    assert_eq!(approved.approved_digest.as_deref(), Some("digest"));
    assert!(
        f.store
            .next_job_due()
            .await
            .expect("due")
            .is_some_and(|due| due <= now())
    );

    let job = f
        .store
        .claim_job(now(), LEASE)
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(
        (job.request_id, job.attempts, job.lease_token),
        (request.id, 1, 1)
    );
    assert_eq!(f.store.claim_job(now(), LEASE).await.expect("claim"), None);
}

#[tokio::test]
async fn an_expired_lease_passes_the_job_on_and_fences_the_old_holder() {
    let f = fixture().await;
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    f.approve(request.id).await.expect("approve");
    let t0 = now();
    let first = f
        .store
        .claim_job(t0, LEASE)
        .await
        .expect("claim")
        .expect("a job");
    // Claimable again just after the lease ends, and no earlier.
    let lease_end = t0 + LEASE;
    assert_eq!(
        f.store.next_job_due().await.expect("due"),
        Some(from_ms("t", to_ms(lease_end) + 1).expect("time"))
    );
    assert_eq!(
        f.store.claim_job(lease_end, LEASE).await.expect("claim"),
        None
    );

    let second = f
        .store
        .claim_job(lease_end + Duration::from_millis(1), LEASE)
        .await
        .expect("claim")
        .expect("the job again");
    assert_eq!(
        (second.id, second.attempts, second.lease_token),
        (first.id, 2, 2)
    );

    let stale = JobFence::from(&first);
    let mut change = StateChange::new(
        request.id,
        RequestState::Approved,
        RequestState::Provisioning,
        Actor::System,
    );
    change.job = JobEffect::Continue(stale);
    assert!(
        matches!(f.store.transition(change.clone()).await, Err(StoreError::LeaseLost(id)) if id == first.id)
    );
    assert_eq!(
        f.store
            .request(request.id)
            .await
            .expect("read")
            .map(|r| r.state),
        Some(RequestState::Approved)
    );
    let lost = f
        .store
        .begin_attempt(stale, request.id, "ns1", "dnsdesk.", &[], None)
        .await;
    assert!(matches!(lost, Err(StoreError::LeaseLost(_))));
    assert!(matches!(
        f.store.reschedule_job(stale, now()).await,
        Err(StoreError::LeaseLost(_))
    ));

    change.job = JobEffect::Continue(JobFence::from(&second));
    f.store.transition(change).await.expect("current holder");
    let later = now() + Duration::from_secs(60);
    f.store
        .reschedule_job(JobFence::from(&second), later)
        .await
        .expect("reschedule");
    assert_eq!(f.store.claim_job(now(), LEASE).await.expect("claim"), None);
    let third = f
        .store
        .claim_job(later, LEASE)
        .await
        .expect("claim")
        .expect("due again");
    assert_eq!(third.lease_token, 3);
}

#[tokio::test]
async fn activation_writes_the_catalogue_then_the_confirmation_finishes_the_job() {
    let f = fixture().await;
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    let job = f.to_verifying(request.id).await;

    let wrong = JobFence {
        job_id: job.id,
        lease_token: job.lease_token + 1,
    };
    assert!(matches!(
        f.store.activate(request.id, wrong).await,
        Err(StoreError::LeaseLost(_))
    ));
    assert_eq!(
        f.store
            .subdomain("ppdb.kalbarprov.go.id")
            .await
            .expect("read"),
        None
    );
    assert!(f.store.pending_mail(10).await.expect("mail").is_empty());

    let active = f
        .store
        .activate(request.id, JobFence::from(&job))
        .await
        .expect("activate");
    assert_eq!(active.state, RequestState::Active);
    assert_eq!(active.serial_after, Some(2026030201));
    assert_eq!(
        active.verify_deadline,
        Some(datetime!(2026-03-02 10:00 UTC))
    );
    assert_eq!(active.version, 5);
    let granted = f
        .store
        .subdomain("ppdb.kalbarprov.go.id")
        .await
        .expect("read")
        .expect("granted");
    assert_eq!(
        (granted.agency_id, granted.request_id),
        (Some(f.agency), Some(request.id))
    );
    assert_eq!(granted.records, request.records);
    // Live and active, the job still held for its last step: telling the
    // PD. Nothing is mailed yet.
    assert!(f.store.pending_mail(10).await.expect("mail").is_empty());
    assert_eq!(
        f.count("SELECT COUNT(*) FROM jobs WHERE state = 'running'")
            .await,
        1
    );
    let wrong = JobFence {
        job_id: job.id,
        lease_token: job.lease_token + 1,
    };
    assert!(matches!(
        f.store
            .issue_confirmation(request.id, wrong, mail(), None)
            .await,
        Err(StoreError::LeaseLost(_))
    ));
    assert!(f.store.pending_mail(10).await.expect("mail").is_empty());
    f.store
        .issue_confirmation(request.id, JobFence::from(&job), mail(), None)
        .await
        .expect("confirm");
    let pending = f.store.pending_mail(10).await.expect("mail");
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].request_id, pending[0].subject.as_str()),
        (Some(request.id), "Subdomain aktif")
    );
    assert_eq!(
        f.count("SELECT COUNT(*) FROM jobs WHERE state = 'done' AND lease_until IS NULL")
            .await,
        1
    );
    assert_eq!(f.store.next_job_due().await.expect("due"), None);
    let last = f
        .store
        .transitions(request.id)
        .await
        .expect("history")
        .pop()
        .expect("one");
    assert_eq!(
        (last.from, last.to, last.actor),
        (
            Some(RequestState::Verifying),
            RequestState::Active,
            Actor::System
        )
    );
    assert!(last.note.is_some());
    // The name is free for a change request now.
    assert_eq!(
        f.store
            .open_request_for_name("ppdb.kalbarprov.go.id")
            .await
            .expect("open"),
        None
    );

    let mut removal = f.new_request("ppdb.kalbarprov.go.id");
    removal.kind = RequestKind::Remove;
    removal.previous_records = removal.records.clone();
    removal.records = Vec::new();
    let removal = f.store.insert_request(removal).await.expect("removal");
    let job = f.to_verifying(removal.id).await;
    f.activate(removal.id, &job, None).await;
    assert_eq!(
        f.store
            .subdomain("ppdb.kalbarprov.go.id")
            .await
            .expect("read"),
        None
    );
}

#[tokio::test]
async fn activation_records_the_confirmation_and_attaches_it_to_the_mail() {
    let f = fixture().await;
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    let job = f.to_verifying(request.id).await;
    let confirmation = MailAttachment {
        letter: Letter {
            sha256: "ab".repeat(32),
            size: 4_321,
        },
        file_name: "konfirmasi-DNS-2026-000001.pdf".to_owned(),
    };
    let active = f
        .activate(request.id, &job, Some(confirmation.clone()))
        .await;
    assert_eq!(active.confirmation, Some(confirmation.letter.clone()));
    assert_eq!(
        f.store
            .request(request.id)
            .await
            .expect("read")
            .expect("request")
            .confirmation,
        Some(confirmation.letter.clone())
    );
    let pending = f.store.pending_mail(10).await.expect("mail");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].attachment, Some(confirmation.clone()));
    // The letter's hash is in the audit chain with its issue.
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM audit_log
             WHERE json_extract(detail, '$.confirmation_sha256') = 'abababababababababababababababababababababababababababababababab'"
        )
        .await,
        1
    );

    // Mail queued on its own stays plain text, and so does a confirmation
    // without a letter.
    f.store.queue_mail(mail()).await.expect("queue");
    let other = f.submit("spmb.kalbarprov.go.id").await;
    let job = f.to_verifying(other.id).await;
    let plain = f.activate(other.id, &job, None).await;
    assert_eq!(plain.confirmation, None);
    let pending = f.store.pending_mail(10).await.expect("mail");
    assert_eq!(pending.len(), 3);
    assert!(pending[1..].iter().all(|m| m.attachment.is_none()));
}

#[tokio::test]
async fn half_an_attachment_is_refused_by_the_schema() {
    let f = fixture().await;
    let half = sqlx::query(
        "INSERT INTO outbox (recipient, subject, body, attachment_sha256, created_at)
         VALUES ('a@b.test', 's', 'b', 'abc', 0)",
    )
    .execute(&f.store.pool)
    .await;
    assert!(half.is_err(), "{half:?}");
}

#[tokio::test]
async fn attempts_and_checks_are_recorded() {
    let f = fixture().await;
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    f.approve(request.id).await.expect("approve");
    let job = f
        .store
        .claim_job(now(), LEASE)
        .await
        .expect("claim")
        .expect("a job");
    let lines = vec!["ppdb.kalbarprov.go.id. 3600 IN A 192.0.2.10".to_owned()];
    let id = f
        .store
        .begin_attempt(
            JobFence::from(&job),
            request.id,
            "192.0.2.53:53",
            "dnsdesk.",
            &lines,
            Some(2026112801),
        )
        .await
        .expect("begin");
    let attempts = f.store.attempts(request.id).await.expect("attempts");
    assert_eq!(
        (attempts[0].outcome, attempts[0].finished_at),
        (AttemptOutcome::Sending, None)
    );
    f.store
        .finish_attempt(id, AttemptOutcome::Accepted, Some("NOERROR"), None, Some(7))
        .await
        .expect("finish");
    let attempt = f
        .store
        .attempts(request.id)
        .await
        .expect("attempts")
        .remove(0);
    assert_eq!(attempt.message, lines);
    assert_eq!(
        (
            attempt.outcome,
            attempt.rcode.as_deref(),
            attempt.serial_after
        ),
        (AttemptOutcome::Accepted, Some("NOERROR"), Some(7))
    );
    assert!(attempt.finished_at.is_some());

    let check = |server: &str, matches: bool| ServerCheck {
        server: server.to_owned(),
        report: serde_json::json!({ "verdict": if matches { "match" } else { "stale" } }),
        matches,
        checked_at: datetime!(2026-03-02 09:20 UTC),
    };
    f.store
        .record_checks(request.id, &[check("ns1", false), check("ns2", true)])
        .await
        .expect("checks");
    f.store
        .record_checks(request.id, &[check("ns1", true)])
        .await
        .expect("checks");
    assert_eq!(
        f.store.checks(request.id).await.expect("checks"),
        vec![check("ns1", true), check("ns2", true)]
    );
}

#[tokio::test]
async fn letters_and_revisions_follow_the_state() {
    let f = fixture().await;
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

#[tokio::test]
async fn lists_filter_and_page() {
    let f = fixture().await;
    let other = agency(&f.store, "dinkes").await;
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
                page.total,
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
}

#[tokio::test]
async fn claims_near_finds_ancestors_and_descendants() {
    let f = fixture().await;
    let other = agency(&f.store, "dinkes").await;
    // Granted: sekolah (ours). Open: a.b.sekolah (theirs), x_y.sekolah
    // (ours). Closed: old.sekolah. Unrelated: notsekolah.
    let granted = f.submit("sekolah.kalbarprov.go.id").await;
    let job = f.to_verifying(granted.id).await;
    f.activate(granted.id, &job, None).await;
    let mut theirs = f.new_request("a.b.ppdb.sekolah.kalbarprov.go.id");
    theirs.agency_id = other;
    f.store.insert_request(theirs).await.expect("insert");
    f.submit("x_y.ppdb.sekolah.kalbarprov.go.id").await;
    let closed = f.submit("old.ppdb.sekolah.kalbarprov.go.id").await;
    f.force_state(closed.id, RequestState::Rejected).await;
    f.submit("notppdb.sekolah.kalbarprov.go.id").await;

    let ancestors = vec![
        "sekolah.kalbarprov.go.id".to_owned(),
        "kalbarprov.go.id".to_owned(),
    ];
    let claims = f
        .store
        .claims_near("ppdb.sekolah.kalbarprov.go.id", &ancestors)
        .await
        .expect("claims");
    let claim = |name: &str, agency_id| NameClaim {
        name: name.to_owned(),
        agency_id: Some(agency_id),
    };
    assert_eq!(
        claims,
        vec![
            claim("a.b.ppdb.sekolah.kalbarprov.go.id", other),
            claim("sekolah.kalbarprov.go.id", f.agency),
            claim("x_y.ppdb.sekolah.kalbarprov.go.id", f.agency),
        ]
    );
}

#[tokio::test]
async fn accounts_are_unique_and_tokens_skip_disabled_users() {
    let f = fixture().await;
    let found = f
        .store
        .agency_by_code("DisDik")
        .await
        .expect("by code")
        .expect("found");
    assert_eq!((found.id, found.code.as_str()), (f.agency, "DISDIK"));
    let dup = f
        .store
        .create_agency(
            NewAgency {
                code: "DISDIK".to_owned(),
                name: "again".to_owned(),
                email: "x@example.test".to_owned(),
            },
            console(),
        )
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(Constraint::AgencyCode))),
        "{dup:?}"
    );
    let dup = f
        .store
        .create_user(
            NewUser {
                username: "operator".to_owned(),
                role: Role::Admin,
                agency_id: None,
                password_hash: None,
            },
            console(),
        )
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(Constraint::Username))),
        "{dup:?}"
    );
    assert_eq!(f.store.list_agencies().await.expect("list").len(), 1);

    f.store
        .create_token(f.pd, "hash-1", console())
        .await
        .expect("token");
    let user = f
        .store
        .user_by_token("hash-1")
        .await
        .expect("lookup")
        .expect("enabled");
    assert_eq!(
        (user.id, user.role, user.agency_id),
        (f.pd, Role::Pd, Some(f.agency))
    );
    assert_eq!(
        f.count("SELECT COUNT(*) FROM api_tokens WHERE last_used_at IS NOT NULL")
            .await,
        1
    );
    assert_eq!(f.store.user_by_token("hash-2").await.expect("lookup"), None);

    sqlx::query("UPDATE users SET disabled = 1 WHERE id = ?")
        .bind(f.pd.0)
        .execute(&f.store.pool)
        .await
        .expect("disable");
    assert_eq!(f.store.user_by_token("hash-1").await.expect("lookup"), None);
    assert!(
        f.store
            .user(f.pd)
            .await
            .expect("user")
            .is_some_and(|u| u.disabled)
    );
}

#[tokio::test]
async fn mail_is_marked_sent_or_failed() {
    let f = fixture().await;
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    let job = f.to_verifying(request.id).await;
    f.activate(request.id, &job, None).await;
    let id = f.store.pending_mail(10).await.expect("pending")[0].id;
    f.store
        .mark_mail_failed(id, "connection refused")
        .await
        .expect("failed");
    assert_eq!(
        f.store.pending_mail(10).await.expect("pending")[0].attempts,
        1
    );
    f.store.mark_mail_sent(id).await.expect("sent");
    assert!(f.store.pending_mail(10).await.expect("pending").is_empty());
    assert!(matches!(
        f.store.mark_mail_sent(999).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn corrupt_values_are_reported_with_their_column() {
    let f = fixture().await;
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    sqlx::query("UPDATE requests SET records = 'not json' WHERE id = ?")
        .bind(request.id.0)
        .execute(&f.store.pool)
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

#[tokio::test]
async fn reopening_keeps_the_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dnsdesk.db");
    let store = SqliteStore::open(&path).await.expect("open");
    agency(&store, "disdik").await;
    store.pool.close().await;
    let url = format!("sqlite://{}", path.display());
    let store = SqliteStore::open_url(&url).await.expect("reopen");
    assert!(
        store
            .agency_by_code("disdik")
            .await
            .expect("read")
            .is_some()
    );
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&store.pool)
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&store.pool)
        .await
        .expect("pragma");
    assert_eq!(sync, 2, "FULL");
}

/// Changes that read (the fence) before they write: without `BEGIN
/// IMMEDIATE` two of them would deadlock on the lock upgrade and one fail
/// with SQLITE_BUSY instead of waiting its turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_fenced_changes_wait_their_turn() {
    let f = Arc::new(fixture().await);
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

/// Walks the whole chain as `dnsdesk audit verify` does.
async fn walk_chain(store: &SqliteStore) -> crate::audit::ChainWalker {
    let mut walker = crate::audit::ChainWalker::default();
    loop {
        let batch = store
            .audit_range(walker.last_seq, 100)
            .await
            .expect("range");
        if batch.is_empty() {
            return walker;
        }
        for entry in &batch {
            walker.step(entry).expect("chain intact");
        }
    }
}

#[tokio::test]
async fn concurrent_appends_make_one_chain() {
    let f = fixture().await;
    let store = Arc::new(f.store.clone());
    let (before, _) = store.audit_head().await.expect("head");
    let appends = (0..40).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .append_audit(
                    crate::audit::AuditEvent::new(
                        crate::audit::AuditAction::AuthFailed,
                        AuditActor::Anonymous,
                    )
                    .with_detail(serde_json::json!({ "n": i })),
                )
                .await
                .expect("append")
        })
    });
    for task in appends {
        task.await.expect("task");
    }
    let walker = walk_chain(&store).await;
    assert_eq!(walker.last_seq, before + 40);
    assert_eq!(
        store.audit_head().await.expect("head"),
        (walker.last_seq, walker.head)
    );
}

#[tokio::test]
async fn a_refused_change_leaves_no_audit_entry_and_a_made_one_leaves_one() {
    let f = fixture().await;
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    let (before, _) = f.store.audit_head().await.expect("head");
    // Not allowed from `submitted`: nothing changes, nothing is logged.
    let wrong = StateChange::new(
        request.id,
        RequestState::Submitted,
        RequestState::Active,
        Actor::System,
    );
    assert!(f.store.transition(wrong).await.is_err());
    assert_eq!(f.store.audit_head().await.expect("head").0, before);
    f.approve(request.id).await.expect("approve");
    let (after, _) = f.store.audit_head().await.expect("head");
    assert_eq!(after, before + 1);
    let entry = f
        .store
        .audit_range(before, 1)
        .await
        .expect("range")
        .remove(0);
    assert_eq!(entry.action, "request.approved");
    assert_eq!(entry.actor, "user:reviewer");
    assert_eq!(entry.name.as_deref(), Some("ppdb.kalbarprov.go.id"));
    assert_eq!(entry.request_id, Some(request.id.0));
    assert_eq!(entry.agency_id, Some(f.agency.0));
    walk_chain(&f.store).await;
}

#[tokio::test]
async fn an_import_registers_names_with_their_first_version_and_audit_in_one_go() {
    use crate::model::VersionSource;
    use crate::store::{ImportOutcome, ImportedName, ZoneImport};

    let f = fixture().await;
    let open = f.submit("ppdb.kalbarprov.go.id").await;
    let name = |name: &str, agency_id: Option<AgencyId>, ip: &str| ImportedName {
        name: name.to_owned(),
        agency_id,
        records: vec![record("A", ip)],
    };
    let import = ZoneImport {
        serial: Some(2026112801),
        source: "AXFR from 192.0.2.53:53".to_owned(),
        names: vec![
            name("disdik.kalbarprov.go.id", Some(f.agency), "203.0.113.13"),
            name("dinkes.kalbarprov.go.id", None, "203.0.113.14"),
            name("ppdb.kalbarprov.go.id", None, "203.0.113.80"),
        ],
    };
    let (head, _) = f.store.audit_head().await.expect("head");
    let outcomes = f
        .store
        .import_names(&import, console())
        .await
        .expect("import");
    assert_eq!(
        outcomes,
        [
            ImportOutcome::Imported,
            ImportOutcome::Imported,
            ImportOutcome::OpenRequest(open.reference.clone()),
        ]
    );

    // In the catalogue without a request; the unassigned one for staff only.
    let dinkes = f
        .store
        .subdomain("dinkes.kalbarprov.go.id")
        .await
        .expect("read")
        .expect("imported");
    assert_eq!((dinkes.agency_id, dinkes.request_id), (None, None));
    let all = f.store.list_subdomains(None, 10, 0).await.expect("list");
    assert_eq!(all.total, 2);
    let ours = f
        .store
        .list_subdomains(Some(f.agency), 10, 0)
        .await
        .expect("list");
    let ours: Vec<&str> = ours.items.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(ours, ["disdik.kalbarprov.go.id"]);
    // Taken for new names: a claim of nobody.
    let claims = f
        .store
        .claims_near(
            "x.dinkes.kalbarprov.go.id",
            &["dinkes.kalbarprov.go.id".to_owned()],
        )
        .await
        .expect("claims");
    assert_eq!(
        claims,
        [NameClaim {
            name: "dinkes.kalbarprov.go.id".to_owned(),
            agency_id: None,
        }]
    );

    // The first version, and one audit entry per name, by the console.
    let history = f
        .store
        .name_history("disdik.kalbarprov.go.id")
        .await
        .expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].source, VersionSource::Imported);
    assert_eq!(history[0].serial, Some(2026112801));
    assert_eq!(history[0].agency_id, Some(f.agency));
    assert_eq!(history[0].request_id, None);
    let entries = f.store.audit_range(head, 10).await.expect("range");
    let summary: Vec<(&str, &str, Option<&str>, Option<i64>)> = entries
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.actor.as_str(),
                e.name.as_deref(),
                e.agency_id,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "zone.imported",
                "console:test",
                Some("disdik.kalbarprov.go.id"),
                Some(f.agency.0)
            ),
            (
                "zone.imported",
                "console:test",
                Some("dinkes.kalbarprov.go.id"),
                None
            ),
        ]
    );
    assert_eq!(entries[0].detail["source"], "AXFR from 192.0.2.53:53");
    walk_chain(&f.store).await;

    // Again: everything is managed already and nothing is written.
    let again = f
        .store
        .import_names(&import, console())
        .await
        .expect("import");
    assert_eq!(
        again[..2],
        [ImportOutcome::AlreadyManaged, ImportOutcome::AlreadyManaged]
    );
    assert_eq!(f.store.audit_head().await.expect("head").0, head + 2);
}

#[tokio::test]
async fn the_rebuilt_catalogue_keeps_its_index_and_ties_a_request_to_an_agency() {
    let f = fixture().await;
    let indexes = f
        .count("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'subdomains_agency'")
        .await;
    assert_eq!(indexes, 1);
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    // A name a request wrote always has an agency.
    let orphan = sqlx::query(
        "INSERT INTO subdomains (name, agency_id, records, request_id, updated_at)
         VALUES ('x.kalbarprov.go.id', NULL, '[]', ?, 0)",
    )
    .bind(request.id.0)
    .execute(&f.store.pool)
    .await;
    assert!(orphan.is_err(), "{orphan:?}");
    // And the foreign keys still hold.
    let dangling = sqlx::query(
        "INSERT INTO subdomains (name, agency_id, records, request_id, updated_at)
         VALUES ('y.kalbarprov.go.id', 999, '[]', NULL, 0)",
    )
    .execute(&f.store.pool)
    .await;
    assert!(dangling.is_err(), "{dangling:?}");
}

#[tokio::test]
async fn a_catalogue_from_before_import_keeps_its_rows_through_the_rebuild() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dnsdesk.db");
    // The schema as it was before 0004, with a granted name in it.
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.expect("pool");
    sqlx::migrate!("../migrations/sqlite")
        .run_to(3, &pool)
        .await
        .expect("migrate to 3");
    sqlx::raw_sql(
        "INSERT INTO agencies (id, code, name, email, created_at)
             VALUES (7, 'DISDIK', 'Dinas Pendidikan', 'it@disdik.test', 0);
         INSERT INTO users (id, username, role, agency_id, created_at)
             VALUES (3, 'op', 'pd', 7, 0);
         INSERT INTO requests (id, reference, agency_id, kind, name, records, previous_records,
             purpose, letter_number, letter_date, state, submitted_by, submitted_at, due_at,
             updated_at)
             VALUES (5, 'DNS/2026/000001', 7, 'create', 'ppdb.kalbarprov.go.id', '[]', '[]',
             'PPDB', '800/1', '2026-01-05', 'active', 3, 0, 0, 0);
         INSERT INTO subdomains (name, agency_id, records, request_id, updated_at)
             VALUES ('ppdb.kalbarprov.go.id', 7,
             '[{\"type\":\"A\",\"value\":\"203.0.113.80\",\"ttl\":300}]', 5, 42);",
    )
    .execute(&pool)
    .await
    .expect("seed");
    pool.close().await;

    let store = SqliteStore::open(&path).await.expect("open and migrate");
    let granted = store
        .subdomain("ppdb.kalbarprov.go.id")
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(
        (granted.agency_id, granted.request_id),
        (Some(AgencyId(7)), Some(RequestId(5)))
    );
    assert_eq!(granted.records, [record_ttl("A", "203.0.113.80", 300)]);
    assert_eq!(to_ms(granted.updated_at), 42);
    // And an unassigned name fits now.
    sqlx::query(
        "INSERT INTO subdomains (name, agency_id, records, request_id, updated_at)
         VALUES ('dinkes.kalbarprov.go.id', NULL, '[]', NULL, 0)",
    )
    .execute(&store.pool)
    .await
    .expect("unassigned");
}

fn record_ttl(rtype: &str, value: &str, ttl: u32) -> RecordInput {
    RecordInput {
        ttl: Some(ttl),
        ..record(rtype, value)
    }
}
