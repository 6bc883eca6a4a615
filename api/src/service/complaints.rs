//! Complaints about the informatics service (pengaduan): filed by anyone on
//! the public form, by a PD from its pages, or recorded by staff from the
//! standard's other channels; classified, which sets the deadline;
//! assigned, noted, answered and resolved by staff; and read back by the
//! complainant with the tracking code alone.
//!
//! # The deadline
//!
//! A complaint is due `N` working days after the office **received** it,
//! `N` being its category's ([`ComplaintDeadlines`]), counted like the
//! request SLA in the office's working hours with
//! [`WorkCalendar::deadline`] and the calendar in force. The clock starts
//! at receipt, not at classification: the standard promises the
//! complainant an answer within `N` working days of complaining, and an
//! office that classified late must not gain the time it took to read the
//! complaint. The category is what is unknown until classification, so
//! the deadline is first written then (and written again, still from
//! receipt, if the category changes).
//!
//! # Who sees what
//!
//! Staff (reviewers, network admins, admins) see and act on every
//! complaint. A PD sees the complaints its agency filed, without internal
//! notes or who handles them. The complainant sees, by code, only the
//! state, category, deadline, responses and resolution: not the notes, not
//! staff names, not even their own name and contact (a code read aloud
//! can be overheard).

use std::net::IpAddr;
use std::time::Instant;

use time::OffsetDateTime;

use super::{require_role, text_field};
use crate::app::App;
use crate::calendar::{Due, WorkCalendar};
use crate::error::{ConflictCode, ServiceError};
use crate::model::{
    Agency, Complaint, ComplaintCategory, ComplaintDeadlines, ComplaintId, ComplaintNote,
    ComplaintResponse, ComplaintState, ComplaintStep, Role, SlaState, TrackingCode, User,
};
use crate::store::{ComplaintFilter, Page, StoreError};
use crate::web::ratelimit::RateLimiter;

mod filing;

pub use filing::{ComplaintInput, file, filing_limiter, parse_received};

#[cfg(test)]
mod tests;

/// Who handles complaints.
pub const STAFF: &[Role] = &[Role::Reviewer, Role::Netadmin, Role::Admin];

/// Longest description, note, response or resolution, in characters.
const MAX_TEXT: usize = 4000;

/// Lookups by tracking code per client: 10 at once, then 10 a minute.
/// A complainant checks a few times; a guesser needs about 2³⁹ tries.
pub fn lookup_limiter() -> RateLimiter {
    RateLimiter::new(10, 10)
}

/// `a, b, c` from the stored forms of `values`.
fn names<T: std::fmt::Display>(values: &[T]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// When a complaint of `category` received at `received_at` is due:
/// the category's working days of the office's working time, counted from
/// receipt (see the module).
pub fn due_for(
    calendar: &WorkCalendar,
    deadlines: &ComplaintDeadlines,
    category: ComplaintCategory,
    received_at: OffsetDateTime,
) -> Due {
    calendar.deadline(received_at, deadlines.days(category))
}

/// Sets (or changes) the category and the deadline it gives.
pub async fn classify(
    app: &App,
    user: &User,
    id: ComplaintId,
    category: ComplaintCategory,
) -> Result<Complaint, ServiceError> {
    require_role(user, STAFF, "classify complaints")?;
    let complaint = staff_complaint(app, id).await?;
    let calendar = super::calendar::current(app.store.as_ref(), &app.calendar).await?;
    let due = due_for(
        &calendar,
        &app.complaint_deadlines,
        category,
        complaint.received_at,
    );
    if due.uncertain {
        tracing::warn!(complaint = %id, "complaint deadline relies on a year with no loaded holiday calendar");
    }
    let step = ComplaintStep::Classify {
        category,
        due_at: due.at,
        due_uncertain: due.uncertain,
    };
    apply(app, user, id, step).await
}

/// Gives the complaint to a staff user, by username (None: to nobody).
pub async fn assign(
    app: &App,
    user: &User,
    id: ComplaintId,
    assignee: Option<&str>,
) -> Result<Complaint, ServiceError> {
    require_role(user, STAFF, "assign complaints")?;
    let to = match assignee.map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(username) => match app.store.user_by_username(username).await? {
            Some(u) if u.role.is_staff() && !u.disabled => Some(u.id),
            _ => {
                return Err(ServiceError::invalid(
                    "assignee",
                    "is not an enabled staff user",
                ));
            }
        },
    };
    apply(app, user, id, ComplaintStep::Assign { to }).await
}

