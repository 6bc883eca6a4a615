//! Persistence behind one interface, so the same services run on SQLite
//! (the embedded default) and, later, PostgreSQL.
//!
//! Methods are use-case shaped: each multi-step write (a state change with
//! its transition row and its job, an activation with its catalogue entry
//! and its e-mail) is one transaction inside the implementation.

use std::time::Duration;

use async_trait::async_trait;

use crate::audit::{AuditActor, AuditEntry, AuditEvent};
use provisioner::record::RecordInput;
use time::{Date, OffsetDateTime};

use crate::model::{
    Actor, Agency, AgencyId, AttemptOutcome, DnsAttempt, DriftFinding, DriftRun, Job, JobId,
    Letter, MailAttachment, NameVersion, OutgoingMail, RequestId, RequestKind, RequestState, Role,
    ServerCheck, Subdomain, SubdomainRequest, Transition, User, UserId,
};
// Complaints (pengaduan): the trait's `complaints` section and its types.
use crate::model::{
    Complaint, ComplaintChannel, ComplaintId, ComplaintNote, ComplaintResponse, ComplaintState,
    ComplaintStep, TrackingCode,
};

mod codec;
mod compose;
pub mod copy;
pub mod postgres;
mod rows;
pub mod sqlite;
#[cfg(test)]
mod tests;

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule refused the write.
    #[error("{0}")]
    Conflict(Constraint),
    /// The request is not in the state the change starts from (another
    /// reviewer or worker got there first), or its version moved on.
    #[error("request is {actual}, expected {expected}")]
    StateMismatch {
        expected: RequestState,
        actual: RequestState,
    },
    #[error("the request changed since it was read (version {expected} is now {actual})")]
    VersionMismatch { expected: i64, actual: i64 },
    /// The state machine does not allow this change.
    #[error("a request cannot go from {from} to {to}")]
    IllegalTransition {
        from: RequestState,
        to: RequestState,
    },
    /// A worker's lease on a job ran out and another worker holds it now.
    #[error("the lease on job {0} was lost")]
    LeaseLost(JobId),
    /// The complaint's state does not allow the change (another officer
    /// got there first, or it is resolved).
    #[error("the complaint is {actual}; this change is not possible now")]
    ComplaintStateMismatch { actual: ComplaintState },
    /// A stored value that the code cannot read back.
    #[error("corrupt stored value in {column}: {detail}")]
    Corrupt {
        column: &'static str,
        detail: String,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Which uniqueness rule refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Constraint {
    #[error("an agency with this code exists")]
    AgencyCode,
    #[error("a user with this username exists")]
    Username,
    #[error("another request for this name is still open")]
    OpenRequestForName,
}

/// A new agency.
#[derive(Debug, Clone)]
pub struct NewAgency {
    pub code: String,
    pub name: String,
    pub email: String,
}

/// A new user.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub role: Role,
    pub agency_id: Option<AgencyId>,
    /// An argon2id PHC string, when the user may sign in with a password.
    pub password_hash: Option<String>,
}

// --- sessions ---

/// A user with the password hash they sign in with. `Debug` hides the
/// hash.
#[derive(Clone)]
pub struct UserCredentials {
    pub user: User,
    /// An argon2id PHC string; `None` for a token-only user.
    pub password_hash: Option<String>,
}

impl std::fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredentials")
            .field("user", &self.user)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<secret>"),
            )
            .finish()
    }
}

/// A session to store. The token itself never reaches the store.
#[derive(Clone)]
pub struct NewStoredSession {
    /// SHA-256 (hex) of the cookie token.
    pub token_hash: String,
    pub user_id: UserId,
    /// Random, per session: forms echo it back (CSRF protection).
    pub csrf_token: String,
    /// The address the sign-in came from.
    pub client: String,
    pub created_at: OffsetDateTime,
    /// The absolute end, whatever the activity.
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for NewStoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewStoredSession")
            .field("user_id", &self.user_id)
            .field("csrf_token", &"<secret>")
            .field("client", &self.client)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A stored session with its (enabled) user.
#[derive(Clone)]
pub struct StoredSession {
    pub id: i64,
    pub user: User,
    pub csrf_token: String,
    pub client: String,
    pub created_at: OffsetDateTime,
    /// Kept to the minute; the idle timeout counts from here.
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSession")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("csrf_token", &"<secret>")
            .field("client", &self.client)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What failed sign-ins are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// The username tried, normalised as usernames are stored, whether or
    /// not such a user exists (so the throttle says nothing about which
    /// usernames exist).
    Username(String),
    /// The client's address.
    Client(String),
}

impl ThrottleKey {
    /// The key as stored: `user:<name>` or `client:<address>`.
    pub fn stored(&self) -> String {
        match self {
            Self::Username(name) => format!("user:{name}"),
            Self::Client(address) => format!("client:{address}"),
        }
    }
}

/// How many failures a key may collect, in which window, before it is
/// locked, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    pub max_failures: u32,
    /// Failures count from the first one for this long; then the count
    /// starts again.
    pub window: Duration,
    /// How long a key stays locked once it reaches `max_failures`.
    pub lockout: Duration,
}

