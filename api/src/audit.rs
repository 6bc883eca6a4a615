//! The audit log: an append-only record of every action, each entry
//! chained to the one before it by SHA-256 so that a changed, removed or
//! inserted entry is detected.
//!
//! ```text
//!  entry n:  hash(n) = SHA-256( hash(n-1) ‖ "\n" ‖ canonical JSON of entry n )
//!            hash(0) = 64 × "0"
//! ```
//!
//! The canonical JSON holds every field but the hash itself (sequence
//! number, time, action, actor, agency, name, request, detail and the
//! previous hash), with object keys sorted and no whitespace, so it is the
//! same whichever way the row was read. A rewrite of the whole tail
//! recomputes a consistent chain; checkpoints (the head's sequence number
//! and hash, written outside the database and mailed) catch that.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::model::{AgencyId, RequestId, RequestState, UnknownValue, UserId};

/// The previous hash of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What was done. Stored and filtered as its text (`request.approved`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A PD filed a request.
    RequestSubmitted,
    /// A PD uploaded the signed letter.
    LetterUploaded,
    /// A PD revised a request sent back for revision.
    RequestRevised,
    /// A request changed state: a review (approved, rejected,
    /// revision_requested), a retry (failed → approved) or a provisioning
    /// step (provisioning, verifying, active, conflict, failed).
    RequestState(RequestState),
    /// An UPDATE was about to be sent (written before sending, so an
    /// update whose answer was lost in a crash is still on record).
    DnsUpdateSent,
    /// The primary's answer to an UPDATE, or its absence.
    DnsUpdateAnswered,
    /// A server's answer during verification, when it differs from its
    /// previous one.
    DnsVerification,
    AgencyCreated,
    UserCreated,
    TokenCreated,
    /// A request with a token that is unknown, revoked or of a disabled
    /// user.
    AuthFailed,
    /// The service started with this configuration.
    ServiceStarted,
    /// A checkpoint of the chain was written.
    Checkpoint,
    /// A drift run found a new difference between zone and record.
    DriftFound,
    /// A difference the zone no longer shows.
    DriftCleared,
    /// An admin adopted what the zone holds.
    DriftAdopted,
    /// An admin had dnsdesk's record put back.
    DriftRestored,
    /// A drift run could not read the zone.
    DriftFailed,
    /// A name the zone already held entered the catalogue (`dnsdesk zone
    /// import`), with no update sent.
    NameImported,
    /// A managed name was given to an agency.
    NameAssigned,
    /// A day became a holiday or collective leave (or was renamed).
    HolidayAdded,
    /// A listed day became a working day.
    HolidayRemoved,
    /// A year's holiday file was loaded.
    HolidaysImported,
    /// A user signed in with a password (a web session began).
    AuthLogin,
    /// A password sign-in was refused: the username tried, the client and
    /// why; never the password.
    AuthLoginFailed,
    /// A username or client address reached the limit of failed sign-ins
    /// and is refused for a while.
    AuthLocked,
    /// A web session ended (sign-out, or every session of a user).
    AuthLogout,
    /// An admin disabled a user (its sessions end with it).
    UserDisabled,
    /// An admin enabled a disabled user again.
    UserEnabled,
    /// A user's password was set; never the password or its hash.
    UserPasswordSet,
    /// A complaint was filed (public form, PD) or recorded by staff from
    /// another channel: its id and channel, never the complainant's name,
    /// contact or words.
    ComplaintFiled,
    /// Staff set or changed a complaint's category, and so its deadline.
    ComplaintClassified,
    /// A complaint was given to a staff user (or to nobody).
    ComplaintAssigned,
    /// Staff added an internal note (its text stays out of the log).
    ComplaintNoted,
    /// Staff responded to the complainant (the text stays out of the log).
    ComplaintAnswered,
    /// A complaint was resolved.
    ComplaintResolved,
    /// The PD was told its request is active: the confirmation e-mail
    /// queued, with the letter's hash (none when it could not be made).
    ConfirmationIssued,
    /// This database received a copy of another (`dnsdesk database copy`):
    /// where from and how many rows per table.
    DatabaseCopied,
}

