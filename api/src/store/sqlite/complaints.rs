//! Complaints (pengaduan) in SQLite: filing under a fresh tracking code,
//! the staff's steps (classify, assign, note, respond, resolve) each with
//! its audit entry in one `BEGIN IMMEDIATE` transaction, and the reads.
//!
//! The audit entries name the complaint by id and carry its channel,
//! category and deadline; the complainant's name, contact and words, and
//! the text of notes, responses and resolutions, stay in these tables.

use serde_json::json;
use sqlx::{SqliteConnection, SqliteExecutor};

use super::{SqliteStore, accounts, audit};
use crate::audit::{AuditAction, AuditActor, AuditEvent};
use crate::model::{
    AgencyId, Complaint, ComplaintId, ComplaintNote, ComplaintResponse, ComplaintState,
    ComplaintStep, TrackingCode, UserId,
};
use crate::store::codec::{corrupt, from_ms, from_ms_opt, now_ms, parse_text, to_ms};
use crate::store::{ComplaintFilter, NewComplaint, Page, StoreError, StoreResult};

#[cfg(test)]
mod tests;

/// Codes drawn before giving up on a free one. With 2⁴⁰ codes a single
/// collision is already unlikely in the life of the service; five in a
/// row mean the generator is broken, and filing should fail loudly.
const CODE_ATTEMPTS: usize = 5;

/// A row of `complaints`.
#[derive(sqlx::FromRow)]
struct ComplaintRow {
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

/// Inserts the complaint under a fresh code with its `complaint.filed`
/// entry.
pub(super) async fn insert(store: &SqliteStore, new: NewComplaint) -> StoreResult<Complaint> {
    let now = now_ms();
    let mut tx = store.begin_write().await?;
    let mut id = None;
    for _ in 0..CODE_ATTEMPTS {
        // A taken code inserts nothing (the unique index decides, so two
        // concurrent filings cannot share one) and the next is drawn.
        id = insert_row(&mut *tx, &new, &TrackingCode::random(), now).await?;
        if id.is_some() {
            break;
        }
    }
    let id = id.ok_or_else(|| {
        corrupt(
            "complaints.tracking_code",
            format_args!("{CODE_ATTEMPTS} random codes in a row were taken"),
        )
    })?;
    let actor = new.filed_by.map_or(AuditActor::Anonymous, AuditActor::User);
    let mut event = AuditEvent::new(AuditAction::ComplaintFiled, actor).with_detail(json!({
        "complaint": id.0,
        "channel": new.channel.as_str(),
        "received_at": to_ms(new.received_at),
    }));
    event.agency_id = new.agency_id;
    audit::append(&mut tx, &event, now).await?;
    let complaint = written(&mut tx, id).await?;
    tx.commit().await?;
    Ok(complaint)
}

/// The new row's id; None when `code` is taken.
async fn insert_row(
    ex: impl SqliteExecutor<'_>,
    new: &NewComplaint,
    code: &TrackingCode,
    now: i64,
) -> StoreResult<Option<ComplaintId>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO complaints (tracking_code, channel, complainant_name, contact,
             request_reference, description, state, agency_id, filed_by, received_at,
             recorded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tracking_code) DO NOTHING
         RETURNING id",
    )
    .bind(code.as_str())
    .bind(new.channel.as_str())
    .bind(&new.complainant_name)
    .bind(&new.contact)
    .bind(&new.request_reference)
    .bind(&new.description)
    .bind(ComplaintState::Received.as_str())
    .bind(new.agency_id.map(|a| a.0))
    .bind(new.filed_by.map(|u| u.0))
    .bind(to_ms(new.received_at))
    .bind(now)
    .fetch_optional(ex)
    .await?;
    Ok(id.map(ComplaintId))
}

pub(super) async fn fetch(
    ex: impl SqliteExecutor<'_>,
    id: ComplaintId,
) -> StoreResult<Option<Complaint>> {
    let row: Option<ComplaintRow> = sqlx::query_as(concat!(
        "SELECT ",
        complaint_columns!(),
        " FROM complaints WHERE id = ?"
    ))
    .bind(id.0)
    .fetch_optional(ex)
    .await?;
    row.map(Complaint::try_from).transpose()
}

/// A complaint this transaction has just written.
async fn written(conn: &mut SqliteConnection, id: ComplaintId) -> StoreResult<Complaint> {
    fetch(&mut *conn, id)
        .await?
        .ok_or(StoreError::NotFound("complaint"))
}

