//! The rows of `audit_log`, and how an appended entry is made from its
//! event and the head of the chain.

use serde_json::Value;

use crate::audit::{AuditActor, AuditEntry, AuditEvent, GENESIS, chain_hash};
use crate::store::codec::{from_ms, parse_json};
use crate::store::rows::many::Bind;
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

/// An event to append with its actor as written (`actor_text`) and the
/// actor's user id.
pub(in crate::store) struct Appending {
    pub event: AuditEvent,
    pub actor: String,
    pub actor_user_id: Option<i64>,
}

/// The entries appending `events`, in order, after `head`, each hashed
/// onto the one before: a batch's entries are chained in memory and
/// written together.
pub(in crate::store) fn chain(
    mut head: (i64, String),
    events: Vec<Appending>,
    now_ms: i64,
) -> StoreResult<Vec<(AuditEntry, Option<i64>)>> {
    let mut entries = Vec::with_capacity(events.len());
    for appending in events {
        let entry = next_entry(head, &appending.event, appending.actor, now_ms)?;
        head = (entry.seq, entry.hash.clone());
        entries.push((entry, appending.actor_user_id));
    }
    Ok(entries)
}

/// The statement that writes entries ([`entry_rows`]).
pub(in crate::store) const INSERT_ENTRIES: &str = "INSERT INTO audit_log (seq, at, action, actor, \
     actor_user_id, agency_id, name, name_rev, request_id, detail, prev_hash, hash) ";

/// The rows of `entries` (each with its actor's user id) at `now_ms`.
pub(in crate::store) fn entry_rows(
    entries: &[(AuditEntry, Option<i64>)],
    now_ms: i64,
) -> Vec<Vec<Bind>> {
    entries
        .iter()
        .map(|(entry, actor_user_id)| {
            vec![
                entry.seq.into(),
                now_ms.into(),
                entry.action.clone().into(),
                entry.actor.clone().into(),
                (*actor_user_id).into(),
                entry.agency_id.into(),
                entry.name.clone().into(),
                entry
                    .name
                    .as_deref()
                    .map(super::listing::reverse_name)
                    .into(),
                entry.request_id.into(),
                crate::audit::canonical_json(&entry.detail).into(),
                entry.prev_hash.clone().into(),
                entry.hash.clone().into(),
            ]
        })
        .collect()
}