/// The failed sign-ins counted for one key.
///
/// ```text
///   failure, no count or window over ─▶ 1 failure, window starts now
///   failure within the window        ─▶ one more failure
///   failures reach max_failures      ─▶ locked until now + lockout
///   locked                           ─▶ sign-ins refused, not counted
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginFailures {
    pub failures: u32,
    /// When the counting window began.
    pub first_at: OffsetDateTime,
    pub locked_until: Option<OffsetDateTime>,
}

impl LoginFailures {
    /// The count after one more failure at `now` under `rule`.
    pub fn after_failure(
        previous: Option<&LoginFailures>,
        now: OffsetDateTime,
        rule: &ThrottleRule,
    ) -> LoginFailures {
        let (failures, first_at) = match previous {
            Some(p) if now < later(p.first_at, rule.window) => {
                (p.failures.saturating_add(1), p.first_at)
            }
            _ => (1, now),
        };
        let locked_until = if failures >= rule.max_failures {
            Some(later(now, rule.lockout))
        } else {
            // A lock from an earlier window still runs to its end.
            previous
                .and_then(|p| p.locked_until)
                .filter(|until| *until > now)
        };
        LoginFailures {
            failures,
            first_at,
            locked_until,
        }
    }

    /// How long sign-ins for this key are still refused at `now`; `None`
    /// when they are not.
    pub fn locked_for(&self, now: OffsetDateTime) -> Option<Duration> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| (until - now).unsigned_abs())
    }
}

/// `at` plus `span`, saturating at the end of time rather than panicking:
/// the spans come from configuration.
pub(crate) fn later(at: OffsetDateTime, span: Duration) -> OffsetDateTime {
    at.saturating_add(time::Duration::try_from(span).unwrap_or(time::Duration::MAX))
}

/// `at` minus `span`, saturating like [`later`].
pub(crate) fn earlier(at: OffsetDateTime, span: Duration) -> OffsetDateTime {
    at.saturating_sub(time::Duration::try_from(span).unwrap_or(time::Duration::MAX))
}

/// Why a password sign-in was refused, as the audit log records it. The
/// person signing in is told only "authentication required" (or "too
/// many attempts"), whatever the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// No user has this username.
    UnknownUser,
    /// The password does not match.
    WrongPassword,
    /// The user is disabled (the password was still checked, for timing).
    Disabled,
    /// The user signs in with API tokens only.
    NoPassword,
    /// The username or the client had too many failures; the password
    /// was not checked.
    Throttled,
}

impl LoginRefusal {
    /// The reason as the audit log writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::WrongPassword => "wrong_password",
            Self::Disabled => "disabled",
            Self::NoPassword => "no_password",
            Self::Throttled => "throttled",
        }
    }
}

/// A refused sign-in, for the audit log; never the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedLogin {
    /// The username tried, normalised and cut to a username's length.
    pub username: String,
    pub client: String,
    pub reason: LoginRefusal,
}

/// A new request, already validated.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub agency_id: AgencyId,
    pub kind: RequestKind,
    pub name: String,
    pub records: Vec<RecordInput>,
    pub previous_records: Vec<RecordInput>,
    pub purpose: String,
    pub letter_number: String,
    pub letter_date: Date,
    pub submitted_by: UserId,
    pub submitted_at: OffsetDateTime,
    pub due_at: OffsetDateTime,
    /// Whether `due_at` relied on a year with no loaded calendar.
    pub due_uncertain: bool,
    /// The year in the reference `DNS/<year>/<seq>`; sequences restart
    /// each year.
    pub reference_year: i32,
}

