//! Provisioning jobs in PostgreSQL, claimed under a lease with a fencing
//! token, and what a job's worker records: the UPDATEs it sends and what
//! each server answered.
//!
//! A job is `queued` (waiting for `run_at`), `running` (held until
//! `lease_until` by whoever has the current `lease_token`) or `done`.
//! These states never leave this module, so they are SQL literals checked
//! by the schema rather than a model enum.
//!
//! Claims run outside the store's write lock: [`claim`] locks only the
//! job row it takes (`FOR UPDATE SKIP LOCKED`), so instances claim
//! different jobs without waiting on each other. Whatever relies on a
//! fence ([`check_fence`]) locks the fenced row until its transaction
//! ends, so the job cannot be claimed away in between.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::{PgConnection, PgExecutor};

use crate::model::{DnsAttempt, Job, RequestId, ServerCheck};
use crate::store::rows::jobs::{
    AttemptRow, CheckRow, INSERT_ATTEMPTS, JobRow, RequestCheckRow, UPSERT_CHECKS, alike_ends,
    all_held, attempt_columns, attempt_ids, attempt_rows, attempt_start, check_rows,
    checks_by_request, fenced, lease_ms,
};
use crate::store::rows::many;
// The attempt types the composed methods name through this module.
pub(super) use crate::store::rows::jobs::{AttemptEnd, AttemptStart, NewAttempt};
use crate::store::{JobEffect, JobFence, StoreError, StoreResult};

/// Applies what a state change does to its job.
pub(super) async fn apply_effect(
    conn: &mut PgConnection,
    request_id: RequestId,
    effect: JobEffect,
    now_ms: i64,
) -> StoreResult<()> {
    match effect {
        JobEffect::None => Ok(()),
        JobEffect::Enqueue => enqueue(conn, request_id, now_ms).await,
        JobEffect::Continue(fence) => check_fence(conn, fence).await,
        JobEffect::Finish(fence) => finish(conn, fence, now_ms).await,
    }
}

/// Queues the request's job to run now. A request has at most one open
/// job (`jobs_one_open_per_request`): if one is still open (say, parked
/// by a worker), it is made due now instead of a second being added; a
/// running job keeps its lease and holder.
async fn enqueue(conn: &mut PgConnection, request_id: RequestId, now_ms: i64) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO jobs (request_id, state, attempts, run_at, lease_token, created_at, updated_at)
         VALUES ($1, 'queued', 0, $2, 0, $2, $2)
         ON CONFLICT (request_id) WHERE state <> 'done'
         DO UPDATE SET run_at = LEAST(jobs.run_at, excluded.run_at),
             updated_at = excluded.updated_at",
    )
    .bind(request_id.0)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Fails with [`StoreError::LeaseLost`] unless `fence` is the current
/// claim of a running job.
///
/// The job's row stays locked (`FOR UPDATE`) until the caller's
/// transaction ends, so no claim takes the job over before what the fence
/// guards commits; a claim that got there first has changed the token,
/// and the check fails.
pub(super) async fn check_fence(ex: impl PgExecutor<'_>, fence: JobFence) -> StoreResult<()> {
    let held: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM jobs WHERE id = $1 AND lease_token = $2 AND state = 'running'
         FOR UPDATE",
    )
    .bind(fence.job_id.0)
    .bind(fence.lease_token)
    .fetch_optional(ex)
    .await?;
    held.map(|_| ()).ok_or(StoreError::LeaseLost(fence.job_id))
}

/// Fails with [`StoreError::LeaseLost`] unless every one of `fences` is
/// still held: [`check_fence`] for a batch, with one read, the rows
/// locked likewise (in the order of their ids, as every batch locks them).
pub(super) async fn check_fences(conn: &mut PgConnection, fences: &[JobFence]) -> StoreResult<()> {
    let ids: Vec<i64> = fences.iter().map(|f| f.job_id.0).collect();
    let held: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, lease_token FROM jobs WHERE state = 'running' AND id = ANY($1)
         ORDER BY id FOR UPDATE",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    all_held(fences, &held)
}

