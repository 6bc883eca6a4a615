//! Agencies, users and API tokens in SQLite.

use sqlx::{SqliteExecutor, SqlitePool};

use crate::model::{Agency, AgencyId, User, UserId};
use crate::store::codec::{db_error, now_ms};
use crate::store::rows::accounts::{AgencyRow, LAST_USED_GRANULARITY_MS, UserRow, stored_code};
use crate::store::{NewAgency, NewUser, StoreResult};

pub(super) async fn create_agency(
    ex: impl SqliteExecutor<'_>,
    new: NewAgency,
) -> StoreResult<Agency> {
    let row: AgencyRow = sqlx::query_as(
        "INSERT INTO agencies (code, name, email, created_at) VALUES (?, ?, ?, ?)
         RETURNING id, code, name, email",
    )
    .bind(stored_code(&new.code))
    .bind(new.name)
    .bind(new.email)
    .bind(now_ms())
    .fetch_one(ex)
    .await
    .map_err(db_error)?;
    Ok(row.into())
}

pub(super) async fn agency(
    ex: impl SqliteExecutor<'_>,
    id: AgencyId,
) -> StoreResult<Option<Agency>> {
    let row: Option<AgencyRow> =
        sqlx::query_as("SELECT id, code, name, email FROM agencies WHERE id = ?")
            .bind(id.0)
            .fetch_optional(ex)
            .await?;
    Ok(row.map(Agency::from))
}

pub(super) async fn agency_by_code(
    ex: impl SqliteExecutor<'_>,
    code: &str,
) -> StoreResult<Option<Agency>> {
    let row: Option<AgencyRow> =
        sqlx::query_as("SELECT id, code, name, email FROM agencies WHERE code = ?")
            .bind(stored_code(code))
            .fetch_optional(ex)
            .await?;
    Ok(row.map(Agency::from))
}

/// By code.
pub(super) async fn list_agencies(ex: impl SqliteExecutor<'_>) -> StoreResult<Vec<Agency>> {
    let rows: Vec<AgencyRow> =
        sqlx::query_as("SELECT id, code, name, email FROM agencies ORDER BY code")
            .fetch_all(ex)
            .await?;
    Ok(rows.into_iter().map(Agency::from).collect())
}

pub(super) async fn create_user(ex: impl SqliteExecutor<'_>, new: NewUser) -> StoreResult<User> {
    let row: UserRow = sqlx::query_as(
        "INSERT INTO users (username, role, agency_id, password_hash, disabled, created_at)
         VALUES (?, ?, ?, ?, 0, ?)
         RETURNING id, username, role, agency_id, disabled",
    )
    .bind(new.username)
    .bind(new.role.as_str())
    .bind(new.agency_id.map(|a| a.0))
    .bind(new.password_hash)
    .bind(now_ms())
    .fetch_one(ex)
    .await
    .map_err(db_error)?;
    row.try_into()
}

pub(super) async fn user(ex: impl SqliteExecutor<'_>, id: UserId) -> StoreResult<Option<User>> {
    let row: Option<UserRow> =
        sqlx::query_as("SELECT id, username, role, agency_id, disabled FROM users WHERE id = ?")
            .bind(id.0)
            .fetch_optional(ex)
            .await?;
    row.map(User::try_from).transpose()
}

pub(super) async fn user_by_username(
    ex: impl SqliteExecutor<'_>,
    username: &str,
) -> StoreResult<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT id, username, role, agency_id, disabled FROM users WHERE username = ?",
    )
    .bind(username)
    .fetch_optional(ex)
    .await?;
    row.map(User::try_from).transpose()
}

pub(super) async fn create_token(
    ex: impl SqliteExecutor<'_>,
    user_id: UserId,
    token_hash: &str,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES (?, ?, ?)")
        .bind(user_id.0)
        .bind(token_hash)
        .bind(now_ms())
        .execute(ex)
        .await?;
    Ok(())
}

pub(super) async fn user_by_token(
    pool: &SqlitePool,
    token_hash: &str,
) -> StoreResult<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT u.id, u.username, u.role, u.agency_id, u.disabled
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = ? AND u.disabled = 0",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let now = now_ms();
    sqlx::query(
        "UPDATE api_tokens SET last_used_at = ?1
         WHERE token_hash = ?2 AND (last_used_at IS NULL OR last_used_at <= ?1 - ?3)",
    )
    .bind(now)
    .bind(token_hash)
    .bind(LAST_USED_GRANULARITY_MS)
    .execute(pool)
    .await?;
    Ok(Some(row.try_into()?))
}
