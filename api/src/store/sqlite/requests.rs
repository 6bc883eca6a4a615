//! Requests in SQLite: filing, reading, listing, and every change of
//! state with its transition row.
//!
//! Functions that write take a connection already inside the caller's
//! `BEGIN IMMEDIATE` transaction, so a state change, its transition, its
//! job and its catalogue entry commit together or not at all.

use std::collections::HashMap;

use sqlx::types::Json;
use sqlx::{SqliteConnection, SqliteExecutor};

use super::jobs;
use crate::model::{Actor, Letter, RequestId, RequestState, SubdomainRequest, Transition};
use crate::store::codec::{date_text, db_error, open_states, to_ms};
use crate::store::rows::listing::{self, Dialect};
use crate::store::rows::many;
use crate::store::rows::page;
use crate::store::rows::requests::{
    INSERT_TRANSITIONS, RequestRow, TransitionRow, alike, check_transition, miss, paused_ms,
    reference, request_columns, transition_rows,
};
use crate::store::{
    NewRequest, Page, RequestFilter, RequestRevision, StateChange, StoreError, StoreResult,
};

pub(super) async fn fetch(
    ex: impl SqliteExecutor<'_>,
    id: RequestId,
) -> StoreResult<Option<SubdomainRequest>> {
    let row: Option<RequestRow> = sqlx::query_as(concat!(
        "SELECT ",
        request_columns!(),
        " FROM requests WHERE id = ?"
    ))
    .bind(id.0)
    .fetch_optional(ex)
    .await?;
    row.map(SubdomainRequest::try_from).transpose()
}

/// The requests of `ids` that exist, by id.
pub(super) async fn fetch_many(
    conn: &mut SqliteConnection,
    ids: &[RequestId],
) -> StoreResult<Vec<SubdomainRequest>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    let rows: Vec<RequestRow> = sqlx::query_as(concat!(
        "SELECT ",
        request_columns!(),
        " FROM requests WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id"
    ))
    .bind(serde_json::json!(ids).to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(SubdomainRequest::try_from).collect()
}

/// [`fetch`] for a request the caller has just written.
pub(super) async fn fetch_written(
    conn: &mut SqliteConnection,
    id: RequestId,
) -> StoreResult<SubdomainRequest> {
    fetch(conn, id)
        .await?
        .ok_or(StoreError::NotFound("request"))
}

/// The open request holding `name`, if any.
pub(super) async fn open_for_name(
    ex: impl SqliteExecutor<'_>,
    name: &str,
) -> StoreResult<Option<SubdomainRequest>> {
    let row: Option<RequestRow> = sqlx::query_as(concat!(
        "SELECT ",
        request_columns!(),
        " FROM requests WHERE name = ? AND state IN (SELECT value FROM json_each(?))
          ORDER BY id DESC LIMIT 1"
    ))
    .bind(name)
    .bind(open_states())
    .fetch_optional(ex)
    .await?;
    row.map(SubdomainRequest::try_from).transpose()
}

/// The open requests holding any of `names`: each such name with its
/// request's reference.
pub(super) async fn open_for_names(
    ex: impl SqliteExecutor<'_>,
    names: &[&str],
) -> StoreResult<HashMap<String, String>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, reference FROM requests
         WHERE name IN (SELECT value FROM json_each(?)) AND state IN (SELECT value FROM json_each(?))",
    )
    .bind(serde_json::json!(names).to_string())
    .bind(open_states())
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Files a request: its reference, its row and its first transition.
pub(super) async fn insert(
    conn: &mut SqliteConnection,
    new: &NewRequest,
) -> StoreResult<RequestId> {
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO reference_counters (year, last) VALUES (?, 1)
         ON CONFLICT (year) DO UPDATE SET last = last + 1
         RETURNING last",
    )
    .bind(new.reference_year)
    .fetch_one(&mut *conn)
    .await?;
    let reference = reference(new.reference_year, seq);
    let submitted_at = to_ms(new.submitted_at);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO requests (reference, agency_id, kind, name, records, previous_records, purpose,
             letter_number, letter_date, state, version, submitted_by, submitted_at, due_at,
             due_uncertain, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)
         RETURNING id",
    )
    .bind(&reference)
    .bind(new.agency_id.0)
    .bind(new.kind.as_str())
    .bind(&new.name)
    .bind(Json(&new.records))
    .bind(Json(&new.previous_records))
    .bind(&new.purpose)
    .bind(&new.letter_number)
    .bind(date_text(new.letter_date))
    .bind(RequestState::Submitted.as_str())
    .bind(new.submitted_by.0)
    .bind(submitted_at)
    .bind(to_ms(new.due_at))
    .bind(new.due_uncertain)
    .bind(submitted_at)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_error)?;
    let id = RequestId(id);
    insert_transition(
        conn,
        id,
        None,
        RequestState::Submitted,
        Actor::User(new.submitted_by),
        None,
        submitted_at,
    )
    .await?;
    Ok(id)
}

