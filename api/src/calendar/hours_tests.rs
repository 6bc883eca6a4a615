//! Tests of the working-hours arithmetic: deadlines, working time and the
//! revision pause, against the shipped 2026 calendar.

use std::time::Duration;

use time::macros::{datetime, time};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use super::*;

fn wib(t: PrimitiveDateTime) -> OffsetDateTime {
    t.assume_offset(WIB)
}

fn hours(h: u64, m: u64) -> Duration {
    Duration::from_secs(h * 3600 + m * 60)
}

/// The standard's deadline for a request filed at `filed` (WIB).
fn due(filed: PrimitiveDateTime) -> Due {
    WorkCalendar::builtin().standard_deadline(wib(filed))
}

/// `due` that must not be uncertain.
fn certain_due(filed: PrimitiveDateTime) -> OffsetDateTime {
    let d = due(filed);
    assert!(!d.uncertain, "{filed} is counted in 2026 alone");
    d.at
}

#[test]
fn office_hours_are_the_default() {
    let calendar = WorkCalendar::builtin();
    assert_eq!(calendar.hours(), WorkingHours::OFFICE);
    assert_eq!(calendar.hours().start(), time!(07:30));
    assert_eq!(calendar.hours().end(), time!(16:00));
    assert_eq!(calendar.hours().day_length(), hours(8, 30));
    assert_eq!(calendar.standard_days(), 3);
    assert_eq!(WorkCalendar::empty().hours(), WorkingHours::OFFICE);
    assert_eq!(WorkingHours::default().to_string(), "07:30–16:00 WIB");
    let err = WorkingHours::new(time!(16:00), time!(07:30)).expect_err("backwards");
    assert_eq!(
        err.to_string(),
        "working hours must start before they end (16:00 is not before 07:30)"
    );
}

#[test]
fn clock_times_are_hh_mm() {
    assert_eq!(WorkingHours::parse_clock("07:30"), Ok(time!(07:30)));
    assert_eq!(WorkingHours::parse_clock(" 16:00 "), Ok(time!(16:00)));
    assert_eq!(WorkingHours::parse_clock("23:59"), Ok(time!(23:59)));
    for bad in [
        "7:30", "07.30", "24:00", "07:60", "07:30:00", "", "ab:cd", "+7:30",
    ] {
        assert_eq!(
            WorkingHours::parse_clock(bad),
            Err(HoursError::NotATime(bad.to_owned())),
            "{bad:?}"
        );
    }
    assert!(WorkingHours::new(time!(08:00), time!(12:00)).is_ok());
    for (start, end) in [(time!(16:00), time!(07:30)), (time!(08:00), time!(08:00))] {
        let err = WorkingHours::new(start, end).expect_err("start not before end");
        assert_eq!(err, HoursError::StartNotBeforeEnd { start, end });
        assert!(
            err.to_string().contains("must start before they end"),
            "{err}"
        );
    }
}

#[test]
fn nyepi_and_idul_fitri_leave_are_skipped() {
    // The example of issue 6: 6 h on Tue 17 March; 18–24 March off (Nyepi,
    // Idul Fitri, their collective leave, the weekend); 8 h 30 on the 25th
    // and the 26th; 2 h 30 on Fri 27 March.
    let d = due(datetime!(2026-03-17 10:00));
    assert_eq!(d.at, wib(datetime!(2026-03-27 10:00)));
    assert_eq!(d.at.offset(), UtcOffset::UTC);
    assert!(!d.uncertain);
    let calendar = WorkCalendar::builtin();
    for day in 18..=24 {
        let date = time::Date::from_calendar_date(2026, time::Month::March, day).expect("date");
        assert!(!calendar.is_working_day(date), "{date}");
    }
    // The same instant given in UTC counts the same.
    let utc = calendar.standard_deadline(datetime!(2026-03-17 03:00 UTC));
    assert_eq!(utc, d);
}

