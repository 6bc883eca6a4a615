//! Complaints (pengaduan) in PostgreSQL: filing under a fresh tracking
//! code, the staff's steps (classify, assign, note, respond, resolve) each
//! with its audit entry in one write transaction (holding the store's
//! write lock), and the reads.
//!
//! The audit entries name the complaint by id and carry its channel,
//! category and deadline; the complainant's name, contact and words, and
//! the text of notes, responses and resolutions, stay in these tables.

use serde_json::json;
use sqlx::{PgConnection, PgExecutor};

use super::{PgStore, accounts, audit};
use crate::audit::AuditAction;
use crate::model::{
    Complaint, ComplaintId, ComplaintNote, ComplaintResponse, ComplaintState, ComplaintStep,
    TrackingCode, UserId,
};
use crate::store::codec::{now_ms, to_ms};
use crate::store::rows::complaints::{
    CODE_ATTEMPTS, ComplaintRow, Entry, EntryRow, classified_detail, codes_taken,
    complaint_columns, filed_event, resolved_detail, step_event,
};
use crate::store::rows::page;
use crate::store::{ComplaintFilter, NewComplaint, Page, StoreError, StoreResult};

/// Inserts the complaint under a fresh code with its `complaint.filed`
/// entry.
pub(super) async fn insert(store: &PgStore, new: NewComplaint) -> StoreResult<Complaint> {
    let now = now_ms();
    let mut tx = store.begin_write().await?;
    let mut id = None;
    for _ in 0..CODE_ATTEMPTS {
        // A taken code inserts nothing (the unique index decides, so two
        // concurrent filings cannot share one) and the next is drawn.
        // `ON CONFLICT DO NOTHING` raises no error, so the transaction is
        // not aborted and goes on with the next code.
        id = insert_row(&mut *tx, &new, &TrackingCode::random(), now).await?;
        if id.is_some() {
            break;
        }
    }
    let id = id.ok_or_else(codes_taken)?;
    audit::append(&mut tx, &filed_event(id, &new), now).await?;
    let complaint = written(&mut tx, id).await?;
    tx.commit().await?;
    Ok(complaint)
}

/// The new row's id; None when `code` is taken.
async fn insert_row(
    ex: impl PgExecutor<'_>,
    new: &NewComplaint,
    code: &TrackingCode,
    now: i64,
) -> StoreResult<Option<ComplaintId>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO complaints (tracking_code, channel, complainant_name, contact,
             request_reference, description, state, agency_id, filed_by, received_at,
             recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
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
    ex: impl PgExecutor<'_>,
    id: ComplaintId,
) -> StoreResult<Option<Complaint>> {
    let row: Option<ComplaintRow> = sqlx::query_as(concat!(
        "SELECT ",
        complaint_columns!(),
        " FROM complaints WHERE id = $1"
    ))
    .bind(id.0)
    .fetch_optional(ex)
    .await?;
    row.map(Complaint::try_from).transpose()
}

/// A complaint this transaction has just written.
async fn written(conn: &mut PgConnection, id: ComplaintId) -> StoreResult<Complaint> {
    fetch(&mut *conn, id)
        .await?
        .ok_or(StoreError::NotFound("complaint"))
}

pub(super) async fn by_code(
    ex: impl PgExecutor<'_>,
    code: &TrackingCode,
) -> StoreResult<Option<Complaint>> {
    let row: Option<ComplaintRow> = sqlx::query_as(concat!(
        "SELECT ",
        complaint_columns!(),
        " FROM complaints WHERE tracking_code = $1"
    ))
    .bind(code.as_str())
    .fetch_optional(ex)
    .await?;
    row.map(Complaint::try_from).transpose()
}

/// The filter of [`list`]; a NULL parameter leaves its condition out.
/// `$4` is the resolved state's text.
macro_rules! complaint_filter {
    () => {
        "WHERE ($1::BIGINT IS NULL OR agency_id = $1) AND ($2::TEXT IS NULL OR state = $2) \
         AND ($3::BIGINT IS NULL OR (state <> $4 AND due_at < $3))"
    };
}

