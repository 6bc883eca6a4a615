//! The network admins' pages: provisioning jobs with every UPDATE and the
//! servers' answers (and a retry for failed ones), and the managed
//! subdomains with owner, records, last change and history.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::requests::{live_section, state_badge};
use crate::app::App;
use crate::model::{RequestKind, RequestState, Role};
use crate::service::views::{self, ListQuery};
use crate::web::error::WebError;
use crate::web::layout::{self, Notice};
use crate::web::session::Ctx;

/// States a network admin watches: on the way, or stopped.
const WATCHED: &[RequestState] = &[
    RequestState::Approved,
    RequestState::Provisioning,
    RequestState::Verifying,
    RequestState::Failed,
    RequestState::Conflict,
];

/// Query of pages that show a notice.
#[derive(Debug, Deserialize)]
pub struct MsgParams {
    msg: Option<String>,
}

/// `GET /jobs`: requests being provisioned or stopped, each with its
/// attempts and the servers' latest answers.
pub async fn jobs(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(p): Query<MsgParams>,
) -> Result<Response, WebError> {
    let user = ctx.user_with(&[Role::Netadmin, Role::Admin])?;
    let lang = ctx.lang;
    let t = lang.t();
    let mut details = Vec::new();
    for state in WATCHED {
        let list = views::list_requests(
            &app,
            user,
            ListQuery {
                state: Some(state.as_str().to_owned()),
                per_page: Some(50),
                ..ListQuery::default()
            },
        )
        .await
        .map_err(|e| WebError::service(e, lang))?;
        for r in list.page.items {
            details.push(
                views::request_detail(&app, user, r.id)
                    .await
                    .map_err(|e| WebError::service(e, lang))?,
            );
        }
    }
    let body = html! {
        h1 { (t.jobs_title) }
        p { (t.jobs_intro) }
        @if details.is_empty() { p { (t.no_jobs) } }
        @for d in &details {
            article.job {
                h2 { a href={"/requests/" (d.request.id)} { (d.request.reference) " · " (d.request.name) } " " (state_badge(lang, d.request.state)) }
                (live_section(&ctx, d))
            }
        }
    };
    let notice = p.msg.as_deref().and_then(Notice::parse);
    Ok(layout::page(&ctx, t.jobs_title, notice, body).into_response())
}

/// Query of the catalogue.
#[derive(Debug, Deserialize)]
pub struct PageParams {
    page: Option<i64>,
}

/// `GET /subdomains`: the catalogue (a PD sees its own names).
pub async fn subdomains(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(p): Query<PageParams>,
) -> Result<Response, WebError> {
    let user = ctx.user()?;
    let lang = ctx.lang;
    let t = lang.t();
    let (list, agencies) = views::list_subdomains(&app, user, p.page, Some(100))
        .await
        .map_err(|e| WebError::service(e, lang))?;
    let body = html! {
        h1 { (t.subdomains_title) }
        @if list.items.is_empty() { p { (t.no_subdomains) } } @else {
            div.table-wrap { table.cards {
                thead { tr { th scope="col" { (t.name) } th scope="col" { (t.owner) } th scope="col" { (t.records) } th scope="col" { (t.last_change) } } }
                tbody { @for s in &list.items {
                    tr {
                        td data-label=(t.name) { a href={"/subdomains/" (s.name)} { (s.name) } }
                        td data-label=(t.owner) { @match s.agency_id.and_then(|a| agencies.get(&a)) { Some(a) => { (a.code) } None => { em { (t.unassigned) } } } }
                        td data-label=(t.records) { @for r in &s.records { code { (views::record_line(r)) } br; } }
                        td data-label=(t.last_change) {
                            (lang.datetime(s.updated_at))
                            @if let Some(id) = s.request_id { " · " a href={"/requests/" (id)} { "#" (id) } }
                        }
                    }
                } }
            } }
        }
    };
    Ok(layout::page(&ctx, t.subdomains_title, None, body).into_response())
}

/// `GET /subdomains/{name}`: what every server answers now, the history,
/// and for the owning PD the change and removal requests.
pub async fn subdomain(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> Result<Response, WebError> {
    let user = ctx.user()?;
    let lang = ctx.lang;
    let t = lang.t();
    let detail = views::subdomain_detail(&app, user, &name)
        .await
        .map_err(|e| WebError::service(e, lang))?;
    let history = views::subdomain_history(&app, user, &name)
        .await
        .unwrap_or_default();
    let s = &detail.subdomain;
    let owner = ctx.is(&[Role::Pd]) && s.agency_id.is_some() && s.agency_id == user.agency_id;
    let body = html! {
        h1 { (s.name) }
        dl.facts {
            dt { (t.owner) } dd { @match &detail.agency { Some(a) => { (a.name) " (" (a.code) ")" } None => { em { (t.unassigned) } } } }
            dt { (t.records) } dd { (layout::lines(&s.records.iter().map(views::record_line).collect::<Vec<_>>())) }
            dt { (t.last_change) } dd { (lang.datetime(s.updated_at)) }
        }
        @if owner {
            div.actions {
                a.button href={"/requests/new?kind=" (RequestKind::Change.as_str()) "&name=" (s.name)} { (t.change_records) }
                a.button href={"/requests/new?kind=" (RequestKind::Remove.as_str()) "&name=" (s.name)} { (t.remove_subdomain) }
            }
        }
        h2 { (t.check_title) }
        div.table-wrap { table.cards {
            thead { tr { th scope="col" { (t.server) } th scope="col" { (t.state) } th scope="col" { (t.answer) } } }
            tbody { @for r in &detail.servers {
                tr {
                    td data-label=(t.server) { code { (r.server) } }
                    td data-label=(t.state) { @if r.matches() { (layout::badge("ok", t.matches)) } @else { (layout::badge("warn", t.differs)) } }
                    td data-label=(t.answer) { @for a in &r.answer { code { (a) } br; } }
                }
            } }
        } }
        @if !history.is_empty() {
            h2 { (t.history) }
            ol.timeline { @for h in &history {
                li {
                    strong { (lang.datetime(h.version.at)) } " · " (h.version.source.as_str())
                    @if let Some(by) = &h.version.approved_by { " · " (by) }
                    @if let Some(serial) = h.version.serial { " · SOA " (serial) }
                    @if let Some(id) = h.version.request_id { " · " a href={"/requests/" (id)} { "#" (id) } }
                    @for a in &h.added { br; code { "+ " (a) } }
                    @for r in &h.removed { br; code { "− " (r) } }
                }
            } }
        }
    };
    Ok(layout::page(&ctx, &s.name, None, body).into_response())
}
