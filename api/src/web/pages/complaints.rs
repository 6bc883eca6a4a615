//! "Pengaduan": the public complaint form (no sign-in) with its one-time
//! tracking code, the status page by code, a PD's complaints, and the
//! staff's list. A complaint's own page and the staff's forms on it are in
//! [`staff`].
//!
//! Anonymous visitors have no session, so their form is protected the way
//! the login form is: a random token in a cookie that the form echoes
//! (double submit; a cross-site page cannot read the cookie).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::request_form::field_error;
use super::requests::sla_badge;
use crate::app::App;
use crate::error::ServiceError;
use crate::model::{
    Agency, Complaint, ComplaintCategory, ComplaintChannel, ComplaintState, SlaState, User,
};
use crate::service::complaints::{self, ComplaintInput, PublicComplaint};
use crate::web::error::WebError;
use crate::web::form::url_encode;
use crate::web::i18n::{Lang, Text};
use crate::web::layout::{self, badge, field_errors};
use crate::web::session::{self, CSRF_FIELD, Ctx, random_token};

mod list;
mod staff;

pub use list::list;
pub use staff::{assign, classify, detail, note, resolve, respond};

/// The anonymous complaint form's CSRF cookie: its own, so a login page
/// opened in another tab does not replace it.
pub const COMPLAINT_CSRF_COOKIE: &str = "dnsdesk_complaint_csrf";

