//! Zone history and drift in SQLite: name versions written with the
//! change that makes them, drift findings kept one open per fingerprint.

use crate::store::rows::many;
use crate::store::rows::zone::{INSERT_VERSIONS, activated_version_rows, version_rows};
use sqlx::types::Json;
use sqlx::{SqliteConnection, SqliteExecutor};

use super::audit;
use crate::model::{
    AgencyId, DriftFinding, DriftRun, DriftState, NameVersion, RequestId, SubdomainRequest, UserId,
};
use crate::store::rows::zone::{
    FindingRow, NewVersion, VersionRow, adopted_event, cleared_event, closed, drift_run,
    failed_event, finding_columns, found_event, open_changed, restored_event,
};
use crate::store::{ImportedName, NewFinding, StoreError, StoreResult};

/// The versions a batch's activated `requests` made, each approved by its
/// reviewer: the approvers read together, the versions written in one
/// statement.
pub(super) async fn versions_from_requests(
    conn: &mut SqliteConnection,
    requests: &[SubdomainRequest],
    now_ms: i64,
) -> StoreResult<()> {
    let ids: Vec<i64> = requests.iter().map(|r| r.id.0).collect();
    let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT request_id, actor_id FROM request_transitions
         WHERE request_id IN (SELECT value FROM json_each(?)) AND to_state = 'approved' ORDER BY id",
    )
    .bind(serde_json::json!(ids).to_string())
    .fetch_all(&mut *conn)
    .await?;
    let rows = activated_version_rows(requests, rows, now_ms)?;
    many::insert::<sqlx::Sqlite>(conn, INSERT_VERSIONS, &rows, "").await
}

/// Writes the first version of each name imported from the zone at
/// `serial`.
pub(super) async fn versions_imported(
    conn: &mut SqliteConnection,
    names: &[ImportedName],
    serial: Option<u32>,
    now_ms: i64,
) -> StoreResult<()> {
    let versions: Vec<NewVersion<'_>> = names
        .iter()
        .map(|name| NewVersion::imported(name, serial))
        .collect();
    many::insert::<sqlx::Sqlite>(conn, INSERT_VERSIONS, &version_rows(&versions, now_ms)?, "").await
}

async fn insert_version(
    conn: &mut SqliteConnection,
    version: &NewVersion<'_>,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO name_versions (name, agency_id, records, source, request_id, approved_by,
             serial, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(version.name)
    .bind(version.agency_id.map(|a| a.0))
    .bind(Json(version.records))
    .bind(version.source.as_str())
    .bind(version.request_id.map(|r| r.0))
    .bind(version.approved_by.map(|u| u.0))
    .bind(version.serial.map(i64::from))
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every version of `name`, oldest first.
pub(super) async fn history(
    ex: impl SqliteExecutor<'_>,
    name: &str,
) -> StoreResult<Vec<NameVersion>> {
    let rows: Vec<VersionRow> = sqlx::query_as(
        "SELECT v.id, v.name, v.agency_id, v.records, v.source, v.request_id,
             u.username AS approved_by, v.serial, v.at
         FROM name_versions v LEFT JOIN users u ON u.id = v.approved_by
         WHERE v.name = ? ORDER BY v.id",
    )
    .bind(name)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(NameVersion::try_from).collect()
}

/// Records a run's findings: new ones are opened (and audited), ones seen
/// again are touched, open ones not seen any more are cleared (and
/// audited). Returns the findings opened by this run.
pub(super) async fn record_run(
    conn: &mut SqliteConnection,
    primary_serial: Option<u32>,
    findings: &[NewFinding],
    now_ms: i64,
) -> StoreResult<Vec<DriftFinding>> {
    let mut opened = Vec::new();
    for finding in findings {
        let touched = sqlx::query(
            "UPDATE drift_findings SET last_seen_at = ? WHERE fingerprint = ? AND state = 'open'",
        )
        .bind(now_ms)
        .bind(&finding.fingerprint)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if touched > 0 {
            continue;
        }
        let row: FindingRow = sqlx::query_as(concat!(
            "INSERT INTO drift_findings (subject, kind, detail, fingerprint, state, first_seen_at,
                 last_seen_at)
             VALUES (?, ?, ?, ?, 'open', ?, ?) RETURNING ",
            finding_columns!()
        ))
        .bind(&finding.subject)
        .bind(&finding.kind)
        .bind(crate::audit::canonical_json(&finding.detail))
        .bind(&finding.fingerprint)
        .bind(now_ms)
        .bind(now_ms)
        .fetch_one(&mut *conn)
        .await?;
        let found = DriftFinding::try_from(row)?;
        audit::append(conn, &found_event(&found), now_ms).await?;
        opened.push(found);
    }
    let gone: Vec<FindingRow> = sqlx::query_as(concat!(
        "SELECT ",
        finding_columns!(),
        " FROM drift_findings WHERE state = 'open' AND last_seen_at < ?"
    ))
    .bind(now_ms)
    .fetch_all(&mut *conn)
    .await?;
    for row in gone {
        sqlx::query("UPDATE drift_findings SET state = 'cleared', closed_at = ? WHERE id = ?")
            .bind(now_ms)
            .bind(row.id)
            .execute(&mut *conn)
            .await?;
        audit::append(conn, &cleared_event(row.id, row.subject), now_ms).await?;
    }
    let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM drift_findings WHERE state = 'open'")
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO drift_runs (at, primary_serial, findings) VALUES (?, ?, ?)")
        .bind(now_ms)
        .bind(primary_serial.map(i64::from))
        .bind(open)
        .execute(&mut *conn)
        .await?;
    Ok(opened)
}

