//! Record rules: the record types a PD may ask for, parsed from their
//! presentation text into typed data and checked before anything is sent.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use serde::{Deserialize, Serialize};

use crate::name::{NameError, display_name, parse_host_name};

/// The record types dnsdesk provisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordKind {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Caa,
    Srv,
    Ns,
}

impl RecordKind {
    /// Every supported kind, in display order.
    pub const ALL: [RecordKind; 8] = [
        Self::A,
        Self::Aaaa,
        Self::Cname,
        Self::Mx,
        Self::Txt,
        Self::Caa,
        Self::Srv,
        Self::Ns,
    ];

    /// The wire type.
    pub fn record_type(self) -> RecordType {
        match self {
            Self::A => RecordType::A,
            Self::Aaaa => RecordType::AAAA,
            Self::Cname => RecordType::CNAME,
            Self::Mx => RecordType::MX,
            Self::Txt => RecordType::TXT,
            Self::Caa => RecordType::CAA,
            Self::Srv => RecordType::SRV,
            Self::Ns => RecordType::NS,
        }
    }

    /// The mnemonic, as in zone files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::Aaaa => "AAAA",
            Self::Cname => "CNAME",
            Self::Mx => "MX",
            Self::Txt => "TXT",
            Self::Caa => "CAA",
            Self::Srv => "SRV",
            Self::Ns => "NS",
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecordKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or(())
    }
}

/// A CAA property tag (RFC 8659 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaaTag {
    Issue,
    IssueWild,
    Iodef,
}

impl CaaTag {
    fn as_str(self) -> &'static str {
        match self {
            Self::Issue => "issue",
            Self::IssueWild => "issuewild",
            Self::Iodef => "iodef",
        }
    }
}

/// Typed record data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(Name),
    Mx {
        preference: u16,
        exchange: Name,
    },
    /// The text as one string; split into 255-byte character-strings on
    /// the wire (RFC 1035 §3.3.14, RFC 7208 §3.3).
    Txt(String),
    Caa {
        critical: bool,
        tag: CaaTag,
        value: String,
    },
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: Name,
    },
    /// A delegation to `target`, with glue addresses when the target lies
    /// inside the delegated name (RFC 1034 §4.2.1).
    Ns {
        target: Name,
        glue: Vec<IpAddr>,
    },
}

impl RecordData {
    /// The kind of this data.
    pub fn kind(&self) -> RecordKind {
        match self {
            Self::A(_) => RecordKind::A,
            Self::Aaaa(_) => RecordKind::Aaaa,
            Self::Cname(_) => RecordKind::Cname,
            Self::Mx { .. } => RecordKind::Mx,
            Self::Txt(_) => RecordKind::Txt,
            Self::Caa { .. } => RecordKind::Caa,
            Self::Srv { .. } => RecordKind::Srv,
            Self::Ns { .. } => RecordKind::Ns,
        }
    }

    /// The value in presentation format, without owner, TTL or type.
    pub fn value(&self) -> String {
        match self {
            Self::A(ip) => ip.to_string(),
            Self::Aaaa(ip) => ip.to_string(),
            Self::Cname(target) => fqdn(target),
            Self::Mx {
                preference,
                exchange,
            } => format!("{preference} {}", fqdn(exchange)),
            Self::Txt(text) => text.clone(),
            Self::Caa {
                critical,
                tag,
                value,
            } => format!(
                "{} {} \"{}\"",
                if *critical { 128 } else { 0 },
                tag.as_str(),
                value
            ),
            Self::Srv {
                priority,
                weight,
                port,
                target,
            } => format!("{priority} {weight} {port} {}", fqdn(target)),
            Self::Ns { target, .. } => fqdn(target),
        }
    }

    fn rdata(&self) -> RData {
        match self {
            Self::A(ip) => RData::A(A(*ip)),
            Self::Aaaa(ip) => RData::AAAA(AAAA(*ip)),
            Self::Cname(target) => RData::CNAME(CNAME(target.clone())),
            Self::Mx {
                preference,
                exchange,
            } => RData::MX(MX::new(*preference, exchange.clone())),
            Self::Txt(text) => RData::TXT(TXT::from_bytes(
                text.as_bytes().chunks(MAX_TXT_STRING).collect(),
            )),
            Self::Caa { .. } => {
                // The value was checked when parsed, so hickory's own parser
                // accepts its presentation form.
                RData::try_from_str(RecordType::CAA, &self.value())
                    .unwrap_or(RData::Update0(RecordType::CAA))
            }
            Self::Srv {
                priority,
                weight,
                port,
                target,
            } => RData::SRV(SRV::new(*priority, *weight, *port, target.clone())),
            Self::Ns { target, .. } => RData::NS(NS(target.clone())),
        }
    }
}

