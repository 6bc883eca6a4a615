//! The rows of `name_versions`, `drift_findings` and `drift_runs`, and the
//! audit entries of drift.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::audit::{AuditAction, AuditActor, AuditEvent};
use provisioner::record::RecordInput;

use crate::model::{
    AgencyId, DriftFinding, DriftRun, DriftState, NameVersion, RequestId, SubdomainRequest, UserId,
    VersionSource,
};
use crate::store::codec::{from_ms, from_ms_opt, parse_json, parse_serial, parse_text};
use crate::store::rows::many::{Bind, json};
use crate::store::{ImportedName, StoreError, StoreResult};

/// A version of a name to write to `name_versions`.
pub(in crate::store) struct NewVersion<'a> {
    pub(in crate::store) name: &'a str,
    pub(in crate::store) agency_id: Option<AgencyId>,
    pub(in crate::store) records: &'a [RecordInput],
    pub(in crate::store) source: VersionSource,
    pub(in crate::store) request_id: Option<RequestId>,
    pub(in crate::store) approved_by: Option<UserId>,
    pub(in crate::store) serial: Option<u32>,
}

impl<'a> NewVersion<'a> {
    /// The version an activated request made, approved by `approver`.
    pub(in crate::store) fn from_request(
        request: &'a SubdomainRequest,
        approver: Option<UserId>,
    ) -> Self {
        NewVersion {
            name: &request.name,
            agency_id: Some(request.agency_id),
            records: &request.records,
            source: VersionSource::Request,
            request_id: Some(request.id),
            approved_by: approver,
            serial: request.serial_after,
        }
    }

    /// The first version of a name imported from the zone at `serial`.
    pub(in crate::store) fn imported(name: &'a ImportedName, serial: Option<u32>) -> Self {
        NewVersion {
            name: &name.name,
            agency_id: name.agency_id,
            records: &name.records,
            source: VersionSource::Imported,
            request_id: None,
            approved_by: None,
            serial,
        }
    }

    /// `records`, what the zone holds at `serial`, adopted by `by` as the
    /// version of `name` (of agency `agency_id`).
    pub(in crate::store) fn adopted(
        name: &'a str,
        agency_id: Option<AgencyId>,
        records: &'a [RecordInput],
        by: UserId,
        serial: Option<u32>,
    ) -> Self {
        NewVersion {
            name,
            agency_id,
            records,
            source: VersionSource::Adopted,
            request_id: None,
            approved_by: Some(by),
            serial,
        }
    }
}

/// A row of `name_versions`, with the approver's username.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct VersionRow {
    id: i64,
    name: String,
    agency_id: Option<i64>,
    records: String,
    source: String,
    request_id: Option<i64>,
    approved_by: Option<String>,
    serial: Option<i64>,
    at: i64,
}

impl TryFrom<VersionRow> for NameVersion {
    type Error = StoreError;

    fn try_from(row: VersionRow) -> StoreResult<Self> {
        Ok(NameVersion {
            id: row.id,
            name: row.name,
            agency_id: row.agency_id.map(AgencyId),
            records: parse_json("name_versions.records", &row.records)?,
            source: parse_text("name_versions.source", &row.source)?,
            request_id: row.request_id.map(RequestId),
            approved_by: row.approved_by,
            serial: parse_serial("name_versions.serial", row.serial)?,
            at: from_ms("name_versions.at", row.at)?,
        })
    }
}

/// A row of `drift_findings`.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct FindingRow {
    pub(in crate::store) id: i64,
    pub(in crate::store) subject: String,
    kind: String,
    detail: String,
    state: String,
    first_seen_at: i64,
    last_seen_at: i64,
    closed_at: Option<i64>,
    note: Option<String>,
}

impl TryFrom<FindingRow> for DriftFinding {
    type Error = StoreError;

    fn try_from(row: FindingRow) -> StoreResult<Self> {
        Ok(DriftFinding {
            id: row.id,
            subject: row.subject,
            kind: row.kind,
            detail: parse_json::<Value>("drift_findings.detail", &row.detail)?,
            state: parse_text("drift_findings.state", &row.state)?,
            first_seen_at: from_ms("drift_findings.first_seen_at", row.first_seen_at)?,
            last_seen_at: from_ms("drift_findings.last_seen_at", row.last_seen_at)?,
            closed_at: from_ms_opt("drift_findings.closed_at", row.closed_at)?,
            note: row.note,
        })
    }
}

macro_rules! finding_columns {
    () => {
        "id, subject, kind, detail, state, first_seen_at, last_seen_at, closed_at, note"
    };
}
pub(in crate::store) use finding_columns;

/// A row of `drift_runs` as read: time, primary serial, open findings,
/// error.
pub(in crate::store) fn drift_run(
    (at, serial, findings, error): (i64, Option<i64>, i64, Option<String>),
) -> StoreResult<DriftRun> {
    Ok(DriftRun {
        at: from_ms("drift_runs.at", at)?,
        primary_serial: parse_serial("drift_runs.primary_serial", serial)?,
        findings,
        error,
    })
}