/// Marks the fenced job done and drops its lease.
pub(super) async fn finish(
    conn: &mut PgConnection,
    fence: JobFence,
    now_ms: i64,
) -> StoreResult<()> {
    let changed = sqlx::query(
        "UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = $1
         WHERE id = $2 AND lease_token = $3 AND state = 'running'",
    )
    .bind(now_ms)
    .bind(fence.job_id.0)
    .bind(fence.lease_token)
    .execute(conn)
    .await?
    .rows_affected();
    fenced(changed, fence)
}

/// Claims up to `limit` of the oldest due jobs under new leases and tokens.
///
/// The job is chosen with `FOR UPDATE SKIP LOCKED` on `jobs` alone:
/// concurrent claims (from any instance) take different jobs instead of
/// queueing on each other, and a job whose fence is being relied on
/// ([`check_fence`]) is passed over. The lease's end is summed here,
/// saturating, since PostgreSQL fails on BIGINT overflow.
pub(super) async fn claim(
    conn: &mut PgConnection,
    now_ms: i64,
    lease: Duration,
    limit: i64,
) -> StoreResult<Vec<Job>> {
    let rows: Vec<JobRow> = sqlx::query_as(
        "UPDATE jobs SET state = 'running', lease_until = $2, lease_token = lease_token + 1,
             attempts = attempts + 1, lease_holder = $3, updated_at = $1
         WHERE id IN (
             SELECT id FROM jobs
             WHERE (state = 'queued' AND run_at <= $1) OR (state = 'running' AND lease_until < $1)
             ORDER BY run_at, id LIMIT $4
             FOR UPDATE SKIP LOCKED)
         RETURNING id, request_id, attempts, lease_token",
    )
    .bind(now_ms)
    .bind(now_ms.saturating_add(lease_ms(lease)))
    .bind(crate::instance::id())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Job::from).collect())
}

/// When a job next becomes claimable: the earliest `run_at` of a queued
/// job, or just after the earliest expiring lease (a crashed holder's job
/// is claimable once `lease_until < now`).
pub(super) async fn next_due(ex: impl PgExecutor<'_>) -> StoreResult<Option<i64>> {
    let due: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(due) FROM (
             SELECT MIN(run_at) AS due FROM jobs WHERE state = 'queued'
             UNION ALL
             SELECT MIN(lease_until) + 1 FROM jobs WHERE state = 'running') AS dues",
    )
    .fetch_one(ex)
    .await?;
    Ok(due)
}

/// Hands the fenced job back to the queue, due at `run_at_ms`.
pub(super) async fn reschedule(
    ex: impl PgExecutor<'_>,
    fence: JobFence,
    run_at_ms: i64,
    now_ms: i64,
) -> StoreResult<()> {
    let changed = sqlx::query(
        "UPDATE jobs SET state = 'queued', run_at = $1, lease_until = NULL, updated_at = $2
         WHERE id = $3 AND lease_token = $4 AND state = 'running'",
    )
    .bind(run_at_ms)
    .bind(now_ms)
    .bind(fence.job_id.0)
    .bind(fence.lease_token)
    .execute(ex)
    .await?
    .rows_affected();
    fenced(changed, fence)
}

