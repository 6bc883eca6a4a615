//! The working-day calendar as admins keep it: the shipped holidays with
//! their edits replayed on top (`dnsdesk holiday ...`, the API), and the
//! calendar every due date is counted in.

use time::Date;
use time::macros::format_description;

use crate::audit::AuditActor;
use crate::calendar::{CalendarEdit, Holiday, HolidayKind, WorkCalendar};
use crate::error::ServiceError;
use crate::model::{Role, User};
use crate::store::Store;

use super::require_role;

/// The calendar in force: `base` (the shipped one) with every admin edit
/// applied in order.
pub async fn current(store: &dyn Store, base: &WorkCalendar) -> Result<WorkCalendar, ServiceError> {
    let mut calendar = base.clone();
    for edit in store.calendar_edits().await? {
        // Imports are checked before they are stored; should one still
        // fail, the others apply and the failure is logged loudly.
        if let Err(e) = calendar.apply(&edit) {
            tracing::error!(error = %e, "a stored calendar edit does not apply");
        }
    }
    Ok(calendar)
}

/// The listed days of `year` (all years when `None`) and the years loaded.
pub async fn list(
    store: &dyn Store,
    base: &WorkCalendar,
    year: Option<i32>,
) -> Result<(Vec<i32>, Vec<Holiday>), ServiceError> {
    let calendar = current(store, base).await?;
    let days = calendar
        .holidays()
        .filter(|h| year.is_none_or(|y| h.date.year() == y))
        .cloned()
        .collect();
    Ok((calendar.years().collect(), days))
}

/// `2026-12-24` as a date, or an error naming `field`.
pub fn parse_day(field: &str, text: &str) -> Result<Date, ServiceError> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|_| ServiceError::invalid(field, "must be a date like 2026-12-24"))
}

/// Makes `date` a non-working day (or renames it), audited.
pub async fn add(
    store: &dyn Store,
    date: &str,
    kind: &str,
    name: &str,
    by: AuditActor,
) -> Result<Holiday, ServiceError> {
    let date = parse_day("date", date)?;
    let kind: HolidayKind = kind
        .parse()
        .map_err(|e: String| ServiceError::invalid("kind", e))?;
    let name = super::text_field("name", name, 200, true)?;
    let holiday = Holiday { date, kind, name };
    store
        .record_calendar_edit(&CalendarEdit::Add(holiday.clone()), by)
        .await?;
    Ok(holiday)
}

/// Makes a listed day a working day again, audited.
pub async fn remove(
    store: &dyn Store,
    base: &WorkCalendar,
    date: &str,
    by: AuditActor,
) -> Result<Holiday, ServiceError> {
    let date = parse_day("date", date)?;
    let listed = current(store, base)
        .await?
        .holiday(date)
        .cloned()
        .ok_or_else(|| ServiceError::invalid("date", "is not a listed holiday or leave day"))?;
    store
        .record_calendar_edit(&CalendarEdit::Remove(date), by)
        .await?;
    Ok(listed)
}

/// Loads a year's holiday file (the format of `api/calendar/`), replacing
/// what that year held, audited. Returns the year and its day count.
pub async fn import(
    store: &dyn Store,
    file: &str,
    by: AuditActor,
) -> Result<(i32, usize), ServiceError> {
    let (year, days) =
        WorkCalendar::check_year(file).map_err(|e| ServiceError::invalid("file", e.to_string()))?;
    store
        .record_calendar_edit(&CalendarEdit::Import(file.to_owned()), by)
        .await?;
    Ok((year, days))
}

/// Only admins change the calendar through the API.
pub fn require_admin(user: &User) -> Result<(), ServiceError> {
    require_role(user, &[Role::Admin], "change the working-day calendar")
}
