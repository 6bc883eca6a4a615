//! Drift detection (`dnsdesk zone drift`, the hourly job, the API): reads
//! the zone by signed AXFR from the primary, compares every managed name
//! with what dnsdesk recorded, checks the secondaries' serials, and keeps
//! the findings; and the "adopt what the zone has" resolution.

use std::time::Duration;

use provisioner::client::{soa_serial, transfer};
use provisioner::drift::{Finding, Managed, adoptable_inputs, compare, held_at, zone_data};
use provisioner::plan::ZoneSlice;
use provisioner::record::specs_from_inputs;
use sha2::{Digest, Sha256};

use crate::app::{App, ZoneTarget};
use crate::error::ServiceError;
use crate::model::{DriftFinding, DriftRun, RequestKind, Role, SubdomainRequest, User};
use crate::store::{NewFinding, NewRequest, Store, StoreError};

use super::require_role;

/// Roles that read and settle drift.
const NETWORK: &[Role] = &[Role::Netadmin, Role::Admin];

/// Catalogue page size while collecting managed names.
const PAGE: i64 = 500;

/// What one run found.
#[derive(Debug, Clone)]
pub struct DriftReport {
    pub primary_serial: Option<u32>,
    /// Every difference seen now.
    pub findings: Vec<Finding>,
    /// Those not seen before.
    pub opened: Vec<DriftFinding>,
}

/// Why a run could not compare.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error("cannot transfer zone {zone} from {primary}: {source}")]
    Transfer {
        zone: String,
        primary: std::net::SocketAddr,
        source: provisioner::error::QueryError,
    },
    #[error("the catalogue holds a record dnsdesk cannot read back: {0}")]
    Catalogue(String),
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

