//! The admins' pages: users (add, disable, enable) and agencies (PD).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::request_form::field_error;
use crate::app::App;
use crate::audit::AuditActor;
use crate::error::ServiceError;
use crate::model::{Role, UserId};
use crate::service::accounts::{self, AccountAdmin};
use crate::service::admin;
use crate::web::error::WebError;
use crate::web::layout::{self, Notice, badge, csrf_field, field_errors};
use crate::web::session::Ctx;

/// Query of the admin pages.
#[derive(Debug, Deserialize)]
pub struct MsgParams {
    msg: Option<String>,
}

/// The add-user form, also what is shown again after an error.
#[derive(Debug, Default, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    agency: String,
    #[serde(default)]
    password: String,
}

/// `GET /admin/users`.
pub async fn users(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(p): Query<MsgParams>,
) -> Result<Response, WebError> {
    ctx.user_with(&[Role::Admin])?;
    let notice = p.msg.as_deref().and_then(Notice::parse);
    users_page(
        &app,
        &ctx,
        &UserForm::default(),
        &[],
        notice,
        StatusCode::OK,
    )
    .await
}

async fn users_page(
    app: &App,
    ctx: &Ctx,
    form: &UserForm,
    errors: &[(String, String)],
    notice: Option<Notice>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let admin = ctx.user_with(&[Role::Admin])?;
    let lang = ctx.lang;
    let t = lang.t();
    let users = accounts::list_users(app.store.as_ref(), &AccountAdmin::User(admin))
        .await
        .map_err(|e| WebError::service(e, lang))?;
    let agencies = app
        .store
        .list_agencies()
        .await
        .map_err(|e| WebError::service(e.into(), lang))?;
    let body = html! {
        h1 { (t.users_title) }
        div.table-wrap { table.cards {
            thead { tr { th scope="col" { (t.username) } th scope="col" { (t.role) } th scope="col" { (t.agency) } th scope="col" { (t.state) } th scope="col" { span.visually-hidden { (t.action) } } } }
            tbody { @for u in &users {
                tr {
                    td data-label=(t.username) { (u.username) }
                    td data-label=(t.role) { (lang.role(u.role)) }
                    td data-label=(t.agency) { (u.agency_id.and_then(|id| agencies.iter().find(|a| a.id == id)).map(|a| a.code.as_str()).unwrap_or(t.none)) }
                    td data-label=(t.state) { @if u.disabled { (badge("bad", t.disabled)) } @else { (badge("ok", t.enabled)) } }
                    td data-label=(t.action) {
                        @if u.id != admin.id {
                            form method="post" action={"/admin/users/" (u.id) (if u.disabled { "/enable" } else { "/disable" })} {
                                (csrf_field(ctx))
                                button.secondary type="submit" aria-label={(if u.disabled { t.enable } else { t.disable }) " " (u.username)} {
                                    @if u.disabled { (t.enable) } @else { (t.disable) }
                                }
                            }
                        }
                    }
                }
            } }
        } }
        h2 #add { (t.add_user) }
        (field_errors(t, errors))
        form method="post" action="/admin/users" {
            (csrf_field(ctx))
            label for="new-username" { (t.username) }
            input #new-username type="text" name="username" value=(form.username) required autocapitalize="none" spellcheck="false";
            label for="new-role" { (t.role) }
            select #new-role name="role" {
                @for r in Role::ALL { option value=(r.as_str()) selected[form.role == r.as_str()] { (lang.role(*r)) } }
            }
            label for="new-agency" { (t.agency) span.hint { (t.agency_hint) } }
            select #new-agency name="agency" {
                option value="" { (t.none) }
                @for a in &agencies { option value=(a.code) selected[form.agency == a.code] { (a.code) " — " (a.name) } }
            }
            label for="new-password" { (t.password) span.hint { "≥ " (accounts::MIN_PASSWORD_CHARS) } }
            input #new-password type="password" name="password" required autocomplete="new-password"
                minlength=(accounts::MIN_PASSWORD_CHARS);
            div.actions { button type="submit" { (t.add_user) } }
        }
    };
    Ok((status, layout::page(ctx, t.users_title, notice, body)).into_response())
}

