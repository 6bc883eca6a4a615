//! The network admins' audit log (filters, pages, exports) and zone drift
//! (findings, adopt, restore).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use crate::app::App;
use crate::error::ServiceError;
use crate::model::{DriftState, Role};
use crate::service::audit::{self, AuditQuery};
use crate::service::drift;
use crate::web::error::WebError;
use crate::web::form::url_encode;
use crate::web::layout::{self, Notice, badge, csrf_field};
use crate::web::session::Ctx;

const NETWORK: &[Role] = &[Role::Netadmin, Role::Admin];
const PER_PAGE: i64 = 50;

/// `GET /audit`: the log, newest first, with the API's filters.
pub async fn audit_log(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(mut q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    let user = ctx.user_with(NETWORK)?;
    let lang = ctx.lang;
    let t = lang.t();
    q.per_page = Some(PER_PAGE);
    let page_no = q.page.unwrap_or(1).max(1);
    let result = async {
        let filter = audit::filter(app.store.as_ref(), &q).await?;
        audit::page(app.store.as_ref(), user, &filter).await
    }
    .await;
    let (entries, error) = match result {
        Ok(p) => (Some(p), None),
        Err(e @ ServiceError::Invalid { .. }) => (None, Some(e.to_string())),
        Err(e) => return Err(WebError::service(e, lang)),
    };
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let query = filter_query(&q);
    let body = html! {
        h1 { (t.audit_title) }
        p { (t.audit_intro) }
        form.filter method="get" action="/audit" {
            label for="f-from" { (t.from) span.hint { "2026-11-28" } } input #f-from type="text" name="from" value=(value(&q.from));
            label for="f-to" { (t.to) } input #f-to type="text" name="to" value=(value(&q.to));
            label for="f-agency" { (t.agency) } input #f-agency type="text" name="agency" value=(value(&q.agency));
            label for="f-name" { (t.name) } input #f-name type="text" name="name" value=(value(&q.name));
            label for="f-actor" { (t.actor) span.hint { "user:NAME, system, console:NAME, anonymous" } } input #f-actor type="text" name="actor" value=(value(&q.actor));
            label for="f-action" { (t.action) span.hint { "request, dns, auth, drift, request.approved…" } } input #f-action type="text" name="action" value=(value(&q.action));
            div.actions {
                button.secondary type="submit" { (t.filter) }
                a href={"/audit/export?format=csv" (query)} { (t.export_csv) }
                a href={"/audit/export?format=jsonl" (query)} { (t.export_jsonl) }
            }
        }
        @if let Some(e) = &error { p.error role="alert" { (e) } }
        @if let Some(p) = &entries {
            div.table-wrap { table.cards {
                thead { tr { th scope="col" { "#" } th scope="col" { (t.at) } th scope="col" { (t.actor) } th scope="col" { (t.action) } th scope="col" { (t.subject) } th scope="col" { (t.details) } } }
                tbody { @for e in &p.items {
                    tr {
                        td data-label="#" { (e.seq) }
                        td data-label=(t.at) { (lang.datetime(e.at)) }
                        td data-label=(t.actor) { (e.actor) }
                        td data-label=(t.action) { code { (e.action) } }
                        td data-label=(t.subject) {
                            @if let Some(n) = &e.name { (n) }
                            @if let Some(r) = e.request_id { " " a href={"/requests/" (r)} { "#" (r) } }
                        }
                        td data-label=(t.details) { details { summary { (t.details) } pre { (serde_json::to_string_pretty(&e.detail).unwrap_or_default()) } } }
                    }
                } }
            } }
            (layout::pager(t, page_no, PER_PAGE, p.total, |n| format!("/audit?page={n}{query}")))
        }
    };
    Ok(layout::page(&ctx, t.audit_title, None, body).into_response())
}

/// The filters as `&k=v` pairs, for pager and export links.
fn filter_query(q: &AuditQuery) -> String {
    [
        ("from", &q.from),
        ("to", &q.to),
        ("agency", &q.agency),
        ("name", &q.name),
        ("actor", &q.actor),
        ("action", &q.action),
    ]
    .iter()
    .filter_map(|(k, v)| {
        v.as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| format!("&{k}={}", url_encode(v)))
    })
    .collect()
}

/// The export format.
#[derive(Debug, Deserialize)]
pub struct ExportFormat {
    format: String,
}

