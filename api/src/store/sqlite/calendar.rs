//! Admins' holiday calendar edits in SQLite, with their audit entries.

use sqlx::{SqliteConnection, SqliteExecutor};

use super::audit;
use crate::audit::AuditActor;
use crate::calendar::CalendarEdit;
use crate::store::StoreResult;
use crate::store::codec::date_text;
use crate::store::rows::calendar::{EditRow, edit_event};

/// Stores `edit` after the others and audits it.
pub(super) async fn record(
    conn: &mut SqliteConnection,
    edit: &CalendarEdit,
    by: AuditActor,
    now_ms: i64,
) -> StoreResult<()> {
    let (event, import_year) = edit_event(edit, by)?;
    match edit {
        CalendarEdit::Add(h) => {
            sqlx::query(
                "INSERT INTO calendar_edits (action, date, kind, name, at) VALUES ('add', ?, ?, ?, ?)",
            )
            .bind(date_text(h.date))
            .bind(h.kind.as_str())
            .bind(&h.name)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
        }
        CalendarEdit::Remove(date) => {
            sqlx::query("INSERT INTO calendar_edits (action, date, at) VALUES ('remove', ?, ?)")
                .bind(date_text(*date))
                .bind(now_ms)
                .execute(&mut *conn)
                .await?;
        }
        CalendarEdit::Import(file) => {
            sqlx::query(
                "INSERT INTO calendar_edits (action, year, file, at) VALUES ('import', ?, ?, ?)",
            )
            .bind(import_year)
            .bind(file)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
        }
    }
    audit::append(conn, &event, now_ms).await?;
    Ok(())
}

/// Every edit, oldest first.
pub(super) async fn edits(ex: impl SqliteExecutor<'_>) -> StoreResult<Vec<CalendarEdit>> {
    let rows: Vec<EditRow> =
        sqlx::query_as("SELECT action, date, kind, name, file FROM calendar_edits ORDER BY id")
            .fetch_all(ex)
            .await?;
    rows.into_iter().map(CalendarEdit::try_from).collect()
}
