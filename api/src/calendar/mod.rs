//! The working-day calendar of the service standard: which days are "hari
//! kerja", and when "3 hari kerja" after a submission falls.
//!
//! A working day is Monday to Friday and neither a national holiday (libur
//! nasional) nor a collective leave day (cuti bersama). Holidays come from
//! one TOML file per year, in this form (see `api/calendar/`):
//!
//! ```toml
//! year = 2026
//!
//! [[day]]
//! date = 2026-03-19
//! kind = "libur_nasional"   # or "cuti_bersama"
//! name = "Hari Suci Nyepi (Tahun Baru Saka 1948)"
//! ```
//!
//! Holidays are declared by decree year by year, and the decree for next
//! year is often published late. A day in a year with no loaded file is
//! counted Monday to Friday, and every answer that relied on such a day says
//! so ([`Due::uncertain`]) so the caller can flag it instead of presenting a
//! guess as the standard's deadline.
//!
//! All counting is in Western Indonesia Time ([`WIB`]), the time of
//! Pontianak, which has no daylight saving time.
//!
//! Request deadlines are counted in the office's working hours, not in
//! whole days: see [`hours`] and [`WorkCalendar::deadline`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub mod hours;

pub use hours::{HoursError, STANDARD_WORKING_DAYS, WorkingHours, WorkingTime};

use serde::Deserialize;
use time::macros::offset;
use time::{Date, Month, OffsetDateTime, UtcOffset, Weekday};

/// Western Indonesia Time (Waktu Indonesia Barat), UTC+07:00: the zone of
/// Asia/Pontianak, where the office is. No daylight saving time.
pub const WIB: UtcOffset = offset!(+7);

/// The calendar shipped with dnsdesk: the 2026 holidays and collective
/// leave. Kept in the repository so a build is reproducible.
const BUILTIN_2026: &str = include_str!("../../calendar/id-holidays-2026.toml");

/// Why a non-working day is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolidayKind {
    /// A national holiday (libur nasional).
    LiburNasional,
    /// Collective leave for civil servants (cuti bersama).
    CutiBersama,
}

impl HolidayKind {
    /// As stored and written in holiday files.
    pub fn as_str(self) -> &'static str {
        match self {
            HolidayKind::LiburNasional => "libur_nasional",
            HolidayKind::CutiBersama => "cuti_bersama",
        }
    }
}

impl std::str::FromStr for HolidayKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "libur_nasional" => Ok(HolidayKind::LiburNasional),
            "cuti_bersama" => Ok(HolidayKind::CutiBersama),
            other => Err(format!(
                "\"{other}\" is not libur_nasional (national holiday) or cuti_bersama (collective leave)"
            )),
        }
    }
}

/// One change an admin made to the shipped calendar; replayed in order on
/// top of it (see [`WorkCalendar::apply`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarEdit {
    /// A day becomes (or stays, renamed) a non-working day.
    Add(Holiday),
    /// A listed day becomes a working day again.
    Remove(Date),
    /// A whole year from a holiday file, replacing what was loaded for it.
    Import(String),
}

/// One listed non-working day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub date: Date,
    pub kind: HolidayKind,
    /// As the decree names it, e.g. "Hari Raya Natal".
    pub name: String,
}

/// A deadline counted in working days or working time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The deadline, in UTC.
    pub at: OffsetDateTime,
    /// Whether some day counted (or skipped) lies in a year with no loaded
    /// holiday calendar, and was therefore assumed to be a working day if it
    /// is Monday to Friday. The deadline may then be too early.
    pub uncertain: bool,
}

