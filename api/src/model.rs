//! The domain model: agencies (PD), users and their roles, subdomain
//! requests with their typed state machine, and the catalogue of granted
//! names.

use std::fmt;
use std::str::FromStr;

use provisioner::record::RecordInput;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// An agency's row id.
    AgencyId
);
id_type!(
    /// A user's row id.
    UserId
);
id_type!(
    /// A request's row id.
    RequestId
);
id_type!(
    /// A provisioning job's row id.
    JobId
);

/// Defines an enum stored as text, with `as_str`, `FromStr` and `Display`.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire form.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s { $($text => Ok($name::$variant),)+ _ => Err(UnknownValue(s.to_owned())) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A stored text that names no known variant.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownValue(pub String);

text_enum!(
    /// What a user may do.
    Role {
        /// A PD operator: files and follows its agency's requests.
        Pd => "pd",
        /// Bidang Aplikasi Informatika: reviews requests.
        Reviewer => "reviewer",
        /// Network admins: watch provisioning, retry failures.
        Netadmin => "netadmin",
        /// Manages agencies and users; can do what every staff role does.
        Admin => "admin",
    }
);

impl Role {
    /// Staff roles see every agency's requests.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Pd)
    }
}

text_enum!(
    /// What a request asks for.
    RequestKind {
        /// A new subdomain.
        Create => "create",
        /// New records for an active subdomain the agency owns.
        Change => "change",
        /// Removal of an active subdomain the agency owns.
        Remove => "remove",
    }
);

text_enum!(
    /// Where a request stands.
    ///
    /// ```text
    ///  submitted ──approve──▶ approved ──worker──▶ provisioning ──NOERROR──▶ verifying ──every server agrees──▶ active
    ///   │   │  ▲                  ▲                 │        │                 │
    ///   │   │  └─resubmit─┐       │                 │        └─prerequisite──▶ conflict
    ///   │   └─request─▶ revision_requested          │           failed
    ///   │      revision                             └─refused, TSIG, ...──▶ failed ◀──deadline──┘
    ///   └─reject──▶ rejected                 retry (netadmin, admin)            │
    ///                                   approved ◀────────────────────────────────┘
    /// ```
    ///
    /// `active`, `rejected` and `conflict` are final; `failed` is final
    /// unless an admin retries it.
    RequestState {
        Submitted => "submitted",
        RevisionRequested => "revision_requested",
        Rejected => "rejected",
        Approved => "approved",
        Provisioning => "provisioning",
        Verifying => "verifying",
        Active => "active",
        Conflict => "conflict",
        Failed => "failed",
    }
);

impl RequestState {
    /// States in which a request holds its name: no other request for the
    /// same name may be filed meanwhile.
    pub const OPEN: &'static [RequestState] = &[
        RequestState::Submitted,
        RequestState::RevisionRequested,
        RequestState::Approved,
        RequestState::Provisioning,
        RequestState::Verifying,
    ];

    /// Whether the request still holds its name.
    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }

    /// Whether the state machine allows `self → to`.
    pub fn can_become(self, to: RequestState) -> bool {
        use RequestState::*;
        matches!(
            (self, to),
            (Submitted, Approved | Rejected | RevisionRequested)
                | (RevisionRequested, Submitted)
                | (Approved, Provisioning)
                | (Provisioning, Verifying | Conflict | Failed)
                | (Verifying, Active | Failed)
                | (Failed, Approved)
        )
    }
}

text_enum!(
    /// Where a request stands against the service standard's 3 working
    /// days.
    SlaState {
        /// Open, and due after today.
        OnTime => "on_time",
        /// Open, and due today (WIB).
        DueToday => "due_today",
        /// Open, and past its due time.
        Overdue => "overdue",
        /// Waiting for the PD's revision: the office's clock does not run.
        Paused => "paused",
        /// Settled by its due time.
        Met => "met",
        /// Settled after its due time.
        Late => "late",
    }
);

