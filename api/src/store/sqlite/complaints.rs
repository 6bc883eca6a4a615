//! Complaints (pengaduan) in SQLite: the SQL of filing under a tracking
//! code, of the staff's steps (classify, assign, note, respond, resolve)
//! and of the reads. The transactions (each step with its audit entry in
//! one `BEGIN IMMEDIATE` transaction) are composed in `store::compose`.
//!
//! The audit entries name the complaint by id and carry its channel,
//! category and deadline; the complainant's name, contact and words, and
//! the text of notes, responses and resolutions, stay in these tables.

use sqlx::{SqliteConnection, SqliteExecutor};
use time::OffsetDateTime;

use crate::model::{
    Complaint, ComplaintCategory, ComplaintId, ComplaintNote, ComplaintResponse, ComplaintState,
    TrackingCode, UserId,
};
use crate::store::codec::to_ms;
use crate::store::rows::complaints::{ComplaintRow, Entry, EntryRow, complaint_columns};
use crate::store::rows::page;
use crate::store::{ComplaintFilter, NewComplaint, Page, StoreResult, Total};

/// Inserts the complaint under `code`; the new row's id, None when `code`
/// is taken.
pub(super) async fn insert(
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

/// A page of complaints with the total (run it in a read transaction, so
/// both see one snapshot).
pub(super) async fn list(
    conn: &mut SqliteConnection,
    filter: &ComplaintFilter,
) -> StoreResult<Page<Complaint>> {
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
    .fetch_one(&mut *conn)
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
    .fetch_all(&mut *conn)
    .await?;
    page(rows, Total::Exact(total))
}

/// Internal notes, oldest first.
pub(super) async fn notes(
    ex: impl SqliteExecutor<'_>,
    id: ComplaintId,
) -> StoreResult<Vec<ComplaintNote>> {
    let rows = entries(ex, Entry::Note, id).await?;
    rows.into_iter().map(ComplaintNote::try_from).collect()
}

/// Responses to the complainant, oldest first.
pub(super) async fn responses(
    ex: impl SqliteExecutor<'_>,
    id: ComplaintId,
) -> StoreResult<Vec<ComplaintResponse>> {
    let rows = entries(ex, Entry::Response, id).await?;
    rows.into_iter().map(ComplaintResponse::try_from).collect()
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

/// Records the classification at `now`, leaving the complaint in `state`.
pub(super) async fn classify(
    ex: impl SqliteExecutor<'_>,
    id: ComplaintId,
    category: ComplaintCategory,
    due_at: OffsetDateTime,
    due_uncertain: bool,
    state: ComplaintState,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE complaints SET category = ?, due_at = ?, due_uncertain = ?,
             classified_at = ?, state = ?
         WHERE id = ?",
    )
    .bind(category.as_str())
    .bind(to_ms(due_at))
    .bind(due_uncertain)
    .bind(now)
    .bind(state.as_str())
    .bind(id.0)
    .execute(ex)
    .await?;
    Ok(())
}

/// Assigns the complaint to `to` (None: to nobody).
pub(super) async fn assign(
    ex: impl SqliteExecutor<'_>,
    id: ComplaintId,
    to: Option<UserId>,
) -> StoreResult<()> {
    sqlx::query("UPDATE complaints SET assigned_to = ? WHERE id = ?")
        .bind(to.map(|u| u.0))
        .bind(id.0)
        .execute(ex)
        .await?;
    Ok(())
}

/// Inserts a note or a response; returns its id.
pub(super) async fn insert_entry(
    ex: impl SqliteExecutor<'_>,
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
        .fetch_one(ex)
        .await?)
}

pub(super) async fn set_state(
    ex: impl SqliteExecutor<'_>,
    id: ComplaintId,
    state: ComplaintState,
) -> StoreResult<()> {
    sqlx::query("UPDATE complaints SET state = ? WHERE id = ?")
        .bind(state.as_str())
        .bind(id.0)
        .execute(ex)
        .await?;
    Ok(())
}

/// Records the resolution at `now`, leaving the complaint in `state`.
pub(super) async fn resolve(
    ex: impl SqliteExecutor<'_>,
    id: ComplaintId,
    state: ComplaintState,
    resolution: &str,
    now: i64,
) -> StoreResult<()> {
    sqlx::query("UPDATE complaints SET state = ?, resolved_at = ?, resolution = ? WHERE id = ?")
        .bind(state.as_str())
        .bind(now)
        .bind(resolution)
        .bind(id.0)
        .execute(ex)
        .await?;
    Ok(())
}