/// Why a holiday file cannot be loaded. Each names the line at fault where
/// there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CalendarError {
    /// Not TOML, or a field is missing, unknown or of the wrong type. The
    /// TOML error gives the line and column.
    #[error(transparent)]
    Syntax(#[from] toml::de::Error),
    /// `date` holds a time or an offset, not a plain date.
    #[error("line {line}: `date = {value}` must be a plain date such as 2026-03-19")]
    NotADate { line: usize, value: String },
    /// `date` is not a day of the calendar. The TOML parser already rejects
    /// most such dates (2026-02-30) as [`Syntax`](Self::Syntax).
    #[error("line {line}: `date = {value}` is not a calendar date")]
    InvalidDate { line: usize, value: String },
    /// A day outside the file's `year`.
    #[error("line {line}: `date = {date}` is not in `year = {year}`")]
    WrongYear { line: usize, date: Date, year: i32 },
    /// The same date listed twice in one file.
    #[error("line {line}: {date} is already listed on line {first_line}")]
    Duplicate {
        line: usize,
        date: Date,
        first_line: usize,
    },
    /// A day without a name.
    #[error("line {line}: `name` of {date} is empty")]
    EmptyName { line: usize, date: Date },
    /// A file with no `[[day]]`: every year has holidays, so this is a
    /// mistake that would hide the uncertainty of an unknown year.
    #[error("`year = {year}` lists no `[[day]]`")]
    NoDays { year: i32 },
    /// The calendar already holds this year; load amended years into a new
    /// calendar rather than merging decrees.
    #[error("the holidays of {year} are already loaded")]
    YearAlreadyLoaded { year: i32 },
    /// A holiday file that cannot be read.
    #[error("cannot read holiday file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A holiday file that can be read but not loaded.
    #[error("holiday file {path}: {source}")]
    File {
        path: PathBuf,
        source: Box<CalendarError>,
    },
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    #[serde(default, rename = "day")]
    days: Vec<DayEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DayEntry {
    date: toml::Spanned<toml::value::Datetime>,
    kind: HolidayKind,
    name: String,
}

/// Holidays and collective leave for the years loaded, the office's
/// working hours, and the working days the standard allows a request.
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    years: BTreeSet<i32>,
    days: BTreeMap<Date, Holiday>,
    /// Kept through [`apply`](Self::apply) and clones, so the calendar an
    /// admin's edits are replayed on counts in the configured hours.
    hours: WorkingHours,
    standard_days: u32,
}

impl Default for WorkCalendar {
    fn default() -> Self {
        Self {
            years: BTreeSet::new(),
            days: BTreeMap::new(),
            hours: WorkingHours::OFFICE,
            standard_days: STANDARD_WORKING_DAYS,
        }
    }
}

impl WorkCalendar {
    /// A calendar with no year loaded: every answer is uncertain. It counts
    /// in the office's hours ([`WorkingHours::OFFICE`]) and allows
    /// [`STANDARD_WORKING_DAYS`].
    pub fn empty() -> Self {
        Self::default()
    }

    /// The calendar embedded in the binary (2026).
    ///
    /// The embedded file is checked by this module's tests; should it ever
    /// fail to load, the error is logged and the calendar is empty, so every
    /// due date is flagged uncertain rather than the service not starting.
    pub fn builtin() -> Self {
        match Self::from_toml(BUILTIN_2026) {
            Ok(calendar) => calendar,
            Err(e) => {
                tracing::error!(error = %e, "embedded holiday calendar does not load");
                Self::empty()
            }
        }
    }

    /// A calendar holding the one year described by `toml`.
    pub fn from_toml(toml: &str) -> Result<Self, CalendarError> {
        let mut calendar = Self::empty();
        calendar.add_year(toml)?;
        Ok(calendar)
    }

    /// Adds the year described by `toml` and returns it. Nothing is added
    /// if the file has any error.
    pub fn add_year(&mut self, toml: &str) -> Result<i32, CalendarError> {
        let (year, holidays) = parse_year(toml)?;
        if self.years.contains(&year) {
            return Err(CalendarError::YearAlreadyLoaded { year });
        }
        self.years.insert(year);
        self.days
            .extend(holidays.into_iter().map(|holiday| (holiday.date, holiday)));
        Ok(year)
    }

    /// Applies an admin's edit. An import replaces its year whole; an
    /// invalid import (checked before it was stored) changes nothing.
    pub fn apply(&mut self, edit: &CalendarEdit) -> Result<(), CalendarError> {
        match edit {
            CalendarEdit::Add(holiday) => {
                self.days.insert(holiday.date, holiday.clone());
            }
            CalendarEdit::Remove(date) => {
                self.days.remove(date);
            }
            CalendarEdit::Import(toml) => {
                let (year, holidays) = parse_year(toml)?;
                self.days.retain(|date, _| date.year() != year);
                self.years.insert(year);
                self.days
                    .extend(holidays.into_iter().map(|holiday| (holiday.date, holiday)));
            }
        }
        Ok(())
    }

    /// The year a holiday file describes, after checking all of it.
    pub fn check_year(toml: &str) -> Result<(i32, usize), CalendarError> {
        parse_year(toml).map(|(year, days)| (year, days.len()))
    }

