//! A PD's pages: "Ajukan Subdomain" (with its letter), "Permohonan Saya",
//! and the request page everyone shares, with its timeline, the letters,
//! and provisioning followed live.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::review;
use crate::app::App;
use crate::error::ServiceError;
use crate::model::{Actor, RequestId, RequestKind, RequestState, Role, SlaState, SubdomainRequest};
use crate::service::submit::{self, RequestInput};
use crate::service::views::{self, ListQuery, RequestDetail};
use crate::web::error::WebError;
use crate::web::form::{MultiForm, url_encode};
use crate::web::i18n::{Lang, Text};
use crate::web::layout::{self, Notice, badge, csrf_field, field_errors};
use crate::web::session::Ctx;

/// Rows of the records editor shown without scripts.
const EDITOR_ROWS: usize = 3;

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

/// Query of the new-request page: a change or removal starts from a
/// granted name.
#[derive(Debug, Deserialize)]
pub struct NewParams {
    kind: Option<String>,
    name: Option<String>,
}

/// What the request form shows again after an error.
#[derive(Debug, Default)]
struct Draft {
    kind: Option<RequestKind>,
    name: String,
    records: Vec<provisioner::record::RecordInput>,
    purpose: String,
    letter_number: String,
    letter_date: String,
}

/// `GET /requests/new`.
pub async fn new_page(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(p): Query<NewParams>,
) -> Result<Response, WebError> {
    ctx.user_with(&[Role::Pd])?;
    let kind = p
        .kind
        .as_deref()
        .and_then(|k| k.parse::<RequestKind>().ok());
    let mut draft = Draft {
        kind,
        name: p.name.clone().unwrap_or_default(),
        ..Draft::default()
    };
    if let (Some(RequestKind::Change), Some(name)) = (kind, &p.name)
        && let Ok(Some(granted)) = app.store.subdomain(name).await
    {
        draft.records = granted.records;
    }
    Ok(request_form(&ctx, &draft, &[], StatusCode::OK))
}

fn request_form(
    ctx: &Ctx,
    draft: &Draft,
    errors: &[(String, String)],
    status: StatusCode,
) -> Response {
    let lang = ctx.lang;
    let t = lang.t();
    let kind = draft.kind.unwrap_or(RequestKind::Create);
    let invalid = |field: &str| {
        errors
            .iter()
            .any(|(f, _)| f == field || f.starts_with(&format!("{field}[")))
    };
    let rows = draft.records.len().max(if kind == RequestKind::Remove {
        0
    } else {
        EDITOR_ROWS
    });
    let title = match kind {
        RequestKind::Create => t.new_request_title,
        RequestKind::Change => t.change_records,
        RequestKind::Remove => t.remove_subdomain,
    };
    let body = html! {
        h1 { (title) }
        p { (t.new_request_intro) }
        (field_errors(t, errors))
        form method="post" action="/requests" enctype="multipart/form-data" {
            (csrf_field(ctx))
            input type="hidden" name="kind" value=(kind.as_str());
            label for="name" { (t.name) span.hint #name-help { (t.name_hint) } }
            @if kind == RequestKind::Create {
                input #name type="text" name="name" value=(draft.name) required autocapitalize="none"
                    spellcheck="false" inputmode="url" data-availability="/names/availability"
                    aria-invalid=[invalid("name").then_some("true")]
                    aria-describedby="name-help name-status";
            } @else {
                input #name type="text" name="name" value=(draft.name) required readonly
                    aria-describedby="name-help name-status";
            }
            span.hint #name-status aria-live="polite" data-checking=(t.checking) {}
            @if kind != RequestKind::Remove {
                (records_editor(t, &draft.records, rows, errors))
            }
            label for="purpose" { (t.purpose) }
            textarea #purpose name="purpose" required maxlength="2000"
                aria-invalid=[invalid("purpose").then_some("true")] { (draft.purpose) }
            label for="letter_number" { (t.letter_number) }
            input #letter_number type="text" name="letter_number" value=(draft.letter_number) required maxlength="100"
                aria-invalid=[invalid("letter_number").then_some("true")];
            label for="letter_date" { (t.letter_date) }
            input #letter_date type="date" name="letter_date" value=(draft.letter_date) required
                aria-invalid=[invalid("letter_date").then_some("true")];
            label for="letter" { (t.letter_file) span.hint { (t.letter_file_hint) } }
            input #letter type="file" name="letter" accept="application/pdf,.pdf" required
                aria-invalid=[invalid("letter").then_some("true")];
            div.actions { button #submit-request type="submit" { (t.submit_request) } }
        }
    };
    (status, layout::page(ctx, title, None, body)).into_response()
}

/// The records editor: `rows` rows of type, value, TTL and glue, filled
/// from `records`; a script adds more rows.
fn records_editor(
    t: &Text,
    records: &[provisioner::record::RecordInput],
    rows: usize,
    errors: &[(String, String)],
) -> Markup {
    let invalid = |i: usize| {
        let field = format!("records[{i}]");
        errors.iter().any(|(f, _)| f.starts_with(&field))
    };
    html! {
        fieldset #records {
            legend { (t.records) }
            p.hint { (t.records_hint) }
            @for i in 0..rows {
                @let r = records.get(i);
                div.record-row {
                    label for={"record-type-" (i)} { (t.record_type) }
                    select #{"record-type-" (i)} name="record_type" {
                        @for ty in RECORD_TYPES {
                            option selected[r.is_some_and(|r| r.rtype.eq_ignore_ascii_case(ty))] { (ty) }
                        }
                    }
                    label for={"record-value-" (i)} { (t.record_value) }
                    input #{"record-value-" (i)} type="text" name="record_value" spellcheck="false"
                        autocapitalize="none" value=(r.map(|r| r.value.as_str()).unwrap_or(""))
                        aria-invalid=[invalid(i).then_some("true")];
                    label for={"record-ttl-" (i)} { (t.record_ttl) }
                    input #{"record-ttl-" (i)} type="number" name="record_ttl" min="60" max="86400"
                        inputmode="numeric" value=(r.and_then(|r| r.ttl).map(|v| v.to_string()).unwrap_or_default());
                    label for={"record-glue-" (i)} { "Glue (NS)" }
                    input #{"record-glue-" (i)} type="text" name="record_glue" spellcheck="false"
                        value=(r.map(|r| r.glue.join(", ")).unwrap_or_default());
                }
            }
            button.secondary #add-record type="button" hidden { (t.add_record) }
        }
    }
}

