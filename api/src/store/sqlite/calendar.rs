//! Admins' holiday calendar edits in SQLite, with their audit entries.

use serde_json::json;
use sqlx::{SqliteConnection, SqliteExecutor};

use super::audit;
use crate::audit::{AuditAction, AuditActor, AuditEvent};
use crate::calendar::{CalendarEdit, Holiday};
use crate::store::StoreResult;
use crate::store::codec::{corrupt, date_text, parse_date};

/// Stores `edit` after the others and audits it.
pub(super) async fn record(
    conn: &mut SqliteConnection,
    edit: &CalendarEdit,
    by: AuditActor,
    now_ms: i64,
) -> StoreResult<()> {
    let (action, detail) = match edit {
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
            (
                AuditAction::HolidayAdded,
                json!({ "date": date_text(h.date), "kind": h.kind.as_str(), "name": h.name }),
            )
        }
        CalendarEdit::Remove(date) => {
            sqlx::query("INSERT INTO calendar_edits (action, date, at) VALUES ('remove', ?, ?)")
                .bind(date_text(*date))
                .bind(now_ms)
                .execute(&mut *conn)
                .await?;
            (
                AuditAction::HolidayRemoved,
                json!({ "date": date_text(*date) }),
            )
        }
        CalendarEdit::Import(file) => {
            let (year, days) = crate::calendar::WorkCalendar::check_year(file)
                .map_err(|e| corrupt("calendar_edits.file", e))?;
            sqlx::query(
                "INSERT INTO calendar_edits (action, year, file, at) VALUES ('import', ?, ?, ?)",
            )
            .bind(year)
            .bind(file)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
            (
                AuditAction::HolidaysImported,
                json!({ "year": year, "days": days }),
            )
        }
    };
    audit::append(
        conn,
        &AuditEvent::new(action, by).with_detail(detail),
        now_ms,
    )
    .await?;
    Ok(())
}

/// A row of `calendar_edits`.
#[derive(sqlx::FromRow)]
struct EditRow {
    action: String,
    date: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    file: Option<String>,
}

/// Every edit, oldest first.
pub(super) async fn edits(ex: impl SqliteExecutor<'_>) -> StoreResult<Vec<CalendarEdit>> {
    let rows: Vec<EditRow> =
        sqlx::query_as("SELECT action, date, kind, name, file FROM calendar_edits ORDER BY id")
            .fetch_all(ex)
            .await?;
    rows.into_iter()
        .map(
            |EditRow {
                 action,
                 date,
                 kind,
                 name,
                 file,
             }| {
                let day = || parse_date("calendar_edits.date", date.as_deref().unwrap_or_default());
                Ok(match action.as_str() {
                    "add" => CalendarEdit::Add(Holiday {
                        date: day()?,
                        kind: kind
                            .unwrap_or_default()
                            .parse()
                            .map_err(|e: String| corrupt("calendar_edits.kind", e))?,
                        name: name.unwrap_or_default(),
                    }),
                    "remove" => CalendarEdit::Remove(day()?),
                    "import" => CalendarEdit::Import(file.unwrap_or_default()),
                    other => return Err(corrupt("calendar_edits.action", other)),
                })
            },
        )
        .collect()
}
