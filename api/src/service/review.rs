//! Review (step b of the service standard): approve, reject or send back
//! for revision; and the network admins' retry of a failed request.

use provisioner::plan::rr_text;
use provisioner::verify::{holds_exactly, observe, questions_for};

use super::{plan_of, require_role, text_field, visible_request};
use crate::app::App;
use crate::error::{ConflictCode, ServiceError};
use crate::model::{Actor, RequestId, RequestState, Role, SubdomainRequest, User};
use crate::store::{JobEffect, StateChange};

const REVIEWERS: &[Role] = &[Role::Reviewer, Role::Admin];
const OPERATORS: &[Role] = &[Role::Netadmin, Role::Admin];

/// Approves a submitted request and queues its provisioning, in one
/// transaction.
///
/// When `digest` is given it must be the digest of the plan shown to the
/// reviewer; if the request or the zone changed since, the approval is
/// refused rather than applied to something else. A second approval (a
/// double click, a second reviewer) finds the request no longer
/// `submitted` and is refused: it never causes a second update.
pub async fn approve(
    app: &App,
    user: &User,
    id: RequestId,
    note: Option<&str>,
    digest: Option<&str>,
) -> Result<SubdomainRequest, ServiceError> {
    require_role(user, REVIEWERS, "approve requests")?;
    let request = visible_request(app, user, id).await?;
    if request.state != RequestState::Submitted {
        return Err(ServiceError::conflict(
            ConflictCode::InvalidState,
            format!(
                "the request is {}; only submitted requests can be approved",
                request.state
            ),
        ));
    }
    if request.letter.is_none() {
        return Err(ServiceError::conflict(
            ConflictCode::LetterMissing,
            "the signed request letter has not been uploaded yet",
        ));
    }
    let planned = plan_of(&app.target.zone, &request)?;
    let current = planned.plan.render().digest();
    if let Some(seen) = digest
        && seen.trim() != current
    {
        return Err(ServiceError::conflict(
            ConflictCode::PlanChanged,
            "the planned update changed since you viewed it; review it again",
        ));
    }
    // The zone must still be as the plan expects; if the primary cannot be
    // asked now, the prerequisites will refuse a clobbering update anyway.
    let keys = questions_for(&planned.name, &[&planned.before, &planned.after]);
    match observe(app.target.primary, &keys, app.timing.dns_timeout).await {
        Ok(now) if !holds_exactly(&now, &planned.before, &keys) => {
            return Err(ServiceError::conflict(
                ConflictCode::ZoneChanged,
                format!(
                    "the zone changed outside dnsdesk and no longer holds what this request expects; it now holds: {}",
                    describe(now.records().map(|r| rr_text(r, true)).collect())
                ),
            ));
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "cannot check the zone at approval; prerequisites will")
        }
    }
    let mut change = StateChange::new(
        id,
        RequestState::Submitted,
        RequestState::Approved,
        Actor::User(user.id),
    );
    change.note = optional_note(note)?;
    change.expected_version = Some(request.version);
    change.approved_digest = Some(current);
    change.job = JobEffect::Enqueue;
    let approved = app.store.transition(change).await?;
    app.jobs_queued.notify_one();
    tracing::info!(reference = %approved.reference, "request approved");
    Ok(approved)
}

/// Rejects a submitted request; the note tells the PD why.
pub async fn reject(
    app: &App,
    user: &User,
    id: RequestId,
    note: &str,
) -> Result<SubdomainRequest, ServiceError> {
    decide(app, user, id, note, RequestState::Rejected).await
}

/// Sends a submitted request back to the PD to revise; the note says what.
pub async fn request_revision(
    app: &App,
    user: &User,
    id: RequestId,
    note: &str,
) -> Result<SubdomainRequest, ServiceError> {
    decide(app, user, id, note, RequestState::RevisionRequested).await
}

async fn decide(
    app: &App,
    user: &User,
    id: RequestId,
    note: &str,
    to: RequestState,
) -> Result<SubdomainRequest, ServiceError> {
    require_role(user, REVIEWERS, "review requests")?;
    let request = visible_request(app, user, id).await?;
    let note = text_field("note", note, 2000, true)?;
    let mut change = StateChange::new(id, RequestState::Submitted, to, Actor::User(user.id));
    change.note = Some(note);
    change.expected_version = Some(request.version);
    Ok(app.store.transition(change).await?)
}