impl AuditAction {
    /// Every action but the state changes, which are listed by state.
    const FIXED: &'static [(AuditAction, &'static str)] = &[
        (AuditAction::RequestSubmitted, "request.submitted"),
        (AuditAction::LetterUploaded, "request.letter_uploaded"),
        (AuditAction::RequestRevised, "request.revised"),
        (AuditAction::DnsUpdateSent, "dns.update_sent"),
        (AuditAction::DnsUpdateAnswered, "dns.update_answered"),
        (AuditAction::DnsVerification, "dns.verification"),
        (AuditAction::AgencyCreated, "admin.agency_created"),
        (AuditAction::UserCreated, "admin.user_created"),
        (AuditAction::TokenCreated, "admin.token_created"),
        (AuditAction::AuthFailed, "auth.failed"),
        (AuditAction::ServiceStarted, "service.started"),
        (AuditAction::Checkpoint, "audit.checkpoint"),
        (AuditAction::DriftFound, "drift.found"),
        (AuditAction::DriftCleared, "drift.cleared"),
        (AuditAction::DriftAdopted, "drift.adopted"),
        (AuditAction::DriftRestored, "drift.restored"),
        (AuditAction::DriftFailed, "drift.failed"),
        (AuditAction::NameImported, "zone.imported"),
        (AuditAction::NameAssigned, "zone.assigned"),
        (AuditAction::HolidayAdded, "calendar.day_added"),
        (AuditAction::HolidayRemoved, "calendar.day_removed"),
        (AuditAction::HolidaysImported, "calendar.year_imported"),
        (AuditAction::AuthLogin, "auth.login"),
        (AuditAction::AuthLoginFailed, "auth.login_failed"),
        (AuditAction::AuthLocked, "auth.locked"),
        (AuditAction::AuthLogout, "auth.logout"),
        (AuditAction::UserDisabled, "user.disabled"),
        (AuditAction::UserEnabled, "user.enabled"),
        (AuditAction::UserPasswordSet, "user.password_set"),
        (AuditAction::ComplaintFiled, "complaint.filed"),
        (AuditAction::ComplaintClassified, "complaint.classified"),
        (AuditAction::ComplaintAssigned, "complaint.assigned"),
        (AuditAction::ComplaintNoted, "complaint.noted"),
        (AuditAction::ComplaintAnswered, "complaint.answered"),
        (AuditAction::ComplaintResolved, "complaint.resolved"),
        (
            AuditAction::ConfirmationIssued,
            "request.confirmation_issued",
        ),
        (AuditAction::DatabaseCopied, "database.copied"),
    ];
}

impl AuditAction {
    /// Whether `family` is the part before the dot of some action
    /// (`request`, `dns`, `complaint`, ...): the log filters by families.
    pub fn is_family(family: &str) -> bool {
        family == "request"
            || Self::FIXED
                .iter()
                .any(|(_, text)| text.split('.').next() == Some(family))
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditAction::RequestState(state) => write!(f, "request.{state}"),
            fixed => {
                let text = Self::FIXED
                    .iter()
                    .find(|(a, _)| a == fixed)
                    .map_or("unknown", |(_, t)| t);
                f.write_str(text)
            }
        }
    }
}

impl FromStr for AuditAction {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        if let Some((action, _)) = Self::FIXED.iter().find(|(_, t)| *t == s) {
            return Ok(*action);
        }
        s.strip_prefix("request.")
            .and_then(|state| state.parse().ok())
            .map(AuditAction::RequestState)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

/// Who acted, as the log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditActor {
    /// A signed-in user (by id; the store records the username).
    User(UserId),
    /// dnsdesk itself: the provisioning worker, the service.
    System,
    /// Someone at the server's console running the `dnsdesk` command, by
    /// operating-system user name.
    Console(String),
    /// Someone not signed in (a failed authentication).
    Anonymous,
}

impl From<crate::model::Actor> for AuditActor {
    fn from(actor: crate::model::Actor) -> Self {
        match actor {
            crate::model::Actor::User(id) => AuditActor::User(id),
            crate::model::Actor::System => AuditActor::System,
        }
    }
}

/// One action to append.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub action: AuditAction,
    pub actor: AuditActor,
    pub agency_id: Option<AgencyId>,
    /// The DNS name concerned, without the trailing dot.
    pub name: Option<String>,
    pub request_id: Option<RequestId>,
    /// Action-specific facts (never secrets).
    pub detail: Value,
}

impl AuditEvent {
    /// An event with no agency, name, request or detail.
    pub fn new(action: AuditAction, actor: AuditActor) -> Self {
        Self {
            action,
            actor,
            agency_id: None,
            name: None,
            request_id: None,
            detail: Value::Object(serde_json::Map::new()),
        }
    }

