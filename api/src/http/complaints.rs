//! `/api/v1/complaints`: filing a complaint (no sign-in needed), the
//! complainant's view by tracking code, and the staff's handling. Each
//! handler extracts, calls one use case and maps the result.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::dto::{AgencyRef, rfc3339};
use super::error::{ApiError, ErrorBody};
use super::extract::{AppJson, CurrentUser};
use crate::app::App;
use crate::error::ServiceError;
use crate::model::{
    Complaint, ComplaintCategory, ComplaintChannel, ComplaintId, ComplaintState, SlaState, User,
};
use crate::service::complaints::{
    self, ComplaintDetail, ComplaintInput, ComplaintQuery, PublicComplaint,
};

type ApiResult<T> = Result<T, ApiError>;

/// The caller when a bearer token is given; None when none is (a bad
/// token is still a 401, never an anonymous call).
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<User>);

impl FromRequestParts<Arc<App>> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(MaybeUser(None));
        }
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, app).await?;
        Ok(MaybeUser(Some(user)))
    }
}

/// The client address the rate limits count against, as the web pages
/// find it (the peer, or behind a trusted proxy the address it forwarded
/// for).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<Arc<App>> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        Ok(ClientAddr(crate::web::session::client_addr(
            parts,
            &app.web.trusted_proxies,
        )))
    }
}

/// A complaint id from the path; anything else is "not found".
#[derive(Debug, Clone, Copy)]
pub struct ComplaintPath(pub ComplaintId);

impl<S: Send + Sync> FromRequestParts<S> for ComplaintPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let not_found = || ApiError(ServiceError::NotFound("complaint"));
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(|id| ComplaintPath(ComplaintId(id)))
            .ok_or_else(not_found)
    }
}

/// A filed complaint: keep the tracking code, it is the only way back.
#[derive(Debug, Serialize, ToSchema)]
pub struct FiledView {
    pub id: i64,
    /// e.g. `ADU-7KQ4-M9XP`.
    pub tracking_code: String,
    pub state: ComplaintState,
}

/// A complaint as staff (or its PD) see it in lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplaintView {
    pub id: i64,
    pub tracking_code: String,
    pub channel: ComplaintChannel,
    pub state: ComplaintState,
    pub category: Option<ComplaintCategory>,
    pub complainant_name: String,
    pub contact: String,
    pub request_reference: Option<String>,
    pub description: String,
    pub received_at: String,
    pub recorded_at: String,
    pub classified_at: Option<String>,
    pub due_at: Option<String>,
    /// The deadline relied on a year with no loaded holiday calendar.
    pub due_uncertain: bool,
    /// Against the deadline now; absent before classification.
    pub sla: Option<SlaState>,
    pub resolved_at: Option<String>,
    pub resolution: Option<String>,
}

impl ComplaintView {
    fn new(c: &Complaint, now: OffsetDateTime) -> Self {
        Self {
            id: c.id.0,
            tracking_code: c.tracking_code.to_string(),
            channel: c.channel,
            state: c.state,
            category: c.category,
            complainant_name: c.complainant_name.clone(),
            contact: c.contact.clone(),
            request_reference: c.request_reference.clone(),
            description: c.description.clone(),
            received_at: rfc3339(c.received_at),
            recorded_at: rfc3339(c.recorded_at),
            classified_at: c.classified_at.map(rfc3339),
            due_at: c.due_at.map(rfc3339),
            due_uncertain: c.due_uncertain,
            sla: c.sla(now),
            resolved_at: c.resolved_at.map(rfc3339),
            resolution: c.resolution.clone(),
        }
    }
}

/// A note or a response.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    pub at: String,
    /// The staff username; absent for a PD.
    pub author: Option<String>,
    pub body: String,
}

/// One complaint with its responses and, for staff, its notes and who
/// handles it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplaintDetailView {
    pub complaint: ComplaintView,
    /// The filing PD's agency.
    pub agency: Option<AgencyRef>,
    pub responses: Vec<EntryView>,
    /// Internal notes (staff only; empty for a PD).
    pub notes: Vec<EntryView>,
    pub assignee: Option<String>,
    pub filed_by: Option<String>,
}