impl SlaState {
    /// The state of a request in `state`, due at `due`, last changed at
    /// `updated` (its settlement, once settled), seen at `now`.
    pub fn of(
        state: RequestState,
        due: OffsetDateTime,
        updated: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Self {
        let wib = crate::calendar::WIB;
        if state == RequestState::RevisionRequested {
            SlaState::Paused
        } else if !state.is_open() {
            if updated <= due {
                SlaState::Met
            } else {
                SlaState::Late
            }
        } else if now > due {
            SlaState::Overdue
        } else if now.to_offset(wib).date() == due.to_offset(wib).date() {
            SlaState::DueToday
        } else {
            SlaState::OnTime
        }
    }
}

/// A regional government unit (Perangkat Daerah).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Agency {
    #[schema(value_type = i64)]
    pub id: AgencyId,
    /// Short code, e.g. `DISDIK`.
    pub code: String,
    pub name: String,
    /// Where confirmations go.
    pub email: String,
}

/// A person who signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    /// The agency of a `pd` user; `None` for staff.
    pub agency_id: Option<AgencyId>,
    pub disabled: bool,
}

/// Who did something: a user, or dnsdesk itself (the provisioner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    System,
}

impl Actor {
    /// The user id, if a person acted.
    pub fn user_id(self) -> Option<UserId> {
        match self {
            Actor::User(id) => Some(id),
            Actor::System => None,
        }
    }
}

/// The signed request letter (surat permintaan), stored by content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Letter {
    /// SHA-256 of the PDF, lowercase hex; also its file name.
    pub sha256: String,
    pub size: i64,
}

/// A request for a subdomain, a change to one, or its removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubdomainRequest {
    pub id: RequestId,
    /// Human reference, e.g. `DNS/2026/000123`.
    pub reference: String,
    pub agency_id: AgencyId,
    pub kind: RequestKind,
    /// Lowercase, without the trailing dot.
    pub name: String,
    /// The records the name should hold afterwards (empty for removal).
    pub records: Vec<RecordInput>,
    /// The records the catalogue held when the request was filed (change
    /// and removal): what the update's prerequisites require.
    pub previous_records: Vec<RecordInput>,
    pub purpose: String,
    pub letter_number: String,
    pub letter_date: Date,
    pub letter: Option<Letter>,
    /// The confirmation letter (surat konfirmasi) made when the request
    /// went active; None before, and for requests settled without one.
    pub confirmation: Option<Letter>,
    pub state: RequestState,
    /// Why it is `failed` or `conflict`, in words an admin can act on.
    pub state_reason: Option<String>,
    /// Bumped on every change; guards concurrent edits.
    pub version: i64,
    pub submitted_by: UserId,
    pub submitted_at: OffsetDateTime,
    /// When the service standard's working time runs out: counted in the
    /// office's working hours from submission, moved later by the working
    /// time spent waiting for each revision.
    pub due_at: OffsetDateTime,
    /// Whether `due_at` relied on a weekday of a year with no loaded
    /// holiday calendar, assumed to be a working day: it may be too early,
    /// and staff are warned.
    pub due_uncertain: bool,
    /// The plan digest the approval was bound to.
    pub approved_digest: Option<String>,
    /// The primary's SOA serial right after our update was accepted.
    pub serial_after: Option<u32>,
    pub verify_deadline: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
}

/// One step in a request's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: Option<RequestState>,
    pub to: RequestState,
    pub actor: Actor,
    /// The acting user's name, when a person acted.
    pub actor_name: Option<String>,
    pub note: Option<String>,
    pub at: OffsetDateTime,
}

/// A granted name and what it holds now, as dnsdesk last wrote it (or
/// found in the zone when it was imported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subdomain {
    pub name: String,
    /// None: imported from the zone and not assigned to an agency; only
    /// staff see it, no PD may change it, and it is taken for new
    /// requests.
    pub agency_id: Option<AgencyId>,
    pub records: Vec<RecordInput>,
    /// The request that last changed it; None for a name imported from
    /// the zone that no request changed since.
    pub request_id: Option<RequestId>,
    pub updated_at: OffsetDateTime,
}

/// Outcome of one UPDATE sent to the primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Written before sending: if a crash leaves it so, the outcome is
    /// unknown and the zone must be checked before sending again.
    Sending,
    /// NOERROR.
    Accepted,
    /// The server answered with an error.
    Rejected,
    /// No answer: it may or may not have been applied.
    Unknown,
}