    /// The same event with `detail`.
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1, 2, 3 ... without gaps.
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The action's text, e.g. `request.approved`.
    pub action: String,
    /// `user:NAME`, `system`, `console:NAME` or `anonymous`.
    pub actor: String,
    pub agency_id: Option<i64>,
    pub name: Option<String>,
    pub request_id: Option<i64>,
    pub detail: Value,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The canonical JSON the hash covers: every field but `hash`, keys
    /// sorted, no whitespace; times in milliseconds since the epoch (what
    /// the database keeps).
    pub fn canonical(&self) -> String {
        let ms = self.at.unix_timestamp_nanos() / 1_000_000;
        let value = serde_json::json!({
            "seq": self.seq,
            "at": i64::try_from(ms).unwrap_or(i64::MAX),
            "action": self.action,
            "actor": self.actor,
            "agency_id": self.agency_id,
            "name": self.name,
            "request_id": self.request_id,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
        });
        canonical_json(&value)
    }

    /// The hash this entry must carry.
    pub fn expected_hash(&self) -> String {
        chain_hash(&self.prev_hash, &self.canonical())
    }
}

/// SHA-256 over the previous hash and an entry's canonical JSON, in hex.
pub fn chain_hash(prev_hash: &str, canonical: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

/// JSON text with object keys sorted at every level and no whitespace,
/// whatever order the map kept them in.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Where the chain breaks, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("entry {seq}: expected sequence number {expected} (entries missing or reordered)")]
    Gap { seq: i64, expected: i64 },
    #[error("entry {seq}: its previous hash does not match entry {}'s hash", seq - 1)]
    Unlinked { seq: i64 },
    #[error("entry {seq}: its content does not match its hash (the entry was changed)")]
    Altered { seq: i64 },
    #[error(
        "checkpoint of {at} recorded {seq} entries with head {hash}, but the log ends at entry {last}: entries were removed"
    )]
    Truncated {
        at: String,
        seq: i64,
        hash: String,
        last: i64,
    },
    #[error(
        "entry {seq} differs from the checkpoint of {at} (hash {hash}): the log was rewritten from there or before"
    )]
    Rewritten { seq: i64, at: String, hash: String },
}

/// Checks entries in sequence order, following a chain whose last checked
/// entry had `prev` as hash and `last_seq` as number; returns the new head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainWalker {
    pub last_seq: i64,
    pub head: String,
}

impl Default for ChainWalker {
    fn default() -> Self {
        Self {
            last_seq: 0,
            head: GENESIS.to_owned(),
        }
    }
}

impl ChainWalker {
    /// Checks the next entry.
    pub fn step(&mut self, entry: &AuditEntry) -> Result<(), ChainError> {
        let expected = self.last_seq + 1;
        if entry.seq != expected {
            return Err(ChainError::Gap {
                seq: entry.seq,
                expected,
            });
        }
        if entry.prev_hash != self.head {
            return Err(ChainError::Unlinked { seq: entry.seq });
        }
        if entry.expected_hash() != entry.hash {
            return Err(ChainError::Altered { seq: entry.seq });
        }
        self.last_seq = entry.seq;
        self.head = entry.hash.clone();
        Ok(())
    }
}

/// The chain's head at one moment, kept outside the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// How many entries the log held (the head's sequence number).
    pub seq: i64,
    /// The head's hash.
    pub hash: String,
}

/// Appends `checkpoint` as one JSON line to `path` (created 0600 if
/// missing) and syncs it to disk.
pub fn append_checkpoint(path: &Path, checkpoint: &Checkpoint) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let line = serde_json::to_string(checkpoint).map_err(std::io::Error::other)?;
    writeln!(file, "{line}")?;
    file.sync_all()
}

/// Every checkpoint in `path`, oldest first; none when the file is absent.
pub fn read_checkpoints(path: &Path) -> std::io::Result<Vec<Checkpoint>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} line {}: {e}", path.display(), i + 1),
                )
            })
        })
        .collect()
}

