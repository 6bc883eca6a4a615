//! Use cases: what PDs, reviewers and admins can do, each one function that
//! checks the role and the agency, validates, and calls the store.
//!
//! Handlers call exactly one of these; nothing below knows about HTTP.

use provisioner::Name;
use provisioner::plan::{UpdatePlan, ZoneSlice};
use provisioner::record::specs_from_inputs;

use crate::error::ServiceError;
use crate::model::{AgencyId, Role, SubdomainRequest, User};
use crate::store::StoreError;

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod calendar;
pub mod check;
pub mod complaints;
pub mod drift;
pub mod import;
pub mod reports;
pub mod review;
pub mod submit;
pub mod views;

/// The agency of a PD user; staff are refused.
fn require_pd(user: &User) -> Result<AgencyId, ServiceError> {
    match (user.role, user.agency_id) {
        (Role::Pd, Some(agency)) => Ok(agency),
        _ => Err(ServiceError::Forbidden(
            "only PD operators file requests for their agency".to_owned(),
        )),
    }
}

/// Refuses users whose role is not among `roles`.
fn require_role(user: &User, roles: &[Role], action: &str) -> Result<(), ServiceError> {
    if roles.contains(&user.role) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!(
            "your role ({}) may not {action}",
            user.role
        )))
    }
}

/// Whether `user` may see data of `agency`: staff see all, a PD only its
/// own.
fn can_see(user: &User, agency: AgencyId) -> bool {
    user.role.is_staff() || user.agency_id == Some(agency)
}

/// Loads a request the user may see; otherwise "not found", whether it
/// exists or not.
async fn visible_request(
    app: &crate::app::App,
    user: &User,
    id: crate::model::RequestId,
) -> Result<SubdomainRequest, ServiceError> {
    match app.store.request(id).await? {
        Some(request) if can_see(user, request.agency_id) => Ok(request),
        _ => Err(ServiceError::NotFound("request")),
    }
}

/// The zone slices before and after a request, and the plan between them.
#[derive(Debug, Clone)]
pub struct RequestPlan {
    pub name: Name,
    pub before: ZoneSlice,
    pub after: ZoneSlice,
    pub plan: UpdatePlan,
}

/// Rebuilds the plan of a stored request.
pub fn plan_of(zone: &Name, request: &SubdomainRequest) -> Result<RequestPlan, ServiceError> {
    let corrupt = |detail: String| {
        ServiceError::Store(StoreError::Corrupt {
            column: "requests.records",
            detail,
        })
    };
    let name = provisioner::name::parse_host_name(&request.name)
        .map_err(|e| corrupt(format!("name {}: {e}", request.name)))?;
    let after = specs_from_inputs(&name, &request.records).map_err(|e| corrupt(e.to_string()))?;
    let before =
        specs_from_inputs(&name, &request.previous_records).map_err(|e| corrupt(e.to_string()))?;
    let before = ZoneSlice::from_specs(&name, &before);
    let after = ZoneSlice::from_specs(&name, &after);
    let plan = UpdatePlan::between(zone, &before, &after);
    Ok(RequestPlan {
        name,
        before,
        after,
        plan,
    })
}

/// Trims a free-text field and checks its length.
fn text_field(
    field: &str,
    value: &str,
    max: usize,
    required: bool,
) -> Result<String, ServiceError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(ServiceError::invalid(field, "is required"));
    }
    if value.chars().count() > max {
        return Err(ServiceError::invalid(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(ServiceError::invalid(field, "contains control characters"));
    }
    Ok(value.to_owned())
}
