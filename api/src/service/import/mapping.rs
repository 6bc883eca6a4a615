//! The mapping file of an import: which agency each imported name goes to.
//!
//! ```toml
//! [agencies]
//! disdik = "DISDIK"                         # disdik.kalbarprov.go.id and below
//! "dinkes.kalbarprov.go.id" = "DINKES"      # a full name works too
//! ```
//!
//! A key is a name relative to the zone (as in a zone file) or a full one;
//! it covers the name and every name below it, the nearest key winning.
//! Names no key covers are imported unassigned.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use provisioner::Name;
use provisioner::name::{NameError, display_name, parse_host_name};
use serde::Deserialize;

use crate::model::AgencyId;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    agencies: BTreeMap<String, toml::Spanned<String>>,
}

/// One entry: a name and the agency code it goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingEntry {
    /// The key as written, e.g. `disdik`.
    pub key: String,
    /// Its line in the file.
    pub line: usize,
    /// The full name, lowercase.
    pub name: Name,
    pub code: String,
}

/// A parsed mapping file, its agency codes not checked yet.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Where it was read, for messages.
    pub path: PathBuf,
    pub entries: Vec<MappingEntry>,
}

/// Why a mapping file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("mapping file {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("mapping file {}: {source}", .path.display())]
    Syntax {
        path: PathBuf,
        source: toml::de::Error,
    },
    /// Every entry at fault, so that one run shows them all.
    #[error(
        "mapping file {}: {}",
        .path.display(),
        .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    Entries {
        path: PathBuf,
        problems: Vec<MappingProblem>,
    },
}

/// What is wrong with one entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingProblem {
    #[error("line {line}: \"{key}\" {source}")]
    BadName {
        line: usize,
        key: String,
        source: NameError,
    },
    #[error("line {line}: \"{key}\" names {name} again (line {first})")]
    Duplicate {
        line: usize,
        key: String,
        name: String,
        first: usize,
    },
    #[error(
        "line {line}: \"{key}\" = \"{code}\": no agency has the code {code} (add it with `dnsdesk agency add` first)"
    )]
    UnknownAgency {
        line: usize,
        key: String,
        code: String,
    },
    #[error("line {line}: \"{key}\": the zone holds nothing at {name} or below it")]
    NotInZone {
        line: usize,
        key: String,
        name: String,
    },
}

impl Mapping {
    /// Reads and parses the file at `path` for `zone`.
    pub fn read(path: &Path, zone: &Name) -> Result<Self, MappingError> {
        let text = std::fs::read_to_string(path).map_err(|source| MappingError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text, zone)
    }

    /// Parses `text` (read from `path`) for `zone`; every key must name
    /// something strictly below the zone, each name once.
    pub fn parse(path: &Path, text: &str, zone: &Name) -> Result<Self, MappingError> {
        let file: MappingFile = toml::from_str(text).map_err(|source| MappingError::Syntax {
            path: path.to_owned(),
            source,
        })?;
        let zone_text = display_name(zone);
        let mut entries: Vec<MappingEntry> = Vec::new();
        let mut problems = Vec::new();
        for (key, code) in file.agencies {
            let before = text.get(..code.span().start).unwrap_or(text);
            let line = before.lines().count().max(1);
            let name = match full_name(&key, zone, &zone_text) {
                Ok(name) => name,
                Err(source) => {
                    problems.push(MappingProblem::BadName { line, key, source });
                    continue;
                }
            };
            if let Some(first) = entries.iter().find(|e| e.name == name) {
                problems.push(MappingProblem::Duplicate {
                    line,
                    key,
                    name: display_name(&name),
                    first: first.line,
                });
                continue;
            }
            entries.push(MappingEntry {
                key,
                line,
                name,
                code: code.into_inner().trim().to_owned(),
            });
        }
        entries.sort_by_key(|e| e.line);
        if !problems.is_empty() {
            problems.sort_by_key(MappingProblem::line);
            return Err(MappingError::Entries {
                path: path.to_owned(),
                problems,
            });
        }
        Ok(Self {
            path: path.to_owned(),
            entries,
        })
    }

    /// Entries naming nothing the zone holds (`owners`: every owner name
    /// in the zone): a typo would otherwise leave a name unassigned.
    pub fn unmatched(&self, owners: &BTreeSet<Name>) -> Vec<MappingProblem> {
        self.entries
            .iter()
            .filter(|e| !owners.iter().any(|o| e.name.zone_of(o)))
            .map(|e| MappingProblem::NotInZone {
                line: e.line,
                key: e.key.clone(),
                name: display_name(&e.name),
            })
            .collect()
    }
}

impl MappingProblem {
    /// The line of the entry at fault.
    pub fn line(&self) -> usize {
        match self {
            MappingProblem::BadName { line, .. }
            | MappingProblem::Duplicate { line, .. }
            | MappingProblem::UnknownAgency { line, .. }
            | MappingProblem::NotInZone { line, .. } => *line,
        }
    }
}

/// A key as a full name: kept when it ends with a dot or with the zone's
/// name, else completed with the zone (as a zone file does).
fn full_name(key: &str, zone: &Name, zone_text: &str) -> Result<Name, NameError> {
    let key = key.trim().to_ascii_lowercase();
    let absolute =
        key.ends_with('.') || key == zone_text || key.ends_with(&format!(".{zone_text}"));
    let name = if absolute {
        parse_host_name(&key)?
    } else {
        parse_host_name(&format!("{key}.{zone_text}"))?
    };
    if name == *zone {
        return Err(NameError::Apex {
            zone: zone_text.to_owned(),
        });
    }
    if !zone.zone_of(&name) {
        return Err(NameError::OutsideZone {
            zone: zone_text.to_owned(),
        });
    }
    Ok(name)
}

/// The mapping with its codes resolved: which agency each mapped name
/// (and what lies below it) goes to.
#[derive(Debug, Clone, Default)]
pub struct Assignments {
    by_name: BTreeMap<Name, AgencyId>,
    codes: BTreeMap<AgencyId, String>,
}

impl Assignments {
    /// Assigns `name` and the names below it to `agency` (shown as `code`).
    pub fn assign(&mut self, name: Name, agency: AgencyId, code: String) {
        self.by_name.insert(name.to_lowercase(), agency);
        self.codes.insert(agency, code);
    }

    /// The agency of the nearest mapped name at or above `name`, looking
    /// no higher than just below `stop` (when given).
    pub fn nearest(&self, name: &Name, stop: Option<&Name>) -> Option<AgencyId> {
        let mut at = name.to_lowercase();
        loop {
            if stop.is_some_and(|s| *s == at) {
                return None;
            }
            if let Some(agency) = self.by_name.get(&at) {
                return Some(*agency);
            }
            if at.num_labels() == 0 {
                return None;
            }
            at = at.base_name();
        }
    }

    /// The code of an assigned agency.
    pub fn code(&self, agency: AgencyId) -> Option<&str> {
        self.codes.get(&agency).map(String::as_str)
    }
}
