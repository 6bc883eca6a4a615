//! Drift: what the zone holds at the names dnsdesk manages, compared with
//! what dnsdesk recorded there. Anything else that touched those names (an
//! admin with nsupdate, a restored backup, another tool) shows up here.
//!
//! The zone is read whole by a signed AXFR, so glue below a delegation is
//! seen too. At a managed name every record counts (the subdomain is the
//! agency's); below it, a name dnsdesk did not write (other than its glue)
//! is reported as unmanaged. DNSSEC records the server maintains itself
//! (RRSIG, NSEC, NSEC3) are left out.

use std::collections::{BTreeMap, BTreeSet};

use hickory_proto::rr::{Name, Record, RecordType};
use serde::Serialize;

use crate::name::display_name;
use crate::plan::{ZoneSlice, rr_text};

/// One managed name and what dnsdesk recorded for it (with glue).
#[derive(Debug, Clone)]
pub struct Managed {
    pub name: Name,
    pub records: ZoneSlice,
}

/// A difference between the zone and dnsdesk's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// The zone holds other records at a managed name (or its glue):
    /// `added` are in the zone only, `removed` in dnsdesk's record only.
    /// A managed name gone from the zone has everything in `removed`.
    Changed {
        name: String,
        added: Vec<String>,
        removed: Vec<String>,
    },
    /// A name below a managed one that dnsdesk never wrote.
    Unmanaged {
        name: String,
        below: String,
        records: Vec<String>,
    },
    /// A secondary serves an older serial than the primary.
    Lagging {
        server: String,
        serial: u32,
        primary_serial: u32,
    },
}

impl Finding {
    /// The name the finding is about (the server for a lagging secondary).
    pub fn subject(&self) -> &str {
        match self {
            Finding::Changed { name, .. } | Finding::Unmanaged { name, .. } => name,
            Finding::Lagging { server, .. } => server,
        }
    }

    /// The finding's kind as text.
    pub fn kind(&self) -> &'static str {
        match self {
            Finding::Changed { .. } => "changed",
            Finding::Unmanaged { .. } => "unmanaged",
            Finding::Lagging { .. } => "lagging",
        }
    }
}

/// The serial of the SOA record at the apex of `zone` in a transfer;
/// `None` when there is none (not this zone's data).
pub fn apex_serial(zone: &Name, held: &[Record]) -> Option<u32> {
    held.iter().find_map(|r| match &r.data {
        hickory_proto::rr::RData::SOA(soa) if r.name.to_lowercase() == zone.to_lowercase() => {
            Some(soa.serial)
        }
        _ => None,
    })
}

/// Types a signing server adds by itself (RRSIG, NSEC, NSEC3 and its
/// parameters): never part of what dnsdesk records for a name.
pub fn maintained_by_server(rtype: RecordType) -> bool {
    matches!(
        rtype,
        RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3 | RecordType::NSEC3PARAM
    )
}

/// The records of a transferred zone as dnsdesk compares them, by owner
/// and type: without those a signing server maintains. Built once per
/// transfer, so that what is held at each name is one lookup ([`held_at`],
/// [`compare`]), not a pass over the whole zone per name.
pub fn zone_data(held: &[Record]) -> ZoneSlice {
    held.iter()
        .filter(|r| !maintained_by_server(r.record_type()))
        .cloned()
        .collect()
}

/// Compares the transferred zone `held` with every managed name.
pub fn compare(held: &[Record], managed: &[Managed]) -> Vec<Finding> {
    let zone = zone_data(held);
    let mut findings = Vec::new();
    let mut covered: BTreeSet<Name> = BTreeSet::new();
    for m in managed {
        let owners: BTreeSet<Name> = m
            .records
            .owners()
            .into_iter()
            .cloned()
            .chain(std::iter::once(m.name.to_lowercase()))
            .collect();
        for owner in owners {
            let want: BTreeSet<String> = m.records.at(&owner).map(|r| rr_text(r, true)).collect();
            let have: BTreeSet<String> = zone.at(&owner).map(|r| rr_text(r, true)).collect();
            if want != have {
                findings.push(Finding::Changed {
                    name: display_name(&owner),
                    added: have.difference(&want).cloned().collect(),
                    removed: want.difference(&have).cloned().collect(),
                });
            }
            covered.insert(owner);
        }
    }
    // Names below a managed one that nobody recorded (owners are distinct),
    // reported under the nearest managed name above them.
    let by_name: BTreeMap<Name, &Managed> =
        managed.iter().map(|m| (m.name.to_lowercase(), m)).collect();
    for owner in zone.owners() {
        if covered.contains(owner) {
            continue;
        }
        let mut above = owner.base_name();
        let below = loop {
            if let Some(m) = by_name.get(&above) {
                break Some(*m);
            }
            if above.is_root() {
                break None;
            }
            above = above.base_name();
        };
        if let Some(m) = below {
            findings.push(Finding::Unmanaged {
                name: display_name(owner),
                below: display_name(&m.name),
                records: zone.at(owner).map(|r| rr_text(r, true)).collect(),
            });
        }
    }
    findings
}

