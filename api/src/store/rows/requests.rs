//! The rows of `requests` and `request_transitions`, and what the
//! request functions decide without the database.

use crate::model::{
    Actor, AgencyId, Letter, RequestId, RequestState, SubdomainRequest, Transition, UserId,
};
use crate::store::codec::{
    corrupt, from_ms, from_ms_opt, parse_date, parse_json, parse_serial, parse_text,
};
use crate::store::rows::many::Bind;
use crate::store::{RequestRevision, StateChange, StoreError, StoreResult};

/// The columns of `requests` that [`RequestRow`] reads, in a macro so
/// that queries stay `&'static str` literals built with `concat!`.
macro_rules! request_columns {
    () => {
        "id, reference, agency_id, kind, name, records, previous_records, purpose, \
         letter_number, letter_date, letter_sha256, letter_size, confirmation_sha256, \
         confirmation_size, state, state_reason, version, submitted_by, submitted_at, due_at, \
         due_uncertain, approved_digest, serial_after, verify_deadline, updated_at"
    };
}
pub(in crate::store) use request_columns;

/// A row of `requests`.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct RequestRow {
    id: i64,
    reference: String,
    agency_id: i64,
    kind: String,
    name: String,
    records: String,
    previous_records: String,
    purpose: String,
    letter_number: String,
    letter_date: String,
    letter_sha256: Option<String>,
    letter_size: Option<i64>,
    confirmation_sha256: Option<String>,
    confirmation_size: Option<i64>,
    state: String,
    state_reason: Option<String>,
    version: i64,
    submitted_by: i64,
    submitted_at: i64,
    due_at: i64,
    due_uncertain: bool,
    approved_digest: Option<String>,
    serial_after: Option<i64>,
    verify_deadline: Option<i64>,
    updated_at: i64,
}

impl TryFrom<RequestRow> for SubdomainRequest {
    type Error = StoreError;

    fn try_from(row: RequestRow) -> StoreResult<Self> {
        let letter = stored_letter("requests.letter_sha256", row.letter_sha256, row.letter_size)?;
        let confirmation = stored_letter(
            "requests.confirmation_sha256",
            row.confirmation_sha256,
            row.confirmation_size,
        )?;
        Ok(SubdomainRequest {
            id: RequestId(row.id),
            reference: row.reference,
            agency_id: AgencyId(row.agency_id),
            kind: parse_text("requests.kind", &row.kind)?,
            name: row.name,
            records: parse_json("requests.records", &row.records)?,
            previous_records: parse_json("requests.previous_records", &row.previous_records)?,
            purpose: row.purpose,
            letter_number: row.letter_number,
            letter_date: parse_date("requests.letter_date", &row.letter_date)?,
            letter,
            confirmation,
            state: parse_text("requests.state", &row.state)?,
            state_reason: row.state_reason,
            version: row.version,
            submitted_by: UserId(row.submitted_by),
            submitted_at: from_ms("requests.submitted_at", row.submitted_at)?,
            due_at: from_ms("requests.due_at", row.due_at)?,
            due_uncertain: row.due_uncertain,
            approved_digest: row.approved_digest,
            serial_after: parse_serial("requests.serial_after", row.serial_after)?,
            verify_deadline: from_ms_opt("requests.verify_deadline", row.verify_deadline)?,
            updated_at: from_ms("requests.updated_at", row.updated_at)?,
        })
    }
}

/// A stored PDF's hash and size, which are set together or not at all.
pub(in crate::store) fn stored_letter(
    column: &'static str,
    sha256: Option<String>,
    size: Option<i64>,
) -> StoreResult<Option<Letter>> {
    match (sha256, size) {
        (Some(sha256), Some(size)) => Ok(Some(Letter { sha256, size })),
        (None, None) => Ok(None),
        _ => Err(corrupt(column, "hash and size must be set together")),
    }
}

/// A row of `request_transitions` with the actor's username.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct TransitionRow {
    from_state: Option<String>,
    to_state: String,
    actor_id: Option<i64>,
    actor_name: Option<String>,
    note: Option<String>,
    at: i64,
}

impl TryFrom<TransitionRow> for Transition {
    type Error = StoreError;