/// `GET /audit/export?format=csv|jsonl&…`: every matching entry.
pub async fn export(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(q): Query<AuditQuery>,
    Query(f): Query<ExportFormat>,
) -> Result<Response, WebError> {
    let user = ctx.user_with(NETWORK)?;
    let lang = ctx.lang;
    let entries = async {
        let filter = audit::filter(app.store.as_ref(), &q).await?;
        audit::export(app.store.as_ref(), user, &filter).await
    }
    .await
    .map_err(|e| WebError::service(e, lang))?;
    Ok(match f.format.as_str() {
        "csv" => crate::http::audit::download(
            "text/csv; charset=utf-8",
            "audit.csv",
            crate::http::audit::to_csv(&entries),
        ),
        "jsonl" => {
            let mut body = String::new();
            for e in &entries {
                body.push_str(&serde_json::to_string(e).unwrap_or_default());
                body.push('\n');
            }
            crate::http::audit::download("application/jsonl", "audit.jsonl", body)
        }
        _ => {
            return Err(WebError::service(
                ServiceError::invalid("format", "must be csv or jsonl"),
                lang,
            ));
        }
    })
}

/// Query of the drift page.
#[derive(Debug, Deserialize)]
pub struct DriftParams {
    msg: Option<String>,
    all: Option<String>,
}

/// `GET /drift`: open findings (or all), and the last run.
pub async fn drift_page(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(p): Query<DriftParams>,
) -> Result<Response, WebError> {
    let user = ctx.user_with(NETWORK)?;
    let lang = ctx.lang;
    let t = lang.t();
    let (findings, run) = drift::findings(app.store.as_ref(), user, p.all.is_none())
        .await
        .map_err(|e| WebError::service(e, lang))?;
    let body = html! {
        h1 { (t.drift_title) }
        p { (t.drift_intro) }
        @if let Some(run) = &run {
            p { (t.drift_last_run) ": " (lang.datetime(run.at))
                @if let Some(s) = run.primary_serial { " · SOA " (s) }
                @if let Some(e) = &run.error { " · " (badge("bad", t.check_failed)) " " (e) } }
        }
        p { a href="/drift?all=1" { (t.all) } }
        @if findings.is_empty() { p { (t.drift_none) } }
        @for f in &findings {
            article.finding {
                h2 { (f.subject) " " (badge(if f.state == DriftState::Open { "bad" } else { "ok" }, f.state.as_str())) }
                p { (t.drift_kind) ": " code { (f.kind) } " · " (t.first_seen) ": " (lang.datetime(f.first_seen_at)) }
                pre { (serde_json::to_string_pretty(&f.detail).unwrap_or_default()) }
                @if f.state == DriftState::Open && f.kind == "changed" {
                    div.actions {
                        form method="post" action={"/drift/" (f.id) "/adopt"} {
                            (csrf_field(&ctx))
                            button.secondary type="submit" { (t.drift_adopt) }
                        }
                        form method="post" action={"/drift/" (f.id) "/restore"} {
                            (csrf_field(&ctx))
                            button type="submit" { (t.drift_restore) }
                        }
                    }
                }
            }
        }
    };
    let notice = p.msg.as_deref().and_then(Notice::parse);
    Ok(layout::page(&ctx, t.drift_title, notice, body).into_response())
}

/// The CSRF-only form of the drift buttons.
#[derive(Debug, Deserialize)]
pub struct DriftForm {
    #[serde(default)]
    csrf: String,
    note: Option<String>,
}

/// `POST /drift/{id}/adopt`.
pub async fn adopt(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<DriftForm>,
) -> Result<Response, WebError> {
    let user = ctx.user_with(NETWORK)?;
    ctx.check_csrf(&form.csrf)?;
    drift::adopt(
        app.store.as_ref(),
        &app.target,
        app.timing.dns_timeout,
        user,
        id,
        form.note.as_deref(),
    )
    .await
    .map_err(|e| WebError::service(e, ctx.lang))?;
    Ok(Redirect::to(&format!("/drift?msg={}", Notice::Adopted.code())).into_response())
}

/// `POST /drift/{id}/restore`.
pub async fn restore(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<DriftForm>,
) -> Result<Response, WebError> {
    let user = ctx.user_with(NETWORK)?;
    ctx.check_csrf(&form.csrf)?;
    let request = drift::restore(&app, user, id, form.note.as_deref())
        .await
        .map_err(|e| WebError::service(e, ctx.lang))?;
    Ok(Redirect::to(&format!(
        "/requests/{}?msg={}",
        request.id,
        Notice::Restored.code()
    ))
    .into_response())
}