/// Writes a batch's `attempts` as `sending`; the caller has checked their
/// jobs' fences in the same transaction ([`check_fences`]). Their ids, in
/// order.
pub(super) async fn insert_attempts(
    conn: &mut PgConnection,
    attempts: &[NewAttempt<'_>],
    now_ms: i64,
) -> StoreResult<Vec<i64>> {
    let (into, returning) = INSERT_ATTEMPTS;
    let rows = attempt_rows(attempts, now_ms)?;
    let returned =
        many::insert_returning::<sqlx::Postgres, (i64, i64)>(conn, into, &rows, returning).await?;
    attempt_ids(attempts, returned)
}

/// The attempts of each of `requests`, oldest first.
pub(super) async fn attempts_of(
    conn: &mut PgConnection,
    requests: &[RequestId],
) -> StoreResult<HashMap<RequestId, Vec<DnsAttempt>>> {
    let ids: Vec<i64> = requests.iter().map(|r| r.0).collect();
    let rows: Vec<AttemptRow> = sqlx::query_as(concat!(
        "SELECT ",
        attempt_columns!(),
        " FROM dns_attempts WHERE request_id = ANY($1) ORDER BY request_id, id"
    ))
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_request: HashMap<RequestId, Vec<DnsAttempt>> = HashMap::new();
    for row in rows {
        let attempt = DnsAttempt::try_from(row)?;
        by_request
            .entry(attempt.request_id)
            .or_default()
            .push(attempt);
    }
    Ok(by_request)
}

/// Records how a batch's attempts ended, one UPDATE for each set of
/// alike ends.
pub(super) async fn finish_attempts(
    conn: &mut PgConnection,
    ends: &[(i64, AttemptEnd<'_>)],
    now_ms: i64,
) -> StoreResult<()> {
    for (end, ids) in alike_ends(ends) {
        let changed = sqlx::query(
            "UPDATE dns_attempts SET outcome = $1, rcode = $2, detail = $3, serial_after = $4,
                 finished_at = $5
             WHERE id = ANY($6)",
        )
        .bind(end.outcome.as_str())
        .bind(end.rcode)
        .bind(end.detail)
        .bind(end.serial_after.map(i64::from))
        .bind(now_ms)
        .bind(&ids)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if changed != ids.len() as u64 {
            return Err(StoreError::NotFound("attempt"));
        }
    }
    Ok(())
}

/// The starts of the attempts `ids`, by id.
pub(super) async fn attempt_starts(
    conn: &mut PgConnection,
    ids: &[i64],
) -> StoreResult<HashMap<i64, AttemptStart>> {
    let rows: Vec<(i64, i64, String, String, Option<i64>, i64)> = sqlx::query_as(
        "SELECT id, request_id, server, key_name, serial_before, started_at FROM dns_attempts
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(
            |(id, request_id, server, key_name, serial_before, started_at)| {
                let start = attempt_start(Some((
                    request_id,
                    server,
                    key_name,
                    serial_before,
                    started_at,
                )))?;
                Ok((id, start))
            },
        )
        .collect()
}

/// A request's attempts, oldest first.
pub(super) async fn attempts(
    ex: impl PgExecutor<'_>,
    request_id: RequestId,
) -> StoreResult<Vec<DnsAttempt>> {
    let rows: Vec<AttemptRow> = sqlx::query_as(concat!(
        "SELECT ",
        attempt_columns!(),
        " FROM dns_attempts WHERE request_id = $1 ORDER BY id"
    ))
    .bind(request_id.0)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(DnsAttempt::try_from).collect()
}

/// Replaces each request's latest answer of each server in `checks`.
pub(super) async fn record_checks_many(
    conn: &mut PgConnection,
    checks: &[(RequestId, Vec<ServerCheck>)],
) -> StoreResult<()> {
    let (into, conflict) = UPSERT_CHECKS;
    many::insert::<sqlx::Postgres>(conn, into, &check_rows(checks)?, conflict).await
}

/// The latest answers of each of `requests`, by server.
pub(super) async fn checks_of(
    conn: &mut PgConnection,
    requests: &[RequestId],
) -> StoreResult<HashMap<RequestId, Vec<ServerCheck>>> {
    let ids: Vec<i64> = requests.iter().map(|r| r.0).collect();
    let rows: Vec<RequestCheckRow> = sqlx::query_as(
        "SELECT request_id, server, report, matches, checked_at FROM server_checks
         WHERE request_id = ANY($1) ORDER BY request_id, server COLLATE \"C\"",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    checks_by_request(rows)
}

/// Each server's latest answer, by server (bytewise, as SQLite orders).
pub(super) async fn checks(
    ex: impl PgExecutor<'_>,
    request_id: RequestId,
) -> StoreResult<Vec<ServerCheck>> {
    let rows: Vec<CheckRow> = sqlx::query_as(
        "SELECT server, report, matches, checked_at FROM server_checks
         WHERE request_id = $1 ORDER BY server COLLATE \"C\"",
    )
    .bind(request_id.0)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(ServerCheck::try_from).collect()
}
