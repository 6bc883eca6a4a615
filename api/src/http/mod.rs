//! The HTTP API: JSON under `/api/v1`, bearer-token authentication, an
//! OpenAPI document generated from the handlers, `/healthz` (the process
//! answers) and `/readyz` (it can reach its database: what a load
//! balancer in front of several instances asks).

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use tower_http::trace::TraceLayer;

use crate::app::App;
use crate::letters::MAX_LETTER_BYTES;

pub mod audit;
pub mod calendar;
pub mod complaints;
pub mod dto;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod requests;
pub mod subdomains;
pub mod zone;

/// The whole HTTP application.
pub fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/requests", post(requests::create).get(requests::list))
        .route("/requests/{id}", get(requests::get).put(requests::revise))
        .route(
            "/requests/{id}/letter",
            put(requests::put_letter)
                .get(requests::get_letter)
                .layer(DefaultBodyLimit::max(MAX_LETTER_BYTES + 1)),
        )
        .route(
            "/requests/{id}/confirmation",
            get(requests::get_confirmation),
        )
        .route("/requests/{id}/approve", post(requests::approve))
        .route("/requests/{id}/reject", post(requests::reject))
        .route(
            "/requests/{id}/request-revision",
            post(requests::request_revision),
        )
        .route("/requests/{id}/retry", post(requests::retry))
        .route("/subdomains", get(subdomains::list))
        .route("/subdomains/{name}", get(subdomains::get))
        .route("/subdomains/{name}/history", get(zone::history))
        .route("/zones/{zone}/drift", get(zone::drift))
        .route("/drift/{id}/adopt", post(zone::adopt))
        .route("/drift/{id}/restore", post(zone::restore))
        .route("/audit", get(audit::list))
        .route("/holidays", get(calendar::list).post(calendar::add))
        .route("/holidays/{date}", axum::routing::delete(calendar::remove))
        .route(
            "/complaints",
            post(complaints::create).get(complaints::list),
        )
        .route("/complaints/{tracking_code}", get(complaints::public))
        .route("/complaints/{id}/detail", get(complaints::detail))
        .route("/complaints/{id}/classify", post(complaints::classify))
        .route("/complaints/{id}/assign", post(complaints::assign))
        .route("/complaints/{id}/notes", post(complaints::note))
        .route("/complaints/{id}/responses", post(complaints::respond))
        .route("/complaints/{id}/resolve", post(complaints::resolve))
        .route("/openapi.json", get(openapi::document))
        .layer(DefaultBodyLimit::max(256 * 1024));
    Router::new()
        .route("/healthz", get(|| async { (StatusCode::OK, "ok") }))
        .route("/readyz", get(ready))
        .nest("/api/v1", api)
        .merge(crate::web::router())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            tracing::info_span!("http", method = %req.method(), route = %route)
        }))
        .with_state(app)
}

/// Readiness: 200 when the database answers, 503 (and the error logged,
/// not shown) when it does not, so a proxy sends requests elsewhere.
async fn ready(State(app): State<Arc<App>>) -> (StatusCode, &'static str) {
    match app.store.audit_head().await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