/// Adds an internal note (staff only, never shown to the complainant).
pub async fn note(
    app: &App,
    user: &User,
    id: ComplaintId,
    body: &str,
) -> Result<Complaint, ServiceError> {
    require_role(user, STAFF, "write notes on complaints")?;
    let body = text_field("body", body, MAX_TEXT, true)?;
    apply(app, user, id, ComplaintStep::Note { body }).await
}

/// Responds to the complainant (shown on the status page).
pub async fn respond(
    app: &App,
    user: &User,
    id: ComplaintId,
    body: &str,
) -> Result<Complaint, ServiceError> {
    require_role(user, STAFF, "respond to complaints")?;
    let body = text_field("body", body, MAX_TEXT, true)?;
    apply(app, user, id, ComplaintStep::Respond { body }).await
}

/// Resolves the complaint with a resolution the complainant reads.
pub async fn resolve(
    app: &App,
    user: &User,
    id: ComplaintId,
    resolution: &str,
) -> Result<Complaint, ServiceError> {
    require_role(user, STAFF, "resolve complaints")?;
    let resolution = text_field("resolution", resolution, MAX_TEXT, true)?;
    apply(app, user, id, ComplaintStep::Resolve { resolution }).await
}

/// Applies a step; a state that does not allow it is a 409 saying why.
async fn apply(
    app: &App,
    user: &User,
    id: ComplaintId,
    step: ComplaintStep,
) -> Result<Complaint, ServiceError> {
    app.store
        .complaint_step(id, step, user.id)
        .await
        .map_err(|e| match e {
            StoreError::ComplaintStateMismatch { actual } => {
                let message = match actual {
                    ComplaintState::Received => {
                        "the complaint has no category yet: classify it first (its deadline depends on it)"
                    }
                    ComplaintState::Resolved => "the complaint is already resolved",
                    _ => "the complaint's state does not allow this now",
                };
                ServiceError::conflict(ConflictCode::InvalidState, message)
            }
            other => other.into(),
        })
}

async fn staff_complaint(app: &App, id: ComplaintId) -> Result<Complaint, ServiceError> {
    app.store
        .complaint(id)
        .await?
        .ok_or(ServiceError::NotFound("complaint"))
}

/// Which complaints to list, as the API and the pages receive it.
#[derive(Debug, Clone, Default)]
pub struct ComplaintQuery {
    pub state: Option<String>,
    /// Only open complaints past their deadline.
    pub overdue: bool,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A page of complaints.
#[derive(Debug, Clone)]
pub struct ComplaintList {
    pub page: Page<Complaint>,
    pub page_number: i64,
    pub per_page: i64,
}

/// Lists complaints, open and nearest deadline first: every complaint for
/// staff, its agency's for a PD.
pub async fn list(
    app: &App,
    user: &User,
    query: ComplaintQuery,
) -> Result<ComplaintList, ServiceError> {
    let agency_id = if user.role.is_staff() {
        None
    } else {
        Some(user.agency_id.ok_or(ServiceError::NotFound("complaint"))?)
    };
    let state = query
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ComplaintState>().map_err(|_| {
                ServiceError::invalid(
                    "state",
                    format!("must be one of {}", names(ComplaintState::ALL)),
                )
            })
        })
        .transpose()?;
    let (page_number, per_page) = super::views::paging(query.page, query.per_page)?;
    let filter = ComplaintFilter {
        agency_id,
        state,
        overdue_at: query.overdue.then(|| app.now()),
        limit: per_page,
        offset: (page_number - 1) * per_page,
    };
    Ok(ComplaintList {
        page: app.store.list_complaints(&filter).await?,
        page_number,
        per_page,
    })
}

