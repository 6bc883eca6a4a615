//! What the API sends: views of the domain types, with times in RFC 3339
//! UTC and states as their snake_case names.

use provisioner::record::RecordInput;
use provisioner::verify::ServerReport;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::model::{
    Actor, Agency, DnsAttempt, Letter, RequestKind, RequestState, ServerCheck, SlaState, Subdomain,
    SubdomainRequest, Transition,
};
use crate::service::views::{RequestDetail, SubdomainDetail};

/// A time as the API writes it (RFC 3339, UTC).
pub(super) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A record, as sent and received.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecordDoc {
    /// A, AAAA, CNAME, MX, TXT, CAA, SRV or NS.
    #[serde(rename = "type")]
    pub rtype: String,
    /// Presentation format: `203.0.113.10`, `10 mail.example.com.`,
    /// `0 issue "letsencrypt.org"`, `10 5 5060 sip.example.com.`.
    pub value: String,
    /// Seconds, 60-86400; default 3600.
    pub ttl: Option<u32>,
    /// Glue addresses for an NS target inside the delegated name.
    #[serde(default)]
    pub glue: Vec<String>,
}

/// The agency a request belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyRef {
    pub code: String,
    pub name: String,
}

impl From<&Agency> for AgencyRef {
    fn from(a: &Agency) -> Self {
        Self {
            code: a.code.clone(),
            name: a.name.clone(),
        }
    }
}

/// The update an approval sends.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    pub zone: String,
    /// RFC 2136 prerequisites, one per line, as `nsupdate` writes them.
    pub prerequisites: Vec<String>,
    pub updates: Vec<String>,
    /// SHA-256 of the plan: pass it to `approve` to bind the approval to it.
    pub digest: String,
}

/// One step of a request's life.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransitionView {
    pub from: Option<RequestState>,
    pub to: RequestState,
    /// A username, or `dnsdesk` for the provisioner.
    pub actor: String,
    pub note: Option<String>,
    pub at: String,
}

impl From<&Transition> for TransitionView {
    fn from(t: &Transition) -> Self {
        Self {
            from: t.from,
            to: t.to,
            actor: match t.actor {
                Actor::System => "dnsdesk".to_owned(),
                Actor::User(id) => t.actor_name.clone().unwrap_or_else(|| format!("user {id}")),
            },
            note: t.note.clone(),
            at: rfc3339(t.at),
        }
    }
}

/// One UPDATE sent to the primary.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub server: String,
    pub key_name: String,
    pub message: Vec<String>,
    /// sending, accepted, rejected or unknown.
    pub outcome: String,
    pub rcode: Option<String>,
    pub detail: Option<String>,
    pub serial_after: Option<u32>,
    pub started_at: String,
    pub finished_at: Option<String>,
}

impl From<&DnsAttempt> for AttemptView {
    fn from(a: &DnsAttempt) -> Self {
        Self {
            server: a.server.clone(),
            key_name: a.key_name.clone(),
            message: a.message.clone(),
            outcome: a.outcome.as_str().to_owned(),
            rcode: a.rcode.clone(),
            detail: a.detail.clone(),
            serial_after: a.serial_after,
            started_at: rfc3339(a.started_at),
            finished_at: a.finished_at.map(rfc3339),
        }
    }
}

/// What one authoritative server answered last.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerView {
    pub server: String,
    pub matches: bool,
    /// Verdict, SOA serial and the records served.
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
    pub checked_at: String,
}

impl From<&ServerCheck> for ServerView {
    fn from(c: &ServerCheck) -> Self {
        Self {
            server: c.server.clone(),
            matches: c.matches,
            report: c.report.clone(),
            checked_at: rfc3339(c.checked_at),
        }
    }
}

/// The signed letter.
#[derive(Debug, Serialize, ToSchema)]
pub struct LetterView {
    pub sha256: String,
    pub size: i64,
}

impl From<&Letter> for LetterView {
    fn from(l: &Letter) -> Self {
        Self {
            sha256: l.sha256.clone(),
            size: l.size,
        }
    }
}

