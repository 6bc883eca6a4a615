//! Verification: asking every authoritative server directly (RD=0) whether
//! it now serves exactly what an update meant to put in the zone.
//!
//! A NOERROR to an UPDATE proves little on its own (a server may ignore a
//! conflicting CNAME, a secondary may lag); only the servers' answers count.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::future::join_all;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record, RecordType, SerialNumber};
use serde::Serialize;

use crate::client::{self, QueryAnswer};
use crate::plan::{ZoneSlice, rr_text, same_rrset};
use crate::tsig::TsigKey;

/// An (owner, type) to check.
type Question = (Name, RecordType);

/// What every server must serve once an update is in place.
#[derive(Debug, Clone)]
pub struct Expectation {
    pub zone: Name,
    /// The RRsets after the change.
    pub after: ZoneSlice,
    /// RRsets that must be gone: (owner, type) present before and absent
    /// after.
    pub gone: Vec<(Name, RecordType)>,
    /// The primary's SOA serial right after the update: every server must
    /// be at least there (RFC 1982 order).
    pub min_serial: Option<u32>,
    /// The key for zone transfers: glue below a delegation is served only
    /// in referrals (and not at all by some servers), so it is checked in
    /// a transfer of the zone.
    pub transfer_key: Option<TsigKey>,
}

impl Expectation {
    /// The expectation for a change from `before` to `after`.
    pub fn new(zone: Name, before: &ZoneSlice, after: ZoneSlice, min_serial: Option<u32>) -> Self {
        let gone = before
            .keys()
            .filter(|(owner, rtype)| after.get(owner, *rtype).is_none())
            .cloned()
            .collect();
        Self {
            zone,
            after,
            gone,
            min_serial,
            transfer_key: None,
        }
    }

    /// Checks glue with transfers signed by `key`.
    pub fn with_transfer_key(mut self, key: TsigKey) -> Self {
        self.transfer_key = Some(key);
        self
    }

    /// Every (owner, type) to ask about, split into those a query shows
    /// and glue (owners strictly below a delegation), which a transfer shows.
    fn questions(&self) -> (Vec<Question>, Vec<Question>) {
        let all: BTreeSet<(Name, RecordType)> = self
            .after
            .keys()
            .cloned()
            .chain(self.gone.iter().cloned())
            .collect();
        let cuts: Vec<&Name> = all
            .iter()
            .filter(|(_, rtype)| *rtype == RecordType::NS)
            .map(|(owner, _)| owner)
            .collect();
        all.iter()
            .cloned()
            .partition(|(owner, _)| !cuts.iter().any(|cut| *cut != owner && cut.zone_of(owner)))
    }
}

/// One server's state against an expectation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Serves exactly the expected RRsets at a serial at least the minimum.
    Matches,
    /// Answers, but not (yet) with what is expected.
    Differs { reason: String },
    /// Serves the data of an older serial.
    Lagging { serial: u32, want: u32 },
    /// No usable answer.
    Unreachable { error: String },
}

/// What one server answered, for the record and for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerReport {
    pub server: SocketAddr,
    pub serial: Option<u32>,
    /// The records it answered, in presentation format.
    pub answer: Vec<String>,
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl ServerReport {
    /// True when this server serves what is expected.
    pub fn matches(&self) -> bool {
        self.verdict == Verdict::Matches
    }
}

/// Asks `server` about every RRset of `expectation` and its SOA serial.
pub async fn check_server(
    server: SocketAddr,
    expectation: &Expectation,
    timeout: Duration,
) -> ServerReport {
    match client::soa_serial(server, &expectation.zone, timeout).await {
        Ok(serial) => check_records(server, serial, expectation, timeout).await,
        Err(e) => unreachable_report(server, &e),
    }
}

/// How many expectations [`check_many`] checks at once on one server.
const QUERIES_IN_FLIGHT: usize = 32;

