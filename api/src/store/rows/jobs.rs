//! The rows of `jobs`, `dns_attempts` and `server_checks`, and what a
//! job's worker hands the store about an attempt.

use std::collections::HashMap;
use std::time::Duration;

use crate::model::{AttemptOutcome, DnsAttempt, Job, JobId, RequestId, ServerCheck};
use crate::store::codec::{corrupt, from_ms, from_ms_opt, parse_json, parse_serial, to_ms};
use crate::store::{JobFence, StoreError, StoreResult};

/// A claimed row of `jobs`.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct JobRow {
    id: i64,
    request_id: i64,
    attempts: i64,
    lease_token: i64,
}

impl From<JobRow> for Job {
    fn from(row: JobRow) -> Self {
        Job {
            id: JobId(row.id),
            request_id: RequestId(row.request_id),
            attempts: row.attempts,
            lease_token: row.lease_token,
        }
    }
}

/// A lease in milliseconds, saturating (a lease of centuries is a
/// configuration mistake, not a reason to fail).
pub(in crate::store) fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX)
}

/// Fails with [`StoreError::LeaseLost`] when an update fenced by `fence`
/// changed no row.
pub(in crate::store) fn fenced(changed: u64, fence: JobFence) -> StoreResult<()> {
    if changed == 0 {
        return Err(StoreError::LeaseLost(fence.job_id));
    }
    Ok(())
}

/// Whether every one of `fences` is held, given the running jobs' lease
/// tokens as read (`held`, by job id): a batch's fences checked with one
/// read.
pub(in crate::store) fn all_held(fences: &[JobFence], held: &[(i64, i64)]) -> StoreResult<()> {
    let held: HashMap<i64, i64> = held.iter().copied().collect();
    match fences
        .iter()
        .find(|f| held.get(&f.job_id.0) != Some(&f.lease_token))
    {
        Some(lost) => Err(StoreError::LeaseLost(lost.job_id)),
        None => Ok(()),
    }
}

/// The columns of `dns_attempts` that [`AttemptRow`] reads.
macro_rules! attempt_columns {
    () => {
        "id, request_id, server, key_name, message, outcome, rcode, detail, serial_after, \
         started_at, finished_at"
    };
}
pub(in crate::store) use attempt_columns;

/// A row of `dns_attempts`.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct AttemptRow {
    id: i64,
    request_id: i64,
    server: String,
    key_name: String,
    message: String,
    outcome: String,
    rcode: Option<String>,
    detail: Option<String>,
    serial_after: Option<i64>,
    started_at: i64,
    finished_at: Option<i64>,
}

impl TryFrom<AttemptRow> for DnsAttempt {
    type Error = StoreError;

    fn try_from(row: AttemptRow) -> StoreResult<Self> {
        Ok(DnsAttempt {
            id: row.id,
            request_id: RequestId(row.request_id),
            server: row.server,
            key_name: row.key_name,
            message: parse_json("dns_attempts.message", &row.message)?,
            outcome: AttemptOutcome::parse(&row.outcome)
                .map_err(|e| corrupt("dns_attempts.outcome", e))?,
            rcode: row.rcode,
            detail: row.detail,
            serial_after: parse_serial("dns_attempts.serial_after", row.serial_after)?,
            started_at: from_ms("dns_attempts.started_at", row.started_at)?,
            finished_at: from_ms_opt("dns_attempts.finished_at", row.finished_at)?,
        })
    }
}

/// The write-ahead row of an UPDATE about to be sent.
pub(in crate::store) struct NewAttempt<'a> {
    pub(in crate::store) request_id: RequestId,
    pub(in crate::store) server: &'a str,
    pub(in crate::store) key_name: &'a str,
    pub(in crate::store) message: &'a [String],
    pub(in crate::store) serial_before: Option<u32>,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::store) struct AttemptEnd<'a> {
    pub(in crate::store) outcome: AttemptOutcome,
    pub(in crate::store) rcode: Option<&'a str>,
    pub(in crate::store) detail: Option<&'a str>,
    pub(in crate::store) serial_after: Option<u32>,
}

/// What the audit entry of an attempt's end repeats from its start.
pub(in crate::store) struct AttemptStart {
    pub(in crate::store) request_id: RequestId,
    pub(in crate::store) server: String,
    pub(in crate::store) key_name: String,
    pub(in crate::store) serial_before: Option<i64>,
    pub(in crate::store) started_at_ms: i64,
}

/// The start of an attempt as read (request, server, key name, serial
/// before, start time), or "not found".
pub(in crate::store) fn attempt_start(
    row: Option<(i64, String, String, Option<i64>, i64)>,
) -> StoreResult<AttemptStart> {
    let (request_id, server, key_name, serial_before, started_at_ms) =
        row.ok_or(StoreError::NotFound("attempt"))?;
    Ok(AttemptStart {
        request_id: RequestId(request_id),
        server,
        key_name,
        serial_before,
        started_at_ms,
    })
}

/// `ends` in sets that one UPDATE can record: the same end. Each set:
/// its end, and the attempts' ids.
pub(in crate::store) fn alike_ends<'e>(
    ends: &'e [(i64, AttemptEnd<'e>)],
) -> Vec<(&'e AttemptEnd<'e>, Vec<i64>)> {
    let mut sets: Vec<(&AttemptEnd, Vec<i64>)> = Vec::new();
    for (id, end) in ends {
        match sets.iter_mut().find(|(e, _)| *e == end) {
            Some((_, ids)) => ids.push(*id),
            None => sets.push((end, vec![*id])),
        }
    }
    sets
}