/// New content for a request sent back for revision, and its due time
/// moved by the pause (see [`crate::calendar::hours`]).
#[derive(Debug, Clone)]
pub struct RequestRevision {
    pub records: Vec<RecordInput>,
    pub previous_records: Vec<RecordInput>,
    pub purpose: String,
    pub letter_number: String,
    pub letter_date: Date,
    /// When the agency resubmitted: the time of the transition back to
    /// `submitted`, and the end of the pause `paused` was measured over,
    /// so the two agree to the millisecond.
    pub resubmitted_at: OffsetDateTime,
    /// The working time the request waited, from the transition to
    /// `revision_requested` to `resubmitted_at`; added to the request's
    /// total paused time.
    pub paused: Duration,
    /// The previous due time moved later by `paused`.
    pub due_at: OffsetDateTime,
    /// Whether the new due time relied on a year with no loaded calendar
    /// (or the old one did).
    pub due_uncertain: bool,
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub agency_id: Option<AgencyId>,
    pub state: Option<RequestState>,
    /// Substring of the name.
    pub name: Option<String>,
    pub order: RequestOrder,
    pub limit: i64,
    pub offset: i64,
}

/// The order of a list of requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RequestOrder {
    /// The newest first (the requests list).
    #[default]
    Newest,
    /// The one due first, then the first filed (the review queue).
    DueFirst,
}

/// How many results a filter matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    Exact(i64),
    /// At least this many: the lists people page through count up to
    /// [`COUNT_CAP`] rows (see `rows/listing.rs`).
    AtLeast(i64),
}

impl Total {
    /// The count, exact or not.
    pub fn value(self) -> i64 {
        match self {
            Self::Exact(n) | Self::AtLeast(n) => n,
        }
    }

    pub fn is_exact(self) -> bool {
        matches!(self, Self::Exact(_))
    }
}

pub use rows::listing::COUNT_CAP;

/// A page of results with the total count.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: Total,
}

/// Proof that a worker holds a job: its id and the fencing token of its
/// claim. Writes made with a stale token fail with
/// [`StoreError::LeaseLost`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobFence {
    pub job_id: JobId,
    pub lease_token: i64,
}

impl From<&Job> for JobFence {
    fn from(job: &Job) -> Self {
        Self {
            job_id: job.id,
            lease_token: job.lease_token,
        }
    }
}

/// One request's part of an UPDATE message about to be sent: its
/// write-ahead record. Several requests' changes travel in one message;
/// each keeps its own attempt, with its own prerequisites and updates.
#[derive(Debug, Clone)]
pub struct OutgoingAttempt {
    pub fence: JobFence,
    pub request_id: RequestId,
    pub server: String,
    pub key_name: String,
    /// The request's own zone line, prerequisites and updates, as rendered.
    pub message: Vec<String>,
    pub serial_before: Option<u32>,
    /// For an approved request this attempt starts: it moves to
    /// `provisioning` with this note, in the same transaction.
    pub start_note: Option<String>,
    /// How many requests the UPDATE message carries (1: this one alone).
    pub batch_size: usize,
}

/// How one attempt ended.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub attempt_id: i64,
    pub outcome: AttemptOutcome,
    pub rcode: Option<String>,
    pub detail: Option<String>,
    pub serial_after: Option<u32>,
    /// For an accepted attempt: its request moves to `verifying`, in the
    /// same transaction.
    pub verifying: Option<EnterVerifying>,
}

/// A request's move from `provisioning` to `verifying`.
#[derive(Debug, Clone)]
pub struct EnterVerifying {
    pub fence: JobFence,
    pub request_id: RequestId,
    /// When verification gives up.
    pub deadline: OffsetDateTime,
    pub note: String,
}

/// What happens to the job when a state change commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEffect {
    /// No job is involved (reviewer actions other than approval).
    None,
    /// Queue a new provisioning job to run now (approval, retry).
    Enqueue,
    /// The worker holding the job goes on with it.
    Continue(JobFence),
    /// The worker holding the job is done with it.
    Finish(JobFence),
}

/// One state change of a request, applied only if the request is in
/// `from` (and at `expected_version` when given).
#[derive(Debug, Clone)]
pub struct StateChange {
    pub request_id: RequestId,
    pub from: RequestState,
    pub to: RequestState,
    pub actor: Actor,
    pub note: Option<String>,
    pub expected_version: Option<i64>,
    /// The new `state_reason` (None clears it).
    pub reason: Option<String>,
    /// Set `approved_digest` (approval).
    pub approved_digest: Option<String>,
    /// Set `serial_after` (entering `verifying`).
    pub serial_after: Option<u32>,
    /// Set `verify_deadline` (entering `verifying`).
    pub verify_deadline: Option<OffsetDateTime>,
    pub job: JobEffect,
}