/// Checks many expectations (say, every request of one batch of updates)
/// on every server: one SOA query per server, then each expectation's
/// RRsets, with [`QUERIES_IN_FLIGHT`] expectations at a time on each
/// server, all servers at once. A server still below an expectation's
/// minimum serial is reported lagging without its records being asked
/// for: they cannot be there yet.
///
/// Returns one report per server for each expectation, in the order of
/// `expectations` and `servers`.
pub async fn check_many(
    servers: &[SocketAddr],
    zone: &Name,
    expectations: &[Expectation],
    timeout: Duration,
) -> Vec<Vec<ServerReport>> {
    let per_server = join_all(
        servers
            .iter()
            .map(|server| check_many_on(*server, zone, expectations, timeout)),
    )
    .await;
    let mut columns: Vec<_> = per_server.into_iter().map(Vec::into_iter).collect();
    (0..expectations.len())
        .map(|_| columns.iter_mut().filter_map(Iterator::next).collect())
        .collect()
}

/// [`check_many`] on one server.
async fn check_many_on(
    server: SocketAddr,
    zone: &Name,
    expectations: &[Expectation],
    timeout: Duration,
) -> Vec<ServerReport> {
    let serial = match client::soa_serial(server, zone, timeout).await {
        Ok(serial) => serial,
        Err(e) => {
            return expectations
                .iter()
                .map(|_| unreachable_report(server, &e))
                .collect();
        }
    };
    let mut reports = Vec::with_capacity(expectations.len());
    for chunk in expectations.chunks(QUERIES_IN_FLIGHT) {
        reports.extend(
            join_all(
                chunk
                    .iter()
                    .map(|expectation| check_at(server, serial, expectation, timeout)),
            )
            .await,
        );
    }
    reports
}

/// One expectation on a server known to be at `serial`: lagging without
/// a query when the serial is too old, else its records.
async fn check_at(
    server: SocketAddr,
    serial: u32,
    expectation: &Expectation,
    timeout: Duration,
) -> ServerReport {
    match lagging(expectation, serial) {
        Some(want) => ServerReport {
            server,
            serial: Some(serial),
            answer: Vec::new(),
            verdict: Verdict::Lagging { serial, want },
        },
        None => check_records(server, serial, expectation, timeout).await,
    }
}

fn unreachable_report(server: SocketAddr, error: &dyn std::fmt::Display) -> ServerReport {
    ServerReport {
        server,
        serial: None,
        answer: Vec::new(),
        verdict: Verdict::Unreachable {
            error: error.to_string(),
        },
    }
}

/// The serial `expectation` needs when `serial` is below it.
fn lagging(expectation: &Expectation, serial: u32) -> Option<u32> {
    expectation
        .min_serial
        .filter(|want| SerialNumber::from(serial) < SerialNumber::from(*want))
}

/// [`check_server`] past the SOA query: the RRsets, at `serial`.
async fn check_records(
    server: SocketAddr,
    serial: u32,
    expectation: &Expectation,
    timeout: Duration,
) -> ServerReport {
    let mut answer = Vec::new();
    let mut problems = Vec::new();
    let (queried, glue) = expectation.questions();
    if !glue.is_empty() {
        match check_glue(server, expectation, &glue, timeout).await {
            Ok((lines, mut glue_problems)) => {
                answer.extend(lines);
                problems.append(&mut glue_problems);
            }
            Err(error) => {
                return ServerReport {
                    server,
                    serial: Some(serial),
                    answer,
                    verdict: Verdict::Unreachable { error },
                };
            }
        }
    }
    for (owner, rtype) in queried {
        let reply = match client::query(server, &owner, rtype, timeout).await {
            Ok(reply) => reply,
            Err(e) => {
                return ServerReport {
                    server,
                    serial: Some(serial),
                    answer,
                    verdict: Verdict::Unreachable {
                        error: e.to_string(),
                    },
                };
            }
        };
        let got = served_rrset(&reply, &owner, rtype);
        answer.extend(got.iter().map(|r| rr_text(r, true)));
        let want = expectation.after.get(&owner, rtype).unwrap_or(&[]);
        if !matches!(reply.rcode, ResponseCode::NoError | ResponseCode::NXDomain) {
            problems.push(format!(
                "{} {rtype}: answered {}",
                crate::name::display_name(&owner),
                crate::error::rcode_name(reply.rcode)
            ));
        } else if !same_rrset(&got, want) {
            problems.push(format!(
                "{} {rtype}: {} record(s) served, {} expected",
                crate::name::display_name(&owner),
                got.len(),
                want.len()
            ));
        }
    }
    let verdict = match (lagging(expectation, serial), problems.is_empty()) {
        (Some(want), _) => Verdict::Lagging { serial, want },
        (None, true) => Verdict::Matches,
        (None, false) => Verdict::Differs {
            reason: problems.join("; "),
        },
    };
    ServerReport {
        server,
        serial: Some(serial),
        answer,
        verdict,
    }
}

