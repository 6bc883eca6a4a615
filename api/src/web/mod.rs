//! The web interface: server-rendered HTML (maud) in Bahasa Indonesia
//! first, usable without JavaScript, with session cookies and a CSRF token
//! on every form. Handlers are thin: they read the form, call one use case
//! in `service`, and render.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

use crate::app::App;
use crate::letters::MAX_LETTER_BYTES;

pub mod assets;
pub mod error;
pub mod form;
pub mod i18n;
pub mod layout;
pub mod pages;
pub mod ratelimit;
pub mod session;

use pages::{
    account, admin, audit, complaints, ops, public, reports, request_form, requests, review,
};

/// Every page of the web interface.
pub fn router() -> Router<Arc<App>> {
    let uploads = Router::new()
        .route("/requests", post(request_form::create))
        .route("/requests/{id}/letter", post(requests::upload_letter))
        // The letter plus the form's text fields.
        .layer(DefaultBodyLimit::max(MAX_LETTER_BYTES + 256 * 1024));
    Router::new()
        .route("/", get(account::home))
        .route("/login", get(account::login_page).post(account::login))
        .route("/logout", post(account::logout))
        .route("/lang/{code}", get(account::set_lang))
        .route(assets::CSS_PATH, get(assets::css))
        .route(assets::JS_PATH, get(assets::js))
        .route("/requests", get(requests::list))
        .route("/requests/new", get(request_form::new_page))
        .route("/requests/{id}", get(requests::detail))
        .route("/requests/{id}/live", get(requests::live))
        .route("/requests/{id}/letter", get(requests::letter))
        .route("/requests/{id}/confirmation", get(requests::confirmation))
        .route(
            "/requests/{id}/revise",
            get(request_form::revise_page).post(request_form::revise),
        )
        .route("/requests/{id}/decide", post(review::decide))
        .route("/requests/{id}/retry", post(review::retry))
        .route("/names/availability", get(request_form::availability))
        .route("/review", get(review::queue))
        .route("/jobs", get(ops::jobs))
        .route("/subdomains", get(ops::subdomains))
        .route("/subdomains/{name}", get(ops::subdomain))
        .route("/check", get(public::check))
        .route(
            "/complaints",
            get(complaints::list).post(complaints::create),
        )
        .route("/complaints/new", get(complaints::new_page))
        .route("/complaints/status", get(complaints::status))
        .route("/complaints/{id}", get(complaints::detail))
        .route("/complaints/{id}/classify", post(complaints::classify))
        .route("/complaints/{id}/assign", post(complaints::assign))
        .route("/complaints/{id}/notes", post(complaints::note))
        .route("/complaints/{id}/responses", post(complaints::respond))
        .route("/complaints/{id}/resolve", post(complaints::resolve))
        .route("/admin/users", get(admin::users).post(admin::add_user))
        .route("/admin/users/{id}/disable", post(admin::disable_user))
        .route("/admin/users/{id}/enable", post(admin::enable_user))
        .route(
            "/admin/agencies",
            get(admin::agencies).post(admin::add_agency),
        )
        .route("/reports", get(reports::sla))
        .route("/reports/sla.csv", get(reports::sla_csv))
        .route("/audit", get(audit::audit_log))
        .route("/audit/export", get(audit::export))
        .route("/drift", get(audit::drift_page))
        .route("/drift/{id}/adopt", post(audit::adopt))
        .route("/drift/{id}/restore", post(audit::restore))
        .merge(uploads)
        .layer(middleware::from_fn(security_headers))
}

/// Headers on every page: no inline script or foreign origin may run
/// (the one script is ours, served from `/static`), no framing by other
/// sites, no MIME sniffing, no referrer leaking request URLs, and pages
/// with people's data are not cached.
async fn security_headers(request: Request, next: Next) -> Response {
    let is_static = request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'self'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !is_static && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
