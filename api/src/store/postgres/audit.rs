//! The audit log in PostgreSQL: appends inside the caller's write
//! transaction, reads by filter and by sequence range.

use std::collections::HashMap;

use sqlx::{PgConnection, PgExecutor};

use crate::audit::{AuditEntry, AuditEvent};
use crate::model::{AgencyId, RequestId};
use crate::store::rows::audit::{
    Appending, AuditRow, INSERT_ENTRIES, actor_text, actor_user, audit_columns, chain, entry_rows,
    head_or_genesis,
};
use crate::store::rows::listing::{self, Dialect};
use crate::store::rows::many;
use crate::store::rows::page;
use crate::store::{AuditFilter, Page, StoreError, StoreResult};

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
    let mut appended = append_many(conn, vec![event.clone()], now_ms).await?;
    appended
        .pop()
        .ok_or(StoreError::NotFound("appended audit entry"))
}

/// Appends `events` in order, as [`append`] does one: the head read once,
/// the entries chained in memory and inserted together.
pub(super) async fn append_many(
    conn: &mut PgConnection,
    events: Vec<AuditEvent>,
    now_ms: i64,
) -> StoreResult<Vec<AuditEntry>> {
    let head = head(&mut *conn).await?;
    let mut appending = Vec::with_capacity(events.len());
    // Each acting user's name read once, however many of the events are theirs.
    let mut usernames: HashMap<i64, Option<String>> = HashMap::new();
    for event in events {
        let username: Option<String> = match actor_user(&event.actor) {
            Some(id) => match usernames.get(&id.0) {
                Some(name) => name.clone(),
                None => {
                    let name: Option<String> =
                        sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
                            .bind(id.0)
                            .fetch_optional(&mut *conn)
                            .await?;
                    usernames.insert(id.0, name.clone());
                    name
                }
            },
            None => None,
        };
        let (actor, actor_user_id) = actor_text(&event.actor, username);
        appending.push(Appending {
            event,
            actor,
            actor_user_id,
        });
    }
    let entries = chain(head, appending, now_ms)?;
    many::insert::<sqlx::Postgres>(conn, INSERT_ENTRIES, &entry_rows(&entries, now_ms), "").await?;
    Ok(entries.into_iter().map(|(entry, _)| entry).collect())
}

/// A page of entries matching `filter`, newest first, with the total.
pub(super) async fn list(
    conn: &mut PgConnection,
    filter: &AuditFilter,
) -> StoreResult<Page<AuditEntry>> {
    let statements = listing::audit(Dialect::Postgres, audit_columns!(), filter);
    let (rows, total) = listing::fetch::<sqlx::Postgres, AuditRow>(conn, statements).await?;
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
    id: RequestId,
    event: AuditEvent,
    now_ms: i64,
) -> StoreResult<AuditEntry> {
    let mut appended = append_for_requests(conn, vec![(id, event)], now_ms).await?;
    appended
        .pop()
        .ok_or(StoreError::NotFound("appended audit entry"))
}

/// Appends events about requests in order, each with its request's name
/// and agency (read together): a batch's step writes its entries at once.
pub(super) async fn append_for_requests(
    conn: &mut PgConnection,
    events: Vec<(RequestId, AuditEvent)>,
    now_ms: i64,
) -> StoreResult<Vec<AuditEntry>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<i64> = events.iter().map(|(id, _)| id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let rows: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT id, name, agency_id FROM requests WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(&mut *conn)
            .await?;
    let about: HashMap<i64, (String, i64)> = rows
        .into_iter()
        .map(|(id, name, agency)| (id, (name, agency)))
        .collect();
    let mut filled = Vec::with_capacity(events.len());
    for (id, mut event) in events {
        let (name, agency_id) = about.get(&id.0).ok_or(StoreError::NotFound("request"))?;
        event.request_id = Some(id);
        event.name = Some(name.clone());
        event.agency_id = Some(AgencyId(*agency_id));
        filled.push(event);
    }
    append_many(conn, filled, now_ms).await
}
