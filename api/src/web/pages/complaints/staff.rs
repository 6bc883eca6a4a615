//! A complaint's page: for staff with everything and the forms to
//! classify, assign, note, respond and resolve; for the PD that filed it,
//! what it wrote and the office's responses.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::{category_text, channel_text, due_cell, paragraphs, state_badge};
use crate::app::App;
use crate::error::ServiceError;
use crate::model::{
    Complaint, ComplaintCategory, ComplaintDeadlines, ComplaintId, ComplaintState, User,
};
use crate::service::complaints::{self, ComplaintDetail, STAFF};
use crate::web::error::WebError;
use crate::web::i18n::{Lang, Text};
use crate::web::layout::{self, badge, csrf_field};
use crate::web::session::Ctx;

/// Query of the complaint's page.
#[derive(Debug, Deserialize)]
pub struct DetailParams {
    msg: Option<String>,
}

/// The notice after an action redirected back (`?msg=`).
fn notice(t: &'static Text, code: &str) -> Option<&'static str> {
    Some(match code {
        "filed" => t.complaint_filed_title,
        "recorded" => t.complaint_recorded_msg,
        "classified" => t.complaint_classified_msg,
        "assigned" => t.complaint_assigned_msg,
        "noted" => t.complaint_noted_msg,
        "answered" => t.complaint_answered_msg,
        "resolved" => t.complaint_resolved_msg,
        _ => return None,
    })
}

/// A complaint id from the path; anything else is "not found".
fn parse_id(raw: &str, lang: Lang) -> Result<ComplaintId, WebError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(ComplaintId)
        .ok_or_else(|| WebError::not_found(lang))
}

/// `GET /complaints/{id}`.
pub async fn detail(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(p): Query<DetailParams>,
) -> Result<Response, WebError> {
    let user = ctx.user()?;
    let lang = ctx.lang;
    let t = lang.t();
    let id = parse_id(&id, lang)?;
    let d = complaints::detail(&app, user, id)
        .await
        .map_err(|e| WebError::service(e, lang))?;
    let officers = if d.internal {
        complaints::assignable(&app, user)
            .await
            .map_err(|e| WebError::service(e, lang))?
    } else {
        Vec::new()
    };
    let c = &d.complaint;
    let title = format!("{} {}", t.complaints_title, c.tracking_code);
    let body = html! {
        @if let Some(text) = p.msg.as_deref().and_then(|m| notice(t, m)) {
            p.notice role="status" { (text) }
        }
        h1 { (t.complaints_title) " " span #tracking-code { (c.tracking_code) } }
        (facts(lang, &d, app.now()))
        h2 { (t.complaint_description) }
        p { (paragraphs(&c.description)) }
        h2 { (t.complaint_responses) }
        @if d.responses.is_empty() {
            p { (t.complaint_no_responses) }
        } @else {
            ol.timeline #responses {
                @for r in &d.responses {
                    li { (lang.datetime(r.at)) @if d.internal { " · " (r.author_name) } br; (paragraphs(&r.body)) }
                }
            }
        }
        @if let (Some(resolution), Some(at)) = (&c.resolution, c.resolved_at) {
            h2 { (t.complaint_resolution) }
            p { (lang.datetime(at)) }
            p #resolution { (paragraphs(resolution)) }
        }
        @if d.internal { (staff_section(&ctx, &d, &officers, &app.complaint_deadlines)) }
    };
    Ok(layout::page(&ctx, &title, None, body).into_response())
}

fn facts(lang: Lang, d: &ComplaintDetail, now: time::OffsetDateTime) -> Markup {
    let t = lang.t();
    let c = &d.complaint;
    html! {
        dl.facts {
            dt { (t.state) } dd #complaint-state { (state_badge(t, c.state)) }
            dt { (t.complaint_channel) } dd { (channel_text(t, c.channel)) }
            dt { (t.complaint_received_at) } dd { (lang.datetime(c.received_at)) }
            dt { (t.complaint_category) } dd {
                @match c.category { Some(cat) => { (category_text(t, cat)) } None => { em { (t.complaint_not_classified) } } }
            }
            dt { (t.complaint_due) } dd #complaint-due {
                (due_cell(lang, c.due_at, c.sla(now)))
                @if d.internal && c.due_uncertain { " " (badge("bad", t.due_uncertain)) }
            }
            dt { (t.complainant_name) } dd { (c.complainant_name) }
            dt { (t.complaint_contact) } dd { (c.contact) }
            @if let Some(reference) = &c.request_reference { dt { (t.complaint_reference) } dd { (reference) } }
            @if let Some(a) = &d.agency { dt { (t.agency) } dd { (a.name) " (" (a.code) ")" } }
            @if d.internal {
                dt { (t.complaint_filed_by) } dd { (d.filed_by.as_deref().unwrap_or(t.none)) }
                dt { (t.complaint_assignee) } dd #assignee { (d.assignee.as_deref().unwrap_or(t.none)) }
            }
        }
    }
}