impl ComplaintDetailView {
    fn new(d: &ComplaintDetail, now: OffsetDateTime) -> Self {
        let author = |name: &str| (d.internal && !name.is_empty()).then(|| name.to_owned());
        Self {
            complaint: ComplaintView::new(&d.complaint, now),
            agency: d.agency.as_ref().map(AgencyRef::from),
            responses: d
                .responses
                .iter()
                .map(|r| EntryView {
                    at: rfc3339(r.at),
                    author: author(&r.author_name),
                    body: r.body.clone(),
                })
                .collect(),
            notes: d
                .notes
                .iter()
                .map(|n| EntryView {
                    at: rfc3339(n.at),
                    author: author(&n.author_name),
                    body: n.body.clone(),
                })
                .collect(),
            assignee: d.assignee.clone(),
            filed_by: d.filed_by.clone(),
        }
    }
}

/// A page of complaints, open and nearest deadline first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplaintPage {
    pub items: Vec<ComplaintView>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// A response as the complainant sees it: no author.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicResponseView {
    pub at: String,
    pub body: String,
}

/// What the complainant sees by tracking code: never the notes, staff
/// names, or the complainant's own name and contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicComplaintView {
    pub tracking_code: String,
    pub state: ComplaintState,
    pub category: Option<ComplaintCategory>,
    pub received_at: String,
    /// The resolution deadline, once classified.
    pub due_at: Option<String>,
    pub sla: Option<SlaState>,
    pub responses: Vec<PublicResponseView>,
    pub resolution: Option<String>,
    pub resolved_at: Option<String>,
}

impl From<PublicComplaint> for PublicComplaintView {
    fn from(p: PublicComplaint) -> Self {
        Self {
            tracking_code: p.tracking_code.to_string(),
            state: p.state,
            category: p.category,
            received_at: rfc3339(p.received_at),
            due_at: p.due_at.map(rfc3339),
            sla: p.sla,
            responses: p
                .responses
                .into_iter()
                .map(|(at, body)| PublicResponseView {
                    at: rfc3339(at),
                    body,
                })
                .collect(),
            resolution: p.resolution,
            resolved_at: p.resolved_at.map(rfc3339),
        }
    }
}

/// The category to classify a complaint as.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifyInput {
    pub category: ComplaintCategory,
}

/// The deadline a classification set.
#[derive(Debug, Serialize, ToSchema)]
pub struct DueView {
    pub id: i64,
    pub state: ComplaintState,
    pub category: Option<ComplaintCategory>,
    pub due_at: Option<String>,
    pub due_uncertain: bool,
}

/// Who handles a complaint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    /// A staff username; null to unassign.
    pub assignee: Option<String>,
}

/// A note or a response.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextInput {
    #[serde(default)]
    pub body: String,
}

/// How a complaint was settled.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    #[serde(default)]
    pub resolution: String,
}

/// Query parameters of the list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// `received`, `classified`, `answered` or `resolved`.
    pub state: Option<String>,
    /// Only open complaints past their deadline.
    pub overdue: Option<bool>,
    pub page: Option<i64>,
    /// 1-200, default 50.
    pub per_page: Option<i64>,
}

/// File a complaint: anyone (rate-limited per client), a PD (its agency
/// attached) or staff recording one from another channel (`channel`,
/// `received_at`).
#[utoipa::path(post, path = "/api/v1/complaints", request_body = ComplaintInput, tag = "complaints",
    security((), ("bearer" = [])),
    responses((status = 201, body = FiledView), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create(
    State(app): State<Arc<App>>,
    MaybeUser(user): MaybeUser,
    ClientAddr(client): ClientAddr,
    AppJson(input): AppJson<ComplaintInput>,
) -> ApiResult<(StatusCode, Json<FiledView>)> {
    let filed = complaints::file(&app, user.as_ref(), client, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(FiledView {
            id: filed.id.0,
            tracking_code: filed.tracking_code.to_string(),
            state: filed.state,
        }),
    ))
}