impl AttemptOutcome {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Unknown => "unknown",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Result<Self, UnknownValue> {
        match text {
            "sending" => Ok(Self::Sending),
            "accepted" => Ok(Self::Accepted),
            "rejected" => Ok(Self::Rejected),
            "unknown" => Ok(Self::Unknown),
            other => Err(UnknownValue(other.to_owned())),
        }
    }
}

/// One UPDATE sent (or being sent) for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsAttempt {
    pub id: i64,
    pub request_id: RequestId,
    pub server: String,
    pub key_name: String,
    /// The plan as sent, in presentation format, one line each.
    pub message: Vec<String>,
    pub outcome: AttemptOutcome,
    /// The response code, e.g. `NOERROR`, `YXDOMAIN`.
    pub rcode: Option<String>,
    pub detail: Option<String>,
    pub serial_after: Option<u32>,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

/// The latest answer of one authoritative server for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCheck {
    pub server: String,
    /// The verifier's report (verdict, serial, records), as JSON.
    pub report: serde_json::Value,
    pub matches: bool,
    pub checked_at: OffsetDateTime,
}

/// A provisioning job claimed by a worker under a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub request_id: RequestId,
    pub attempts: i64,
    /// Fencing token: increases on every claim, so a worker whose lease
    /// ran out cannot overwrite the work of the next one.
    pub lease_token: i64,
}

/// One e-mail waiting to be (or already) delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub id: i64,
    pub request_id: Option<RequestId>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// A stored PDF sent with the text; None for plain-text mail.
    pub attachment: Option<MailAttachment>,
    pub attempts: i64,
}

/// A stored letter sent with an e-mail, under the file name its recipient
/// sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    pub letter: Letter,
    /// E.g. `konfirmasi-DNS-2026-000123.pdf`.
    pub file_name: String,
}

#[cfg(test)]
mod sla_tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_clock_reads_on_time_due_today_overdue_paused_met_and_late() {
        // Due Fri 27 Mar 2026 10.00 WIB.
        let due = datetime!(2026-03-27 03:00 UTC);
        let submitted = RequestState::Submitted;
        let at = |t| SlaState::of(submitted, due, due, t);
        assert_eq!(at(datetime!(2026-03-26 16:59 UTC)), SlaState::OnTime);
        // 00.00 WIB on the due day is 17.00 UTC the day before.
        assert_eq!(at(datetime!(2026-03-26 17:00 UTC)), SlaState::DueToday);
        assert_eq!(at(datetime!(2026-03-27 03:00 UTC)), SlaState::DueToday);
        assert_eq!(
            at(datetime!(2026-03-27 03:00:00.001 UTC)),
            SlaState::Overdue
        );
        let late = datetime!(2026-03-30 02:00 UTC);
        assert_eq!(
            SlaState::of(RequestState::RevisionRequested, due, late, late),
            SlaState::Paused
        );
        assert_eq!(
            SlaState::of(RequestState::Active, due, due, late),
            SlaState::Met
        );
        assert_eq!(
            SlaState::of(RequestState::Rejected, due, late, late),
            SlaState::Late
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_text() {
        for state in RequestState::ALL {
            assert_eq!(state.as_str().parse::<RequestState>().ok(), Some(*state));
        }
        assert!("bogus".parse::<RequestState>().is_err());
    }

    #[test]
    fn only_diagram_transitions_are_allowed() {
        use RequestState::*;
        assert!(Submitted.can_become(Approved));
        assert!(!Submitted.can_become(Active));
        assert!(!Active.can_become(Approved));
        assert!(!Approved.can_become(Approved));
        assert!(Failed.can_become(Approved));
        assert!(!Conflict.can_become(Approved));
        assert!(Submitted.is_open() && !Active.is_open() && !Failed.is_open());
    }
}

text_enum!(
    /// Where a version of a name's records came from.
    VersionSource {
        /// An approved request, once every server served it.
        Request => "request",
        /// A network admin adopted what the zone held (drift).
        Adopted => "adopted",
        /// Registered from the existing zone on day one.
        Imported => "imported",
    }
);

/// One version of a managed name's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameVersion {
    pub id: i64,
    pub name: String,
    pub agency_id: Option<AgencyId>,
    /// Empty once the name was removed.
    pub records: Vec<RecordInput>,
    pub source: VersionSource,
    pub request_id: Option<RequestId>,
    /// The approver's username.
    pub approved_by: Option<String>,
    pub serial: Option<u32>,
    pub at: OffsetDateTime,
}