/// The records of `zone` (a transfer, from [`zone_data`]) at `name`, with
/// the glue of its NS records (the addresses of name servers below it),
/// as a slice: what "adopt what the zone has" records. Other names below it are not part of it; they are
/// findings of their own.
pub fn held_at(zone: &ZoneSlice, name: &Name) -> ZoneSlice {
    let owner = name.to_lowercase();
    let servers: Vec<Name> = zone
        .get(&owner, RecordType::NS)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| match &r.data {
            hickory_proto::rr::RData::NS(ns) if owner.zone_of(&ns.0) => Some(ns.0.to_lowercase()),
            _ => None,
        })
        .collect();
    let glue = servers.iter().flat_map(|server| {
        [RecordType::A, RecordType::AAAA]
            .into_iter()
            .flat_map(move |rtype| zone.get(server, rtype).unwrap_or_default())
    });
    zone.at(&owner).chain(glue).cloned().collect()
}

/// What dnsdesk records for `owner` when an admin adopts what the zone
/// holds there (`held`, from [`held_at`]): the records in the form
/// requests use, glue attached to its NS records. Fails, naming the
/// record, when the zone holds something dnsdesk does not write (another
/// type, a TXT split differently, an unrelated name below): such a name
/// needs a person, not a button.
pub fn adoptable_inputs(
    owner: &Name,
    held: &ZoneSlice,
) -> Result<Vec<crate::record::RecordInput>, String> {
    use crate::record::{RecordData, RecordSpec};
    use hickory_proto::rr::RData;
    use std::net::IpAddr;

    let owner = owner.to_lowercase();
    let address = |name: &Name| -> Vec<IpAddr> {
        held.records()
            .filter(|r| r.name.to_lowercase() == name.to_lowercase())
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            })
            .collect()
    };
    let mut specs = Vec::new();
    for record in held.records().filter(|r| r.name.to_lowercase() == owner) {
        let data = match &record.data {
            RData::A(a) => RecordData::A(a.0),
            RData::AAAA(a) => RecordData::Aaaa(a.0),
            RData::CNAME(c) => RecordData::Cname(c.0.clone()),
            RData::MX(mx) => RecordData::Mx {
                preference: mx.preference,
                exchange: mx.exchange.clone(),
            },
            RData::TXT(txt) => RecordData::Txt(
                txt.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect(),
            ),
            RData::SRV(srv) => RecordData::Srv {
                priority: srv.priority,
                weight: srv.weight,
                port: srv.port,
                target: srv.target.clone(),
            },
            RData::NS(ns) => RecordData::Ns {
                target: ns.0.clone(),
                glue: if owner.zone_of(&ns.0) {
                    address(&ns.0)
                } else {
                    Vec::new()
                },
            },
            _ => {
                return Err(format!(
                    "{} cannot be adopted: dnsdesk does not manage this type",
                    rr_text(record, true)
                ));
            }
        };
        specs.push(RecordSpec {
            data,
            ttl: record.ttl,
        });
    }
    let rebuilt = ZoneSlice::from_specs(&owner, &specs);
    let text = |slice: &ZoneSlice| -> BTreeSet<String> {
        slice.records().map(|r| rr_text(r, true)).collect()
    };
    if text(&rebuilt) != text(held) {
        let extra: Vec<String> = text(held).difference(&text(&rebuilt)).cloned().collect();
        return Err(format!(
            "the zone holds records dnsdesk would not write back the same way: {}",
            extra.join("; ")
        ));
    }
    Ok(specs.iter().map(RecordSpec::to_input).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use hickory_proto::rr::RData;

    fn a(owner: &str, ip: &str, ttl: u32) -> Record {
        Record::from_rdata(
            Name::from_ascii(owner).unwrap(),
            ttl,
            RData::A(ip.parse().unwrap()),
        )
    }

    fn managed(name: &str, records: &[Record]) -> Managed {
        let mut slice = ZoneSlice::default();
        for r in records {
            slice.insert(r.clone());
        }
        Managed {
            name: Name::from_ascii(name).unwrap(),
            records: slice,
        }
    }

    #[test]
    fn equal_zone_has_no_findings() {
        let r = a("ppdb.kalbarprov.go.id.", "203.0.113.80", 300);
        let held = vec![r.clone(), a("www.kalbarprov.go.id.", "203.0.113.1", 300)];
        assert!(compare(&held, &[managed("ppdb.kalbarprov.go.id.", &[r])]).is_empty());
    }

    #[test]
    fn changed_added_removed_and_unmanaged_are_named() {
        let ours = a("ppdb.kalbarprov.go.id.", "203.0.113.80", 300);
        let theirs = a("ppdb.kalbarprov.go.id.", "198.51.100.9", 300);
        let below = a("x.ppdb.kalbarprov.go.id.", "198.51.100.10", 60);
        let gone = a("sehat.kalbarprov.go.id.", "203.0.113.20", 300);
        let findings = compare(
            &[theirs, below],
            &[
                managed("ppdb.kalbarprov.go.id.", &[ours]),
                managed("sehat.kalbarprov.go.id.", &[gone]),
            ],
        );
        assert_eq!(
            findings,
            vec![
                Finding::Changed {
                    name: "ppdb.kalbarprov.go.id".into(),
                    added: vec!["ppdb.kalbarprov.go.id. 300 IN A 198.51.100.9".into()],
                    removed: vec!["ppdb.kalbarprov.go.id. 300 IN A 203.0.113.80".into()],
                },
                Finding::Changed {
                    name: "sehat.kalbarprov.go.id".into(),
                    added: vec![],
                    removed: vec!["sehat.kalbarprov.go.id. 300 IN A 203.0.113.20".into()],
                },
                Finding::Unmanaged {
                    name: "x.ppdb.kalbarprov.go.id".into(),
                    below: "ppdb.kalbarprov.go.id".into(),
                    records: vec!["x.ppdb.kalbarprov.go.id. 60 IN A 198.51.100.10".into()],
                },
            ]
        );
    }

    #[test]
    fn what_the_zone_holds_is_adopted_with_glue_and_odd_records_are_refused() {
        let owner = Name::from_ascii("sambas.kalbarprov.go.id.").unwrap();
        let ns = Record::from_rdata(
            owner.clone(),
            3600,
            RData::NS(hickory_proto::rr::rdata::NS(
                Name::from_ascii("ns1.sambas.kalbarprov.go.id.").unwrap(),
            )),
        );
        let glue = a("ns1.sambas.kalbarprov.go.id.", "203.0.113.151", 3600);
        let held = held_at(
            &zone_data(&[
                ns,
                glue.clone(),
                a("www.kalbarprov.go.id.", "203.0.113.1", 60),
            ]),
            &owner,
        );
        let inputs = adoptable_inputs(&owner, &held).unwrap();
        assert_eq!(inputs.len(), 1);
        assert_eq!(inputs[0].rtype, "NS");
        assert_eq!(inputs[0].glue, ["203.0.113.151"]);
        // A name below that is no glue is not part of the name's version.
        let stray = a("web.sambas.kalbarprov.go.id.", "203.0.113.9", 60);
        let ns = held.records().cloned().collect::<Vec<_>>();
        let with_stray: Vec<Record> = ns.iter().cloned().chain([stray]).collect();
        assert_eq!(held_at(&zone_data(&with_stray), &owner), held);
        // Glue next to records dnsdesk would not write is refused, naming them.
        let mut odd = held.clone();
        odd.insert(a("ns9.sambas.kalbarprov.go.id.", "203.0.113.99", 60));
        let e = adoptable_inputs(&owner, &odd).unwrap_err();
        assert!(e.contains("ns9.sambas.kalbarprov.go.id."), "{e}");
    }

    #[test]
    fn a_ttl_change_is_a_change() {
        let ours = a("ppdb.kalbarprov.go.id.", "203.0.113.80", 300);
        let theirs = a("ppdb.kalbarprov.go.id.", "203.0.113.80", 60);
        let findings = compare(&[theirs], &[managed("ppdb.kalbarprov.go.id.", &[ours])]);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].kind(), "changed");
    }
}
