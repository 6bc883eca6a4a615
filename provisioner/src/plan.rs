//! Update plans: the one RFC 2136 UPDATE message a request becomes, with the
//! prerequisites that keep it from clobbering anything it did not expect.
//!
//! A plan is computed from two [`ZoneSlice`]s, what the zone holds now for
//! the names involved (as dnsdesk recorded it) and what it should hold
//! afterwards. The same plan renders to presentation text, which a reviewer
//! reads and whose digest binds an approval to exactly that change.

use std::collections::{BTreeMap, BTreeSet};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, UpdateMessage};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use sha2::{Digest, Sha256};

use crate::name::display_name;
use crate::record::RecordSpec;

/// The RRsets of some names, keyed by (owner, type).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZoneSlice {
    rrsets: BTreeMap<(Name, RecordType), Vec<Record>>,
}

impl ZoneSlice {
    /// The slice a request's records make at `owner` (with glue).
    pub fn from_specs(owner: &Name, specs: &[RecordSpec]) -> Self {
        let mut slice = Self::default();
        for record in specs.iter().flat_map(|s| s.to_records(owner)) {
            slice.insert(record);
        }
        slice
    }

    /// Adds one record to its RRset.
    pub fn insert(&mut self, record: Record) {
        let key = (record.name.to_lowercase(), record.record_type());
        let rrset = self.rrsets.entry(key).or_default();
        if !rrset.iter().any(|r| r.data == record.data) {
            rrset.push(record);
        }
    }

    /// Every (owner, type) held.
    pub fn keys(&self) -> impl Iterator<Item = &(Name, RecordType)> {
        self.rrsets.keys()
    }

    /// The RRset at (owner, type), if any.
    pub fn get(&self, owner: &Name, rtype: RecordType) -> Option<&[Record]> {
        self.rrsets
            .get(&(owner.to_lowercase(), rtype))
            .map(Vec::as_slice)
    }

    /// Every record at `owner`, ordered by type: one range of the map,
    /// however many names the slice holds (a whole zone, for drift and
    /// import).
    pub fn at(&self, owner: &Name) -> impl Iterator<Item = &Record> {
        let owner = owner.to_lowercase();
        let first = (owner.clone(), RecordType::ZERO);
        let last = (owner, RecordType::from(u16::MAX));
        self.rrsets.range(first..=last).flat_map(|(_, rrset)| rrset)
    }

    /// The distinct owner names.
    pub fn owners(&self) -> BTreeSet<&Name> {
        self.rrsets.keys().map(|(n, _)| n).collect()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.rrsets.is_empty()
    }

    /// All records, ordered by owner and type.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.rrsets.values().flatten()
    }
}

impl FromIterator<Record> for ZoneSlice {
    fn from_iter<I: IntoIterator<Item = Record>>(records: I) -> Self {
        let mut slice = Self::default();
        for record in records {
            slice.insert(record);
        }
        slice
    }
}

/// Whether two RRsets hold the same records (order aside), TTL included.
pub fn same_rrset(a: &[Record], b: &[Record]) -> bool {
    a.len() == b.len()
        && a.iter().all(|x| {
            b.iter()
                .any(|y| x.ttl == y.ttl && x.data == y.data && x.name == y.name)
        })
}

/// A condition the primary checks before applying the update (RFC 2136
/// §2.4, §3.2). If one fails, nothing in the message is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prerequisite {
    /// §2.4.5 Name Is Not In Use: "no RR of any type is owned by a
    /// specified NAME. Note that this prerequisite IS satisfied by empty
    /// nonterminals." Sent as CLASS NONE, TYPE ANY, TTL 0, empty RDATA;
    /// fails with YXDOMAIN.
    NameNotInUse(Name),
    /// §2.4.2 RRset Exists (Value Dependent): "a set of RRs with a specified
    /// NAME and TYPE exists and has the same members with the same RDATAs
    /// as the RRset specified here". Sent as the RRs themselves with CLASS
    /// IN and TTL 0; fails with NXRRSET.
    RrsetExactly(Vec<Record>),
    /// §2.4.3 RRset Does Not Exist: "no RRs with a specified NAME and TYPE
    /// ... exist". Sent as CLASS NONE, TTL 0, empty RDATA; fails with
    /// YXRRSET.
    RrsetAbsent { name: Name, rtype: RecordType },
}