/// `POST /admin/users`.
pub async fn add_user(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Form(form): Form<UserForm>,
) -> Result<Response, WebError> {
    let admin = ctx.user_with(&[Role::Admin])?;
    ctx.check_csrf(&form.csrf)?;
    let password = form.password.clone();
    let result = async {
        let hash = tokio::task::spawn_blocking(move || accounts::hash_password(&password))
            .await
            .map_err(|e| ServiceError::Io(std::io::Error::other(e)))??;
        let agency = Some(form.agency.as_str()).filter(|a| !a.is_empty());
        admin::add_user(
            app.store.as_ref(),
            &form.username,
            &form.role,
            agency,
            Some(hash),
            AuditActor::User(admin.id),
        )
        .await
    }
    .await;
    match result {
        Ok(_) => Ok(
            Redirect::to(&format!("/admin/users?msg={}", Notice::UserAdded.code())).into_response(),
        ),
        Err(e) => match field_error(&e) {
            Some((status, field)) => {
                users_page(&app, &ctx, &form, &[(field, e.to_string())], None, status).await
            }
            None => Err(WebError::service(e, ctx.lang)),
        },
    }
}

/// The CSRF-only form of the disable and enable buttons.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/users/{id}/disable`: also ends the user's sessions.
pub async fn disable_user(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let admin = ctx.user_with(&[Role::Admin])?;
    ctx.check_csrf(&form.csrf)?;
    accounts::disable_user(app.store.as_ref(), &AccountAdmin::User(admin), UserId(id))
        .await
        .map_err(|e| WebError::service(e, ctx.lang))?;
    Ok(Redirect::to(&format!("/admin/users?msg={}", Notice::UserDisabled.code())).into_response())
}

/// `POST /admin/users/{id}/enable`.
pub async fn enable_user(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let admin = ctx.user_with(&[Role::Admin])?;
    ctx.check_csrf(&form.csrf)?;
    accounts::enable_user(app.store.as_ref(), &AccountAdmin::User(admin), UserId(id))
        .await
        .map_err(|e| WebError::service(e, ctx.lang))?;
    Ok(Redirect::to(&format!("/admin/users?msg={}", Notice::UserEnabled.code())).into_response())
}

/// The add-agency form.
#[derive(Debug, Default, Deserialize)]
pub struct AgencyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

/// `GET /admin/agencies`.
pub async fn agencies(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(p): Query<MsgParams>,
) -> Result<Response, WebError> {
    ctx.user_with(&[Role::Admin])?;
    let notice = p.msg.as_deref().and_then(Notice::parse);
    agencies_page(
        &app,
        &ctx,
        &AgencyForm::default(),
        &[],
        notice,
        StatusCode::OK,
    )
    .await
}

async fn agencies_page(
    app: &App,
    ctx: &Ctx,
    form: &AgencyForm,
    errors: &[(String, String)],
    notice: Option<Notice>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let t = lang.t();
    let agencies = app
        .store
        .list_agencies()
        .await
        .map_err(|e| WebError::service(e.into(), lang))?;
    let body = html! {
        h1 { (t.agencies_title) }
        div.table-wrap { table.cards {
            thead { tr { th scope="col" { (t.code) } th scope="col" { (t.name) } th scope="col" { (t.email) } } }
            tbody { @for a in &agencies {
                tr { td data-label=(t.code) { (a.code) } td data-label=(t.name) { (a.name) } td data-label=(t.email) { (a.email) } }
            } }
        } }
        h2 #add { (t.add_agency) }
        (field_errors(t, errors))
        form method="post" action="/admin/agencies" {
            (csrf_field(ctx))
            label for="agency-code" { (t.code) }
            input #agency-code type="text" name="code" value=(form.code) required maxlength="20";
            label for="agency-name" { (t.name) }
            input #agency-name type="text" name="name" value=(form.name) required maxlength="200";
            label for="agency-email" { (t.email) }
            input #agency-email type="email" name="email" value=(form.email) required;
            div.actions { button type="submit" { (t.add_agency) } }
        }
    };
    Ok((status, layout::page(ctx, t.agencies_title, notice, body)).into_response())
}

/// `POST /admin/agencies`.
pub async fn add_agency(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Form(form): Form<AgencyForm>,
) -> Result<Response, WebError> {
    let admin = ctx.user_with(&[Role::Admin])?;
    ctx.check_csrf(&form.csrf)?;
    match admin::add_agency(
        app.store.as_ref(),
        &form.code,
        &form.name,
        &form.email,
        AuditActor::User(admin.id),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!(
            "/admin/agencies?msg={}",
            Notice::AgencyAdded.code()
        ))
        .into_response()),
        Err(e) => match field_error(&e) {
            Some((status, field)) => {
                agencies_page(&app, &ctx, &form, &[(field, e.to_string())], None, status).await
            }
            None => Err(WebError::service(e, ctx.lang)),
        },
    }
}
