//! What the SLA reports read: requests filed in a period, with when each
//! went active and the spans it waited for the PD's revision.

use std::collections::HashMap;

use sqlx::SqliteExecutor;
use time::OffsetDateTime;

use crate::model::{AgencyId, RequestId, RequestState};
use crate::store::codec::{from_ms, parse_text, to_ms};
use crate::store::{SlaFacts, StoreResult};

#[derive(sqlx::FromRow)]
struct FactRow {
    id: i64,
    reference: String,
    agency_id: i64,
    name: String,
    kind: String,
    state: String,
    submitted_at: i64,
    due_at: i64,
}

#[derive(sqlx::FromRow)]
struct StepRow {
    request_id: i64,
    to_state: String,
    at: i64,
}

/// Requests submitted in `[from, to)`, oldest first.
pub(super) async fn submitted_between<'c>(
    ex: impl SqliteExecutor<'c> + Copy,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> StoreResult<Vec<SlaFacts>> {
    let rows: Vec<FactRow> = sqlx::query_as(
        "SELECT id, reference, agency_id, name, kind, state, submitted_at, due_at
         FROM requests WHERE submitted_at >= ? AND submitted_at < ? ORDER BY submitted_at, id",
    )
    .bind(to_ms(from))
    .bind(to_ms(to))
    .fetch_all(ex)
    .await?;
    with_steps(ex, rows).await
}

/// Open requests (the office's clock running) past their due time.
pub(super) async fn overdue(
    ex: impl SqliteExecutor<'_> + Copy,
    now: OffsetDateTime,
) -> StoreResult<Vec<SlaFacts>> {
    let rows: Vec<FactRow> = sqlx::query_as(
        "SELECT id, reference, agency_id, name, kind, state, submitted_at, due_at
         FROM requests
         WHERE state IN ('submitted', 'approved', 'provisioning', 'verifying') AND due_at < ?
         ORDER BY due_at, id",
    )
    .bind(to_ms(now))
    .fetch_all(ex)
    .await?;
    with_steps(ex, rows).await
}

/// Adds each request's activation time and revision pauses, read from
/// its transitions in one query.
async fn with_steps<'c>(
    ex: impl SqliteExecutor<'c> + Copy,
    rows: Vec<FactRow>,
) -> StoreResult<Vec<SlaFacts>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let steps: Vec<StepRow> = sqlx::query_as(
        "SELECT request_id, to_state, at FROM request_transitions
         WHERE request_id IN (SELECT value FROM json_each(?)) ORDER BY request_id, id",
    )
    .bind(serde_json::Value::from(ids).to_string())
    .fetch_all(ex)
    .await?;
    let mut by_request: HashMap<i64, Vec<StepRow>> = HashMap::new();
    for step in steps {
        by_request.entry(step.request_id).or_default().push(step);
    }
    rows.into_iter()
        .map(|row| {
            let mut active_at = None;
            let mut pauses = Vec::new();
            let mut paused_since = None;
            for step in by_request.remove(&row.id).unwrap_or_default() {
                let at = from_ms("request_transitions.at", step.at)?;
                let to: RequestState = parse_text("request_transitions.to_state", &step.to_state)?;
                if let Some(start) = paused_since.take() {
                    pauses.push((start, Some(at)));
                }
                match to {
                    RequestState::RevisionRequested => paused_since = Some(at),
                    RequestState::Active => active_at = Some(at),
                    _ => {}
                }
            }
            if let Some(start) = paused_since {
                pauses.push((start, None));
            }
            Ok(SlaFacts {
                id: RequestId(row.id),
                reference: row.reference,
                agency_id: AgencyId(row.agency_id),
                name: row.name,
                kind: parse_text("requests.kind", &row.kind)?,
                state: parse_text("requests.state", &row.state)?,
                submitted_at: from_ms("requests.submitted_at", row.submitted_at)?,
                due_at: from_ms("requests.due_at", row.due_at)?,
                active_at,
                pauses,
            })
        })
        .collect()
}