    /// Reads a holiday file and adds its year; errors name the file.
    pub fn add_file(&mut self, path: &Path) -> Result<i32, CalendarError> {
        let text = std::fs::read_to_string(path).map_err(|source| CalendarError::Read {
            path: path.to_owned(),
            source,
        })?;
        self.add_year(&text).map_err(|e| CalendarError::File {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    /// Whether the holidays of `year` are loaded.
    pub fn has_year(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// The years loaded, in order.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// The listed holiday on `date`, if any (weekend holidays included).
    pub fn holiday(&self, date: Date) -> Option<&Holiday> {
        self.days.get(&date)
    }

    /// Every listed holiday, in date order.
    pub fn holidays(&self) -> impl Iterator<Item = &Holiday> + '_ {
        self.days.values()
    }

    /// Monday to Friday and not a listed holiday or collective leave day.
    /// In a year with no loaded calendar this is Monday to Friday alone;
    /// check [`has_year`](Self::has_year) or use [`due_after`](Self::due_after),
    /// which reports it.
    pub fn is_working_day(&self, date: Date) -> bool {
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
            && !self.days.contains_key(&date)
    }

    /// The instant `working_days` whole working days after `submitted`, at
    /// the same time of day. Request deadlines are counted in working
    /// hours instead, with [`deadline`](Self::deadline).
    ///
    /// Counted in WIB: from the submission's WIB date, step forward one day
    /// at a time, counting working days only; the deadline is the last
    /// counted day at the submission's WIB time of day. The submission day
    /// itself never counts, whatever day it is, so a submission on a
    /// Saturday (or a holiday) counts from the next working day the same way:
    /// Saturday 10.00 → Monday is day 1 → Wednesday 10.00 for three days.
    /// Office hours are not considered.
    ///
    /// [`Due::uncertain`] is set when a day stepped over lies in a year with
    /// no loaded calendar; such days are counted Monday to Friday.
    pub fn due_after(&self, submitted: OffsetDateTime, working_days: u32) -> Due {
        let local = submitted.to_offset(WIB);
        let mut date = local.date();
        let mut counted = 0;
        let mut uncertain = false;
        while counted < working_days {
            let Some(next) = date.next_day() else {
                // The end of `time`'s calendar (year 9999): nothing to count.
                uncertain = true;
                break;
            };
            date = next;
            uncertain |= !self.has_year(date.year());
            if self.is_working_day(date) {
                counted += 1;
            }
        }
        Due {
            at: date
                .with_time(local.time())
                .assume_offset(WIB)
                .to_offset(UtcOffset::UTC),
            uncertain,
        }
    }
}

/// Parses and checks one year file.
fn parse_year(toml: &str) -> Result<(i32, Vec<Holiday>), CalendarError> {
    let file: YearFile = toml::from_str(toml)?;
    if file.days.is_empty() {
        return Err(CalendarError::NoDays { year: file.year });
    }
    let mut first_lines: BTreeMap<Date, usize> = BTreeMap::new();
    let mut holidays = Vec::with_capacity(file.days.len());
    for entry in file.days {
        let line = line_of(toml, entry.date.span().start);
        let date = plain_date(entry.date.get_ref(), line)?;
        if date.year() != file.year {
            return Err(CalendarError::WrongYear {
                line,
                date,
                year: file.year,
            });
        }
        if let Some(&first_line) = first_lines.get(&date) {
            return Err(CalendarError::Duplicate {
                line,
                date,
                first_line,
            });
        }
        first_lines.insert(date, line);
        let name = entry.name.trim();
        if name.is_empty() {
            return Err(CalendarError::EmptyName { line, date });
        }
        holidays.push(Holiday {
            date,
            kind: entry.kind,
            name: name.to_owned(),
        });
    }
    Ok((file.year, holidays))
}

/// A TOML local date (`2026-03-19`, unquoted) as a [`Date`].
fn plain_date(value: &toml::value::Datetime, line: usize) -> Result<Date, CalendarError> {
    let (Some(d), None, None) = (value.date, value.time, value.offset) else {
        return Err(CalendarError::NotADate {
            line,
            value: value.to_string(),
        });
    };
    let invalid = || CalendarError::InvalidDate {
        line,
        value: value.to_string(),
    };
    let month = Month::try_from(d.month).map_err(|_| invalid())?;
    Date::from_calendar_date(i32::from(d.year), month, d.day).map_err(|_| invalid())
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    before.matches('\n').count() + 1
}

/// Indonesian month names, January first.
const BULAN: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// English month names, January first.
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `t` in WIB, Indonesian style: `28 November 2026, 14.05 WIB` (seconds
/// dropped, not rounded).
pub fn format_wib(t: OffsetDateTime) -> String {
    format_with(t, &BULAN, '.')
}

/// `t` in WIB, English style: `28 November 2026, 14:05 WIB`.
pub fn format_wib_en(t: OffsetDateTime) -> String {
    format_with(t, &MONTHS, ':')
}

fn format_with(t: OffsetDateTime, months: &[&str; 12], separator: char) -> String {
    let t = t.to_offset(WIB);
    // `Month` is 1-based and at most 12.
    let month = months[usize::from(u8::from(t.month()) - 1)];
    format!(
        "{} {month} {}, {:02}{separator}{:02} WIB",
        t.day(),
        t.year(),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod hours_tests;
#[cfg(test)]
mod tests;
