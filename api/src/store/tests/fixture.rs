//! The fixture of the request, job, catalogue, mail, account and audit
//! tests: a fresh store with one agency, its PD operator and a reviewer.

use std::sync::Arc;

use time::macros::{date, datetime};

use super::{LEASE, TestDb, agency, now, record, user};
use crate::model::{
    Actor, AgencyId, Job, MailAttachment, RequestId, RequestKind, RequestState, Role,
    SubdomainRequest, UserId,
};
use crate::store::{JobEffect, JobFence, NewMail, NewRequest, StateChange, Store, StoreResult};

/// A fresh store with one agency (`DISDIK`), its PD operator
/// (`operator`) and a reviewer (`reviewer`).
pub(in crate::store) struct Fixture {
    pub(in crate::store) store: Arc<dyn Store>,
    pub(in crate::store) agency: AgencyId,
    pub(in crate::store) pd: UserId,
    pub(in crate::store) reviewer: UserId,
    /// The database, for raw SQL.
    pub(in crate::store) db: TestDb,
}

impl Fixture {
    pub(in crate::store) async fn new(db: TestDb) -> Self {
        let store = Arc::clone(&db.store);
        let agency = agency(&*store, "disdik").await;
        let pd = user(&*store, "operator", Role::Pd, Some(agency)).await;
        let reviewer = user(&*store, "reviewer", Role::Reviewer, None).await;
        Self {
            store,
            agency,
            pd,
            reviewer,
            db,
        }
    }

    pub(in crate::store) fn new_request(&self, name: &str) -> NewRequest {
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

    pub(in crate::store) async fn submit(&self, name: &str) -> SubdomainRequest {
        self.store
            .insert_request(self.new_request(name))
            .await
            .expect("insert")
    }

    pub(in crate::store) async fn approve(&self, id: RequestId) -> StoreResult<SubdomainRequest> {
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
    pub(in crate::store) async fn force_state(&self, id: RequestId, state: RequestState) {
        self.db
            .execute(&format!(
                "UPDATE requests SET state = '{}' WHERE id = {}",
                state.as_str(),
                id.0
            ))
            .await
            .expect("force state");
    }

    /// The one integer `sql` selects.
    pub(in crate::store) async fn count(&self, sql: &str) -> i64 {
        self.db.scalar(sql).await
    }

    /// Activates a verified request and issues its confirmation, as the
    /// worker does; returns the request as the confirmation left it.
    pub(in crate::store) async fn activate(
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

    /// Approves and claims, then takes the request to `verifying`.
    pub(in crate::store) async fn to_verifying(&self, id: RequestId) -> Job {
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

pub(in crate::store) fn mail() -> NewMail {
    NewMail {
        recipient: "disdik@example.test".to_owned(),
        subject: "Subdomain aktif".to_owned(),
        body: "ppdb.kalbarprov.go.id is active".to_owned(),
    }
}
