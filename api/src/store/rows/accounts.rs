//! The rows of `agencies` and `users`.

use crate::model::{Agency, AgencyId, User, UserId};
use crate::store::codec::parse_text;
use crate::store::{StoreError, StoreResult};

/// A row of `agencies`.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct AgencyRow {
    id: i64,
    code: String,
    name: String,
    email: String,
}

impl From<AgencyRow> for Agency {
    fn from(row: AgencyRow) -> Self {
        Agency {
            id: AgencyId(row.id),
            code: row.code,
            name: row.name,
            email: row.email,
        }
    }
}

/// A row of `users`, without the password hash (the model has no place
/// for it).
#[derive(sqlx::FromRow)]
pub(in crate::store) struct UserRow {
    id: i64,
    username: String,
    role: String,
    agency_id: Option<i64>,
    disabled: bool,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> StoreResult<Self> {
        Ok(User {
            id: UserId(row.id),
            username: row.username,
            role: parse_text("users.role", &row.role)?,
            agency_id: row.agency_id.map(AgencyId),
            disabled: row.disabled,
        })
    }
}

/// An agency code as stored: uppercase, so lookups ignore case.
pub(in crate::store) fn stored_code(code: &str) -> String {
    code.trim().to_uppercase()
}

/// `last_used_at` is kept to the minute: writing it on every API call
/// would cost a synchronous commit (an fsync in SQLite, a WAL flush in
/// PostgreSQL) per request.
pub(in crate::store) const LAST_USED_GRANULARITY_MS: i64 = 60_000;
