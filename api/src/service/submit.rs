//! Filing a request (step a of the service standard), attaching its signed
//! letter, and resubmitting after a revision was asked for.
//!
//! Both set the request's due time: at filing, the standard's working days
//! counted in the office's working hours; at resubmission, the old due time
//! moved later by the working time the request waited for its agency (the
//! office's clock stops while the PD revises). See [`crate::calendar::hours`].

use provisioner::Name;
use provisioner::name::{ancestors_below, display_name};
use provisioner::plan::{ZoneSlice, rr_text};
use provisioner::record::{RecordInput, RecordSetError, RecordSpec};
use provisioner::verify::{observe, questions_for};
use serde::Deserialize;
use time::Date;
use time::macros::format_description;

use super::{require_pd, text_field, visible_request};
use crate::app::App;
pub use crate::calendar::STANDARD_WORKING_DAYS;
use crate::calendar::{Due, WIB};
use crate::error::{ConflictCode, ServiceError};
use crate::model::{Actor, AgencyId, RequestId, RequestKind, RequestState, SubdomainRequest, User};
use crate::store::{NewRequest, RequestRevision};

/// What a PD files.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    /// `create` (default), `change` or `remove`.
    #[serde(default)]
    pub kind: Option<RequestKind>,
    /// The full name, e.g. `ppid.disdik.kalbarprov.go.id`.
    pub name: String,
    /// The records the name should hold (empty for `remove`).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<RecordInput>,
    /// What the subdomain is for.
    pub purpose: String,
    /// The number of the signed request letter.
    pub letter_number: String,
    /// The date on the letter, `YYYY-MM-DD`.
    pub letter_date: String,
}

/// A request after validation, ready to store.
#[derive(Debug)]
struct Draft {
    kind: RequestKind,
    name: Name,
    records: Vec<RecordInput>,
    previous: Vec<RecordInput>,
    purpose: String,
    letter_number: String,
    letter_date: Date,
}

/// Files a request for the user's agency.
pub async fn submit(
    app: &App,
    user: &User,
    input: RequestInput,
) -> Result<SubdomainRequest, ServiceError> {
    let agency = require_pd(user)?;
    let draft = validate(app, agency, &input).await?;
    let now = app.now();
    let calendar = super::calendar::current(app.store.as_ref(), &app.calendar).await?;
    let due = calendar.standard_deadline(now);
    warn_if_uncertain(&display_name(&draft.name), due);
    let request = app
        .store
        .insert_request(NewRequest {
            agency_id: agency,
            kind: draft.kind,
            name: display_name(&draft.name),
            records: draft.records,
            previous_records: draft.previous,
            purpose: draft.purpose,
            letter_number: draft.letter_number,
            letter_date: draft.letter_date,
            submitted_by: user.id,
            submitted_at: now,
            due_at: due.at,
            due_uncertain: due.uncertain,
            reference_year: now.to_offset(WIB).year(),
        })
        .await?;
    tracing::info!(reference = %request.reference, name = %request.name, "request submitted");
    Ok(request)
}

/// Replaces a request sent back for revision and submits it again.
pub async fn revise(
    app: &App,
    user: &User,
    id: RequestId,
    input: RequestInput,
) -> Result<SubdomainRequest, ServiceError> {
    let agency = require_pd(user)?;
    let request = visible_request(app, user, id).await?;
    let kind = input.kind.unwrap_or(request.kind);
    if kind != request.kind {
        return Err(ServiceError::invalid(
            "kind",
            "cannot change in a revision; file a new request",
        ));
    }
    let name = app
        .names
        .parse_subdomain(&input.name)
        .map_err(|e| ServiceError::invalid("name", e.to_string()))?;
    if display_name(&name) != request.name {
        return Err(ServiceError::invalid(
            "name",
            "cannot change in a revision; file a new request",
        ));
    }
    // The request holds its own name, so the open-request check is skipped
    // for it; everything else is validated as on first submission.
    let draft = validate_for(app, agency, &input, Some(request.id)).await?;
    let now = app.now();
    let calendar = super::calendar::current(app.store.as_ref(), &app.calendar).await?;
    let asked = revision_asked_at(app, &request).await?;
    // The office's clock stood still from the request for revision until
    // now: the due time moves later by the working time in between. (Had
    // the office kept its remaining time and counted it from now instead,
    // the result would be the same instant: working time is additive.)
    let waited = asked
        .map(|at| calendar.measure_working_time(at, now))
        .unwrap_or_default();
    let moved = calendar.add_working_time(request.due_at, waited.time);
    let due = Due {
        at: moved.at,
        uncertain: request.due_uncertain || waited.uncertain || moved.uncertain,
    };
    warn_if_uncertain(&request.name, due);
    let revised = app
        .store
        .revise_request(
            id,
            RequestRevision {
                records: draft.records,
                previous_records: draft.previous,
                purpose: draft.purpose,
                letter_number: draft.letter_number,
                letter_date: draft.letter_date,
                resubmitted_at: now,
                paused: waited.time,
                due_at: due.at,
                due_uncertain: due.uncertain,
            },
            Actor::User(user.id),
        )
        .await?;
    tracing::info!(
        reference = %revised.reference,
        paused_ms = waited.time.as_millis(),
        due_at = %revised.due_at,
        "request resubmitted; due time moved by the working time it waited"
    );
    Ok(revised)
}

