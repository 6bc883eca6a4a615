//! The rows of `jobs`, `dns_attempts` and `server_checks`, and what a
//! job's worker hands the store about an attempt.

use std::collections::HashMap;
use std::time::Duration;

use crate::model::{AttemptOutcome, DnsAttempt, Job, JobId, RequestId, ServerCheck};
use crate::store::codec::{corrupt, from_ms, from_ms_opt, parse_json, parse_serial, to_ms};
use crate::store::rows::many::{Bind, json};
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

/// The statement that replaces servers' answers ([`check_rows`]), and its
/// conflict clause.
pub(in crate::store) const UPSERT_CHECKS: (&str, &str) = (
    "INSERT INTO server_checks (request_id, server, report, matches, checked_at) ",
    " ON CONFLICT (request_id, server) DO UPDATE SET report = excluded.report, \
     matches = excluded.matches, checked_at = excluded.checked_at",
);

/// The rows replacing each request's latest answer of each server in
/// `checks`. A request and server twice in `checks` keep the last (an
/// upsert may not touch a row twice).
pub(in crate::store) fn check_rows(
    checks: &[(RequestId, Vec<ServerCheck>)],
) -> StoreResult<Vec<Vec<Bind>>> {
    let mut latest: HashMap<(i64, &str), &ServerCheck> = HashMap::new();
    for (request_id, request_checks) in checks {
        for check in request_checks {
            latest.insert((request_id.0, check.server.as_str()), check);
        }
    }
    latest
        .into_iter()
        .map(|((request_id, server), check)| {
            Ok(vec![
                request_id.into(),
                server.into(),
                json(&check.report)?,
                check.matches.into(),
                to_ms(check.checked_at).into(),
            ])
        })
        .collect()
}

/// The statement that writes attempts ([`attempt_rows`]), and what it
/// returns.
pub(in crate::store) const INSERT_ATTEMPTS: (&str, &str) = (
    "INSERT INTO dns_attempts (request_id, server, key_name, message, outcome, serial_before, \
     started_at) ",
    " RETURNING request_id, id",
);

/// The rows of a batch's `attempts`, written as `sending` at `now_ms`.
pub(in crate::store) fn attempt_rows(
    attempts: &[NewAttempt<'_>],
    now_ms: i64,
) -> StoreResult<Vec<Vec<Bind>>> {
    attempts
        .iter()
        .map(|attempt| {
            Ok(vec![
                attempt.request_id.0.into(),
                attempt.server.into(),
                attempt.key_name.into(),
                json(attempt.message)?,
                AttemptOutcome::Sending.as_str().into(),
                attempt.serial_before.map(i64::from).into(),
                now_ms.into(),
            ])
        })
        .collect()
}

/// Each of `attempts`' id, in order, from what [`INSERT_ATTEMPTS`]
/// returned (request and id; one attempt per request).
pub(in crate::store) fn attempt_ids(
    attempts: &[NewAttempt<'_>],
    returned: Vec<(i64, i64)>,
) -> StoreResult<Vec<i64>> {
    let ids: HashMap<i64, i64> = returned.into_iter().collect();
    attempts
        .iter()
        .map(|a| {
            ids.get(&a.request_id.0)
                .copied()
                .ok_or(StoreError::NotFound("attempt"))
        })
        .collect()
}