/// The words for a complaint state.
pub fn state_text(t: &'static Text, s: ComplaintState) -> &'static str {
    match s {
        ComplaintState::Received => t.cst_received,
        ComplaintState::Classified => t.cst_classified,
        ComplaintState::Answered => t.cst_answered,
        ComplaintState::Resolved => t.cst_resolved,
    }
}

/// The words for a category.
pub fn category_text(t: &'static Text, c: ComplaintCategory) -> &'static str {
    match c {
        ComplaintCategory::Ringan => t.ccat_ringan,
        ComplaintCategory::Normatif => t.ccat_normatif,
        ComplaintCategory::TidakBerkadarPengawasan => t.ccat_tidak_berkadar_pengawasan,
        ComplaintCategory::BerkadarPengawasan => t.ccat_berkadar_pengawasan,
    }
}

/// The words for a channel.
pub fn channel_text(t: &'static Text, c: ComplaintChannel) -> &'static str {
    match c {
        ComplaintChannel::WebForm => t.cch_web_form,
        ComplaintChannel::PdPortal => t.cch_pd_portal,
        ComplaintChannel::TatapMuka => t.cch_tatap_muka,
        ComplaintChannel::KotakPengaduan => t.cch_kotak_pengaduan,
        ComplaintChannel::Whatsapp => t.cch_whatsapp,
        ComplaintChannel::Telepon => t.cch_telepon,
        ComplaintChannel::Email => t.cch_email,
        ComplaintChannel::Sp4nLapor => t.cch_sp4n_lapor,
        ComplaintChannel::MediaSosial => t.cch_media_sosial,
    }
}

/// The state as a badge (the word is there, not the colour alone).
pub fn state_badge(t: &'static Text, s: ComplaintState) -> Markup {
    let class = match s {
        ComplaintState::Resolved => "ok",
        ComplaintState::Received => "warn",
        ComplaintState::Classified | ComplaintState::Answered => "info",
    };
    badge(class, state_text(t, s))
}

/// The deadline with where it stands, or "not classified yet".
fn due_cell(lang: Lang, due: Option<time::OffsetDateTime>, sla: Option<SlaState>) -> Markup {
    html! {
        @match (due, sla) {
            (Some(at), Some(s)) => { (lang.datetime(at)) " " (sla_badge(lang, s)) }
            (Some(at), None) => { (lang.datetime(at)) }
            _ => { em { (lang.t().complaint_not_classified) } }
        }
    }
}

/// Text as typed, its line breaks kept.
fn paragraphs(text: &str) -> Markup {
    html! {
        @for (i, line) in text.lines().enumerate() {
            @if i > 0 { br; }
            (line)
        }
    }
}

/// Who is filing, which decides the form's fields.
enum Filer<'a> {
    /// Anyone, with the double-submit token.
    Public(&'a str),
    /// A PD, on behalf of its agency.
    Pd(Option<&'a Agency>),
    /// Staff recording a complaint from another channel.
    Staff,
}

/// What the form shows again after an error.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ComplaintForm {
    csrf: String,
    name: String,
    contact: String,
    request_reference: String,
    description: String,
    channel: String,
    received_at: String,
}

/// `GET /complaints/new`: the public form; for a PD filled in with its
/// agency; for staff the form to record a complaint from another channel.
pub async fn new_page(State(app): State<Arc<App>>, ctx: Ctx) -> Result<Response, WebError> {
    let user = ctx.session.as_ref().map(|s| &s.user);
    let mut draft = ComplaintForm::default();
    match user {
        Some(u) if u.role.is_staff() => {
            Ok(form_page(&ctx, Filer::Staff, &draft, &[], StatusCode::OK))
        }
        Some(u) => {
            let agency = pd_agency(&app, &ctx, u).await?;
            if let Some(a) = &agency {
                draft.name = a.name.clone();
                draft.contact = a.email.clone();
            }
            Ok(form_page(
                &ctx,
                Filer::Pd(agency.as_ref()),
                &draft,
                &[],
                StatusCode::OK,
            ))
        }
        None => {
            let token = random_token();
            let mut response = form_page(&ctx, Filer::Public(&token), &draft, &[], StatusCode::OK);
            response.headers_mut().append(
                header::SET_COOKIE,
                session::set_cookie(&app, COMPLAINT_CSRF_COOKIE, &token, Some(3600)),
            );
            Ok(response)
        }
    }
}

/// The agency a PD files for.
async fn pd_agency(app: &App, ctx: &Ctx, user: &User) -> Result<Option<Agency>, WebError> {
    match user.agency_id {
        Some(id) => app
            .store
            .agency(id)
            .await
            .map_err(|e| WebError::service(e.into(), ctx.lang)),
        None => Ok(None),
    }
}

fn form_page(
    ctx: &Ctx,
    filer: Filer<'_>,
    draft: &ComplaintForm,
    errors: &[(String, String)],
    status: StatusCode,
) -> Response {
    let lang = ctx.lang;
    let t = lang.t();
    let invalid = |field: &str| errors.iter().any(|(f, _)| f == field).then_some("true");
    let (title, csrf) = match &filer {
        Filer::Staff => (t.complaint_record_title, ctx.csrf()),
        Filer::Pd(_) => (t.complaint_new_title, ctx.csrf()),
        Filer::Public(token) => (t.complaint_new_title, *token),
    };
    let body = html! {
        h1 { (title) }
        @match &filer {
            Filer::Staff => { p { (t.complaint_record_intro) } }
            Filer::Pd(agency) => {
                p { (t.complaint_new_intro) }
                @if let Some(a) = agency { p { (t.complaint_pd_intro) " " strong { (a.name) " (" (a.code) ")" } } }
            }
            Filer::Public(_) => { p { (t.complaint_new_intro) } }
        }
        (field_errors(t, errors))
        form method="post" action="/complaints" {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            @if matches!(filer, Filer::Staff) {
                label for="channel" { (t.complaint_channel) }
                select #channel name="channel" required aria-invalid=[invalid("channel")] {
                    @for c in ComplaintChannel::RECORDED {
                        option value=(c.as_str()) selected[draft.channel == c.as_str()] { (channel_text(t, *c)) }
                    }
                }
                label for="received_at" { (t.complaint_received_at) span.hint { (t.complaint_received_hint) } }
                input #received_at type="datetime-local" name="received_at" value=(draft.received_at)
                    aria-invalid=[invalid("received_at")];
            }
            label for="name" { (t.complainant_name) }
            input #name type="text" name="name" value=(draft.name) required maxlength="100"
                autocomplete="name" aria-invalid=[invalid("name")];
            label for="contact" { (t.complaint_contact) span.hint #contact-help { (t.complaint_contact_hint) } }
            input #contact type="text" name="contact" value=(draft.contact) required maxlength="200"
                autocomplete="email" aria-describedby="contact-help" aria-invalid=[invalid("contact")];
            label for="request_reference" { (t.complaint_reference) span.hint { (t.complaint_reference_hint) } }
            input #request_reference type="text" name="request_reference" value=(draft.request_reference)
                maxlength="50" autocapitalize="characters" spellcheck="false"
                aria-invalid=[invalid("request_reference")];
            label for="description" { (t.complaint_description) }
            textarea #description name="description" required maxlength="4000" rows="6"
                aria-invalid=[invalid("description")] { (draft.description) }
            div.actions { button #submit-complaint type="submit" { (t.complaint_submit) } }
        }
        p { a href="/complaints/status" { (t.complaint_status_title) } }
    };
    (status, layout::page(ctx, title, None, body)).into_response()
}

/// `POST /complaints`: files (or, for staff, records) a complaint. The
/// public and a PD see the tracking code once; staff go to the complaint.
pub async fn create(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<ComplaintForm>,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let user = ctx.session.as_ref().map(|s| &s.user);
    if user.is_some() {
        ctx.check_csrf(&form.csrf)?;
    } else {
        session::check_pre_session_csrf(&headers, COMPLAINT_CSRF_COOKIE, &form.csrf, lang)?;
    }
    let staff = user.is_some_and(|u| u.role.is_staff());
    let input = ComplaintInput {
        name: form.name.clone(),
        contact: form.contact.clone(),
        request_reference: Some(form.request_reference.clone()),
        description: form.description.clone(),
        channel: staff
            .then(|| form.channel.parse::<ComplaintChannel>().ok())
            .flatten(),
        received_at: staff.then(|| form.received_at.clone()),
    };
    match complaints::file(&app, user, ctx.client, input).await {
        Ok(c) if user.is_some() => {
            let msg = if staff { "recorded" } else { "filed" };
            Ok(Redirect::to(&format!("/complaints/{}?msg={msg}", c.id)).into_response())
        }
        Ok(c) => {
            let mut response = confirmation(&ctx, &c);
            // Spent: a reload cannot file the same complaint twice.
            response.headers_mut().append(
                header::SET_COOKIE,
                session::set_cookie(&app, COMPLAINT_CSRF_COOKIE, "", Some(0)),
            );
            Ok(response)
        }
        Err(e) => match field_error(&e) {
            Some((status, field)) => {
                let agency = match user {
                    Some(u) if !staff => pd_agency(&app, &ctx, u).await?,
                    _ => None,
                };
                let filer = match user {
                    Some(_) if staff => Filer::Staff,
                    Some(_) => Filer::Pd(agency.as_ref()),
                    None => Filer::Public(&form.csrf),
                };
                let errors = [(field, e.to_string())];
                Ok(form_page(&ctx, filer, &form, &errors, status))
            }
            None => Err(WebError::service(e, lang)),
        },
    }
}

/// The tracking code, shown once, and how to use it.
fn confirmation(ctx: &Ctx, c: &Complaint) -> Response {
    let t = ctx.lang.t();
    let code = c.tracking_code.as_str();
    let body = html! {
        h1 { (t.complaint_filed_title) }
        p { (t.tracking_code) ":" }
        p.tracking-code { strong #tracking-code { (code) } }
        p role="alert" { (t.tracking_code_once) }
        p { (t.tracking_code_how) }
        p { a.button href={"/complaints/status?code=" (url_encode(code))} { (t.complaint_see_status) } }
    };
    let mut response = (
        StatusCode::CREATED,
        layout::page(ctx, t.complaint_filed_title, None, body),
    )
        .into_response();
    // The code is a key: no cache may keep this page.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

/// Query of the status page.
#[derive(Debug, Deserialize)]
pub struct StatusParams {
    code: Option<String>,
}

/// `GET /complaints/status?code=`: what the complainant may see. Every
/// lookup counts against the client's rate limit.
pub async fn status(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(p): Query<StatusParams>,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let t = lang.t();
    let code = p.code.unwrap_or_default();
    let found = if code.trim().is_empty() {
        None
    } else {
        match complaints::public_view(&app, ctx.client, &code).await {
            Ok(view) => Some(Ok(view)),
            Err(ServiceError::NotFound(_)) => Some(Err(())),
            Err(e) => return Err(WebError::service(e, lang)),
        }
    };
    let status = match found {
        Some(Err(())) => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    };
    let body = html! {
        h1 { (t.complaint_status_title) }
        p { (t.complaint_status_intro) }
        form method="get" action="/complaints/status" role="search" {
            label for="code" { (t.tracking_code) }
            input #code type="text" name="code" value=(code) required autocapitalize="characters"
                autocomplete="off" spellcheck="false" placeholder="ADU-XXXX-XXXX"
                aria-invalid=[matches!(found, Some(Err(()))).then_some("true")];
            div.actions { button type="submit" { (t.complaint_status_button) } }
        }
        @match &found {
            Some(Ok(view)) => { (public_section(lang, view)) }
            Some(Err(())) => { p.error role="alert" { (t.complaint_not_found) } }
            None => {}
        }
    };
    Ok((
        status,
        layout::page(&ctx, t.complaint_status_title, None, body),
    )
        .into_response())
}

fn public_section(lang: Lang, v: &PublicComplaint) -> Markup {
    let t = lang.t();
    html! {
        h2 #result { (v.tracking_code) }
        dl.facts {
            dt { (t.state) } dd #complaint-state { (state_badge(t, v.state)) }
            dt { (t.complaint_received_at) } dd { (lang.datetime(v.received_at)) }
            dt { (t.complaint_category) } dd {
                @match v.category { Some(c) => { (category_text(t, c)) } None => { em { (t.complaint_not_classified) } } }
            }
            dt { (t.complaint_due) } dd { (due_cell(lang, v.due_at, v.sla)) }
        }
        h2 { (t.complaint_responses) }
        @if v.responses.is_empty() {
            p { (t.complaint_no_responses) }
        } @else {
            ol.timeline {
                @for (at, body) in &v.responses { li { (lang.datetime(*at)) br; (paragraphs(body)) } }
            }
        }
        @if let (Some(resolution), Some(at)) = (&v.resolution, v.resolved_at) {
            h2 { (t.complaint_resolution) }
            p { (lang.datetime(at)) }
            p #resolution { (paragraphs(resolution)) }
        }
    }
}