/// When the request was last sent back for revision, if it waits for one
/// now. Otherwise there is no pause to count (and the store refuses the
/// resubmission, naming the state).
async fn revision_asked_at(
    app: &App,
    request: &SubdomainRequest,
) -> Result<Option<time::OffsetDateTime>, ServiceError> {
    if request.state != RequestState::RevisionRequested {
        return Ok(None);
    }
    let history = app.store.transitions(request.id).await?;
    let asked = history
        .iter()
        .rev()
        .find(|t| t.to == RequestState::RevisionRequested)
        .map(|t| t.at);
    if asked.is_none() {
        tracing::error!(
            reference = %request.reference,
            "request waits for revision but has no such transition; its due time is not moved"
        );
    }
    Ok(asked)
}

/// Says loudly that a due time is a guess, once per computation; the
/// request carries the flag for staff to see.
fn warn_if_uncertain(name: &str, due: Due) {
    if due.uncertain {
        tracing::warn!(
            name = %name,
            due_at = %due.at,
            "due time relies on a year with no holiday calendar loaded; its weekdays were counted as working days"
        );
    }
}

/// Stores the signed letter of a request the user's agency filed.
pub async fn attach_letter(
    app: &App,
    user: &User,
    id: RequestId,
    bytes: &[u8],
) -> Result<SubdomainRequest, ServiceError> {
    require_pd(user)?;
    visible_request(app, user, id).await?;
    let letter = app.letters.save(bytes)?;
    Ok(app
        .store
        .attach_letter(id, letter, Actor::User(user.id))
        .await?)
}

/// Whether a PD could file a new subdomain `name` now: the hint shown
/// while typing. Runs the name checks of [`submit`] (syntax, open
/// requests, the catalogue, other agencies' names, the zone itself) and
/// returns the name as it would be stored.
pub async fn check_new_name(app: &App, user: &User, name: &str) -> Result<String, ServiceError> {
    let agency = require_pd(user)?;
    let parsed = app
        .names
        .parse_subdomain(name)
        .map_err(|e| ServiceError::invalid("name", e.to_string()))?;
    let text = display_name(&parsed);
    if let Some(open) = app.store.open_request_for_name(&text).await? {
        return Err(name_conflict(
            ConflictCode::NameTaken,
            format!("{text} already has an open request ({})", open.reference),
        ));
    }
    if app.store.subdomain(&text).await?.is_some() {
        return Err(name_conflict(
            ConflictCode::NameTaken,
            format!("{text} is already an active subdomain"),
        ));
    }
    check_neighbours(app, agency, &parsed).await?;
    check_zone_free(app, &parsed, &[]).await?;
    Ok(text)
}

async fn validate(
    app: &App,
    agency: AgencyId,
    input: &RequestInput,
) -> Result<Draft, ServiceError> {
    validate_for(app, agency, input, None).await
}

async fn validate_for(
    app: &App,
    agency: AgencyId,
    input: &RequestInput,
    revising: Option<RequestId>,
) -> Result<Draft, ServiceError> {
    let name = app
        .names
        .parse_subdomain(&input.name)
        .map_err(|e| ServiceError::invalid("name", e.to_string()))?;
    let purpose = text_field("purpose", &input.purpose, 2000, true)?;
    let letter_number = text_field("letter_number", &input.letter_number, 100, true)?;
    let letter_date = parse_letter_date(app, &input.letter_date)?;
    let kind = input.kind.unwrap_or(RequestKind::Create);
    let text = display_name(&name);

    if revising.is_none()
        && let Some(open) = app.store.open_request_for_name(&text).await?
    {
        return Err(name_conflict(
            ConflictCode::NameTaken,
            format!("{text} already has an open request ({})", open.reference),
        ));
    }
    let granted = app.store.subdomain(&text).await?;
    let (records, previous) = match kind {
        RequestKind::Create => {
            if granted.is_some() {
                return Err(name_conflict(
                    ConflictCode::NameTaken,
                    format!("{text} is already an active subdomain"),
                ));
            }
            check_neighbours(app, agency, &name).await?;
            let specs = parse_records(app, &name, &input.records)?;
            check_zone_free(app, &name, &specs).await?;
            (to_inputs(&specs), Vec::new())
        }
        RequestKind::Change | RequestKind::Remove => {
            // An imported name no agency was assigned is nobody's to change.
            let Some(granted) = granted.filter(|g| g.agency_id == Some(agency)) else {
                return Err(ServiceError::invalid(
                    "name",
                    format!("{text} is not an active subdomain of your agency"),
                ));
            };
            if kind == RequestKind::Remove {
                if !input.records.is_empty() {
                    return Err(ServiceError::invalid(
                        "records",
                        "must be empty when removing a subdomain",
                    ));
                }
                (Vec::new(), granted.records)
            } else {
                let specs = parse_records(app, &name, &input.records)?;
                let records = to_inputs(&specs);
                if records == granted.records {
                    return Err(ServiceError::invalid(
                        "records",
                        "are the same as the subdomain holds now",
                    ));
                }
                (records, granted.records)
            }
        }
    };
    Ok(Draft {
        kind,
        name,
        records,
        previous,
        purpose,
        letter_number,
        letter_date,
    })
}

