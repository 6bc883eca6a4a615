//! Batches: approved requests that wait together are provisioned
//! together. A backlog approved at once (or a mass change) would otherwise
//! cost one UPDATE, one journal write on the primary, one transfer to each
//! secondary and one round of verification queries per request.
//!
//! - **One message, many requests.** Their prerequisites and updates go in
//!   one UPDATE ([`UpdatePlan::combine`]); each request keeps its own
//!   attempt, recorded before the message leaves, so nothing is sent that
//!   is not on record. RFC 2136 applies a message whole or not at all: when
//!   the answer may concern one request only (a failed prerequisite, a
//!   refused name), the message is split in two and each half sent again,
//!   until the request it concerns stands alone and is settled the way a
//!   lone request is (`conflict`, `failed`), while the others go through.
//!   No owner name appears twice in one message.
//! - **Verification by batch.** One SOA query per server per round, then
//!   every request's RRsets, many queries in flight
//!   ([`provisioner::verify::check_many`]).
//! - **Rounds.** The worker claims several messages' worth of jobs at
//!   once ([`MESSAGES_PER_ROUND`]), and a round's messages share their
//!   bookkeeping: every attempt, with its request's move to
//!   `provisioning`, recorded in one transaction before the first message
//!   leaves; the primary's serial read before and after the round; one
//!   NOTIFY per secondary; every answer, with the moves to `verifying`, in
//!   one transaction; the servers' answers and the activations of one
//!   verification round in one more.
//!
//! Only fresh approvals are batched. Whatever needs care (an earlier
//! attempt that may have been applied, a delegation whose servers must be
//! asked, a verification still waiting when the batch's hold ends) is left
//! to the one-request path in `super`.

use std::collections::BTreeSet;

use provisioner::Name;
use provisioner::client::{send_update, soa_serial};
use provisioner::name::display_name;
use provisioner::plan::UpdatePlan;
use provisioner::verify::{Expectation, ServerReport, Verdict, check_many};

use super::{
    Letters, StepError, answered, backoff, expectation, maybe_applied, notify_secondaries,
    nudge_laggards, plan_lines, to_checks, verifying_note,
};
use crate::app::App;
use crate::model::{AttemptOutcome, DnsAttempt, Job, RequestState, SubdomainRequest};
use crate::service::{RequestPlan, plan_of};
use crate::store::{AttemptResult, EnterVerifying, JobFence, OutgoingAttempt};

/// What one message may hold, counted as the sum of its requests'
/// messages sent alone: under the 65,535 bytes of a DNS message over TCP
/// with room for the TSIG record.
const MESSAGE_BYTES: usize = 60_000;

/// How many full messages one round of the worker claims jobs for. A
/// round's messages share their bookkeeping ([`provision`]): the
/// transactions, the serial reads, the NOTIFYs and the verification.
pub(super) const MESSAGES_PER_ROUND: usize = 10;

/// A claimed job whose request can travel in a batch.
#[derive(Debug)]
pub(super) struct Member {
    job: Job,
    request: SubdomainRequest,
    planned: RequestPlan,
    /// Its attempts before this batch.
    attempts: Vec<DnsAttempt>,
    /// Its size sent alone, in bytes.
    bytes: usize,
}

impl Member {
    fn fence(&self) -> JobFence {
        JobFence::from(&self.job)
    }
}

/// `job` as a batch member when its request (read with its attempts, for
/// every claimed job at once) is a fresh approval: in `approved`, with no
/// earlier UPDATE that may have been applied, and no delegated servers to
/// ask. None leaves the job to the one-request path.
pub(super) fn member(
    app: &App,
    job: &Job,
    request: SubdomainRequest,
    attempts: Vec<DnsAttempt>,
) -> Result<Option<Member>, StepError> {
    if request.state != RequestState::Approved {
        return Ok(None);
    }
    if maybe_applied(&attempts) {
        return Ok(None);
    }
    let planned = plan_of(&app.target.zone, &request)?;
    if app.target.check_delegations && !expectation(app, &planned, None).delegations().is_empty() {
        return Ok(None);
    }
    // Unencodable plans go alone, where the error is explained.
    let Ok(bytes) = planned.plan.to_message().to_vec().map(|m| m.len()) else {
        return Ok(None);
    };
    Ok(Some(Member {
        job: job.clone(),
        request,
        planned,
        attempts,
        bytes,
    }))
}