pub(super) async fn by_code(
    ex: impl SqliteExecutor<'_>,
    code: &TrackingCode,
) -> StoreResult<Option<Complaint>> {
    let row: Option<ComplaintRow> = sqlx::query_as(concat!(
        "SELECT ",
        complaint_columns!(),
        " FROM complaints WHERE tracking_code = ?"
    ))
    .bind(code.as_str())
    .fetch_optional(ex)
    .await?;
    row.map(Complaint::try_from).transpose()
}

/// The filter of [`list`]; a NULL parameter leaves its condition out.
/// `?4` is the resolved state's text.
macro_rules! complaint_filter {
    () => {
        "WHERE (?1 IS NULL OR agency_id = ?1) AND (?2 IS NULL OR state = ?2) \
         AND (?3 IS NULL OR (state <> ?4 AND due_at < ?3))"
    };
}

/// A page of complaints with the total, in one read transaction.
pub(super) async fn list(
    store: &SqliteStore,
    filter: &ComplaintFilter,
) -> StoreResult<Page<Complaint>> {
    let mut tx = store.pool.begin().await?;
    let agency = filter.agency_id.map(|a| a.0);
    let state = filter.state.map(ComplaintState::as_str);
    let overdue_at = filter.overdue_at.map(to_ms);
    let resolved = ComplaintState::Resolved.as_str();
    let total: i64 = sqlx::query_scalar(concat!(
        "SELECT COUNT(*) FROM complaints ",
        complaint_filter!()
    ))
    .bind(agency)
    .bind(state)
    .bind(overdue_at)
    .bind(resolved)
    .fetch_one(&mut *tx)
    .await?;
    // Open before resolved; among them, the unclassified first (they
    // have no deadline until someone reads them), then the nearest
    // deadline.
    let rows: Vec<ComplaintRow> = sqlx::query_as(concat!(
        "SELECT ",
        complaint_columns!(),
        " FROM complaints ",
        complaint_filter!(),
        " ORDER BY state = ?4, due_at IS NOT NULL, due_at, received_at, id LIMIT ?5 OFFSET ?6"
    ))
    .bind(agency)
    .bind(state)
    .bind(overdue_at)
    .bind(resolved)
    .bind(filter.limit)
    .bind(filter.offset)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Page {
        items: rows
            .into_iter()
            .map(Complaint::try_from)
            .collect::<StoreResult<_>>()?,
        total,
    })
}

/// A row of `complaint_notes` or `complaint_responses` with its author.
#[derive(sqlx::FromRow)]
struct EntryRow {
    author_id: i64,
    username: String,
    body: String,
    at: i64,
}

/// Internal notes, oldest first.
pub(super) async fn notes(
    ex: impl SqliteExecutor<'_>,
    id: ComplaintId,
) -> StoreResult<Vec<ComplaintNote>> {
    let rows = entries(ex, Entry::Note, id).await?;
    rows.into_iter()
        .map(|r| {
            Ok(ComplaintNote {
                at: from_ms("complaint_notes.at", r.at)?,
                author: UserId(r.author_id),
                author_name: r.username,
                body: r.body,
            })
        })
        .collect()
}

/// Responses to the complainant, oldest first.
pub(super) async fn responses(
    ex: impl SqliteExecutor<'_>,
    id: ComplaintId,
) -> StoreResult<Vec<ComplaintResponse>> {
    let rows = entries(ex, Entry::Response, id).await?;
    rows.into_iter()
        .map(|r| {
            Ok(ComplaintResponse {
                at: from_ms("complaint_responses.at", r.at)?,
                author: UserId(r.author_id),
                author_name: r.username,
                body: r.body,
            })
        })
        .collect()
}

/// The notes or the responses of a complaint with their authors, oldest
/// first.
async fn entries(
    ex: impl SqliteExecutor<'_>,
    entry: Entry,
    id: ComplaintId,
) -> StoreResult<Vec<EntryRow>> {
    let sql = match entry {
        Entry::Note => {
            "SELECT e.author_id, u.username, e.body, e.at
             FROM complaint_notes e JOIN users u ON u.id = e.author_id
             WHERE e.complaint_id = ? ORDER BY e.id"
        }
        Entry::Response => {
            "SELECT e.author_id, u.username, e.body, e.at
             FROM complaint_responses e JOIN users u ON u.id = e.author_id
             WHERE e.complaint_id = ? ORDER BY e.id"
        }
    };
    Ok(sqlx::query_as(sql).bind(id.0).fetch_all(ex).await?)
}

