//! Signing in and out, the language switch, and the home page that sends
//! each role to where its work is.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use crate::app::App;
use crate::error::ServiceError;
use crate::model::Role;
use crate::service::accounts;
use crate::web::error::WebError;
use crate::web::form::{safe_next, url_encode};
use crate::web::i18n::Lang;
use crate::web::layout::{self, Notice};
use crate::web::session::{self, CSRF_FIELD, Ctx, LANG_COOKIE, LOGIN_CSRF_COOKIE, random_token};

/// `GET /`: each role's own start page.
pub async fn home(ctx: Ctx) -> Response {
    let to = match ctx.session.as_ref().map(|s| s.user.role) {
        None => "/login",
        Some(Role::Pd) => "/requests",
        Some(Role::Reviewer | Role::Admin) => "/review",
        Some(Role::Netadmin) => "/jobs",
    };
    Redirect::to(to).into_response()
}

/// Query of the login page.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    /// Set when a session cookie no longer named a session.
    ended: Option<String>,
    msg: Option<String>,
}

/// `GET /login`.
pub async fn login_page(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(q): Query<LoginQuery>,
) -> Response {
    if ctx.session.is_some() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    let notice = q.msg.as_deref().and_then(Notice::parse);
    let message = q.ended.is_some().then_some(ctx.lang.t().session_ended);
    render_login(
        &app,
        &ctx,
        q.next.as_deref(),
        "",
        message,
        notice,
        StatusCode::OK,
    )
}

fn render_login(
    app: &App,
    ctx: &Ctx,
    next: Option<&str>,
    username: &str,
    error: Option<&str>,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let t = ctx.lang.t();
    let token = random_token();
    let body = html! {
        h1 { (t.login_title) }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        form method="post" action="/login" {
            input type="hidden" name=(CSRF_FIELD) value=(token);
            input type="hidden" name="next" value=(safe_next(next));
            label for="username" { (t.username) }
            input #username type="text" name="username" value=(username) autocomplete="username"
                autocapitalize="none" spellcheck="false" required autofocus[error.is_none()];
            label for="password" { (t.password) }
            input #password type="password" name="password" autocomplete="current-password" required
                autofocus[error.is_some()];
            div.actions { button #login-submit type="submit" { (t.login_button) } }
        }
        p { a href="/check" { (t.nav_check) } }
    };
    let mut response = (status, layout::page(ctx, t.login_title, notice, body)).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(app, LOGIN_CSRF_COOKIE, &token, Some(3600)),
    );
    response
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

/// `POST /login`.
pub async fn login(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let t = ctx.lang.t();
    session::check_pre_session_csrf(&headers, LOGIN_CSRF_COOKIE, &form.csrf, ctx.lang)?;
    let client = ctx.client.to_string();
    match accounts::login(
        app.store.as_ref(),
        &app.web.sessions,
        &form.username,
        &form.password,
        &client,
        app.now(),
    )
    .await
    {
        Ok(session) => {
            let mut response = Redirect::to(&safe_next(form.next.as_deref())).into_response();
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                session::set_cookie(
                    &app,
                    session::session_cookie_name(&app),
                    &session.token,
                    None,
                ),
            );
            headers.append(
                header::SET_COOKIE,
                session::set_cookie(&app, LOGIN_CSRF_COOKIE, "", Some(0)),
            );
            Ok(response)
        }
        Err(ServiceError::Unauthenticated) => Ok(render_login(
            &app,
            &ctx,
            form.next.as_deref(),
            &form.username,
            Some(t.login_failed),
            None,
            StatusCode::UNAUTHORIZED,
        )),
        Err(ServiceError::TooManyAttempts { retry_after_secs }) => {
            let mut response = render_login(
                &app,
                &ctx,
                form.next.as_deref(),
                &form.username,
                Some(t.login_throttled),
                None,
                StatusCode::TOO_MANY_REQUESTS,
            );
            if let Ok(v) = retry_after_secs.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(response)
        }
        Err(e) => Err(WebError::service(e, ctx.lang)),
    }
}

/// A form that carries only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /logout`: ends the session on the server, then the cookie.
pub async fn logout(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    ctx.check_csrf(&form.csrf)?;
    if let Some(token) = &ctx.token {
        accounts::logout(app.store.as_ref(), token, app.now())
            .await
            .map_err(|e| WebError::service(e, ctx.lang))?;
    }
    let mut response =
        Redirect::to(&format!("/login?msg={}", Notice::LoggedOut.code())).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(&app, session::session_cookie_name(&app), "", Some(0)),
    );
    Ok(response)
}

/// Query of the language switch.
#[derive(Debug, Deserialize)]
pub struct LangQuery {
    back: Option<String>,
}

/// `GET /lang/{code}`: remembers the language for a year and goes back.
pub async fn set_lang(
    State(app): State<Arc<App>>,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = Lang::parse(&code);
    let mut response = Redirect::to(&safe_next(q.back.as_deref())).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(&app, LANG_COOKIE, lang.code(), Some(365 * 24 * 3600)),
    );
    response
}

/// The login URL that comes back to `path`.
pub fn login_url(path: &str) -> String {
    format!("/login?next={}", url_encode(path))
}