text_enum!(
    /// Where a drift finding stands.
    DriftState {
        /// Seen in the latest run, not settled.
        Open => "open",
        /// The zone no longer shows it.
        Cleared => "cleared",
        /// An admin recorded what the zone holds as the name's new version.
        Adopted => "adopted",
        /// An admin had dnsdesk's record put back, by a request through
        /// the normal provisioning path.
        Restored => "restored",
    }
);

/// A difference between the zone and dnsdesk's record.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftFinding {
    pub id: i64,
    /// The name (or the lagging server).
    pub subject: String,
    /// `changed`, `unmanaged` or `lagging`.
    pub kind: String,
    /// The finding, as [`provisioner::drift::Finding`] serialises it.
    pub detail: serde_json::Value,
    pub state: DriftState,
    pub first_seen_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
    pub note: Option<String>,
}

/// One drift run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftRun {
    pub at: OffsetDateTime,
    pub primary_serial: Option<u32>,
    /// Open findings after the run.
    pub findings: i64,
    pub error: Option<String>,
}

// --- complaints (pengaduan) ---

id_type!(
    /// A complaint's row id.
    ComplaintId
);

text_enum!(
    /// How a complaint reached the office: the channels of the service
    /// standard ("Pengaduan Layanan Informatika"), plus dnsdesk's own
    /// public form and the PD's pages.
    ComplaintChannel {
        /// dnsdesk's public complaint form (no sign-in).
        WebForm => "web_form",
        /// A signed-in PD, from its pages.
        PdPortal => "pd_portal",
        /// In person, to the complaints officer.
        TatapMuka => "tatap_muka",
        /// Written, into the complaints box.
        KotakPengaduan => "kotak_pengaduan",
        Whatsapp => "whatsapp",
        Telepon => "telepon",
        Email => "email",
        /// SP4N-LAPOR!, the national public complaints system.
        Sp4nLapor => "sp4n_lapor",
        /// Instagram, Facebook, Twitter.
        MediaSosial => "media_sosial",
    }
);

impl ComplaintChannel {
    /// The channels staff record a complaint from: every channel but the
    /// two through which complainants file in dnsdesk themselves.
    pub const RECORDED: &'static [ComplaintChannel] = &[
        ComplaintChannel::TatapMuka,
        ComplaintChannel::KotakPengaduan,
        ComplaintChannel::Whatsapp,
        ComplaintChannel::Telepon,
        ComplaintChannel::Email,
        ComplaintChannel::Sp4nLapor,
        ComplaintChannel::MediaSosial,
    ];

    /// Whether staff record complaints from this channel.
    pub fn is_recorded(self) -> bool {
        Self::RECORDED.contains(&self)
    }
}

text_enum!(
    /// The standard's complaint categories, each with its own resolution
    /// deadline in working days (see [`ComplaintDeadlines`]).
    ComplaintCategory {
        /// Light (ringan): 5 working days.
        Ringan => "ringan",
        /// Normative (bersifat normatif): 5 working days.
        Normatif => "normatif",
        /// Not involving supervision: 14 working days.
        TidakBerkadarPengawasan => "tidak_berkadar_pengawasan",
        /// Involving supervision, needing an investigation: 60 working
        /// days.
        BerkadarPengawasan => "berkadar_pengawasan",
    }
);

/// Working days allowed to resolve a complaint of each category. The
/// defaults are the standard's; `[complaints]` in the configuration
/// changes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComplaintDeadlines {
    pub ringan: u32,
    pub normatif: u32,
    pub tidak_berkadar_pengawasan: u32,
    pub berkadar_pengawasan: u32,
}

impl Default for ComplaintDeadlines {
    /// The service standard: 5, 5, 14 and 60 working days.
    fn default() -> Self {
        Self {
            ringan: 5,
            normatif: 5,
            tidak_berkadar_pengawasan: 14,
            berkadar_pengawasan: 60,
        }
    }
}

