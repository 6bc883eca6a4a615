//! `/api/v1/holidays`: the working-day calendar in force, and admins'
//! edits to it.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ErrorBody};
use super::extract::{AppJson, CurrentUser};
use crate::app::App;
use crate::audit::AuditActor;
use crate::calendar::Holiday;
use crate::service::calendar;

/// A non-working day.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayDoc {
    /// `2026-12-24`.
    pub date: String,
    /// `libur_nasional` (national holiday) or `cuti_bersama` (collective
    /// leave).
    pub kind: String,
    pub name: String,
}

impl From<Holiday> for HolidayDoc {
    fn from(h: Holiday) -> Self {
        Self {
            date: h.date.to_string(),
            kind: h.kind.as_str().to_owned(),
            name: h.name,
        }
    }
}

/// The calendar in force.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CalendarView {
    /// Years whose holidays are loaded; due dates in other years count
    /// Monday to Friday only and are flagged.
    pub years: Vec<i32>,
    pub days: Vec<HolidayDoc>,
}

/// Which year.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct YearParam {
    pub year: Option<i32>,
}

/// The non-working days in force (any signed-in user).
#[utoipa::path(get, path = "/api/v1/holidays", params(YearParam), tag = "calendar",
    responses((status = 200, body = CalendarView)))]
pub async fn list(
    State(app): State<Arc<App>>,
    CurrentUser(_user): CurrentUser,
    params: Result<Query<YearParam>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CalendarView>, ApiError> {
    let Query(p) =
        params.map_err(|e| ApiError::malformed(Some("year".to_owned()), e.body_text()))?;
    let (years, days) = calendar::list(app.store.as_ref(), &app.calendar, p.year).await?;
    Ok(Json(CalendarView {
        years,
        days: days.into_iter().map(HolidayDoc::from).collect(),
    }))
}

/// Make a day a holiday or collective leave, or rename it (admin).
#[utoipa::path(post, path = "/api/v1/holidays", request_body = HolidayDoc, tag = "calendar",
    responses((status = 201, body = HolidayDoc), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    AppJson(input): AppJson<HolidayDoc>,
) -> Result<(StatusCode, Json<HolidayDoc>), ApiError> {
    calendar::require_admin(&user)?;
    let day = calendar::add(
        app.store.as_ref(),
        &input.date,
        &input.kind,
        &input.name,
        AuditActor::User(user.id),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(day.into())))
}

/// Make a listed day a working day again (admin).
#[utoipa::path(delete, path = "/api/v1/holidays/{date}", tag = "calendar",
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn remove(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    Path(date): Path<String>,
) -> Result<StatusCode, ApiError> {
    calendar::require_admin(&user)?;
    calendar::remove(
        app.store.as_ref(),
        &app.calendar,
        &date,
        AuditActor::User(user.id),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