fn fqdn(name: &Name) -> String {
    format!("{}.", display_name(name))
}

/// Longest character-string in a TXT record (RFC 1035 §3.3).
pub const MAX_TXT_STRING: usize = 255;
/// Longest TXT text accepted in one record.
pub const MAX_TXT_LEN: usize = 4096;

/// One record of a request: typed data and a TTL; the owner is the
/// request's name (glue owners are the NS targets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSpec {
    pub data: RecordData,
    pub ttl: u32,
}

impl RecordSpec {
    /// The records to put in the zone for this spec at `owner`: the record
    /// itself and, for a delegation, its glue.
    pub fn to_records(&self, owner: &Name) -> Vec<Record> {
        let mut out = vec![Record::from_rdata(
            owner.clone(),
            self.ttl,
            self.data.rdata(),
        )];
        if let RecordData::Ns { target, glue } = &self.data {
            out.extend(glue.iter().map(|ip| {
                let rdata = match ip {
                    IpAddr::V4(v4) => RData::A(A(*v4)),
                    IpAddr::V6(v6) => RData::AAAA(AAAA(*v6)),
                };
                Record::from_rdata(target.clone(), self.ttl, rdata)
            }));
        }
        out
    }

    /// The stored and API form of this spec.
    pub fn to_input(&self) -> RecordInput {
        let glue = match &self.data {
            RecordData::Ns { glue, .. } => glue.iter().map(IpAddr::to_string).collect(),
            _ => Vec::new(),
        };
        RecordInput {
            rtype: self.data.kind().as_str().to_owned(),
            value: self.data.value(),
            ttl: Some(self.ttl),
            glue,
        }
    }
}

impl fmt::Display for RecordSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.ttl, self.data.kind(), self.data.value())
    }
}

/// A record as people and the API write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordInput {
    #[serde(rename = "type")]
    pub rtype: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    /// Glue addresses for an NS record whose target is inside the
    /// delegated name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub glue: Vec<String>,
}

/// What a record may hold.
#[derive(Debug, Clone)]
pub struct RecordPolicy {
    pub min_ttl: u32,
    pub max_ttl: u32,
    pub default_ttl: u32,
    /// Accept RFC 1918 / RFC 6598 / unique-local addresses (for internal
    /// zones); loopback, unspecified, multicast and link-local never are.
    pub allow_private_addresses: bool,
}

impl Default for RecordPolicy {
    fn default() -> Self {
        Self {
            min_ttl: 60,
            max_ttl: 86_400,
            default_ttl: 3_600,
            allow_private_addresses: false,
        }
    }
}

/// Why a record was refused. `index` is the record's position in the
/// request and `field` the part of it at fault (`type`, `value`, `ttl`,
/// `glue`), so the API can name `records[2].value`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("records[{index}].{field}: {message}")]
pub struct RecordError {
    pub index: usize,
    pub field: &'static str,
    pub message: String,
}

impl RecordError {
    fn new(index: usize, field: &'static str, message: impl Into<String>) -> Self {
        Self {
            index,
            field,
            message: message.into(),
        }
    }

    /// The field path, e.g. `records[2].value`.
    pub fn path(&self) -> String {
        format!("records[{}].{}", self.index, self.field)
    }
}

/// Why a set of records cannot stand together at one name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordSetError {
    #[error("at least one record is required")]
    Empty,
    #[error(transparent)]
    Record(#[from] RecordError),
}

impl RecordSetError {
    /// The field path at fault.
    pub fn path(&self) -> String {
        match self {
            Self::Empty => "records".to_owned(),
            Self::Record(e) => e.path(),
        }
    }
}

