//! The audit log in PostgreSQL: appends inside the caller's write
//! transaction, reads by filter and by sequence range.

use sqlx::{PgConnection, PgExecutor};

use crate::audit::{AuditEntry, AuditEvent};
use crate::store::rows::audit::{
    AuditRow, actor_text, actor_user, audit_columns, head_or_genesis, next_entry,
};
use crate::store::rows::listing::{self, Dialect, reverse_name};
use crate::store::rows::page;
use crate::store::{AuditFilter, Page, StoreResult};

/// Appends `event` at `now_ms` after the current head. The caller's
/// transaction must be a write transaction (`PgStore::begin_write`, which
/// holds the store's advisory write lock): that serialises appends across
/// every instance, so no two entries ever share a predecessor. `detail`
/// is stored as the canonical JSON text that went into the hash (a TEXT
/// column, kept byte for byte).
pub(super) async fn append(
    conn: &mut PgConnection,
    event: &AuditEvent,
    now_ms: i64,
) -> StoreResult<AuditEntry> {
    let head = head(&mut *conn).await?;
    let username: Option<String> = match actor_user(&event.actor) {
        Some(id) => {
            sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
    conn: &mut PgConnection,
    filter: &AuditFilter,
) -> StoreResult<Page<AuditEntry>> {
    let statements = listing::audit(Dialect::Postgres, audit_columns!(), filter);
    let (rows, total) =
        listing::fetch::<sqlx::Postgres, AuditRow>(conn, statements, filter.limit, filter.offset)
            .await?;
    page(rows, total)
}

/// Up to `limit` entries after `after_seq`, oldest first.
pub(super) async fn range(
    ex: impl PgExecutor<'_>,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    let rows: Vec<AuditRow> = sqlx::query_as(concat!(
        "SELECT ",
        audit_columns!(),
        " FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
    ))
    .bind(after_seq)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(AuditEntry::try_from).collect()
}

/// The last entry's number and hash (0 and the genesis hash when empty).
pub(super) async fn head(ex: impl PgExecutor<'_>) -> StoreResult<(i64, String)> {
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(ex)
            .await?;
    Ok(head_or_genesis(head))
}

/// Appends an event about request `id`, with its name and agency.
pub(super) async fn append_for_request(
    conn: &mut PgConnection,
    id: crate::model::RequestId,
    mut event: AuditEvent,
    now_ms: i64,
) -> StoreResult<AuditEntry> {
    let (name, agency_id): (String, i64) =
        sqlx::query_as("SELECT name, agency_id FROM requests WHERE id = $1")
            .bind(id.0)
            .fetch_one(&mut *conn)
            .await?;
    event.request_id = Some(id);
    event.name = Some(name);
    event.agency_id = Some(crate::model::AgencyId(agency_id));
    append(conn, &event, now_ms).await
}
