//! The use-case shaped methods of [`Store`], composed once for both
//! databases from the SQL functions of each implementation's submodules.
//!
//! `store/sqlite/` and `store/postgres/` hold the SQL: modules with the
//! same names and functions, each written for its database. The methods
//! below decide what happens in one transaction (a state change with its
//! transition, its job and its audit entry; an activation with its
//! catalogue entry, its zone history and its e-mail), and that must be the
//! same whichever database runs it. Written once, as a macro expanded in
//! each implementation's module, the two cannot drift apart: a step added
//! here is taken by both, and a function missing from one of them fails
//! the build.
//!
//! What each expansion needs from its store type: the fields `pool`, the
//! methods `begin_write` (a write transaction, serialised with every other
//! write), `begin_read` (a read transaction on one snapshot) and
//! `begin_claim` (the transaction a job claim runs in), `take_periodic_lease`
//! (the right to run periodic work), and the submodules
//! `accounts`, `audit`, `calendar`, `catalogue`, `complaints`, `jobs`,
//! `outbox`, `reports`, `requests`, `sessions` and `zone`.

use serde_json::json;

use crate::audit::{AuditAction, AuditEvent};
use crate::store::StateChange;

/// The note on the transition to `active`.
pub(super) const ACTIVE_NOTE: &str = "every authoritative server answers with the records";

/// The audit entry of a state change.
pub(super) fn change_event(change: &StateChange) -> AuditEvent {
    AuditEvent::new(AuditAction::RequestState(change.to), change.actor.into()).with_detail(json!({
        "from": change.from.as_str(),
        "to": change.to.as_str(),
        "note": change.note,
        "reason": change.reason,
        "approved_digest": change.approved_digest,
        "serial_after": change.serial_after,
    }))
}

