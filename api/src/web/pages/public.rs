//! The public "Cek Subdomain" page: no login, rate-limited per client.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use crate::app::App;
use crate::error::ServiceError;
use crate::service::check;
use crate::web::error::WebError;
use crate::web::layout;
use crate::web::session::Ctx;

/// Query of the check page.
#[derive(Debug, Deserialize)]
pub struct CheckParams {
    name: Option<String>,
}

/// `GET /check?name=`: what each authoritative server answers now.
pub async fn check(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(p): Query<CheckParams>,
) -> Result<Response, WebError> {
    let lang = ctx.lang;
    let t = lang.t();
    let name = p.name.unwrap_or_default();
    let result = if name.trim().is_empty() {
        None
    } else {
        if let Err(secs) = app.check_limiter.take(ctx.client, Instant::now()) {
            return Err(WebError::service(
                ServiceError::TooManyAttempts {
                    retry_after_secs: secs,
                },
                lang,
            ));
        }
        Some(check::check_name(&app, &name).await)
    };
    let status = match &result {
        Some(Err(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let body = html! {
        h1 { (t.check_title) }
        p { (t.check_intro) }
        form method="get" action="/check" role="search" {
            label for="check-name" { (t.name) span.hint { (t.name_hint) } }
            input #check-name type="search" name="name" value=(name) required autocapitalize="none"
                spellcheck="false" inputmode="url" aria-invalid=[matches!(result, Some(Err(_))).then_some("true")];
            div.actions { button type="submit" { (t.check_button) } }
        }
        @match &result {
            Some(Err(e)) => { p.error role="alert" { (e.to_string()) } }
            Some(Ok(found)) => {
                h2 #result { (found.name) }
                p role="status" { @if found.consistent() { (t.check_all_agree) } @else { (t.check_disagree) } }
                div.table-wrap { table.cards {
                    thead { tr { th scope="col" { (t.server) } th scope="col" { (t.answer) } } }
                    tbody { @for s in &found.servers {
                        tr {
                            td data-label=(t.server) { code { (s.server) } }
                            td data-label=(t.answer) {
                                @match &s.answer {
                                    Ok(lines) if lines.is_empty() => { em { (t.check_no_records) } }
                                    Ok(lines) => { @for l in lines { code { (l) } br; } }
                                    Err(e) => { (layout::badge("bad", t.check_unreachable)) " " (e) }
                                }
                            }
                        }
                    } }
                } }
            }
            None => {}
        }
    };
    let mut response = (status, layout::page(&ctx, t.check_title, None, body)).into_response();
    // Answers change; never serve a cached one.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