/// Checks glue RRsets in a signed transfer of the zone.
async fn check_glue(
    server: SocketAddr,
    expectation: &Expectation,
    glue: &[(Name, RecordType)],
    timeout: Duration,
) -> Result<(Vec<String>, Vec<String>), String> {
    let Some(key) = &expectation.transfer_key else {
        return Err(
            "glue can only be checked by a zone transfer, and no transfer key is configured"
                .to_owned(),
        );
    };
    let records = client::transfer(server, &expectation.zone, key, timeout)
        .await
        .map_err(|e| format!("zone transfer for glue: {e}"))?;
    let mut held = ZoneSlice::default();
    for record in records {
        if glue
            .iter()
            .any(|(o, t)| *o == record.name && *t == record.record_type())
        {
            held.insert(record);
        }
    }
    let lines = held.records().map(|r| rr_text(r, true)).collect();
    let problems = glue
        .iter()
        .filter(|(owner, rtype)| {
            let have = held.get(owner, *rtype).unwrap_or(&[]);
            !same_rrset(have, expectation.after.get(owner, *rtype).unwrap_or(&[]))
        })
        .map(|(owner, rtype)| {
            format!(
                "glue {} {rtype} differs in the zone transfer",
                crate::name::display_name(owner)
            )
        })
        .collect();
    Ok((lines, problems))
}

/// Checks every server concurrently.
pub async fn check_all(
    servers: &[SocketAddr],
    expectation: &Expectation,
    timeout: Duration,
) -> Vec<ServerReport> {
    join_all(
        servers
            .iter()
            .map(|server| check_server(*server, expectation, timeout)),
    )
    .await
}

/// The RRset a reply serves for (owner, type): authoritative answers, or
/// for a delegation the referral's NS in the authority section and its glue
/// in the additional section (a parent is not authoritative for either).
pub fn served_rrset(reply: &QueryAnswer, owner: &Name, rtype: RecordType) -> Vec<Record> {
    let owned = |r: &&Record| r.record_type() == rtype && r.name == *owner;
    let answers: Vec<Record> = reply.answers.iter().filter(owned).cloned().collect();
    if !answers.is_empty() {
        return answers;
    }
    if reply.authoritative {
        return Vec::new();
    }
    let referral: Vec<Record> = reply.authority.iter().filter(owned).cloned().collect();
    if !referral.is_empty() {
        return referral;
    }
    reply.additionals.iter().filter(owned).cloned().collect()
}

/// What `server` holds now for each (owner, type) in `questions`, read with
/// concurrent RD=0 queries. Used to show the zone as it is, to check that
/// a plan's prerequisites still hold, and to learn whether an update whose
/// answer was lost was applied.
pub async fn observe(
    server: SocketAddr,
    questions: &[(Name, RecordType)],
    timeout: Duration,
) -> Result<ZoneSlice, crate::error::QueryError> {
    let replies = join_all(
        questions
            .iter()
            .map(|(owner, rtype)| client::query(server, owner, *rtype, timeout)),
    )
    .await;
    let mut slice = ZoneSlice::default();
    for ((owner, rtype), reply) in questions.iter().zip(replies) {
        for record in served_rrset(&reply?, owner, *rtype) {
            slice.insert(record);
        }
    }
    Ok(slice)
}

/// The questions that cover every RRset of `slices` plus every supported
/// type at `name`: enough to see all that dnsdesk could have written there.
pub fn questions_for(name: &Name, slices: &[&ZoneSlice]) -> Vec<(Name, RecordType)> {
    let mut set: BTreeSet<(Name, RecordType)> = crate::record::RecordKind::ALL
        .iter()
        .map(|k| (name.to_lowercase(), k.record_type()))
        .collect();
    for slice in slices {
        set.extend(slice.keys().cloned());
    }
    set.into_iter().collect()
}