/// One change in the Update Section (RFC 2136 §2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOp {
    /// §2.5.1 Add To An RRset: the RR with CLASS IN.
    Add(Record),
    /// §2.5.2 Delete An RRset: CLASS ANY, TTL 0, empty RDATA.
    DeleteRrset { name: Name, rtype: RecordType },
}

/// The whole change a request makes, ready to send or show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatePlan {
    pub zone: Name,
    pub prerequisites: Vec<Prerequisite>,
    pub updates: Vec<UpdateOp>,
}

impl UpdatePlan {
    /// The plan that turns `before` into `after`, touching only the RRsets
    /// that differ and requiring every RRset of `before` to be exactly as
    /// recorded.
    ///
    /// - an owner in `after` that `before` does not know must not be in use
    ///   at all (a new name, or glue for a new delegation);
    /// - an RRset `before` holds must exist with exactly those records;
    /// - a type `after` adds at a known owner must not exist yet.
    ///
    /// RRsets are replaced whole (delete, then add), so TTL changes apply.
    /// Types dnsdesk did not record at a name are left alone: a removal
    /// deletes the RRsets it knows, never the whole name.
    pub fn between(zone: &Name, before: &ZoneSlice, after: &ZoneSlice) -> Self {
        let mut prerequisites = Vec::new();
        let before_owners = before.owners();
        for owner in after.owners() {
            if !before_owners.contains(owner) {
                prerequisites.push(Prerequisite::NameNotInUse(owner.clone()));
            }
        }
        for rrset in before.rrsets.values() {
            prerequisites.push(Prerequisite::RrsetExactly(rrset.clone()));
        }
        for (owner, rtype) in after.keys() {
            if before_owners.contains(owner) && before.get(owner, *rtype).is_none() {
                prerequisites.push(Prerequisite::RrsetAbsent {
                    name: owner.clone(),
                    rtype: *rtype,
                });
            }
        }

        let mut updates = Vec::new();
        for ((owner, rtype), old) in &before.rrsets {
            let unchanged = after
                .get(owner, *rtype)
                .is_some_and(|new| same_rrset(old, new));
            if !unchanged {
                updates.push(UpdateOp::DeleteRrset {
                    name: owner.clone(),
                    rtype: *rtype,
                });
            }
        }
        for ((owner, rtype), new) in &after.rrsets {
            let unchanged = before
                .get(owner, *rtype)
                .is_some_and(|old| same_rrset(old, new));
            if !unchanged {
                updates.extend(new.iter().cloned().map(UpdateOp::Add));
            }
        }
        Self {
            zone: zone.clone(),
            prerequisites,
            updates,
        }
    }

    /// The UPDATE message (RFC 2136 §2): the zone in the Zone Section,
    /// then prerequisites, then updates. Unsigned; the client signs it.
    pub fn to_message(&self) -> Message {
        let mut message = Message::new(0, MessageType::Query, OpCode::Update);
        message.metadata.recursion_desired = false;
        let mut zone = Query::new();
        zone.set_name(self.zone.clone())
            .set_query_class(DNSClass::IN)
            .set_query_type(RecordType::SOA);
        message.add_zone(zone);
        for prerequisite in &self.prerequisites {
            match prerequisite {
                Prerequisite::NameNotInUse(name) => {
                    message.add_pre_requisite(empty(name, RecordType::ANY, DNSClass::NONE));
                }
                Prerequisite::RrsetExactly(records) => {
                    for record in records {
                        let mut r = record.clone();
                        r.ttl = 0;
                        r.dns_class = DNSClass::IN;
                        message.add_pre_requisite(r);
                    }
                }
                Prerequisite::RrsetAbsent { name, rtype } => {
                    message.add_pre_requisite(empty(name, *rtype, DNSClass::NONE));
                }
            }
        }
        for update in &self.updates {
            match update {
                UpdateOp::Add(record) => {
                    let mut r = record.clone();
                    r.dns_class = DNSClass::IN;
                    message.add_update(r);
                }
                UpdateOp::DeleteRrset { name, rtype } => {
                    message.add_update(empty(name, *rtype, DNSClass::ANY));
                }
            }
        }
        message
            .edns
            .get_or_insert_with(Edns::new)
            .set_max_payload(1232)
            .set_version(0);
        message
    }

