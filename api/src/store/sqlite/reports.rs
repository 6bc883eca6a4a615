//! What the SLA reports read: requests filed in a period, with when each
//! went active and the spans it waited for the PD's revision.

use sqlx::SqliteExecutor;
use time::OffsetDateTime;

use crate::store::codec::to_ms;
use crate::store::rows::reports::{FactRow, StepRow, fact_columns, facts};
use crate::store::{SlaFacts, StoreResult};

/// Requests submitted in `[from, to)`, oldest first.
pub(super) async fn submitted_between<'c>(
    ex: impl SqliteExecutor<'c> + Copy,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> StoreResult<Vec<SlaFacts>> {
    let rows: Vec<FactRow> = sqlx::query_as(concat!(
        "SELECT ",
        fact_columns!(),
        " FROM requests WHERE submitted_at >= ? AND submitted_at < ? ORDER BY submitted_at, id"
    ))
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
    let rows: Vec<FactRow> = sqlx::query_as(concat!(
        "SELECT ",
        fact_columns!(),
        " FROM requests
         WHERE state IN ('submitted', 'approved', 'provisioning', 'verifying') AND due_at < ?
         ORDER BY due_at, id"
    ))
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
    facts(rows, steps)
}