/// Whether `now` holds exactly `want` at every (owner, type) of `keys`.
pub fn holds_exactly<'a>(
    now: &ZoneSlice,
    want: &ZoneSlice,
    keys: impl IntoIterator<Item = &'a (Name, RecordType)>,
) -> bool {
    keys.into_iter().all(|(owner, rtype)| {
        let have = now.get(owner, *rtype).unwrap_or(&[]);
        let expected = want.get(owner, *rtype).unwrap_or(&[]);
        same_rrset(have, expected)
    })
}

/// The DNS port delegated servers are asked on (NS records carry no port).
pub const DNS_PORT: u16 = 53;

/// A zone cut an update puts in place: the child zone and its name servers,
/// with the addresses the parent zone gives for them (glue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    pub child: Name,
    pub servers: Vec<Name>,
    /// Glue from the expectation, by server name.
    pub glue: Vec<(Name, IpAddr)>,
}

impl Expectation {
    /// Every delegation (NS RRset below the apex) the change leaves in
    /// place, with its glue.
    pub fn delegations(&self) -> Vec<Delegation> {
        self.after
            .records()
            .filter(|r| r.record_type() == RecordType::NS && r.name != self.zone)
            .fold(Vec::<Delegation>::new(), |mut cuts, record| {
                let RData::NS(ns) = &record.data else {
                    return cuts;
                };
                let target = ns.0.to_lowercase();
                match cuts.iter_mut().find(|d| d.child == record.name) {
                    Some(cut) => cut.servers.push(target),
                    None => cuts.push(Delegation {
                        child: record.name.clone(),
                        servers: vec![target],
                        glue: Vec::new(),
                    }),
                }
                cuts
            })
            .into_iter()
            .map(|mut cut| {
                cut.glue = self
                    .after
                    .records()
                    .filter(|r| cut.servers.contains(&r.name.to_lowercase()))
                    .filter_map(|r| match &r.data {
                        RData::A(a) => Some((r.name.to_lowercase(), IpAddr::V4(a.0))),
                        RData::AAAA(a) => Some((r.name.to_lowercase(), IpAddr::V6(a.0))),
                        _ => None,
                    })
                    .collect();
                cut
            })
            .collect()
    }
}

/// How one delegated server answered for its child zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum DelegationVerdict {
    /// Answered the child's SOA with the AA bit: it serves the child zone.
    Authoritative { serial: u32 },
    /// Answered, but not as an authority for the child: a lame delegation
    /// (RFC 1912 §2.8; RFC 8499 "lame delegation").
    Lame { reason: String },
    /// No address for the server name, or no answer at all.
    Unreachable { error: String },
}

/// One delegated server's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameServerReport {
    /// The child zone.
    pub child: String,
    /// The server's name, from the NS record.
    pub server: String,
    /// The address asked, when one was found.
    pub address: Option<SocketAddr>,
    #[serde(flatten)]
    pub verdict: DelegationVerdict,
}

impl NameServerReport {
    /// True when the server answers authoritatively for the child.
    pub fn serves_child(&self) -> bool {
        matches!(self.verdict, DelegationVerdict::Authoritative { .. })
    }

    /// What the server said, for people.
    pub fn describe(&self) -> String {
        let at = self.address.map(|a| format!(" at {a}")).unwrap_or_default();
        let what = match &self.verdict {
            DelegationVerdict::Authoritative { serial } => {
                format!("answers authoritatively (SOA serial {serial})")
            }
            DelegationVerdict::Lame { reason } => format!("lame: {reason}"),
            DelegationVerdict::Unreachable { error } => format!("unreachable: {error}"),
        };
        format!("{} for {}{at}: {what}", self.server, self.child)
    }
}

/// Where to find the addresses of name servers that have no glue: the
/// managed zone's own servers for names inside it, the system's resolver
/// for names elsewhere.
#[derive(Debug, Clone)]
pub struct AddressSource {
    pub zone: Name,
    /// An authoritative server of the managed zone.
    pub zone_server: SocketAddr,
    pub timeout: Duration,
}