/// A page of complaints with the total, in one read transaction.
pub(super) async fn list(
    store: &PgStore,
    filter: &ComplaintFilter,
) -> StoreResult<Page<Complaint>> {
    let mut tx = store.begin_read().await?;
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
    // deadline (`NULLS FIRST` as in SQLite, though the NULLs are already
    // sorted apart).
    let rows: Vec<ComplaintRow> = sqlx::query_as(concat!(
        "SELECT ",
        complaint_columns!(),
        " FROM complaints ",
        complaint_filter!(),
        " ORDER BY state = $4, due_at IS NOT NULL, due_at NULLS FIRST, received_at, id \
         LIMIT $5 OFFSET $6"
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
    page(rows, total)
}

/// Internal notes, oldest first.
pub(super) async fn notes(
    ex: impl PgExecutor<'_>,
    id: ComplaintId,
) -> StoreResult<Vec<ComplaintNote>> {
    let rows = entries(ex, Entry::Note, id).await?;
    rows.into_iter().map(ComplaintNote::try_from).collect()
}

/// Responses to the complainant, oldest first.
pub(super) async fn responses(
    ex: impl PgExecutor<'_>,
    id: ComplaintId,
) -> StoreResult<Vec<ComplaintResponse>> {
    let rows = entries(ex, Entry::Response, id).await?;
    rows.into_iter().map(ComplaintResponse::try_from).collect()
}

/// The notes or the responses of a complaint with their authors, oldest
/// first.
async fn entries(
    ex: impl PgExecutor<'_>,
    entry: Entry,
    id: ComplaintId,
) -> StoreResult<Vec<EntryRow>> {
    let sql = match entry {
        Entry::Note => {
            "SELECT e.author_id, u.username, e.body, e.at
             FROM complaint_notes e JOIN users u ON u.id = e.author_id
             WHERE e.complaint_id = $1 ORDER BY e.id"
        }
        Entry::Response => {
            "SELECT e.author_id, u.username, e.body, e.at
             FROM complaint_responses e JOIN users u ON u.id = e.author_id
             WHERE e.complaint_id = $1 ORDER BY e.id"
        }
    };
    Ok(sqlx::query_as(sql).bind(id.0).fetch_all(ex).await?)
}

/// Applies `step` if the complaint's current state allows it, with its
/// audit entry.
pub(super) async fn step(
    store: &PgStore,
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
                "UPDATE complaints SET category = $1, due_at = $2, due_uncertain = $3,
                     classified_at = $4, state = $5
                 WHERE id = $6",
            )
            .bind(category.as_str())
            .bind(to_ms(*due_at))
            .bind(due_uncertain)
            .bind(now)
            .bind(state.as_str())
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            let detail = classified_detail(*category, before.category, *due_at, *due_uncertain);
            (AuditAction::ComplaintClassified, detail)
        }
        ComplaintStep::Assign { to } => {
            sqlx::query("UPDATE complaints SET assigned_to = $1 WHERE id = $2")
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
                "UPDATE complaints SET state = $1, resolved_at = $2, resolution = $3 WHERE id = $4",
            )
            .bind(state.as_str())
            .bind(now)
            .bind(resolution)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            let detail = resolved_detail(before.due_at, now);
            (AuditAction::ComplaintResolved, detail)
        }
    };
    let event = step_event(action, detail, id, state, by, before.agency_id);
    audit::append(&mut tx, &event, now).await?;
    let complaint = written(&mut tx, id).await?;
    tx.commit().await?;
    Ok(complaint)
}

/// Inserts a note or a response; returns its id.
async fn insert_entry(
    conn: &mut PgConnection,
    entry: Entry,
    id: ComplaintId,
    body: &str,
    by: UserId,
    now: i64,
) -> StoreResult<i64> {
    let sql = match entry {
        Entry::Note => {
            "INSERT INTO complaint_notes (complaint_id, author_id, body, at) VALUES ($1, $2, $3, $4)
             RETURNING id"
        }
        Entry::Response => {
            "INSERT INTO complaint_responses (complaint_id, author_id, body, at)
             VALUES ($1, $2, $3, $4) RETURNING id"
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
    conn: &mut PgConnection,
    id: ComplaintId,
    state: ComplaintState,
) -> StoreResult<()> {
    sqlx::query("UPDATE complaints SET state = $1 WHERE id = $2")
        .bind(state.as_str())
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The username of `user`, for the audit log (staff names are not
/// personal data of the complainant).
async fn username(conn: &mut PgConnection, user: Option<UserId>) -> StoreResult<Option<String>> {
    match user {
        Some(id) => Ok(accounts::user(&mut *conn, id).await?.map(|u| u.username)),
        None => Ok(None),
    }
}
