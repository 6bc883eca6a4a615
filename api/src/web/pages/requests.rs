//! The request pages everyone shares: "Permohonan Saya" (or every request
//! for staff), and one request with its timeline, its letters and
//! provisioning followed live.

use std::sync::Arc;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::review;
use crate::app::App;
use crate::error::ServiceError;
use crate::model::{Actor, RequestId, RequestState, Role, SlaState, SubdomainRequest};
use crate::service::submit;
use crate::service::views::{self, ListQuery, RequestDetail};
use crate::web::error::WebError;
use crate::web::form::{MultiForm, url_encode};
use crate::web::i18n::Lang;
use crate::web::layout::{self, Notice, badge, csrf_field};
use crate::web::session::Ctx;

/// Query of the list page.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    state: Option<String>,
    page: Option<i64>,
    msg: Option<String>,
}

/// `GET /requests`: a PD's own requests, or every request for staff.
pub async fn list(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(p): Query<ListParams>,
) -> Result<Response, WebError> {
    let user = ctx.user()?;
    let lang = ctx.lang;
    let t = lang.t();
    let state = p.state.filter(|s| !s.is_empty());
    let list = views::list_requests(
        &app,
        user,
        ListQuery {
            state: state.clone(),
            page: p.page,
            per_page: Some(50),
            ..ListQuery::default()
        },
    )
    .await
    .map_err(|e| WebError::service(e, lang))?;
    let staff = user.role.is_staff();
    let title = if staff {
        t.all_requests_title
    } else {
        t.my_requests_title
    };
    let now = app.now();
    let body = html! {
        h1 { (title) }
        @if !staff { p { a.button href="/requests/new" { (t.nav_new_request) } } }
        form.filter method="get" action="/requests" {
            label for="state" { (t.state) }
            select #state name="state" {
                option value="" { (t.all) }
                @for s in RequestState::ALL {
                    option value=(s.as_str()) selected[state.as_deref() == Some(s.as_str())] { (lang.state(*s)) }
                }
            }
            div.actions { button.secondary type="submit" { (t.filter) } }
        }
        @if list.page.items.is_empty() {
            p { (t.no_requests) }
        } @else {
            (request_table(lang, &list.page.items, |r| list.agencies.get(&r.agency_id).map(|a| a.code.clone()), staff, now))
            (layout::pager(t, list.page_number, list.per_page, list.page.total, |n| match state.as_deref() {
                Some(s) => format!("/requests?state={}&page={n}", url_encode(s)),
                None => format!("/requests?page={n}"),
            }))
        }
    };
    let notice = p.msg.as_deref().and_then(Notice::parse);
    Ok(layout::page(&ctx, title, notice, body).into_response())
}

/// A table of requests; on a phone each row becomes a card.
pub fn request_table(
    lang: Lang,
    requests: &[SubdomainRequest],
    agency_code: impl Fn(&SubdomainRequest) -> Option<String>,
    show_agency: bool,
    now: time::OffsetDateTime,
) -> Markup {
    let t = lang.t();
    html! {
        div.table-wrap {
            table.cards {
                thead { tr {
                    th scope="col" { (t.reference) }
                    th scope="col" { (t.name) }
                    th scope="col" { (t.kind) }
                    @if show_agency { th scope="col" { (t.agency) } }
                    th scope="col" { (t.state) }
                    th scope="col" { (t.progress) }
                    th scope="col" { (t.submitted_at) }
                    th scope="col" { (t.due) }
                } }
                tbody {
                    @for r in requests {
                        @let sla = SlaState::of(r.state, r.due_at, r.updated_at, now);
                        tr class=[(sla == SlaState::Overdue).then_some("overdue")] {
                            td data-label=(t.reference) { a href={"/requests/" (r.id)} { (r.reference) } }
                            td data-label=(t.name) { (r.name) }
                            td data-label=(t.kind) { (lang.kind(r.kind)) }
                            @if show_agency { td data-label=(t.agency) { (agency_code(r).unwrap_or_default()) } }
                            td data-label=(t.state) { (state_badge(lang, r.state)) }
                            td data-label=(t.progress) { (progress(lang, r.state)) }
                            td data-label=(t.submitted_at) { (lang.datetime(r.submitted_at)) }
                            // Tables with the agency column are staff's.
                            td data-label=(t.due) { (lang.datetime(r.due_at)) " " (sla_badge(lang, sla)) (uncertain_due_badge(lang, r, show_agency)) }
                        }
                    }
                }
            }
        }
    }
}

