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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use time::macros::offset;
use time::{Date, Month, OffsetDateTime, UtcOffset, Weekday};

/// Western Indonesia Time (Waktu Indonesia Barat), UTC+07:00: the zone of
/// Asia/Pontianak, where the office is. No daylight saving time.
pub const WIB: UtcOffset = offset!(+7);

/// The calendar shipped with dnsdesk: the 2026 holidays and collective
/// leave. Kept in the repository so a build is reproducible.
const BUILTIN_2026: &str = include_str!("../calendar/id-holidays-2026.toml");

/// Why a non-working day is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolidayKind {
    /// A national holiday (libur nasional).
    LiburNasional,
    /// Collective leave for civil servants (cuti bersama).
    CutiBersama,
}

/// One listed non-working day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub date: Date,
    pub kind: HolidayKind,
    /// As the decree names it, e.g. "Hari Raya Natal".
    pub name: String,
}

/// A deadline counted in working days.
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

/// Holidays and collective leave for the years loaded.
#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    years: BTreeSet<i32>,
    days: BTreeMap<Date, Holiday>,
}

impl WorkCalendar {
    /// A calendar with no year loaded: every answer is uncertain.
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

    /// The instant `working_days` working days after `submitted`.
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
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    fn wib(t: time::PrimitiveDateTime) -> OffsetDateTime {
        t.assume_offset(WIB)
    }

    fn due(submitted: time::PrimitiveDateTime) -> Due {
        WorkCalendar::builtin().due_after(wib(submitted), 3)
    }

    #[test]
    fn builtin_loads_2026_and_only_2026() {
        let calendar = WorkCalendar::builtin();
        assert_eq!(calendar.years().collect::<Vec<_>>(), vec![2026]);
        assert!(calendar.has_year(2026));
        assert!(!calendar.has_year(2025));
        assert!(!calendar.has_year(2027));
        assert_eq!(calendar.holidays().count(), 25);
        assert!(BUILTIN_2026.starts_with("# Indonesian non-working days for 2026"));
    }

    #[test]
    fn weekends_are_not_working_days() {
        let calendar = WorkCalendar::builtin();
        assert!(!calendar.is_working_day(date!(2026 - 03 - 28))); // Saturday
        assert!(!calendar.is_working_day(date!(2026 - 03 - 29))); // Sunday
        assert!(calendar.is_working_day(date!(2026 - 03 - 30))); // Monday
        assert!(calendar.is_working_day(date!(2026 - 04 - 02))); // Thursday
    }

    #[test]
    fn each_holiday_kind_is_not_a_working_day() {
        let calendar = WorkCalendar::builtin();
        let nyepi = date!(2026 - 03 - 19);
        assert_eq!(
            calendar.holiday(nyepi).map(|h| h.kind),
            Some(HolidayKind::LiburNasional)
        );
        assert!(!calendar.is_working_day(nyepi));
        let cuti = date!(2026 - 03 - 18);
        assert_eq!(
            calendar.holiday(cuti).map(|h| h.kind),
            Some(HolidayKind::CutiBersama)
        );
        assert!(!calendar.is_working_day(cuti));
        assert_eq!(
            calendar
                .holiday(date!(2026 - 12 - 25))
                .map(|h| h.name.as_str()),
            Some("Hari Raya Natal")
        );
    }

    #[test]
    fn nyepi_and_idul_fitri_leave_are_skipped() {
        // Required by the acceptance of the due-date issue: 18, 20, 23 and
        // 24 March are collective leave, 19 March is Nyepi.
        let d = due(datetime!(2026-03-17 10:00));
        assert_eq!(d.at, wib(datetime!(2026-03-27 10:00)));
        assert_eq!(d.at.offset(), UtcOffset::UTC);
        assert!(!d.uncertain);
    }

    #[test]
    fn saturday_counts_from_monday() {
        // 28 November 2026 is a Saturday: Mon 30 Nov, Tue 1 Dec, Wed 2 Dec.
        assert_eq!(date!(2026 - 11 - 28).weekday(), Weekday::Saturday);
        let d = due(datetime!(2026-11-28 14:05));
        assert_eq!(d.at, wib(datetime!(2026-12-02 14:05)));
        assert!(!d.uncertain);
        let sunday = due(datetime!(2026-11-29 14:05));
        assert_eq!(sunday.at, d.at);
    }