/// Implements [`Store`](crate::store::Store) for `$store`, a type in the
/// invoking module, from that module's SQL submodules.
macro_rules! compose_store {
    ($store:ident) => {
        mod composed {
            use std::time::Duration;

            use async_trait::async_trait;
            use provisioner::record::RecordInput;
            use serde_json::json;
            use time::OffsetDateTime;

            use super::{
                $store, accounts, audit, calendar, catalogue, complaints, jobs, outbox, reports,
                requests, sessions, zone,
            };
            use std::collections::HashMap;

            use crate::audit::{AuditAction, AuditActor, AuditEntry, AuditEvent};
            use crate::model::{
                Actor, Agency, AgencyId, DnsAttempt, DriftFinding, DriftRun, Job,
                Letter, MailAttachment, NameVersion, OutgoingMail, RequestId, RequestState,
                ServerCheck, Subdomain, SubdomainRequest, Transition, User, UserId,
            };
            use crate::store::codec::{from_ms_opt, now_ms, to_ms};
            use crate::store::compose::{ACTIVE_NOTE, change_event};
            use crate::store::{
                AttemptResult, AuditFilter, JobEffect, JobFence, NameClaim, NewAgency, NewFinding,
                NewMail, NewRequest, NewUser, OutgoingAttempt, Page, RequestFilter, RequestRevision,
                StateChange, Store, StoreError, StoreResult,
            };

        #[async_trait]
        impl Store for $store {
            async fn create_agency(&self, new: NewAgency, by: AuditActor) -> StoreResult<Agency> {
                let mut tx = self.begin_write().await?;
                let agency = accounts::create_agency(&mut *tx, new).await?;
                let mut event = AuditEvent::new(AuditAction::AgencyCreated, by).with_detail(json!({
                    "code": agency.code, "name": agency.name, "email": agency.email,
                }));
                event.agency_id = Some(agency.id);
                audit::append(&mut tx, &event, now_ms()).await?;
                tx.commit().await?;
                Ok(agency)
            }

            async fn agency(&self, id: AgencyId) -> StoreResult<Option<Agency>> {
                accounts::agency(&self.pool, id).await
            }

            async fn agency_by_code(&self, code: &str) -> StoreResult<Option<Agency>> {
                accounts::agency_by_code(&self.pool, code).await
            }

            async fn list_agencies(&self) -> StoreResult<Vec<Agency>> {
                accounts::list_agencies(&self.pool).await
            }

            async fn create_user(&self, new: NewUser, by: AuditActor) -> StoreResult<User> {
                let mut tx = self.begin_write().await?;
                let user = accounts::create_user(&mut *tx, new).await?;
                let mut event = AuditEvent::new(AuditAction::UserCreated, by).with_detail(json!({
                    "username": user.username, "role": user.role.as_str(),
                }));
                event.agency_id = user.agency_id;
                audit::append(&mut tx, &event, now_ms()).await?;
                tx.commit().await?;
                Ok(user)
            }

            async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
                accounts::user(&self.pool, id).await
            }

            async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
                accounts::user_by_username(&self.pool, username).await
            }

            async fn create_token(
                &self,
                user_id: UserId,
                token_hash: &str,
                by: AuditActor,
            ) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                accounts::create_token(&mut *tx, user_id, token_hash).await?;
                let user = accounts::user(&mut *tx, user_id)
                    .await?
                    .ok_or(StoreError::NotFound("user"))?;
                // Who the token is for; never the token or its hash.
                let mut event = AuditEvent::new(AuditAction::TokenCreated, by)
                    .with_detail(json!({ "for_user": user.username }));
                event.agency_id = user.agency_id;
                audit::append(&mut tx, &event, now_ms()).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn user_by_token(&self, token_hash: &str) -> StoreResult<Option<User>> {
                accounts::user_by_token(&self.pool, token_hash).await
            }

            // Sessions: web sign-in (password credentials, sessions, disabling
            // users and the throttle on failed sign-ins), each write with its
            // audit entry in one write transaction. Users are read through
            // `accounts`, which reads the `users` row format.

            /// Every user, by username.
            async fn list_users(&self) -> StoreResult<Vec<User>> {
                // One read transaction: the list is one snapshot. Users are few (the
                // staff and the agencies' operators), so reading each by id costs
                // little and keeps the row format in `accounts`.
                let mut tx = self.begin_read().await?;
                let ids = sessions::user_ids(&mut *tx).await?;
                let mut users = Vec::with_capacity(ids.len());
                for id in ids {
                    users.extend(accounts::user(&mut *tx, id).await?);
                }
                tx.commit().await?;
                Ok(users)
            }

            async fn user_credentials(
                &self,
                username: &str,
            ) -> StoreResult<Option<crate::store::UserCredentials>> {
                let mut tx = self.begin_read().await?;
                let Some(user) = accounts::user_by_username(&mut *tx, username).await? else {
                    return Ok(None);
                };
                let password_hash = sessions::password_hash(&mut *tx, user.id).await?;
                tx.commit().await?;
                Ok(Some(crate::store::UserCredentials {
                    user,
                    password_hash,
                }))
            }

            async fn set_user_disabled(
                &self,
                user_id: UserId,
                disabled: bool,
                by: AuditActor,
            ) -> StoreResult<User> {
                use crate::store::rows::sessions::sessions_ended_event;
                let now = now_ms();
                let mut tx = self.begin_write().await?;
                let before = accounts::user(&mut *tx, user_id)
                    .await?
                    .ok_or(StoreError::NotFound("user"))?;
                // Sessions go even when the user was already disabled: none should
                // exist then, and if one does it must not survive this call.
                let ended = if disabled {
                    sessions::delete_user_sessions(&mut *tx, user_id).await?
                } else {
                    0
                };
                if before.disabled != disabled {
                    sessions::set_disabled(&mut *tx, user_id, disabled).await?;
                    let action = if disabled {
                        AuditAction::UserDisabled
                    } else {
                        AuditAction::UserEnabled
                    };
                    let event = sessions_ended_event(action, &before, ended, by);
                    audit::append(&mut tx, &event, now).await?;
                }
                let after = accounts::user(&mut *tx, user_id)
                    .await?
                    .ok_or(StoreError::NotFound("user"))?;
                tx.commit().await?;
                Ok(after)
            }

            async fn set_password(
                &self,
                user_id: UserId,
                password_hash: &str,
                by: AuditActor,
            ) -> StoreResult<()> {
                use crate::store::rows::sessions::sessions_ended_event;
                let now = now_ms();
                let mut tx = self.begin_write().await?;
                let user = accounts::user(&mut *tx, user_id)
                    .await?
                    .ok_or(StoreError::NotFound("user"))?;
                sessions::set_password(&mut *tx, user_id, password_hash).await?;
                // A new password is often the answer to a leaked one: whoever signed
                // in with the old one is signed out.
                let ended = sessions::delete_user_sessions(&mut *tx, user_id).await?;
                let event = sessions_ended_event(AuditAction::UserPasswordSet, &user, ended, by);
                audit::append(&mut tx, &event, now).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_session(&self, new: crate::store::NewStoredSession) -> StoreResult<i64> {
                use crate::store::rows::sessions::login_event;
                let now = to_ms(new.created_at);
                let mut tx = self.begin_write().await?;
                let user = accounts::user(&mut *tx, new.user_id)
                    .await?
                    .ok_or(StoreError::NotFound("user"))?;
                let id = sessions::insert_session(&mut *tx, &new).await?;
                audit::append(&mut tx, &login_event(&user, id, &new), now).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn session_by_token_hash(
                &self,
                token_hash: &str,
            ) -> StoreResult<Option<crate::store::StoredSession>> {
                use crate::store::rows::sessions::stored_session;
                let mut tx = self.begin_read().await?;
                let Some(row) = sessions::session_row(&mut *tx, token_hash).await? else {
                    return Ok(None);
                };
                let user = accounts::user(&mut *tx, UserId(row.user_id))
                    .await?
                    .ok_or(StoreError::NotFound("user"))?;
                tx.commit().await?;
                Ok(Some(stored_session(row, user)?))
            }

            async fn touch_session(&self, id: i64, now: OffsetDateTime) -> StoreResult<()> {
                sessions::touch_session(&self.pool, id, now).await
            }

            async fn end_session(&self, id: i64, now: OffsetDateTime) -> StoreResult<bool> {
                use crate::store::rows::sessions::logout_event;
                let mut tx = self.begin_write().await?;
                let Some((user_id, client)) = sessions::delete_session(&mut *tx, id).await? else {
                    return Ok(false);
                };
                let user = accounts::user(&mut *tx, user_id).await?;
                let event = logout_event(id, user_id, user, client);
                audit::append(&mut tx, &event, to_ms(now)).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn end_user_sessions(
                &self,
                user_id: UserId,
                by: AuditActor,
                now: OffsetDateTime,
            ) -> StoreResult<u64> {
                use crate::store::rows::sessions::sessions_ended_event;
                let mut tx = self.begin_write().await?;
                let user = accounts::user(&mut *tx, user_id)
                    .await?
                    .ok_or(StoreError::NotFound("user"))?;
                let ended = sessions::delete_user_sessions(&mut *tx, user_id).await?;
                if ended > 0 {
                    let event = sessions_ended_event(AuditAction::AuthLogout, &user, ended, by);
                    audit::append(&mut tx, &event, to_ms(now)).await?;
                }
                tx.commit().await?;
                Ok(ended)
            }

            async fn purge_expired_logins(
                &self,
                now: OffsetDateTime,
                idle_cutoff: OffsetDateTime,
                failures_cutoff: OffsetDateTime,
            ) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                sessions::delete_expired_sessions(&mut *tx, now, idle_cutoff).await?;
                sessions::delete_expired_failures(&mut *tx, failures_cutoff, now).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn login_failures(
                &self,
                key: &crate::store::ThrottleKey,
            ) -> StoreResult<Option<crate::store::LoginFailures>> {
                sessions::login_failures(&self.pool, key).await
            }

            async fn record_login_failure(
                &self,
                failure: &crate::store::FailedLogin,
                counted: &[(crate::store::ThrottleKey, crate::store::ThrottleRule)],
                now: OffsetDateTime,
            ) -> StoreResult<()> {
                use crate::store::LoginFailures;
                use crate::store::rows::sessions::{locked_event, login_failed_event};
                let at = to_ms(now);
                let mut tx = self.begin_write().await?;
                audit::append(&mut tx, &login_failed_event(failure), at).await?;
                for (key, rule) in counted {
                    // Counts one failure against `key` inside this write
                    // transaction (so two failures at once both count), auditing
                    // the lock when this failure starts one.
                    let previous = sessions::login_failures(&mut *tx, key).await?;
                    let next = LoginFailures::after_failure(previous.as_ref(), now, rule);
                    sessions::store_login_failures(&mut *tx, key, &next).await?;
                    let was_locked = previous.and_then(|p| p.locked_for(now)).is_some();
                    if let (Some(until), false) = (next.locked_until, was_locked) {
                        let event = locked_event(key, rule, &next, until);
                        audit::append(&mut tx, &event, to_ms(now)).await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            async fn clear_login_failures(&self, key: &crate::store::ThrottleKey) -> StoreResult<()> {
                // In a write transaction: a failure being counted for the
                // same key (read, then written back) must not straddle it.
                let mut tx = self.begin_write().await?;
                sessions::clear_login_failures(&mut *tx, key).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(name = %new.name))]
            async fn insert_request(&self, new: NewRequest) -> StoreResult<SubdomainRequest> {
                let mut tx = self.begin_write().await?;
                let id = requests::insert(&mut tx, &new).await?;
                let request = requests::fetch_written(&mut tx, id).await?;
                let event = AuditEvent::new(
                    AuditAction::RequestSubmitted,
                    AuditActor::User(new.submitted_by),
                )
                .with_detail(json!({
                    "reference": request.reference,
                    "kind": new.kind.as_str(),
                    "records": new.records,
                    "previous_records": new.previous_records,
                    "purpose": new.purpose,
                    "letter_number": new.letter_number,
                    "letter_date": new.letter_date.to_string(),
                    "due_at": to_ms(new.due_at),
                }));
                audit::append_for_request(&mut tx, id, event, now_ms()).await?;
                tx.commit().await?;
                Ok(request)
            }

            async fn request(&self, id: RequestId) -> StoreResult<Option<SubdomainRequest>> {
                requests::fetch(&self.pool, id).await
            }

            async fn list_requests(&self, filter: &RequestFilter) -> StoreResult<Page<SubdomainRequest>> {
                // A read transaction: the page and the total see one snapshot.
                let mut tx = self.begin_read().await?;
                let page = requests::list(&mut tx, filter).await?;
                tx.commit().await?;
                Ok(page)
            }

            async fn transitions(&self, id: RequestId) -> StoreResult<Vec<Transition>> {
                requests::transitions(&self.pool, id).await
            }

            #[tracing::instrument(level = "debug", skip_all, fields(request = %id))]
            async fn attach_letter(
                &self,
                id: RequestId,
                letter: Letter,
                by: Actor,
            ) -> StoreResult<SubdomainRequest> {
                let now = now_ms();
                let mut tx = self.begin_write().await?;
                requests::attach_letter(&mut tx, id, &letter, now).await?;
                let event = AuditEvent::new(AuditAction::LetterUploaded, by.into())
                    .with_detail(json!({ "sha256": letter.sha256, "size": letter.size }));
                audit::append_for_request(&mut tx, id, event, now).await?;
                let request = requests::fetch_written(&mut tx, id).await?;
                tx.commit().await?;
                Ok(request)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(request = %id))]
            async fn revise_request(
                &self,
                id: RequestId,
                revision: RequestRevision,
                actor: Actor,
            ) -> StoreResult<SubdomainRequest> {
                let now = now_ms();
                let mut tx = self.begin_write().await?;
                requests::revise(&mut tx, id, &revision, actor, now).await?;
                let event = AuditEvent::new(AuditAction::RequestRevised, actor.into()).with_detail(json!({
                    "records": revision.records,
                    "previous_records": revision.previous_records,
                    "purpose": revision.purpose,
                    "letter_number": revision.letter_number,
                    "letter_date": revision.letter_date.to_string(),
                    // The office's clock stopped while the PD revised: the due
                    // time moves later by that working time.
                    "due_at": to_ms(revision.due_at),
                    "due_uncertain": revision.due_uncertain,
                    "paused_working_ms": u64::try_from(revision.paused.as_millis()).unwrap_or(u64::MAX),
                }));
                audit::append_for_request(&mut tx, id, event, now).await?;
                let request = requests::fetch_written(&mut tx, id).await?;
                tx.commit().await?;
                Ok(request)
            }

            #[tracing::instrument(
                level = "debug",
                skip_all,
                fields(request = %change.request_id, from = %change.from, to = %change.to)
            )]
            async fn transition(&self, change: StateChange) -> StoreResult<SubdomainRequest> {
                let now = now_ms();
                let mut tx = self.begin_write().await?;
                requests::apply_change(&mut tx, &change, now).await?;
                audit::append_for_request(&mut tx, change.request_id, change_event(&change), now).await?;
                let request = requests::fetch_written(&mut tx, change.request_id).await?;
                tx.commit().await?;
                Ok(request)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(requests = members.len()))]
            async fn activate_many(
                &self,
                members: &[(RequestId, JobFence)],
            ) -> StoreResult<Vec<SubdomainRequest>> {
                let now = now_ms();
                let mut tx = self.begin_write().await?;
                let mut activated = Vec::with_capacity(members.len());
                let mut audited = Vec::with_capacity(members.len());
                let fences: Vec<JobFence> = members.iter().map(|&(_, fence)| fence).collect();
                jobs::check_fences(&mut tx, &fences).await?;
                let changes: Vec<StateChange> = members
                    .iter()
                    .map(|&(id, _)| {
                        let mut change = StateChange::new(
                            id,
                            RequestState::Verifying,
                            RequestState::Active,
                            Actor::System,
                        );
                        change.note = Some(ACTIVE_NOTE.to_owned());
                        change
                    })
                    .collect();
                requests::apply_changes(&mut tx, &changes, now).await?;
                audited.extend(changes.iter().map(|c| (c.request_id, change_event(c))));
                let ids: Vec<RequestId> = members.iter().map(|&(id, _)| id).collect();
                let mut written: HashMap<RequestId, SubdomainRequest> = requests::fetch_many(&mut tx, &ids)
                    .await?
                    .into_iter()
                    .map(|r| (r.id, r))
                    .collect();
                for id in ids {
                    // Just moved to active in this transaction: it is there.
                    let request = written.remove(&id).ok_or(StoreError::NotFound("request"))?;
                    activated.push(request);
                }
                catalogue::apply_many(&mut tx, &activated, now).await?;
                zone::versions_from_requests(&mut tx, &activated, now).await?;
                // A batch's entries are chained in memory and written at once.
                audit::append_for_requests(&mut tx, audited, now).await?;
                tx.commit().await?;
                Ok(activated)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(request = %id, job = %fence.job_id))]
            async fn issue_confirmation(
                &self,
                id: RequestId,
                fence: JobFence,
                mail: NewMail,
                confirmation: Option<MailAttachment>,
            ) -> StoreResult<SubdomainRequest> {
                let now = now_ms();
                let mut tx = self.begin_write().await?;
                jobs::check_fence(&mut *tx, fence).await?;
                let request = requests::fetch_written(&mut tx, id).await?;
                if request.state != RequestState::Active {
                    return Err(StoreError::StateMismatch {
                        expected: RequestState::Active,
                        actual: request.state,
                    });
                }
                if let Some(confirmation) = &confirmation {
                    requests::record_confirmation(&mut *tx, id, &confirmation.letter).await?;
                }
                // The letter's hash in the audit chain: a copy of the PDF
                // can be checked against what dnsdesk issued.
                let event = AuditEvent::new(AuditAction::ConfirmationIssued, AuditActor::System)
                    .with_detail(json!({
                        "confirmation_sha256": confirmation.as_ref().map(|c| &c.letter.sha256),
                        "confirmation_size": confirmation.as_ref().map(|c| c.letter.size),
                    }));
                audit::append_for_request(&mut tx, id, event, now).await?;
                outbox::queue(&mut *tx, Some(id), &mail, confirmation.as_ref(), now).await?;
                jobs::finish(&mut tx, fence, now).await?;
                let request = requests::fetch_written(&mut tx, id).await?;
                tx.commit().await?;
                Ok(request)
            }

            async fn open_request_for_name(&self, name: &str) -> StoreResult<Option<SubdomainRequest>> {
                requests::open_for_name(&self.pool, name).await
            }

            async fn subdomain(&self, name: &str) -> StoreResult<Option<Subdomain>> {
                catalogue::subdomain(&self.pool, name).await
            }

            async fn claims_near(&self, name: &str, ancestors: &[String]) -> StoreResult<Vec<NameClaim>> {
                catalogue::claims_near(&self.pool, name, ancestors).await
            }

            async fn list_subdomains(
                &self,
                agency_id: Option<AgencyId>,
                limit: i64,
                offset: i64,
            ) -> StoreResult<Page<Subdomain>> {
                let mut tx = self.begin_read().await?;
                let page = catalogue::list(&mut tx, agency_id, limit, offset).await?;
                tx.commit().await?;
                Ok(page)
            }

            async fn claim_jobs(
                &self,
                now: OffsetDateTime,
                lease: Duration,
                limit: usize,
            ) -> StoreResult<Vec<Job>> {
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                let mut tx = self.begin_claim().await?;
                let mut claimed = jobs::claim(&mut tx, to_ms(now), lease, limit).await?;
                tx.commit().await?;
                claimed.sort_by_key(|job| job.id.0);
                Ok(claimed)
            }

            async fn next_job_due(&self) -> StoreResult<Option<OffsetDateTime>> {
                from_ms_opt("jobs.run_at", jobs::next_due(&self.pool).await?)
            }

            async fn reschedule_job(&self, fence: JobFence, run_at: OffsetDateTime) -> StoreResult<()> {
                jobs::reschedule(&self.pool, fence, to_ms(run_at), now_ms()).await
            }

            async fn finish_job(&self, fence: JobFence) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                jobs::finish(&mut tx, fence, now_ms()).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(attempts = attempts.len()))]
            async fn begin_attempts(&self, attempts: &[OutgoingAttempt]) -> StoreResult<Vec<i64>> {
                let now = now_ms();
                let mut tx = self.begin_write().await?;
                let mut audited = Vec::with_capacity(2 * attempts.len());
                // Every job still held, read once; nothing else writes until commit.
                let fences: Vec<JobFence> = attempts.iter().map(|a| a.fence).collect();
                jobs::check_fences(&mut tx, &fences).await?;
                let starting: Vec<StateChange> = attempts
                    .iter()
                    .filter_map(|outgoing| {
                        let note = outgoing.start_note.as_ref()?;
                        let mut change = StateChange::new(
                            outgoing.request_id,
                            RequestState::Approved,
                            RequestState::Provisioning,
                            Actor::System,
                        );
                        change.note = Some(note.clone());
                        Some(change)
                    })
                    .collect();
                requests::apply_changes(&mut tx, &starting, now).await?;
                audited.extend(starting.iter().map(|c| (c.request_id, change_event(c))));
                let new: Vec<jobs::NewAttempt> = attempts
                    .iter()
                    .map(|outgoing| jobs::NewAttempt {
                        request_id: outgoing.request_id,
                        server: &outgoing.server,
                        key_name: &outgoing.key_name,
                        message: &outgoing.message,
                        serial_before: outgoing.serial_before,
                    })
                    .collect();
                let ids = jobs::insert_attempts(&mut tx, &new, now).await?;
                for (outgoing, id) in attempts.iter().zip(&ids) {
                    // Before the UPDATE leaves: an update whose answer is lost in a
                    // crash is on record all the same.
                    let event = AuditEvent::new(AuditAction::DnsUpdateSent, AuditActor::System)
                        .with_detail(json!({
                            "attempt": id,
                            "server": outgoing.server,
                            "key": outgoing.key_name,
                            "message": outgoing.message,
                            "serial_before": outgoing.serial_before,
                            "requests_in_message": outgoing.batch_size,
                        }));
                    audited.push((outgoing.request_id, event));
                }
                audit::append_for_requests(&mut tx, audited, now).await?;
                tx.commit().await?;
                Ok(ids)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(attempts = results.len()))]
            async fn finish_attempts(&self, results: &[AttemptResult]) -> StoreResult<()> {
                let now = now_ms();
                let mut tx = self.begin_write().await?;
                let mut audited = Vec::with_capacity(2 * results.len());
                let fences: Vec<JobFence> = results
                    .iter()
                    .filter_map(|r| r.verifying.as_ref().map(|v| v.fence))
                    .collect();
                jobs::check_fences(&mut tx, &fences).await?;
                let mut verifying_now = Vec::with_capacity(fences.len());
                let ends: Vec<(i64, jobs::AttemptEnd)> = results
                    .iter()
                    .map(|result| {
                        let end = jobs::AttemptEnd {
                            outcome: result.outcome,
                            rcode: result.rcode.as_deref(),
                            detail: result.detail.as_deref(),
                            serial_after: result.serial_after,
                        };
                        (result.attempt_id, end)
                    })
                    .collect();
                jobs::finish_attempts(&mut tx, &ends, now).await?;
                let ids: Vec<i64> = results.iter().map(|r| r.attempt_id).collect();
                let starts = jobs::attempt_starts(&mut tx, &ids).await?;
                for result in results {
                    let row = starts
                        .get(&result.attempt_id)
                        .ok_or(StoreError::NotFound("attempt"))?;
                    let event = AuditEvent::new(AuditAction::DnsUpdateAnswered, AuditActor::System)
                        .with_detail(json!({
                            "attempt": result.attempt_id,
                            "server": row.server,
                            "key": row.key_name,
                            "outcome": result.outcome.as_str(),
                            "rcode": result.rcode,
                            "detail": result.detail,
                            "serial_before": row.serial_before,
                            "serial_after": result.serial_after,
                            "duration_ms": now - row.started_at_ms,
                        }));
                    audited.push((row.request_id, event));
                    if let Some(verifying) = &result.verifying {
                        let mut change = StateChange::new(
                            verifying.request_id,
                            RequestState::Provisioning,
                            RequestState::Verifying,
                            Actor::System,
                        );
                        change.serial_after = result.serial_after;
                        change.verify_deadline = Some(verifying.deadline);
                        change.note = Some(verifying.note.clone());
                        audited.push((verifying.request_id, change_event(&change)));
                        verifying_now.push(change);
                    }
                }
                requests::apply_changes(&mut tx, &verifying_now, now).await?;
                audit::append_for_requests(&mut tx, audited, now).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn attempts(&self, request_id: RequestId) -> StoreResult<Vec<DnsAttempt>> {
                jobs::attempts(&self.pool, request_id).await
            }

            async fn requests_with_attempts(
                &self,
                ids: &[RequestId],
            ) -> StoreResult<Vec<(SubdomainRequest, Vec<DnsAttempt>)>> {
                // One snapshot: a request and its attempts as they stood together.
                let mut tx = self.begin_read().await?;
                let requests = requests::fetch_many(&mut tx, ids).await?;
                let mut attempts = jobs::attempts_of(&mut tx, ids).await?;
                tx.commit().await?;
                Ok(requests
                    .into_iter()
                    .map(|r| {
                        let of = attempts.remove(&r.id).unwrap_or_default();
                        (r, of)
                    })
                    .collect())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(requests = checks.len()))]
            async fn record_checks_many(
                &self,
                checks: &[(RequestId, Vec<ServerCheck>)],
            ) -> StoreResult<()> {
                let now = now_ms();
                let mut tx = self.begin_write().await?;
                let mut audited = Vec::new();
                let requests: Vec<RequestId> = checks.iter().map(|(id, _)| *id).collect();
                let previous = jobs::checks_of(&mut tx, &requests).await?;
                jobs::record_checks_many(&mut tx, checks).await?;
                for (request_id, checks) in checks {
                    let before = previous.get(request_id).map_or(&[][..], Vec::as_slice);
                    // Each server's answer is audited when it differs from its last
                    // one: a verification polls often, and repeats say nothing new.
                    for check in checks {
                        let seen = before.iter().any(|b| {
                            b.server == check.server && b.matches == check.matches && b.report == check.report
                        });
                        if !seen {
                            let event = AuditEvent::new(AuditAction::DnsVerification, AuditActor::System)
                                .with_detail(json!({
                                    "server": check.server,
                                    "matches": check.matches,
                                    "report": check.report,
                                }));
                            audited.push((*request_id, event));
                        }
                    }
                }
                audit::append_for_requests(&mut tx, audited, now).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn checks(&self, request_id: RequestId) -> StoreResult<Vec<ServerCheck>> {
                jobs::checks(&self.pool, request_id).await
            }

            async fn pending_mail(&self, limit: i64) -> StoreResult<Vec<OutgoingMail>> {
                outbox::pending(&self.pool, limit).await
            }

            async fn mark_mail_sent(&self, id: i64) -> StoreResult<()> {
                outbox::mark_sent(&self.pool, id, now_ms()).await
            }

            async fn mark_mail_failed(&self, id: i64, error: &str) -> StoreResult<()> {
                outbox::mark_failed(&self.pool, id, error).await
            }

            async fn abandon_mail(&self, id: i64, error: &str) -> StoreResult<()> {
                outbox::abandon(&self.pool, id, error, now_ms()).await
            }

            async fn queue_mail(&self, mail: NewMail) -> StoreResult<()> {
                outbox::queue(&self.pool, None, &mail, None, now_ms()).await
            }

            async fn append_audit(&self, event: AuditEvent) -> StoreResult<AuditEntry> {
                let mut tx = self.begin_write().await?;
                let entry = audit::append(&mut tx, &event, now_ms()).await?;
                tx.commit().await?;
                Ok(entry)
            }

            async fn audit_page(&self, filter: &AuditFilter) -> StoreResult<Page<AuditEntry>> {
                let mut tx = self.begin_read().await?;
                let page = audit::list(&mut tx, filter).await?;
                tx.commit().await?;
                Ok(page)
            }

            async fn audit_range(&self, after_seq: i64, limit: i64) -> StoreResult<Vec<AuditEntry>> {
                audit::range(&self.pool, after_seq, limit).await
            }

            async fn audit_head(&self) -> StoreResult<(i64, String)> {
                audit::head(&self.pool).await
            }

            async fn name_history(&self, name: &str) -> StoreResult<Vec<NameVersion>> {
                zone::history(&self.pool, name).await
            }

            async fn record_drift_run(
                &self,
                primary_serial: Option<u32>,
                findings: &[NewFinding],
            ) -> StoreResult<Vec<DriftFinding>> {
                let mut tx = self.begin_write().await?;
                let opened = zone::record_run(&mut tx, primary_serial, findings, now_ms()).await?;
                tx.commit().await?;
                Ok(opened)
            }

            async fn record_failed_drift_run(&self, error: &str) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                zone::record_failed_run(&mut tx, error, now_ms()).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn drift_findings(&self, open_only: bool) -> StoreResult<Vec<DriftFinding>> {
                zone::findings(&self.pool, open_only).await
            }

            async fn last_drift_run(&self) -> StoreResult<Option<DriftRun>> {
                zone::last_run(&self.pool).await
            }

            async fn adopt_drift(
                &self,
                id: i64,
                records: &[RecordInput],
                serial: Option<u32>,
                by: UserId,
                note: Option<&str>,
            ) -> StoreResult<DriftFinding> {
                let mut tx = self.begin_write().await?;
                let finding = zone::adopt(&mut tx, id, records, serial, by, note, now_ms()).await?;
                tx.commit().await?;
                Ok(finding)
            }

            async fn restore_drift(
                &self,
                id: i64,
                request: NewRequest,
                approved_digest: String,
                by: UserId,
                note: Option<&str>,
            ) -> StoreResult<(DriftFinding, SubdomainRequest)> {
                let now = now_ms();
                let mut tx = self.begin_write().await?;
                let finding = zone::open_changed_finding(&mut tx, id).await?;
                let request_id = requests::insert(&mut tx, &request).await?;
                let filed = requests::fetch_written(&mut tx, request_id).await?;
                let event = AuditEvent::new(AuditAction::RequestSubmitted, AuditActor::User(by))
                    .with_detail(json!({
                        "reference": filed.reference,
                        "kind": request.kind.as_str(),
                        "records": request.records,
                        "previous_records": request.previous_records,
                        "purpose": request.purpose,
                        "drift_finding": id,
                    }));
                audit::append_for_request(&mut tx, request_id, event, now).await?;
                let mut change = StateChange::new(
                    request_id,
                    RequestState::Submitted,
                    RequestState::Approved,
                    Actor::User(by),
                );
                change.job = JobEffect::Enqueue;
                change.approved_digest = Some(approved_digest);
                change.note = Some(format!(
                    "restoring dnsdesk's record after drift finding {id}"
                ));
                requests::apply_change(&mut tx, &change, now).await?;
                audit::append_for_request(&mut tx, request_id, change_event(&change), now).await?;
                let closed = zone::close_restored(&mut tx, finding, request_id, by, note, now).await?;
                let request = requests::fetch_written(&mut tx, request_id).await?;
                tx.commit().await?;
                Ok((closed, request))
            }

            async fn sla_facts(
                &self,
                from: OffsetDateTime,
                to: OffsetDateTime,
            ) -> StoreResult<Vec<crate::store::SlaFacts>> {
                reports::submitted_between(&self.pool, from, to).await
            }

            async fn overdue_requests(
                &self,
                now: OffsetDateTime,
            ) -> StoreResult<Vec<crate::store::SlaFacts>> {
                reports::overdue(&self.pool, now).await
            }

            async fn calendar_edits(&self) -> StoreResult<Vec<crate::calendar::CalendarEdit>> {
                calendar::edits(&self.pool).await
            }

            async fn record_calendar_edit(
                &self,
                edit: &crate::calendar::CalendarEdit,
                by: AuditActor,
            ) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                calendar::record(&mut tx, edit, by, now_ms()).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn assign_name(
                &self,
                name: &str,
                agency_id: AgencyId,
                by: AuditActor,
            ) -> StoreResult<Subdomain> {
                let now = now_ms();
                let mut tx = self.begin_write().await?;
                if requests::open_for_name(&mut *tx, name).await?.is_some() {
                    return Err(StoreError::Conflict(
                        crate::store::Constraint::OpenRequestForName,
                    ));
                }
                let before = catalogue::subdomain(&mut *tx, name)
                    .await?
                    .ok_or(StoreError::NotFound("subdomain"))?;
                catalogue::set_agency(&mut *tx, name, agency_id, now).await?;
                let mut event = AuditEvent::new(AuditAction::NameAssigned, by).with_detail(json!({
                    "from_agency": before.agency_id.map(|a| a.0),
                    "to_agency": agency_id.0,
                }));
                event.name = Some(name.to_owned());
                event.agency_id = Some(agency_id);
                audit::append(&mut tx, &event, now).await?;
                let after = catalogue::subdomain(&mut *tx, name)
                    .await?
                    .ok_or(StoreError::NotFound("subdomain"))?;
                tx.commit().await?;
                Ok(after)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(names = import.names.len()))]
            async fn import_names(
                &self,
                import: &crate::store::ZoneImport,
                by: AuditActor,
            ) -> StoreResult<Vec<crate::store::ImportOutcome>> {
                use crate::store::ImportOutcome;
                let now = now_ms();
                let mut tx = self.begin_write().await?;
                // A zone's names at once: one read of the open requests, one
                // insert each for the catalogue, the versions and the audit
                // entries (a per-name round of statements made a 10,000-name
                // import take seconds).
                let names: Vec<&str> = import.names.iter().map(|n| n.name.as_str()).collect();
                let mut open = requests::open_for_names(&mut *tx, &names).await?;
                let free: Vec<crate::store::ImportedName> = import
                    .names
                    .iter()
                    .filter(|n| !open.contains_key(&n.name))
                    .cloned()
                    .collect();
                let written = catalogue::insert_imported(&mut tx, &free, now).await?;
                let imported: Vec<crate::store::ImportedName> =
                    free.into_iter().filter(|n| written.contains(&n.name)).collect();
                zone::versions_imported(&mut tx, &imported, import.serial, now).await?;
                let events = imported
                    .iter()
                    .map(|name| {
                        let mut event = AuditEvent::new(AuditAction::NameImported, by.clone())
                            .with_detail(json!({
                                "records": name.records,
                                "serial": import.serial,
                                "source": import.source,
                            }));
                        event.name = Some(name.name.clone());
                        event.agency_id = name.agency_id;
                        event
                    })
                    .collect();
                audit::append_many(&mut tx, events, now).await?;
                tx.commit().await?;
                Ok(import
                    .names
                    .iter()
                    .map(|n| match open.remove(&n.name) {
                        Some(reference) => ImportOutcome::OpenRequest(reference),
                        None if written.contains(&n.name) => ImportOutcome::Imported,
                        None => ImportOutcome::AlreadyManaged,
                    })
                    .collect())
            }

            /// Inserts the complaint under a fresh code with its `complaint.filed`
            /// entry.
            async fn insert_complaint(
                &self,
                new: crate::store::NewComplaint,
            ) -> StoreResult<crate::model::Complaint> {
                use crate::store::rows::complaints::{CODE_ATTEMPTS, codes_taken, filed_event};
                let now = now_ms();
                let mut tx = self.begin_write().await?;
                let mut id = None;
                for _ in 0..CODE_ATTEMPTS {
                    // A taken code inserts nothing (the unique index decides, so two
                    // concurrent filings cannot share one) and the next is drawn.
                    // `ON CONFLICT DO NOTHING` raises no error, so the transaction is
                    // not aborted (in PostgreSQL) and goes on with the next code.
                    id = complaints::insert(&mut *tx, &new, &crate::model::TrackingCode::random(), now)
                        .await?;
                    if id.is_some() {
                        break;
                    }
                }
                let id = id.ok_or_else(codes_taken)?;
                audit::append(&mut tx, &filed_event(id, &new), now).await?;
                // The complaint this transaction has just written.
                let complaint = complaints::fetch(&mut *tx, id)
                    .await?
                    .ok_or(StoreError::NotFound("complaint"))?;
                tx.commit().await?;
                Ok(complaint)
            }

            async fn complaint(
                &self,
                id: crate::model::ComplaintId,
            ) -> StoreResult<Option<crate::model::Complaint>> {
                complaints::fetch(&self.pool, id).await
            }

            async fn complaint_by_code(
                &self,
                code: &crate::model::TrackingCode,
            ) -> StoreResult<Option<crate::model::Complaint>> {
                complaints::by_code(&self.pool, code).await
            }

            /// A page of complaints with the total, in one read transaction.
            async fn list_complaints(
                &self,
                filter: &crate::store::ComplaintFilter,
            ) -> StoreResult<Page<crate::model::Complaint>> {
                let mut tx = self.begin_read().await?;
                let page = complaints::list(&mut tx, filter).await?;
                tx.commit().await?;
                Ok(page)
            }

            async fn complaint_notes(
                &self,
                id: crate::model::ComplaintId,
            ) -> StoreResult<Vec<crate::model::ComplaintNote>> {
                complaints::notes(&self.pool, id).await
            }

            async fn complaint_responses(
                &self,
                id: crate::model::ComplaintId,
            ) -> StoreResult<Vec<crate::model::ComplaintResponse>> {
                complaints::responses(&self.pool, id).await
            }

            /// Applies `step` if the complaint's current state allows it, with its
            /// audit entry.
            async fn complaint_step(
                &self,
                id: crate::model::ComplaintId,
                step: crate::model::ComplaintStep,
                by: UserId,
            ) -> StoreResult<crate::model::Complaint> {
                use crate::model::ComplaintStep;
                use crate::store::rows::complaints::{
                    Entry, classified_detail, resolved_detail, step_event,
                };
                let now = now_ms();
                let mut tx = self.begin_write().await?;
                // Read inside the write transaction: two officers acting at once are
                // serialised, and the second sees what the first did.
                let before = complaints::fetch(&mut *tx, id)
                    .await?
                    .ok_or(StoreError::NotFound("complaint"))?;
                let state = step
                    .allowed_from(before.state)
                    .ok_or(StoreError::ComplaintStateMismatch {
                        actual: before.state,
                    })?;
                let (action, detail) = match &step {
                    ComplaintStep::Classify {
                        category,
                        due_at,
                        due_uncertain,
                    } => {
                        complaints::classify(
                            &mut *tx, id, *category, *due_at, *due_uncertain, state, now,
                        )
                        .await?;
                        let detail =
                            classified_detail(*category, before.category, *due_at, *due_uncertain);
                        (AuditAction::ComplaintClassified, detail)
                    }
                    ComplaintStep::Assign { to } => {
                        complaints::assign(&mut *tx, id, *to).await?;
                        // The usernames, for the audit log (staff names are not
                        // personal data of the complainant).
                        let assigned_to = match to {
                            Some(user) => accounts::user(&mut *tx, *user).await?.map(|u| u.username),
                            None => None,
                        };
                        let previously = match before.assigned_to {
                            Some(user) => accounts::user(&mut *tx, user).await?.map(|u| u.username),
                            None => None,
                        };
                        let detail = json!({
                            "assigned_to": assigned_to,
                            "previously": previously,
                        });
                        (AuditAction::ComplaintAssigned, detail)
                    }
                    ComplaintStep::Note { body } => {
                        let note =
                            complaints::insert_entry(&mut *tx, Entry::Note, id, body, by, now).await?;
                        (AuditAction::ComplaintNoted, json!({ "note": note }))
                    }
                    ComplaintStep::Respond { body } => {
                        let response =
                            complaints::insert_entry(&mut *tx, Entry::Response, id, body, by, now)
                                .await?;
                        complaints::set_state(&mut *tx, id, state).await?;
                        (AuditAction::ComplaintAnswered, json!({ "response": response }))
                    }
                    ComplaintStep::Resolve { resolution } => {
                        complaints::resolve(&mut *tx, id, state, resolution, now).await?;
                        let detail = resolved_detail(before.due_at, now);
                        (AuditAction::ComplaintResolved, detail)
                    }
                };
                let event = step_event(action, detail, id, state, by, before.agency_id);
                audit::append(&mut tx, &event, now).await?;
                // The complaint this transaction has just written.
                let complaint = complaints::fetch(&mut *tx, id)
                    .await?
                    .ok_or(StoreError::NotFound("complaint"))?;
                tx.commit().await?;
                Ok(complaint)
            }

            async fn periodic_lease(&self) -> StoreResult<Option<crate::store::PeriodicLease>> {
                self.take_periodic_lease().await
            }

            async fn checkpoint_log(&self) -> StoreResult<()> {
                self.checkpoint_wal().await
            }
        }
        }
    };
}

pub(super) use compose_store;
