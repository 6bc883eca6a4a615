//! The zone's history and drift: `GET /api/v1/subdomains/{name}/history`,
//! `GET /api/v1/zones/{zone}/drift` and `POST /api/v1/drift/{id}/adopt`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use super::dto::rfc3339;
use super::error::{ApiError, ErrorBody};
use super::extract::{CurrentUser, OptionalJson};
use crate::app::App;
use crate::error::ServiceError;
use crate::model::{DriftFinding, DriftRun};
use crate::service::{drift, views};

/// One version of a name.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    pub version: i64,
    /// `request`, `adopted` or `imported`.
    pub source: String,
    pub request_id: Option<i64>,
    pub approved_by: Option<String>,
    pub serial: Option<u32>,
    pub at: String,
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<provisioner::record::RecordInput>,
    /// Records this version added (`TYPE value TTL`).
    pub added: Vec<String>,
    /// Records this version removed.
    pub removed: Vec<String>,
}

/// Every version of a name, oldest first, with its diff.
#[utoipa::path(get, path = "/api/v1/subdomains/{name}/history", tag = "subdomains",
    responses((status = 200, body = Vec<VersionView>), (status = 404, body = ErrorBody)))]
pub async fn history(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    Path(name): Path<String>,
) -> Result<Json<Vec<VersionView>>, ApiError> {
    let entries = views::subdomain_history(&app, &user, &name).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| VersionView {
                version: e.version.id,
                source: e.version.source.as_str().to_owned(),
                request_id: e.version.request_id.map(|r| r.0),
                approved_by: e.version.approved_by,
                serial: e.version.serial,
                at: rfc3339(e.version.at),
                records: e.version.records,
                added: e.added,
                removed: e.removed,
            })
            .collect(),
    ))
}

/// A drift finding.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FindingView {
    pub id: i64,
    pub subject: String,
    /// `changed`, `unmanaged` or `lagging`.
    pub kind: String,
    /// `open`, `cleared` or `adopted`.
    pub state: String,
    /// The difference: `added`/`removed` records, or `records` below a
    /// managed name, or a secondary's `serial`.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub first_seen_at: String,
    pub last_seen_at: String,
    pub closed_at: Option<String>,
    pub note: Option<String>,
}

impl From<DriftFinding> for FindingView {
    fn from(f: DriftFinding) -> Self {
        Self {
            id: f.id,
            subject: f.subject,
            kind: f.kind,
            state: f.state.as_str().to_owned(),
            detail: f.detail,
            first_seen_at: rfc3339(f.first_seen_at),
            last_seen_at: rfc3339(f.last_seen_at),
            closed_at: f.closed_at.map(rfc3339),
            note: f.note,
        }
    }
}

/// The latest drift run.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunView {
    pub at: String,
    pub primary_serial: Option<u32>,
    pub open_findings: i64,
    pub error: Option<String>,
}

impl From<DriftRun> for RunView {
    fn from(r: DriftRun) -> Self {
        Self {
            at: rfc3339(r.at),
            primary_serial: r.primary_serial,
            open_findings: r.findings,
            error: r.error,
        }
    }
}

/// Drift of a zone.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DriftView {
    pub zone: String,
    pub last_run: Option<RunView>,
    pub findings: Vec<FindingView>,
}

/// Which findings.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DriftParams {
    /// Also the cleared and adopted ones (default: open only).
    pub all: Option<bool>,
}

/// Differences between the zone and dnsdesk's record (netadmin, admin).
#[utoipa::path(get, path = "/api/v1/zones/{zone}/drift", params(DriftParams), tag = "drift",
    responses((status = 200, body = DriftView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn drift(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    Path(zone): Path<String>,
    params: Result<Query<DriftParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DriftView>, ApiError> {
    let Query(p) =
        params.map_err(|e| ApiError::malformed(Some("query".to_owned()), e.body_text()))?;
    let ours = provisioner::name::display_name(&app.target.zone);
    if !zone.trim_end_matches('.').eq_ignore_ascii_case(&ours) {
        return Err(ApiError(ServiceError::NotFound("zone")));
    }
    let (findings, last_run) =
        drift::findings(app.store.as_ref(), &user, !p.all.unwrap_or(false)).await?;
    Ok(Json(DriftView {
        zone: ours,
        last_run: last_run.map(RunView::from),
        findings: findings.into_iter().map(FindingView::from).collect(),
    }))
}

/// A note on a resolution.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    #[serde(default)]
    pub note: Option<String>,
}

/// Adopt what the zone holds as the name's new version (netadmin, admin).
#[utoipa::path(post, path = "/api/v1/drift/{id}/adopt", request_body = ResolveInput, tag = "drift",
    responses((status = 200, body = FindingView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn adopt(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    OptionalJson(input): OptionalJson<ResolveInput>,
) -> Result<Json<FindingView>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError(ServiceError::NotFound("open drift finding")))?;
    let note = input.and_then(|i| i.note);
    let finding = drift::adopt(
        app.store.as_ref(),
        &app.target,
        app.timing.dns_timeout,
        &user,
        id,
        note.as_deref(),
    )
    .await?;
    Ok(Json(finding.into()))
}

/// Put dnsdesk's record back over what the zone holds (netadmin, admin):
/// a change request, approved and queued, goes the normal provisioning
/// path; answers the request.
#[utoipa::path(post, path = "/api/v1/drift/{id}/restore", request_body = ResolveInput, tag = "drift",
    responses((status = 202, body = super::dto::RequestView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn restore(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    OptionalJson(input): OptionalJson<ResolveInput>,
) -> Result<(axum::http::StatusCode, Json<super::dto::RequestView>), ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError(ServiceError::NotFound("open drift finding")))?;
    let note = input.and_then(|i| i.note);
    let request = drift::restore(&app, &user, id, note.as_deref()).await?;
    let detail = views::request_detail(&app, &user, request.id).await?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(super::dto::RequestView::detail(&detail)),
    ))
}
