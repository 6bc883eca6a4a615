//! The provisioning worker (step c of the service standard): claims
//! approved requests' jobs, sends each request's one UPDATE to the
//! primary, verifies every authoritative server, and activates.
//!
//! Every step is idempotent and resumable: the job is claimed under a
//! lease with a fencing token, an UPDATE is recorded before it is sent, and
//! after a crash (or a lost answer) the zone is read back before anything
//! is sent again. So a request reaches `active` exactly once whatever
//! happens between approval and activation.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::{RData, RecordType};
use provisioner::client::{query, send_notify, send_update, soa_serial};
use provisioner::error::{UpdateError, rcode_name};
use provisioner::name::display_name;
use provisioner::plan::rr_text;
use provisioner::verify::{
    AddressSource, Expectation, NameServerReport, ServerReport, Verdict, check_all,
    check_delegations, holds_exactly, observe, questions_for,
};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::app::App;
use crate::calendar::format_wib;
use crate::confirmation::{self, ConfirmationLetter, IssuingUnit};
use crate::error::ServiceError;
use crate::model::{
    Actor, Agency, AttemptOutcome, DnsAttempt, Job, MailAttachment, RequestId, RequestKind,
    RequestState, ServerCheck, SubdomainRequest,
};
use crate::service::{RequestPlan, plan_of};
use crate::store::{JobEffect, JobFence, NewMail, StateChange, StoreError};

mod batch;

