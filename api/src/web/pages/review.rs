//! The reviewer's pages: the queue by due date, and on the request page the
//! checks, the exact UPDATE and the decision (Setujui, Tolak, Minta
//! Revisi); the network admins' retry.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::requests::{parse_id, request_table};
use crate::app::App;
use crate::error::{ConflictCode, ServiceError};
use crate::model::{RequestState, Role};
use crate::service::review::{self, CheckOutcome, Preflight};
use crate::service::views::{self, ListQuery, RequestDetail};
use crate::store::RequestOrder;
use crate::web::error::WebError;
use crate::web::layout::{self, Notice, badge, csrf_field};
use crate::web::session::Ctx;

const REVIEWERS: &[Role] = &[Role::Reviewer, Role::Admin];

/// The review queue's page number.
#[derive(Debug, Deserialize)]
pub struct QueueParams {
    page: Option<i64>,
}

/// Requests on one page of the review queue.
const QUEUE_PAGE: i64 = 50;

/// `GET /review`: submitted requests, the one due first on top (the
/// database orders them by `requests_state_due`), a page at a time;
/// overdue ones marked.
pub async fn queue(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(p): Query<QueueParams>,
) -> Result<Response, WebError> {
    let user = ctx.user_with(REVIEWERS)?;
    let lang = ctx.lang;
    let t = lang.t();
    let list = views::list_requests(
        &app,
        user,
        ListQuery {
            state: Some(RequestState::Submitted.as_str().to_owned()),
            page: p.page,
            per_page: Some(QUEUE_PAGE),
            order: RequestOrder::DueFirst,
            ..ListQuery::default()
        },
    )
    .await
    .map_err(|e| WebError::service(e, lang))?;
    let body = html! {
        h1 { (t.review_queue_title) }
        @if list.page.items.is_empty() {
            p { (t.queue_empty) }
        } @else {
            (request_table(lang, &list.page.items, |r| list.agencies.get(&r.agency_id).map(|a| a.code.clone()), true, app.now()))
            (layout::pager(t, list.page_number, list.per_page, list.page.total, |n| format!("/review?page={n}")))
        }
    };
    Ok(layout::page(&ctx, t.review_queue_title, None, body).into_response())
}

fn outcome(ctx: &Ctx, label: &str, o: &CheckOutcome) -> Markup {
    let t = ctx.lang.t();
    html! {
        li {
            @match o {
                CheckOutcome::Passed => { (badge("ok", t.check_ok)) " " (label) }
                CheckOutcome::Failed(why) => { (badge("bad", t.check_failed)) " " (label) ": " (why) }
                CheckOutcome::Unknown(why) => { (badge("warn", t.check_unknown)) " " (label) ": " (why) }
            }
        }
    }
}

/// The reviewer's part of the request page.
pub fn review_section(
    ctx: &Ctx,
    detail: &RequestDetail,
    pre: &Preflight,
    key_name: &str,
) -> Markup {
    let t = ctx.lang.t();
    let id = detail.request.id;
    html! {
        section #review {
            @if detail.request.letter.is_some() {
                h2 { (t.request_letter) }
                iframe.letter-frame src={"/requests/" (id) "/letter"} title=(t.request_letter) {}
            }
            h2 #checks { (t.checks_title) }
            ul.checks {
                (outcome(ctx, t.check_name_free, &pre.name_free))
                (outcome(ctx, t.check_zone, &pre.zone))
                (outcome(ctx, t.check_records, &pre.records))
                (outcome(ctx, t.check_letter, &pre.letter))
            }
            h2 { (t.update_title) }
            p.hint { (t.update_intro) }
            p { "zone " code { (detail.plan.zone) } " · TSIG " code { (key_name) } }
            h3 { (t.prerequisites) }
            (layout::lines(&detail.plan.prerequisites))
            h3 { (t.updates) }
            (layout::lines(&detail.plan.updates))
            h2 { (t.decision) }
            form #decision method="post" action={"/requests/" (id) "/decide"} {
                (csrf_field(ctx))
                input type="hidden" name="digest" value=(detail.digest);
                input type="hidden" name="version" value=(detail.request.version);
                label for="note" { (t.note) span.hint { (t.note_hint) } }
                textarea #note name="note" maxlength="2000" {}
                div.actions {
                    button #approve type="submit" name="decision" value="approve" { (t.approve) }
                    button.secondary #request-revision type="submit" name="decision" value="revision" { (t.request_revision) }
                    button.danger #reject type="submit" name="decision" value="reject" { (t.reject) }
                }
            }
        }
    }
}

/// The decision form.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    decision: String,
    #[serde(default)]
    note: String,
    /// The digest of the plan the reviewer saw: an approval binds to it.
    #[serde(default)]
    digest: String,
}

/// `POST /requests/{id}/decide`: approve, reject or ask for a revision.
/// A double click finds the request no longer `submitted`: refused, never
/// a second update.
pub async fn decide(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, WebError> {
    let user = ctx.user_with(REVIEWERS)?;
    let lang = ctx.lang;
    ctx.check_csrf(&form.csrf)?;
    let id = parse_id(&id, lang)?;
    let note = Some(form.note.as_str()).filter(|n| !n.trim().is_empty());
    let notice = match form.decision.as_str() {
        "approve" => review::approve(&app, user, id, note, Some(&form.digest))
            .await
            .map(|_| Notice::Approved),
        "reject" => review::reject(&app, user, id, &form.note)
            .await
            .map(|_| Notice::Rejected),
        "revision" => review::request_revision(&app, user, id, &form.note)
            .await
            .map(|_| Notice::Revision),
        _ => Err(ServiceError::invalid(
            "decision",
            "must be approve, reject or revision",
        )),
    };
    let notice = match notice {
        Ok(n) => n,
        // A double click, or another reviewer first: the request is
        // settled; show where it stands rather than an error page.
        Err(ServiceError::Conflict {
            code: ConflictCode::InvalidState,
            ..
        }) => Notice::AlreadyDecided,
        Err(e) => return Err(WebError::service(e, lang)),
    };
    Ok(Redirect::to(&format!("/requests/{id}?msg={}#live", notice.code())).into_response())
}

/// The retry form.
#[derive(Debug, Deserialize)]
pub struct RetryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
}

/// `POST /requests/{id}/retry` (network admins).
pub async fn retry(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<RetryForm>,
) -> Result<Response, WebError> {
    let user = ctx.user_with(&[Role::Netadmin, Role::Admin])?;
    ctx.check_csrf(&form.csrf)?;
    let id = parse_id(&id, ctx.lang)?;
    let note = Some(form.note.as_str()).filter(|n| !n.trim().is_empty());
    review::retry(&app, user, id, note)
        .await
        .map_err(|e| WebError::service(e, ctx.lang))?;
    Ok(Redirect::to(&format!(
        "/requests/{id}?msg={}#live",
        Notice::Retried.code()
    ))
    .into_response())
}
