//! Multi-row statements: how a batch writes its rows in a few statements
//! instead of one a row, in either database.
//!
//! Each writer (audit entries, transitions, attempts, servers' answers,
//! catalogue entries, history versions) turns its rows into [`Bind`]
//! values; [`insert`] and [`insert_returning`] write them a few hundred
//! rows a statement, under either database's limit on a statement's
//! parameters.

use crate::store::{StoreError, StoreResult};

/// A value of a row to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::store) enum Bind {
    Int(Option<i64>),
    Text(Option<String>),
    Flag(bool),
}

impl From<i64> for Bind {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}

impl From<Option<i64>> for Bind {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}

impl From<String> for Bind {
    fn from(v: String) -> Self {
        Self::Text(Some(v))
    }
}

impl From<&str> for Bind {
    fn from(v: &str) -> Self {
        Self::Text(Some(v.to_owned()))
    }
}

impl From<Option<String>> for Bind {
    fn from(v: Option<String>) -> Self {
        Self::Text(v)
    }
}

impl From<bool> for Bind {
    fn from(v: bool) -> Self {
        Self::Flag(v)
    }
}

/// `value` as JSON text, as the JSON columns store it.
pub(in crate::store) fn json<T: serde::Serialize + ?Sized>(value: &T) -> StoreResult<Bind> {
    serde_json::to_string(value)
        .map(Bind::from)
        .map_err(|e| StoreError::Database(sqlx::Error::Encode(e.into())))
}

/// Parameters per statement: under SQLite's 32,766 and PostgreSQL's
/// 65,535.
const PARAMETERS: usize = 30_000;

/// Rows of `rows`' width per statement.
fn per_statement(rows: &[Vec<Bind>]) -> usize {
    let width = rows.first().map_or(1, Vec::len).max(1);
    (PARAMETERS / width).max(1)
}

/// `into` (`INSERT INTO t (a, b) `) with `rows` as its values, then `tail`
/// (an `ON CONFLICT` clause, a `RETURNING` list, or nothing).
fn statement<DB>(into: &str, rows: &[Vec<Bind>], tail: &str) -> sqlx::QueryBuilder<DB>
where
    DB: sqlx::Database,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut builder = sqlx::QueryBuilder::<DB>::new(into);
    builder.push_values(rows, |mut row, values| {
        for value in values {
            match value {
                Bind::Int(v) => row.push_bind(*v),
                Bind::Text(v) => row.push_bind(v.clone()),
                Bind::Flag(v) => row.push_bind(*v),
            };
        }
    });
    builder.push(tail);
    builder
}

/// Writes `rows` (each as wide as `into`'s column list), then `tail`.
pub(in crate::store) async fn insert<DB>(
    conn: &mut DB::Connection,
    into: &str,
    rows: &[Vec<Bind>],
    tail: &str,
) -> StoreResult<()>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for chunk in rows.chunks(per_statement(rows)) {
        let mut builder = statement::<DB>(into, chunk, tail);
        builder.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// [`insert`] with a `RETURNING` tail; the rows it returns.
pub(in crate::store) async fn insert_returning<DB, R>(
    conn: &mut DB::Connection,
    into: &str,
    rows: &[Vec<Bind>],
    returning: &str,
) -> StoreResult<Vec<R>>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> R: sqlx::FromRow<'r, DB::Row> + Send + Unpin,
{
    let mut returned = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(per_statement(rows)) {
        let mut builder = statement::<DB>(into, chunk, returning);
        returned.extend(builder.build_query_as::<R>().fetch_all(&mut *conn).await?);
    }
    Ok(returned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_holds_as_many_rows_as_its_parameters_allow() {
        let narrow = vec![vec![Bind::from(1); 5]; 10];
        assert_eq!(per_statement(&narrow), 6_000);
        let wide = vec![vec![Bind::from(1); 12]; 10];
        assert_eq!(per_statement(&wide), 2_500);
        assert_eq!(per_statement(&[]), PARAMETERS);
    }

    #[test]
    fn rows_are_written_as_values_lists() {
        let rows = vec![
            vec![Bind::from(1), Bind::from("a"), Bind::from(true)],
            vec![
                Bind::from(None::<i64>),
                Bind::from(None::<String>),
                Bind::from(false),
            ],
        ];
        let sql =
            statement::<sqlx::Sqlite>("INSERT INTO t (a, b, c) ", &rows, " RETURNING a").into_sql();
        assert_eq!(
            sql,
            "INSERT INTO t (a, b, c) VALUES (?, ?, ?), (?, ?, ?) RETURNING a"
        );
        let sql = statement::<sqlx::Postgres>("INSERT INTO t (a, b, c) ", &rows, "").into_sql();
        assert_eq!(
            sql,
            "INSERT INTO t (a, b, c) VALUES ($1, $2, $3), ($4, $5, $6)"
        );
    }
}
