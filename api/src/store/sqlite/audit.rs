//! The audit log in SQLite: appends inside the caller's write transaction,
//! reads by filter and by sequence range.

use sqlx::{SqliteConnection, SqliteExecutor};

use crate::audit::{AuditEntry, AuditEvent};
use crate::store::rows::audit::{
    AuditRow, actor_text, actor_user, audit_columns, head_or_genesis, next_entry,
};
use crate::store::rows::listing::{self, Dialect, reverse_name};
use crate::store::rows::page;
use crate::store::{AuditFilter, Page, StoreResult};

/// Appends `event` at `now_ms` after the current head. The caller's
/// transaction must be a write transaction (`BEGIN IMMEDIATE`), which
/// serialises appends: no two entries ever share a predecessor.
pub(super) async fn append(
    conn: &mut SqliteConnection,
    event: &AuditEvent,
    now_ms: i64,
) -> StoreResult<AuditEntry> {
    let head = head(&mut *conn).await?;
    let username: Option<String> = match actor_user(&event.actor) {
        Some(id) => {
            sqlx::query_scalar("SELECT username FROM users WHERE id = ?")
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await?
        }
        None => None,
    };
    let (actor, actor_user_id) = actor_text(&event.actor, username);
    let entry = next_entry(head, event, actor, now_ms)?;
    sqlx::query(
        "INSERT INTO audit_log (seq, at, action, actor, actor_user_id, agency_id, name,
             name_rev, request_id, detail, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(entry.seq)
    .bind(now_ms)
    .bind(&entry.action)
    .bind(&entry.actor)
    .bind(actor_user_id)
    .bind(entry.agency_id)
    .bind(&entry.name)
    .bind(entry.name.as_deref().map(reverse_name))
    .bind(entry.request_id)
    .bind(crate::audit::canonical_json(&entry.detail))
    .bind(&entry.prev_hash)
    .bind(&entry.hash)
    .execute(&mut *conn)
    .await?;
    Ok(entry)
}

/// A page of entries matching `filter`, newest first, with the total.
pub(super) async fn list(
    conn: &mut SqliteConnection,
    filter: &AuditFilter,
) -> StoreResult<Page<AuditEntry>> {
    let statements = listing::audit(Dialect::Sqlite, audit_columns!(), filter);
    let (rows, total) =
        listing::fetch::<sqlx::Sqlite, AuditRow>(conn, statements, filter.limit, filter.offset)
            .await?;
    page(rows, total)
}

/// Up to `limit` entries after `after_seq`, oldest first.
pub(super) async fn range(
    ex: impl SqliteExecutor<'_>,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    let rows: Vec<AuditRow> = sqlx::query_as(concat!(
        "SELECT ",
        audit_columns!(),
        " FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?"
    ))
    .bind(after_seq)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(AuditEntry::try_from).collect()
}

/// The last entry's number and hash (0 and the genesis hash when empty).
pub(super) async fn head(ex: impl SqliteExecutor<'_>) -> StoreResult<(i64, String)> {
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(ex)
            .await?;
    Ok(head_or_genesis(head))
}

/// Appends an event about request `id`, with its name and agency.
pub(super) async fn append_for_request(
    conn: &mut SqliteConnection,
    id: crate::model::RequestId,
    mut event: AuditEvent,
    now_ms: i64,
) -> StoreResult<AuditEntry> {
    let (name, agency_id): (String, i64) =
        sqlx::query_as("SELECT name, agency_id FROM requests WHERE id = ?")
            .bind(id.0)
            .fetch_one(&mut *conn)
            .await?;
    event.request_id = Some(id);
    event.name = Some(name);
    event.agency_id = Some(crate::model::AgencyId(agency_id));
    append(conn, &event, now_ms).await
}