/// Applies `step` if the complaint's current state allows it, with its
/// audit entry.
pub(super) async fn step(
    store: &SqliteStore,
    id: ComplaintId,
    step: ComplaintStep,
    by: UserId,
) -> StoreResult<Complaint> {
    let now = now_ms();
    let mut tx = store.begin_write().await?;
    // Read inside the write transaction: two officers acting at once are
    // serialised, and the second sees what the first did.
    let before = fetch(&mut *tx, id)
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
            sqlx::query(
                "UPDATE complaints SET category = ?, due_at = ?, due_uncertain = ?,
                     classified_at = ?, state = ?
                 WHERE id = ?",
            )
            .bind(category.as_str())
            .bind(to_ms(*due_at))
            .bind(due_uncertain)
            .bind(now)
            .bind(state.as_str())
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            let detail = json!({
                "category": category.as_str(),
                "previous_category": before.category.map(|c| c.as_str()),
                "due_at": to_ms(*due_at),
                "due_uncertain": due_uncertain,
            });
            (AuditAction::ComplaintClassified, detail)
        }
        ComplaintStep::Assign { to } => {
            sqlx::query("UPDATE complaints SET assigned_to = ? WHERE id = ?")
                .bind(to.map(|u| u.0))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            let detail = json!({
                "assigned_to": username(&mut tx, *to).await?,
                "previously": username(&mut tx, before.assigned_to).await?,
            });
            (AuditAction::ComplaintAssigned, detail)
        }
        ComplaintStep::Note { body } => {
            let note = insert_entry(&mut tx, Entry::Note, id, body, by, now).await?;
            (AuditAction::ComplaintNoted, json!({ "note": note }))
        }
        ComplaintStep::Respond { body } => {
            let response = insert_entry(&mut tx, Entry::Response, id, body, by, now).await?;
            set_state(&mut tx, id, state).await?;
            (
                AuditAction::ComplaintAnswered,
                json!({ "response": response }),
            )
        }
        ComplaintStep::Resolve { resolution } => {
            sqlx::query(
                "UPDATE complaints SET state = ?, resolved_at = ?, resolution = ? WHERE id = ?",
            )
            .bind(state.as_str())
            .bind(now)
            .bind(resolution)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            let detail = json!({
                "due_at": before.due_at.map(to_ms),
                "within_deadline": before.due_at.map(|due| now <= to_ms(due)),
            });
            (AuditAction::ComplaintResolved, detail)
        }
    };
    let mut detail = detail;
    if let Some(map) = detail.as_object_mut() {
        map.insert("complaint".to_owned(), json!(id.0));
        map.insert("state".to_owned(), json!(state.as_str()));
    }
    let mut event = AuditEvent::new(action, AuditActor::User(by)).with_detail(detail);
    event.agency_id = before.agency_id;
    audit::append(&mut tx, &event, now).await?;
    let complaint = written(&mut tx, id).await?;
    tx.commit().await?;
    Ok(complaint)
}

/// Which table an entry goes to.
#[derive(Debug, Clone, Copy)]
enum Entry {
    Note,
    Response,
}

/// Inserts a note or a response; returns its id.
async fn insert_entry(
    conn: &mut SqliteConnection,
    entry: Entry,
    id: ComplaintId,
    body: &str,
    by: UserId,
    now: i64,
) -> StoreResult<i64> {
    let sql = match entry {
        Entry::Note => {
            "INSERT INTO complaint_notes (complaint_id, author_id, body, at) VALUES (?, ?, ?, ?)
             RETURNING id"
        }
        Entry::Response => {
            "INSERT INTO complaint_responses (complaint_id, author_id, body, at)
             VALUES (?, ?, ?, ?) RETURNING id"
        }
    };
    Ok(sqlx::query_scalar(sql)
        .bind(id.0)
        .bind(by.0)
        .bind(body)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

async fn set_state(
    conn: &mut SqliteConnection,
    id: ComplaintId,
    state: ComplaintState,
) -> StoreResult<()> {
    sqlx::query("UPDATE complaints SET state = ? WHERE id = ?")
        .bind(state.as_str())
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The username of `user`, for the audit log (staff names are not
/// personal data of the complainant).
async fn username(
    conn: &mut SqliteConnection,
    user: Option<UserId>,
) -> StoreResult<Option<String>> {
    match user {
        Some(id) => Ok(accounts::user(&mut *conn, id).await?.map(|u| u.username)),
        None => Ok(None),
    }
}