/// A row of `server_checks`.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct CheckRow {
    server: String,
    report: String,
    matches: bool,
    checked_at: i64,
}

impl TryFrom<CheckRow> for ServerCheck {
    type Error = StoreError;

    fn try_from(row: CheckRow) -> StoreResult<Self> {
        Ok(ServerCheck {
            server: row.server,
            report: parse_json("server_checks.report", &row.report)?,
            matches: row.matches,
            checked_at: from_ms("server_checks.checked_at", row.checked_at)?,
        })
    }
}

/// A row of `server_checks` with the request it is about.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct RequestCheckRow {
    request_id: i64,
    #[sqlx(flatten)]
    check: CheckRow,
}

/// Each request's latest answers, by server, from `rows` ordered by
/// request and server.
pub(in crate::store) fn checks_by_request(
    rows: Vec<RequestCheckRow>,
) -> StoreResult<HashMap<RequestId, Vec<ServerCheck>>> {
    let mut by_request: HashMap<RequestId, Vec<ServerCheck>> = HashMap::new();
    for row in rows {
        by_request
            .entry(RequestId(row.request_id))
            .or_default()
            .push(ServerCheck::try_from(row.check)?);
    }
    Ok(by_request)
}

/// Rows per INSERT of answers: five values each.
const CHECKS_PER_INSERT: usize = 1_000;

/// Replaces each request's latest answer of each server in `checks`, a
/// batch's at once. A request and server twice in `checks` keep the last.
pub(in crate::store) async fn upsert_checks<DB>(
    conn: &mut DB::Connection,
    checks: &[(RequestId, Vec<ServerCheck>)],
) -> StoreResult<()>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    // One row per request and server (an upsert may not touch a row twice).
    let mut latest: HashMap<(i64, &str), &ServerCheck> = HashMap::new();
    for (request_id, request_checks) in checks {
        for check in request_checks {
            latest.insert((request_id.0, check.server.as_str()), check);
        }
    }
    let mut rows = Vec::with_capacity(latest.len());
    for ((request_id, server), check) in latest {
        let report = serde_json::to_string(&check.report)
            .map_err(|e| StoreError::Database(sqlx::Error::Encode(e.into())))?;
        rows.push((
            request_id,
            server.to_owned(),
            report,
            check.matches,
            to_ms(check.checked_at),
        ));
    }
    for chunk in rows.chunks(CHECKS_PER_INSERT) {
        let mut upsert = sqlx::QueryBuilder::<DB>::new(
            "INSERT INTO server_checks (request_id, server, report, matches, checked_at) ",
        );
        upsert.push_values(
            chunk,
            |mut row, (request_id, server, report, matches, at)| {
                row.push_bind(*request_id)
                    .push_bind(server.clone())
                    .push_bind(report.clone())
                    .push_bind(*matches)
                    .push_bind(*at);
            },
        );
        upsert.push(
            " ON CONFLICT (request_id, server) DO UPDATE SET report = excluded.report, \
             matches = excluded.matches, checked_at = excluded.checked_at",
        );
        upsert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Rows per INSERT of attempts: seven values each.
const ATTEMPTS_PER_INSERT: usize = 500;

/// Writes a batch's `attempts` as `sending` at `now_ms`, their jobs'
/// fences checked by the caller in the same transaction; returns each
/// attempt's id, in the order of `attempts` (one attempt per request).
pub(in crate::store) async fn insert_attempts<DB>(
    conn: &mut DB::Connection,
    attempts: &[NewAttempt<'_>],
    now_ms: i64,
) -> StoreResult<Vec<i64>>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (i64, i64): sqlx::FromRow<'r, DB::Row>,
{
    let mut ids: HashMap<i64, i64> = HashMap::with_capacity(attempts.len());
    for chunk in attempts.chunks(ATTEMPTS_PER_INSERT) {
        let mut rows = Vec::with_capacity(chunk.len());
        for attempt in chunk {
            let message = serde_json::to_string(attempt.message)
                .map_err(|e| StoreError::Database(sqlx::Error::Encode(e.into())))?;
            rows.push((attempt, message));
        }
        let mut insert = sqlx::QueryBuilder::<DB>::new(
            "INSERT INTO dns_attempts (request_id, server, key_name, message, outcome, \
             serial_before, started_at) ",
        );
        insert.push_values(rows, |mut row, (attempt, message)| {
            row.push_bind(attempt.request_id.0)
                .push_bind(attempt.server.to_owned())
                .push_bind(attempt.key_name.to_owned())
                .push_bind(message)
                .push_bind(AttemptOutcome::Sending.as_str().to_owned())
                .push_bind(attempt.serial_before.map(i64::from))
                .push_bind(now_ms);
        });
        insert.push(" RETURNING request_id, id");
        let inserted: Vec<(i64, i64)> = insert.build_query_as().fetch_all(&mut *conn).await?;
        ids.extend(inserted);
    }
    attempts
        .iter()
        .map(|a| {
            ids.get(&a.request_id.0)
                .copied()
                .ok_or(StoreError::NotFound("attempt"))
        })
        .collect()
}