/// The complainant's view by tracking code (no sign-in; rate-limited per
/// client; 404 for an unknown code).
#[utoipa::path(get, path = "/api/v1/complaints/{tracking_code}", tag = "complaints",
    security(()),
    params(("tracking_code" = String, Path, description = "e.g. ADU-7KQ4-M9XP")),
    responses((status = 200, body = PublicComplaintView), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn public(
    State(app): State<Arc<App>>,
    ClientAddr(client): ClientAddr,
    Path(code): Path<String>,
) -> ApiResult<Json<PublicComplaintView>> {
    let view = complaints::public_view(&app, client, &code).await?;
    Ok(Json(view.into()))
}

/// List complaints (staff: all; a PD: its agency's).
#[utoipa::path(get, path = "/api/v1/complaints", params(ListParams), tag = "complaints",
    responses((status = 200, body = ComplaintPage), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<ComplaintPage>> {
    let Query(p) =
        params.map_err(|e| ApiError::malformed(Some("query".to_owned()), e.body_text()))?;
    let query = ComplaintQuery {
        state: p.state,
        overdue: p.overdue.unwrap_or(false),
        page: p.page,
        per_page: p.per_page,
    };
    let list = complaints::list(&app, &user, query).await?;
    let now = app.now();
    Ok(Json(ComplaintPage {
        items: list
            .page
            .items
            .iter()
            .map(|c| ComplaintView::new(c, now))
            .collect(),
        total: list.page.total.value(),
        page: list.page_number,
        per_page: list.per_page,
    }))
}

/// One complaint with its responses and, for staff, its internal notes.
#[utoipa::path(get, path = "/api/v1/complaints/{id}/detail", tag = "complaints",
    params(("id" = i64, Path)),
    responses((status = 200, body = ComplaintDetailView), (status = 404, body = ErrorBody)))]
pub async fn detail(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    ComplaintPath(id): ComplaintPath,
) -> ApiResult<Json<ComplaintDetailView>> {
    let detail = complaints::detail(&app, &user, id).await?;
    Ok(Json(ComplaintDetailView::new(&detail, app.now())))
}

/// Classify a complaint (staff); its deadline counts from receipt.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/classify", request_body = ClassifyInput,
    tag = "complaints", params(("id" = i64, Path)),
    responses((status = 200, body = DueView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn classify(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    ComplaintPath(id): ComplaintPath,
    AppJson(input): AppJson<ClassifyInput>,
) -> ApiResult<Json<DueView>> {
    let c = complaints::classify(&app, &user, id, input.category).await?;
    Ok(Json(DueView {
        id: c.id.0,
        state: c.state,
        category: c.category,
        due_at: c.due_at.map(rfc3339),
        due_uncertain: c.due_uncertain,
    }))
}

/// Give a complaint to a staff user (staff).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/assign", request_body = AssignInput,
    tag = "complaints", params(("id" = i64, Path)),
    responses((status = 200, body = ComplaintView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn assign(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    ComplaintPath(id): ComplaintPath,
    AppJson(input): AppJson<AssignInput>,
) -> ApiResult<Json<ComplaintView>> {
    let c = complaints::assign(&app, &user, id, input.assignee.as_deref()).await?;
    Ok(Json(ComplaintView::new(&c, app.now())))
}

/// Add an internal note (staff; never shown to the complainant).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/notes", request_body = TextInput,
    tag = "complaints", params(("id" = i64, Path)),
    responses((status = 201, body = ComplaintView), (status = 403, body = ErrorBody)))]
pub async fn note(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    ComplaintPath(id): ComplaintPath,
    AppJson(input): AppJson<TextInput>,
) -> ApiResult<(StatusCode, Json<ComplaintView>)> {
    let c = complaints::note(&app, &user, id, &input.body).await?;
    Ok((StatusCode::CREATED, Json(ComplaintView::new(&c, app.now()))))
}

/// Respond to the complainant (staff; shown on the status page).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/responses", request_body = TextInput,
    tag = "complaints", params(("id" = i64, Path)),
    responses((status = 201, body = ComplaintView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn respond(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    ComplaintPath(id): ComplaintPath,
    AppJson(input): AppJson<TextInput>,
) -> ApiResult<(StatusCode, Json<ComplaintView>)> {
    let c = complaints::respond(&app, &user, id, &input.body).await?;
    Ok((StatusCode::CREATED, Json(ComplaintView::new(&c, app.now()))))
}

/// Resolve a complaint (staff).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/resolve", request_body = ResolveInput,
    tag = "complaints", params(("id" = i64, Path)),
    responses((status = 200, body = ComplaintView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn resolve(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    ComplaintPath(id): ComplaintPath,
    AppJson(input): AppJson<ResolveInput>,
) -> ApiResult<Json<ComplaintView>> {
    let c = complaints::resolve(&app, &user, id, &input.resolution).await?;
    Ok(Json(ComplaintView::new(&c, app.now())))
}