/// The types the editor offers (the record policy decides which pass).
const RECORD_TYPES: [&str; 8] = ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA"];

/// `POST /requests`: files the request and its letter together. The letter
/// is checked first, so a bad PDF files nothing.
pub async fn create(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let user = ctx.user_with(&[Role::Pd])?;
    let form = MultiForm::read(multipart)
        .await
        .map_err(|e| WebError::service(e, ctx.lang))?;
    ctx.check_csrf(form.get("csrf"))?;
    let kind = form.get("kind").parse::<RequestKind>().ok();
    let records = if kind == Some(RequestKind::Remove) {
        Ok(Vec::new())
    } else {
        form.records()
    };
    let mut draft = Draft {
        kind,
        name: form.get("name").to_owned(),
        records: Vec::new(),
        purpose: form.get("purpose").to_owned(),
        letter_number: form.get("letter_number").to_owned(),
        letter_date: form.get("letter_date").to_owned(),
    };
    let result = async {
        let records = records?;
        draft.records = records.clone();
        let bytes = form
            .letter
            .as_deref()
            .ok_or_else(|| ServiceError::invalid("letter", "choose the signed letter (PDF)"))?;
        // Validates and stores the PDF by content hash; harmless if the
        // request is then refused.
        app.letters.save(bytes)?;
        let request = submit::submit(
            &app,
            user,
            RequestInput {
                kind,
                name: draft.name.clone(),
                records,
                purpose: draft.purpose.clone(),
                letter_number: draft.letter_number.clone(),
                letter_date: draft.letter_date.clone(),
            },
        )
        .await?;
        submit::attach_letter(&app, user, request.id, bytes).await?;
        Ok::<_, ServiceError>(request)
    }
    .await;
    match result {
        Ok(request) => Ok(Redirect::to(&format!(
            "/requests/{}?msg={}",
            request.id,
            Notice::Filed.code()
        ))
        .into_response()),
        Err(e) => match field_error(&e) {
            Some((status, field)) => Ok(request_form(
                &ctx,
                &draft,
                &[(field, e.to_string())],
                status,
            )),
            None => Err(WebError::service(e, ctx.lang)),
        },
    }
}

/// The field a use case's error is about, for showing it on the form.
pub fn field_error(e: &ServiceError) -> Option<(StatusCode, String)> {
    match e {
        ServiceError::Invalid { field, .. } => {
            Some((StatusCode::UNPROCESSABLE_ENTITY, field.clone()))
        }
        ServiceError::TooLarge { field, .. } => {
            Some((StatusCode::PAYLOAD_TOO_LARGE, field.clone()))
        }
        ServiceError::UnsupportedMedia { field, .. } => {
            Some((StatusCode::UNSUPPORTED_MEDIA_TYPE, field.clone()))
        }
        ServiceError::Conflict { field, .. } => Some((
            StatusCode::CONFLICT,
            field.clone().unwrap_or_else(|| "name".to_owned()),
        )),
        _ => None,
    }
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
        @if r.state == RequestState::Active {
            h2 { (t.confirmation_letter) }
            p { a.button #confirmation-link href={"/requests/" (r.id) "/confirmation"} { (t.download_confirmation) } }
        }
    }
}

