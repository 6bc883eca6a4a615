//! Web sign-in in SQLite: password credentials, sessions, disabling users
//! and the throttle on failed sign-ins; each write with its audit entry in
//! one `BEGIN IMMEDIATE` transaction.
//!
//! Users are read through [`accounts`], which reads the `users` row format
//! (`store/rows/accounts.rs`).

use sqlx::{SqliteConnection, SqliteExecutor};
use time::OffsetDateTime;

use super::{SqliteStore, accounts, audit};
use crate::audit::{AuditAction, AuditActor};
use crate::model::{User, UserId};
use crate::store::codec::{now_ms, to_ms};
use crate::store::rows::sessions::{
    SessionRow, locked_event, login_event, login_failed_event, login_failures_row, logout_event,
    sessions_ended_event, stored_session,
};
use crate::store::{
    FailedLogin, LoginFailures, NewStoredSession, StoreError, StoreResult, StoredSession,
    ThrottleKey, ThrottleRule, UserCredentials,
};

/// Every user, by username.
pub(super) async fn list_users(store: &SqliteStore) -> StoreResult<Vec<User>> {
    // One read transaction: the list is one snapshot. Users are few (the
    // staff and the agencies' operators), so reading each by id costs
    // little and keeps the row format in `accounts`.
    let mut tx = store.pool.begin().await?;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM users ORDER BY username")
        .fetch_all(&mut *tx)
        .await?;
    let mut users = Vec::with_capacity(ids.len());
    for id in ids {
        users.extend(accounts::user(&mut *tx, UserId(id)).await?);
    }
    tx.commit().await?;
    Ok(users)
}

pub(super) async fn user_credentials(
    store: &SqliteStore,
    username: &str,
) -> StoreResult<Option<UserCredentials>> {
    let mut tx = store.pool.begin().await?;
    let Some(user) = accounts::user_by_username(&mut *tx, username).await? else {
        return Ok(None);
    };
    let password_hash: Option<String> =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?")
            .bind(user.id.0)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(Some(UserCredentials {
        user,
        password_hash,
    }))
}

pub(super) async fn set_user_disabled(
    store: &SqliteStore,
    user_id: UserId,
    disabled: bool,
    by: AuditActor,
) -> StoreResult<User> {
    let now = now_ms();
    let mut tx = store.begin_write().await?;
    let before = accounts::user(&mut *tx, user_id)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    // Sessions go even when the user was already disabled: none should
    // exist then, and if one does it must not survive this call.
    let ended = if disabled {
        delete_user_sessions(&mut *tx, user_id).await?
    } else {
        0
    };
    if before.disabled != disabled {
        sqlx::query("UPDATE users SET disabled = ? WHERE id = ?")
            .bind(disabled)
            .bind(user_id.0)
            .execute(&mut *tx)
            .await?;
        let action = if disabled {
            AuditAction::UserDisabled
        } else {
            AuditAction::UserEnabled
        };
        let event = sessions_ended_event(action, &before, ended, by);
        audit::append(&mut tx, &event, now).await?;
    }
    let after = accounts::user(&mut *tx, user_id)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    tx.commit().await?;
    Ok(after)
}

pub(super) async fn set_password(
    store: &SqliteStore,
    user_id: UserId,
    password_hash: &str,
    by: AuditActor,
) -> StoreResult<()> {
    let now = now_ms();
    let mut tx = store.begin_write().await?;
    let user = accounts::user(&mut *tx, user_id)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
        .bind(password_hash)
        .bind(user_id.0)
        .execute(&mut *tx)
        .await?;
    // A new password is often the answer to a leaked one: whoever signed
    // in with the old one is signed out.
    let ended = delete_user_sessions(&mut *tx, user_id).await?;
    let event = sessions_ended_event(AuditAction::UserPasswordSet, &user, ended, by);
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn create_session(store: &SqliteStore, new: NewStoredSession) -> StoreResult<i64> {
    let now = to_ms(new.created_at);
    let mut tx = store.begin_write().await?;
    let user = accounts::user(&mut *tx, new.user_id)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at,
             expires_at, client)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)
         RETURNING id",
    )
    .bind(&new.token_hash)
    .bind(new.user_id.0)
    .bind(&new.csrf_token)
    .bind(now)
    .bind(to_ms(new.expires_at))
    .bind(&new.client)
    .fetch_one(&mut *tx)
    .await?;
    audit::append(&mut tx, &login_event(&user, id, &new), now).await?;
    tx.commit().await?;
    Ok(id)
}

pub(super) async fn session_by_token_hash(
    store: &SqliteStore,
    token_hash: &str,
) -> StoreResult<Option<StoredSession>> {
    let mut tx = store.pool.begin().await?;
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT s.id, s.user_id, s.csrf_token, s.client, s.created_at, s.last_seen_at,
             s.expires_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ? AND u.disabled = 0",
    )
    .bind(token_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let user = accounts::user(&mut *tx, UserId(row.user_id))
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    tx.commit().await?;
    Ok(Some(stored_session(row, user)?))
}

