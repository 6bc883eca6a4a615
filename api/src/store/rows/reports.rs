//! The rows the SLA reports read, and the facts made of them.

use std::collections::HashMap;

use crate::model::{AgencyId, RequestId, RequestState};
use crate::store::codec::{from_ms, parse_text};
use crate::store::{SlaFacts, StoreResult};

/// The columns of `requests` that [`FactRow`] reads.
macro_rules! fact_columns {
    () => {
        "id, reference, agency_id, name, kind, state, submitted_at, due_at"
    };
}
pub(in crate::store) use fact_columns;

/// A row of `requests` as the reports read it.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct FactRow {
    pub(in crate::store) id: i64,
    reference: String,
    agency_id: i64,
    name: String,
    kind: String,
    state: String,
    submitted_at: i64,
    due_at: i64,
}

/// A step of a request's history (`request_transitions`).
#[derive(sqlx::FromRow)]
pub(in crate::store) struct StepRow {
    request_id: i64,
    to_state: String,
    at: i64,
}

/// The facts of `rows`, each with its activation time and revision pauses
/// read from `steps` (the requests' transitions, in order).
pub(in crate::store) fn facts(
    rows: Vec<FactRow>,
    steps: Vec<StepRow>,
) -> StoreResult<Vec<SlaFacts>> {
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