    fn try_from(row: TransitionRow) -> StoreResult<Self> {
        Ok(Transition {
            from: row
                .from_state
                .map(|s| parse_text("request_transitions.from_state", &s))
                .transpose()?,
            to: parse_text("request_transitions.to_state", &row.to_state)?,
            actor: row
                .actor_id
                .map_or(Actor::System, |id| Actor::User(UserId(id))),
            actor_name: row.actor_name,
            note: row.note,
            at: from_ms("request_transitions.at", row.at)?,
        })
    }
}

/// A request's reference: `DNS/<year>/<number in the year>`.
pub(in crate::store) fn reference(year: i32, seq: i64) -> String {
    format!("DNS/{year}/{seq:06}")
}

/// Fails with [`StoreError::IllegalTransition`] unless the state machine
/// allows `change`.
pub(in crate::store) fn check_transition(change: &StateChange) -> StoreResult<()> {
    if !change.from.can_become(change.to) {
        return Err(StoreError::IllegalTransition {
            from: change.from,
            to: change.to,
        });
    }
    Ok(())
}

/// Why a conditional update changed no row, from the request's state and
/// version as read after it (`found`): it does not exist, it is not in
/// `expected` (checked first, as the more telling answer), or its version
/// moved on.
pub(in crate::store) fn miss(
    found: Result<Option<(String, i64)>, sqlx::Error>,
    expected: RequestState,
    expected_version: Option<i64>,
) -> StoreError {
    let (state, version) = match found {
        Ok(Some(row)) => row,
        Ok(None) => return StoreError::NotFound("request"),
        Err(e) => return e.into(),
    };
    let actual = match parse_text::<RequestState>("requests.state", &state) {
        Ok(actual) => actual,
        Err(e) => return e,
    };
    match expected_version {
        _ if actual != expected => StoreError::StateMismatch { expected, actual },
        Some(expected) if expected != version => StoreError::VersionMismatch {
            expected,
            actual: version,
        },
        // The row matched after all: only possible if it changed between
        // the two statements, which the write lock rules out.
        _ => StoreError::StateMismatch { expected, actual },
    }
}

/// The revision's pause in milliseconds, as added to `paused_working_ms`.
pub(in crate::store) fn paused_ms(revision: &RequestRevision) -> i64 {
    // 2^63 ms is 292 million years: saturating never changes a real pause.
    i64::try_from(revision.paused.as_millis()).unwrap_or(i64::MAX)
}

/// `changes` in sets that one UPDATE can apply: the same move and the
/// same side fields (`note` goes to each transition row, not the request).
/// Each set: one of its changes, and every request id in it.
pub(in crate::store) fn alike(changes: &[StateChange]) -> Vec<(&StateChange, Vec<i64>)> {
    let mut sets: Vec<(&StateChange, Vec<i64>)> = Vec::new();
    for change in changes {
        let same = |c: &&StateChange| {
            (
                c.from,
                c.to,
                c.expected_version,
                c.serial_after,
                c.verify_deadline,
            ) == (
                change.from,
                change.to,
                change.expected_version,
                change.serial_after,
                change.verify_deadline,
            ) && c.reason == change.reason
                && c.approved_digest == change.approved_digest
        };
        match sets.iter_mut().find(|(c, _)| same(c)) {
            Some((_, ids)) => ids.push(change.request_id.0),
            None => sets.push((change, vec![change.request_id.0])),
        }
    }
    sets
}

/// The statement that writes transitions ([`transition_rows`]).
pub(in crate::store) const INSERT_TRANSITIONS: &str =
    "INSERT INTO request_transitions (request_id, from_state, to_state, actor_id, note, at) ";

/// The transition rows of `changes` at `at_ms`.
pub(in crate::store) fn transition_rows(changes: &[StateChange], at_ms: i64) -> Vec<Vec<Bind>> {
    changes
        .iter()
        .map(|change| {
            vec![
                change.request_id.0.into(),
                change.from.as_str().into(),
                change.to.as_str().into(),
                change.actor.user_id().map(|u| u.0).into(),
                change.note.clone().into(),
                at_ms.into(),
            ]
        })
        .collect()
}