/// A warning after the due time of `r` when it relies on a year with no
/// loaded holiday calendar, for `staff` only: they can load the year; a PD
/// can do nothing about it.
fn uncertain_due_badge(lang: Lang, r: &SubdomainRequest, staff: bool) -> Markup {
    html! {
        @if staff && r.due_uncertain { " " (badge("bad", lang.t().due_uncertain)) }
    }
}

/// The state as a coloured badge (colour is never the only cue: the word
/// is there).
pub fn state_badge(lang: Lang, s: RequestState) -> Markup {
    let class = match s {
        RequestState::Active => "ok",
        RequestState::Rejected | RequestState::Failed | RequestState::Conflict => "bad",
        RequestState::RevisionRequested => "warn",
        _ => "info",
    };
    badge(class, lang.state(s))
}

/// Where a request stands against its due time, as a badge.
pub fn sla_badge(lang: Lang, s: SlaState) -> Markup {
    let class = match s {
        SlaState::Overdue | SlaState::Late => "bad",
        SlaState::DueToday | SlaState::Paused => "warn",
        SlaState::OnTime | SlaState::Met => "ok",
    };
    badge(class, lang.sla(s))
}

/// The four steps of the service standard (filed, reviewed, written,
/// active) as a progress bar.
fn progress(lang: Lang, s: RequestState) -> Markup {
    let step = match s {
        RequestState::Submitted | RequestState::RevisionRequested => 1,
        RequestState::Approved | RequestState::Rejected => 2,
        RequestState::Provisioning
        | RequestState::Verifying
        | RequestState::Conflict
        | RequestState::Failed => 3,
        RequestState::Active => 4,
    };
    html! { progress max="4" value=(step) aria-label=(lang.t().progress) { (step) "/4" } }
}

/// Query of the detail page.
#[derive(Debug, Deserialize)]
pub struct DetailParams {
    msg: Option<String>,
}

/// `GET /requests/{id}`: the request, its timeline and letters; for a
/// reviewer the checks, the exact UPDATE and the decision; provisioning
/// followed live once approved.
pub async fn detail(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(p): Query<DetailParams>,
) -> Result<Response, WebError> {
    let user = ctx.user()?;
    let lang = ctx.lang;
    let id = parse_id(&id, lang)?;
    let detail = views::request_detail(&app, user, id)
        .await
        .map_err(|e| WebError::service(e, lang))?;
    let t = lang.t();
    let r = &detail.request;
    let reviewing = r.state == RequestState::Submitted && ctx.is(&[Role::Reviewer, Role::Admin]);
    let preflight = if reviewing {
        Some(
            crate::service::review::preflight(&app, user, id)
                .await
                .map_err(|e| WebError::service(e, lang))?,
        )
    } else {
        None
    };
    let sla = SlaState::of(r.state, r.due_at, r.updated_at, app.now());
    let body = html! {
        h1 { (r.name) }
        dl.facts {
            dt { (t.reference) } dd { (r.reference) }
            dt { (t.agency) } dd { (detail.agency.name) " (" (detail.agency.code) ")" }
            dt { (t.kind) } dd { (lang.kind(r.kind)) }
            dt { (t.state) } dd #request-state { (state_badge(lang, r.state)) }
            dt { (t.due) } dd { (lang.datetime(r.due_at)) " " (sla_badge(lang, sla)) (uncertain_due_badge(lang, r, user.role.is_staff())) }
            dt { (t.purpose) } dd { (r.purpose) }
            dt { (t.letter_number) } dd { (r.letter_number) " · " (lang.date(r.letter_date)) }
            dt { (t.records) } dd { (layout::lines(&r.records.iter().map(views::record_line).collect::<Vec<_>>())) }
        }
        @if let Some(reason) = &r.state_reason { p.error { (t.reason) ": " (reason) } }
        @if !matches!(r.state, RequestState::Submitted | RequestState::RevisionRequested | RequestState::Rejected) {
            (live_section(&ctx, &detail))
        }
        @if r.state == RequestState::RevisionRequested && ctx.is(&[Role::Pd]) {
            p { a.button href={"/requests/" (r.id) "/revise"} { (t.revise_title) } }
        }
        @if let Some(pre) = &preflight { (review::review_section(&ctx, &detail, pre, &app.target.key.name.to_string())) }
        (letter_section(&ctx, r))
        h2 { (t.timeline) }
        ol.timeline {
            @for step in &detail.transitions {
                li {
                    strong { (lang.state(step.to)) } " · " (lang.datetime(step.at)) " · "
                    @match step.actor { Actor::System => { (t.by_system) } Actor::User(_) => { (step.actor_name.clone().unwrap_or_default()) } }
                    @if let Some(note) = &step.note { br; em { (note) } }
                }
            }
        }
    };
    let notice = p.msg.as_deref().and_then(Notice::parse);
    let following = matches!(
        r.state,
        RequestState::Approved | RequestState::Provisioning | RequestState::Verifying
    );
    let page = if following {
        layout::live_page(&ctx, &r.name, notice, body)
    } else {
        layout::page(&ctx, &r.name, notice, body)
    };
    Ok(page.into_response())
}

