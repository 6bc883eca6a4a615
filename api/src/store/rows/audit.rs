//! The rows of `audit_log`, and how an appended entry is made from its
//! event and the head of the chain.

use serde_json::Value;

use crate::audit::{AuditActor, AuditEntry, AuditEvent, GENESIS, chain_hash};
use crate::store::codec::{from_ms, parse_json};
use crate::store::{StoreError, StoreResult};

/// A row of `audit_log`.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct AuditRow {
    seq: i64,
    at: i64,
    action: String,
    actor: String,
    agency_id: Option<i64>,
    name: Option<String>,
    request_id: Option<i64>,
    detail: String,
    prev_hash: String,
    hash: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> StoreResult<Self> {
        Ok(AuditEntry {
            seq: row.seq,
            at: from_ms("audit_log.at", row.at)?,
            action: row.action,
            actor: row.actor,
            agency_id: row.agency_id,
            name: row.name,
            request_id: row.request_id,
            detail: parse_json::<Value>("audit_log.detail", &row.detail)?,
            prev_hash: row.prev_hash,
            hash: row.hash,
        })
    }
}

macro_rules! audit_columns {
    () => {
        "seq, at, action, actor, agency_id, name, request_id, detail, prev_hash, hash"
    };
}
pub(in crate::store) use audit_columns;

/// The last entry's number and hash as read (None when the log is
/// empty): 0 and the genesis hash for an empty log.
pub(in crate::store) fn head_or_genesis(head: Option<(i64, String)>) -> (i64, String) {
    head.unwrap_or_else(|| (0, GENESIS.to_owned()))
}

/// The user whose name the entry of `actor` needs (read by the caller).
pub(in crate::store) fn actor_user(actor: &AuditActor) -> Option<crate::model::UserId> {
    match actor {
        AuditActor::User(id) => Some(*id),
        _ => None,
    }
}

/// How `actor` is written in the log, and the user's id for
/// `actor_user_id`; `username` is what [`actor_user`] asked for.
pub(in crate::store) fn actor_text(
    actor: &AuditActor,
    username: Option<String>,
) -> (String, Option<i64>) {
    match actor {
        AuditActor::User(id) => (
            format!("user:{}", username.unwrap_or_else(|| format!("#{id}"))),
            Some(id.0),
        ),
        AuditActor::System => ("system".to_owned(), None),
        AuditActor::Console(who) => (format!("console:{who}"), None),
        AuditActor::Anonymous => ("anonymous".to_owned(), None),
    }
}

/// The entry appending `event` by `actor` at `now_ms` after the entry
/// numbered `last` with hash `prev_hash` (0 and the genesis hash for an
/// empty log), hashed onto the chain.
pub(in crate::store) fn next_entry(
    (last, prev_hash): (i64, String),
    event: &AuditEvent,
    actor: String,
    now_ms: i64,
) -> StoreResult<AuditEntry> {
    let mut entry = AuditEntry {
        seq: last + 1,
        at: from_ms("audit_log.at", now_ms)?,
        action: event.action.to_string(),
        actor,
        agency_id: event.agency_id.map(|a| a.0),
        name: event.name.clone(),
        request_id: event.request_id.map(|r| r.0),
        detail: event.detail.clone(),
        prev_hash,
        hash: String::new(),
    };
    entry.hash = chain_hash(&entry.prev_hash, &entry.canonical());
    Ok(entry)
}