/// Checks that the log agrees with a checkpoint: it still holds the entry
/// the checkpoint names, with the same hash. `hash_at(seq)` gives the
/// stored hash of entry `seq`; `last` is the last stored sequence number.
pub fn check_checkpoint(
    checkpoint: &Checkpoint,
    last: i64,
    hash_at: impl Fn(i64) -> Option<String>,
) -> Result<(), ChainError> {
    let at = crate::calendar::format_wib(checkpoint.at);
    if checkpoint.seq == 0 {
        return Ok(());
    }
    if checkpoint.seq > last {
        return Err(ChainError::Truncated {
            at,
            seq: checkpoint.seq,
            hash: checkpoint.hash.clone(),
            last,
        });
    }
    match hash_at(checkpoint.seq) {
        Some(hash) if hash == checkpoint.hash => Ok(()),
        _ => Err(ChainError::Rewritten {
            seq: checkpoint.seq,
            at,
            hash: checkpoint.hash.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn entry(seq: i64, prev: &str, detail: Value) -> AuditEntry {
        let mut e = AuditEntry {
            seq,
            at: OffsetDateTime::from_unix_timestamp(1_795_862_680).unwrap(),
            action: "request.approved".into(),
            actor: "user:rev".into(),
            agency_id: Some(3),
            name: Some("ppdb.kalbarprov.go.id".into()),
            request_id: Some(7),
            detail,
            prev_hash: prev.into(),
            hash: String::new(),
        };
        e.hash = e.expected_hash();
        e
    }

    #[test]
    fn actions_round_trip_through_their_text() {
        for text in [
            "request.submitted",
            "request.approved",
            "request.active",
            "dns.update_sent",
            "auth.failed",
            "zone.imported",
        ] {
            assert_eq!(text.parse::<AuditAction>().unwrap().to_string(), text);
        }
        assert!("request.bogus".parse::<AuditAction>().is_err());
        assert!("nope".parse::<AuditAction>().is_err());
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"d": [1, {"z": null, "y": "x"}], "c": true}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"c":true,"d":[1,{"y":"x","z":null}]},"b":1}"#
        );
    }

    #[test]
    fn a_chain_verifies_and_every_kind_of_tampering_is_named() {
        let one = entry(1, GENESIS, json!({"note": "Sesuai"}));
        let two = entry(2, &one.hash, json!({"from": "submitted"}));
        let three = entry(3, &two.hash, json!({}));
        let mut walker = ChainWalker::default();
        for e in [&one, &two, &three] {
            walker.step(e).unwrap();
        }
        assert_eq!(walker.head, three.hash);

        // A changed detail.
        let mut changed = two.clone();
        changed.detail = json!({"from": "rejected"});
        let mut walker = ChainWalker::default();
        walker.step(&one).unwrap();
        assert_eq!(walker.step(&changed), Err(ChainError::Altered { seq: 2 }));

        // A changed entry whose hash was recomputed breaks the next link.
        let mut rehashed = changed.clone();
        rehashed.hash = rehashed.expected_hash();
        let mut walker = ChainWalker::default();
        walker.step(&one).unwrap();
        walker.step(&rehashed).unwrap();
        assert_eq!(walker.step(&three), Err(ChainError::Unlinked { seq: 3 }));

        // A removed entry.
        let mut walker = ChainWalker::default();
        walker.step(&one).unwrap();
        assert_eq!(
            walker.step(&three),
            Err(ChainError::Gap {
                seq: 3,
                expected: 2
            })
        );
    }

    #[test]
    fn checkpoints_catch_a_removed_or_rewritten_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp/audit-checkpoints.jsonl");
        let at = OffsetDateTime::from_unix_timestamp(1_795_862_680).unwrap();
        let cp = Checkpoint {
            at,
            seq: 5,
            hash: "ab".repeat(32),
        };
        append_checkpoint(&path, &cp).unwrap();
        append_checkpoint(&path, &cp).unwrap();
        let read = read_checkpoints(&path).unwrap();
        assert_eq!(read, vec![cp.clone(), cp.clone()]);
        assert!(check_checkpoint(&cp, 9, |_| Some("ab".repeat(32))).is_ok());
        assert!(matches!(
            check_checkpoint(&cp, 4, |_| None),
            Err(ChainError::Truncated { last: 4, .. })
        ));
        assert!(matches!(
            check_checkpoint(&cp, 9, |_| Some("cd".repeat(32))),
            Err(ChainError::Rewritten { seq: 5, .. })
        ));
        assert!(
            read_checkpoints(&dir.path().join("none"))
                .unwrap()
                .is_empty()
        );
    }
}