    #[test]
    fn friday_skips_the_weekend() {
        let d = due(datetime!(2026-11-27 16:30));
        assert_eq!(d.at, wib(datetime!(2026-12-02 16:30)));
    }

    #[test]
    fn christmas_week() {
        // 22 and 23 work; 24 cuti bersama; 25 Natal; 26, 27 weekend; 28.
        let d = due(datetime!(2026-12-21 09:00));
        assert_eq!(d.at, wib(datetime!(2026-12-28 09:00)));
        assert!(!d.uncertain);
    }

    #[test]
    fn a_holiday_submission_counts_from_the_next_working_day() {
        // Submitted on Nyepi: 20, 23, 24 off; 25, 26, 27 count.
        let d = due(datetime!(2026-03-19 08:00));
        assert_eq!(d.at, wib(datetime!(2026-03-27 08:00)));
    }

    #[test]
    fn crossing_into_an_unloaded_year_is_uncertain() {
        // 31 Dec (1), Fri 1 Jan 2027 assumed working (2), Mon 4 Jan (3).
        let d = due(datetime!(2026-12-30 11:00));
        assert!(d.uncertain);
        assert_eq!(d.at, wib(datetime!(2027-01-04 11:00)));
    }

    #[test]
    fn unloaded_year_is_uncertain_even_when_no_day_would_change() {
        let d = due(datetime!(2025-06-02 09:00));
        assert!(d.uncertain);
        assert_eq!(d.at, wib(datetime!(2025-06-05 09:00)));
    }

    #[test]
    fn counting_uses_the_wib_date_and_keeps_the_wib_time() {
        // 20.00 UTC on Monday 16 March is 03.00 WIB on Tuesday 17 March.
        let submitted = datetime!(2026-03-16 20:00 UTC);
        let d = WorkCalendar::builtin().due_after(submitted, 3);
        assert_eq!(d.at, datetime!(2026-03-26 20:00 UTC));
        assert_eq!(d.at, wib(datetime!(2026-03-27 03:00)));
    }

    #[test]
    fn zero_days_is_the_submission_instant() {
        let submitted = wib(datetime!(2026-03-17 10:00));
        let d = WorkCalendar::builtin().due_after(submitted, 0);
        assert_eq!(d.at, submitted);
        assert!(!d.uncertain);
    }

    #[test]
    fn formats_in_indonesian_and_english() {
        let t = datetime!(2026-11-28 07:05:59 UTC);
        assert_eq!(format_wib(t), "28 November 2026, 14.05 WIB");
        assert_eq!(format_wib_en(t), "28 November 2026, 14:05 WIB");
        let t = wib(datetime!(2026-03-02 09:00));
        assert_eq!(format_wib(t), "2 Maret 2026, 09.00 WIB");
        assert_eq!(format_wib_en(t), "2 March 2026, 09:00 WIB");
        // Late UTC evening is already the next day in Pontianak.
        let t = datetime!(2026-12-31 17:30 UTC);
        assert_eq!(format_wib(t), "1 Januari 2027, 00.30 WIB");
        let t = wib(datetime!(2026-08-17 10:00));
        assert_eq!(format_wib(t), "17 Agustus 2026, 10.00 WIB");
        assert_eq!(
            format_wib(wib(datetime!(2026-12-24 16:00))),
            "24 Desember 2026, 16.00 WIB"
        );
    }

    /// A year file; the `date` of day `i` (from 0) is on line `4 + 5 * i`.
    fn year_file(year: i32, days: &[(&str, &str, &str)]) -> String {
        let mut text = format!("year = {year}\n");
        for (date, kind, name) in days {
            text.push_str(&format!(
                "\n[[day]]\ndate = {date}\nkind = \"{kind}\"\nname = \"{name}\"\n"
            ));
        }
        text
    }

    fn load_err(toml: &str) -> CalendarError {
        WorkCalendar::from_toml(toml).expect_err("should not load")
    }