impl AddressSource {
    async fn addresses(
        &self,
        server: &Name,
        glue: &[(Name, IpAddr)],
    ) -> Result<Vec<IpAddr>, String> {
        let glued: Vec<IpAddr> = glue
            .iter()
            .filter(|(name, _)| name == server)
            .map(|(_, ip)| *ip)
            .collect();
        if !glued.is_empty() {
            return Ok(glued);
        }
        if self.zone.zone_of(server) {
            let mut found = Vec::new();
            for rtype in [RecordType::A, RecordType::AAAA] {
                let reply = client::query(self.zone_server, server, rtype, self.timeout)
                    .await
                    .map_err(|e| e.to_string())?;
                found.extend(served_rrset(&reply, server, rtype).iter().filter_map(
                    |r| match &r.data {
                        RData::A(a) => Some(IpAddr::V4(a.0)),
                        RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                        _ => None,
                    },
                ));
            }
            return if found.is_empty() {
                Err(format!(
                    "the zone has no address for {}",
                    crate::name::display_name(server)
                ))
            } else {
                Ok(found)
            };
        }
        let host = crate::name::display_name(server);
        let lookup = tokio::net::lookup_host((host.as_str(), DNS_PORT));
        match tokio::time::timeout(self.timeout, lookup).await {
            Err(_) => Err(format!("resolving {host} timed out")),
            Ok(Err(e)) => Err(format!("cannot resolve {host}: {e}")),
            Ok(Ok(addrs)) => Ok(addrs.map(|a| a.ip()).collect()),
        }
    }
}

/// Asks every server of every delegation, at every address it has, for
/// the child's SOA without recursion, concurrently.
pub async fn check_delegations(
    delegations: &[Delegation],
    source: &AddressSource,
    timeout: Duration,
) -> Vec<NameServerReport> {
    let mut asks = Vec::new();
    for cut in delegations {
        for server in &cut.servers {
            asks.push(check_name_server(cut, server, source, timeout));
        }
    }
    join_all(asks).await.into_iter().flatten().collect()
}

async fn check_name_server(
    cut: &Delegation,
    server: &Name,
    source: &AddressSource,
    timeout: Duration,
) -> Vec<NameServerReport> {
    let child = crate::name::display_name(&cut.child);
    let server_text = crate::name::display_name(server);
    let addresses = match source.addresses(server, &cut.glue).await {
        Ok(addresses) => addresses,
        Err(error) => {
            return vec![NameServerReport {
                child,
                server: server_text,
                address: None,
                verdict: DelegationVerdict::Unreachable { error },
            }];
        }
    };
    let asks = addresses.into_iter().map(|ip| {
        let address = SocketAddr::new(ip, DNS_PORT);
        let child = child.clone();
        let server_text = server_text.clone();
        async move {
            let verdict = match client::query(address, &cut.child, RecordType::SOA, timeout).await {
                Err(e) => DelegationVerdict::Unreachable {
                    error: e.to_string(),
                },
                Ok(reply) => judge_child_soa(&reply, &cut.child),
            };
            NameServerReport {
                child,
                server: server_text,
                address: Some(address),
                verdict,
            }
        }
    });
    join_all(asks).await
}

/// An authority for `child` answers its SOA query with NOERROR, the AA bit
/// and the SOA record owned by `child` itself.
fn judge_child_soa(reply: &QueryAnswer, child: &Name) -> DelegationVerdict {
    if reply.rcode != ResponseCode::NoError {
        return DelegationVerdict::Lame {
            reason: format!("answered {}", crate::error::rcode_name(reply.rcode)),
        };
    }
    let soa = reply.answers.iter().find_map(|r| match &r.data {
        RData::SOA(soa) if r.name == *child => Some(soa.serial),
        _ => None,
    });
    match (reply.authoritative, soa) {
        (true, Some(serial)) => DelegationVerdict::Authoritative { serial },
        (false, _) => DelegationVerdict::Lame {
            reason: "answered without the AA bit: it is not authoritative for the zone".to_owned(),
        },
        (true, None) => DelegationVerdict::Lame {
            reason: "answered authoritatively but without the zone's SOA: it serves a parent or another zone".to_owned(),
        },
    }
}