/// Why one job step stopped early.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Runs jobs until `shutdown` turns true.
pub async fn run(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    tracing::info!("provisioning worker started");
    let letters = Letters::default();
    // Batches' verifications, each running while later rounds are sent.
    // Stopping drops (aborts) them: their jobs are held under a lease and
    // taken up again after it, as after a crash.
    let mut verifications = tokio::task::JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        match app
            .store
            .claim_jobs(
                app.now(),
                app.timing.lease,
                app.timing.batch_size * batch::MESSAGES_PER_ROUND,
            )
            .await
        {
            Ok(jobs) if !jobs.is_empty() => {
                work(&app, jobs, &letters, &mut verifications).await;
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "cannot claim a job"),
        }
        // Nothing to provision: the letters of batches activated earlier.
        // One at a time, so new approvals come first.
        // Finished verifications are reaped here; a panic in one is logged.
        while let Some(done) = verifications.try_join_next() {
            if let Err(e) = done {
                tracing::error!(error = %e, "a batch verification ended abnormally");
            }
        }
        let next = letters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop_front();
        if let Some((job, request)) = next {
            if let Err(e) = confirm(&app, JobFence::from(&job), &request).await {
                step_failed(&app, &job, &e).await;
            }
            continue;
        }
        let wait = match app.store.next_job_due().await {
            Ok(Some(due)) => {
                let left = due - app.now();
                Duration::try_from(left)
                    .unwrap_or(Duration::ZERO)
                    .min(Duration::from_secs(1))
            }
            _ => Duration::from_secs(1),
        };
        tokio::select! {
            _ = app.jobs_queued.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!("provisioning worker stopped");
}

/// Requests a batch activated, waiting for their confirmation letters.
/// Letters wait while there is provisioning to do: rendering thousands of
/// them must not hold back the rest of a backlog. Their jobs stay held;
/// if this process stops first, or a lease ends, whoever claims the job
/// issues the letter ([`process`]).
/// Shared with the batches' verification tasks, which add to it.
type Letters = Arc<std::sync::Mutex<VecDeque<(Job, SubdomainRequest)>>>;

/// How many batches may be verifying at once while the worker sends the
/// next: one verifies while the following round is recorded and sent.
const VERIFICATIONS_IN_FLIGHT: usize = 2;

/// Takes claimed jobs as far as they can go now: fresh approvals together
/// in batches ([`batch`]), every other job (a retry, a job taken over
/// after a crash, a verification that was waiting) on its own. A batch's
/// verification goes on in `verifications` while the worker claims and
/// sends the next round.
async fn work(
    app: &Arc<App>,
    jobs: Vec<Job>,
    letters: &Letters,
    verifications: &mut tokio::task::JoinSet<()>,
) {
    let mut members = Vec::new();
    let mut apart = Vec::new();
    // A lone job has nothing to share a message with: the one-request
    // path takes it without the batch's reads and plan encoding first
    // (about a millisecond of a reviewer's click-to-active).
    if let [job] = jobs.as_slice() {
        if let Err(e) = process(app, job).await {
            step_failed(app, job, &e).await;
        }
        return;
    }
    let ids: Vec<RequestId> = jobs.iter().map(|j| j.request_id).collect();
    let mut read: HashMap<RequestId, (SubdomainRequest, Vec<DnsAttempt>)> =
        match app.store.requests_with_attempts(&ids).await {
            Ok(rows) => rows.into_iter().map(|(r, a)| (r.id, (r, a))).collect(),
            Err(e) => {
                // Each job then reads its own on the one-request path.
                tracing::warn!(error = %e, "cannot read the claimed requests together");
                HashMap::new()
            }
        };
    for job in jobs {
        let Some((request, attempts)) = read.remove(&job.request_id) else {
            apart.push(job);
            continue;
        };
        match batch::member(app, &job, request, attempts) {
            Ok(Some(member)) => members.push(member),
            Ok(None) => apart.push(job),
            Err(e) => step_failed(app, &job, &e).await,
        }
    }
    if !members.is_empty() {
        let (left, sent) = batch::provision(app, members).await;
        apart.extend(left);
        if !sent.is_empty() {
            while verifications.len() >= VERIFICATIONS_IN_FLIGHT {
                if let Some(Err(e)) = verifications.join_next().await {
                    tracing::error!(error = %e, "a batch verification ended abnormally");
                }
            }
            let (app, letters) = (Arc::clone(app), Arc::clone(letters));
            verifications.spawn(async move {
                if let Err(e) = batch::verify(&app, sent, &letters).await {
                    tracing::error!(error = %e, "batch verification stopped; its jobs are retried after their lease");
                }
            });
        }
    }
    for job in apart {
        if let Err(e) = process(app, &job).await {
            step_failed(app, &job, &e).await;
        }
    }
}

/// Logs why a job's step stopped and hands the job back to be retried,
/// unless another worker holds it now.
async fn step_failed(app: &App, job: &Job, error: &StepError) {
    let request_id = job.request_id;
    match error {
        StepError::Store(StoreError::LeaseLost(_)) => {
            tracing::warn!(%request_id, "lease lost; another worker holds the job now");
        }
        other => {
            tracing::error!(%request_id, error = %other, "provisioning step failed; will retry");
            let retry_at = app.now() + Duration::from_secs(5);
            if let Err(e) = app
                .store
                .reschedule_job(JobFence::from(job), retry_at)
                .await
            {
                tracing::error!(error = %e, "cannot reschedule job");
            }
        }
    }
}

/// Takes one claimed job as far as it can go now.
async fn process(app: &App, job: &Job) -> Result<(), StepError> {
    let fence = JobFence::from(job);
    let Some(mut request) = app.store.request(job.request_id).await? else {
        return Err(StoreError::NotFound("request").into());
    };
    let planned = plan_of(&app.target.zone, &request)?;
    if request.state == RequestState::Approved {
        let mut change = StateChange::new(
            request.id,
            RequestState::Approved,
            RequestState::Provisioning,
            Actor::System,
        );
        change.job = JobEffect::Continue(fence);
        change.note = Some(format!("sending the update to {}", app.target.primary));
        request = app.store.transition(change).await?;
    }
    if request.state == RequestState::Provisioning {
        match provision(app, job, &request, &planned).await? {
            Some(updated) => request = updated,
            None => return Ok(()),
        }
    }
    if request.state == RequestState::Verifying {
        return verify(app, fence, &request, &planned).await;
    }
    // Active with its job still open: the holder that activated it died
    // before telling the PD.
    if request.state == RequestState::Active {
        return confirm(app, fence, &request).await;
    }
    // A job whose request is already settled has nothing left to do.
    tracing::warn!(reference = %request.reference, state = %request.state, "job for a settled request");
    app.store.finish_job(fence).await?;
    Ok(())
}

/// Sends the update (or finds it already applied). Returns the request in
/// `verifying`, or `None` when the job was rescheduled or finished.
async fn provision(
    app: &App,
    job: &Job,
    request: &SubdomainRequest,
    planned: &RequestPlan,
) -> Result<Option<SubdomainRequest>, StepError> {
    let fence = JobFence::from(job);
    let target = &app.target;
    let timeout = app.timing.dns_timeout;

    // An earlier attempt may have been applied: one whose outcome we never
    // learned (a crash while sending, a lost answer), or one the primary
    // accepted whose holder died before the request moved on to
    // `verifying` (another instance takes the job over after the lease).
    // Read the zone before sending again: a second UPDATE would fail its
    // prerequisites against our own change.
    let attempts = app.store.attempts(request.id).await?;
    if maybe_applied(&attempts) {
        let keys = questions_for(&planned.name, &[&planned.before, &planned.after]);
        match observe(target.primary, &keys, timeout).await {
            Ok(now) if holds_exactly(&now, &planned.after, &keys) => {
                tracing::info!(reference = %request.reference, "earlier update was applied; verifying");
                let serial = soa_serial(target.primary, &target.zone, timeout).await.ok();
                return enter_verifying(
                    app,
                    fence,
                    request,
                    serial,
                    "the earlier update had been applied",
                )
                .await
                .map(Some);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "primary unreachable while checking an earlier attempt");
                backoff(app, job).await?;
                return Ok(None);
            }
        }
    }

    let lines = plan_lines(planned);
    // For the record: the serial the update starts from.
    let serial_before = soa_serial(target.primary, &target.zone, timeout).await.ok();
    let attempt = app
        .store
        .begin_attempt(
            fence,
            request.id,
            &target.primary.to_string(),
            &display_name(&target.key.name),
            &lines,
            serial_before,
        )
        .await?;
    let result = send_update(
        target.primary,
        &target.key,
        planned.plan.to_message(),
        timeout,
    )
    .await;
    answered(app, job, request, planned, attempt, &attempts, result).await
}