impl RecordPolicy {
    /// Parses and checks the records of a request for `owner`, each on its
    /// own and then together (CNAME alone, delegation alone, one TTL per
    /// RRset as RFC 2181 §5.2 requires, no duplicates).
    pub fn parse_records(
        &self,
        owner: &Name,
        inputs: &[RecordInput],
    ) -> Result<Vec<RecordSpec>, RecordSetError> {
        if inputs.is_empty() {
            return Err(RecordSetError::Empty);
        }
        let specs = inputs
            .iter()
            .enumerate()
            .map(|(i, input)| self.parse_record(i, owner, input))
            .collect::<Result<Vec<_>, _>>()?;
        check_together(&specs)?;
        Ok(specs)
    }

    /// Parses and checks one record.
    pub fn parse_record(
        &self,
        index: usize,
        owner: &Name,
        input: &RecordInput,
    ) -> Result<RecordSpec, RecordError> {
        let err = |field, message: String| RecordError::new(index, field, message);
        let kind: RecordKind = input.rtype.parse().map_err(|()| {
            err(
                "type",
                format!(
                    "\"{}\" is not supported; use one of {}",
                    input.rtype,
                    RecordKind::ALL.map(RecordKind::as_str).join(", ")
                ),
            )
        })?;
        let ttl = input.ttl.unwrap_or(self.default_ttl);
        if !(self.min_ttl..=self.max_ttl).contains(&ttl) {
            return Err(err(
                "ttl",
                format!(
                    "{ttl} is outside the allowed range {}-{} seconds",
                    self.min_ttl, self.max_ttl
                ),
            ));
        }
        let data = self
            .parse_value(kind, input.value.trim())
            .map_err(|m| err("value", m))?;
        let data = match data {
            RecordData::Ns { target, .. } => {
                let glue = self
                    .parse_glue(owner, &target, &input.glue)
                    .map_err(|m| err("glue", m))?;
                RecordData::Ns { target, glue }
            }
            other if !input.glue.is_empty() => {
                return Err(err(
                    "glue",
                    format!("glue belongs to NS records only, not {}", other.kind()),
                ));
            }
            other => other,
        };
        Ok(RecordSpec { data, ttl })
    }

    fn parse_value(&self, kind: RecordKind, value: &str) -> Result<RecordData, String> {
        if value.is_empty() {
            return Err("is empty".to_owned());
        }
        Ok(match kind {
            RecordKind::A => {
                let ip: Ipv4Addr = value
                    .parse()
                    .map_err(|_| format!("\"{value}\" is not an IPv4 address"))?;
                self.check_address(IpAddr::V4(ip))?;
                RecordData::A(ip)
            }
            RecordKind::Aaaa => {
                let ip: Ipv6Addr = value
                    .parse()
                    .map_err(|_| format!("\"{value}\" is not an IPv6 address"))?;
                self.check_address(IpAddr::V6(ip))?;
                RecordData::Aaaa(ip)
            }
            RecordKind::Cname => RecordData::Cname(target(value)?),
            RecordKind::Ns => RecordData::Ns {
                target: target(value)?,
                glue: Vec::new(),
            },
            RecordKind::Mx => {
                let [preference, exchange] = fields(value, "PREFERENCE EXCHANGE")?;
                RecordData::Mx {
                    preference: number(preference, "preference")?,
                    exchange: target(exchange)?,
                }
            }
            RecordKind::Srv => {
                let [priority, weight, port, host] = fields(value, "PRIORITY WEIGHT PORT TARGET")?;
                RecordData::Srv {
                    priority: number(priority, "priority")?,
                    weight: number(weight, "weight")?,
                    port: number(port, "port")?,
                    target: target(host)?,
                }
            }
            RecordKind::Txt => parse_txt(value)?,
            RecordKind::Caa => parse_caa(value)?,
        })
    }

    fn parse_glue(
        &self,
        owner: &Name,
        target: &Name,
        glue: &[String],
    ) -> Result<Vec<IpAddr>, String> {
        let inside = owner.zone_of(target);
        if !inside {
            return if glue.is_empty() {
                Ok(Vec::new())
            } else {
                Err(format!(
                    "{} is outside {}, so it takes no glue",
                    display_name(target),
                    display_name(owner)
                ))
            };
        }
        if target == owner {
            return Err("a delegation cannot point at the delegated name itself".to_owned());
        }
        if glue.is_empty() {
            return Err(format!(
                "{} is inside the delegated name, so its address (glue) is required",
                display_name(target)
            ));
        }
        let mut out = Vec::with_capacity(glue.len());
        for text in glue {
            let ip: IpAddr = text
                .trim()
                .parse()
                .map_err(|_| format!("\"{text}\" is not an IP address"))?;
            self.check_address(ip)?;
            if out.contains(&ip) {
                return Err(format!("{ip} is listed twice"));
            }
            out.push(ip);
        }
        Ok(out)
    }