/// A complaint as staff (or its PD) see it.
#[derive(Debug, Clone)]
pub struct ComplaintDetail {
    pub complaint: Complaint,
    /// The filing PD's agency.
    pub agency: Option<Agency>,
    pub responses: Vec<ComplaintResponse>,
    /// Whether the viewer is staff: only then are the fields below (and
    /// the responses' authors) filled in.
    pub internal: bool,
    pub notes: Vec<ComplaintNote>,
    /// The assignee's username.
    pub assignee: Option<String>,
    /// Who filed or recorded it (a PD or staff username).
    pub filed_by: Option<String>,
}

/// One complaint with its responses, and for staff its notes and who
/// handles it. A PD sees its own agency's only; others are "not found".
pub async fn detail(
    app: &App,
    user: &User,
    id: ComplaintId,
) -> Result<ComplaintDetail, ServiceError> {
    let mut complaint = staff_complaint(app, id).await?;
    let internal = user.role.is_staff();
    if !internal && (complaint.agency_id.is_none() || complaint.agency_id != user.agency_id) {
        return Err(ServiceError::NotFound("complaint"));
    }
    let agency = match complaint.agency_id {
        Some(a) => app.store.agency(a).await?,
        None => None,
    };
    let mut responses = app.store.complaint_responses(id).await?;
    let (notes, assignee, filed_by) = if internal {
        (
            app.store.complaint_notes(id).await?,
            username(app, complaint.assigned_to).await?,
            username(app, complaint.filed_by).await?,
        )
    } else {
        // Staff names stay inside the office.
        complaint.assigned_to = None;
        for response in &mut responses {
            response.author_name.clear();
        }
        (Vec::new(), None, None)
    };
    Ok(ComplaintDetail {
        complaint,
        agency,
        responses,
        internal,
        notes,
        assignee,
        filed_by,
    })
}

async fn username(
    app: &App,
    id: Option<crate::model::UserId>,
) -> Result<Option<String>, ServiceError> {
    Ok(match id {
        Some(id) => app.store.user(id).await?.map(|u| u.username),
        None => None,
    })
}

/// The staff users a complaint can be given to.
pub async fn assignable(app: &App, user: &User) -> Result<Vec<User>, ServiceError> {
    require_role(user, STAFF, "assign complaints")?;
    let users = app.store.list_users().await?;
    Ok(users
        .into_iter()
        .filter(|u| u.role.is_staff() && !u.disabled)
        .collect())
}

/// What the complainant sees by tracking code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicComplaint {
    pub tracking_code: TrackingCode,
    pub state: ComplaintState,
    pub category: Option<ComplaintCategory>,
    pub received_at: OffsetDateTime,
    pub due_at: Option<OffsetDateTime>,
    /// Where it stands against the deadline now; None before it has one.
    pub sla: Option<SlaState>,
    /// The office's responses, oldest first, without their authors.
    pub responses: Vec<(OffsetDateTime, String)>,
    pub resolution: Option<String>,
    pub resolved_at: Option<OffsetDateTime>,
}

/// The complainant's view of the complaint with this code. Every lookup
/// from `client`, found or not, well-formed or not, counts against its
/// rate limit; an unknown code and a malformed one are both "not found".
pub async fn public_view(
    app: &App,
    client: IpAddr,
    code: &str,
) -> Result<PublicComplaint, ServiceError> {
    app.complaint_lookups
        .take(client, Instant::now())
        .map_err(|secs| ServiceError::TooManyAttempts {
            retry_after_secs: secs,
        })?;
    let code = TrackingCode::parse(code).map_err(|_| ServiceError::NotFound("complaint"))?;
    let complaint = app
        .store
        .complaint_by_code(&code)
        .await?
        .ok_or(ServiceError::NotFound("complaint"))?;
    let responses = app.store.complaint_responses(complaint.id).await?;
    Ok(PublicComplaint {
        sla: complaint.sla(app.now()),
        tracking_code: complaint.tracking_code,
        state: complaint.state,
        category: complaint.category,
        received_at: complaint.received_at,
        due_at: complaint.due_at,
        responses: responses.into_iter().map(|r| (r.at, r.body)).collect(),
        resolution: complaint.resolution,
        resolved_at: complaint.resolved_at,
    })
}