/// Whether the last UPDATE sent for a request may have been applied: one
/// whose outcome was never learned, or one accepted whose request did not
/// move on. The zone must be read before sending again.
fn maybe_applied(attempts: &[DnsAttempt]) -> bool {
    attempts.last().is_some_and(|a| {
        matches!(
            a.outcome,
            AttemptOutcome::Sending | AttemptOutcome::Unknown | AttemptOutcome::Accepted
        )
    })
}

/// Records what the primary answered to `request`'s UPDATE (its attempt
/// `attempt`; `attempts` are those before it) and moves the request on:
/// to `verifying` (returned), to `conflict` or `failed`, or back to the
/// queue to retry (None).
async fn answered(
    app: &App,
    job: &Job,
    request: &SubdomainRequest,
    planned: &RequestPlan,
    attempt: i64,
    attempts: &[DnsAttempt],
    result: Result<(), UpdateError>,
) -> Result<Option<SubdomainRequest>, StepError> {
    let fence = JobFence::from(job);
    let target = &app.target;
    let timeout = app.timing.dns_timeout;
    match result {
        Ok(()) => {
            let serial = soa_serial(target.primary, &target.zone, timeout).await.ok();
            notify_secondaries(app, serial).await;
            app.store
                .finish_attempt(
                    attempt,
                    AttemptOutcome::Accepted,
                    Some("NOERROR"),
                    None,
                    serial,
                )
                .await?;
            enter_verifying(
                app,
                fence,
                request,
                serial,
                "the primary accepted the update",
            )
            .await
            .map(Some)
        }
        Err(e) if e.is_prerequisite_failure() => {
            let rcode = e.rcode().map(rcode_name);
            let keys = questions_for(&planned.name, &[&planned.before, &planned.after]);
            let zone_now = match observe(target.primary, &keys, timeout).await {
                Ok(now) => {
                    let lines: Vec<String> = now.records().map(|r| rr_text(r, true)).collect();
                    if lines.is_empty() {
                        "nothing".to_owned()
                    } else {
                        lines.join("; ")
                    }
                }
                Err(q) => format!("(could not be read: {q})"),
            };
            let reason = format!(
                "The zone does not hold what dnsdesk recorded for {}: {} answered {}. The zone now holds: {}. Nothing was changed; a network admin must reconcile the zone before a new request.",
                request.name,
                target.primary,
                rcode.as_deref().unwrap_or("an error"),
                zone_now
            );
            refused(
                app,
                fence,
                request,
                attempt,
                rcode.as_deref(),
                RequestState::Conflict,
                reason,
            )
            .await
        }
        Err(e)
            if matches!(e, UpdateError::ServFail { .. })
                && servfails_in_a_row(attempts) + 1 >= app.timing.servfail_attempts =>
        {
            let reason = format!(
                "{} ({} SERVFAIL answers in a row; a network admin can retry once the server is fixed)",
                e.explain(&target.key.name, &target.zone, &planned.name),
                app.timing.servfail_attempts
            );
            tracing::error!(reference = %request.reference, %reason, "update keeps failing");
            refused(
                app,
                fence,
                request,
                attempt,
                Some("SERVFAIL"),
                RequestState::Failed,
                reason,
            )
            .await
        }
        Err(e) if e.is_retryable() => {
            let outcome = if e.outcome_unknown() {
                AttemptOutcome::Unknown
            } else {
                AttemptOutcome::Rejected
            };
            let rcode = e.rcode().map(rcode_name);
            app.store
                .finish_attempt(
                    attempt,
                    outcome,
                    rcode.as_deref(),
                    Some(&e.to_string()),
                    None,
                )
                .await?;
            tracing::warn!(reference = %request.reference, error = %e, "update not applied; will retry");
            backoff(app, job).await?;
            Ok(None)
        }
        Err(e) => {
            let rcode = e.rcode().map(rcode_name);
            let reason = e.explain(&target.key.name, &target.zone, &planned.name);
            tracing::error!(reference = %request.reference, %reason, "update refused");
            refused(
                app,
                fence,
                request,
                attempt,
                rcode.as_deref(),
                RequestState::Failed,
                reason,
            )
            .await
        }
    }
}