/// Appends one step to a request's history.
async fn insert_transition(
    ex: impl SqliteExecutor<'_>,
    id: RequestId,
    from: Option<RequestState>,
    to: RequestState,
    actor: Actor,
    note: Option<&str>,
    at_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO request_transitions (request_id, from_state, to_state, actor_id, note, at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(id.0)
    .bind(from.map(RequestState::as_str))
    .bind(to.as_str())
    .bind(actor.user_id().map(|u| u.0))
    .bind(note)
    .bind(at_ms)
    .execute(ex)
    .await?;
    Ok(())
}

/// Why a conditional update of request `id` changed no row: it does not
/// exist, it is not in `expected` (checked first, as the more telling
/// answer), or its version moved on.
async fn explain_miss(
    conn: &mut SqliteConnection,
    id: RequestId,
    expected: RequestState,
    expected_version: Option<i64>,
) -> StoreError {
    let row: Result<Option<(String, i64)>, sqlx::Error> =
        sqlx::query_as("SELECT state, version FROM requests WHERE id = ?")
            .bind(id.0)
            .fetch_optional(conn)
            .await;
    miss(row, expected, expected_version)
}

/// Applies `change` with its transition row and job effect. The job is
/// checked first, so a worker that lost its lease changes nothing.
pub(super) async fn apply_change(
    conn: &mut SqliteConnection,
    change: &StateChange,
    now_ms: i64,
) -> StoreResult<()> {
    apply_changes(conn, std::slice::from_ref(change), now_ms).await
}

/// Applies a batch's `changes` (each request once) with their job
/// effects and transition rows: one UPDATE for each set of alike changes,
/// one INSERT of every transition, where [`apply_change`] takes three
/// statements a request.
pub(super) async fn apply_changes(
    conn: &mut SqliteConnection,
    changes: &[StateChange],
    now_ms: i64,
) -> StoreResult<()> {
    for change in changes {
        check_transition(change)?;
        jobs::apply_effect(conn, change.request_id, change.job, now_ms).await?;
    }
    for (change, ids) in alike(changes) {
        let changed = sqlx::query(
            "UPDATE requests SET state = ?1, version = version + 1, updated_at = ?2, state_reason = ?3,
                 approved_digest = COALESCE(?4, approved_digest),
                 serial_after = COALESCE(?5, serial_after),
                 verify_deadline = COALESCE(?6, verify_deadline)
             WHERE id IN (SELECT value FROM json_each(?7)) AND state = ?8
                 AND (?9 IS NULL OR version = ?9)",
        )
        .bind(change.to.as_str())
        .bind(now_ms)
        .bind(change.reason.as_deref())
        .bind(change.approved_digest.as_deref())
        .bind(change.serial_after.map(i64::from))
        .bind(change.verify_deadline.map(to_ms))
        .bind(serde_json::json!(ids).to_string())
        .bind(change.from.as_str())
        .bind(change.expected_version)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if changed != ids.len() as u64 {
            // Which one did not move, and why (the first of them).
            let missed: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM requests WHERE id IN (SELECT value FROM json_each(?1))
                 AND NOT (state = ?2 AND updated_at = ?3)",
            )
            .bind(serde_json::json!(ids).to_string())
            .bind(change.to.as_str())
            .bind(now_ms)
            .fetch_optional(&mut *conn)
            .await?;
            let id = missed.map_or(change.request_id, RequestId);
            return Err(explain_miss(conn, id, change.from, change.expected_version).await);
        }
    }
    many::insert::<sqlx::Sqlite>(
        conn,
        INSERT_TRANSITIONS,
        &transition_rows(changes, now_ms),
        "",
    )
    .await
}