impl StateChange {
    /// A change with no side fields set.
    pub fn new(request_id: RequestId, from: RequestState, to: RequestState, actor: Actor) -> Self {
        Self {
            request_id,
            from,
            to,
            actor,
            note: None,
            expected_version: None,
            reason: None,
            approved_digest: None,
            serial_after: None,
            verify_deadline: None,
            job: JobEffect::None,
        }
    }
}

/// The e-mail queued with an activation.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

/// Who holds or waits for a name near another: used to refuse names below
/// another agency's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameClaim {
    pub name: String,
    /// None: an imported name not assigned to any agency.
    pub agency_id: Option<AgencyId>,
}

/// The persistence interface.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    // --- agencies, users, tokens ---

    /// Every write below that changes something appends its audit entry
    /// in the same transaction (see [`crate::audit`]).
    async fn create_agency(&self, new: NewAgency, by: AuditActor) -> StoreResult<Agency>;
    async fn agency(&self, id: AgencyId) -> StoreResult<Option<Agency>>;
    async fn agency_by_code(&self, code: &str) -> StoreResult<Option<Agency>>;
    async fn list_agencies(&self) -> StoreResult<Vec<Agency>>;
    async fn create_user(&self, new: NewUser, by: AuditActor) -> StoreResult<User>;
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    /// Stores the SHA-256 (hex) of a new API token; the token itself is
    /// never stored.
    async fn create_token(
        &self,
        user_id: UserId,
        token_hash: &str,
        by: AuditActor,
    ) -> StoreResult<()>;
    /// The enabled user a token hash belongs to; notes its last use.
    async fn user_by_token(&self, token_hash: &str) -> StoreResult<Option<User>>;

    // --- sessions ---

    /// Every user, by username (disabled ones too).
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// A user by username with its password hash, for signing in only.
    async fn user_credentials(&self, username: &str) -> StoreResult<Option<UserCredentials>>;
    /// Disables or enables a user, audited (`user.disabled`,
    /// `user.enabled`; nothing when it already was). Disabling ends every
    /// session of the user in the same transaction.
    async fn set_user_disabled(
        &self,
        user_id: UserId,
        disabled: bool,
        by: AuditActor,
    ) -> StoreResult<User>;
    /// Replaces a user's password hash (an argon2id PHC string) and ends
    /// every session of the user, audited as `user.password_set` without
    /// the hash.
    async fn set_password(
        &self,
        user_id: UserId,
        password_hash: &str,
        by: AuditActor,
    ) -> StoreResult<()>;
    /// Starts a session, audited as `auth.login` by its user (with the
    /// client; never the token or its hash). Returns the session's id.
    async fn create_session(&self, new: NewStoredSession) -> StoreResult<i64>;
    /// The session with this token hash, whatever its times (the caller
    /// applies its timeouts), if its user is enabled.
    async fn session_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<StoredSession>>;
    /// Moves a session's `last_seen_at` to `now` (never back).
    async fn touch_session(&self, id: i64, now: OffsetDateTime) -> StoreResult<()>;
    /// Ends one session, audited as `auth.logout` by its user; false when
    /// there was no such session.
    async fn end_session(&self, id: i64, now: OffsetDateTime) -> StoreResult<bool>;
    /// Ends every session of a user, audited as one `auth.logout` (when
    /// there was any); returns how many.
    async fn end_user_sessions(
        &self,
        user_id: UserId,
        by: AuditActor,
        now: OffsetDateTime,
    ) -> StoreResult<u64>;
    /// Deletes sessions past their absolute end or idle since before
    /// `idle_cutoff`, and failure counts whose window began before
    /// `failures_cutoff` and that are not locked at `now`. Housekeeping,
    /// not audited: the sessions ended when they expired.
    async fn purge_expired_logins(
        &self,
        now: OffsetDateTime,
        idle_cutoff: OffsetDateTime,
        failures_cutoff: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The failed sign-ins counted for a key.
    async fn login_failures(&self, key: &ThrottleKey) -> StoreResult<Option<LoginFailures>>;
    /// Audits a refused sign-in (`auth.login_failed`) and counts it
    /// against each key under its rule, in one transaction; a key that
    /// reaches its limit is locked and audited (`auth.locked`). An attempt
    /// refused because a key was already locked passes no keys: it is on
    /// record but does not extend the lock.
    async fn record_login_failure(
        &self,
        failure: &FailedLogin,
        counted: &[(ThrottleKey, ThrottleRule)],
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Forgets the failures counted for a key (a successful sign-in).
    async fn clear_login_failures(&self, key: &ThrottleKey) -> StoreResult<()>;

    // --- requests ---

    /// Inserts a request in `submitted` with the next reference of its
    /// year and its first transition. Fails with
    /// [`Constraint::OpenRequestForName`] if another open request holds
    /// the name (enforced by a unique index, so concurrent submissions
    /// cannot both pass).
    async fn insert_request(&self, new: NewRequest) -> StoreResult<SubdomainRequest>;
    async fn request(&self, id: RequestId) -> StoreResult<Option<SubdomainRequest>>;
    async fn list_requests(&self, filter: &RequestFilter) -> StoreResult<Page<SubdomainRequest>>;
    /// Oldest first.
    async fn transitions(&self, id: RequestId) -> StoreResult<Vec<Transition>>;
    /// Records the letter of a request in `submitted` or
    /// `revision_requested`; bumps the version.
    async fn attach_letter(
        &self,
        id: RequestId,
        letter: Letter,
        by: Actor,
    ) -> StoreResult<SubdomainRequest>;
    /// Replaces the content of a request in `revision_requested` and moves
    /// it back to `submitted`, with a transition.
    async fn revise_request(
        &self,
        id: RequestId,
        revision: RequestRevision,
        actor: Actor,
    ) -> StoreResult<SubdomainRequest>;
    /// Applies one state change with its transition row and job effect in
    /// one transaction.
    async fn transition(&self, change: StateChange) -> StoreResult<SubdomainRequest>;
    /// `verifying → active` in one transaction: the catalogue entry is
    /// written (or deleted for a removal), the zone history gets its
    /// version and the transition is recorded. The job stays held under
    /// `fence`: telling the PD ([`Store::issue_confirmation`]) is its last
    /// step, and whoever holds the job after a crash takes that step.
    async fn activate(&self, id: RequestId, fence: JobFence) -> StoreResult<SubdomainRequest> {
        self.activate_many(&[(id, fence)])
            .await?
            .pop()
            .ok_or(StoreError::NotFound("request"))
    }
    /// [`Store::activate`] for several requests in one transaction: all
    /// or none. Returns them in order.
    async fn activate_many(
        &self,
        requests: &[(RequestId, JobFence)],
    ) -> StoreResult<Vec<SubdomainRequest>>;
    /// The last step of an active request's job, in one transaction: the
    /// confirmation e-mail queued, `confirmation` (the stored confirmation
    /// letter) recorded on the request and attached to the e-mail under
    /// its file name, the issue audited with the letter's hash, and the job
    /// finished. None issues the e-mail without a letter (it could not be
    /// made), as plain text.
    async fn issue_confirmation(
        &self,
        id: RequestId,
        fence: JobFence,
        mail: NewMail,
        confirmation: Option<MailAttachment>,
    ) -> StoreResult<SubdomainRequest>;

    // --- names ---

    async fn open_request_for_name(&self, name: &str) -> StoreResult<Option<SubdomainRequest>>;
    async fn subdomain(&self, name: &str) -> StoreResult<Option<Subdomain>>;
    /// Names in the catalogue or held by open requests that are one of
    /// `ancestors` or lie below `name`.
    async fn claims_near(&self, name: &str, ancestors: &[String]) -> StoreResult<Vec<NameClaim>>;
    async fn list_subdomains(
        &self,
        agency_id: Option<AgencyId>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Page<Subdomain>>;

    // --- jobs ---

    /// Claims up to `limit` of the oldest due jobs (queued and due, or
    /// running with an expired lease), each under a new lease and fencing
    /// token, in one transaction. Ordered by job id.
    async fn claim_jobs(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limit: usize,
    ) -> StoreResult<Vec<Job>>;
    /// Claims the oldest due job, as [`Store::claim_jobs`] does.
    async fn claim_job(&self, now: OffsetDateTime, lease: Duration) -> StoreResult<Option<Job>> {
        Ok(self.claim_jobs(now, lease, 1).await?.pop())
    }
    /// When the next queued job is due, if any.
    async fn next_job_due(&self) -> StoreResult<Option<OffsetDateTime>>;
    /// Releases a held job to run again at `run_at`.
    async fn reschedule_job(&self, fence: JobFence, run_at: OffsetDateTime) -> StoreResult<()>;
    /// Marks a held job done without a state change (its request was
    /// already settled).
    async fn finish_job(&self, fence: JobFence) -> StoreResult<()>;

    // --- what was sent and what servers said ---

    /// Write-ahead records of one UPDATE message about to be sent, one per
    /// request it carries, in one transaction (with each starting
    /// request's move to `provisioning`). Returns the attempts' ids in
    /// order.
    async fn begin_attempts(&self, attempts: &[OutgoingAttempt]) -> StoreResult<Vec<i64>>;
    /// Write-ahead record of an UPDATE about to be sent for one request.
    async fn begin_attempt(
        &self,
        fence: JobFence,
        request_id: RequestId,
        server: &str,
        key_name: &str,
        message: &[String],
        serial_before: Option<u32>,
    ) -> StoreResult<i64> {
        let attempt = OutgoingAttempt {
            fence,
            request_id,
            server: server.to_owned(),
            key_name: key_name.to_owned(),
            message: message.to_vec(),
            serial_before,
            start_note: None,
            batch_size: 1,
        };
        let ids = self.begin_attempts(std::slice::from_ref(&attempt)).await?;
        ids.first()
            .copied()
            .ok_or(StoreError::NotFound("dns attempt"))
    }
    /// How attempts ended, in one transaction (with each accepted one's
    /// request moving to `verifying`).
    async fn finish_attempts(&self, results: &[AttemptResult]) -> StoreResult<()>;
    /// How one attempt ended.
    async fn finish_attempt(
        &self,
        attempt_id: i64,
        outcome: AttemptOutcome,
        rcode: Option<&str>,
        detail: Option<&str>,
        serial_after: Option<u32>,
    ) -> StoreResult<()> {
        let result = AttemptResult {
            attempt_id,
            outcome,
            rcode: rcode.map(str::to_owned),
            detail: detail.map(str::to_owned),
            serial_after,
            verifying: None,
        };
        self.finish_attempts(std::slice::from_ref(&result)).await
    }
    /// Oldest first.
    async fn attempts(&self, request_id: RequestId) -> StoreResult<Vec<DnsAttempt>>;
    /// The requests of `ids` that exist, each with its attempts (oldest
    /// first), read together: what the worker looks at before it batches
    /// claimed jobs.
    async fn requests_with_attempts(
        &self,
        ids: &[RequestId],
    ) -> StoreResult<Vec<(SubdomainRequest, Vec<DnsAttempt>)>>;
    /// Stores each request's servers' latest answers (one row per server),
    /// in one transaction; answers that differ from a server's previous
    /// one are audited.
    async fn record_checks_many(&self, checks: &[(RequestId, Vec<ServerCheck>)])
    -> StoreResult<()>;
    /// [`Store::record_checks_many`] for one request.
    async fn record_checks(
        &self,
        request_id: RequestId,
        checks: &[ServerCheck],
    ) -> StoreResult<()> {
        self.record_checks_many(&[(request_id, checks.to_vec())])
            .await
    }
    async fn checks(&self, request_id: RequestId) -> StoreResult<Vec<ServerCheck>>;

    // --- outbox ---

    async fn pending_mail(&self, limit: i64) -> StoreResult<Vec<OutgoingMail>>;
    async fn mark_mail_sent(&self, id: i64) -> StoreResult<()>;
    async fn mark_mail_failed(&self, id: i64, error: &str) -> StoreResult<()>;
    /// Stops delivering a mail that was refused for good; it stays in the
    /// table, with the error, for an admin.
    async fn abandon_mail(&self, id: i64, error: &str) -> StoreResult<()>;
    /// Queues a mail on its own (checkpoints, notices).
    async fn queue_mail(&self, mail: NewMail) -> StoreResult<()>;

    // --- audit ---

    /// Appends an action that changes nothing else (a failed sign-in, a
    /// start, a checkpoint).
    async fn append_audit(&self, event: AuditEvent) -> StoreResult<AuditEntry>;
    /// Entries matching `filter`, newest first.
    async fn audit_page(&self, filter: &AuditFilter) -> StoreResult<Page<AuditEntry>>;
    /// Up to `limit` entries after `after_seq`, oldest first: the chain, in
    /// order, for verification and export.
    async fn audit_range(&self, after_seq: i64, limit: i64) -> StoreResult<Vec<AuditEntry>>;
    /// The last entry's number and hash.
    async fn audit_head(&self) -> StoreResult<(i64, String)>;

    // --- zone history and drift ---

    /// Every version of a name's records, oldest first.
    async fn name_history(&self, name: &str) -> StoreResult<Vec<NameVersion>>;
    /// Records a drift run; returns the findings it opened.
    async fn record_drift_run(
        &self,
        primary_serial: Option<u32>,
        findings: &[NewFinding],
    ) -> StoreResult<Vec<DriftFinding>>;
    /// Records a drift run that could not read the zone.
    async fn record_failed_drift_run(&self, error: &str) -> StoreResult<()>;
    /// Findings, newest first (at most 500).
    async fn drift_findings(&self, open_only: bool) -> StoreResult<Vec<DriftFinding>>;
    async fn last_drift_run(&self) -> StoreResult<Option<DriftRun>>;
    /// Settles an open `changed` finding by recording `records` as the
    /// name's new version (catalogue, history and audit together).
    async fn adopt_drift(
        &self,
        id: i64,
        records: &[RecordInput],
        serial: Option<u32>,
        by: UserId,
        note: Option<&str>,
    ) -> StoreResult<DriftFinding>;
    /// Settles an open `changed` finding by filing `request` (dnsdesk's
    /// record over what the zone holds now) already approved by `by`, its
    /// job queued: the normal provisioning path puts the records back.
    /// One transaction: the request, its approval, its job, the closed
    /// finding and their audit entries.
    async fn restore_drift(
        &self,
        id: i64,
        request: NewRequest,
        approved_digest: String,
        by: UserId,
        note: Option<&str>,
    ) -> StoreResult<(DriftFinding, SubdomainRequest)>;

    // --- import ---

    /// Registers names the zone already holds (`dnsdesk zone import`), in
    /// one transaction: each enters the catalogue with its first version
    /// (source `imported`, the zone's serial) and one audit entry. A name
    /// already in the catalogue, or held by an open request, is left as it
    /// is (checked inside the transaction). One outcome per name, in order.
    async fn import_names(
        &self,
        import: &ZoneImport,
        by: AuditActor,
    ) -> StoreResult<Vec<ImportOutcome>>;
    /// Gives a managed name to an agency (an imported name left
    /// unassigned, or a name moving between agencies), audited. Refused
    /// while a request for the name is open.
    async fn assign_name(
        &self,
        name: &str,
        agency_id: AgencyId,
        by: AuditActor,
    ) -> StoreResult<Subdomain>;

    // --- reports ---

    /// Requests submitted in `[from, to)`, oldest first, with their
    /// activation time and revision pauses.
    async fn sla_facts(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> StoreResult<Vec<SlaFacts>>;
    /// Requests whose office clock runs and is past their due time.
    async fn overdue_requests(&self, now: OffsetDateTime) -> StoreResult<Vec<SlaFacts>>;

    // --- working-day calendar ---

    /// Admins' edits to the shipped calendar, oldest first.
    async fn calendar_edits(&self) -> StoreResult<Vec<crate::calendar::CalendarEdit>>;
    /// Stores an edit after the others, with its audit entry.
    async fn record_calendar_edit(
        &self,
        edit: &crate::calendar::CalendarEdit,
        by: AuditActor,
    ) -> StoreResult<()>;

    // --- complaints ---

    /// Files a complaint in `received` under a fresh random tracking code
    /// (drawing another should it collide), audited as `complaint.filed`
    /// with its id and channel: the complainant's name, contact and words
    /// stay out of the log.
    async fn insert_complaint(&self, new: NewComplaint) -> StoreResult<Complaint>;
    async fn complaint(&self, id: ComplaintId) -> StoreResult<Option<Complaint>>;
    async fn complaint_by_code(&self, code: &TrackingCode) -> StoreResult<Option<Complaint>>;
    /// Complaints matching `filter`: open ones first, those still without
    /// a category (and so a deadline) first among them, then by due time.
    async fn list_complaints(&self, filter: &ComplaintFilter) -> StoreResult<Page<Complaint>>;
    /// Internal notes, oldest first.
    async fn complaint_notes(&self, id: ComplaintId) -> StoreResult<Vec<ComplaintNote>>;
    /// Responses to the complainant, oldest first.
    async fn complaint_responses(&self, id: ComplaintId) -> StoreResult<Vec<ComplaintResponse>>;
    /// Applies one step by staff user `by` in one transaction with its
    /// audit entry (`complaint.classified`, `.assigned`, `.noted`,
    /// `.answered`, `.resolved`; never the text of a note, response or
    /// resolution), if the state the complaint is in allows it; otherwise
    /// [`StoreError::ComplaintStateMismatch`].
    async fn complaint_step(
        &self,
        id: ComplaintId,
        step: ComplaintStep,
        by: UserId,
    ) -> StoreResult<Complaint>;

    // --- several instances ---

    /// Takes the right to run the periodic work (drift checks, audit
    /// checkpoints, mail delivery) if no other instance sharing the
    /// database holds it; `None` when one does. The right lasts as long as
    /// the lease (and, on PostgreSQL, its connection): see
    /// [`PeriodicLease::still_held`].
    async fn periodic_lease(&self) -> StoreResult<Option<PeriodicLease>>;

    /// Moves what the write-ahead log holds into the database proper, off
    /// the writers' path (SQLite; PostgreSQL checkpoints by itself and
    /// does nothing here). Called about once a second.
    async fn checkpoint_log(&self) -> StoreResult<()>;
}

/// The right to run periodic work, held while this lives.
///
/// On PostgreSQL it is a session advisory lock on a connection of its
/// own, released when the connection closes (the lease is dropped, or the
/// process dies); on SQLite, where one process owns the file, it is
/// always held.
#[derive(Debug)]
pub struct PeriodicLease {
    connection: Option<sqlx::PgConnection>,
}

impl PeriodicLease {
    /// A lease nothing else competes for (SQLite).
    pub(crate) fn sole() -> Self {
        Self { connection: None }
    }

    /// A lease held by an advisory lock on `connection`.
    pub(crate) fn on_connection(connection: sqlx::PgConnection) -> Self {
        Self {
            connection: Some(connection),
        }
    }

    /// Whether the lease is still held: its connection still answers (a
    /// lost connection lost its lock, and another instance may hold it).
    pub async fn still_held(&mut self) -> bool {
        match &mut self.connection {
            None => true,
            Some(connection) => sqlx::query("SELECT 1").execute(connection).await.is_ok(),
        }
    }
}

/// What an SLA report needs of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaFacts {
    pub id: RequestId,
    pub reference: String,
    pub agency_id: AgencyId,
    pub name: String,
    pub kind: RequestKind,
    pub state: RequestState,
    pub submitted_at: OffsetDateTime,
    pub due_at: OffsetDateTime,
    /// When it went active, if it did.
    pub active_at: Option<OffsetDateTime>,
    /// Spans it waited for the PD's revision (the office's clock stopped);
    /// the end is None while it still waits.
    pub pauses: Vec<(OffsetDateTime, Option<OffsetDateTime>)>,
}

/// Names read from the zone, to register as they are.
#[derive(Debug, Clone)]
pub struct ZoneImport {
    /// The zone's SOA serial when it was read.
    pub serial: Option<u32>,
    /// Where the zone was read, for the audit log (`AXFR from 192.0.2.53:53`,
    /// `zone file /etc/bind/kalbarprov.go.id.zone`).
    pub source: String,
    pub names: Vec<ImportedName>,
}

/// One name of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedName {
    /// Lowercase, without the trailing dot.
    pub name: String,
    /// None: not assigned to an agency.
    pub agency_id: Option<AgencyId>,
    /// What the zone holds there (with glue), in request form.
    pub records: Vec<RecordInput>,
}

/// What became of one name of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Imported,
    /// The catalogue held it already; left as it is.
    AlreadyManaged,
    /// An open request (its reference) holds the name; left to it.
    OpenRequest(String),
}