/// Provisions `members` in as few messages as they fit. Returns the jobs
/// left for the one-request path (those whose names another member
/// touches), and the members the primary accepted, now `verifying`, for
/// [`verify`].
///
/// The messages of one round share their bookkeeping: every attempt is
/// recorded in one transaction before the first message leaves, the
/// primary's serial is read once before and once after them all, the
/// secondaries are NOTIFYed once, and the answers are recorded in one
/// transaction after the last. A crash in between leaves attempts whose
/// outcome was never learned, and whoever takes their jobs reads the zone
/// before sending again, as after any lost answer.
pub(super) async fn provision(app: &App, members: Vec<Member>) -> (Vec<Job>, Vec<Member>) {
    let (mut queue, apart) = messages(members, app.timing.batch_size);
    let mut accepted: Vec<(Member, i64)> = Vec::new();
    let mut accepted_alone: Vec<Member> = Vec::new();
    // Rounds of write-ahead and sending: a split message's halves go in
    // the next one, recorded anew.
    while !queue.is_empty() {
        let round = std::mem::take(&mut queue);
        let recorded = match write_ahead(app, &round).await {
            Ok(recorded) => recorded,
            Err(e) => {
                for job in round.iter().flatten().map(|m| &m.job) {
                    super::step_failed(app, job, &e).await;
                }
                continue;
            }
        };
        let mut failed: Option<String> = None;
        for (message, attempts) in round.into_iter().zip(recorded) {
            let jobs: Vec<Job> = message.iter().map(|m| m.job.clone()).collect();
            if let Some(reason) = &failed {
                if let Err(e) = not_sent(app, &message, &attempts, reason).await {
                    for job in &jobs {
                        super::step_failed(app, job, &e).await;
                    }
                }
                continue;
            }
            match send(app, message, attempts).await {
                Ok(Sent::Accepted(members)) => accepted.extend(members),
                Ok(Sent::Verifying(member)) => accepted_alone.push(*member),
                Ok(Sent::Split(first, second)) => {
                    queue.push(first);
                    queue.push(second);
                }
                Ok(Sent::Settled) => {}
                Ok(Sent::Failed(reason)) => failed = Some(reason),
                Err(e) => {
                    for job in &jobs {
                        super::step_failed(app, job, &e).await;
                    }
                }
            }
        }
    }
    let mut verifying = accepted_alone;
    match enter_verifying(app, accepted).await {
        Ok(members) => verifying.extend(members),
        Err((e, jobs)) => {
            for job in &jobs {
                super::step_failed(app, job, &e).await;
            }
        }
    }
    (apart, verifying)
}

/// Records an attempt for every request of every message in `round`, in
/// one transaction, before any of them is sent: returns each message's
/// attempt ids, in order.
async fn write_ahead(app: &App, round: &[Vec<Member>]) -> Result<Vec<Vec<i64>>, StepError> {
    let target = &app.target;
    // For the record: the serial the round's updates start from.
    let serial_before = soa_serial(target.primary, &target.zone, app.timing.dns_timeout)
        .await
        .ok();
    let server = target.primary.to_string();
    let key_name = display_name(&target.key.name);
    let start_note = format!("sending the update to {server}");
    let outgoing: Vec<OutgoingAttempt> = round
        .iter()
        .flat_map(|message| {
            message.iter().map(|m| OutgoingAttempt {
                fence: m.fence(),
                request_id: m.request.id,
                server: server.clone(),
                key_name: key_name.clone(),
                message: plan_lines(&m.planned),
                serial_before,
                start_note: (m.request.state == RequestState::Approved).then(|| start_note.clone()),
                batch_size: message.len(),
            })
        })
        .collect();
    let mut ids = app.store.begin_attempts(&outgoing).await?.into_iter();
    Ok(round
        .iter()
        .map(|message| ids.by_ref().take(message.len()).collect())
        .collect())
}

/// Moves the members whose messages the primary accepted (each with its
/// attempt) to `verifying`, in one transaction: the primary's serial after
/// the round, one NOTIFY to each secondary, every answer recorded. On an
/// error, the jobs to hand back.
async fn enter_verifying(
    app: &App,
    accepted: Vec<(Member, i64)>,
) -> Result<Vec<Member>, (StepError, Vec<Job>)> {
    if accepted.is_empty() {
        return Ok(Vec::new());
    }
    let target = &app.target;
    let serial = soa_serial(target.primary, &target.zone, app.timing.dns_timeout)
        .await
        .ok();
    notify_secondaries(app, serial).await;
    let deadline = app.now() + app.timing.verify_deadline;
    let note = verifying_note("the primary accepted the update", serial);
    let results: Vec<AttemptResult> = accepted
        .iter()
        .map(|(m, attempt)| AttemptResult {
            attempt_id: *attempt,
            outcome: AttemptOutcome::Accepted,
            rcode: Some("NOERROR".to_owned()),
            detail: None,
            serial_after: serial,
            verifying: Some(EnterVerifying {
                fence: m.fence(),
                request_id: m.request.id,
                deadline,
                note: note.clone(),
            }),
        })
        .collect();
    if let Err(e) = app.store.finish_attempts(&results).await {
        let jobs = accepted.into_iter().map(|(m, _)| m.job).collect();
        return Err((e.into(), jobs));
    }
    Ok(accepted
        .into_iter()
        .map(|(mut member, _)| {
            member.request.state = RequestState::Verifying;
            member.request.serial_after = serial;
            member.request.verify_deadline = Some(deadline);
            member
        })
        .collect())
}