    /// Refuses addresses that cannot serve the public: loopback,
    /// unspecified, multicast, link-local, broadcast and (unless allowed)
    /// private ranges.
    fn check_address(&self, ip: IpAddr) -> Result<(), String> {
        let problem = match ip {
            IpAddr::V4(v4) => {
                if v4.is_loopback() {
                    Some("a loopback address")
                } else if v4.is_unspecified() {
                    Some("the unspecified address")
                } else if v4.is_multicast() {
                    Some("a multicast address")
                } else if v4.is_link_local() {
                    Some("a link-local address")
                } else if v4.is_broadcast() {
                    Some("the broadcast address")
                } else if !self.allow_private_addresses && (v4.is_private() || is_shared_v4(v4)) {
                    Some("a private address (RFC 1918 / RFC 6598)")
                } else {
                    None
                }
            }
            IpAddr::V6(v6) => {
                if v6.is_loopback() {
                    Some("a loopback address")
                } else if v6.is_unspecified() {
                    Some("the unspecified address")
                } else if v6.is_multicast() {
                    Some("a multicast address")
                } else if v6.is_unicast_link_local() {
                    Some("a link-local address")
                } else if !self.allow_private_addresses && v6.is_unique_local() {
                    Some("a unique-local address (RFC 4193)")
                } else {
                    None
                }
            }
        };
        match problem {
            Some(what) => Err(format!(
                "{ip} is {what}, which cannot be reached from the Internet"
            )),
            None => Ok(()),
        }
    }
}

fn is_shared_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    a == 100 && (64..128).contains(&b)
}

fn target(text: &str) -> Result<Name, String> {
    parse_host_name(text).map_err(|e: NameError| format!("target \"{text}\" {e}"))
}

fn number(text: &str, what: &str) -> Result<u16, String> {
    text.parse()
        .map_err(|_| format!("{what} \"{text}\" must be a whole number from 0 to 65535"))
}

fn fields<'a, const N: usize>(value: &'a str, form: &str) -> Result<[&'a str; N], String> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    parts
        .try_into()
        .map_err(|_| format!("\"{value}\" must have the form {form}"))
}

fn parse_txt(value: &str) -> Result<RecordData, String> {
    // A value wholly wrapped in quotes is taken as the text inside them.
    let text = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    if text.len() > MAX_TXT_LEN {
        return Err(format!(
            "is {} bytes long; at most {MAX_TXT_LEN} are allowed",
            text.len()
        ));
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(format!("contains the control character {:?}", c));
    }
    Ok(RecordData::Txt(text.to_owned()))
}

fn parse_caa(value: &str) -> Result<RecordData, String> {
    let mut parts = value.splitn(3, char::is_whitespace);
    let (Some(flags), Some(tag), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "\"{value}\" must have the form FLAGS TAG \"VALUE\", e.g. 0 issue \"letsencrypt.org\""
        ));
    };
    let critical = match flags {
        "0" => false,
        "128" => true,
        other => return Err(format!("flags \"{other}\" must be 0 or 128")),
    };
    let tag = match tag.to_ascii_lowercase().as_str() {
        "issue" => CaaTag::Issue,
        "issuewild" => CaaTag::IssueWild,
        "iodef" => CaaTag::Iodef,
        other => {
            return Err(format!(
                "tag \"{other}\" is not supported; use issue, issuewild or iodef"
            ));
        }
    };
    let inner = rest.trim();
    let inner = inner
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(inner);
    if inner.contains('"') || inner.chars().any(char::is_control) {
        return Err("value must not contain quotes or control characters".to_owned());
    }
    let data = RecordData::Caa {
        critical,
        tag,
        value: inner.to_owned(),
    };
    // Let hickory's parser confirm the whole record (e.g. iodef URLs).
    RData::try_from_str(RecordType::CAA, &data.value())
        .map_err(|e| format!("is not a valid CAA value: {e}"))?;
    Ok(data)
}