/// Runs one comparison and records it (findings, audit).
pub async fn run(
    store: &dyn Store,
    target: &ZoneTarget,
    timeout: Duration,
) -> Result<DriftReport, DriftError> {
    let zone_text = provisioner::name::display_name(&target.zone);
    let held = match transfer(target.primary, &target.zone, &target.transfer_key, timeout).await {
        Ok(held) => held,
        Err(source) => {
            let error = DriftError::Transfer {
                zone: zone_text,
                primary: target.primary,
                source,
            };
            store.record_failed_drift_run(&error.to_string()).await?;
            return Err(error);
        }
    };
    let primary_serial = provisioner::drift::apex_serial(&target.zone, &held);
    let managed = managed_names(store).await?;
    let mut findings = compare(&held, &managed);
    if let Some(primary_serial) = primary_serial {
        for server in target
            .authoritative
            .iter()
            .filter(|s| **s != target.primary)
        {
            match soa_serial(*server, &target.zone, timeout).await {
                Ok(serial)
                    if hickory_proto::rr::SerialNumber::from(serial)
                        < hickory_proto::rr::SerialNumber::from(primary_serial) =>
                {
                    findings.push(Finding::Lagging {
                        server: server.to_string(),
                        serial,
                        primary_serial,
                    });
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(%server, error = %e, "drift: secondary unreachable"),
            }
        }
    }
    let new: Vec<NewFinding> = findings.iter().map(new_finding).collect();
    let opened = store.record_drift_run(primary_serial, &new).await?;
    Ok(DriftReport {
        primary_serial,
        findings,
        opened,
    })
}

/// Every name in the catalogue with the zone slice dnsdesk recorded.
async fn managed_names(store: &dyn Store) -> Result<Vec<Managed>, DriftError> {
    let mut managed = Vec::new();
    let mut offset = 0;
    loop {
        let page = store.list_subdomains(None, PAGE, offset).await?;
        let n = page.items.len();
        for sub in page.items {
            let name = provisioner::name::parse_host_name(&sub.name)
                .map_err(|e| DriftError::Catalogue(format!("{}: {e}", sub.name)))?;
            let specs = specs_from_inputs(&name, &sub.records)
                .map_err(|e| DriftError::Catalogue(format!("{}: {e}", sub.name)))?;
            managed.push(Managed {
                records: ZoneSlice::from_specs(&name, &specs),
                name,
            });
        }
        if i64::try_from(n).unwrap_or(0) < PAGE {
            return Ok(managed);
        }
        offset += PAGE;
    }
}

fn new_finding(finding: &Finding) -> NewFinding {
    let detail = serde_json::to_value(finding).unwrap_or(serde_json::Value::Null);
    let fingerprint = hex::encode(Sha256::digest(
        crate::audit::canonical_json(&detail).as_bytes(),
    ));
    NewFinding {
        subject: finding.subject().to_owned(),
        kind: finding.kind().to_owned(),
        detail,
        fingerprint,
    }
}

/// Findings and the latest run, for network admins.
pub async fn findings(
    store: &dyn Store,
    user: &User,
    open_only: bool,
) -> Result<(Vec<DriftFinding>, Option<DriftRun>), ServiceError> {
    require_role(user, NETWORK, "read drift findings")?;
    Ok((
        store.drift_findings(open_only).await?,
        store.last_drift_run().await?,
    ))
}

/// "Adopt what the zone has": reads the name from the zone now and records
/// it as the name's new version, closing the finding.
pub async fn adopt(
    store: &dyn Store,
    target: &ZoneTarget,
    timeout: Duration,
    user: &User,
    id: i64,
    note: Option<&str>,
) -> Result<DriftFinding, ServiceError> {
    require_role(user, NETWORK, "settle drift")?;
    let finding = open_change(store, id).await?;
    let (_, records, serial) = zone_now(target, timeout, &finding).await?;
    Ok(store
        .adopt_drift(id, &records, serial, user.id, note)
        .await?)
}

/// The records the zone holds now at a changed name, in request form, or
/// a conflict saying why they cannot be taken over by a button.
async fn zone_now(
    target: &ZoneTarget,
    timeout: Duration,
    finding: &DriftFinding,
) -> Result<
    (
        provisioner::Name,
        Vec<provisioner::record::RecordInput>,
        Option<u32>,
    ),
    ServiceError,
> {
    let conflict = |message: String| ServiceError::Conflict {
        code: crate::error::ConflictCode::ZoneChanged,
        message,
        field: None,
    };
    let name = provisioner::name::parse_host_name(&finding.subject)
        .map_err(|e| ServiceError::invalid("id", e.to_string()))?;
    let held = transfer(target.primary, &target.zone, &target.transfer_key, timeout)
        .await
        .map_err(|e| conflict(format!("cannot read the zone from {}: {e}", target.primary)))?;
    let serial = provisioner::drift::apex_serial(&target.zone, &held);
    let records = adoptable_inputs(&name, &held_at(&zone_data(&held), &name)).map_err(conflict)?;
    Ok((name, records, serial))
}

/// The open `changed` finding `id`, or "not found".
async fn open_change(store: &dyn Store, id: i64) -> Result<DriftFinding, ServiceError> {
    let finding = store
        .drift_findings(true)
        .await?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or(ServiceError::NotFound("open drift finding"))?;
    if finding.kind != "changed" {
        return Err(ServiceError::invalid(
            "id",
            "only a change at a managed name can be settled this way",
        ));
    }
    Ok(finding)
}

/// "Restore ours": files a change request that puts dnsdesk's record back
/// over what the zone holds now, approved by the admin, and queues it: the
/// normal provisioning path sends it (with prerequisites on exactly what
/// the zone holds now, so nothing newer is clobbered) and verifies every
/// server.
pub async fn restore(
    app: &App,
    user: &User,
    id: i64,
    note: Option<&str>,
) -> Result<SubdomainRequest, ServiceError> {
    require_role(user, NETWORK, "settle drift")?;
    let finding = open_change(app.store.as_ref(), id).await?;
    let ours = app
        .store
        .subdomain(&finding.subject)
        .await?
        .ok_or(ServiceError::NotFound("subdomain"))?;
    // An imported name no agency holds has nobody to file for.
    let agency_id = ours.agency_id.ok_or_else(|| {
        ServiceError::invalid(
            "id",
            format!(
                "{} is not assigned to an agency, so no request can restore it; adopt what the zone holds instead",
                finding.subject
            ),
        )
    })?;
    let (name, held, _) = zone_now(&app.target, app.timing.dns_timeout, &finding).await?;
    let corrupt = |e: provisioner::record::RecordError| {
        ServiceError::Store(StoreError::Corrupt {
            column: "subdomains.records",
            detail: e.to_string(),
        })
    };
    let before = ZoneSlice::from_specs(&name, &specs_from_inputs(&name, &held).map_err(corrupt)?);
    let after = ZoneSlice::from_specs(
        &name,
        &specs_from_inputs(&name, &ours.records).map_err(corrupt)?,
    );
    let digest = provisioner::plan::UpdatePlan::between(&app.target.zone, &before, &after)
        .render()
        .digest();
    let now = app.now();
    let wib = now.to_offset(crate::calendar::WIB);
    let request = NewRequest {
        agency_id,
        kind: RequestKind::Change,
        name: provisioner::name::display_name(&name),
        records: ours.records,
        previous_records: held,
        purpose: format!("Pemulihan rekaman DNS yang diubah di luar dnsdesk (temuan drift #{id})"),
        letter_number: format!("DRIFT-{id}"),
        letter_date: wib.date(),
        submitted_by: user.id,
        submitted_at: now,
        due_at: now,
        due_uncertain: false,
        reference_year: wib.year(),
    };
    let (_, request) = app
        .store
        .restore_drift(id, request, digest, user.id, note)
        .await?;
    app.jobs_queued.notify_one();
    Ok(request)
}