/// Splits `members` into messages of at most `batch_size` requests and
/// [`MESSAGE_BYTES`], none touching a name another in it touches; members
/// that would share a name with one before them come back as jobs.
fn messages(members: Vec<Member>, batch_size: usize) -> (Vec<Vec<Member>>, Vec<Job>) {
    let mut messages: Vec<Vec<Member>> = Vec::new();
    let mut apart = Vec::new();
    let mut touched: BTreeSet<Name> = BTreeSet::new();
    let mut current: Vec<Member> = Vec::new();
    let mut bytes = 0;
    for member in members {
        let owners: Vec<Name> = member
            .planned
            .plan
            .owners()
            .into_iter()
            .map(Name::to_lowercase)
            .collect();
        if owners.iter().any(|o| touched.contains(o)) {
            apart.push(member.job);
            continue;
        }
        touched.extend(owners);
        if !current.is_empty()
            && (current.len() >= batch_size || bytes + member.bytes > MESSAGE_BYTES)
        {
            messages.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += member.bytes;
        current.push(member);
    }
    if !current.is_empty() {
        messages.push(current);
    }
    (messages, apart)
}

/// How one message went.
enum Sent {
    /// The primary applied it: its requests, each with its attempt, are
    /// to move to `verifying` with the rest of the round.
    Accepted(Vec<(Member, i64)>),
    /// A request sent alone, which the one-request path's answer moved to
    /// `verifying` already.
    Verifying(Box<Member>),
    /// Its answer may concern one request only: send each half again.
    Split(Vec<Member>, Vec<Member>),
    /// Its requests were settled or handed back to retry.
    Settled,
    /// The primary (or the way to it) failed the message as it would fail
    /// any: its requests were handed back to retry, and so should the
    /// round's messages not sent yet be.
    Failed(String),
}

/// Sends one message carrying `message`'s requests, whose attempts
/// (`attempts`, in order) are on record.
async fn send(app: &App, mut message: Vec<Member>, attempts: Vec<i64>) -> Result<Sent, StepError> {
    let target = &app.target;
    for member in &mut message {
        member.request.state = RequestState::Provisioning;
    }
    let plan = UpdatePlan::combine(&target.zone, message.iter().map(|m| &m.planned.plan));
    let result = send_update(
        target.primary,
        &target.key,
        plan.to_message(),
        app.timing.dns_timeout,
    )
    .await;

    // Alone, a request meets its answer as on the one-request path.
    if let ([member], [attempt]) = (message.as_slice(), attempts.as_slice()) {
        let answer = answered(
            app,
            &member.job,
            &member.request,
            &member.planned,
            *attempt,
            &member.attempts,
            result,
        )
        .await?;
        return Ok(match (answer, message.pop()) {
            (Some(request), Some(member)) => {
                Sent::Verifying(Box::new(Member { request, ..member }))
            }
            _ => Sent::Settled,
        });
    }

    match result {
        Ok(()) => Ok(Sent::Accepted(message.into_iter().zip(attempts).collect())),
        Err(e) if e.concerns_message() => {
            let detail = format!(
                "{e}; the message carried {} requests, so it is sent again in two halves to find the one this concerns",
                message.len()
            );
            let rcode = e.rcode().map(provisioner::error::rcode_name);
            finish_all(
                app,
                &attempts,
                AttemptOutcome::Rejected,
                rcode.as_deref(),
                &detail,
            )
            .await?;
            tracing::info!(requests = message.len(), error = %e, "batch split");
            let second = message.split_off(message.len() / 2);
            Ok(Sent::Split(message, second))
        }
        Err(e) => {
            // The server or the connection: each request would meet it
            // alone too. Each retries on its own after its backoff, reading
            // the zone first if the message may have been applied.
            let outcome = if e.outcome_unknown() {
                AttemptOutcome::Unknown
            } else {
                AttemptOutcome::Rejected
            };
            let rcode = e.rcode().map(provisioner::error::rcode_name);
            finish_all(app, &attempts, outcome, rcode.as_deref(), &e.to_string()).await?;
            tracing::warn!(requests = message.len(), error = %e, "batched update not applied; each request will retry");
            for member in &message {
                backoff(app, &member.job).await?;
            }
            Ok(Sent::Failed(e.to_string()))
        }
    }
}

/// Hands back a message of the round that was recorded but not sent,
/// since the primary failed one before it (`reason`): its attempts end
/// unapplied, and its requests retry after their backoff.
async fn not_sent(
    app: &App,
    message: &[Member],
    attempts: &[i64],
    reason: &str,
) -> Result<(), StepError> {
    let detail =
        format!("not sent: the primary failed an earlier message of the same round ({reason})");
    finish_all(app, attempts, AttemptOutcome::Rejected, None, &detail).await?;
    for member in message {
        backoff(app, &member.job).await?;
    }
    Ok(())
}

/// Ends every attempt of a message the same way.
async fn finish_all(
    app: &App,
    attempts: &[i64],
    outcome: AttemptOutcome,
    rcode: Option<&str>,
    detail: &str,
) -> Result<(), StepError> {
    let results: Vec<AttemptResult> = attempts
        .iter()
        .map(|attempt| AttemptResult {
            attempt_id: *attempt,
            outcome,
            rcode: rcode.map(str::to_owned),
            detail: Some(detail.to_owned()),
            serial_after: None,
            verifying: None,
        })
        .collect();
    app.store.finish_attempts(&results).await?;
    Ok(())
}

/// Polls every server for every member until each is served everywhere
/// (then activated, together with the others served in the same round),
/// for about half a lease; members still waiting then go back to the
/// queue, where the one-request path takes them (and fails them at their
/// deadline).
pub(super) async fn verify(
    app: &App,
    members: Vec<Member>,
    letters: &Letters,
) -> Result<(), StepError> {
    let mut waiting: Vec<(Member, Expectation)> = members
        .into_iter()
        .map(|m| {
            let expected = expectation(app, &m.planned, m.request.serial_after);
            (m, expected)
        })
        .collect();
    let hold_until = app.now() + app.timing.lease / 2;
    let mut pause = std::time::Duration::from_millis(5);
    while !waiting.is_empty() {
        let expectations: Vec<Expectation> = waiting.iter().map(|(_, e)| e.clone()).collect();
        let reports = check_many(
            &app.target.authoritative,
            &app.target.zone,
            &expectations,
            app.timing.dns_timeout,
        )
        .await;
        nudge_laggards(app, &laggards(&reports)).await;
        let now = app.now();
        let (served, still): (Vec<_>, Vec<_>) = waiting
            .into_iter()
            .zip(reports)
            .partition(|(_, r)| r.iter().all(ServerReport::matches));
        if !served.is_empty() {
            // Each server's answer is recorded with the activation it
            // allowed; rounds that found a secondary still transferring
            // are not (the one-request path records every round).
            let checks: Vec<_> = served
                .iter()
                .map(|((m, _), r)| (m.request.id, to_checks(now, r)))
                .collect();
            app.store.record_checks_many(&checks).await?;
            let ids: Vec<_> = served
                .iter()
                .map(|((m, _), _)| (m.request.id, m.fence()))
                .collect();
            let activated = app.store.activate_many(&ids).await?;
            tracing::info!(requests = activated.len(), "active");
            let mut letters = letters
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (((member, _), _), request) in served.into_iter().zip(activated) {
                letters.push_back((member.job, request));
            }
        }
        if still.is_empty() {
            break;
        }
        let now = app.now();
        let past_deadline = still
            .iter()
            .any(|((m, _), _)| m.request.verify_deadline.is_some_and(|d| now >= d));
        if past_deadline || now + pause >= hold_until {
            // What each server answered last, then the one-request path:
            // it fails those past their deadline with each server's
            // answer, and waits for the others.
            let checks: Vec<_> = still
                .iter()
                .map(|((m, _), r)| (m.request.id, to_checks(now, r)))
                .collect();
            app.store.record_checks_many(&checks).await?;
            for ((member, _), _) in &still {
                app.store
                    .reschedule_job(member.fence(), now + pause)
                    .await?;
            }
            break;
        }
        waiting = still.into_iter().map(|(w, _)| w).collect();
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_secs(2));
    }
    Ok(())
}

/// One report per lagging server, so each is NOTIFYed once per round
/// however many requests wait for it.
fn laggards(reports: &[Vec<ServerReport>]) -> Vec<ServerReport> {
    let mut seen = BTreeSet::new();
    reports
        .iter()
        .flatten()
        .filter(|r| matches!(r.verdict, Verdict::Lagging { .. }) && seen.insert(r.server))
        .cloned()
        .collect()
}