    /// The plan in presentation format, one line per prerequisite and per
    /// update, in the words of `nsupdate` (which admins know).
    pub fn render(&self) -> RenderedPlan {
        let prerequisites = self
            .prerequisites
            .iter()
            .flat_map(|p| match p {
                Prerequisite::NameNotInUse(name) => vec![format!("prereq nxdomain {}", fqdn(name))],
                Prerequisite::RrsetExactly(records) => records
                    .iter()
                    .map(|r| format!("prereq yxrrset {}", rr_text(r, false)))
                    .collect(),
                Prerequisite::RrsetAbsent { name, rtype } => {
                    vec![format!("prereq nxrrset {} IN {rtype}", fqdn(name))]
                }
            })
            .collect();
        let updates = self
            .updates
            .iter()
            .map(|u| match u {
                UpdateOp::Add(record) => format!("update add {}", rr_text(record, true)),
                UpdateOp::DeleteRrset { name, rtype } => {
                    format!("update delete {} IN {rtype}", fqdn(name))
                }
            })
            .collect();
        RenderedPlan {
            zone: fqdn(&self.zone),
            prerequisites,
            updates,
        }
    }

    /// One plan carrying several plans' prerequisites and updates, for one
    /// message. RFC 2136 §3.2 checks every prerequisite before §3.4
    /// applies anything, so the combined message is applied whole or not
    /// at all: one failing prerequisite holds all of them back, and the
    /// sender must split the batch to find the plan it belongs to. The
    /// plans must not touch the same owner name.
    pub fn combine<'a>(zone: &Name, plans: impl IntoIterator<Item = &'a UpdatePlan>) -> Self {
        let mut combined = Self {
            zone: zone.clone(),
            prerequisites: Vec::new(),
            updates: Vec::new(),
        };
        for plan in plans {
            combined
                .prerequisites
                .extend(plan.prerequisites.iter().cloned());
            combined.updates.extend(plan.updates.iter().cloned());
        }
        combined
    }

    /// Every owner name the plan's prerequisites or updates touch.
    pub fn owners(&self) -> BTreeSet<&Name> {
        let prerequisites = self.prerequisites.iter().flat_map(|p| match p {
            Prerequisite::NameNotInUse(name) | Prerequisite::RrsetAbsent { name, .. } => {
                vec![name]
            }
            Prerequisite::RrsetExactly(records) => records.iter().map(|r| &r.name).collect(),
        });
        let updates = self.updates.iter().map(|u| match u {
            UpdateOp::Add(record) => &record.name,
            UpdateOp::DeleteRrset { name, .. } => name,
        });
        prerequisites.chain(updates).collect()
    }

    /// True when the plan changes nothing.
    pub fn is_noop(&self) -> bool {
        self.updates.is_empty()
    }
}

/// A plan as text, with its digest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RenderedPlan {
    pub zone: String,
    pub prerequisites: Vec<String>,
    pub updates: Vec<String>,
}

impl RenderedPlan {
    /// SHA-256 over the zone, prerequisites and updates, one per line with
    /// a section marker, as lowercase hex: what an approval is bound to.
    pub fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"zone ");
        hasher.update(self.zone.as_bytes());
        hasher.update(b"\n");
        for line in self.prerequisites.iter().chain(&self.updates) {
            hasher.update(line.as_bytes());
            hasher.update(b"\n");
        }
        hex::encode(hasher.finalize())
    }
}

fn empty(name: &Name, rtype: RecordType, class: DNSClass) -> Record {
    let mut record = Record::update0(name.clone(), 0, rtype);
    record.dns_class = class;
    record.into_record_of_rdata()
}

fn fqdn(name: &Name) -> String {
    format!("{}.", display_name(name))
}

/// `owner [ttl] IN TYPE rdata`, the way zone files and nsupdate write it.
pub fn rr_text(record: &Record, with_ttl: bool) -> String {
    let data = match &record.data {
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|s| format!("\"{}\"", escape_txt(s)))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    };
    if with_ttl {
        format!(
            "{} {} IN {} {}",
            fqdn(&record.name),
            record.ttl,
            record.record_type(),
            data
        )
    } else {
        format!(
            "{} IN {} {}",
            fqdn(&record.name),
            record.record_type(),
            data
        )
    }
}

