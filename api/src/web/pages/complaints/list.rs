//! The list of complaints: every complaint for staff (open first, nearest
//! deadline first, overdue ones highlighted), its agency's for a PD.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::{category_text, channel_text, due_cell, state_badge, state_text};
use crate::app::App;
use crate::model::{ComplaintState, SlaState};
use crate::service::complaints::{self, ComplaintQuery};
use crate::web::error::WebError;
use crate::web::form::url_encode;
use crate::web::layout::{self, badge};
use crate::web::session::Ctx;

/// Query of the list.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    state: Option<String>,
    /// Any value: past their deadline only.
    overdue: Option<String>,
    page: Option<i64>,
}

/// `GET /complaints`: every complaint for staff (open ones first, nearest
/// deadline first, overdue highlighted), its agency's for a PD.
pub async fn list(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(p): Query<ListParams>,
) -> Result<Response, WebError> {
    let user = ctx.user()?;
    let lang = ctx.lang;
    let t = lang.t();
    let state = p.state.filter(|s| !s.is_empty());
    let overdue = p.overdue.is_some_and(|o| !o.is_empty());
    let list = complaints::list(
        &app,
        user,
        ComplaintQuery {
            state: state.clone(),
            overdue,
            page: p.page,
            per_page: Some(50),
        },
    )
    .await
    .map_err(|e| WebError::service(e, lang))?;
    let staff = user.role.is_staff();
    let title = if staff {
        t.complaints_title
    } else {
        t.complaints_agency_title
    };
    let now = app.now();
    let body = html! {
        h1 { (title) }
        p { a.button href="/complaints/new" {
            @if staff { (t.complaint_record_title) } @else { (t.complaint_new_title) }
        } }
        form.filter method="get" action="/complaints" {
            label for="state" { (t.state) }
            select #state name="state" {
                option value="" { (t.all) }
                @for s in ComplaintState::ALL {
                    option value=(s.as_str()) selected[state.as_deref() == Some(s.as_str())] { (state_text(t, *s)) }
                }
            }
            label { input type="checkbox" name="overdue" value="1" checked[overdue]; " " (t.complaints_overdue_only) }
            div.actions { button.secondary type="submit" { (t.filter) } }
        }
        @if list.page.items.is_empty() {
            p { (t.complaints_none) }
        } @else {
            div.table-wrap { table.cards {
                thead { tr {
                    th scope="col" { (t.tracking_code) }
                    @if staff { th scope="col" { (t.complainant_name) } }
                    th scope="col" { (t.complaint_channel) }
                    th scope="col" { (t.complaint_received_at) }
                    th scope="col" { (t.complaint_category) }
                    th scope="col" { (t.state) }
                    th scope="col" { (t.complaint_due) }
                } }
                tbody { @for c in &list.page.items {
                    @let sla = c.sla(now);
                    tr class=[(sla == Some(SlaState::Overdue)).then_some("overdue")] {
                        td data-label=(t.tracking_code) { a href={"/complaints/" (c.id)} { (c.tracking_code) } }
                        @if staff { td data-label=(t.complainant_name) { (c.complainant_name) } }
                        td data-label=(t.complaint_channel) { (channel_text(t, c.channel)) }
                        td data-label=(t.complaint_received_at) { (lang.datetime(c.received_at)) }
                        td data-label=(t.complaint_category) { @if let Some(cat) = c.category { (category_text(t, cat)) } }
                        td data-label=(t.state) { (state_badge(t, c.state)) }
                        td data-label=(t.complaint_due) {
                            (due_cell(lang, c.due_at, sla))
                            @if staff && c.due_uncertain { " " (badge("bad", t.due_uncertain)) }
                        }
                    }
                } }
            } }
            (layout::pager(t, list.page_number, list.per_page, list.page.total, |n| {
                let mut to = format!("/complaints?page={n}");
                if let Some(s) = state.as_deref() {
                    to.push_str(&format!("&state={}", url_encode(s)));
                }
                if overdue {
                    to.push_str("&overdue=1");
                }
                to
            }))
        }
    };
    Ok(layout::page(&ctx, title, None, body).into_response())
}