impl ComplaintDeadlines {
    /// The working days allowed for `category`.
    pub fn days(&self, category: ComplaintCategory) -> u32 {
        match category {
            ComplaintCategory::Ringan => self.ringan,
            ComplaintCategory::Normatif => self.normatif,
            ComplaintCategory::TidakBerkadarPengawasan => self.tidak_berkadar_pengawasan,
            ComplaintCategory::BerkadarPengawasan => self.berkadar_pengawasan,
        }
    }
}

text_enum!(
    /// Where a complaint stands.
    ///
    /// ```text
    ///  received ──classify──▶ classified ──respond──▶ answered ──resolve──▶ resolved
    ///                           │  ▲ reclassify          │  ▲ respond again
    ///                           │  └──┘                  │  └──┘ reclassify
    ///                           └──────────resolve───────┼──────▶ resolved
    /// ```
    ///
    /// Classification sets the category and with it the deadline; it may
    /// be changed while the complaint is open (an investigation turns out
    /// to be needed), the deadline counted again from receipt. Assignment
    /// and internal notes do not change the state; notes may be added even
    /// after resolution. `resolved` is final.
    ComplaintState {
        /// Filed or recorded; no category, no deadline yet.
        Received => "received",
        /// Categorised: the deadline runs.
        Classified => "classified",
        /// The office has responded to the complainant at least once.
        Answered => "answered",
        /// Settled, with a resolution the complainant can read.
        Resolved => "resolved",
    }
);

/// One change to a complaint, applied by the store only if the state
/// allows it ([`ComplaintStep::allowed_from`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComplaintStep {
    /// Sets (or changes) the category and the deadline it gives.
    Classify {
        category: ComplaintCategory,
        due_at: OffsetDateTime,
        /// Whether `due_at` relied on a year with no loaded calendar.
        due_uncertain: bool,
    },
    /// Gives the complaint to a staff user (None: to nobody).
    Assign { to: Option<UserId> },
    /// An internal note, for staff only.
    Note { body: String },
    /// A response the complainant reads on the status page.
    Respond { body: String },
    /// Settles the complaint.
    Resolve { resolution: String },
}

impl ComplaintStep {
    /// Whether this step may be applied to a complaint in `state`, and
    /// the state it leaves the complaint in.
    pub fn allowed_from(&self, state: ComplaintState) -> Option<ComplaintState> {
        use ComplaintState::*;
        match (self, state) {
            (Self::Note { .. }, any) => Some(any),
            (_, Resolved) => None,
            (Self::Classify { .. }, Received) => Some(Classified),
            (Self::Classify { .. }, open) => Some(open),
            (Self::Assign { .. }, open) => Some(open),
            // The deadline (and the category) must be known first.
            (Self::Respond { .. } | Self::Resolve { .. }, Received) => None,
            (Self::Respond { .. }, Classified | Answered) => Some(Answered),
            (Self::Resolve { .. }, Classified | Answered) => Some(Resolved),
        }
    }
}

/// A complaint about the informatics service (pengaduan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complaint {
    pub id: ComplaintId,
    /// The complainant's only key to the status page, e.g. `ADU-7KQ4-M9XP`.
    pub tracking_code: TrackingCode,
    pub channel: ComplaintChannel,
    pub complainant_name: String,
    /// A phone number, an e-mail address or, for recorded complaints,
    /// however the complainant can be reached.
    pub contact: String,
    /// The request the complaint is about, as the complainant wrote it.
    pub request_reference: Option<String>,
    pub description: String,
    pub category: Option<ComplaintCategory>,
    pub state: ComplaintState,
    /// The agency whose PD filed it from its pages.
    pub agency_id: Option<AgencyId>,
    /// The PD or staff user who filed or recorded it; None for the public
    /// form.
    pub filed_by: Option<UserId>,
    pub assigned_to: Option<UserId>,
    /// When the office received it: the deadline counts from here.
    pub received_at: OffsetDateTime,
    /// When it was entered in dnsdesk (later than `received_at` for a
    /// complaint recorded from another channel).
    pub recorded_at: OffsetDateTime,
    pub classified_at: Option<OffsetDateTime>,
    pub due_at: Option<OffsetDateTime>,
    /// Whether `due_at` relied on a year with no loaded holiday calendar.
    pub due_uncertain: bool,
    pub resolved_at: Option<OffsetDateTime>,
    pub resolution: Option<String>,
}