#[test]
fn the_standard_is_three_working_days_of_working_time() {
    let calendar = WorkCalendar::builtin();
    let start = wib(datetime!(2026-03-02 10:00));
    assert_eq!(
        calendar.deadline(start, 3),
        calendar.add_working_time(start, hours(25, 30))
    );
    // Within one day, then across one night.
    let d = calendar.add_working_time(start, hours(1, 0));
    assert_eq!(d.at, wib(datetime!(2026-03-02 11:00)));
    let d = calendar.add_working_time(start, hours(8, 0));
    assert_eq!(d.at, wib(datetime!(2026-03-03 09:30)));
    // One working day from 10.00 is 10.00 on the next working day.
    assert_eq!(
        calendar.deadline(start, 1).at,
        wib(datetime!(2026-03-03 10:00))
    );
}

#[test]
fn weekends_do_not_count() {
    // Fri 2 h, Mon 8 h 30, Tue 8 h 30, Wed 6 h 30.
    assert_eq!(
        certain_due(datetime!(2026-03-06 14:00)),
        wib(datetime!(2026-03-11 14:00))
    );
}

#[test]
fn a_holiday_does_not_count() {
    // Mon 17 August 2026 is Independence Day: Fri 6 h, Tue, Wed, Thu 2 h 30.
    assert_eq!(
        certain_due(datetime!(2026-08-14 10:00)),
        wib(datetime!(2026-08-20 10:00))
    );
}

#[test]
fn collective_leave_does_not_count() {
    // Thu 14 May 2026 is Ascension Day, Fri 15 May its collective leave:
    // Wed 6 h, Mon 18, Tue 19, Wed 20 May 2 h 30.
    assert_eq!(
        certain_due(datetime!(2026-05-13 10:00)),
        wib(datetime!(2026-05-20 10:00))
    );
    // Christmas week: Mon 21 Dec 7 h, Tue, Wed; 24 (leave), 25 (Natal),
    // the weekend; Mon 28 Dec 1 h 30.
    assert_eq!(
        certain_due(datetime!(2026-12-21 09:00)),
        wib(datetime!(2026-12-28 09:00))
    );
}

#[test]
fn filed_before_working_hours_counts_from_their_start() {
    // From Mon 07.30: three whole working days end at 16.00 on Wednesday,
    // not at 07.30 on Thursday.
    let expected = wib(datetime!(2026-03-04 16:00));
    assert_eq!(certain_due(datetime!(2026-03-02 06:00)), expected);
    assert_eq!(certain_due(datetime!(2026-03-02 00:00)), expected);
    assert_eq!(certain_due(datetime!(2026-03-02 07:29:59)), expected);
}

#[test]
fn filed_after_working_hours_counts_from_the_next_working_day() {
    let expected = wib(datetime!(2026-03-05 16:00));
    assert_eq!(certain_due(datetime!(2026-03-02 20:00)), expected);
    assert_eq!(certain_due(datetime!(2026-03-02 23:59)), expected);
    // After hours on Friday: from Monday 07.30.
    assert_eq!(
        certain_due(datetime!(2026-03-06 16:30)),
        wib(datetime!(2026-03-11 16:00))
    );
}

