//! How model values are stored (in SQLite and PostgreSQL alike) and read back: times as unix
//! milliseconds, dates as `YYYY-MM-DD`, record lists as JSON, states as
//! text; and which uniqueness rule a failed write broke.
//!
//! Reading is where stored data meets the type system, so every
//! conversion here fails with [`StoreError::Corrupt`] naming the column
//! instead of panicking.

use std::fmt::Display;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use sqlx::error::ErrorKind;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::model::RequestState;
use crate::store::{Constraint, StoreError, StoreResult};

/// `letter_date`'s stored form.
const DATE_FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// A stored value that does not read back.
pub(super) fn corrupt(column: &'static str, detail: impl Display) -> StoreError {
    StoreError::Corrupt {
        column,
        detail: detail.to_string(),
    }
}

/// Milliseconds since the Unix epoch, UTC; sub-millisecond precision is
/// dropped (rounding towards the past), so what is read back is the
/// stored instant truncated to the millisecond.
pub(super) fn to_ms(at: OffsetDateTime) -> i64 {
    let ms = at.unix_timestamp_nanos().div_euclid(1_000_000);
    // Every `OffsetDateTime` (years ±9999) is about ±3·10^14 ms: it fits.
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

/// The instant `ms` milliseconds after the Unix epoch, in UTC.
pub(super) fn from_ms(column: &'static str, ms: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| corrupt(column, format_args!("{ms} ms: {e}")))
}

/// [`from_ms`] for a nullable column.
pub(super) fn from_ms_opt(
    column: &'static str,
    ms: Option<i64>,
) -> StoreResult<Option<OffsetDateTime>> {
    ms.map(|ms| from_ms(column, ms)).transpose()
}

/// Now, as stored.
pub(super) fn now_ms() -> i64 {
    to_ms(OffsetDateTime::now_utc())
}

/// A date as `YYYY-MM-DD`.
pub(super) fn date_text(date: Date) -> String {
    // Formatting a plain date with a date-only description cannot fail;
    // the fallback (ISO 8601 via Display) would still read back.
    date.format(DATE_FORMAT)
        .unwrap_or_else(|_| date.to_string())
}

/// Parses a stored `YYYY-MM-DD`.
pub(super) fn parse_date(column: &'static str, text: &str) -> StoreResult<Date> {
    Date::parse(text, DATE_FORMAT).map_err(|e| corrupt(column, format_args!("{text:?}: {e}")))
}

/// Parses a stored text enum ([`RequestState`], `Role`, `RequestKind`).
pub(super) fn parse_text<T>(column: &'static str, text: &str) -> StoreResult<T>
where
    T: FromStr,
    T::Err: Display,
{
    text.parse().map_err(|e| corrupt(column, e))
}

/// Parses a stored JSON column.
pub(super) fn parse_json<T: DeserializeOwned>(column: &'static str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| corrupt(column, e))
}

/// A serial stored as INTEGER (SQLite has no unsigned type).
pub(super) fn parse_serial(column: &'static str, value: Option<i64>) -> StoreResult<Option<u32>> {
    value
        .map(|v| {
            u32::try_from(v).map_err(|_| corrupt(column, format_args!("{v} is not a SOA serial")))
        })
        .transpose()
}

/// `RequestState::OPEN` as a JSON array, bound where SQL asks
/// `state IN (SELECT value FROM json_each(?))`, so the list of open states
/// is written once, in the model (and in the partial unique index, which
/// SQLite requires to be literal; a test checks that the two agree).
pub(super) fn open_states() -> sqlx::types::Json<Vec<&'static str>> {
    sqlx::types::Json(RequestState::OPEN.iter().map(|s| s.as_str()).collect())
}

/// Which of our uniqueness rules `err` broke, if it is a unique violation.
///
/// The one place that reads constraint names. PostgreSQL reports the
/// index (`constraint()`); SQLite reports only `UNIQUE constraint failed:
/// <table>.<column>` for a column index, or `index '<name>'` for an
/// expression index, so the message is the only evidence it gives.
pub(super) fn broken_constraint(err: &sqlx::Error) -> Option<Constraint> {
    let db = err.as_database_error()?;
    if db.kind() != ErrorKind::UniqueViolation {
        return None;
    }
    let target = match db.constraint() {
        Some(name) => name,
        None => db.message().strip_prefix("UNIQUE constraint failed: ")?,
    };
    match target {
        "agencies.code" | "agencies_code_key" => Some(Constraint::AgencyCode),
        "users.username" | "users_username_key" => Some(Constraint::Username),
        // `requests.name` is unique only through requests_one_open_per_name.
        "requests.name" | "index 'requests_one_open_per_name'" | "requests_one_open_per_name" => {
            Some(Constraint::OpenRequestForName)
        }
        _ => None,
    }
}

/// A database error, as [`StoreError::Conflict`] when it broke one of our
/// uniqueness rules.
pub(super) fn db_error(err: sqlx::Error) -> StoreError {
    match broken_constraint(&err) {
        Some(constraint) => StoreError::Conflict(constraint),
        None => StoreError::Database(err),
    }
}

/// Escapes `%`, `_` and `\` for `LIKE ? ESCAPE '\'`.
pub(super) fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn times_round_trip_at_millisecond_precision() {
        let at = datetime!(2026-03-01 08:30:15.123_456 UTC);
        let back = from_ms("t", to_ms(at)).expect("in range");
        assert_eq!(back, datetime!(2026-03-01 08:30:15.123 UTC));
        let before_epoch = datetime!(1969-12-31 23:59:59.999_5 UTC);
        assert_eq!(to_ms(before_epoch), -1);
        assert!(matches!(
            from_ms("t", i64::MAX),
            Err(StoreError::Corrupt { column: "t", .. })
        ));
    }

    #[test]
    fn dates_are_iso() {
        assert_eq!(date_text(date!(2026 - 01 - 05)), "2026-01-05");
        assert_eq!(
            parse_date("d", "2026-01-05").ok(),
            Some(date!(2026 - 01 - 05))
        );
        assert!(parse_date("d", "05/01/2026").is_err());
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(like_escape(r"_dmarc%\x"), r"\_dmarc\%\\x");
    }
}
