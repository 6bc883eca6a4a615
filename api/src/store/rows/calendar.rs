//! The rows of `calendar_edits`, and the audit entry of an edit.

use serde_json::json;

use crate::audit::{AuditAction, AuditActor, AuditEvent};
use crate::calendar::{CalendarEdit, Holiday};
use crate::store::codec::{corrupt, date_text, parse_date};
use crate::store::{StoreError, StoreResult};

/// The audit entry of `edit` by `by`, and for an import the year its file
/// covers (which the row stores). A file that does not read as a year of
/// holidays fails here, before anything is written.
pub(in crate::store) fn edit_event(
    edit: &CalendarEdit,
    by: AuditActor,
) -> StoreResult<(AuditEvent, Option<i32>)> {
    let (action, detail, year) = match edit {
        CalendarEdit::Add(h) => (
            AuditAction::HolidayAdded,
            json!({ "date": date_text(h.date), "kind": h.kind.as_str(), "name": h.name }),
            None,
        ),
        CalendarEdit::Remove(date) => (
            AuditAction::HolidayRemoved,
            json!({ "date": date_text(*date) }),
            None,
        ),
        CalendarEdit::Import(file) => {
            let (year, days) = crate::calendar::WorkCalendar::check_year(file)
                .map_err(|e| corrupt("calendar_edits.file", e))?;
            (
                AuditAction::HolidaysImported,
                json!({ "year": year, "days": days }),
                Some(year),
            )
        }
    };
    Ok((AuditEvent::new(action, by).with_detail(detail), year))
}

/// A row of `calendar_edits`.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct EditRow {
    action: String,
    date: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    file: Option<String>,
}

impl TryFrom<EditRow> for CalendarEdit {
    type Error = StoreError;

    fn try_from(
        EditRow {
            action,
            date,
            kind,
            name,
            file,
        }: EditRow,
    ) -> StoreResult<Self> {
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
    }
}