#[test]
fn the_edges_of_the_working_day() {
    // Exactly 07.30 counts from that instant; exactly 16.00 from the next
    // working day; a minute before 16.00 brings one minute.
    assert_eq!(
        certain_due(datetime!(2026-03-02 07:30)),
        wib(datetime!(2026-03-04 16:00))
    );
    assert_eq!(
        certain_due(datetime!(2026-03-02 16:00)),
        wib(datetime!(2026-03-05 16:00))
    );
    assert_eq!(
        certain_due(datetime!(2026-03-02 15:59)),
        wib(datetime!(2026-03-05 15:59))
    );
    let calendar = WorkCalendar::builtin();
    // A deadline landing on the end of the working day stays there.
    let d = calendar.add_working_time(wib(datetime!(2026-03-02 15:00)), hours(1, 0));
    assert_eq!(d.at, wib(datetime!(2026-03-02 16:00)));
    let d = calendar.add_working_time(wib(datetime!(2026-03-06 15:00)), hours(1, 0));
    assert_eq!(d.at, wib(datetime!(2026-03-06 16:00)), "Friday, not Monday");
    // One nanosecond more goes on at 07.30 on the next working day.
    let d = calendar.add_working_time(
        wib(datetime!(2026-03-06 15:00)),
        hours(1, 0) + Duration::from_nanos(1),
    );
    assert_eq!(d.at, wib(datetime!(2026-03-09 07:30:00.000_000_001)));
    // Counting nothing ends where it starts, even after hours.
    for start in [
        wib(datetime!(2026-03-02 20:00)),
        wib(datetime!(2026-03-07 10:00)),
    ] {
        let d = calendar.deadline(start, 0);
        assert_eq!((d.at, d.uncertain), (start, false));
    }
}

#[test]
fn filed_on_a_saturday_counts_from_monday() {
    let expected = wib(datetime!(2026-12-02 16:00));
    assert_eq!(certain_due(datetime!(2026-11-28 14:05)), expected);
    assert_eq!(certain_due(datetime!(2026-11-29 09:00)), expected);
    // Filed on a holiday (Nyepi): from Wed 25 March 07.30.
    assert_eq!(
        certain_due(datetime!(2026-03-19 08:00)),
        wib(datetime!(2026-03-27 16:00))
    );
}

#[test]
fn crossing_into_an_unloaded_year_is_uncertain() {
    // Wed 30 Dec 6 h, Thu 31 Dec 8 h 30, Fri 1 Jan 2027 assumed working
    // (8 h 30), Mon 4 Jan 2 h 30.
    let d = due(datetime!(2026-12-30 10:00));
    assert!(d.uncertain);
    assert_eq!(d.at, wib(datetime!(2027-01-04 10:00)));
    // Ending on 31 December touches no day of 2027.
    let d = due(datetime!(2026-12-28 16:30));
    assert_eq!(
        (d.at, d.uncertain),
        (wib(datetime!(2026-12-31 16:00)), false)
    );
    // With 2027 loaded, 1 January is known to be a holiday.
    let mut calendar = WorkCalendar::builtin();
    calendar
        .add_year(
            "year = 2027\n[[day]]\ndate = 2027-01-01\nkind = \"libur_nasional\"\nname = \"Tahun Baru 2027\"\n",
        )
        .expect("2027");
    let d = calendar.standard_deadline(wib(datetime!(2026-12-30 10:00)));
    assert_eq!(
        (d.at, d.uncertain),
        (wib(datetime!(2027-01-05 10:00)), false)
    );
}

#[test]
fn an_unloaded_year_is_uncertain_only_where_a_weekday_was_counted() {
    let calendar = WorkCalendar::builtin();
    // A weekend of 2027 counts nothing either way.
    let weekend = calendar.measure_working_time(
        wib(datetime!(2027-01-02 00:00)),
        wib(datetime!(2027-01-04 07:00)),
    );
    assert_eq!(weekend, WorkingTime::default());
    // Its Friday is a guess.
    let friday = calendar.measure_working_time(
        wib(datetime!(2026-12-31 15:00)),
        wib(datetime!(2027-01-01 08:30)),
    );
    assert_eq!(
        friday,
        WorkingTime {
            time: hours(2, 0),
            uncertain: true
        }
    );
    // A span ending at midnight does not reach the next day's hours.
    let to_midnight = calendar.measure_working_time(
        wib(datetime!(2026-12-31 10:00)),
        wib(datetime!(2027-01-01 00:00)),
    );
    assert_eq!(
        to_midnight,
        WorkingTime {
            time: hours(6, 0),
            uncertain: false
        }
    );
    // An empty calendar guesses every weekday.
    let d = WorkCalendar::empty().standard_deadline(wib(datetime!(2026-03-17 10:00)));
    assert_eq!(
        (d.at, d.uncertain),
        (wib(datetime!(2026-03-20 10:00)), true)
    );
}

