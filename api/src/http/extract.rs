//! Extractors whose rejections are our error format: JSON bodies (with the
//! path of the field at fault), bearer authentication, and ids in paths.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::sync::Arc;

use super::error::ApiError;
use crate::app::App;
use crate::error::ServiceError;
use crate::model::{RequestId, User};
use crate::service::admin::authenticate;

/// A JSON body; a bad one is a 422 naming the field where reading stopped.
#[derive(Debug)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError(ServiceError::UnsupportedMedia {
                field: "body".to_owned(),
                message: "must be sent as application/json".to_owned(),
            }));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::malformed(None, e.body_text()))?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(AppJson)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = (path != ".").then_some(path);
                ApiError::malformed(field, e.into_inner().to_string())
            })
    }
}

/// An optional JSON body: an empty body is `None`, anything else must be
/// valid JSON as for [`AppJson`].
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| ApiError::malformed(None, e.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        AppJson::from_request(req, state)
            .await
            .map(|AppJson(v)| OptionalJson(Some(v)))
    }
}

/// The signed-in user, from `Authorization: Bearer <token>`.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

impl FromRequestParts<Arc<App>> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError(ServiceError::Unauthenticated))?;
        Ok(CurrentUser(authenticate(app.store.as_ref(), token).await?))
    }
}

/// A request id from the path; anything that is not one is "not found".
#[derive(Debug, Clone, Copy)]
pub struct RequestPath(pub RequestId);

impl<S: Send + Sync> FromRequestParts<S> for RequestPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError(ServiceError::NotFound("request")))?;
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(|id| RequestPath(RequestId(id)))
            .ok_or(ApiError(ServiceError::NotFound("request")))
    }
}
