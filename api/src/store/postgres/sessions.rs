//! Web sign-in in PostgreSQL: password credentials, sessions, disabling
//! users and the throttle on failed sign-ins. The transactions (each write
//! with its audit entry in one write transaction, holding the store's write
//! lock) are composed in `store/compose.rs`.
//!
//! Users are read through [`accounts`](super::accounts), which reads the
//! `users` row format (`store/rows/accounts.rs`).

use sqlx::PgExecutor;
use time::OffsetDateTime;

use crate::model::UserId;
use crate::store::codec::to_ms;
use crate::store::rows::sessions::{SessionRow, login_failures_row};
use crate::store::{LoginFailures, NewStoredSession, StoreResult, ThrottleKey};

/// The id of every user, by username.
pub(super) async fn user_ids(ex: impl PgExecutor<'_>) -> StoreResult<Vec<UserId>> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM users ORDER BY username COLLATE \"C\"")
        .fetch_all(ex)
        .await?;
    Ok(ids.into_iter().map(UserId).collect())
}

/// The password hash of user `user_id`, if it has one.
pub(super) async fn password_hash(
    ex: impl PgExecutor<'_>,
    user_id: UserId,
) -> StoreResult<Option<String>> {
    let password_hash: Option<String> =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(user_id.0)
            .fetch_one(ex)
            .await?;
    Ok(password_hash)
}

pub(super) async fn set_disabled(
    ex: impl PgExecutor<'_>,
    user_id: UserId,
    disabled: bool,
) -> StoreResult<()> {
    sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
        .bind(disabled)
        .bind(user_id.0)
        .execute(ex)
        .await?;
    Ok(())
}

pub(super) async fn set_password(
    ex: impl PgExecutor<'_>,
    user_id: UserId,
    password_hash: &str,
) -> StoreResult<()> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(user_id.0)
        .execute(ex)
        .await?;
    Ok(())
}

/// Inserts session `new`, last seen when created; its id.
pub(super) async fn insert_session(
    ex: impl PgExecutor<'_>,
    new: &NewStoredSession,
) -> StoreResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at,
             expires_at, client)
         VALUES ($1, $2, $3, $4, $4, $5, $6)
         RETURNING id",
    )
    .bind(&new.token_hash)
    .bind(new.user_id.0)
    .bind(&new.csrf_token)
    .bind(to_ms(new.created_at))
    .bind(to_ms(new.expires_at))
    .bind(&new.client)
    .fetch_one(ex)
    .await?;
    Ok(id)
}

/// The session of `token_hash`, unless its user is disabled.
pub(super) async fn session_row(
    ex: impl PgExecutor<'_>,
    token_hash: &str,
) -> StoreResult<Option<SessionRow>> {
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT s.id, s.user_id, s.csrf_token, s.client, s.created_at, s.last_seen_at,
             s.expires_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND u.disabled = FALSE",
    )
    .bind(token_hash)
    .fetch_optional(ex)
    .await?;
    Ok(row)
}

pub(super) async fn touch_session(
    ex: impl PgExecutor<'_>,
    id: i64,
    now: OffsetDateTime,
) -> StoreResult<()> {
    // GREATEST: two requests racing must not move it back.
    sqlx::query("UPDATE sessions SET last_seen_at = GREATEST(last_seen_at, $1) WHERE id = $2")
        .bind(to_ms(now))
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Deletes session `id`; its user and client, if it was there.
pub(super) async fn delete_session(
    ex: impl PgExecutor<'_>,
    id: i64,
) -> StoreResult<Option<(UserId, String)>> {
    let ended: Option<(i64, String)> =
        sqlx::query_as("DELETE FROM sessions WHERE id = $1 RETURNING user_id, client")
            .bind(id)
            .fetch_optional(ex)
            .await?;
    Ok(ended.map(|(user_id, client)| (UserId(user_id), client)))
}

/// Deletes every session of `user_id`; how many there were.
pub(super) async fn delete_user_sessions(
    ex: impl PgExecutor<'_>,
    user_id: UserId,
) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id.0)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}

/// Deletes the sessions expired at `now` or idle since `idle_cutoff`.
pub(super) async fn delete_expired_sessions(
    ex: impl PgExecutor<'_>,
    now: OffsetDateTime,
    idle_cutoff: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
        .bind(to_ms(now))
        .bind(to_ms(idle_cutoff))
        .execute(ex)
        .await?;
    Ok(())
}

/// Deletes the failure counts begun by `failures_cutoff` whose lock, if
/// any, is over at `now`.
pub(super) async fn delete_expired_failures(
    ex: impl PgExecutor<'_>,
    failures_cutoff: OffsetDateTime,
    now: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query(
        "DELETE FROM login_failures
         WHERE first_at <= $1 AND (locked_until IS NULL OR locked_until <= $2)",
    )
    .bind(to_ms(failures_cutoff))
    .bind(to_ms(now))
    .execute(ex)
    .await?;
    Ok(())
}

pub(super) async fn login_failures(
    ex: impl PgExecutor<'_>,
    key: &ThrottleKey,
) -> StoreResult<Option<LoginFailures>> {
    let row: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT failures, first_at, locked_until FROM login_failures WHERE key = $1",
    )
    .bind(key.stored())
    .fetch_optional(ex)
    .await?;
    row.map(login_failures_row).transpose()
}

/// Stores `failures` as the count of `key`.
pub(super) async fn store_login_failures(
    ex: impl PgExecutor<'_>,
    key: &ThrottleKey,
    failures: &LoginFailures,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO login_failures (key, failures, first_at, locked_until)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET
             failures = $2, first_at = $3, locked_until = $4",
    )
    .bind(key.stored())
    .bind(i64::from(failures.failures))
    .bind(to_ms(failures.first_at))
    .bind(failures.locked_until.map(to_ms))
    .execute(ex)
    .await?;
    Ok(())
}

pub(super) async fn clear_login_failures(
    ex: impl PgExecutor<'_>,
    key: &ThrottleKey,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM login_failures WHERE key = $1")
        .bind(key.stored())
        .execute(ex)
        .await?;
    Ok(())
}
