//! E-mail waiting in PostgreSQL to be delivered, queued in the transaction
//! of the event it reports.

use sqlx::PgExecutor;

use crate::model::{MailAttachment, OutgoingMail, RequestId};
use crate::store::rows::outbox::{MailRow, found, mail_columns};
use crate::store::{NewMail, StoreResult};

/// Queues a mail, with the stored PDF it carries if any.
pub(super) async fn queue(
    ex: impl PgExecutor<'_>,
    request_id: Option<RequestId>,
    mail: &NewMail,
    attachment: Option<&MailAttachment>,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO outbox (request_id, recipient, subject, body, attachment_sha256,
             attachment_size, attachment_name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(request_id.map(|r| r.0))
    .bind(&mail.recipient)
    .bind(&mail.subject)
    .bind(&mail.body)
    .bind(attachment.map(|a| a.letter.sha256.as_str()))
    .bind(attachment.map(|a| a.letter.size))
    .bind(attachment.map(|a| a.file_name.as_str()))
    .bind(now_ms)
    .execute(ex)
    .await?;
    Ok(())
}

/// Undelivered mail, oldest first.
pub(super) async fn pending(ex: impl PgExecutor<'_>, limit: i64) -> StoreResult<Vec<OutgoingMail>> {
    let rows: Vec<MailRow> = sqlx::query_as(concat!(
        "SELECT ",
        mail_columns!(),
        " FROM outbox
         WHERE sent_at IS NULL AND abandoned_at IS NULL ORDER BY id LIMIT $1"
    ))
    .bind(limit.max(0))
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(OutgoingMail::try_from).collect()
}

pub(super) async fn mark_sent(ex: impl PgExecutor<'_>, id: i64, now_ms: i64) -> StoreResult<()> {
    let changed = sqlx::query("UPDATE outbox SET sent_at = $1 WHERE id = $2")
        .bind(now_ms)
        .bind(id)
        .execute(ex)
        .await?
        .rows_affected();
    found(changed)
}

pub(super) async fn mark_failed(ex: impl PgExecutor<'_>, id: i64, error: &str) -> StoreResult<()> {
    let changed =
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2")
            .bind(error)
            .bind(id)
            .execute(ex)
            .await?
            .rows_affected();
    found(changed)
}

/// Stops delivery of a mail refused for good.
pub(super) async fn abandon(
    ex: impl PgExecutor<'_>,
    id: i64,
    error: &str,
    now_ms: i64,
) -> StoreResult<()> {
    let changed = sqlx::query(
        "UPDATE outbox SET abandoned_at = $1, last_error = $2, attempts = attempts + 1 WHERE id = $3",
    )
    .bind(now_ms)
    .bind(error)
    .bind(id)
    .execute(ex)
    .await?
    .rows_affected();
    found(changed)
}
