//! Import for day one (`dnsdesk zone import`): reads an existing zone, by
//! signed AXFR from the primary or from a zone file, and registers its
//! names in the catalogue as they are, each assigned to an agency by a
//! mapping file or left unassigned. No update is sent: the zone already
//! holds these records, dnsdesk only starts keeping them.
//!
//! Each imported name gets its first version in its history (source
//! `imported`, the zone's serial) and an audit entry, all in one
//! transaction. Afterwards a drift run finds the imported names as the
//! zone holds them, and a PD can file a change or a removal for its own,
//! whose plan starts from the imported records.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use hickory_proto::rr::Record;
use provisioner::Name;
use provisioner::client::transfer;
use provisioner::name::{NamePolicy, display_name};
use provisioner::record::RecordInput;

use crate::app::ZoneTarget;
use crate::audit::AuditActor;
use crate::service::views::record_line;
use crate::store::{ImportOutcome, ImportedName, Store, StoreError, ZoneImport};

mod mapping;
mod plan;
#[cfg(test)]
mod tests;

pub use mapping::{Assignments, Mapping, MappingEntry, MappingError, MappingProblem};
pub use plan::{Plan, Planned, Skip, Verdict, owners, plan, soa_serial};

/// Catalogue page size while collecting managed names.
const PAGE: i64 = 500;

/// A whole zone as read for an import.
#[derive(Debug, Clone)]
pub struct ZoneContent {
    pub records: Vec<Record>,
    /// Where it was read, for people and the audit log.
    pub source: String,
}

/// Why an import could not run; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot transfer zone {zone} from {primary}: {source}")]
    Transfer {
        zone: String,
        primary: std::net::SocketAddr,
        /// Boxed: the other variants are small.
        source: Box<provisioner::error::QueryError>,
    },
    #[error("zone file {}: {source}", .path.display())]
    ReadZoneFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("zone file {}: {source}", .path.display())]
    ParseZoneFile {
        path: std::path::PathBuf,
        source: hickory_proto::serialize::txt::ParseError,
    },
    /// The zone read has no SOA at the configured zone's apex: another
    /// zone's file, or a wrong `$ORIGIN`.
    #[error("the {read} holds no SOA record for {zone}: not the zone dnsdesk manages")]
    NotTheZone { read: String, zone: String },
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

/// Reads the zone from the primary by AXFR, signed with the transfer key.
pub async fn transfer_zone(
    target: &ZoneTarget,
    timeout: Duration,
) -> Result<ZoneContent, ImportError> {
    let records = transfer(target.primary, &target.zone, &target.transfer_key, timeout)
        .await
        .map_err(|source| ImportError::Transfer {
            zone: display_name(&target.zone),
            primary: target.primary,
            source: Box::new(source),
        })?;
    Ok(ZoneContent {
        records,
        source: format!("AXFR from {}", target.primary),
    })
}

/// Reads the zone from a master file (RFC 1035 §5; `$ORIGIN` defaults to
/// `zone`, relative `$INCLUDE`s are read beside the file).
pub fn read_zone_file(path: &Path, zone: &Name) -> Result<ZoneContent, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ImportError::ReadZoneFile {
        path: path.to_owned(),
        source,
    })?;
    let parser =
        hickory_proto::serialize::txt::Parser::new(text, Some(path.to_owned()), Some(zone.clone()));
    let (_, sets) = parser
        .parse()
        .map_err(|source| ImportError::ParseZoneFile {
            path: path.to_owned(),
            source,
        })?;
    let records = sets
        .values()
        .flat_map(|set| set.records_without_rrsigs().cloned())
        .collect();
    Ok(ZoneContent {
        records,
        source: format!("zone file {}", path.display()),
    })
}

/// What an import did (or, in a dry run, would do) with every name.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub serial: Option<u32>,
    pub source: String,
    /// Nothing was written.
    pub dry_run: bool,
    /// In DNS canonical order.
    pub names: Vec<ReportedName>,
}

impl ImportReport {
    /// One line per name: `imported NAME AGENCY: records` (`would import`
    /// in a dry run; `unassigned` for no agency), `already managed NAME`,
    /// `skipped NAME: reason` (an open request holding it is one).
    pub fn lines(&self) -> Vec<String> {
        self.names
            .iter()
            .map(|n| match &n.result {
                NameResult::Imported { agency, records } => {
                    let verb = if self.dry_run {
                        "would import"
                    } else {
                        "imported"
                    };
                    let records: Vec<String> = records.iter().map(record_line).collect();
                    format!(
                        "{verb:<15} {} {}: {}",
                        n.name,
                        agency.as_deref().unwrap_or("unassigned"),
                        records.join("; ")
                    )
                }
                NameResult::AlreadyManaged => format!("{:<15} {}", "already managed", n.name),
                NameResult::OpenRequest(reference) => format!(
                    "{:<15} {}: an open request holds it ({reference}); it settles the name",
                    "skipped", n.name
                ),
                NameResult::Skipped(why) => format!("{:<15} {}: {why}", "skipped", n.name),
            })
            .collect()
    }

    /// The counts, the zone's source and serial, and what was written.
    pub fn summary(&self) -> String {
        let count = |f: fn(&NameResult) -> bool| self.names.iter().filter(|n| f(&n.result)).count();
        let imported = count(|r| matches!(r, NameResult::Imported { .. }));
        let skipped = count(|r| matches!(r, NameResult::Skipped(_) | NameResult::OpenRequest(_)));
        let managed = count(|r| matches!(r, NameResult::AlreadyManaged));
        let serial = self
            .serial
            .map_or_else(|| "?".to_owned(), |s| s.to_string());
        let (verb, done) = if self.dry_run {
            ("to import", "dry run: nothing written")
        } else {
            ("imported", "no update sent")
        };
        format!(
            "{imported} {verb}, {skipped} skipped, {managed} already managed ({}, serial {serial}); {done}",
            self.source
        )
    }
}