fn letter_section(ctx: &Ctx, r: &SubdomainRequest) -> Markup {
    let t = ctx.lang.t();
    let pd_may_upload = ctx.is(&[Role::Pd])
        && matches!(
            r.state,
            RequestState::Submitted | RequestState::RevisionRequested
        );
    html! {
        h2 { (t.request_letter) }
        @if r.letter.is_some() {
            p { a href={"/requests/" (r.id) "/letter"} target="_blank" rel="noopener" { (t.download) " PDF" } }
        } @else {
            p.error { (t.no_letter) }
        }
        @if pd_may_upload {
            form method="post" action={"/requests/" (r.id) "/letter"} enctype="multipart/form-data" {
                (csrf_field(ctx))
                label for="letter" { (t.letter_file) span.hint { (t.letter_file_hint) } }
                input #letter type="file" name="letter" accept="application/pdf,.pdf" required;
                div.actions { button.secondary type="submit" { (t.upload_letter) } }
            }
        }
        // Offered once it exists: a letter that could not be rendered is
        // never linked to a "not found".
        @if r.state == RequestState::Active && r.confirmation.is_some() {
            h2 { (t.confirmation_letter) }
            p { a.button #confirmation-link href={"/requests/" (r.id) "/confirmation"} { (t.download_confirmation) } }
        }
    }
}

/// How long after activation a page waits for the confirmation letter
/// before it stops looking (the letter could not be made).
const LETTER_GRACE: time::Duration = time::Duration::seconds(30);

/// Provisioning and verification, server by server. While the request is
/// on its way the section carries `data-live` (the script re-fetches it);
/// once settled, `data-final`.
pub fn live_section(ctx: &Ctx, detail: &RequestDetail) -> Markup {
    let lang = ctx.lang;
    let t = lang.t();
    let r = &detail.request;
    // The confirmation letter follows activation within moments: the
    // section stays live until it is there (or plainly is not coming),
    // and the page then reloads once to offer it.
    let letter_due = r.state == RequestState::Active
        && r.confirmation.is_none()
        && crate::app::now() - r.updated_at < LETTER_GRACE;
    let settled = matches!(
        r.state,
        RequestState::Active | RequestState::Failed | RequestState::Conflict
    ) && !letter_due;
    let live_url = format!("/requests/{}/live", r.id);
    html! {
        section #live aria-live="polite" data-live=[(!settled).then_some(&live_url)] data-final=[settled.then_some("1")] data-reload=[settled.then_some("1")] {
            h2 { (t.live_title) }
            p #live-state {
                (state_badge(lang, r.state)) " "
                @match r.state {
                    RequestState::Active => { (t.live_active) }
                    RequestState::Failed | RequestState::Conflict => { (t.live_failed_help) }
                    _ => { (t.live_waiting) }
                }
            }
            @if !detail.checks.is_empty() {
                div.table-wrap { table.cards {
                    thead { tr { th scope="col" { (t.server) } th scope="col" { (t.state) } th scope="col" { (t.answer) } th scope="col" { (t.checked_at) } } }
                    tbody { @for c in &detail.checks {
                        tr {
                            td data-label=(t.server) { code { (c.server) } }
                            td data-label=(t.state) { @if c.matches { (badge("ok", t.matches)) } @else { (badge("warn", t.differs)) } }
                            td data-label=(t.answer) { (check_answer(&c.report)) }
                            td data-label=(t.checked_at) { (lang.datetime(c.checked_at)) }
                        }
                    } }
                } }
            }
            @if !detail.attempts.is_empty() {
                h3 { (t.attempts) }
                @for a in &detail.attempts {
                    details {
                        summary { (lang.datetime(a.started_at)) " → " code { (a.server) } " · " (t.rcode) ": " strong { (a.rcode.clone().unwrap_or_else(|| a.outcome.as_str().to_owned())) } }
                        p { "TSIG: " code { (a.key_name) } @if let Some(s) = a.serial_after { " · SOA " (s) } }
                        @if let Some(d) = &a.detail { p { (d) } }
                        (layout::lines(&a.message))
                    }
                }
            }
            @if r.state == RequestState::Failed && ctx.is(&[Role::Netadmin, Role::Admin]) {
                form method="post" action={"/requests/" (r.id) "/retry"} {
                    (csrf_field(ctx))
                    label for="retry-note" { (t.note) }
                    input #retry-note type="text" name="note" maxlength="2000";
                    div.actions { button type="submit" { (t.retry) } }
                }
            }
        }
    }
}

