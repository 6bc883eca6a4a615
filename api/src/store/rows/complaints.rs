//! The rows of `complaints`, `complaint_notes` and `complaint_responses`,
//! and the audit entries of filing and of each step.

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::audit::{AuditAction, AuditActor, AuditEvent};
use crate::model::{
    AgencyId, Complaint, ComplaintCategory, ComplaintId, ComplaintNote, ComplaintResponse,
    ComplaintState, TrackingCode, UserId,
};
use crate::store::codec::{corrupt, from_ms, from_ms_opt, parse_text, to_ms};
use crate::store::{NewComplaint, StoreError, StoreResult};

/// Codes drawn before giving up on a free one. With 2⁴⁰ codes a single
/// collision is already unlikely in the life of the service; five in a
/// row mean the generator is broken, and filing should fail loudly.
pub(in crate::store) const CODE_ATTEMPTS: usize = 5;

/// Why filing failed when every code drawn was taken.
pub(in crate::store) fn codes_taken() -> StoreError {
    corrupt(
        "complaints.tracking_code",
        format_args!("{CODE_ATTEMPTS} random codes in a row were taken"),
    )
}

/// A row of `complaints`.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct ComplaintRow {
    id: i64,
    tracking_code: String,
    channel: String,
    complainant_name: String,
    contact: String,
    request_reference: Option<String>,
    description: String,
    category: Option<String>,
    state: String,
    agency_id: Option<i64>,
    filed_by: Option<i64>,
    assigned_to: Option<i64>,
    received_at: i64,
    recorded_at: i64,
    classified_at: Option<i64>,
    due_at: Option<i64>,
    due_uncertain: bool,
    resolved_at: Option<i64>,
    resolution: Option<String>,
}

macro_rules! complaint_columns {
    () => {
        "id, tracking_code, channel, complainant_name, contact, request_reference, description, \
         category, state, agency_id, filed_by, assigned_to, received_at, recorded_at, \
         classified_at, due_at, due_uncertain, resolved_at, resolution"
    };
}
pub(in crate::store) use complaint_columns;

impl TryFrom<ComplaintRow> for Complaint {
    type Error = StoreError;

    fn try_from(row: ComplaintRow) -> StoreResult<Self> {
        Ok(Complaint {
            id: ComplaintId(row.id),
            tracking_code: TrackingCode::parse(&row.tracking_code)
                .map_err(|e| corrupt("complaints.tracking_code", e))?,
            channel: parse_text("complaints.channel", &row.channel)?,
            complainant_name: row.complainant_name,
            contact: row.contact,
            request_reference: row.request_reference,
            description: row.description,
            category: row
                .category
                .map(|c| parse_text("complaints.category", &c))
                .transpose()?,
            state: parse_text("complaints.state", &row.state)?,
            agency_id: row.agency_id.map(AgencyId),
            filed_by: row.filed_by.map(UserId),
            assigned_to: row.assigned_to.map(UserId),
            received_at: from_ms("complaints.received_at", row.received_at)?,
            recorded_at: from_ms("complaints.recorded_at", row.recorded_at)?,
            classified_at: from_ms_opt("complaints.classified_at", row.classified_at)?,
            due_at: from_ms_opt("complaints.due_at", row.due_at)?,
            due_uncertain: row.due_uncertain,
            resolved_at: from_ms_opt("complaints.resolved_at", row.resolved_at)?,
            resolution: row.resolution,
        })
    }
}

/// A row of `complaint_notes` or `complaint_responses` with its author.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct EntryRow {
    author_id: i64,
    username: String,
    body: String,
    at: i64,
}

/// Which table an entry goes to.
#[derive(Debug, Clone, Copy)]
pub(in crate::store) enum Entry {
    Note,
    Response,
}

/// Reads an [`EntryRow`] as `$model` (a note or a response, which have
/// the same fields), `$at` naming the time's column.
macro_rules! entry_from_row {
    ($model:ident, $at:literal) => {
        impl TryFrom<EntryRow> for $model {
            type Error = StoreError;

            fn try_from(r: EntryRow) -> StoreResult<Self> {
                Ok($model {
                    at: from_ms($at, r.at)?,
                    author: UserId(r.author_id),
                    author_name: r.username,
                    body: r.body,
                })
            }
        }
    };
}

entry_from_row!(ComplaintNote, "complaint_notes.at");
entry_from_row!(ComplaintResponse, "complaint_responses.at");

/// The `complaint.filed` entry of complaint `id`.
pub(in crate::store) fn filed_event(id: ComplaintId, new: &NewComplaint) -> AuditEvent {
    let actor = new.filed_by.map_or(AuditActor::Anonymous, AuditActor::User);
    let mut event = AuditEvent::new(AuditAction::ComplaintFiled, actor).with_detail(json!({
        "complaint": id.0,
        "channel": new.channel.as_str(),
        "received_at": to_ms(new.received_at),
    }));
    event.agency_id = new.agency_id;
    event
}

/// The detail of a classification (`previous` is the category before).
pub(in crate::store) fn classified_detail(
    category: ComplaintCategory,
    previous: Option<ComplaintCategory>,
    due_at: OffsetDateTime,
    due_uncertain: bool,
) -> Value {
    json!({
        "category": category.as_str(),
        "previous_category": previous.map(|c| c.as_str()),
        "due_at": to_ms(due_at),
        "due_uncertain": due_uncertain,
    })
}

/// The detail of a resolution at `now_ms` of a complaint due at `due_at`.
pub(in crate::store) fn resolved_detail(due_at: Option<OffsetDateTime>, now_ms: i64) -> Value {
    json!({
        "due_at": due_at.map(to_ms),
        "within_deadline": due_at.map(|due| now_ms <= to_ms(due)),
    })
}

/// The entry of a step by `by` on complaint `id` (of agency `agency_id`)
/// that leaves it in `state`: `detail` with the complaint and its state.
pub(in crate::store) fn step_event(
    action: AuditAction,
    detail: Value,
    id: ComplaintId,
    state: ComplaintState,
    by: UserId,
    agency_id: Option<AgencyId>,
) -> AuditEvent {
    let mut detail = detail;
    if let Some(map) = detail.as_object_mut() {
        map.insert("complaint".to_owned(), json!(id.0));
        map.insert("state".to_owned(), json!(state.as_str()));
    }
    let mut event = AuditEvent::new(action, AuditActor::User(by)).with_detail(detail);
    event.agency_id = agency_id;
    event
}
