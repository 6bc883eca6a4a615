//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{audit, calendar, complaints, dto, error, requests, subdomains, zone};
use crate::model::{
    ComplaintCategory, ComplaintChannel, ComplaintState, RequestKind, RequestState, SlaState,
};
use crate::service::complaints::ComplaintInput;
use crate::service::submit::RequestInput;

/// The API description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "dnsdesk", description = "Subdomain requests for kalbarprov.go.id: review, RFC 2136 provisioning, verification."),
    paths(
        requests::create, requests::list, requests::get, requests::revise,
        requests::put_letter, requests::get_letter, requests::get_confirmation,
        requests::approve, requests::reject, requests::request_revision, requests::retry,
        subdomains::list, subdomains::get, audit::list,
        zone::history, zone::drift, zone::adopt, zone::restore,
        calendar::list, calendar::add, calendar::remove,
        complaints::create, complaints::public, complaints::list, complaints::detail,
        complaints::classify, complaints::assign, complaints::note, complaints::respond,
        complaints::resolve,
    ),
    components(schemas(
        RequestInput, RequestKind, RequestState, SlaState, dto::RecordDoc, dto::RequestView, dto::RequestPage,
        dto::PlanView, dto::TransitionView, dto::AttemptView, dto::ServerView, dto::LetterView,
        dto::AgencyRef, dto::SubdomainView, dto::SubdomainPage, dto::DecisionInput,
        error::ErrorBody, error::ErrorDetail, audit::AuditPage,
        calendar::HolidayDoc, calendar::CalendarView, zone::VersionView, zone::FindingView, zone::RunView, zone::DriftView, zone::ResolveInput,
        ComplaintInput, ComplaintChannel, ComplaintCategory, ComplaintState, complaints::FiledView,
        complaints::ComplaintView, complaints::ComplaintDetailView, complaints::EntryView,
        complaints::ComplaintPage, complaints::PublicComplaintView, complaints::PublicResponseView,
        complaints::ClassifyInput, complaints::DueView, complaints::AssignInput,
        complaints::TextInput, complaints::ResolveInput,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/v1/openapi.json`
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
