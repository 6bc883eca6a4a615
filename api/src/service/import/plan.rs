//! Which names of an existing zone an import registers, with which records
//! and for which agency; pure, so that it is tested without a database or
//! a server.
//!
//! Every owner name below the apex is considered, parents before children
//! (DNS canonical order), and is
//!
//! - left as it is when the catalogue holds it already;
//! - skipped when it is glue (an address of a name server inside a
//!   delegation: it goes with the delegation's NS records) or anything else
//!   below a delegation (occluded data, RFC 1034 §4.2.1);
//! - skipped when no request could ask for it (a reserved label such as
//!   `www`, `mail`, `ns*`; `_` labels; wildcards);
//! - skipped when it lies below a name managed or imported for another
//!   owner: a name and the names below it stay with one agency;
//! - skipped when its records are not what dnsdesk would write back (a type
//!   it does not manage, a TXT split differently), with the reason;
//! - otherwise imported with what the zone holds there, in request form.

use std::collections::{BTreeMap, BTreeSet};

use hickory_proto::rr::rdata::NS;
use hickory_proto::rr::{RData, Record};
use provisioner::Name;
use provisioner::drift::{adoptable_inputs, held_at, maintained_by_server, zone_data};
use provisioner::name::{NameError, NamePolicy, ancestors_below, display_name};
use provisioner::plan::ZoneSlice;
use provisioner::record::{RecordInput, specs_from_inputs};

use super::mapping::Assignments;
use crate::model::AgencyId;

/// What an import does with each name of the zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The zone's SOA serial.
    pub serial: Option<u32>,
    /// In DNS canonical order (a name before the names below it).
    pub names: Vec<Planned>,
}

/// One name and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Lowercase, without the trailing dot.
    pub name: String,
    pub verdict: Verdict,
}

/// What happens to a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Registered for `agency` (None: unassigned) with these records.
    Import {
        agency: Option<AgencyId>,
        records: Vec<RecordInput>,
    },
    /// The catalogue holds it already; left as it is.
    Managed,
    Skip(Skip),
}

/// Why a name is not imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    #[error("not a name a request could ask for: {0}")]
    NotRequestable(NameError),
    #[error("glue of the delegation {delegation}: part of its NS records")]
    Glue { delegation: String },
    #[error("below the delegation {delegation}: the delegated zone's servers answer for it")]
    BelowDelegation { delegation: String },
    #[error(
        "below {ancestor}, which {}; a name and the names below it stay with one agency",
        if *.ancestor_assigned { "belongs to another agency" } else { "is not assigned to an agency" }
    )]
    OtherOwner {
        ancestor: String,
        ancestor_assigned: bool,
    },
    #[error("{0}")]
    NotWritable(String),
}

/// Every owner name of `held` in `zone` (lowercase), apex included, leaving
/// out what a signing server maintains.
pub fn owners(zone: &Name, held: &[Record]) -> BTreeSet<Name> {
    held.iter()
        .filter(|r| !maintained_by_server(r.record_type()) && zone.zone_of(&r.name))
        .map(|r| r.name.to_lowercase())
        .collect()
}

/// The serial of the SOA record at the apex of `zone` in `held`; None
/// when there is none (not this zone's data).
pub use provisioner::drift::apex_serial as soa_serial;

/// Plans the import of `held` (the whole zone), given the names the
/// catalogue holds (`catalogue`: name → agency) and the mapping.
pub fn plan(
    policy: &NamePolicy,
    held: &[Record],
    assignments: &Assignments,
    catalogue: &BTreeMap<String, Option<AgencyId>>,
) -> Plan {
    let zone = policy.zone();
    let held: Vec<Record> = held
        .iter()
        .filter(|r| !maintained_by_server(r.record_type()) && zone.zone_of(&r.name))
        .cloned()
        .collect();
    let serial = soa_serial(zone, &held);
    let delegations = delegations(zone, &held);
    let by_owner = zone_data(&held);
    // Names taken so far with their owner: the catalogue's, then each
    // imported one, so that a name's children see it.
    let mut taken: BTreeMap<Name, Option<AgencyId>> = catalogue
        .iter()
        .filter_map(|(name, agency)| {
            provisioner::name::parse_host_name(name)
                .ok()
                .map(|n| (n, *agency))
        })
        .collect();
    let mut names = Vec::new();
    for owner in owners(zone, &held).into_iter().filter(|o| o != zone) {
        let name = display_name(&owner);
        let verdict = if catalogue.contains_key(&name) {
            Verdict::Managed
        } else {
            match decide(policy, &by_owner, &owner, &delegations, &taken, assignments) {
                Ok((agency, records)) => {
                    taken.insert(owner.clone(), agency);
                    Verdict::Import { agency, records }
                }
                Err(skip) => Verdict::Skip(skip),
            }
        };
        names.push(Planned { name, verdict });
    }
    Plan { serial, names }
}

/// Names below the apex holding NS records, each with its in-bailiwick
/// name servers (whose addresses are its glue).
fn delegations(zone: &Name, held: &[Record]) -> BTreeMap<Name, BTreeSet<Name>> {
    let mut out: BTreeMap<Name, BTreeSet<Name>> = BTreeMap::new();
    for record in held {
        let owner = record.name.to_lowercase();
        if let RData::NS(NS(target)) = &record.data
            && owner != *zone
        {
            let servers = out.entry(owner.clone()).or_default();
            if owner.zone_of(target) {
                servers.insert(target.to_lowercase());
            }
        }
    }
    out
}

/// The agency and records of an importable name, or why it is skipped.
fn decide(
    policy: &NamePolicy,
    held: &ZoneSlice,
    owner: &Name,
    delegations: &BTreeMap<Name, BTreeSet<Name>>,
    taken: &BTreeMap<Name, Option<AgencyId>>,
    assignments: &Assignments,
) -> Result<(Option<AgencyId>, Vec<RecordInput>), Skip> {
    // The highest delegation above it: everything below a cut is the
    // child zone's, deeper cuts included.
    if let Some((cut, servers)) = delegations
        .iter()
        .filter(|(cut, _)| *cut != owner && cut.zone_of(owner))
        .min_by_key(|(cut, _)| cut.num_labels())
    {
        let delegation = display_name(cut);
        return Err(if servers.contains(owner) {
            Skip::Glue { delegation }
        } else {
            Skip::BelowDelegation { delegation }
        });
    }
    policy
        .parse_subdomain(&display_name(owner))
        .map_err(Skip::NotRequestable)?;
    // The nearest name above it that dnsdesk manages or imports now: its
    // owner is this name's, unless the mapping says otherwise below it.
    let parent = ancestors_below(owner, policy.zone())
        .into_iter()
        .find_map(|a| taken.get(&a).map(|owned_by| (a, *owned_by)));
    let mapped = assignments.nearest(owner, parent.as_ref().map(|(name, _)| name));
    let agency = match parent {
        Some((ancestor, owned_by)) => {
            if mapped.is_some_and(|m| Some(m) != owned_by) {
                return Err(Skip::OtherOwner {
                    ancestor: display_name(&ancestor),
                    ancestor_assigned: owned_by.is_some(),
                });
            }
            owned_by
        }
        None => mapped,
    };
    let records = adoptable_inputs(owner, &held_at(held, owner)).map_err(Skip::NotWritable)?;
    // What drift reads back must parse: refuse here rather than there.
    specs_from_inputs(owner, &records).map_err(|e| Skip::NotWritable(e.to_string()))?;
    Ok((agency, records))
}
