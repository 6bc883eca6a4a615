//! Reading and checking the audit log: the page network admins read, the
//! whole-chain verification behind `dnsdesk audit verify`, and the
//! checkpoints that pin the chain's head outside the database.

use std::path::Path;

use crate::audit::{
    AuditAction, AuditActor, AuditEntry, AuditEvent, ChainError, ChainWalker, Checkpoint,
    append_checkpoint, check_checkpoint, read_checkpoints,
};
use crate::error::ServiceError;
use crate::model::{Role, User};
use crate::store::{AuditFilter, NewMail, Page, Store, StoreError};

use super::require_role;

/// How many entries verification reads at a time.
const BATCH: i64 = 1000;

/// Roles that may read the audit log.
const READERS: &[Role] = &[Role::Netadmin, Role::Admin];

/// The filters people type: times as RFC 3339 or a date (WIB midnight),
/// an agency by code, a name, an actor, an action or action family.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// At or after: `2026-11-28` (00.00 WIB) or `2026-11-28T09:00:00Z`.
    pub from: Option<String>,
    /// Before (same forms; a date means its 00.00 WIB).
    pub to: Option<String>,
    /// An agency code, e.g. `DISDIK`.
    pub agency: Option<String>,
    /// A DNS name: entries about it or any name below it.
    pub name: Option<String>,
    /// `user:NAME`, `system`, `console:NAME` or `anonymous`.
    pub actor: Option<String>,
    /// An action (`request.approved`) or a family (`dns`, `request`).
    pub action: Option<String>,
    pub page: Option<i64>,
    /// 1-500, default 100.
    pub per_page: Option<i64>,
}

/// The store filter for `query`, or an error naming the bad field.
pub async fn filter(store: &dyn Store, query: &AuditQuery) -> Result<AuditFilter, ServiceError> {
    let per_page = query.per_page.unwrap_or(100);
    if !(1..=500).contains(&per_page) {
        return Err(ServiceError::invalid("per_page", "must be 1-500"));
    }
    let page = query.page.unwrap_or(1);
    if page < 1 {
        return Err(ServiceError::invalid("page", "must be at least 1"));
    }
    let agency_id = match query.agency.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) => Some(
            store
                .agency_by_code(code)
                .await?
                .ok_or_else(|| ServiceError::invalid("agency", "no agency has this code"))?
                .id
                .0,
        ),
    };
    let name = query
        .name
        .as_deref()
        .map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|n| !n.is_empty());
    let action = query
        .action
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            if AuditAction::is_family(a) || a.parse::<AuditAction>().is_ok() {
                Ok(a.to_owned())
            } else {
                Err(ServiceError::invalid(
                    "action",
                    "is not an action (e.g. request.approved, dns.update_sent) or a family (request, dns, drift, zone, admin, auth, user, complaint, calendar, service, audit)",
                ))
            }
        })
        .transpose()?;
    Ok(AuditFilter {
        from: query
            .from
            .as_deref()
            .map(|t| parse_time("from", t))
            .transpose()?,
        to: query
            .to
            .as_deref()
            .map(|t| parse_time("to", t))
            .transpose()?,
        agency_id,
        name,
        actor: query.actor.clone().filter(|a| !a.trim().is_empty()),
        action,
        limit: per_page,
        offset: (page - 1) * per_page,
    })
}

/// Milliseconds since the epoch of an RFC 3339 time or a date taken as
/// 00.00 WIB.
fn parse_time(field: &str, text: &str) -> Result<i64, ServiceError> {
    use time::format_description::well_known::Rfc3339;
    let text = text.trim();
    let at = time::OffsetDateTime::parse(text, &Rfc3339).or_else(|_| {
        let date = time::Date::parse(
            text,
            time::macros::format_description!("[year]-[month]-[day]"),
        )?;
        Ok::<_, time::error::Parse>(date.midnight().assume_offset(crate::calendar::WIB))
    });
    let at = at.map_err(|_| {
        ServiceError::invalid(field, "must be a date (2026-11-28) or an RFC 3339 time")
    })?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| ServiceError::invalid(field, "is out of range"))
}