fn check_together(specs: &[RecordSpec]) -> Result<(), RecordError> {
    // RFC 1034 §3.6.2 / RFC 2181 §10.1: a CNAME stands alone at its name.
    if let Some(i) = specs
        .iter()
        .position(|s| s.data.kind() == RecordKind::Cname)
        && specs.len() > 1
    {
        return Err(RecordError::new(
            i,
            "type",
            "a CNAME must be the only record at its name",
        ));
    }
    // A delegation hands the whole name to other servers: nothing else may
    // be published at it here (RFC 1034 §4.2.1).
    let ns = specs
        .iter()
        .filter(|s| s.data.kind() == RecordKind::Ns)
        .count();
    if ns > 0
        && let Some(i) = specs.iter().position(|s| s.data.kind() != RecordKind::Ns)
    {
        return Err(RecordError::new(
            i,
            "type",
            "a delegated name (NS) cannot also hold other records",
        ));
    }
    let mut ttl_by_kind: BTreeMap<RecordKind, u32> = BTreeMap::new();
    for (i, spec) in specs.iter().enumerate() {
        if specs[..i].iter().any(|s| s.data == spec.data) {
            return Err(RecordError::new(i, "value", "duplicates an earlier record"));
        }
        let first = *ttl_by_kind.entry(spec.data.kind()).or_insert(spec.ttl);
        if first != spec.ttl {
            return Err(RecordError::new(
                i,
                "ttl",
                format!(
                    "all {} records must share one TTL ({first}), as RFC 2181 §5.2 requires",
                    spec.data.kind()
                ),
            ));
        }
    }
    Ok(())
}