fn name_conflict(code: ConflictCode, message: String) -> ServiceError {
    ServiceError::Conflict {
        code,
        message,
        field: Some("name".to_owned()),
    }
}

fn parse_records(
    app: &App,
    name: &Name,
    inputs: &[RecordInput],
) -> Result<Vec<RecordSpec>, ServiceError> {
    app.records
        .parse_records(name, inputs)
        .map_err(|e: RecordSetError| {
            let message = match &e {
                RecordSetError::Empty => e.to_string(),
                RecordSetError::Record(r) => r.message.clone(),
            };
            ServiceError::invalid(e.path(), message)
        })
}

fn to_inputs(specs: &[RecordSpec]) -> Vec<RecordInput> {
    specs.iter().map(RecordSpec::to_input).collect()
}

fn parse_letter_date(app: &App, text: &str) -> Result<Date, ServiceError> {
    let date = Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|_| ServiceError::invalid("letter_date", "must be a date like 2026-11-28"))?;
    let today = app.now().to_offset(WIB).date();
    if date > today {
        return Err(ServiceError::invalid("letter_date", "is in the future"));
    }
    Ok(date)
}

/// A PD may nest names under its own, never under (or over) another
/// agency's.
async fn check_neighbours(app: &App, agency: AgencyId, name: &Name) -> Result<(), ServiceError> {
    let zone = app.names.zone();
    let ancestors: Vec<String> = ancestors_below(name, zone)
        .iter()
        .map(display_name)
        .collect();
    let claims = app
        .store
        .claims_near(&display_name(name), &ancestors)
        .await?;
    // An unassigned (imported) name is nobody's: nothing may nest under
    // or over it until an agency holds it.
    if let Some(other) = claims.iter().find(|c| c.agency_id != Some(agency)) {
        let relation = if ancestors.contains(&other.name) {
            "is below"
        } else {
            "has below it"
        };
        let owner = if other.agency_id.is_some() {
            "belongs to another agency"
        } else {
            "is not assigned to an agency"
        };
        return Err(name_conflict(
            ConflictCode::NameOwnedByOther,
            format!(
                "{} {relation} {}, which {owner}",
                display_name(name),
                other.name
            ),
        ));
    }
    // Below a delegation the parent's data is not served (RFC 1034 §4.2.1):
    // such names belong in the delegated zone, on its own servers.
    for ancestor in claims.iter().filter(|c| ancestors.contains(&c.name)) {
        let delegated = app
            .store
            .subdomain(&ancestor.name)
            .await?
            .is_some_and(|s| s.records.iter().any(|r| r.rtype.eq_ignore_ascii_case("NS")));
        if delegated {
            return Err(ServiceError::invalid(
                "name",
                format!(
                    "{} is below the delegated name {}; add it in that zone on its own name servers",
                    display_name(name),
                    ancestor.name
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses a new name that already holds records in the zone (put there
/// outside dnsdesk). If the primary cannot be asked now, the submission
/// goes on: the update's prerequisites check again when it is sent.
async fn check_zone_free(app: &App, name: &Name, specs: &[RecordSpec]) -> Result<(), ServiceError> {
    let after = ZoneSlice::from_specs(name, specs);
    let questions = questions_for(name, &[&after]);
    match observe(app.target.primary, &questions, app.timing.dns_timeout).await {
        Ok(now) if now.is_empty() => Ok(()),
        Ok(now) => Err(name_conflict(
            ConflictCode::NameTaken,
            format!(
                "{} already exists in the zone outside dnsdesk: {}",
                display_name(name),
                now.records()
                    .map(|r| rr_text(r, true))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )),
        Err(e) => {
            tracing::warn!(error = %e, "cannot check the zone at submission; prerequisites will");
            Ok(())
        }
    }
}
