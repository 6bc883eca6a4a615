//! Handlers for `/api/v1/subdomains`: the catalogue of granted names.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use super::dto::{SubdomainPage, SubdomainView};
use super::error::{ApiError, ErrorBody};
use super::extract::CurrentUser;
use crate::app::App;
use crate::service::views;

/// Paging of the catalogue.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageParams {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Granted names (a PD sees its own).
#[utoipa::path(get, path = "/api/v1/subdomains", params(PageParams), tag = "subdomains",
    responses((status = 200, body = SubdomainPage)))]
pub async fn list(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    params: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SubdomainPage>, ApiError> {
    let Query(p) =
        params.map_err(|e| ApiError::malformed(Some("query".to_owned()), e.body_text()))?;
    let (page, agencies) = views::list_subdomains(&app, &user, p.page, p.per_page).await?;
    Ok(Json(SubdomainPage {
        items: page
            .items
            .iter()
            .map(|s| SubdomainView::summary(s, s.agency_id.and_then(|a| agencies.get(&a))))
            .collect(),
        total: page.total.value(),
    }))
}

/// A granted name and what each authoritative server answers for it now.
#[utoipa::path(get, path = "/api/v1/subdomains/{name}", tag = "subdomains",
    responses((status = 200, body = SubdomainView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    Path(name): Path<String>,
) -> Result<Json<SubdomainView>, ApiError> {
    let detail = views::subdomain_detail(&app, &user, &name).await?;
    Ok(Json(SubdomainView::detail(&detail)))
}
