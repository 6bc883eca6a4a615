//! The admins' SLA dashboard: a month's figures per agency, the overdue
//! requests, a twelve-month chart drawn as SVG on the server, and CSV.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use crate::app::App;
use crate::model::Role;
use crate::service::reports::{self, SlaFigures, TrendPoint};
use crate::web::error::WebError;
use crate::web::i18n::Lang;
use crate::web::layout::{self, badge};
use crate::web::session::Ctx;

/// Query of the report.
#[derive(Debug, Deserialize)]
pub struct MonthParams {
    month: Option<String>,
}

/// `GET /reports`: the month's SLA report.
pub async fn sla(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(p): Query<MonthParams>,
) -> Result<Response, WebError> {
    let user = ctx.user_with(&[Role::Admin])?;
    let lang = ctx.lang;
    let t = lang.t();
    let report = reports::sla_month(&app, user, p.month.as_deref())
        .await
        .map_err(|e| WebError::service(e, lang))?;
    let month = report.month;
    let body = html! {
        h1 { (t.reports_title) ": " (month_name(lang, month)) }
        nav.pager aria-label=(t.reports_month) {
            a href={"/reports?month=" (month.previous().code())} rel="prev" { "← " (month_name(lang, month.previous())) }
            a href={"/reports?month=" (month.next().code())} rel="next" { (month_name(lang, month.next())) " →" }
        }
        form.filter method="get" action="/reports" {
            label for="month" { (t.reports_month) }
            input #month type="month" name="month" value=(month.code());
            div.actions {
                button.secondary type="submit" { (t.filter) }
                a href={"/reports/sla.csv?month=" (month.code())} { (t.export_csv) }
            }
        }
        (chart(lang, &report.trend))
        h2 { (t.reports_totals) }
        (figures_list(lang, &report.total))
        h2 { (t.reports_by_agency) }
        @if report.agencies.is_empty() { p { (t.no_requests) } } @else {
            div.table-wrap { table.cards #sla-agencies {
                thead { tr {
                    th scope="col" { (t.agency) } th scope="col" { (t.reports_received) }
                    th scope="col" { (t.reports_completed) } th scope="col" { (t.reports_within) }
                    th scope="col" { (t.reports_median_working) } th scope="col" { (t.reports_p90_working) }
                    th scope="col" { (t.reports_median_calendar) } th scope="col" { (t.reports_p90_calendar) }
                } }
                tbody { @for line in &report.agencies {
                    @let f = &line.figures;
                    tr {
                        td data-label=(t.agency) { (line.agency.code) }
                        td data-label=(t.reports_received) { (f.received) }
                        td data-label=(t.reports_completed) { (f.completed) }
                        td data-label=(t.reports_within) { (share(f)) }
                        td data-label=(t.reports_median_working) { (hours(lang, f.median_working)) }
                        td data-label=(t.reports_p90_working) { (hours(lang, f.p90_working)) }
                        td data-label=(t.reports_median_calendar) { (hours(lang, f.median_calendar)) }
                        td data-label=(t.reports_p90_calendar) { (hours(lang, f.p90_calendar)) }
                    }
                } }
            } }
        }
        h2 #overdue { (t.reports_overdue) " (" (report.overdue.len()) ")" }
        @if report.overdue.is_empty() { p { (t.reports_none_overdue) } } @else {
            div.table-wrap { table.cards {
                thead { tr { th scope="col" { (t.reference) } th scope="col" { (t.name) } th scope="col" { (t.agency) } th scope="col" { (t.state) } th scope="col" { (t.due) } } }
                tbody { @for r in &report.overdue {
                    tr.overdue {
                        td data-label=(t.reference) { a href={"/requests/" (r.id)} { (r.reference) } }
                        td data-label=(t.name) { (r.name) }
                        td data-label=(t.agency) { (report.agency_names.get(&r.agency_id).map(|a| a.code.as_str()).unwrap_or("")) }
                        td data-label=(t.state) { (lang.state(r.state)) }
                        td data-label=(t.due) { (lang.datetime(r.due_at)) " " (badge("bad", t.sla_overdue)) }
                    }
                } }
            } }
        }
        h2 #overdue-complaints { (t.reports_overdue_complaints) " (" (report.overdue_complaints.len()) ")" }
        @if report.overdue_complaints.is_empty() { p { (t.reports_none_overdue) } } @else {
            div.table-wrap { table.cards {
                thead { tr { th scope="col" { "#" } th scope="col" { (t.kind) } th scope="col" { (t.submitted_at) } th scope="col" { (t.due) } } }
                tbody { @for c in &report.overdue_complaints {
                    tr.overdue {
                        td data-label="#" { a href={"/complaints/" (c.id)} { (c.id) } }
                        td data-label=(t.kind) { (c.category.map(|k| super::complaints::category_text(t, k)).unwrap_or("")) }
                        td data-label=(t.submitted_at) { (lang.datetime(c.received_at)) }
                        td data-label=(t.due) { (c.due_at.map(|d| lang.datetime(d)).unwrap_or_default()) " " (badge("bad", t.sla_overdue)) }
                    }
                } }
            } }
        }
        p.hint { (t.reports_note) }
    };
    Ok(layout::page(&ctx, t.reports_title, None, body).into_response())
}