fn escape_txt(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::record::{RecordInput, RecordPolicy};

    fn zone() -> Name {
        Name::from_ascii("kalbarprov.go.id.").unwrap()
    }

    fn owner() -> Name {
        Name::from_ascii("disdik.kalbarprov.go.id.").unwrap()
    }

    fn slice(records: &[(&str, &str)]) -> ZoneSlice {
        let inputs: Vec<RecordInput> = records
            .iter()
            .map(|(t, v)| RecordInput {
                rtype: (*t).into(),
                value: (*v).into(),
                ttl: None,
                glue: vec![],
            })
            .collect();
        let specs = RecordPolicy::default()
            .parse_records(&owner(), &inputs)
            .unwrap();
        ZoneSlice::from_specs(&owner(), &specs)
    }

    #[test]
    fn combined_plans_carry_each_plans_prerequisites_and_updates_in_order() {
        let create = UpdatePlan::between(
            &zone(),
            &ZoneSlice::default(),
            &slice(&[("A", "203.0.113.10")]),
        );
        let change = UpdatePlan::between(
            &zone(),
            &slice(&[("A", "203.0.113.10")]),
            &slice(&[("A", "203.0.113.11")]),
        );
        let combined = UpdatePlan::combine(&zone(), [&create, &change]);
        let text = combined.render();
        let alone = [create.render(), change.render()];
        assert_eq!(
            text.prerequisites,
            [
                alone[0].prerequisites.clone(),
                alone[1].prerequisites.clone()
            ]
            .concat()
        );
        assert_eq!(
            text.updates,
            [alone[0].updates.clone(), alone[1].updates.clone()].concat()
        );
        let message = combined.to_message();
        assert_eq!(message.prerequisites().len(), 2);
        assert_eq!(message.updates().len(), 3);
        assert_eq!(
            combined.owners().into_iter().collect::<Vec<_>>(),
            vec![&owner()]
        );
    }

    #[test]
    fn create_requires_the_name_unused() {
        let plan = UpdatePlan::between(
            &zone(),
            &ZoneSlice::default(),
            &slice(&[("A", "203.0.113.10"), ("TXT", "hello")]),
        );
        let text = plan.render();
        assert_eq!(
            text.prerequisites,
            ["prereq nxdomain disdik.kalbarprov.go.id."]
        );
        assert_eq!(
            text.updates,
            [
                "update add disdik.kalbarprov.go.id. 3600 IN A 203.0.113.10",
                "update add disdik.kalbarprov.go.id. 3600 IN TXT \"hello\"",
            ]
        );
        let message = plan.to_message();
        assert_eq!(message.metadata.op_code, OpCode::Update);
        assert_eq!(message.prerequisites().len(), 1);
        assert_eq!(message.prerequisites()[0].dns_class, DNSClass::NONE);
        assert_eq!(message.updates().len(), 2);
    }

    #[test]
    fn change_requires_recorded_rrsets_and_touches_only_differences() {
        let before = slice(&[("A", "203.0.113.10"), ("TXT", "hello")]);
        let after = slice(&[
            ("A", "203.0.113.11"),
            ("TXT", "hello"),
            ("MX", "10 mx.example.com"),
        ]);
        let text = UpdatePlan::between(&zone(), &before, &after).render();
        assert_eq!(
            text.prerequisites,
            [
                "prereq yxrrset disdik.kalbarprov.go.id. IN A 203.0.113.10",
                "prereq yxrrset disdik.kalbarprov.go.id. IN TXT \"hello\"",
                "prereq nxrrset disdik.kalbarprov.go.id. IN MX",
            ]
        );
        assert_eq!(
            text.updates,
            [
                "update delete disdik.kalbarprov.go.id. IN A",
                "update add disdik.kalbarprov.go.id. 3600 IN A 203.0.113.11",
                "update add disdik.kalbarprov.go.id. 3600 IN MX 10 mx.example.com.",
            ]
        );
    }

    #[test]
    fn removal_deletes_only_known_rrsets() {
        let before = slice(&[("A", "203.0.113.10")]);
        let plan = UpdatePlan::between(&zone(), &before, &ZoneSlice::default());
        let text = plan.render();
        assert_eq!(
            text.updates,
            ["update delete disdik.kalbarprov.go.id. IN A"]
        );
        assert_eq!(plan.to_message().updates()[0].dns_class, DNSClass::ANY);
    }

    #[test]
    fn digest_follows_content() {
        let a = UpdatePlan::between(
            &zone(),
            &ZoneSlice::default(),
            &slice(&[("A", "203.0.113.10")]),
        );
        let b = UpdatePlan::between(
            &zone(),
            &ZoneSlice::default(),
            &slice(&[("A", "203.0.113.11")]),
        );
        assert_eq!(a.render().digest(), a.clone().render().digest());
        assert_ne!(a.render().digest(), b.render().digest());
        assert_eq!(a.render().digest().len(), 64);
    }
}