    #[test]
    fn years_can_be_added_but_not_twice() {
        let mut calendar = WorkCalendar::builtin();
        let next = year_file(2027, &[("2027-01-01", "libur_nasional", "Tahun Baru 2027")]);
        assert_eq!(calendar.add_year(&next).ok(), Some(2027));
        assert!(calendar.has_year(2027));
        assert!(!calendar.is_working_day(date!(2027 - 01 - 01)));
        // Now 1 January is known to be a holiday: 31 Dec, 4 Jan, 5 Jan.
        let d = calendar.due_after(wib(datetime!(2026-12-30 11:00)), 3);
        assert!(!d.uncertain);
        assert_eq!(d.at, wib(datetime!(2027-01-05 11:00)));
        assert!(matches!(
            calendar.add_year(&next),
            Err(CalendarError::YearAlreadyLoaded { year: 2027 })
        ));
    }

    #[test]
    fn add_file_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("id-holidays-2027.toml");
        std::fs::write(&path, "year = 2027\n").expect("write");
        let err = WorkCalendar::empty().add_file(&path).expect_err("no days");
        let text = err.to_string();
        assert!(text.contains("id-holidays-2027.toml"), "{text}");
        assert!(text.contains("lists no `[[day]]`"), "{text}");

        let missing = dir.path().join("absent.toml");
        let err = WorkCalendar::empty().add_file(&missing);
        assert!(matches!(err, Err(CalendarError::Read { .. })), "{err:?}");
    }

    #[test]
    fn malformed_files_name_line_and_field() {
        let cases = [
            (
                year_file(2026, &[("2026-01-01", "libur", "Tahun Baru")]),
                ["line 5", "unknown variant `libur`", "libur_nasional"],
            ),
            (
                "year = 2026\n[[day]]\ndate = 2026-01-01\nkind = \"cuti_bersama\"\n".to_owned(),
                ["line 2", "missing field `name`", "[[day]]"],
            ),
            (
                year_file(2026, &[("2026-01-01", "libur_nasional", "x")]) + "note = \"y\"\n",
                ["line 7", "unknown field `note`", "expected one of"],
            ),
            (
                year_file(2026, &[("\"2026-01-01\"", "libur_nasional", "x")]),
                ["line 4", "invalid type: string", "datetime"],
            ),
            (
                year_file(2026, &[("2026-02-30", "libur_nasional", "x")]),
                ["line 4", "invalid date", "2026-02-30"],
            ),
            (
                "yaer = 2026\n".to_owned(),
                ["line 1", "unknown field `yaer`", "year"],
            ),
            (
                "year = 2026\n[[day]\n".to_owned(),
                ["line 2", "[[day]", "TOML"],
            ),
        ];
        for (toml, expected) in cases {
            let err = load_err(&toml);
            assert!(matches!(err, CalendarError::Syntax(_)), "{err}");
            let text = err.to_string();
            for part in expected {
                assert!(text.contains(part), "{part:?} not in {text}");
            }
        }
    }

    #[test]
    fn dates_are_checked() {
        let with_time = year_file(2026, &[("2026-01-01T00:00:00", "libur_nasional", "x")]);
        assert!(matches!(
            load_err(&with_time),
            CalendarError::NotADate { line: 4, .. }
        ));

        let wrong_year = year_file(
            2026,
            &[
                ("2026-01-01", "libur_nasional", "a"),
                ("2027-01-01", "libur_nasional", "b"),
            ],
        );
        let err = load_err(&wrong_year);
        assert_eq!(
            err.to_string(),
            "line 9: `date = 2027-01-01` is not in `year = 2026`"
        );

        let twice = year_file(
            2026,
            &[
                ("2026-01-01", "libur_nasional", "a"),
                ("2026-01-01", "cuti_bersama", "b"),
            ],
        );
        assert!(matches!(
            load_err(&twice),
            CalendarError::Duplicate {
                line: 9,
                first_line: 4,
                ..
            }
        ));

        let blank = year_file(2026, &[("2026-01-01", "libur_nasional", " ")]);
        assert!(matches!(
            load_err(&blank),
            CalendarError::EmptyName { line: 4, .. }
        ));
    }

    #[test]
    fn a_failed_add_leaves_the_calendar_unchanged() {
        let mut calendar = WorkCalendar::builtin();
        let bad = year_file(
            2027,
            &[
                ("2027-01-01", "libur_nasional", "a"),
                ("2028-01-01", "libur_nasional", "b"),
            ],
        );
        assert!(calendar.add_year(&bad).is_err());
        assert!(!calendar.has_year(2027));
        assert!(calendar.holiday(date!(2027 - 01 - 01)).is_none());
    }
}