/// Provisioning and verification, server by server. While the request is
/// on its way the section carries `data-live` (the script re-fetches it);
/// once settled, `data-final`.
pub fn live_section(ctx: &Ctx, detail: &RequestDetail) -> Markup {
    let lang = ctx.lang;
    let t = lang.t();
    let r = &detail.request;
    let settled = matches!(
        r.state,
        RequestState::Active | RequestState::Failed | RequestState::Conflict
    );
    let live_url = format!("/requests/{}/live", r.id);
    html! {
        section #live aria-live="polite" data-live=[(!settled).then_some(&live_url)] data-final=[settled.then_some("1")] {
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

/// `GET /requests/{id}/revise`: the request's form, filled in, for a PD
/// asked to revise it.
pub async fn revise_page(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let user = ctx.user_with(&[Role::Pd])?;
    let id = parse_id(&id, ctx.lang)?;
    let detail = views::request_detail(&app, user, id)
        .await
        .map_err(|e| WebError::service(e, ctx.lang))?;
    let r = detail.request;
    Ok(revise_form(&ctx, &r, &r.records, &[], StatusCode::OK))
}

fn revise_form(
    ctx: &Ctx,
    r: &SubdomainRequest,
    records: &[provisioner::record::RecordInput],
    errors: &[(String, String)],
    status: StatusCode,
) -> Response {
    let t = ctx.lang.t();
    let rows = records.len().max(if r.kind == RequestKind::Remove {
        0
    } else {
        EDITOR_ROWS
    });
    let body = html! {
        h1 { (t.revise_title) ": " (r.name) }
        (field_errors(t, errors))
        form method="post" action={"/requests/" (r.id) "/revise"} {
            (csrf_field(ctx))
            @if r.kind != RequestKind::Remove {
                (records_editor(t, records, rows, &[]))
            }
            label for="purpose" { (t.purpose) }
            textarea #purpose name="purpose" required { (r.purpose) }
            label for="letter_number" { (t.letter_number) }
            input #letter_number type="text" name="letter_number" value=(r.letter_number) required;
            label for="letter_date" { (t.letter_date) }
            input #letter_date type="date" name="letter_date" value=(r.letter_date.to_string()) required;
            div.actions { button type="submit" { (t.revise_button) } }
        }
    };
    (status, layout::page(ctx, t.revise_title, None, body)).into_response()
}

/// The revision form.
#[derive(Debug, Deserialize)]
pub struct ReviseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    record_type: Vec<String>,
    #[serde(default)]
    record_value: Vec<String>,
    #[serde(default)]
    record_ttl: Vec<String>,
    #[serde(default)]
    record_glue: Vec<String>,
    purpose: String,
    letter_number: String,
    letter_date: String,
}

/// `POST /requests/{id}/revise`.
pub async fn revise(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let user = ctx.user_with(&[Role::Pd])?;
    let lang = ctx.lang;
    let id = parse_id(&id, lang)?;
    // Repeated fields (the records editor) need serde_html_form's lists.
    let form: ReviseForm = serde_html_form::from_bytes(&body)
        .map_err(|e| WebError::service(ServiceError::invalid("form", e.to_string()), lang))?;
    ctx.check_csrf(&form.csrf)?;
    let current = views::request_detail(&app, user, id)
        .await
        .map_err(|e| WebError::service(e, lang))?
        .request;
    let records = crate::web::form::records_from_rows(
        &form.record_type,
        &form.record_value,
        &form.record_ttl,
        &form.record_glue,
    );
    let shown_records = records.as_ref().map(Vec::clone).unwrap_or_default();
    let result = match records {
        Ok(records) => {
            submit::revise(
                &app,
                user,
                id,
                RequestInput {
                    kind: Some(current.kind),
                    name: current.name.clone(),
                    records,
                    purpose: form.purpose.clone(),
                    letter_number: form.letter_number.clone(),
                    letter_date: form.letter_date.clone(),
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(
            Redirect::to(&format!("/requests/{id}?msg={}", Notice::Revised.code())).into_response(),
        ),
        Err(e) => match field_error(&e) {
            Some((status, field)) => {
                let mut shown = current.clone();
                shown.purpose = form.purpose;
                shown.letter_number = form.letter_number;
                Ok(revise_form(
                    &ctx,
                    &shown,
                    &shown_records,
                    &[(field, e.to_string())],
                    status,
                ))
            }
            None => Err(WebError::service(e, lang)),
        },
    }
}

/// The availability hint's answer.
#[derive(Debug, Serialize)]
pub struct Availability {
    available: bool,
    message: String,
}

/// Query of the availability hint.
#[derive(Debug, Deserialize)]
pub struct NameQuery {
    name: String,
}

/// `GET /names/availability?name=`: whether a PD could file this name now.
pub async fn availability(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(q): Query<NameQuery>,
) -> Result<Json<Availability>, WebError> {
    let user = ctx.user_with(&[Role::Pd])?;
    Ok(Json(
        match submit::check_new_name(&app, user, &q.name).await {
            Ok(name) => Availability {
                available: true,
                message: format!("{name}: {}", ctx.lang.t().name_free),
            },
            Err(e @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
                Availability {
                    available: false,
                    message: e.to_string(),
                }
            }
            Err(e) => return Err(WebError::service(e, ctx.lang)),
        },
    ))
}

/// A request id from the path; anything else is "not found".
pub fn parse_id(raw: &str, lang: Lang) -> Result<RequestId, WebError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(RequestId)
        .ok_or_else(|| WebError::not_found(lang))
}