/// Reads stored specs back (already validated when they were stored).
pub fn specs_from_inputs(
    owner: &Name,
    inputs: &[RecordInput],
) -> Result<Vec<RecordSpec>, RecordError> {
    let lenient = RecordPolicy {
        min_ttl: 0,
        max_ttl: u32::MAX,
        default_ttl: 3_600,
        allow_private_addresses: true,
    };
    inputs
        .iter()
        .enumerate()
        .map(|(i, input)| lenient.parse_record(i, owner, input))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn owner() -> Name {
        Name::from_ascii("disdik.kalbarprov.go.id.").unwrap()
    }

    fn input(rtype: &str, value: &str) -> RecordInput {
        RecordInput {
            rtype: rtype.into(),
            value: value.into(),
            ttl: None,
            glue: vec![],
        }
    }

    fn parse(rtype: &str, value: &str) -> Result<RecordSpec, RecordError> {
        RecordPolicy::default().parse_record(0, &owner(), &input(rtype, value))
    }

    #[test]
    fn parses_every_supported_type() {
        let ok = [
            ("A", "203.0.113.10", "203.0.113.10"),
            ("aaaa", "2001:db8::10", "2001:db8::10"),
            ("CNAME", "Web.Example.com", "web.example.com."),
            ("MX", "10 mail.example.com.", "10 mail.example.com."),
            ("TXT", "\"v=spf1 -all\"", "v=spf1 -all"),
            (
                "CAA",
                "0 issue \"letsencrypt.org\"",
                "0 issue \"letsencrypt.org\"",
            ),
            (
                "SRV",
                "10 5 5060 sip.example.com",
                "10 5 5060 sip.example.com.",
            ),
            ("NS", "ns1.example.net", "ns1.example.net."),
        ];
        for (t, v, want) in ok {
            let spec = parse(t, v).unwrap();
            assert_eq!(spec.data.value(), want, "{t} {v}");
            assert_eq!(spec.ttl, 3600);
            assert_eq!(spec.to_records(&owner()).len(), 1);
        }
    }

    #[test]
    fn refuses_bad_addresses_and_values_naming_the_field() {
        for (t, v) in [
            ("A", "127.0.0.1"),
            ("A", "0.0.0.0"),
            ("A", "224.0.0.1"),
            ("A", "169.254.1.1"),
            ("A", "10.1.2.3"),
            ("A", "192.168.1.1"),
            ("A", "172.16.0.1"),
            ("A", "100.64.0.1"),
            ("A", "not-an-ip"),
            ("AAAA", "::1"),
            ("AAAA", "fe80::1"),
            ("AAAA", "fd00::1"),
            ("AAAA", "ff02::1"),
            ("CNAME", "bad_name.example.com"),
            ("MX", "mail.example.com"),
            ("MX", "99999 mail.example.com"),
            ("SRV", "1 2 x host.example.com"),
            ("CAA", "0 foo \"x\""),
            ("CAA", "5 issue \"x\""),
            ("TXT", "bad\u{7}bell"),
        ] {
            let e = parse(t, v).unwrap_err();
            assert_eq!(e.field, "value", "{t} {v}: {e}");
        }
        let e = parse("HINFO", "x").unwrap_err();
        assert_eq!(e.path(), "records[0].type");
        let mut i = input("A", "203.0.113.1");
        i.ttl = Some(30);
        let e = RecordPolicy::default()
            .parse_record(3, &owner(), &i)
            .unwrap_err();
        assert_eq!(e.path(), "records[3].ttl");
    }

    #[test]
    fn private_addresses_only_when_allowed() {
        let policy = RecordPolicy {
            allow_private_addresses: true,
            ..RecordPolicy::default()
        };
        assert!(
            policy
                .parse_record(0, &owner(), &input("A", "10.0.0.1"))
                .is_ok()
        );
        assert!(
            policy
                .parse_record(0, &owner(), &input("A", "127.0.0.1"))
                .is_err()
        );
    }

    #[test]
    fn long_txt_is_split_into_255_byte_strings() {
        let text = "x".repeat(600);
        let spec = parse("TXT", &text).unwrap();
        let records = spec.to_records(&owner());
        let RData::TXT(txt) = &records[0].data else {
            panic!("not TXT")
        };
        let lens: Vec<usize> = txt.txt_data.iter().map(|s| s.len()).collect();
        assert_eq!(lens, [255, 255, 90]);
        assert!(parse("TXT", &"y".repeat(MAX_TXT_LEN + 1)).is_err());
    }

    #[test]
    fn combination_rules() {
        let p = RecordPolicy::default();
        let cname_and_a = [input("CNAME", "x.example.com"), input("A", "203.0.113.1")];
        let e = p.parse_records(&owner(), &cname_and_a).unwrap_err();
        assert_eq!(e.path(), "records[0].type");
        let ns_and_a = [input("NS", "ns1.example.net"), input("A", "203.0.113.1")];
        assert_eq!(
            p.parse_records(&owner(), &ns_and_a).unwrap_err().path(),
            "records[1].type"
        );
        let dup = [input("A", "203.0.113.1"), input("A", "203.0.113.1")];
        assert_eq!(
            p.parse_records(&owner(), &dup).unwrap_err().path(),
            "records[1].value"
        );
        let mut second = input("A", "203.0.113.2");
        second.ttl = Some(600);
        let ttl = [input("A", "203.0.113.1"), second];
        assert_eq!(
            p.parse_records(&owner(), &ttl).unwrap_err().path(),
            "records[1].ttl"
        );
        assert_eq!(
            p.parse_records(&owner(), &[]).unwrap_err().path(),
            "records"
        );
    }

    #[test]
    fn glue_is_required_inside_and_refused_outside() {
        let p = RecordPolicy::default();
        let inside = input("NS", "ns1.disdik.kalbarprov.go.id");
        assert_eq!(
            p.parse_record(0, &owner(), &inside).unwrap_err().field,
            "glue"
        );
        let mut with_glue = inside.clone();
        with_glue.glue = vec!["203.0.113.53".into(), "2001:db8::53".into()];
        let spec = p.parse_record(0, &owner(), &with_glue).unwrap();
        let records = spec.to_records(&owner());
        assert_eq!(records.len(), 3);
        assert_eq!(
            display_name(&records[1].name),
            "ns1.disdik.kalbarprov.go.id"
        );
        let mut outside = input("NS", "ns1.example.net");
        outside.glue = vec!["203.0.113.53".into()];
        assert_eq!(
            p.parse_record(0, &owner(), &outside).unwrap_err().field,
            "glue"
        );
        let mut a_glue = input("A", "203.0.113.1");
        a_glue.glue = vec!["203.0.113.53".into()];
        assert_eq!(
            p.parse_record(0, &owner(), &a_glue).unwrap_err().field,
            "glue"
        );
    }

    #[test]
    fn inputs_round_trip() {
        let mut ns = input("NS", "ns1.disdik.kalbarprov.go.id");
        ns.glue = vec!["203.0.113.53".into()];
        let specs = RecordPolicy::default()
            .parse_records(&owner(), &[ns])
            .unwrap();
        let inputs: Vec<RecordInput> = specs.iter().map(RecordSpec::to_input).collect();
        assert_eq!(specs_from_inputs(&owner(), &inputs).unwrap(), specs);
    }
}
