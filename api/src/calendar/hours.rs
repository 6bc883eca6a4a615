//! The office's working hours, and the request SLA clock counted in them:
//! how much working time lies between two instants, and when a span of
//! working time counted from an instant runs out.
//!
//! The service standard promises completion in "3 hari kerja". dnsdesk
//! reads that as three working days' worth of the office's working time:
//! with the default hours, 07.30–16.00 WIB, a working day holds 8 h 30 min
//! and the standard 25 h 30 min. Time outside working hours, weekends,
//! holidays and collective leave does not count, so a request filed at
//! 20.00 starts counting at 07.30 on the next working day.
//!
//! # The edges
//!
//! On a working day the clock runs from the start of working hours to
//! their end, both instants included: the working time of a day is
//! `end − start`, whichever of the two is taken to belong to the day.
//!
//! - Counting from exactly 07.30 on a working day counts from that
//!   instant; from exactly 16.00 (or later) counts from 07.30 on the next
//!   working day.
//! - A deadline is the *earliest* instant by which the working time has
//!   run out. One that runs out exactly at 16.00 stays at 16.00 of that
//!   day, never 07.30 of the next working day (the same amount of working
//!   time lies before both).
//! - Counting nothing ends where it starts, whatever the time of day.
//! - Instants are compared in WIB, which has no daylight saving time, so
//!   every working day is equally long.
//!
//! # Uncertain answers
//!
//! In a year with no loaded holiday calendar a weekday is assumed to be a
//! working day. An answer that relied on such an assumption (a Monday to
//! Friday of an unloaded year whose working hours were counted, or
//! stepped over, or where the deadline fell) says so, as
//! [`Due::uncertain`] or [`WorkingTime::uncertain`]. Weekends are never
//! working days, so they never make an answer uncertain.

use std::fmt;
use std::time::Duration;

use time::macros::time;
use time::{Date, OffsetDateTime, Time, UtcOffset, Weekday};

use super::{Due, WIB, WorkCalendar};

/// Working days the service standard allows from submission to activation
/// ("Waktu penyelesaian: 3 hari kerja"), unless configured otherwise.
pub const STANDARD_WORKING_DAYS: u32 = 3;

/// Why working hours cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HoursError {
    /// A time of day not written `HH:MM` (24-hour clock, 00:00–23:59).
    #[error("\"{0}\" is not a time of day like 07:30 (HH:MM, 24-hour clock)")]
    NotATime(String),
    /// The working day ends before (or when) it starts.
    #[error(
        "working hours must start before they end ({} is not before {})",
        clock(*.start),
        clock(*.end)
    )]
    StartNotBeforeEnd {
        /// The first instant of the working day.
        start: Time,
        /// The last instant of the working day.
        end: Time,
    },
}

/// The office's working hours, the same on every working day, in WIB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingHours {
    start: Time,
    end: Time,
}

impl WorkingHours {
    /// The office's hours: 07.30 to 16.00 WIB.
    pub const OFFICE: Self = Self {
        start: time!(07:30),
        end: time!(16:00),
    };

    /// Hours from `start` to `end` (WIB); `start` must be before `end`,
    /// so a working day never crosses midnight.
    pub fn new(start: Time, end: Time) -> Result<Self, HoursError> {
        if start < end {
            Ok(Self { start, end })
        } else {
            Err(HoursError::StartNotBeforeEnd { start, end })
        }
    }

    /// `07:30` as a time of day. Only hours and minutes are accepted: the
    /// standard's hours are published to the minute, and a stray second
    /// would make every deadline end at an odd instant.
    pub fn parse_clock(text: &str) -> Result<Time, HoursError> {
        let not_a_time = || HoursError::NotATime(text.to_owned());
        let (hour, minute) = text.trim().split_once(':').ok_or_else(not_a_time)?;
        let two_digits = |s: &str| {
            (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u8>().ok())
                .flatten()
        };
        let (Some(hour), Some(minute)) = (two_digits(hour), two_digits(minute)) else {
            return Err(not_a_time());
        };
        Time::from_hms(hour, minute, 0).map_err(|_| not_a_time())
    }

    /// When the working day starts (WIB).
    pub fn start(self) -> Time {
        self.start
    }

    /// When the working day ends (WIB).
    pub fn end(self) -> Time {
        self.end
    }

    /// The working time of one working day: 8 h 30 min for the office.
    pub fn day_length(self) -> Duration {
        (self.end - self.start).unsigned_abs()
    }

    /// The working hours of `date`, as instants: whether the day works is
    /// the calendar's business.
    fn window(self, date: Date) -> (OffsetDateTime, OffsetDateTime) {
        (
            date.with_time(self.start).assume_offset(WIB),
            date.with_time(self.end).assume_offset(WIB),
        )
    }
}

impl Default for WorkingHours {
    fn default() -> Self {
        Self::OFFICE
    }
}

impl fmt::Display for WorkingHours {
    /// `07:30–16:00 WIB`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{} WIB", clock(self.start), clock(self.end))
    }
}

/// `07:30`, as the hours are configured (`Time`'s own display adds
/// seconds and a fraction).
fn clock(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// Working time between two instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkingTime {
    /// The office's working time in the span.
    pub time: Duration,
    /// Whether a weekday of the span lies in a year with no loaded holiday
    /// calendar and was counted as a working day: the time may be too long.
    pub uncertain: bool,
}

impl WorkCalendar {
    /// This calendar counting in `hours` instead of the office's default.
    pub fn with_hours(mut self, hours: WorkingHours) -> Self {
        self.hours = hours;
        self
    }