impl Complaint {
    /// Where the complaint stands against its deadline at `now`; None
    /// before it is classified (no deadline yet). Never
    /// [`SlaState::Paused`]: the complainant waits for nobody.
    pub fn sla(&self, now: OffsetDateTime) -> Option<SlaState> {
        let due = self.due_at?;
        let wib = crate::calendar::WIB;
        Some(match self.resolved_at {
            Some(at) if at <= due => SlaState::Met,
            Some(_) => SlaState::Late,
            None if now > due => SlaState::Overdue,
            None if now.to_offset(wib).date() == due.to_offset(wib).date() => SlaState::DueToday,
            None => SlaState::OnTime,
        })
    }
}

/// An internal note on a complaint: staff only, never shown to the
/// complainant or a PD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplaintNote {
    pub author: UserId,
    /// The author's username.
    pub author_name: String,
    pub body: String,
    pub at: OffsetDateTime,
}

/// A response to the complainant, shown on the status page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplaintResponse {
    pub author: UserId,
    /// The author's username (staff see it; the complainant does not).
    pub author_name: String,
    pub body: String,
    pub at: OffsetDateTime,
}

/// A complaint's tracking code, `ADU-XXXX-XXXX`: eight symbols from a
/// 32-letter alphabet without `0`, `O`, `1` and `I` (easy to read aloud
/// and to type on a phone), 40 random bits.
///
/// The code is the complainant's only key to their complaint, so it must
/// not be guessable: with 2⁴⁰ codes, even 10 000 complaints leave a
/// random guess a chance below one in 10⁸, and lookups are rate-limited
/// per client on top.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrackingCode(String);

/// A text that is not a tracking code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a tracking code like ADU-7KQ4-M9XP")]
pub struct NotATrackingCode;

impl TrackingCode {
    /// The symbols: digits 2–9 and letters A–Z but I and O. 32 of them, so
    /// a random byte's low five bits pick one without bias.
    pub const ALPHABET: &'static [u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    /// What every code starts with (pengaduan).
    pub const PREFIX: &'static str = "ADU";
    /// Random symbols in a code: 8 × 5 = 40 bits.
    pub const SYMBOLS: usize = 8;