#[test]
fn working_time_skips_nights_weekends_and_holidays() {
    let calendar = WorkCalendar::builtin();
    let wt = |from, to| calendar.working_time(wib(from), wib(to));
    // Friday 15.00 to Monday 08.30: 1 h + 1 h.
    assert_eq!(
        wt(datetime!(2026-03-06 15:00), datetime!(2026-03-09 08:30)),
        hours(2, 0)
    );
    // Across Independence Day (Mon 17 Aug): Fri 1 h + Tue 30 min.
    assert_eq!(
        wt(datetime!(2026-08-14 15:00), datetime!(2026-08-18 08:00)),
        hours(1, 30)
    );
    // Across the whole Nyepi and Idul Fitri break: Tue 6 h + Wed 30 min.
    assert_eq!(
        wt(datetime!(2026-03-17 10:00), datetime!(2026-03-25 08:00)),
        hours(6, 30)
    );
    // A night, and spans the wrong way round, hold nothing.
    assert_eq!(
        wt(datetime!(2026-03-02 16:00), datetime!(2026-03-03 07:30)),
        Duration::ZERO
    );
    assert_eq!(
        wt(datetime!(2026-03-03 10:00), datetime!(2026-03-02 10:00)),
        Duration::ZERO
    );
    // A whole working week.
    assert_eq!(
        wt(datetime!(2026-03-02 00:00), datetime!(2026-03-09 00:00)),
        hours(5 * 8 + 2, 30)
    );
}

#[test]
fn working_time_and_deadlines_agree() {
    let calendar = WorkCalendar::builtin();
    let starts = [
        datetime!(2026-03-02 06:00),
        datetime!(2026-03-02 07:30),
        datetime!(2026-03-02 12:17:03.250),
        datetime!(2026-03-06 16:00),
        datetime!(2026-03-17 10:00),
        datetime!(2026-11-28 14:05),
        datetime!(2026-12-23 15:59),
    ];
    let spans = [
        Duration::ZERO,
        Duration::from_millis(1),
        hours(1, 0),
        hours(8, 30),
        hours(25, 30),
        hours(100, 7),
    ];
    for start in starts.map(wib) {
        for span in spans {
            let end = calendar.add_working_time(start, span).at;
            assert_eq!(
                calendar.working_time(start, end),
                span,
                "{start} + {span:?}"
            );
            // Additivity: split anywhere in between.
            let mid = start + (end - start) / 3;
            assert_eq!(
                calendar.working_time(start, mid) + calendar.working_time(mid, end),
                span
            );
        }
    }
}

#[test]
fn pauses_are_subtracted_once_and_within_the_span() {
    let calendar = WorkCalendar::builtin();
    let from = wib(datetime!(2026-03-02 08:00));
    let to = wib(datetime!(2026-03-04 12:00));
    // Mon 8 h + Tue 8 h 30 + Wed 4 h 30.
    assert_eq!(calendar.working_time(from, to), hours(21, 0));
    assert_eq!(calendar.working_time_excluding(from, to, &[]), hours(21, 0));
    // Mon 13.00 to Tue 09.00 (3 h + 1 h 30) paused.
    let pause = (
        wib(datetime!(2026-03-02 13:00)),
        wib(datetime!(2026-03-03 09:00)),
    );
    assert_eq!(
        calendar.working_time_excluding(from, to, &[pause]),
        hours(16, 30)
    );
    // Overlapping pauses count once; parts outside the span not at all;
    // an empty or inverted pause stops nothing.
    let overlapping = (
        wib(datetime!(2026-03-03 08:00)),
        wib(datetime!(2026-03-03 10:00)),
    );
    let before = (
        wib(datetime!(2026-03-01 08:00)),
        wib(datetime!(2026-03-02 09:00)),
    );
    let after = (
        wib(datetime!(2026-03-04 11:00)),
        wib(datetime!(2026-03-09 09:00)),
    );
    let inverted = (
        wib(datetime!(2026-03-04 09:00)),
        wib(datetime!(2026-03-04 08:00)),
    );
    assert_eq!(
        calendar.working_time_excluding(from, to, &[after, pause, inverted, overlapping, before]),
        // 21 h − 1 h (Mon 08.00–09.00) − 5 h 30 (Mon 13.00 to Tue 10.00)
        // − 1 h (Wed 11.00–12.00).
        hours(13, 30)
    );
    // A pause covering everything leaves nothing.
    assert_eq!(
        calendar.working_time_excluding(from, to, &[(from - hours(1, 0), to + hours(1, 0))]),
        Duration::ZERO
    );
}

