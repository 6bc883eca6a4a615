//! SLA reports for admins: per month and per agency, how many requests
//! came in and were completed, how long they took (working and calendar
//! time, median and 90th percentile), the share done within the standard,
//! the overdue ones, and the trend over twelve months.

use std::collections::BTreeMap;
use std::time::Duration;

use time::{Date, Month, OffsetDateTime};

use super::require_role;
use crate::app::App;
use crate::calendar::WIB;
use crate::error::ServiceError;
use crate::model::{Agency, AgencyId, Complaint, RequestState, Role, User};
use crate::store::{ComplaintFilter, SlaFacts};

/// Who may read SLA reports.
const READERS: &[Role] = &[Role::Admin];

/// A calendar month (in WIB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReportMonth {
    pub year: i32,
    pub month: Month,
}

impl ReportMonth {
    /// `2026-11`.
    pub fn parse(text: &str) -> Result<Self, ServiceError> {
        let bad = || ServiceError::invalid("month", "must be a month like 2026-11");
        let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u8 = m.parse().map_err(|_| bad())?;
        let month = Month::try_from(month).map_err(|_| bad())?;
        if !(2000..=9998).contains(&year) {
            return Err(bad());
        }
        Ok(Self { year, month })
    }

    /// The month `t` falls in, in WIB.
    pub fn of(t: OffsetDateTime) -> Self {
        let t = t.to_offset(WIB);
        Self {
            year: t.year(),
            month: t.month(),
        }
    }

    /// Its first instant (00.00 WIB on the 1st).
    pub fn start(self) -> OffsetDateTime {
        Date::from_calendar_date(self.year, self.month, 1)
            .unwrap_or(Date::MIN)
            .midnight()
            .assume_offset(WIB)
    }

    /// The month after.
    pub fn next(self) -> Self {
        match self.month {
            Month::December => Self {
                year: self.year + 1,
                month: Month::January,
            },
            m => Self {
                year: self.year,
                month: m.next(),
            },
        }
    }

    /// The month before.
    pub fn previous(self) -> Self {
        match self.month {
            Month::January => Self {
                year: self.year - 1,
                month: Month::December,
            },
            m => Self {
                year: self.year,
                month: m.previous(),
            },
        }
    }

    /// `2026-11`.
    pub fn code(self) -> String {
        format!("{}-{:02}", self.year, u8::from(self.month))
    }
}

/// The figures of a set of requests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlaFigures {
    /// Submitted in the period.
    pub received: usize,
    /// Of those, active now.
    pub completed: usize,
    /// Of those, rejected.
    pub rejected: usize,
    /// Of the completed, active by their due time.
    pub within_standard: usize,
    /// Working time from submission to active, revision pauses excluded.
    pub median_working: Option<Duration>,
    pub p90_working: Option<Duration>,
    /// Elapsed time from submission to active.
    pub median_calendar: Option<Duration>,
    pub p90_calendar: Option<Duration>,
}

impl SlaFigures {
    /// Share of the completed requests done within the standard, 0-1.
    pub fn share_within(&self) -> Option<f64> {
        (self.completed > 0).then(|| self.within_standard as f64 / self.completed as f64)
    }
}

/// One agency's line of a month.
#[derive(Debug, Clone)]
pub struct AgencyLine {
    pub agency: Agency,
    pub figures: SlaFigures,
}

/// One month of the trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrendPoint {
    pub month: ReportMonth,
    pub received: usize,
    /// Active by the due time.
    pub on_time: usize,
    /// Active after the due time.
    pub late: usize,
}

/// A month's SLA report.
#[derive(Debug, Clone)]
pub struct SlaReport {
    pub month: ReportMonth,
    pub total: SlaFigures,
    /// Agencies that filed something in the month, by code.
    pub agencies: Vec<AgencyLine>,
    /// Open requests past their due time now (any month).
    pub overdue: Vec<SlaFacts>,
    /// The twelve months ending with this one, oldest first.
    pub trend: Vec<TrendPoint>,
    /// Agency names by id (for the overdue list).
    pub agency_names: BTreeMap<AgencyId, Agency>,
    /// Complaints past their deadline now, not yet resolved.
    pub overdue_complaints: Vec<Complaint>,
}

