//! Provisioning jobs: queued by an approval, claimed under a lease,
//! passed on when the lease runs out (the old holder fenced off), and the
//! attempts and checks recorded under them.

use std::time::Duration;

use time::macros::datetime;

use super::fixture::Fixture;
use super::{LEASE, TestDb, now};
use crate::model::{Actor, AttemptOutcome, RequestState, ServerCheck};
use crate::store::codec::{from_ms, to_ms};
use crate::store::{JobEffect, JobFence, StateChange, StoreError};

on_both_databases! {
    an_approval_queues_one_claimable_job,
    an_expired_lease_passes_the_job_on_and_fences_the_old_holder,
    attempts_and_checks_are_recorded,
}

async fn an_approval_queues_one_claimable_job(db: TestDb) {
    let f = Fixture::new(db).await;
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

async fn an_expired_lease_passes_the_job_on_and_fences_the_old_holder(db: TestDb) {
    let f = Fixture::new(db).await;
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

async fn attempts_and_checks_are_recorded(db: TestDb) {
    let f = Fixture::new(db).await;
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
