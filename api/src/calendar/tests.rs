//! Tests of the calendar module.

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