/// One server's stored answer: its records, serial, and why it differs.
fn check_answer(report: &serde_json::Value) -> Markup {
    let answer: Vec<String> = report["answer"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let why = report["reason"].as_str().or(report["error"].as_str());
    html! {
        @if let Some(serial) = report["serial"].as_u64() { "SOA " (serial) br; }
        @for line in &answer { code { (line) } br; }
        @if let Some(why) = why { em { (why) } }
    }
}

/// `GET /requests/{id}/live`: the live section alone, for the script.
pub async fn live(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let user = ctx.user()?;
    let id = parse_id(&id, ctx.lang)?;
    let detail = views::request_detail(&app, user, id)
        .await
        .map_err(|e| WebError::service(e, ctx.lang))?;
    Ok(live_section(&ctx, &detail).into_response())
}

/// `GET /requests/{id}/letter`: the signed letter, shown inline.
pub async fn letter(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let user = ctx.user()?;
    let id = parse_id(&id, ctx.lang)?;
    let bytes = views::letter(&app, user, id)
        .await
        .map_err(|e| WebError::service(e, ctx.lang))?;
    Ok(pdf(bytes, "inline", &format!("surat-permintaan-{id}.pdf")))
}

/// `GET /requests/{id}/confirmation`: the confirmation letter, downloaded.
pub async fn confirmation(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let user = ctx.user()?;
    let id = parse_id(&id, ctx.lang)?;
    let bytes = views::confirmation(&app, user, id)
        .await
        .map_err(|e| WebError::service(e, ctx.lang))?;
    Ok(pdf(bytes, "attachment", &format!("konfirmasi-{id}.pdf")))
}

fn pdf(bytes: Vec<u8>, disposition: &str, file: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("{disposition}; filename=\"{file}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `POST /requests/{id}/letter`: (re)uploads the signed letter.
pub async fn upload_letter(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let user = ctx.user_with(&[Role::Pd])?;
    let id = parse_id(&id, ctx.lang)?;
    let form = MultiForm::read(multipart)
        .await
        .map_err(|e| WebError::service(e, ctx.lang))?;
    ctx.check_csrf(form.get("csrf"))?;
    let bytes = form.letter.as_deref().ok_or_else(|| {
        WebError::service(
            ServiceError::invalid("letter", "choose the signed letter (PDF)"),
            ctx.lang,
        )
    })?;
    submit::attach_letter(&app, user, id, bytes)
        .await
        .map_err(|e| WebError::service(e, ctx.lang))?;
    Ok(Redirect::to(&format!(
        "/requests/{id}?msg={}",
        Notice::LetterUploaded.code()
    ))
    .into_response())
}

/// A request id from the path; anything else is "not found".
pub fn parse_id(raw: &str, lang: Lang) -> Result<RequestId, WebError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(RequestId)
        .ok_or_else(|| WebError::not_found(lang))
}
