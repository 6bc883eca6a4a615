//! Use-case errors mapped to HTTP, in this one place. Every error body is
//! `{"error": {"code", "message", "field"}}`; 5xx bodies stay generic and
//! the cause is logged once, inside the request's span.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::ServiceError;

/// An error as the API returns it.
#[derive(Debug)]
pub struct ApiError(pub ServiceError);

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        Self(e)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        Self(e.into())
    }
}

/// The error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `validation_failed`, `name_taken`.
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// The input field at fault, e.g. `records[1].value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// A 400 for a body or query that could not be read at all.
    pub fn malformed(field: Option<String>, message: String) -> Self {
        Self(ServiceError::Invalid {
            field: field.unwrap_or_else(|| "body".to_owned()),
            message,
        })
    }

    fn parts(&self) -> (StatusCode, &'static str, String, Option<String>) {
        use ServiceError as E;
        match &self.0 {
            E::Invalid { field, message } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("{field}: {message}"),
                Some(field.clone()),
            ),
            E::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
                None,
            ),
            E::Forbidden(message) => (StatusCode::FORBIDDEN, "forbidden", message.clone(), None),
            E::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "a valid bearer token is required".to_owned(),
                None,
            ),
            E::Conflict {
                code,
                message,
                field,
            } => (
                StatusCode::CONFLICT,
                code.as_str(),
                message.clone(),
                field.clone(),
            ),
            E::TooLarge { field, limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("{field} is larger than {limit} bytes"),
                Some(field.clone()),
            ),
            E::UnsupportedMedia { field, message } => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("{field} {message}"),
                Some(field.clone()),
            ),
            E::TooManyAttempts { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many attempts; try again in {retry_after_secs} s"),
                None,
            ),
            E::Store(_) | E::Io(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; it has been logged".to_owned(),
                None,
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, field) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self.0, "request failed");
        }
        let mut response = (
            status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code,
                    message,
                    field,
                },
            }),
        )
            .into_response();
        if let ServiceError::TooManyAttempts { retry_after_secs } = &self.0
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