/// One name of the zone and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedName {
    pub name: String,
    pub result: NameResult,
}

/// What became of one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameResult {
    /// Registered (in a dry run: would be) for the agency with this code,
    /// or unassigned.
    Imported {
        agency: Option<String>,
        records: Vec<RecordInput>,
    },
    /// The catalogue held it already; left as it is.
    AlreadyManaged,
    /// An open request holds it (its reference); left to that request.
    OpenRequest(String),
    Skipped(Skip),
}

/// Imports `zone` into the catalogue, names assigned by `mapping`. Every
/// mapping entry is checked (agency codes exist, names are in the zone)
/// before anything is written; with `dry_run` nothing is.
#[tracing::instrument(skip_all, err, fields(source = %zone.source, dry_run = dry_run))]
pub async fn run(
    store: &dyn Store,
    policy: &NamePolicy,
    zone: &ZoneContent,
    mapping: Option<&Mapping>,
    dry_run: bool,
    by: AuditActor,
) -> Result<ImportReport, ImportError> {
    if soa_serial(policy.zone(), &zone.records).is_none() {
        return Err(ImportError::NotTheZone {
            read: zone.source.clone(),
            zone: display_name(policy.zone()),
        });
    }
    let owners = owners(policy.zone(), &zone.records);
    let assignments = match mapping {
        Some(mapping) => resolve(store, mapping, &owners).await?,
        None => Assignments::default(),
    };
    let catalogue = catalogue(store).await?;
    let plan = plan(policy, &zone.records, &assignments, &catalogue);
    let code = |agency: Option<crate::model::AgencyId>| {
        agency.and_then(|a| assignments.code(a).map(str::to_owned))
    };
    let import = ZoneImport {
        serial: plan.serial,
        source: zone.source.clone(),
        names: plan
            .names
            .iter()
            .filter_map(|p| match &p.verdict {
                Verdict::Import { agency, records } => Some(ImportedName {
                    name: p.name.clone(),
                    agency_id: *agency,
                    records: records.clone(),
                }),
                _ => None,
            })
            .collect(),
    };
    let outcomes = if dry_run {
        let mut outcomes = Vec::with_capacity(import.names.len());
        for name in &import.names {
            outcomes.push(match store.open_request_for_name(&name.name).await? {
                Some(open) => ImportOutcome::OpenRequest(open.reference),
                None => ImportOutcome::Imported,
            });
        }
        outcomes
    } else if import.names.is_empty() {
        Vec::new()
    } else {
        store.import_names(&import, by).await?
    };
    let mut outcomes: BTreeMap<&str, ImportOutcome> = import
        .names
        .iter()
        .map(|n| n.name.as_str())
        .zip(outcomes)
        .collect();
    let names = plan
        .names
        .iter()
        .map(|p| ReportedName {
            name: p.name.clone(),
            result: match &p.verdict {
                Verdict::Managed => NameResult::AlreadyManaged,
                Verdict::Skip(skip) => NameResult::Skipped(skip.clone()),
                Verdict::Import { agency, records } => match outcomes.remove(p.name.as_str()) {
                    Some(ImportOutcome::AlreadyManaged) => NameResult::AlreadyManaged,
                    Some(ImportOutcome::OpenRequest(reference)) => {
                        NameResult::OpenRequest(reference)
                    }
                    Some(ImportOutcome::Imported) | None => NameResult::Imported {
                        agency: code(*agency),
                        records: records.clone(),
                    },
                },
            },
        })
        .collect();
    Ok(ImportReport {
        serial: plan.serial,
        source: zone.source.clone(),
        dry_run,
        names,
    })
}

/// The mapping's agencies by id; every entry naming an unknown agency or
/// nothing in the zone is an error, all of them reported at once.
async fn resolve(
    store: &dyn Store,
    mapping: &Mapping,
    owners: &std::collections::BTreeSet<Name>,
) -> Result<Assignments, ImportError> {
    let mut assignments = Assignments::default();
    let mut problems = mapping.unmatched(owners);
    for entry in &mapping.entries {
        match store.agency_by_code(&entry.code).await? {
            Some(agency) => assignments.assign(entry.name.clone(), agency.id, agency.code),
            None => problems.push(MappingProblem::UnknownAgency {
                line: entry.line,
                key: entry.key.clone(),
                code: entry.code.clone(),
            }),
        }
    }
    if problems.is_empty() {
        Ok(assignments)
    } else {
        problems.sort_by_key(MappingProblem::line);
        Err(MappingError::Entries {
            path: mapping.path.clone(),
            problems,
        }
        .into())
    }
}

/// Every name in the catalogue with its agency.
async fn catalogue(
    store: &dyn Store,
) -> Result<BTreeMap<String, Option<crate::model::AgencyId>>, StoreError> {
    let mut names = BTreeMap::new();
    let mut offset = 0;
    loop {
        let page = store.list_subdomains(None, PAGE, offset).await?;
        let n = page.items.len();
        names.extend(page.items.into_iter().map(|s| (s.name, s.agency_id)));
        if i64::try_from(n).unwrap_or(0) < PAGE {
            return Ok(names);
        }
        offset += PAGE;
    }
}