#[test]
fn a_revision_pause_moves_the_deadline_by_the_working_time_waited() {
    let calendar = WorkCalendar::builtin();
    let filed = wib(datetime!(2026-03-17 10:00));
    let due = calendar.standard_deadline(filed).at;
    assert_eq!(due, wib(datetime!(2026-03-27 10:00)));
    // Sent back Wed 25 March 13.00, resubmitted Thu 26 March 09.00: the
    // agency held it for 3 h + 1 h 30 of working time.
    let asked = wib(datetime!(2026-03-25 13:00));
    let resubmitted = wib(datetime!(2026-03-26 09:00));
    let waited = calendar.working_time(asked, resubmitted);
    assert_eq!(waited, hours(4, 30));
    let moved = calendar.add_working_time(due, waited);
    assert_eq!(moved.at, wib(datetime!(2026-03-27 14:30)));
    assert!(!moved.uncertain);
    // The same as the office's remaining time counted from the
    // resubmission.
    let remaining = calendar.working_time(asked, due);
    assert_eq!(calendar.add_working_time(resubmitted, remaining), moved);
    // And the office's own working time, pauses excluded, is the standard.
    assert_eq!(
        calendar.working_time_excluding(filed, moved.at, &[(asked, resubmitted)]),
        hours(25, 30)
    );
    // A pause past the due time pushes it over the weekend: from 27 March
    // 10.00, 8 h (Fri 10.00–16.00, Mon 07.30–09.30) of waiting.
    let late_ask = wib(datetime!(2026-03-27 10:00));
    let late_back = wib(datetime!(2026-03-30 09:30));
    let waited = calendar.working_time(late_ask, late_back);
    assert_eq!(waited, hours(8, 0));
    assert_eq!(
        calendar.add_working_time(due, waited).at,
        wib(datetime!(2026-03-30 09:30))
    );
}

#[test]
fn configured_hours_and_days() {
    let short = WorkingHours::new(time!(08:00), time!(12:00)).expect("hours");
    let calendar = WorkCalendar::builtin()
        .with_hours(short)
        .with_standard_days(5);
    assert_eq!(calendar.standard_days(), 5);
    assert_eq!(calendar.hours().day_length(), hours(4, 0));
    // Mon 10.00 + 5 × 4 h: Mon 2 h, Tue–Fri 16 h, Mon 2 h.
    let d = calendar.standard_deadline(wib(datetime!(2026-03-02 10:00)));
    assert_eq!(d.at, wib(datetime!(2026-03-09 10:00)));
    assert_eq!(
        calendar.working_time(
            wib(datetime!(2026-03-02 07:00)),
            wib(datetime!(2026-03-02 13:00))
        ),
        hours(4, 0)
    );
    // Edits keep the hours: the calendar in force is rebuilt from a clone.
    let mut edited = calendar.clone();
    edited
        .apply(&CalendarEdit::Remove(time::macros::date!(2026 - 03 - 19)))
        .expect("remove");
    assert_eq!(edited.hours(), short);
    assert_eq!(edited.standard_days(), 5);
}