/// The report of `month` (default: the current one) for an admin.
pub async fn sla_month(
    app: &App,
    user: &User,
    month: Option<&str>,
) -> Result<SlaReport, ServiceError> {
    require_role(user, READERS, "read SLA reports")?;
    let now = app.now();
    let month = match month.filter(|m| !m.trim().is_empty()) {
        Some(m) => ReportMonth::parse(m)?,
        None => ReportMonth::of(now),
    };
    let calendar = super::calendar::current(app.store.as_ref(), &app.calendar).await?;
    let working = |from, to, pauses: &[Span]| calendar.working_time_excluding(from, to, pauses);
    let first = (0..11).fold(month, |m, _| m.previous());
    let facts = app
        .store
        .sla_facts(first.start(), month.next().start())
        .await?;
    let agencies: BTreeMap<AgencyId, Agency> = app
        .store
        .list_agencies()
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let overdue = app.store.overdue_requests(now).await?;
    let mut report = summarize(month, &facts, agencies, overdue, &working);
    report.overdue_complaints = app
        .store
        .list_complaints(&ComplaintFilter {
            overdue_at: Some(now),
            limit: 500,
            ..ComplaintFilter::default()
        })
        .await?
        .items;
    Ok(report)
}

/// A span of time: a revision pause.
type Span = (OffsetDateTime, OffsetDateTime);

/// The office's working time between two instants outside some pauses
/// (`WorkCalendar::working_time_excluding`).
type WorkingTime<'a> = &'a dyn Fn(OffsetDateTime, OffsetDateTime, &[Span]) -> Duration;

/// The report from its facts.
pub fn summarize(
    month: ReportMonth,
    facts: &[SlaFacts],
    agencies: BTreeMap<AgencyId, Agency>,
    overdue: Vec<SlaFacts>,
    working: WorkingTime<'_>,
) -> SlaReport {
    let first = (0..11).fold(month, |m, _| m.previous());
    let mut trend: Vec<TrendPoint> = std::iter::successors(Some(first), |m| Some(m.next()))
        .take(12)
        .map(|m| TrendPoint {
            month: m,
            received: 0,
            on_time: 0,
            late: 0,
        })
        .collect();
    for f in facts {
        let m = ReportMonth::of(f.submitted_at);
        if let Some(point) = trend.iter_mut().find(|p| p.month == m) {
            point.received += 1;
            match f.active_at {
                Some(at) if at <= f.due_at => point.on_time += 1,
                Some(_) => point.late += 1,
                None => {}
            }
        }
    }
    let in_month: Vec<&SlaFacts> = facts
        .iter()
        .filter(|f| ReportMonth::of(f.submitted_at) == month)
        .collect();
    let total = figures(&in_month, working);
    let mut by_agency: BTreeMap<AgencyId, Vec<&SlaFacts>> = BTreeMap::new();
    for f in &in_month {
        by_agency.entry(f.agency_id).or_default().push(f);
    }
    let mut lines: Vec<AgencyLine> = by_agency
        .into_iter()
        .filter_map(|(id, facts)| {
            agencies.get(&id).map(|a| AgencyLine {
                agency: a.clone(),
                figures: figures(&facts, working),
            })
        })
        .collect();
    lines.sort_by(|a, b| a.agency.code.cmp(&b.agency.code));
    SlaReport {
        month,
        total,
        agencies: lines,
        overdue,
        trend,
        agency_names: agencies,
        overdue_complaints: Vec::new(),
    }
}