/// Records a refused attempt and settles its request in `to` with
/// `reason`; the job is done.
async fn refused(
    app: &App,
    fence: JobFence,
    request: &SubdomainRequest,
    attempt: i64,
    rcode: Option<&str>,
    to: RequestState,
    reason: String,
) -> Result<Option<SubdomainRequest>, StepError> {
    app.store
        .finish_attempt(
            attempt,
            AttemptOutcome::Rejected,
            rcode,
            Some(&reason),
            None,
        )
        .await?;
    settle(app, fence, request, to, reason).await?;
    Ok(None)
}

/// Tells the secondaries the zone changed (RFC 1996), so they transfer now
/// rather than after the primary's notify delay or their refresh timer.
/// Best effort: a secondary that misses it still gets the primary's own
/// NOTIFY, and verification waits for it either way.
async fn notify_secondaries(app: &App, serial: Option<u32>) {
    notify(app, app.target.notify.iter().map(|s| (*s, serial))).await;
}

/// Sends one NOTIFY to each (secondary, serial hint), concurrently; a
/// missing acknowledgement is logged, never fatal.
async fn notify(app: &App, targets: impl Iterator<Item = (SocketAddr, Option<u32>)>) {
    let target = &app.target;
    let sends = targets.map(|(secondary, serial)| async move {
        if let Err(e) = send_notify(
            secondary,
            &target.zone,
            serial,
            None,
            app.timing.dns_timeout,
        )
        .await
        {
            tracing::warn!(%secondary, error = %e, "NOTIFY not acknowledged");
        }
    });
    futures_util::future::join_all(sends).await;
}

/// NOTIFYs again the secondaries that still serve an older serial: the
/// NOTIFY after the update may have been lost, or never sent (dnsdesk
/// stopped in between), and a primary that does not notify (the embedded
/// one) would leave them waiting for their refresh timer.
async fn nudge_laggards(app: &App, reports: &[ServerReport]) {
    let laggards = reports.iter().filter_map(|r| match r.verdict {
        Verdict::Lagging { want, .. } if app.target.notify.contains(&r.server) => {
            Some((r.server, Some(want)))
        }
        _ => None,
    });
    notify(app, laggards).await;
}

/// How many of the latest attempts, in a row, were answered SERVFAIL.
fn servfails_in_a_row(attempts: &[DnsAttempt]) -> usize {
    attempts
        .iter()
        .rev()
        .take_while(|a| a.rcode.as_deref() == Some("SERVFAIL"))
        .count()
}

fn plan_lines(planned: &RequestPlan) -> Vec<String> {
    let rendered = planned.plan.render();
    std::iter::once(format!("zone {}", rendered.zone))
        .chain(rendered.prerequisites)
        .chain(rendered.updates)
        .collect()
}