/// Records a run that could not compare (the zone could not be read).
pub(super) async fn record_failed_run(
    conn: &mut SqliteConnection,
    error: &str,
    now_ms: i64,
) -> StoreResult<()> {
    let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM drift_findings WHERE state = 'open'")
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO drift_runs (at, findings, error) VALUES (?, ?, ?)")
        .bind(now_ms)
        .bind(open)
        .bind(error)
        .execute(&mut *conn)
        .await?;
    audit::append(conn, &failed_event(error), now_ms).await?;
    Ok(())
}

/// Findings, newest first; only open ones when `open_only`.
pub(super) async fn findings(
    ex: impl SqliteExecutor<'_>,
    open_only: bool,
) -> StoreResult<Vec<DriftFinding>> {
    let rows: Vec<FindingRow> = sqlx::query_as(concat!(
        "SELECT ",
        finding_columns!(),
        " FROM drift_findings WHERE (? = 0 OR state = 'open') ORDER BY id DESC LIMIT 500"
    ))
    .bind(open_only)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(DriftFinding::try_from).collect()
}

/// The latest run.
pub(super) async fn last_run(ex: impl SqliteExecutor<'_>) -> StoreResult<Option<DriftRun>> {
    let row: Option<(i64, Option<i64>, i64, Option<String>)> = sqlx::query_as(
        "SELECT at, primary_serial, findings, error FROM drift_runs ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(ex)
    .await?;
    row.map(drift_run).transpose()
}

/// Settles an open finding about a managed name by recording `records`
/// (what the zone holds) as the name's new version.
pub(super) async fn adopt(
    conn: &mut SqliteConnection,
    id: i64,
    records: &[provisioner::record::RecordInput],
    serial: Option<u32>,
    by: UserId,
    note: Option<&str>,
    now_ms: i64,
) -> StoreResult<DriftFinding> {
    let finding = open_changed_finding(conn, id).await?;
    // The outer None: no such name; the inner: an unassigned imported name.
    let agency: Option<Option<i64>> =
        sqlx::query_scalar("SELECT agency_id FROM subdomains WHERE name = ?")
            .bind(&finding.subject)
            .fetch_optional(&mut *conn)
            .await?;
    let agency = agency
        .ok_or(StoreError::NotFound("subdomain"))?
        .map(AgencyId);
    sqlx::query("UPDATE subdomains SET records = ?, updated_at = ? WHERE name = ?")
        .bind(Json(records))
        .bind(now_ms)
        .bind(&finding.subject)
        .execute(&mut *conn)
        .await?;
    let version = NewVersion::adopted(&finding.subject, agency, records, by, serial);
    insert_version(conn, &version, now_ms).await?;
    sqlx::query(
        "UPDATE drift_findings SET state = 'adopted', closed_at = ?, closed_by = ?, note = ?
         WHERE id = ?",
    )
    .bind(now_ms)
    .bind(by.0)
    .bind(note)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    let event = adopted_event(&finding, agency, records, serial, by, note);
    audit::append(conn, &event, now_ms).await?;
    closed(finding, DriftState::Adopted, note, now_ms)
}

/// An open finding about a changed managed name, or "not found".
pub(super) async fn open_changed_finding(
    conn: &mut SqliteConnection,
    id: i64,
) -> StoreResult<DriftFinding> {
    let row: Option<FindingRow> = sqlx::query_as(concat!(
        "SELECT ",
        finding_columns!(),
        " FROM drift_findings WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    open_changed(row)
}

/// Closes `finding` as restored by request `request_id`, audited.
pub(super) async fn close_restored(
    conn: &mut SqliteConnection,
    finding: DriftFinding,
    request_id: RequestId,
    by: UserId,
    note: Option<&str>,
    now_ms: i64,
) -> StoreResult<DriftFinding> {
    sqlx::query(
        "UPDATE drift_findings SET state = 'restored', closed_at = ?, closed_by = ?, note = ?,
             request_id = ?
         WHERE id = ?",
    )
    .bind(now_ms)
    .bind(by.0)
    .bind(note)
    .bind(request_id.0)
    .bind(finding.id)
    .execute(&mut *conn)
    .await?;
    let event = restored_event(&finding, request_id, by, note);
    audit::append_for_request(conn, request_id, event, now_ms).await?;
    closed(finding, DriftState::Restored, note, now_ms)
}