    /// A fresh random code, from the operating system's generator.
    pub fn random() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; Self::SYMBOLS];
        rand::rng().fill_bytes(&mut bytes);
        let symbols: String = bytes
            .iter()
            .map(|b| char::from(Self::ALPHABET[usize::from(b & 31)]))
            .collect();
        Self::from_symbols(&symbols)
    }

    fn from_symbols(symbols: &str) -> Self {
        let (a, b) = symbols.split_at(Self::SYMBOLS / 2);
        Self(format!("{}-{a}-{b}", Self::PREFIX))
    }

    /// Reads a code as people type it: any case, with or without the
    /// `ADU` prefix, dashes or spaces (`adu 7kq4 m9xp`, `7KQ4M9XP`).
    pub fn parse(text: &str) -> Result<Self, NotATrackingCode> {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .flat_map(char::to_uppercase)
            .collect();
        let symbols = compact.strip_prefix(Self::PREFIX).unwrap_or(&compact);
        let valid =
            symbols.len() == Self::SYMBOLS && symbols.bytes().all(|b| Self::ALPHABET.contains(&b));
        if valid {
            Ok(Self::from_symbols(symbols))
        } else {
            Err(NotATrackingCode)
        }
    }

    /// The code as shown and stored: `ADU-7KQ4-M9XP`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod complaint_tests {
    use super::*;
    use std::collections::HashSet;
    use time::macros::datetime;

    #[test]
    fn tracking_codes_are_random_readable_and_parse_as_typed() {
        let codes: HashSet<TrackingCode> = (0..2000).map(|_| TrackingCode::random()).collect();
        assert_eq!(codes.len(), 2000, "40 random bits do not repeat in 2000");
        for code in &codes {
            let text = code.as_str();
            assert_eq!(text.len(), 13, "{text}");
            assert!(
                text.starts_with("ADU-") && text.as_bytes()[8] == b'-',
                "{text}"
            );
            assert!(!text[4..].contains(['0', 'O', '1', 'I']), "{text}");
            assert_eq!(TrackingCode::parse(text).as_ref(), Ok(code));
        }
        let canonical = TrackingCode::parse("ADU-7KQ4-M9XP").expect("valid");
        for typed in ["adu-7kq4-m9xp", " ADU 7KQ4 M9XP ", "7kq4m9xp", "7KQ4-M9XP"] {
            assert_eq!(
                TrackingCode::parse(typed).as_ref(),
                Ok(&canonical),
                "{typed}"
            );
        }
        for bad in [
            "",
            "ADU-7KQ4-M9X",
            "ADU-7KQ4-M9XPP",
            "ADU-7KQ4-M0XP",
            "ADU-IKQ4-M9XP",
            "ADU-7KQ4-M9X%",
        ] {
            assert_eq!(TrackingCode::parse(bad), Err(NotATrackingCode), "{bad}");
        }
    }

    #[test]
    fn the_alphabet_has_32_distinct_unambiguous_symbols() {
        let set: HashSet<u8> = TrackingCode::ALPHABET.iter().copied().collect();
        assert_eq!(set.len(), 32);
        assert!(!set.contains(&b'0') && !set.contains(&b'O'));
        assert!(!set.contains(&b'1') && !set.contains(&b'I'));
    }

    #[test]
    fn steps_follow_the_diagram() {
        use ComplaintState::*;
        let classify = ComplaintStep::Classify {
            category: ComplaintCategory::Ringan,
            due_at: datetime!(2026-03-31 03:00 UTC),
            due_uncertain: false,
        };
        let respond = ComplaintStep::Respond { body: "x".into() };
        let resolve = ComplaintStep::Resolve {
            resolution: "x".into(),
        };
        let note = ComplaintStep::Note { body: "x".into() };
        assert_eq!(classify.allowed_from(Received), Some(Classified));
        assert_eq!(classify.allowed_from(Answered), Some(Answered));
        assert_eq!(respond.allowed_from(Received), None);
        assert_eq!(respond.allowed_from(Classified), Some(Answered));
        assert_eq!(resolve.allowed_from(Received), None);
        assert_eq!(resolve.allowed_from(Answered), Some(Resolved));
        assert_eq!(resolve.allowed_from(Resolved), None);
        assert_eq!(classify.allowed_from(Resolved), None);
        assert_eq!(note.allowed_from(Resolved), Some(Resolved));
        for s in ComplaintState::ALL {
            assert_eq!(s.as_str().parse::<ComplaintState>().ok(), Some(*s));
        }
        for c in ComplaintChannel::ALL {
            assert_eq!(c.as_str().parse::<ComplaintChannel>().ok(), Some(*c));
            let json = serde_json::to_string(c).expect("json");
            assert_eq!(json, format!("\"{c}\""), "serde and the stored form agree");
        }
    }

    #[test]
    fn the_clock_of_a_complaint() {
        let mut c = Complaint {
            id: ComplaintId(1),
            tracking_code: TrackingCode::random(),
            channel: ComplaintChannel::WebForm,
            complainant_name: "A".into(),
            contact: "a@example.id".into(),
            request_reference: None,
            description: "d".into(),
            category: None,
            state: ComplaintState::Received,
            agency_id: None,
            filed_by: None,
            assigned_to: None,
            received_at: datetime!(2026-03-17 03:00 UTC),
            recorded_at: datetime!(2026-03-17 03:00 UTC),
            classified_at: None,
            due_at: None,
            due_uncertain: false,
            resolved_at: None,
            resolution: None,
        };
        let now = datetime!(2026-03-30 03:00 UTC);
        assert_eq!(c.sla(now), None);
        c.due_at = Some(datetime!(2026-03-31 03:00 UTC));
        assert_eq!(c.sla(now), Some(SlaState::OnTime));
        assert_eq!(
            c.sla(datetime!(2026-03-31 02:00 UTC)),
            Some(SlaState::DueToday)
        );
        assert_eq!(
            c.sla(datetime!(2026-04-01 02:00 UTC)),
            Some(SlaState::Overdue)
        );
        c.resolved_at = Some(datetime!(2026-04-01 02:00 UTC));
        assert_eq!(c.sla(now), Some(SlaState::Late));
    }
}
