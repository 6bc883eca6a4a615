//! What SQLite and PostgreSQL read and write alike: the row types of each
//! group of tables with their conversions to model values, the column
//! lists both dialects use verbatim, and the small pure helpers around
//! them (audit entries, checks on what a query found).
//!
//! `#[derive(sqlx::FromRow)]` is generic over the database's row type, and
//! both schemas store the same representations (`codec`), so one row type
//! serves `store/sqlite/` and `store/postgres/`; the SQL and its binding
//! stay there, one module per database.

use crate::store::{Page, StoreError, StoreResult, Total};

pub(super) mod accounts;
pub(super) mod audit;
pub(super) mod calendar;
pub(super) mod catalogue;
pub(super) mod complaints;
pub(super) mod jobs;
pub(super) mod listing;
pub(super) mod many;
pub(super) mod outbox;
pub(super) mod reports;
pub(super) mod requests;
pub(super) mod sessions;
pub(super) mod zone;

/// A page of `rows` read as model values, with the total.
pub(super) fn page<R, T>(rows: Vec<R>, total: Total) -> StoreResult<Page<T>>
where
    T: TryFrom<R, Error = StoreError>,
{
    Ok(Page {
        items: rows
            .into_iter()
            .map(T::try_from)
            .collect::<StoreResult<_>>()?,
        total,
    })
}
