//! Errors of the web interface, each turned into a page (or a redirect to
//! the login page) in one place, as `http::error` does for the JSON API.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::i18n::Lang;
use super::layout;
use crate::error::ServiceError;

/// Why a page could not be shown.
#[derive(Debug)]
pub enum WebError {
    /// Not signed in (or the session ended): go to the login page and come
    /// back to `next` afterwards.
    Login { next: String, stale: bool },
    /// A page that says what went wrong.
    Page {
        status: StatusCode,
        lang: Lang,
        message: String,
        retry_after: Option<u64>,
    },
}

impl WebError {
    /// Redirect to the login page.
    pub fn login(next: &str, stale: bool) -> Self {
        WebError::Login {
            next: next.to_owned(),
            stale,
        }
    }

    /// 403.
    pub fn forbidden(lang: Lang) -> Self {
        Self::page(StatusCode::FORBIDDEN, lang, lang.t().forbidden)
    }

    /// 403 for a form without this session's CSRF token.
    pub fn csrf(lang: Lang) -> Self {
        Self::page(StatusCode::FORBIDDEN, lang, lang.t().csrf_failed)
    }

    /// 404.
    pub fn not_found(lang: Lang) -> Self {
        Self::page(StatusCode::NOT_FOUND, lang, lang.t().not_found)
    }

    fn page(status: StatusCode, lang: Lang, message: &str) -> Self {
        WebError::Page {
            status,
            lang,
            message: message.to_owned(),
            retry_after: None,
        }
    }

    /// A use case's error as a page. Messages of invalid input and
    /// conflicts are the service's own (English, naming the field); server
    /// faults are logged and shown only as "logged".
    pub fn service(e: ServiceError, lang: Lang) -> Self {
        use ServiceError as E;
        let t = lang.t();
        match e {
            E::Unauthenticated => Self::login("/", false),
            E::NotFound(_) => Self::not_found(lang),
            E::Forbidden(_) => Self::forbidden(lang),
            E::TooManyAttempts { retry_after_secs } => WebError::Page {
                status: StatusCode::TOO_MANY_REQUESTS,
                lang,
                message: t.too_many.to_owned(),
                retry_after: Some(retry_after_secs),
            },
            E::Invalid { .. } | E::TooLarge { .. } | E::UnsupportedMedia { .. } => {
                Self::page(StatusCode::UNPROCESSABLE_ENTITY, lang, &e.to_string())
            }
            E::Conflict { .. } => Self::page(StatusCode::CONFLICT, lang, &e.to_string()),
            other => {
                tracing::error!(error = %other, "page failed");
                Self::page(StatusCode::INTERNAL_SERVER_ERROR, lang, t.internal_error)
            }
        }
    }
}

impl From<(ServiceError, Lang)> for WebError {
    fn from((e, lang): (ServiceError, Lang)) -> Self {
        WebError::service(e, lang)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::Login { next, stale } => {
                let mut to = format!("/login?next={}", super::form::url_encode(&next));
                if stale {
                    to.push_str("&ended=1");
                }
                Redirect::to(&to).into_response()
            }
            WebError::Page {
                status,
                lang,
                message,
                retry_after,
            } => {
                let mut response =
                    (status, layout::error_page(lang, status, &message)).into_response();
                if let Some(secs) = retry_after
                    && let Ok(v) = HeaderValue::from_str(&secs.to_string())
                {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
                response
            }
        }
    }
}
