//! Reading requests and the catalogue, each filtered by what the user may
//! see: a PD its own agency's, staff everything.

use std::collections::HashMap;

use provisioner::plan::{RenderedPlan, ZoneSlice};
use provisioner::record::specs_from_inputs;
use provisioner::verify::{Expectation, ServerReport, check_all};

use super::{can_see, plan_of, visible_request};
use crate::app::App;
use crate::error::ServiceError;
use crate::model::{
    Agency, AgencyId, DnsAttempt, RequestId, RequestState, ServerCheck, Subdomain,
    SubdomainRequest, Transition, User,
};
use crate::store::{Page, RequestFilter, RequestOrder, StoreError};

/// Largest page size.
pub const MAX_PER_PAGE: i64 = 200;

/// Everything about one request.
#[derive(Debug, Clone)]
pub struct RequestDetail {
    pub request: SubdomainRequest,
    pub agency: Agency,
    pub transitions: Vec<Transition>,
    /// The UPDATE that approval sends (or sent), in presentation format.
    pub plan: RenderedPlan,
    /// What an approval must quote to be bound to this plan.
    pub digest: String,
    pub attempts: Vec<DnsAttempt>,
    pub checks: Vec<ServerCheck>,
}

/// One request with its history, plan, attempts and server answers.
pub async fn request_detail(
    app: &App,
    user: &User,
    id: RequestId,
) -> Result<RequestDetail, ServiceError> {
    let request = visible_request(app, user, id).await?;
    let agency = agency(app, request.agency_id).await?;
    let plan = plan_of(&app.target.zone, &request)?.plan.render();
    let digest = plan.digest();
    Ok(RequestDetail {
        transitions: app.store.transitions(id).await?,
        attempts: app.store.attempts(id).await?,
        checks: app.store.checks(id).await?,
        request,
        agency,
        plan,
        digest,
    })
}

/// Which requests to list, as the API receives it.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub state: Option<String>,
    /// Agency code.
    pub agency: Option<String>,
    pub name: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
    pub order: RequestOrder,
}

/// A page of requests with the agencies they belong to.
#[derive(Debug, Clone)]
pub struct RequestList {
    pub page: Page<SubdomainRequest>,
    pub agencies: HashMap<AgencyId, Agency>,
    pub page_number: i64,
    pub per_page: i64,
}