fn figures(facts: &[&SlaFacts], working: WorkingTime<'_>) -> SlaFigures {
    let mut work = Vec::new();
    let mut elapsed = Vec::new();
    let mut f = SlaFigures {
        received: facts.len(),
        ..SlaFigures::default()
    };
    for r in facts {
        if r.state == RequestState::Rejected {
            f.rejected += 1;
        }
        let Some(active) = r.active_at else { continue };
        f.completed += 1;
        if active <= r.due_at {
            f.within_standard += 1;
        }
        // A pause still open ends, for this count, at activation.
        let pauses: Vec<Span> = r
            .pauses
            .iter()
            .map(|(start, end)| (*start, end.unwrap_or(active)))
            .collect();
        work.push(working(r.submitted_at, active, &pauses));
        elapsed.push(Duration::try_from(active - r.submitted_at).unwrap_or_default());
    }
    work.sort();
    elapsed.sort();
    f.median_working = percentile(&work, 0.5);
    f.p90_working = percentile(&work, 0.9);
    f.median_calendar = percentile(&elapsed, 0.5);
    f.p90_calendar = percentile(&elapsed, 0.9);
    f
}

/// The nearest-rank percentile of sorted `values` (`p` in 0-1): the
/// smallest value with at least `p` of the values at or below it.
pub fn percentile(values: &[Duration], p: f64) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    let rank = (p * values.len() as f64).ceil().max(1.0) as usize;
    values.get(rank.min(values.len()) - 1).copied()
}