/// The finding `row` if it is open and about a changed managed name, or
/// "not found".
pub(in crate::store) fn open_changed(row: Option<FindingRow>) -> StoreResult<DriftFinding> {
    let finding = DriftFinding::try_from(row.ok_or(StoreError::NotFound("drift finding"))?)?;
    if finding.state != DriftState::Open || finding.kind != "changed" {
        return Err(StoreError::NotFound(
            "open drift finding about a managed name",
        ));
    }
    Ok(finding)
}

/// `finding` as closed in `state` at `now_ms`, with `note`.
pub(in crate::store) fn closed(
    finding: DriftFinding,
    state: DriftState,
    note: Option<&str>,
    now_ms: i64,
) -> StoreResult<DriftFinding> {
    Ok(DriftFinding {
        state,
        closed_at: Some(from_ms("drift_findings.closed_at", now_ms)?),
        note: note.map(str::to_owned),
        ..finding
    })
}

/// The entry of a finding a run opened.
pub(in crate::store) fn found_event(found: &DriftFinding) -> AuditEvent {
    let mut event = AuditEvent::new(AuditAction::DriftFound, AuditActor::System)
        .with_detail(json!({ "finding": found.id, "difference": found.detail }));
    event.name = Some(found.subject.clone());
    event
}

/// The entry of open finding `id` about `subject` that a run no longer
/// saw.
pub(in crate::store) fn cleared_event(id: i64, subject: String) -> AuditEvent {
    let mut event = AuditEvent::new(AuditAction::DriftCleared, AuditActor::System)
        .with_detail(json!({ "finding": id, "note": "the zone no longer shows it" }));
    event.name = Some(subject);
    event
}

/// The entry of a run that could not compare.
pub(in crate::store) fn failed_event(error: &str) -> AuditEvent {
    AuditEvent::new(AuditAction::DriftFailed, AuditActor::System)
        .with_detail(json!({ "error": error }))
}

/// The entry of `by` adopting `records` (at `serial`) for `finding`, a
/// name of agency `agency_id`.
pub(in crate::store) fn adopted_event(
    finding: &DriftFinding,
    agency_id: Option<AgencyId>,
    records: &[RecordInput],
    serial: Option<u32>,
    by: UserId,
    note: Option<&str>,
) -> AuditEvent {
    let mut event = AuditEvent::new(AuditAction::DriftAdopted, AuditActor::User(by)).with_detail(
        json!({ "finding": finding.id, "records": records, "serial": serial, "note": note }),
    );
    event.name = Some(finding.subject.clone());
    event.agency_id = agency_id;
    event
}

/// The entry of `by` closing `finding` as restored by `request_id`.
pub(in crate::store) fn restored_event(
    finding: &DriftFinding,
    request_id: RequestId,
    by: UserId,
    note: Option<&str>,
) -> AuditEvent {
    AuditEvent::new(AuditAction::DriftRestored, AuditActor::User(by))
        .with_detail(json!({ "finding": finding.id, "request_id": request_id.0, "note": note }))
}

/// The statement that writes versions ([`version_rows`]).
pub(in crate::store) const INSERT_VERSIONS: &str = "INSERT INTO name_versions (name, agency_id, \
     records, source, request_id, approved_by, serial, at) ";

/// The rows of `versions` at `now_ms`.
pub(in crate::store) fn version_rows(
    versions: &[NewVersion<'_>],
    now_ms: i64,
) -> StoreResult<Vec<Vec<Bind>>> {
    versions
        .iter()
        .map(|version| {
            Ok(vec![
                version.name.into(),
                version.agency_id.map(|a| a.0).into(),
                json(version.records)?,
                version.source.as_str().into(),
                version.request_id.map(|r| r.0).into(),
                version.approved_by.map(|u| u.0).into(),
                version.serial.map(i64::from).into(),
                now_ms.into(),
            ])
        })
        .collect()
}

/// The history rows of `requests` just activated, each credited to its
/// reviewer: `approvals` are their transitions to `approved` (request id,
/// actor), oldest first; the last one counts.
pub(in crate::store) fn activated_version_rows(
    requests: &[SubdomainRequest],
    approvals: Vec<(i64, Option<i64>)>,
    now_ms: i64,
) -> StoreResult<Vec<Vec<Bind>>> {
    let approvers = approvers(approvals);
    let versions: Vec<NewVersion> = requests
        .iter()
        .map(|r| NewVersion::from_request(r, approvers.get(&r.id.0).copied()))
        .collect();
    version_rows(&versions, now_ms)
}

/// The reviewer who approved each request, from its transitions (the last
/// approval), by request.
fn approvers(rows: Vec<(i64, Option<i64>)>) -> HashMap<i64, UserId> {
    let mut by_request = HashMap::new();
    for (request_id, actor) in rows {
        match actor {
            Some(actor) => by_request.insert(request_id, UserId(actor)),
            None => by_request.remove(&request_id),
        };
    }
    by_request
}