/// Lists requests; a PD sees its agency's only, whatever it asks for.
pub async fn list_requests(
    app: &App,
    user: &User,
    query: ListQuery,
) -> Result<RequestList, ServiceError> {
    let state = query
        .state
        .as_deref()
        .map(|s| {
            s.parse::<RequestState>().map_err(|_| {
                ServiceError::invalid(
                    "state",
                    format!(
                        "must be one of {}",
                        RequestState::ALL
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
        })
        .transpose()?;
    let (page_number, per_page) = paging(query.page, query.per_page)?;
    let agency_filter = match query.agency.as_deref() {
        Some(code) => match app.store.agency_by_code(code).await? {
            Some(a) => Some(a.id),
            None => return Err(ServiceError::invalid("agency", "no agency has this code")),
        },
        None => None,
    };
    let agency_id = if user.role.is_staff() {
        agency_filter
    } else {
        match (user.agency_id, agency_filter) {
            (Some(own), Some(asked)) if own != asked => {
                return Err(ServiceError::invalid(
                    "agency",
                    "you can list your own agency's requests only",
                ));
            }
            (own, _) => own,
        }
    };
    let filter = RequestFilter {
        agency_id,
        state,
        name: query.name.filter(|n| !n.trim().is_empty()),
        order: query.order,
        limit: per_page,
        offset: (page_number - 1) * per_page,
    };
    let page = app.store.list_requests(&filter).await?;
    let agencies = agencies_by_id(app).await?;
    Ok(RequestList {
        page,
        agencies,
        page_number,
        per_page,
    })
}

/// The signed letter of a request the user may see.
pub async fn letter(app: &App, user: &User, id: RequestId) -> Result<Vec<u8>, ServiceError> {
    let request = visible_request(app, user, id).await?;
    let letter = request.letter.ok_or(ServiceError::NotFound("letter"))?;
    app.letters.read(&letter)
}

/// The confirmation letter (surat konfirmasi) of a request the user may
/// see, made when it went active.
pub async fn confirmation(app: &App, user: &User, id: RequestId) -> Result<Vec<u8>, ServiceError> {
    let request = visible_request(app, user, id).await?;
    let letter = request
        .confirmation
        .ok_or(ServiceError::NotFound("confirmation letter"))?;
    app.letters.read(&letter).map_err(|e| match e {
        // Say which letter is missing, not the request letter.
        ServiceError::NotFound(_) => ServiceError::NotFound("confirmation letter"),
        other => other,
    })
}

/// A granted name with what each authoritative server answers for it now.
#[derive(Debug, Clone)]
pub struct SubdomainDetail {
    pub subdomain: Subdomain,
    /// None for an imported name not assigned to an agency.
    pub agency: Option<Agency>,
    pub servers: Vec<ServerReport>,
}

/// The catalogue, a PD's own names only (never the unassigned ones).
pub async fn list_subdomains(
    app: &App,
    user: &User,
    page: Option<i64>,
    per_page: Option<i64>,
) -> Result<(Page<Subdomain>, HashMap<AgencyId, Agency>), ServiceError> {
    let (page, per_page) = paging(page, per_page)?;
    let agency = if user.role.is_staff() {
        None
    } else {
        user.agency_id
    };
    let list = app
        .store
        .list_subdomains(agency, per_page, (page - 1) * per_page)
        .await?;
    let agencies = agencies_by_id(app).await?;
    Ok((list, agencies))
}

/// One granted name, asked of every authoritative server now.
pub async fn subdomain_detail(
    app: &App,
    user: &User,
    name: &str,
) -> Result<SubdomainDetail, ServiceError> {
    let parsed = app
        .names
        .parse_subdomain(name)
        .map_err(|e| ServiceError::invalid("name", e.to_string()))?;
    let text = provisioner::name::display_name(&parsed);
    let subdomain = match app.store.subdomain(&text).await? {
        Some(s) if can_see_name(user, s.agency_id) => s,
        _ => return Err(ServiceError::NotFound("subdomain")),
    };
    let specs = specs_from_inputs(&parsed, &subdomain.records).map_err(|e| {
        ServiceError::Store(StoreError::Corrupt {
            column: "subdomains.records",
            detail: e.to_string(),
        })
    })?;
    let expectation = Expectation::new(
        app.target.zone.clone(),
        &ZoneSlice::default(),
        ZoneSlice::from_specs(&parsed, &specs),
        None,
    )
    .with_transfer_key(app.target.key.clone());
    let servers = check_all(
        &app.target.authoritative,
        &expectation,
        app.timing.dns_timeout,
    )
    .await;
    let agency = match subdomain.agency_id {
        Some(id) => Some(agency(app, id).await?),
        None => None,
    };
    Ok(SubdomainDetail {
        agency,
        subdomain,
        servers,
    })
}

/// Whether `user` may see a catalogue entry of `agency`: staff see every
/// one, a PD its own agency's; an unassigned name (None) only staff.
fn can_see_name(user: &User, agency: Option<AgencyId>) -> bool {
    match agency {
        Some(agency) => can_see(user, agency),
        None => user.role.is_staff(),
    }
}

async fn agencies_by_id(app: &App) -> Result<HashMap<AgencyId, Agency>, ServiceError> {
    Ok(app
        .store
        .list_agencies()
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect())
}

async fn agency(app: &App, id: AgencyId) -> Result<Agency, ServiceError> {
    app.store
        .agency(id)
        .await?
        .ok_or(ServiceError::NotFound("agency"))
}

/// The page number and size asked for, checked (default page 1 of 50).
pub(crate) fn paging(page: Option<i64>, per_page: Option<i64>) -> Result<(i64, i64), ServiceError> {
    let page = page.unwrap_or(1);
    if page < 1 {
        return Err(ServiceError::invalid("page", "must be 1 or more"));
    }
    let per_page = per_page.unwrap_or(50);
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(ServiceError::invalid(
            "per_page",
            format!("must be from 1 to {MAX_PER_PAGE}"),
        ));
    }
    Ok((page, per_page))
}

/// One version of a name with what changed from the one before.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub version: crate::model::NameVersion,
    /// Records (as `TYPE value TTL`) that this version added.
    pub added: Vec<String>,
    /// Records this version removed.
    pub removed: Vec<String>,
}

/// Every version of `name`, oldest first, each with its diff; staff see
/// any name, a PD the names its agency held.
pub async fn subdomain_history(
    app: &App,
    user: &User,
    name: &str,
) -> Result<Vec<HistoryEntry>, ServiceError> {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    let versions = app.store.name_history(&name).await?;
    let visible = user.role.is_staff()
        || versions
            .iter()
            .any(|v| v.agency_id.is_some() && v.agency_id == user.agency_id);
    if versions.is_empty() || !visible {
        return Err(ServiceError::NotFound("subdomain"));
    }
    let mut previous: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(versions.len());
    for version in versions {
        let now: std::collections::BTreeSet<String> =
            version.records.iter().map(record_line).collect();
        out.push(HistoryEntry {
            added: now.difference(&previous).cloned().collect(),
            removed: previous.difference(&now).cloned().collect(),
            version,
        });
        previous = now;
    }
    Ok(out)
}

/// A record as people read it in a history or a report: `TYPE value TTL`,
/// with its glue.
pub fn record_line(r: &provisioner::record::RecordInput) -> String {
    let ttl = r.ttl.map(|t| format!(" {t}")).unwrap_or_default();
    let glue = if r.glue.is_empty() {
        String::new()
    } else {
        format!(" (glue {})", r.glue.join(", "))
    };
    format!("{} {}{ttl}{glue}", r.rtype, r.value)
}