/// The report as CSV: one row per agency and a total row (RFC 4180;
/// durations in hours with two decimals).
pub fn to_csv(report: &SlaReport) -> String {
    let hours = |d: Option<Duration>| {
        d.map(|d| format!("{:.2}", d.as_secs_f64() / 3600.0))
            .unwrap_or_default()
    };
    let mut out = String::from(
        "month,agency,received,completed,rejected,within_standard,share_within,\
         median_working_hours,p90_working_hours,median_calendar_hours,p90_calendar_hours\r\n",
    );
    let mut row = |agency: &str, f: &SlaFigures| {
        let share = f
            .share_within()
            .map(|s| format!("{s:.3}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\r\n",
            report.month.code(),
            crate::http::audit::csv_field(agency),
            f.received,
            f.completed,
            f.rejected,
            f.within_standard,
            share,
            hours(f.median_working),
            hours(f.p90_working),
            hours(f.median_calendar),
            hours(f.p90_calendar),
        ));
    };
    for line in &report.agencies {
        row(&line.agency.code, &line.figures);
    }
    row("ALL", &report.total);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RequestId, RequestKind};
    use time::macros::datetime;

    fn agency(id: i64, code: &str) -> (AgencyId, Agency) {
        (
            AgencyId(id),
            Agency {
                id: AgencyId(id),
                code: code.to_owned(),
                name: format!("Dinas {code}"),
                email: format!("it@{code}.example"),
            },
        )
    }

    fn fact(
        id: i64,
        agency: i64,
        submitted: OffsetDateTime,
        due: OffsetDateTime,
        active: Option<OffsetDateTime>,
    ) -> SlaFacts {
        SlaFacts {
            id: RequestId(id),
            reference: format!("DNS/2026/{id:06}"),
            agency_id: AgencyId(agency),
            name: format!("n{id}.kalbarprov.go.id"),
            kind: RequestKind::Create,
            state: if active.is_some() {
                RequestState::Active
            } else {
                RequestState::Submitted
            },
            submitted_at: submitted,
            due_at: due,
            active_at: active,
            pauses: Vec::new(),
        }
    }

    /// Every instant a working one: the office's calendar is tested on
    /// its own, the figures here.
    fn elapsed(a: OffsetDateTime, b: OffsetDateTime, pauses: &[Span]) -> Duration {
        crate::calendar::WorkCalendar::empty()
            .with_hours(
                crate::calendar::WorkingHours::new(
                    time::macros::time!(00:00),
                    time::macros::time!(23:59),
                )
                .expect("hours"),
            )
            .working_time_excluding(a, b, pauses)
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<Duration> = (1..=10).map(Duration::from_secs).collect();
        assert_eq!(percentile(&v, 0.5), Some(Duration::from_secs(5)));
        assert_eq!(percentile(&v, 0.9), Some(Duration::from_secs(9)));
        assert_eq!(percentile(&v[..1], 0.9), Some(Duration::from_secs(1)));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn a_month_counts_its_own_requests_per_agency_and_in_total() {
        let nov = ReportMonth::parse("2026-11").expect("month");
        let t = datetime!(2026-11-02 03:00 UTC); // 10.00 WIB
        let h = time::Duration::hours(1);
        let facts = vec![
            // DISDIK: one on time (2 h), one late (5 h, due after 4 h).
            fact(1, 1, t, t + 4 * h, Some(t + 2 * h)),
            fact(2, 1, t, t + 4 * h, Some(t + 5 * h)),
            // DINKES: one on time (1 h), one still open.
            fact(3, 2, t, t + 4 * h, Some(t + h)),
            fact(4, 2, t, t + 4 * h, None),
            // October: only in the trend.
            fact(5, 1, datetime!(2026-10-31 16:59 UTC), t, Some(t)),
        ];
        let agencies = [agency(1, "DISDIK"), agency(2, "DINKES")]
            .into_iter()
            .collect();
        let r = summarize(nov, &facts, agencies, Vec::new(), &elapsed);
        assert_eq!(r.total.received, 4);
        assert_eq!(r.total.completed, 3);
        assert_eq!(r.total.within_standard, 2);
        assert_eq!(r.total.median_working, Some(Duration::from_secs(2 * 3600)));
        assert_eq!(r.total.p90_working, Some(Duration::from_secs(5 * 3600)));
        assert_eq!(r.agencies.len(), 2);
        assert_eq!(r.agencies[0].agency.code, "DINKES");
        assert_eq!(r.agencies[0].figures.received, 2);
        assert_eq!(r.agencies[1].figures.share_within(), Some(0.5));
        // 16.59 UTC on 31 Oct is 23.59 WIB: October's.
        let oct = r.trend[10];
        assert_eq!((oct.month.code().as_str(), oct.received), ("2026-10", 1));
        let last = r.trend[11];
        assert_eq!((last.received, last.on_time, last.late), (4, 2, 1));
        assert_eq!(r.trend[0].month.code(), "2025-12");
        let csv = to_csv(&r);
        assert!(csv.contains("2026-11,DISDIK,2,2,0,1,0.500,"), "{csv}");
        assert!(
            csv.contains("2026-11,ALL,4,3,0,2,0.667,2.00,5.00,2.00,5.00"),
            "{csv}"
        );
    }

    #[test]
    fn revision_pauses_do_not_count_as_working_time() {
        let nov = ReportMonth::parse("2026-11").expect("month");
        let t = datetime!(2026-11-02 03:00 UTC);
        let h = time::Duration::hours(1);
        let mut f = fact(1, 1, t, t + 10 * h, Some(t + 6 * h));
        f.pauses = vec![(t + h, Some(t + 4 * h))];
        let agencies = [agency(1, "DISDIK")].into_iter().collect();
        let r = summarize(nov, &[f], agencies, Vec::new(), &elapsed);
        assert_eq!(r.total.median_working, Some(Duration::from_secs(3 * 3600)));
        assert_eq!(r.total.median_calendar, Some(Duration::from_secs(6 * 3600)));
    }

    #[test]
    fn months_parse_and_step() {
        assert!(ReportMonth::parse("2026-13").is_err());
        assert!(ReportMonth::parse("nov").is_err());
        let dec = ReportMonth::parse("2026-12").expect("month");
        assert_eq!(dec.next().code(), "2027-01");
        assert_eq!(dec.next().previous(), dec);
        assert_eq!(dec.start(), datetime!(2026-11-30 17:00 UTC));
    }
}