async fn enter_verifying(
    app: &App,
    fence: JobFence,
    request: &SubdomainRequest,
    serial: Option<u32>,
    note: &str,
) -> Result<SubdomainRequest, StepError> {
    let mut change = StateChange::new(
        request.id,
        RequestState::Provisioning,
        RequestState::Verifying,
        Actor::System,
    );
    change.job = JobEffect::Continue(fence);
    change.serial_after = serial;
    change.verify_deadline = Some(app.now() + app.timing.verify_deadline);
    change.note = Some(verifying_note(note, serial));
    Ok(app.store.transition(change).await?)
}

/// The note on the move to `verifying`, with the serial to wait for.
fn verifying_note(note: &str, serial: Option<u32>) -> String {
    match serial {
        Some(s) => format!("{note} (SOA serial {s})"),
        None => note.to_owned(),
    }
}

/// What every authoritative server must answer once `planned` is in
/// place at `serial` or later.
fn expectation(app: &App, planned: &RequestPlan, serial: Option<u32>) -> Expectation {
    Expectation::new(
        app.target.zone.clone(),
        &planned.before,
        planned.after.clone(),
        serial,
    )
    .with_transfer_key(app.target.transfer_key.clone())
}

async fn settle(
    app: &App,
    fence: JobFence,
    request: &SubdomainRequest,
    to: RequestState,
    reason: String,
) -> Result<(), StepError> {
    let mut change = StateChange::new(request.id, request.state, to, Actor::System);
    change.job = JobEffect::Finish(fence);
    change.note = Some(reason.clone());
    change.reason = Some(reason);
    app.store.transition(change).await?;
    Ok(())
}

/// Retries after timeouts and SERVFAIL: 1 s, 2 s, 4 s ... up to the cap.
async fn backoff(app: &App, job: &Job) -> Result<(), StepError> {
    let exponent = u32::try_from(job.attempts.clamp(1, 20) - 1).unwrap_or(0);
    let delay = Duration::from_secs(1u64 << exponent).min(app.timing.max_backoff);
    app.store
        .reschedule_job(JobFence::from(job), app.now() + delay)
        .await?;
    Ok(())
}