/// A difference found by a drift run.
#[derive(Debug, Clone)]
pub struct NewFinding {
    pub subject: String,
    pub kind: String,
    pub detail: serde_json::Value,
    /// Identifies the same difference across runs.
    pub fingerprint: String,
}

/// Which audit entries to read; times in milliseconds since the epoch.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// At or after.
    pub from: Option<i64>,
    /// Before.
    pub to: Option<i64>,
    pub agency_id: Option<i64>,
    /// The name itself or anything below it.
    pub name: Option<String>,
    /// `user:NAME`, `system`, `console:NAME` or `anonymous`.
    pub actor: Option<String>,
    /// An action (`request.approved`) or a family (`dns`).
    pub action: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

// --- complaints ---

/// A complaint to file, already validated.
#[derive(Debug, Clone)]
pub struct NewComplaint {
    pub channel: ComplaintChannel,
    pub complainant_name: String,
    pub contact: String,
    pub request_reference: Option<String>,
    pub description: String,
    /// The filing PD's agency.
    pub agency_id: Option<AgencyId>,
    /// The PD or staff user filing or recording it; None: the public form
    /// (audited as `anonymous`).
    pub filed_by: Option<UserId>,
    /// When the office received it; at most now.
    pub received_at: OffsetDateTime,
}

/// Which complaints to list.
#[derive(Debug, Clone, Default)]
pub struct ComplaintFilter {
    /// Only those filed by this agency's PD.
    pub agency_id: Option<AgencyId>,
    pub state: Option<ComplaintState>,
    /// Only open complaints past their due time at this instant.
    pub overdue_at: Option<OffsetDateTime>,
    pub limit: i64,
    pub offset: i64,
}
