//! Copying a SQLite database into an empty PostgreSQL one: how an office
//! that started on one machine moves to several instances
//! (`dnsdesk database copy --to postgres://...`).
//!
//! Every row of every table is copied as stored (ids, times, JSON text),
//! so the audit chain, its hashes and the checkpoints outside the
//! database stay valid, and references between tables hold. The target is
//! migrated first and must be empty; the copy runs in one PostgreSQL
//! transaction, so a failure leaves it empty. Identity sequences are then
//! moved past the copied ids, so new rows continue the numbering.

use std::collections::BTreeSet;

use futures_util::TryStreamExt;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use crate::store::StoreError;

/// The tables, parents before the tables that reference them.
const TABLES: &[&str] = &[
    "agencies",
    "users",
    "api_tokens",
    "reference_counters",
    "requests",
    "request_transitions",
    "jobs",
    "dns_attempts",
    "server_checks",
    "subdomains",
    "outbox",
    "audit_log",
    "name_versions",
    "drift_findings",
    "drift_runs",
    "calendar_edits",
    "sessions",
    "login_failures",
    "complaints",
    "complaint_notes",
    "complaint_responses",
];

/// Rows per INSERT: well under PostgreSQL's 65,535 parameters for the
/// widest table (about 30 columns).
const BATCH: usize = 500;

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "the target database already holds data ({table} has rows); copy into an empty database"
    )]
    TargetNotEmpty { table: String },
    #[error(
        "the schemas differ: {0} (run the same dnsdesk version on both; a table added to one must be added to the copy)"
    )]
    SchemaMismatch(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CopyError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

/// How many rows each table received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<(String, u64)>,
}

/// A column of the target and how its values are carried over.
#[derive(Debug)]
struct Column {
    name: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Integer,
    Text,
    /// SQLite's 0/1, PostgreSQL's boolean.
    Flag,
}

/// Copies every row of `source` into `target`, which must be empty.
pub async fn sqlite_to_postgres(
    source: &SqliteStore,
    target: &PgStore,
) -> Result<CopyReport, CopyError> {
    check_tables(target).await?;
    let mut tx = target.pool.begin().await?;
    let mut report = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let any: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT 1::BIGINT FROM {table} LIMIT 1"
        )))
        .fetch_optional(&mut *tx)
        .await?;
        if any.is_some() {
            return Err(CopyError::TargetNotEmpty {
                table: (*table).to_owned(),
            });
        }
        let columns = target_columns(target, table).await?;
        check_source_columns(source, table, &columns).await?;
        let list = columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        // Streamed, a batch at a time: an audit log of millions of entries
        // is never held in memory whole.
        let select = format!("SELECT {list} FROM {table} ORDER BY rowid");
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(&source.pool);
        let mut batch = Vec::with_capacity(BATCH);
        let mut copied = 0u64;
        while let Some(row) = rows.try_next().await? {
            batch.push(row);
            if batch.len() == BATCH {
                insert(&mut tx, table, &list, &columns, &batch).await?;
                copied += batch.len() as u64;
                batch.clear();
            }
        }
        if !batch.is_empty() {
            insert(&mut tx, table, &list, &columns, &batch).await?;
            copied += batch.len() as u64;
        }
        report.push(((*table).to_owned(), copied));
    }
    // Identity columns continue after the copied rows.
    let identities: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns
         WHERE table_schema = 'public' AND is_identity = 'YES'",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (table, column) in identities {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
             COALESCE((SELECT max({column}) FROM {table}), 0) + 1, false)"
        )))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(CopyReport { tables: report })
}

/// The copy knows every table of the target, and no other.
async fn check_tables(target: &PgStore) -> Result<(), CopyError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::TEXT FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
           AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&target.pool)
    .await?;
    let have: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let known: BTreeSet<&str> = TABLES.iter().copied().collect();
    if have != known {
        let missing: Vec<_> = have.difference(&known).collect();
        let extra: Vec<_> = known.difference(&have).collect();
        return Err(CopyError::SchemaMismatch(format!(
            "tables not copied: {missing:?}; tables not in the target: {extra:?}"
        )));
    }
    Ok(())
}

/// The target's columns of `table`, in order, with how each is carried.
async fn target_columns(target: &PgStore, table: &str) -> Result<Vec<Column>, CopyError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::TEXT, data_type::TEXT FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&target.pool)
    .await?;
    rows.into_iter()
        .map(|(name, data_type)| {
            let kind = match data_type.as_str() {
                "bigint" => Kind::Integer,
                "text" => Kind::Text,
                "boolean" => Kind::Flag,
                other => {
                    return Err(CopyError::SchemaMismatch(format!(
                        "{table}.{name} is {other}, which the copy does not carry"
                    )));
                }
            };
            Ok(Column { name, kind })
        })
        .collect()
}

/// The source has the same columns as the target.
async fn check_source_columns(
    source: &SqliteStore,
    table: &str,
    columns: &[Column],
) -> Result<(), CopyError> {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY name")
            .bind(table)
            .fetch_all(&source.pool)
            .await?;
    let source: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let target: BTreeSet<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    if source != target {
        return Err(CopyError::SchemaMismatch(format!(
            "{table}: SQLite has {source:?}, PostgreSQL has {target:?}"
        )));
    }
    Ok(())
}

/// One multi-row INSERT of `rows`.
async fn insert(
    tx: &mut sqlx::PgConnection,
    table: &str,
    list: &str,
    columns: &[Column],
    rows: &[SqliteRow],
) -> Result<(), CopyError> {
    let width = columns.len();
    let values = (0..rows.len())
        .map(|r| {
            let row = (1..=width)
                .map(|c| format!("${}", r * width + c))
                .collect::<Vec<_>>()
                .join(", ");
            format!("({row})")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("INSERT INTO {table} ({list}) VALUES {values}");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for row in rows {
        for (i, column) in columns.iter().enumerate() {
            query = match column.kind {
                Kind::Integer => query.bind(row.try_get::<Option<i64>, _>(i)?),
                Kind::Text => query.bind(row.try_get::<Option<String>, _>(i)?),
                Kind::Flag => query.bind(row.try_get::<Option<i64>, _>(i)?.map(|v| v != 0)),
            };
        }
    }
    query.execute(&mut *tx).await?;
    Ok(())
}