/// Polls every authoritative server until all agree, for about half a
/// lease, then hands the job back to be claimed again; fails the request
/// past its deadline.
async fn verify(
    app: &App,
    fence: JobFence,
    request: &SubdomainRequest,
    planned: &RequestPlan,
) -> Result<(), StepError> {
    let expectation = expectation(app, planned, request.serial_after);
    let delegations = if app.target.check_delegations {
        expectation.delegations()
    } else {
        Vec::new()
    };
    let addresses = AddressSource {
        zone: app.target.zone.clone(),
        zone_server: app.target.primary,
        timeout: app.timing.dns_timeout,
    };
    let deadline = request
        .verify_deadline
        .unwrap_or_else(|| app.now() + app.timing.verify_deadline);
    let hold_until = app.now() + app.timing.lease / 2;
    let mut pause = Duration::from_millis(5);
    loop {
        let reports = check_all(
            &app.target.authoritative,
            &expectation,
            app.timing.dns_timeout,
        )
        .await;
        nudge_laggards(app, &reports).await;
        let served = reports.iter().all(ServerReport::matches);
        // The child's servers are asked only once the parent serves the
        // delegation everywhere: before that, lameness is beside the point.
        let delegated = if served && !delegations.is_empty() {
            check_delegations(&delegations, &addresses, app.timing.dns_timeout).await
        } else {
            Vec::new()
        };
        let mut checks = to_checks(app.now(), &reports);
        checks.extend(delegation_checks(app.now(), &delegated));
        app.store.record_checks(request.id, &checks).await?;
        let lame: Vec<&NameServerReport> = delegated.iter().filter(|r| !r.serves_child()).collect();
        if served && lame.is_empty() {
            let active = app.store.activate(request.id, fence).await?;
            tracing::info!(reference = %active.reference, name = %active.name, "active");
            return confirm(app, fence, &active).await;
        }
        let now = app.now();
        if now >= deadline {
            let reason = if served {
                format!(
                    "The delegation is lame: not every name server of the subdomain answers authoritatively for it by the deadline: {}",
                    lame.iter()
                        .map(|r| r.describe())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            } else {
                format!(
                    "Not every authoritative server serves the new records by the deadline: {}",
                    reports
                        .iter()
                        .map(describe_report)
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            };
            settle(app, fence, request, RequestState::Failed, reason).await?;
            return Ok(());
        }
        if now + pause >= hold_until {
            app.store.reschedule_job(fence, now + pause).await?;
            return Ok(());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

fn to_checks(at: OffsetDateTime, reports: &[ServerReport]) -> Vec<ServerCheck> {
    reports
        .iter()
        .map(|r| ServerCheck {
            server: r.server.to_string(),
            report: serde_json::to_value(r).unwrap_or(serde_json::Value::Null),
            matches: r.matches(),
            checked_at: at,
        })
        .collect()
}

/// Delegated servers' answers, stored beside the zone's servers' under
/// the server's name and address.
fn delegation_checks(at: OffsetDateTime, reports: &[NameServerReport]) -> Vec<ServerCheck> {
    reports
        .iter()
        .map(|r| ServerCheck {
            server: match r.address {
                Some(address) => format!("{} ({address})", r.server),
                None => r.server.clone(),
            },
            report: serde_json::to_value(r).unwrap_or(serde_json::Value::Null),
            matches: r.serves_child(),
            checked_at: at,
        })
        .collect()
}

fn describe_report(report: &ServerReport) -> String {
    let what = match &report.verdict {
        Verdict::Matches => "serves the records".to_owned(),
        Verdict::Differs { reason } => reason.clone(),
        Verdict::Lagging { serial, want } => format!("still at serial {serial}, needs {want}"),
        Verdict::Unreachable { error } => format!("unreachable ({error})"),
    };
    format!("{}: {what}", report.server)
}

/// Tells the PD its request is active (step d of the service standard):
/// the confirmation letter, rendered and stored, and the e-mail carrying
/// it; the job's last step. It runs after activation, not inside it: the
/// request is live and shown active at once, and the letter (a few
/// milliseconds of PDF and QR code, the SOA read for its negative TTL)
/// follows. After a crash in between, whoever claims the job takes this
/// step, from what the store recorded.
///
/// A letter that cannot be rendered (a check URL too long for a QR code)
/// never will be: the e-mail goes without one rather than wait for ever,
/// and the error is logged. A letter that cannot be stored (a full disk)
/// fails the step, which is retried.
async fn confirm(app: &App, fence: JobFence, request: &SubdomainRequest) -> Result<(), StepError> {
    let agency = app
        .store
        .agency(request.agency_id)
        .await?
        .ok_or(StoreError::NotFound("agency"))?;
    let negative_ttl = negative_ttl(app).await;
    let letter = confirmation_letter(app, request, &agency, negative_ttl).await?;
    let stored = match confirmation::render(&letter) {
        Ok(pdf) => Some(MailAttachment {
            letter: app.letters.save(&pdf)?,
            file_name: confirmation::file_name(&request.reference),
        }),
        Err(e) => {
            tracing::error!(reference = %request.reference, error = %e, "cannot render the confirmation letter; mailing without it");
            None
        }
    };
    let mail = confirmation_mail(&letter, &agency, stored.as_ref());
    app.store
        .issue_confirmation(request.id, fence, mail, stored)
        .await?;
    app.mail_queued.notify_one();
    Ok(())
}

/// The facts the letter states, from the request and its history (the
/// verification passed when it went active, on every authoritative
/// server).
async fn confirmation_letter(
    app: &App,
    request: &SubdomainRequest,
    agency: &Agency,
    negative_ttl: Option<u32>,
) -> Result<ConfirmationLetter, StepError> {
    let transitions = app.store.transitions(request.id).await?;
    // Verified when it went active: every authoritative server answered.
    let verified_at = transitions
        .iter()
        .rev()
        .find(|t| t.to == RequestState::Active)
        .map_or(request.updated_at, |t| t.at);
    // The reviewer's approval; an admin's retry (failed → approved) only
    // queued the same approved plan again.
    let approval = transitions
        .iter()
        .rev()
        .find(|t| t.to == RequestState::Approved && t.from != Some(RequestState::Failed))
        .or_else(|| {
            transitions
                .iter()
                .rev()
                .find(|t| t.to == RequestState::Approved)
        });
    // The primary's NOERROR; after a lost answer there is none, and the
    // moment the zone was found to hold the update stands for it.
    let attempts = app.store.attempts(request.id).await?;
    let written_at = attempts
        .iter()
        .rev()
        .find(|a| a.outcome == AttemptOutcome::Accepted)
        .and_then(|a| a.finished_at)
        .or_else(|| {
            transitions
                .iter()
                .rev()
                .find(|t| t.to == RequestState::Verifying)
                .map(|t| t.at)
        });
    Ok(ConfirmationLetter {
        reference: request.reference.clone(),
        kind: request.kind,
        agency_name: agency.name.clone(),
        agency_code: agency.code.clone(),
        name: request.name.clone(),
        zone: display_name(&app.target.zone),
        records: request.records.clone(),
        letter_number: request.letter_number.clone(),
        letter_date: request.letter_date,
        submitted_at: request.submitted_at,
        approved_at: approval.map(|t| t.at),
        approved_by: approval.and_then(|t| t.actor_name.clone()),
        written_at,
        serial: request.serial_after,
        verified_at,
        servers: app
            .target
            .authoritative
            .iter()
            .map(ToString::to_string)
            .collect(),
        negative_ttl,
        issuer: IssuingUnit::default(),
        check_url: app.web.check_url(&request.name),
    })
}

/// How long resolvers may cache "no such name" in the zone, read from the
/// primary's SOA. RFC 2308 §5: "the TTL of this record is set from the
/// minimum of the MINIMUM field of the SOA record and the TTL of the SOA
/// itself". None when the primary does not answer: the letter then names
/// the TTL without a number.
async fn negative_ttl(app: &App) -> Option<u32> {
    let zone = &app.target.zone;
    match query(
        app.target.primary,
        zone,
        RecordType::SOA,
        app.timing.dns_timeout,
    )
    .await
    {
        Ok(answer) => answer.answers.iter().find_map(|r| match &r.data {
            RData::SOA(soa) if r.name == *zone => Some(soa.minimum.min(r.ttl)),
            _ => None,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the zone's SOA for the negative TTL");
            None
        }
    }
}

/// The confirmation e-mail, in Indonesian: what the letter says, in
/// short, with the letter attached when there is one.
fn confirmation_mail(
    letter: &ConfirmationLetter,
    agency: &Agency,
    attachment: Option<&MailAttachment>,
) -> NewMail {
    let records = if letter.kind == RequestKind::Remove {
        "  (dihapus)".to_owned()
    } else {
        letter
            .records
            .iter()
            .map(|r| {
                let ttl = r
                    .ttl
                    .map_or_else(|| "TTL bawaan zona".to_owned(), |t| format!("TTL {t}"));
                format!("  {} {} ({ttl})", r.rtype, r.value)
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (subject, what) = match letter.kind {
        RequestKind::Create => ("Subdomain aktif", "telah diaktifkan"),
        RequestKind::Change => ("Perubahan subdomain aktif", "telah diubah"),
        RequestKind::Remove => ("Subdomain dihapus", "telah dihapus"),
    };
    let negative_ttl = match letter.negative_ttl {
        Some(secs) => format!(" ({secs} detik)"),
        None => String::new(),
    };
    let enclosed = match attachment {
        Some(a) => format!("Surat konfirmasi terlampir ({}).\n\n", a.file_name),
        None => String::new(),
    };
    let body = format!(
        "Yth. {agency_name},\n\n\
         Dengan hormat, bersama ini kami sampaikan bahwa subdomain {name} {what} \
         sesuai permohonan Saudara nomor {letter_number} ({reference}).\n\n\
         Rekaman DNS:\n{records}\n\n\
         Diverifikasi pada seluruh server otoritatif: {verified}.\n\n\
         Resolver yang sempat menanyakan nama ini sebelum aktif dapat menyimpan jawaban \
         negatifnya hingga TTL negatif zona{negative_ttl} berakhir.\n\n\
         {enclosed}\
         Status subdomain dapat diperiksa di {check_url}\n\n\
         Hormat kami,\nBidang Aplikasi Informatika\nDinas Komunikasi dan Informatika Provinsi Kalimantan Barat\n",
        agency_name = agency.name,
        name = letter.name,
        letter_number = letter.letter_number,
        reference = letter.reference,
        verified = format_wib(letter.verified_at),
        check_url = letter.check_url,
    );
    NewMail {
        recipient: agency.email.clone(),
        subject: format!(
            "[dnsdesk] {subject}: {} ({})",
            letter.name, letter.reference
        ),
        body,
    }
}
