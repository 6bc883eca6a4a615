//! What a record may hold: parsing presentation text into typed data, the
//! address and TTL rules, and the rules for records standing together.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::{Name, RData, RecordType};

use super::{CaaTag, MAX_TXT_LEN, RecordData, RecordInput, RecordKind, RecordSpec};
use crate::name::{NameError, display_name, parse_host_name};

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