pub(super) async fn touch_session(
    ex: impl SqliteExecutor<'_>,
    id: i64,
    now: OffsetDateTime,
) -> StoreResult<()> {
    // MAX: two requests racing must not move it back.
    sqlx::query("UPDATE sessions SET last_seen_at = MAX(last_seen_at, ?) WHERE id = ?")
        .bind(to_ms(now))
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

pub(super) async fn end_session(
    store: &SqliteStore,
    id: i64,
    now: OffsetDateTime,
) -> StoreResult<bool> {
    let mut tx = store.begin_write().await?;
    let ended: Option<(i64, String)> =
        sqlx::query_as("DELETE FROM sessions WHERE id = ? RETURNING user_id, client")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((user_id, client)) = ended else {
        return Ok(false);
    };
    let user = accounts::user(&mut *tx, UserId(user_id)).await?;
    let event = logout_event(id, UserId(user_id), user, client);
    audit::append(&mut tx, &event, to_ms(now)).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn end_user_sessions(
    store: &SqliteStore,
    user_id: UserId,
    by: AuditActor,
    now: OffsetDateTime,
) -> StoreResult<u64> {
    let mut tx = store.begin_write().await?;
    let user = accounts::user(&mut *tx, user_id)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    let ended = delete_user_sessions(&mut *tx, user_id).await?;
    if ended > 0 {
        let event = sessions_ended_event(AuditAction::AuthLogout, &user, ended, by);
        audit::append(&mut tx, &event, to_ms(now)).await?;
    }
    tx.commit().await?;
    Ok(ended)
}

async fn delete_user_sessions(ex: impl SqliteExecutor<'_>, user_id: UserId) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = ?")
        .bind(user_id.0)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn purge_expired_logins(
    store: &SqliteStore,
    now: OffsetDateTime,
    idle_cutoff: OffsetDateTime,
    failures_cutoff: OffsetDateTime,
) -> StoreResult<()> {
    let mut tx = store.begin_write().await?;
    sqlx::query("DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?")
        .bind(to_ms(now))
        .bind(to_ms(idle_cutoff))
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "DELETE FROM login_failures
         WHERE first_at <= ? AND (locked_until IS NULL OR locked_until <= ?)",
    )
    .bind(to_ms(failures_cutoff))
    .bind(to_ms(now))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn login_failures(
    ex: impl SqliteExecutor<'_>,
    key: &ThrottleKey,
) -> StoreResult<Option<LoginFailures>> {
    let row: Option<(i64, i64, Option<i64>)> =
        sqlx::query_as("SELECT failures, first_at, locked_until FROM login_failures WHERE key = ?")
            .bind(key.stored())
            .fetch_optional(ex)
            .await?;
    row.map(login_failures_row).transpose()
}

pub(super) async fn record_login_failure(
    store: &SqliteStore,
    failure: &FailedLogin,
    counted: &[(ThrottleKey, ThrottleRule)],
    now: OffsetDateTime,
) -> StoreResult<()> {
    let at = to_ms(now);
    let mut tx = store.begin_write().await?;
    audit::append(&mut tx, &login_failed_event(failure), at).await?;
    for (key, rule) in counted {
        count_failure(&mut tx, key, rule, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Counts one failure against `key` inside the caller's write
/// transaction (so two failures at once both count), auditing the lock
/// when this failure starts one.
async fn count_failure(
    conn: &mut SqliteConnection,
    key: &ThrottleKey,
    rule: &ThrottleRule,
    now: OffsetDateTime,
) -> StoreResult<()> {
    let previous = login_failures(&mut *conn, key).await?;
    let next = LoginFailures::after_failure(previous.as_ref(), now, rule);
    sqlx::query(
        "INSERT INTO login_failures (key, failures, first_at, locked_until)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key) DO UPDATE SET
             failures = ?2, first_at = ?3, locked_until = ?4",
    )
    .bind(key.stored())
    .bind(i64::from(next.failures))
    .bind(to_ms(next.first_at))
    .bind(next.locked_until.map(to_ms))
    .execute(&mut *conn)
    .await?;
    let was_locked = previous.and_then(|p| p.locked_for(now)).is_some();
    if let (Some(until), false) = (next.locked_until, was_locked) {
        let event = locked_event(key, rule, &next, until);
        audit::append(conn, &event, to_ms(now)).await?;
    }
    Ok(())
}

pub(super) async fn clear_login_failures(
    ex: impl SqliteExecutor<'_>,
    key: &ThrottleKey,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM login_failures WHERE key = ?")
        .bind(key.stored())
        .execute(ex)
        .await?;
    Ok(())
}