/// `GET /reports/sla.csv?month=`: the month's figures per agency.
pub async fn sla_csv(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(p): Query<MonthParams>,
) -> Result<Response, WebError> {
    let user = ctx.user_with(&[Role::Admin])?;
    let report = reports::sla_month(&app, user, p.month.as_deref())
        .await
        .map_err(|e| WebError::service(e, ctx.lang))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"sla-{}.csv\"", report.month.code()),
            ),
        ],
        reports::to_csv(&report),
    )
        .into_response())
}

fn figures_list(lang: Lang, f: &SlaFigures) -> Markup {
    let t = lang.t();
    html! {
        dl.facts #sla-totals {
            dt { (t.reports_received) } dd { (f.received) }
            dt { (t.reports_completed) } dd { (f.completed) }
            dt { (t.st_rejected) } dd { (f.rejected) }
            dt { (t.reports_within) } dd { (share(f)) " (" (f.within_standard) "/" (f.completed) ")" }
            dt { (t.reports_median_working) } dd { (hours(lang, f.median_working)) }
            dt { (t.reports_p90_working) } dd { (hours(lang, f.p90_working)) }
            dt { (t.reports_median_calendar) } dd { (hours(lang, f.median_calendar)) }
            dt { (t.reports_p90_calendar) } dd { (hours(lang, f.p90_calendar)) }
        }
    }
}

fn share(f: &SlaFigures) -> String {
    f.share_within()
        .map(|s| format!("{:.0} %", s * 100.0))
        .unwrap_or_else(|| "—".to_owned())
}

/// `3 j 05 m` / `3 h 05 m`.
fn hours(lang: Lang, d: Option<std::time::Duration>) -> String {
    match d {
        None => "—".to_owned(),
        Some(d) => {
            let minutes = d.as_secs() / 60;
            let h = if lang == Lang::Id { "j" } else { "h" };
            format!("{} {h} {:02} m", minutes / 60, minutes % 60)
        }
    }
}

fn month_name(lang: Lang, m: reports::ReportMonth) -> String {
    // "1 November 2026" without the day.
    let date = time::Date::from_calendar_date(m.year, m.month, 1).unwrap_or(time::Date::MIN);
    let text = lang.date(date);
    text.split_once(' ')
        .map(|(_, rest)| rest.to_owned())
        .unwrap_or(text)
}

/// Twelve months as stacked bars (done on time, done late, not done),
/// with the numbers also in a table for screen readers and printing.
fn chart(lang: Lang, trend: &[TrendPoint]) -> Markup {
    let t = lang.t();
    let (w, h, left, bottom, top) = (720.0_f64, 240.0_f64, 36.0_f64, 28.0_f64, 12.0_f64);
    let max = trend.iter().map(|p| p.received).max().unwrap_or(0).max(1);
    let plot_h = h - bottom - top;
    let slot = (w - left) / trend.len().max(1) as f64;
    let bar = slot * 0.6;
    let y = |n: usize| top + plot_h - plot_h * n as f64 / max as f64;
    html! {
        figure.chart {
            svg #sla-chart viewBox={"0 0 " (w) " " (h)} role="img" aria-labelledby="chart-title" width="100%" {
                title #chart-title { (t.reports_chart_title) }
                line x1=(left) y1=(top + plot_h) x2=(w) y2=(top + plot_h) stroke="#4a5460" {}
                text x=(left - 6.0) y=(y(max) + 4.0) text-anchor="end" font-size="11" fill="#1b1f24" { (max) }
                text x=(left - 6.0) y=(top + plot_h + 4.0) text-anchor="end" font-size="11" fill="#1b1f24" { "0" }
                @for (i, p) in trend.iter().enumerate() {
                    @let x = left + slot * i as f64 + (slot - bar) / 2.0;
                    @let open = p.received.saturating_sub(p.on_time + p.late);
                    rect x=(x) y=(y(p.on_time)) width=(bar) height=(plot_h - (y(p.on_time) - top)) fill="#116329" {
                        title { (month_name(lang, p.month)) ": " (p.on_time) " " (t.reports_on_time) }
                    }
                    rect x=(x) y=(y(p.on_time + p.late)) width=(bar) height=(y(p.on_time) - y(p.on_time + p.late)) fill="#a40e26" {
                        title { (month_name(lang, p.month)) ": " (p.late) " " (t.reports_late) }
                    }
                    rect x=(x) y=(y(p.received)) width=(bar) height=(y(p.on_time + p.late) - y(p.received)) fill="#9aa5b1" {
                        title { (month_name(lang, p.month)) ": " (open) " " (t.reports_not_done) }
                    }
                    text x=(x + bar / 2.0) y=(h - 10.0) text-anchor="middle" font-size="11" fill="#1b1f24" {
                        (p.month.code()[5..].to_owned()) "/" (p.month.code()[2..4].to_owned())
                    }
                }
            }
            figcaption {
                (badge("ok", t.reports_on_time)) " " (badge("bad", t.reports_late)) " "
                span.badge.muted { (t.reports_not_done) }
            }
            details {
                summary { (t.reports_chart_data) }
                div.table-wrap { table {
                    thead { tr { th scope="col" { (t.reports_month) } th scope="col" { (t.reports_received) } th scope="col" { (t.reports_on_time) } th scope="col" { (t.reports_late) } } }
                    tbody { @for p in trend { tr { td { (month_name(lang, p.month)) } td { (p.received) } td { (p.on_time) } td { (p.late) } } } }
                } }
            }
        }
    }
}