    /// The working hours deadlines are counted in.
    pub fn hours(&self) -> WorkingHours {
        self.hours
    }

    /// This calendar with the standard allowing `working_days` instead of
    /// [`STANDARD_WORKING_DAYS`].
    pub fn with_standard_days(mut self, working_days: u32) -> Self {
        self.standard_days = working_days;
        self
    }

    /// The working days the standard allows a request.
    pub fn standard_days(&self) -> u32 {
        self.standard_days
    }

    /// When a request filed at `submitted` is due under the standard:
    /// [`deadline`](Self::deadline) with [`standard_days`](Self::standard_days).
    pub fn standard_deadline(&self, submitted: OffsetDateTime) -> Due {
        self.deadline(submitted, self.standard_days)
    }

    /// The instant `working_days` working days of working time after
    /// `start`: `working_days` × the working day's length, counted with
    /// [`add_working_time`](Self::add_working_time) (see the module for
    /// the edges).
    ///
    /// Tue 17 March 2026 10.00 + 3 days is Fri 27 March 10.00: 6 h on the
    /// 17th, 18–24 March off (Nyepi, Idul Fitri and their collective
    /// leave, the weekend), 8 h 30 on the 25th and the 26th, and 2 h 30 on
    /// the 27th.
    pub fn deadline(&self, start: OffsetDateTime, working_days: u32) -> Due {
        self.add_working_time(start, self.hours.day_length() * working_days)
    }

    /// The earliest instant `t` at or after `start` with `duration` of
    /// working time between `start` and `t`, in UTC.
    ///
    /// A zero `duration` gives `start` itself and is never uncertain. Time
    /// before the working hours of `start`'s day, after them, or on a day
    /// that does not work is skipped; an end that falls exactly on the end
    /// of a working day stays there. [`Due::uncertain`] is set when a
    /// weekday whose working hours were counted lies in a year with no
    /// loaded calendar.
    pub fn add_working_time(&self, start: OffsetDateTime, duration: Duration) -> Due {
        let utc = |t: OffsetDateTime| t.to_offset(UtcOffset::UTC);
        if duration.is_zero() {
            return Due {
                at: utc(start),
                uncertain: false,
            };
        }
        let mut remaining = duration;
        let mut uncertain = false;
        let mut date = start.to_offset(WIB).date();
        loop {
            let (open, close) = self.hours.window(date);
            let from = open.max(start);
            if from < close && self.is_working_day(date) {
                uncertain |= self.is_guessed(date);
                let available = (close - from).unsigned_abs();
                if remaining <= available {
                    return Due {
                        at: utc(from + remaining),
                        uncertain,
                    };
                }
                remaining -= available;
            }
            let Some(next) = date.next_day() else {
                // The end of `time`'s calendar (year 9999): nothing left
                // to count in, and no honest deadline to give.
                return Due {
                    at: utc(close),
                    uncertain: true,
                };
            };
            date = next;
        }
    }

    /// The office's working time between `from` and `to` (zero if `to` is
    /// not after `from`); see [`measure_working_time`](Self::measure_working_time)
    /// for whether it relied on an unloaded year.
    pub fn working_time(&self, from: OffsetDateTime, to: OffsetDateTime) -> Duration {
        self.measure_working_time(from, to).time
    }

    /// The office's working time between `from` and `to`, and whether a
    /// weekday counted lies in a year with no loaded calendar.
    ///
    /// Additive: for `a ≤ b ≤ c`, the time from `a` to `c` is the time
    /// from `a` to `b` plus the time from `b` to `c`; and
    /// `working_time(t, add_working_time(t, d).at) == d`.
    pub fn measure_working_time(&self, from: OffsetDateTime, to: OffsetDateTime) -> WorkingTime {
        let mut measured = WorkingTime::default();
        if to <= from {
            return measured;
        }
        let last = to.to_offset(WIB).date();
        let mut date = from.to_offset(WIB).date();
        loop {
            let (open, close) = self.hours.window(date);
            let (a, b) = (open.max(from), close.min(to));
            if a < b && self.is_working_day(date) {
                measured.uncertain |= self.is_guessed(date);
                measured.time += (b - a).unsigned_abs();
            }
            match date.next_day() {
                Some(next) if date < last => date = next,
                _ => return measured,
            }
        }
    }

    /// The working time between `from` and `to` outside `pauses` (spans
    /// `(start, end)` during which the office's clock stopped, such as a
    /// request waiting for its agency's revision).
    ///
    /// Pauses may overlap each other or reach outside `from..to`: each
    /// instant is subtracted at most once, and only within `from..to`. A
    /// pause whose end is not after its start stops nothing.
    pub fn working_time_excluding(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        pauses: &[(OffsetDateTime, OffsetDateTime)],
    ) -> Duration {
        let mut clipped: Vec<(OffsetDateTime, OffsetDateTime)> = pauses
            .iter()
            .map(|&(start, end)| (start.max(from), end.min(to)))
            .filter(|(start, end)| start < end)
            .collect();
        clipped.sort();
        let mut merged: Vec<(OffsetDateTime, OffsetDateTime)> = Vec::with_capacity(clipped.len());
        for (start, end) in clipped {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        let paused: Duration = merged
            .iter()
            .map(|&(start, end)| self.working_time(start, end))
            .sum();
        self.working_time(from, to).saturating_sub(paused)
    }

    /// Whether `date` is a weekday whose working status is assumed, its
    /// year having no loaded calendar.
    fn is_guessed(&self, date: Date) -> bool {
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
            && !self.has_year(date.year())
    }
}