/// A page of the log for a network admin or an admin.
pub async fn page(
    store: &dyn Store,
    user: &User,
    filter: &AuditFilter,
) -> Result<Page<AuditEntry>, ServiceError> {
    require_role(user, READERS, "read the audit log")?;
    Ok(store.audit_page(filter).await?)
}

/// Every entry matching `filter`, oldest first, for export.
pub async fn export(
    store: &dyn Store,
    user: &User,
    filter: &AuditFilter,
) -> Result<Vec<AuditEntry>, ServiceError> {
    require_role(user, READERS, "export the audit log")?;
    let mut all = Vec::new();
    let mut filter = filter.clone();
    filter.limit = BATCH;
    filter.offset = 0;
    loop {
        let page = store.audit_page(&filter).await?;
        let n = page.items.len();
        all.extend(page.items);
        if i64::try_from(n).unwrap_or(0) < BATCH {
            break;
        }
        filter.offset += BATCH;
    }
    all.reverse();
    Ok(all)
}

/// What `dnsdesk audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Entries checked.
    pub entries: i64,
    /// The head's hash.
    pub head: String,
    /// Checkpoints that agreed.
    pub checkpoints: usize,
}

/// Why verification failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Broken(#[from] ChainError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("checkpoints: {0}")]
    Checkpoints(#[from] std::io::Error),
}

/// Recomputes the whole chain from the first entry, then checks it against
/// every checkpoint in `checkpoints`. Names the first broken entry.
pub async fn verify(store: &dyn Store, checkpoints: &Path) -> Result<Verified, VerifyError> {
    let marks = read_checkpoints(checkpoints)?;
    let mut walker = ChainWalker::default();
    // The hashes the checkpoints name, collected on the way.
    let mut seen: Vec<(i64, String)> = Vec::new();
    loop {
        let batch = store.audit_range(walker.last_seq, BATCH).await?;
        if batch.is_empty() {
            break;
        }
        for entry in &batch {
            walker.step(entry)?;
            if marks.iter().any(|m| m.seq == entry.seq) {
                seen.push((entry.seq, entry.hash.clone()));
            }
        }
    }
    for mark in &marks {
        check_checkpoint(mark, walker.last_seq, |seq| {
            seen.iter().find(|(s, _)| *s == seq).map(|(_, h)| h.clone())
        })?;
    }
    Ok(Verified {
        entries: walker.last_seq,
        head: walker.head,
        checkpoints: marks.len(),
    })
}

/// Writes the chain's head to `path` (one JSON line), records that in the
/// log, and mails it to `recipients`, so that a rewrite of the whole tail
/// is caught by whoever holds a copy.
pub async fn checkpoint(
    store: &dyn Store,
    path: &Path,
    recipients: &[String],
    by: AuditActor,
) -> Result<Checkpoint, VerifyError> {
    let (seq, hash) = store.audit_head().await?;
    let mark = Checkpoint {
        at: crate::app::now(),
        seq,
        hash,
    };
    append_checkpoint(path, &mark)?;
    store
        .append_audit(
            AuditEvent::new(AuditAction::Checkpoint, by).with_detail(serde_json::json!({
                "seq": mark.seq,
                "hash": mark.hash,
                "file": path.display().to_string(),
            })),
        )
        .await?;
    for recipient in recipients {
        store
            .queue_mail(NewMail {
                recipient: recipient.clone(),
                subject: format!("[dnsdesk] Audit checkpoint: {} entries", mark.seq),
                body: format!(
                    "The dnsdesk audit log held {seq} entries at {at}.\n\
                     Head hash: {hash}\n\n\
                     Keep this message. `dnsdesk audit verify` checks the log against the \
                     checkpoints in {file}; if that file is lost or in doubt, compare the \
                     hash of entry {seq} with this one.\n",
                    seq = mark.seq,
                    at = crate::calendar::format_wib(mark.at),
                    hash = mark.hash,
                    file = path.display(),
                ),
            })
            .await?;
    }
    Ok(mark)
}