/// Notes and the staff's forms.
fn staff_section(
    ctx: &Ctx,
    d: &ComplaintDetail,
    officers: &[User],
    deadlines: &ComplaintDeadlines,
) -> Markup {
    let lang = ctx.lang;
    let t = lang.t();
    let c = &d.complaint;
    let action = |step: &str| format!("/complaints/{}/{step}", c.id);
    let open = c.state != ComplaintState::Resolved;
    let answerable = matches!(
        c.state,
        ComplaintState::Classified | ComplaintState::Answered
    );
    html! {
        h2 { (t.complaint_notes) }
        p.hint { (t.complaint_notes_hint) }
        @if !d.notes.is_empty() {
            ol.timeline #notes {
                @for n in &d.notes { li { (lang.datetime(n.at)) " · " (n.author_name) br; (paragraphs(&n.body)) } }
            }
        }
        form method="post" action=(action("notes")) {
            (csrf_field(ctx))
            label for="note-body" { (t.note) }
            textarea #note-body name="body" required maxlength="4000" rows="3" {}
            div.actions { button.secondary type="submit" { (t.complaint_add_note) } }
        }
        @if open {
            h2 { (t.complaint_classify) }
            form method="post" action=(action("classify")) {
                (csrf_field(ctx))
                label for="category" { (t.complaint_category) span.hint { (t.complaint_classify_hint) } }
                select #category name="category" required {
                    @for cat in ComplaintCategory::ALL {
                        option value=(cat.as_str()) selected[c.category == Some(*cat)] {
                            (category_text(t, *cat)) " (" (deadlines.days(*cat)) " " (t.working_days) ")"
                        }
                    }
                }
                div.actions { button type="submit" { (t.complaint_classify) } }
            }
            h2 { (t.complaint_assign) }
            form method="post" action=(action("assign")) {
                (csrf_field(ctx))
                label for="assignee-select" { (t.complaint_assignee) }
                select #assignee-select name="assignee" {
                    option value="" { (t.none) }
                    @for u in officers {
                        option value=(u.username) selected[d.assignee.as_deref() == Some(u.username.as_str())] {
                            (u.username) " (" (lang.role(u.role)) ")"
                        }
                    }
                }
                div.actions { button.secondary type="submit" { (t.complaint_assign) } }
            }
        }
        @if answerable {
            h2 { (t.complaint_respond) }
            form method="post" action=(action("responses")) {
                (csrf_field(ctx))
                label for="response-body" { (t.complaint_responses) span.hint { (t.complaint_respond_hint) } }
                textarea #response-body name="body" required maxlength="4000" rows="4" {}
                div.actions { button type="submit" { (t.complaint_respond) } }
            }
            h2 { (t.complaint_resolve) }
            form method="post" action=(action("resolve")) {
                (csrf_field(ctx))
                label for="resolution-body" { (t.complaint_resolution) span.hint { (t.complaint_resolve_hint) } }
                textarea #resolution-body name="resolution" required maxlength="4000" rows="4" {}
                div.actions { button type="submit" { (t.complaint_resolve) } }
            }
        }
    }
}

/// Runs one staff action on complaint `raw_id` and goes back to its page
/// with `msg`.
async fn act(
    ctx: &Ctx,
    raw_id: &str,
    csrf: &str,
    msg: &str,
    step: impl AsyncFnOnce(&User, ComplaintId) -> Result<Complaint, ServiceError>,
) -> Result<Response, WebError> {
    let user = ctx.user_with(STAFF)?;
    ctx.check_csrf(csrf)?;
    let id = parse_id(raw_id, ctx.lang)?;
    step(user, id)
        .await
        .map_err(|e| WebError::service(e, ctx.lang))?;
    Ok(Redirect::to(&format!("/complaints/{id}?msg={msg}")).into_response())
}

/// The classification form.
#[derive(Debug, Deserialize)]
pub struct ClassifyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    category: String,
}

/// `POST /complaints/{id}/classify`.
pub async fn classify(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ClassifyForm>,
) -> Result<Response, WebError> {
    act(&ctx, &id, &form.csrf, "classified", async |user, id| {
        let category = form.category.parse::<ComplaintCategory>().map_err(|_| {
            ServiceError::invalid("category", "choose one of the standard's categories")
        })?;
        complaints::classify(&app, user, id, category).await
    })
    .await
}

/// The assignment form.
#[derive(Debug, Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    assignee: String,
}

/// `POST /complaints/{id}/assign`.
pub async fn assign(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<AssignForm>,
) -> Result<Response, WebError> {
    act(&ctx, &id, &form.csrf, "assigned", async |user, id| {
        complaints::assign(&app, user, id, Some(form.assignee.as_str())).await
    })
    .await
}

/// A note or a response.
#[derive(Debug, Deserialize)]
pub struct BodyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
}

/// `POST /complaints/{id}/notes`.
pub async fn note(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<BodyForm>,
) -> Result<Response, WebError> {
    act(&ctx, &id, &form.csrf, "noted", async |user, id| {
        complaints::note(&app, user, id, &form.body).await
    })
    .await
}

/// `POST /complaints/{id}/responses`.
pub async fn respond(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<BodyForm>,
) -> Result<Response, WebError> {
    act(&ctx, &id, &form.csrf, "answered", async |user, id| {
        complaints::respond(&app, user, id, &form.body).await
    })
    .await
}

/// The resolution form.
#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    resolution: String,
}

/// `POST /complaints/{id}/resolve`.
pub async fn resolve(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ResolveForm>,
) -> Result<Response, WebError> {
    act(&ctx, &id, &form.csrf, "resolved", async |user, id| {
        complaints::resolve(&app, user, id, &form.resolution).await
    })
    .await
}