/// Records the letter of a request still with its agency
/// (`submitted` or `revision_requested`).
pub(super) async fn attach_letter(
    conn: &mut SqliteConnection,
    id: RequestId,
    letter: &Letter,
    now_ms: i64,
) -> StoreResult<()> {
    let changed = sqlx::query(
        "UPDATE requests SET letter_sha256 = ?1, letter_size = ?2, version = version + 1, updated_at = ?3
         WHERE id = ?4 AND state IN (?5, ?6)",
    )
    .bind(&letter.sha256)
    .bind(letter.size)
    .bind(now_ms)
    .bind(id.0)
    .bind(RequestState::Submitted.as_str())
    .bind(RequestState::RevisionRequested.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed == 0 {
        // The contract names `submitted` as the expected state of both.
        return Err(explain_miss(conn, id, RequestState::Submitted, None).await);
    }
    Ok(())
}

/// Records the confirmation letter of a request going active, inside the
/// activation's transaction (which bumps the version).
pub(super) async fn record_confirmation(
    ex: impl SqliteExecutor<'_>,
    id: RequestId,
    letter: &Letter,
) -> StoreResult<()> {
    let changed = sqlx::query(
        "UPDATE requests SET confirmation_sha256 = ?1, confirmation_size = ?2 WHERE id = ?3",
    )
    .bind(&letter.sha256)
    .bind(letter.size)
    .bind(id.0)
    .execute(ex)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound("request"));
    }
    Ok(())
}

/// Replaces a request's content, moves its due time by the pause, and
/// sends it back to `submitted`. The attached letter file, if any, stays:
/// the agency replaces it with `attach_letter` when it changes.
///
/// The transition is dated `revision.resubmitted_at`, the instant the
/// pause was measured to, so that the timeline and the moved due time
/// agree; `updated_at` is the time of the write, as for every change.
pub(super) async fn revise(
    conn: &mut SqliteConnection,
    id: RequestId,
    revision: &RequestRevision,
    actor: Actor,
    now_ms: i64,
) -> StoreResult<()> {
    let (from, to) = (RequestState::RevisionRequested, RequestState::Submitted);
    let changed = sqlx::query(
        "UPDATE requests SET records = ?1, previous_records = ?2, purpose = ?3, letter_number = ?4,
             letter_date = ?5, state = ?6, state_reason = NULL, version = version + 1, updated_at = ?7,
             due_at = ?8, due_uncertain = ?9, paused_working_ms = paused_working_ms + ?10
         WHERE id = ?11 AND state = ?12",
    )
    .bind(Json(&revision.records))
    .bind(Json(&revision.previous_records))
    .bind(&revision.purpose)
    .bind(&revision.letter_number)
    .bind(date_text(revision.letter_date))
    .bind(to.as_str())
    .bind(now_ms)
    .bind(to_ms(revision.due_at))
    .bind(revision.due_uncertain)
    .bind(paused_ms(revision))
    .bind(id.0)
    .bind(from.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db_error)?
    .rows_affected();
    if changed == 0 {
        return Err(explain_miss(conn, id, from, None).await);
    }
    let at_ms = to_ms(revision.resubmitted_at);
    insert_transition(conn, id, Some(from), to, actor, None, at_ms).await
}

/// A page of requests, newest first, with the total under the same
/// filter. Both queries should run in one read transaction so that the
/// total matches the page.
pub(super) async fn list(
    conn: &mut SqliteConnection,
    filter: &RequestFilter,
) -> StoreResult<Page<SubdomainRequest>> {
    let statements = listing::requests(Dialect::Sqlite, request_columns!(), filter);
    let (rows, total) = listing::fetch::<sqlx::Sqlite, RequestRow>(conn, statements).await?;
    page(rows, total)
}

/// A request's history, oldest first.
pub(super) async fn transitions(
    ex: impl SqliteExecutor<'_>,
    id: RequestId,
) -> StoreResult<Vec<Transition>> {
    let rows: Vec<TransitionRow> = sqlx::query_as(
        "SELECT t.from_state, t.to_state, t.actor_id, u.username AS actor_name, t.note, t.at
         FROM request_transitions t LEFT JOIN users u ON u.id = t.actor_id
         WHERE t.request_id = ? ORDER BY t.id",
    )
    .bind(id.0)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(Transition::try_from).collect()
}
