//! The complaint deadlines of each category against the 2026 calendar,
//! and the checks on what complainants and staff type.

use time::OffsetDateTime;
use time::macros::datetime;

use super::filing::{is_email, is_phone};
use super::*;

/// Tue 17 March 2026, 10.00 WIB: the day before Nyepi, the collective
/// leave and Idul Fitri take 18–24 March off.
const TUESDAY_17_MARCH: OffsetDateTime = datetime!(2026-03-17 10:00 +7);

fn due(category: ComplaintCategory, received: OffsetDateTime) -> Due {
    due_for(
        &WorkCalendar::builtin(),
        &ComplaintDeadlines::default(),
        category,
        received,
    )
}

#[test]
fn each_category_is_due_after_its_working_days_skipping_holidays() {
    use ComplaintCategory::*;
    // 5 working days: 25, 26, 27, 30 and 31 March (10.00 on the 17th
    // leaves 6 h that day; 2 h 30 of the fifth day's 8 h 30 remain).
    for category in [Ringan, Normatif] {
        let d = due(category, TUESDAY_17_MARCH);
        assert_eq!(d.at, datetime!(2026-03-31 10:00 +7), "{category}");
        assert!(!d.uncertain);
    }
    // 14: past Good Friday (3 April).
    let d = due(TidakBerkadarPengawasan, TUESDAY_17_MARCH);
    assert_eq!(d.at, datetime!(2026-04-14 10:00 +7));
    // 60: past 1, 14, 15, 27 and 28 May, 1 and 16 June.
    let d = due(BerkadarPengawasan, TUESDAY_17_MARCH);
    assert_eq!(d.at, datetime!(2026-06-26 10:00 +7));
    assert!(!d.uncertain);
    // Within working hours, whole working days land at the same time of
    // day, as the day-counting rule would have them.
    let calendar = WorkCalendar::builtin();
    for category in ComplaintCategory::ALL {
        let days = ComplaintDeadlines::default().days(*category);
        assert_eq!(
            due(*category, TUESDAY_17_MARCH).at,
            calendar.due_after(TUESDAY_17_MARCH, days).at,
            "{category}"
        );
    }
}

#[test]
fn receipt_outside_working_hours_counts_from_the_next_working_morning() {
    // 20.00 on the 17th: nothing left that day; five full days from
    // 25 March 07.30 end at 16.00 on the 31st.
    let d = due(ComplaintCategory::Ringan, datetime!(2026-03-17 20:00 +7));
    assert_eq!(d.at, datetime!(2026-03-31 16:00 +7));
    // Saturday 14 March: Monday 16th and Tuesday 17th, then 25–27 March.
    let d = due(ComplaintCategory::Ringan, datetime!(2026-03-14 10:00 +7));
    assert_eq!(d.at, datetime!(2026-03-27 16:00 +7));
}

#[test]
fn durations_come_from_the_configuration() {
    let deadlines = ComplaintDeadlines {
        ringan: 3,
        ..ComplaintDeadlines::default()
    };
    let d = due_for(
        &WorkCalendar::builtin(),
        &deadlines,
        ComplaintCategory::Ringan,
        TUESDAY_17_MARCH,
    );
    assert_eq!(d.at, datetime!(2026-03-27 10:00 +7));
}

#[test]
fn a_deadline_in_a_year_without_a_calendar_is_flagged() {
    // 28 December 2026 + 5: into January 2027, whose holidays are not
    // loaded.
    let d = due(ComplaintCategory::Ringan, datetime!(2026-12-28 10:00 +7));
    assert!(d.uncertain);
    let d = due(ComplaintCategory::Ringan, datetime!(2026-12-01 10:00 +7));
    assert!(!d.uncertain);
}

#[test]
fn contacts_are_phone_numbers_or_e_mail_addresses() {
    for phone in [
        "0812 3456 7890",
        "+62 812-3456-7890",
        "(0561) 736541",
        "081234567890",
    ] {
        assert!(is_phone(phone), "{phone}");
    }
    for email in ["siti@example.id", "a.b+c@kalbarprov.go.id"] {
        assert!(is_email(email), "{email}");
    }
    for bad in [
        "",
        "siti",
        "0812",
        "12345",
        "a@b",
        "siti @example.id",
        "@example.id",
        "0812 abc 7890",
    ] {
        assert!(!is_phone(bad) && !is_email(bad), "{bad}");
    }
}

#[test]
fn received_times_are_read_as_wib_or_rfc3339() {
    assert_eq!(
        parse_received("2026-03-17T10:00").ok(),
        Some(datetime!(2026-03-17 03:00 UTC))
    );
    assert_eq!(
        parse_received("2026-03-17T10:00:00.123456+07:00").ok(),
        Some(datetime!(2026-03-17 03:00:00.123 UTC))
    );
    let e = parse_received("17/03/2026").expect_err("not a time");
    assert!(e.to_string().starts_with("received_at:"), "{e}");
}
