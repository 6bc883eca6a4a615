//! Handlers for `/api/v1/requests`: each extracts, calls one use case and
//! maps the result.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::dto::{DecisionInput, RequestPage, RequestView};
use super::error::{ApiError, ErrorBody};
use super::extract::{AppJson, CurrentUser, OptionalJson, RequestPath};
use crate::app::App;
use crate::error::ServiceError;
use crate::letters::MAX_LETTER_BYTES;
use crate::service::submit::RequestInput;
use crate::service::views::{self, ListQuery};
use crate::service::{review, submit};
use crate::store::RequestOrder;

type ApiResult<T> = Result<T, ApiError>;

/// Re-reads a request after a change and renders it whole.
async fn detail(
    app: &App,
    user: &crate::model::User,
    id: crate::model::RequestId,
) -> ApiResult<Json<RequestView>> {
    let detail = views::request_detail(app, user, id).await?;
    Ok(Json(RequestView::detail(&detail)))
}

/// File a request (PD).
#[utoipa::path(post, path = "/api/v1/requests", request_body = RequestInput, tag = "requests",
    responses((status = 201, body = RequestView), (status = 422, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    AppJson(input): AppJson<RequestInput>,
) -> ApiResult<impl IntoResponse> {
    let request = submit::submit(&app, &user, input).await?;
    Ok((StatusCode::CREATED, detail(&app, &user, request.id).await?))
}

/// Query parameters of the list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// A state, e.g. `submitted`.
    pub state: Option<String>,
    /// An agency code (staff only; a PD always sees its own).
    pub agency: Option<String>,
    /// Part of the name.
    pub name: Option<String>,
    pub page: Option<i64>,
    /// 1-200, default 50.
    pub per_page: Option<i64>,
}

/// List requests, newest first.
#[utoipa::path(get, path = "/api/v1/requests", params(ListParams), tag = "requests",
    responses((status = 200, body = RequestPage), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<RequestPage>> {
    let Query(p) =
        params.map_err(|e| ApiError::malformed(Some("query".to_owned()), e.body_text()))?;
    let list = views::list_requests(
        &app,
        &user,
        ListQuery {
            order: RequestOrder::Newest,
            state: p.state,
            agency: p.agency,
            name: p.name,
            page: p.page,
            per_page: p.per_page,
        },
    )
    .await?;
    let items = list
        .page
        .items
        .iter()
        .map(|r| RequestView::summary(r, list.agencies.get(&r.agency_id)))
        .collect();
    Ok(Json(RequestPage {
        items,
        total: list.page.total.value(),
        total_exact: list.page.total.is_exact(),
        page: list.page_number,
        per_page: list.per_page,
    }))
}

/// One request with its plan, timeline, attempts and server answers.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests",
    responses((status = 200, body = RequestView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    RequestPath(id): RequestPath,
) -> ApiResult<Json<RequestView>> {
    detail(&app, &user, id).await
}

/// Resubmit a request sent back for revision (PD).
#[utoipa::path(put, path = "/api/v1/requests/{id}", request_body = RequestInput, tag = "requests",
    responses((status = 200, body = RequestView), (status = 409, body = ErrorBody)))]
pub async fn revise(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    RequestPath(id): RequestPath,
    AppJson(input): AppJson<RequestInput>,
) -> ApiResult<Json<RequestView>> {
    submit::revise(&app, &user, id, input).await?;
    detail(&app, &user, id).await
}

/// Upload the signed request letter, as an `application/pdf` body (PD).
#[utoipa::path(put, path = "/api/v1/requests/{id}/letter", request_body(content = Vec<u8>, content_type = "application/pdf"),
    tag = "requests",
    responses((status = 200, body = RequestView), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn put_letter(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    RequestPath(id): RequestPath,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<RequestView>> {
    let is_pdf = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/pdf"));
    if !is_pdf {
        return Err(ApiError(ServiceError::UnsupportedMedia {
            field: "letter".to_owned(),
            message: "must be sent with Content-Type: application/pdf".to_owned(),
        }));
    }
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError(ServiceError::TooLarge {
                field: "letter".to_owned(),
                limit: MAX_LETTER_BYTES,
            })
        } else {
            ApiError::malformed(Some("letter".to_owned()), e.body_text())
        }
    })?;
    submit::attach_letter(&app, &user, id, &bytes).await?;
    detail(&app, &user, id).await
}

/// Download the signed request letter.
#[utoipa::path(get, path = "/api/v1/requests/{id}/letter", tag = "requests",
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn get_letter(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    RequestPath(id): RequestPath,
) -> ApiResult<impl IntoResponse> {
    let bytes = views::letter(&app, &user, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"surat-permintaan-{id}.pdf\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    ))
}

/// Download the confirmation letter, made when the request went active.
#[utoipa::path(get, path = "/api/v1/requests/{id}/confirmation", tag = "requests",
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn get_confirmation(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    RequestPath(id): RequestPath,
) -> ApiResult<impl IntoResponse> {
    let bytes = views::confirmation(&app, &user, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"konfirmasi-{id}.pdf\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    ))
}

fn decision(body: Option<DecisionInput>) -> DecisionInput {
    body.unwrap_or_default()
}

/// Approve (reviewer): provisioning starts at once.
#[utoipa::path(post, path = "/api/v1/requests/{id}/approve", request_body = DecisionInput, tag = "review",
    responses((status = 200, body = RequestView), (status = 409, body = ErrorBody)))]
pub async fn approve(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    RequestPath(id): RequestPath,
    OptionalJson(body): OptionalJson<DecisionInput>,
) -> ApiResult<Json<RequestView>> {
    let d = decision(body);
    review::approve(&app, &user, id, d.note.as_deref(), d.digest.as_deref()).await?;
    detail(&app, &user, id).await
}

/// Reject (reviewer), with a note for the PD.
#[utoipa::path(post, path = "/api/v1/requests/{id}/reject", request_body = DecisionInput, tag = "review",
    responses((status = 200, body = RequestView), (status = 409, body = ErrorBody)))]
pub async fn reject(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    RequestPath(id): RequestPath,
    OptionalJson(body): OptionalJson<DecisionInput>,
) -> ApiResult<Json<RequestView>> {
    let d = decision(body);
    review::reject(&app, &user, id, d.note.as_deref().unwrap_or("")).await?;
    detail(&app, &user, id).await
}

/// Ask the PD for a revision (reviewer), saying what to change.
#[utoipa::path(post, path = "/api/v1/requests/{id}/request-revision", request_body = DecisionInput, tag = "review",
    responses((status = 200, body = RequestView), (status = 409, body = ErrorBody)))]
pub async fn request_revision(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    RequestPath(id): RequestPath,
    OptionalJson(body): OptionalJson<DecisionInput>,
) -> ApiResult<Json<RequestView>> {
    let d = decision(body);
    review::request_revision(&app, &user, id, d.note.as_deref().unwrap_or("")).await?;
    detail(&app, &user, id).await
}

/// Queue a failed request again (netadmin, admin).
#[utoipa::path(post, path = "/api/v1/requests/{id}/retry", request_body = DecisionInput, tag = "operations",
    responses((status = 200, body = RequestView), (status = 409, body = ErrorBody)))]
pub async fn retry(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    RequestPath(id): RequestPath,
    OptionalJson(body): OptionalJson<DecisionInput>,
) -> ApiResult<Json<RequestView>> {
    let d = decision(body);
    review::retry(&app, &user, id, d.note.as_deref()).await?;
    detail(&app, &user, id).await
}
