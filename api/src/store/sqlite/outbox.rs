//! E-mail waiting in SQLite to be delivered, queued in the transaction of
//! the event it reports.

use sqlx::SqliteExecutor;

use crate::model::{OutgoingMail, RequestId};
use crate::store::{NewMail, StoreError, StoreResult};

/// A row of `outbox`.
#[derive(sqlx::FromRow)]
struct MailRow {
    id: i64,
    request_id: Option<i64>,
    recipient: String,
    subject: String,
    body: String,
    attempts: i64,
}

impl From<MailRow> for OutgoingMail {
    fn from(row: MailRow) -> Self {
        OutgoingMail {
            id: row.id,
            request_id: row.request_id.map(RequestId),
            recipient: row.recipient,
            subject: row.subject,
            body: row.body,
            attempts: row.attempts,
        }
    }
}

pub(super) async fn queue(
    ex: impl SqliteExecutor<'_>,
    request_id: Option<RequestId>,
    mail: &NewMail,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO outbox (request_id, recipient, subject, body, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(request_id.map(|r| r.0))
        .bind(&mail.recipient)
        .bind(&mail.subject)
        .bind(&mail.body)
        .bind(now_ms)
        .execute(ex)
        .await?;
    Ok(())
}

/// Undelivered mail, oldest first.
pub(super) async fn pending(
    ex: impl SqliteExecutor<'_>,
    limit: i64,
) -> StoreResult<Vec<OutgoingMail>> {
    let rows: Vec<MailRow> = sqlx::query_as(
        "SELECT id, request_id, recipient, subject, body, attempts FROM outbox
         WHERE sent_at IS NULL AND abandoned_at IS NULL ORDER BY id LIMIT ?",
    )
    .bind(limit.max(0))
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(OutgoingMail::from).collect())
}

pub(super) async fn mark_sent(
    ex: impl SqliteExecutor<'_>,
    id: i64,
    now_ms: i64,
) -> StoreResult<()> {
    let changed = sqlx::query("UPDATE outbox SET sent_at = ? WHERE id = ?")
        .bind(now_ms)
        .bind(id)
        .execute(ex)
        .await?
        .rows_affected();
    found(changed)
}

pub(super) async fn mark_failed(
    ex: impl SqliteExecutor<'_>,
    id: i64,
    error: &str,
) -> StoreResult<()> {
    let changed =
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?")
            .bind(error)
            .bind(id)
            .execute(ex)
            .await?
            .rows_affected();
    found(changed)
}

fn found(changed: u64) -> StoreResult<()> {
    if changed == 0 {
        return Err(StoreError::NotFound("mail"));
    }
    Ok(())
}

/// Stops delivery of a mail refused for good.
pub(super) async fn abandon(
    ex: impl SqliteExecutor<'_>,
    id: i64,
    error: &str,
    now_ms: i64,
) -> StoreResult<()> {
    let changed = sqlx::query(
        "UPDATE outbox SET abandoned_at = ?, last_error = ?, attempts = attempts + 1 WHERE id = ?",
    )
    .bind(now_ms)
    .bind(error)
    .bind(id)
    .execute(ex)
    .await?
    .rows_affected();
    found(changed)
}
