//! Record rules: the record types a PD may ask for, parsed from their
//! presentation text into typed data and checked before anything is sent.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use serde::{Deserialize, Serialize};

use crate::name::display_name;

mod rules;
#[cfg(test)]
mod tests;

pub use rules::{RecordError, RecordPolicy, RecordSetError, specs_from_inputs};

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