/// Queues a failed request again (after the admin fixed the cause).
pub async fn retry(
    app: &App,
    user: &User,
    id: RequestId,
    note: Option<&str>,
) -> Result<SubdomainRequest, ServiceError> {
    require_role(user, OPERATORS, "retry provisioning")?;
    let request = visible_request(app, user, id).await?;
    let mut change = StateChange::new(
        id,
        RequestState::Failed,
        RequestState::Approved,
        Actor::User(user.id),
    );
    change.note = optional_note(note)?;
    change.expected_version = Some(request.version);
    change.job = JobEffect::Enqueue;
    let retried = app.store.transition(change).await?;
    app.jobs_queued.notify_one();
    Ok(retried)
}

fn optional_note(note: Option<&str>) -> Result<Option<String>, ServiceError> {
    note.map(|n| text_field("note", n, 2000, false))
        .transpose()
        .map(|n| n.filter(|n| !n.is_empty()))
}

fn describe(lines: Vec<String>) -> String {
    if lines.is_empty() {
        "nothing".to_owned()
    } else {
        lines.join("; ")
    }
}

/// The outcome of one check shown to a reviewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    Passed,
    /// Failed, with what was found.
    Failed(String),
    /// Could not be checked now (the primary did not answer); the
    /// update's prerequisites check again when it is sent.
    Unknown(String),
}

/// What a reviewer sees before deciding: whether the name is still free,
/// whether the zone holds what the plan expects, whether the records are
/// valid, and whether the letter is there.
#[derive(Debug, Clone)]
pub struct Preflight {
    pub name_free: CheckOutcome,
    pub zone: CheckOutcome,
    pub records: CheckOutcome,
    pub letter: CheckOutcome,
}

/// Runs the checks of a submitted request for a reviewer.
pub async fn preflight(app: &App, user: &User, id: RequestId) -> Result<Preflight, ServiceError> {
    require_role(user, REVIEWERS, "review requests")?;
    let request = visible_request(app, user, id).await?;
    let letter = if request.letter.is_some() {
        CheckOutcome::Passed
    } else {
        CheckOutcome::Failed("the signed request letter has not been uploaded".to_owned())
    };
    let name_free = match request.kind {
        crate::model::RequestKind::Create => match app.store.subdomain(&request.name).await? {
            Some(_) => CheckOutcome::Failed(format!("{} is already granted", request.name)),
            None => CheckOutcome::Passed,
        },
        _ => match app.store.subdomain(&request.name).await? {
            Some(s) if s.agency_id == Some(request.agency_id) => CheckOutcome::Passed,
            _ => CheckOutcome::Failed(format!(
                "{} is no longer a subdomain of this agency",
                request.name
            )),
        },
    };
    let planned = match plan_of(&app.target.zone, &request) {
        Ok(p) => p,
        Err(e) => {
            return Ok(Preflight {
                name_free,
                zone: CheckOutcome::Unknown("no plan".to_owned()),
                records: CheckOutcome::Failed(e.to_string()),
                letter,
            });
        }
    };
    let records = match app.records.parse_records(&planned.name, &request.records) {
        Ok(_) => CheckOutcome::Passed,
        Err(_) if request.records.is_empty() => CheckOutcome::Passed,
        Err(e) => CheckOutcome::Failed(e.to_string()),
    };
    let keys = questions_for(&planned.name, &[&planned.before, &planned.after]);
    let zone = match observe(app.target.primary, &keys, app.timing.dns_timeout).await {
        Ok(now) if holds_exactly(&now, &planned.before, &keys) => CheckOutcome::Passed,
        Ok(now) => CheckOutcome::Failed(format!(
            "the zone holds: {}",
            describe(now.records().map(|r| rr_text(r, true)).collect())
        )),
        Err(e) => CheckOutcome::Unknown(e.to_string()),
    };
    Ok(Preflight {
        name_free,
        zone,
        records,
        letter,
    })
}