/// A request; lists carry the summary, the detail adds plan and history.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestView {
    pub id: i64,
    pub reference: String,
    pub agency: Option<AgencyRef>,
    pub kind: RequestKind,
    pub name: String,
    pub records: Vec<RecordDoc>,
    pub previous_records: Vec<RecordDoc>,
    pub purpose: String,
    pub letter_number: String,
    pub letter_date: String,
    pub letter: Option<LetterView>,
    /// The confirmation letter, once issued (just after `active`; absent
    /// if it could not be made): `GET .../confirmation` serves it.
    pub confirmation: Option<LetterView>,
    pub state: RequestState,
    pub state_reason: Option<String>,
    pub version: i64,
    pub submitted_at: String,
    /// 3 working days of the office's working hours after submission
    /// (service standard), moved later by the working time spent waiting
    /// for the PD's revisions.
    pub due_at: String,
    /// `due_at` relied on a year with no loaded holiday calendar (its
    /// weekdays counted as working days): it may be too early.
    pub due_uncertain: bool,
    /// Against the due time, now: `on_time`, `due_today`, `overdue`,
    /// `paused` (waiting for the PD's revision); once settled, `met` or
    /// `late`.
    pub sla: SlaState,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<TransitionView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<Vec<AttemptView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub servers: Option<Vec<ServerView>>,
}

fn records(inputs: &[RecordInput]) -> Vec<RecordDoc> {
    inputs
        .iter()
        .map(|r| RecordDoc {
            rtype: r.rtype.clone(),
            value: r.value.clone(),
            ttl: r.ttl,
            glue: r.glue.clone(),
        })
        .collect()
}

impl RequestView {
    /// The summary of a request.
    pub fn summary(r: &SubdomainRequest, agency: Option<&Agency>) -> Self {
        Self {
            id: r.id.0,
            reference: r.reference.clone(),
            agency: agency.map(AgencyRef::from),
            kind: r.kind,
            name: r.name.clone(),
            records: records(&r.records),
            previous_records: records(&r.previous_records),
            purpose: r.purpose.clone(),
            letter_number: r.letter_number.clone(),
            letter_date: r.letter_date.to_string(),
            letter: r.letter.as_ref().map(LetterView::from),
            confirmation: r.confirmation.as_ref().map(LetterView::from),
            state: r.state,
            state_reason: r.state_reason.clone(),
            version: r.version,
            submitted_at: rfc3339(r.submitted_at),
            due_at: rfc3339(r.due_at),
            due_uncertain: r.due_uncertain,
            sla: SlaState::of(r.state, r.due_at, r.updated_at, crate::app::now()),
            updated_at: rfc3339(r.updated_at),
            plan: None,
            timeline: None,
            attempts: None,
            servers: None,
        }
    }

    /// The whole request.
    pub fn detail(d: &RequestDetail) -> Self {
        let mut view = Self::summary(&d.request, Some(&d.agency));
        view.plan = Some(PlanView {
            zone: d.plan.zone.clone(),
            prerequisites: d.plan.prerequisites.clone(),
            updates: d.plan.updates.clone(),
            digest: d.digest.clone(),
        });
        view.timeline = Some(d.transitions.iter().map(TransitionView::from).collect());
        view.attempts = Some(d.attempts.iter().map(AttemptView::from).collect());
        view.servers = Some(d.checks.iter().map(ServerView::from).collect());
        view
    }
}

/// A page of requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestPage {
    pub items: Vec<RequestView>,
    /// How many requests match, counted up to 1,000.
    pub total: i64,
    /// False when more than `total` requests match: narrow the filter.
    pub total_exact: bool,
    pub page: i64,
    pub per_page: i64,
}

/// A granted name.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubdomainView {
    pub name: String,
    pub agency: Option<AgencyRef>,
    pub records: Vec<RecordDoc>,
    /// The request that last changed it; null for a name imported from
    /// the zone that no request changed since.
    pub request_id: Option<i64>,
    pub updated_at: String,
    /// What each authoritative server answers now (detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub servers: Option<Vec<ServerReport>>,
}

impl SubdomainView {
    /// The catalogue entry alone.
    pub fn summary(s: &Subdomain, agency: Option<&Agency>) -> Self {
        Self {
            name: s.name.clone(),
            agency: agency.map(AgencyRef::from),
            records: records(&s.records),
            request_id: s.request_id.map(|r| r.0),
            updated_at: rfc3339(s.updated_at),
            servers: None,
        }
    }

    /// With the servers' answers.
    pub fn detail(d: &SubdomainDetail) -> Self {
        let mut view = Self::summary(&d.subdomain, d.agency.as_ref());
        view.servers = Some(d.servers.clone());
        view
    }
}

/// A page of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubdomainPage {
    pub items: Vec<SubdomainView>,
    pub total: i64,
}

/// A reviewer's decision.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// Why; required to reject or ask for a revision.
    #[serde(default)]
    pub note: Option<String>,
    /// The plan digest the reviewer saw (approve only).
    #[serde(default)]
    pub digest: Option<String>,
}
