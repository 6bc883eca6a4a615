//! The planning of an import and its mapping file, without a database or
//! a server: zones are written as zone files and parsed.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use hickory_proto::rr::Record;
use provisioner::Name;
use provisioner::name::{NameError, NamePolicy, ReservedLabel};

use super::*;
use crate::model::AgencyId;

const DISDIK: AgencyId = AgencyId(1);
const DINKES: AgencyId = AgencyId(2);

fn zone() -> Name {
    Name::from_ascii("kalbarprov.go.id.").unwrap()
}

fn policy() -> NamePolicy {
    NamePolicy::new(
        zone(),
        NamePolicy::DEFAULT_RESERVED
            .iter()
            .map(|p| ReservedLabel::new(p))
            .collect(),
    )
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

/// The records of a zone file's text.
fn records(text: &str) -> Vec<Record> {
    let parser = hickory_proto::serialize::txt::Parser::new(text, None, Some(zone()));
    let (_, sets) = parser.parse().unwrap();
    sets.values()
        .flat_map(|s| s.records_without_rrsigs().cloned())
        .collect()
}

const ZONE: &str = r#"
$ORIGIN kalbarprov.go.id.
$TTL 3600
@           IN SOA  ns1 hostmaster 2026112801 3600 900 1209600 300
            IN NS   ns1
            IN NS   ns2
            IN A    203.0.113.10
ns1         IN A    203.0.113.53
ns2         IN A    198.51.100.53
www         IN CNAME kalbarprov.go.id.
mail        IN A    203.0.113.25
disdik      IN A    203.0.113.13
            IN AAAA 2001:db8:100::13
ppid.disdik 300 IN A 203.0.113.31
dinkes      IN A    203.0.113.14
lab.dinkes  IN A    203.0.113.15
bpkad       IN CNAME hosting
hosting     IN A    203.0.113.20
sambas      IN NS   ns1.sambas
            IN NS   ns.example.net.
ns1.sambas  IN A    203.0.113.151
web.sambas  IN A    203.0.113.152
_dmarc      IN TXT  "v=DMARC1; p=none"
sertifikat  IN CAA  0 issue "letsencrypt.org"
ppdb        IN A    203.0.113.80
uji.ppdb    IN A    203.0.113.81
"#;

fn verdicts(plan: &Plan) -> BTreeMap<&str, &Verdict> {
    plan.names
        .iter()
        .map(|p| (p.name.as_str(), &p.verdict))
        .collect()
}

fn input(rtype: &str, value: &str, ttl: u32) -> RecordInput {
    RecordInput {
        rtype: rtype.into(),
        value: value.into(),
        ttl: Some(ttl),
        glue: vec![],
    }
}

#[test]
fn every_name_of_a_zone_is_imported_skipped_or_left_with_its_reason() {
    let mut assignments = Assignments::default();
    assignments.assign(name("disdik.kalbarprov.go.id."), DISDIK, "DISDIK".into());
    assignments.assign(
        name("lab.dinkes.kalbarprov.go.id."),
        DINKES,
        "DINKES".into(),
    );
    let catalogue = BTreeMap::from([("ppdb.kalbarprov.go.id".to_owned(), Some(DINKES))]);
    let plan = plan(&policy(), &records(ZONE), &assignments, &catalogue);
    assert_eq!(plan.serial, Some(2026112801));
    let got = verdicts(&plan);
    let import =
        |agency: Option<AgencyId>, records: Vec<RecordInput>| Verdict::Import { agency, records };

    // Assigned by the mapping, with every record the zone holds there.
    assert_eq!(
        got["disdik.kalbarprov.go.id"],
        &import(
            Some(DISDIK),
            vec![
                input("A", "203.0.113.13", 3600),
                input("AAAA", "2001:db8:100::13", 3600)
            ]
        )
    );
    // Below an imported name: its owner's, with its own TTL.
    assert_eq!(
        got["ppid.disdik.kalbarprov.go.id"],
        &import(Some(DISDIK), vec![input("A", "203.0.113.31", 300)])
    );
    // Not in the mapping: unassigned.
    assert_eq!(
        got["dinkes.kalbarprov.go.id"],
        &import(None, vec![input("A", "203.0.113.14", 3600)])
    );
    assert_eq!(
        got["bpkad.kalbarprov.go.id"],
        &import(
            None,
            vec![input("CNAME", "hosting.kalbarprov.go.id.", 3600)]
        )
    );
    // Mapped to an agency below an unassigned name: refused.
    assert_eq!(
        got["lab.dinkes.kalbarprov.go.id"],
        &Verdict::Skip(Skip::OtherOwner {
            ancestor: "dinkes.kalbarprov.go.id".into(),
            ancestor_assigned: false,
        })
    );
    // A delegation comes with its glue; the rest below it is occluded.
    let Verdict::Import {
        agency: None,
        records: sambas,
    } = got["sambas.kalbarprov.go.id"]
    else {
        panic!("{:?}", got["sambas.kalbarprov.go.id"]);
    };
    let ns1 = sambas
        .iter()
        .find(|r| r.value == "ns1.sambas.kalbarprov.go.id.");
    assert_eq!(ns1.unwrap().glue, ["203.0.113.151"]);
    assert_eq!(
        got["ns1.sambas.kalbarprov.go.id"],
        &Verdict::Skip(Skip::Glue {
            delegation: "sambas.kalbarprov.go.id".into()
        })
    );
    assert_eq!(
        got["web.sambas.kalbarprov.go.id"],
        &Verdict::Skip(Skip::BelowDelegation {
            delegation: "sambas.kalbarprov.go.id".into()
        })
    );
    // Reserved labels and names no request could ask for.
    for reserved in ["www", "mail", "ns1", "ns2"] {
        let verdict = got[format!("{reserved}.kalbarprov.go.id").as_str()];
        assert!(
            matches!(
                verdict,
                Verdict::Skip(Skip::NotRequestable(NameError::Reserved { .. }))
            ),
            "{reserved}: {verdict:?}"
        );
    }
    assert!(matches!(
        got["_dmarc.kalbarprov.go.id"],
        Verdict::Skip(Skip::NotRequestable(NameError::InvalidCharacter { .. }))
    ));
    // A type dnsdesk does not write, named.
    let Verdict::Skip(Skip::NotWritable(why)) = got["sertifikat.kalbarprov.go.id"] else {
        panic!("{:?}", got["sertifikat.kalbarprov.go.id"]);
    };
    assert!(why.contains("CAA"), "{why}");
    // In the catalogue already; what is below it goes to its owner.
    assert_eq!(got["ppdb.kalbarprov.go.id"], &Verdict::Managed);
    assert_eq!(
        got["uji.ppdb.kalbarprov.go.id"],
        &import(Some(DINKES), vec![input("A", "203.0.113.81", 3600)])
    );
    // The apex is never a candidate; parents come before their children.
    assert!(!got.contains_key("kalbarprov.go.id"));
    assert_eq!(got.len(), plan.names.len());
    let at = |n: &str| plan.names.iter().position(|p| p.name == n).unwrap();
    assert!(at("disdik.kalbarprov.go.id") < at("ppid.disdik.kalbarprov.go.id"));
}

#[test]
fn a_child_mapped_against_its_assigned_parent_is_skipped() {
    let text = format!("{ZONE}\nrapor.disdik IN A 203.0.113.32\n");
    let mut assignments = Assignments::default();
    assignments.assign(name("disdik.kalbarprov.go.id."), DISDIK, "DISDIK".into());
    assignments.assign(
        name("rapor.disdik.kalbarprov.go.id."),
        DINKES,
        "DINKES".into(),
    );
    let plan = plan(&policy(), &records(&text), &assignments, &BTreeMap::new());
    let got = verdicts(&plan);
    let skip = &Verdict::Skip(Skip::OtherOwner {
        ancestor: "disdik.kalbarprov.go.id".into(),
        ancestor_assigned: true,
    });
    assert_eq!(got["rapor.disdik.kalbarprov.go.id"], skip);
    assert_eq!(
        skip_text(skip),
        "below disdik.kalbarprov.go.id, which belongs to another agency; a name and the names below it stay with one agency"
    );
}

fn skip_text(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Skip(skip) => skip.to_string(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_demo_zone_file_imports_its_pd_hosts_and_keeps_the_zones_own_names() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../zones/kalbarprov.go.id.zone");
    let content = read_zone_file(&path, &zone()).unwrap();
    assert!(
        content.source.starts_with("zone file "),
        "{}",
        content.source
    );
    let plan = plan(
        &policy(),
        &content.records,
        &Assignments::default(),
        &BTreeMap::new(),
    );
    let imported: Vec<&str> = plan
        .names
        .iter()
        .filter(|p| matches!(p.verdict, Verdict::Import { agency: None, .. }))
        .map(|p| p.name.strip_suffix(".kalbarprov.go.id").unwrap())
        .collect();
    assert_eq!(
        imported,
        [
            "bappeda",
            "bpkad",
            "dinkes",
            "disdik",
            "diskominfo",
            "hosting"
        ]
    );
    let skipped: Vec<&str> = plan
        .names
        .iter()
        .filter(|p| matches!(p.verdict, Verdict::Skip(_)))
        .map(|p| p.name.strip_suffix(".kalbarprov.go.id").unwrap())
        .collect();
    assert_eq!(skipped, ["mail", "ns1", "ns2", "www"]);
}

#[test]
fn another_zones_data_has_no_serial_here() {
    let other =
        records("$ORIGIN example.org.\n@ 3600 IN SOA ns1 h 1 2 3 4 5\nwww 300 IN A 192.0.2.1\n");
    assert_eq!(soa_serial(&zone(), &other), None);
    assert_eq!(soa_serial(&zone(), &records(ZONE)), Some(2026112801));
}

#[test]
fn mapping_keys_are_relative_or_full_and_cover_the_names_below() {
    let text = "[agencies]\ndisdik = \"DISDIK\"\n\"dinkes.kalbarprov.go.id\" = \" dinkes \"\n";
    let mapping = Mapping::parse(Path::new("m.toml"), text, &zone()).unwrap();
    let entries: Vec<(&str, usize, String, &str)> = mapping
        .entries
        .iter()
        .map(|e| {
            (
                e.key.as_str(),
                e.line,
                provisioner::name::display_name(&e.name),
                e.code.as_str(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("disdik", 2, "disdik.kalbarprov.go.id".to_owned(), "DISDIK"),
            (
                "dinkes.kalbarprov.go.id",
                3,
                "dinkes.kalbarprov.go.id".to_owned(),
                "dinkes"
            ),
        ]
    );
    // Only names the zone holds (or holds something below) may be mapped.
    let owners = owners(&zone(), &records(ZONE));
    assert!(mapping.unmatched(&owners).is_empty());
    let typo = Mapping::parse(Path::new("m.toml"), "[agencies]\ndisdk = \"X\"\n", &zone()).unwrap();
    assert_eq!(
        typo.unmatched(&owners)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["line 2: \"disdk\": the zone holds nothing at disdk.kalbarprov.go.id or below it"]
    );

    // The nearest mapped name wins, never above the stop.
    let mut assignments = Assignments::default();
    assignments.assign(name("disdik.kalbarprov.go.id."), DISDIK, "DISDIK".into());
    assignments.assign(
        name("lab.disdik.kalbarprov.go.id."),
        DINKES,
        "DINKES".into(),
    );
    let deep = name("x.lab.disdik.kalbarprov.go.id.");
    assert_eq!(assignments.nearest(&deep, None), Some(DINKES));
    assert_eq!(
        assignments.nearest(&name("y.disdik.kalbarprov.go.id."), None),
        Some(DISDIK)
    );
    assert_eq!(
        assignments.nearest(&deep, Some(&name("lab.disdik.kalbarprov.go.id."))),
        None
    );
    assert_eq!(assignments.code(DINKES), Some("DINKES"));
}

#[test]
fn mapping_errors_name_every_entry_at_fault_with_its_line() {
    let text = "[agencies]\ndisdik = \"DISDIK\"\n\"disdik.kalbarprov.go.id\" = \"DINKES\"\n\"a b\" = \"X\"\n\"kalbarprov.go.id\" = \"X\"\n";
    let err = Mapping::parse(Path::new("m.toml"), text, &zone()).unwrap_err();
    let MappingError::Entries { problems, .. } = &err else {
        panic!("{err}");
    };
    let lines: Vec<usize> = problems.iter().map(MappingProblem::line).collect();
    assert_eq!(lines, [3, 4, 5], "{err}");
    let text = err.to_string();
    assert!(text.starts_with("mapping file m.toml: line 3: "), "{text}");
    assert!(
        text.contains("names disdik.kalbarprov.go.id again (line 2)"),
        "{text}"
    );
    assert!(text.contains("is the zone apex"), "{text}");

    // Unknown keys and tables are refused, with the place.
    let err =
        Mapping::parse(Path::new("m.toml"), "[agency]\ndisdik = \"X\"\n", &zone()).unwrap_err();
    assert!(matches!(err, MappingError::Syntax { .. }), "{err}");
    assert!(err.to_string().contains("agency"), "{err}");
}

#[test]
fn the_report_has_one_line_per_name_and_counts_them() {
    let names = vec![
        ReportedName {
            name: "disdik.kalbarprov.go.id".into(),
            result: NameResult::Imported {
                agency: Some("DISDIK".into()),
                records: vec![input("A", "203.0.113.13", 3600)],
            },
        },
        ReportedName {
            name: "dinkes.kalbarprov.go.id".into(),
            result: NameResult::Imported {
                agency: None,
                records: vec![input("A", "203.0.113.14", 3600)],
            },
        },
        ReportedName {
            name: "ppdb.kalbarprov.go.id".into(),
            result: NameResult::OpenRequest("DNS/2026/000001".into()),
        },
        ReportedName {
            name: "sehat.kalbarprov.go.id".into(),
            result: NameResult::AlreadyManaged,
        },
        ReportedName {
            name: "ns1.sambas.kalbarprov.go.id".into(),
            result: NameResult::Skipped(Skip::Glue {
                delegation: "sambas.kalbarprov.go.id".into(),
            }),
        },
    ];
    let mut report = ImportReport {
        serial: Some(2026112801),
        source: "AXFR from 127.0.0.1:5353".into(),
        dry_run: true,
        names,
    };
    assert_eq!(
        report.lines(),
        [
            "would import    disdik.kalbarprov.go.id DISDIK: A 203.0.113.13 3600",
            "would import    dinkes.kalbarprov.go.id unassigned: A 203.0.113.14 3600",
            "skipped         ppdb.kalbarprov.go.id: an open request holds it (DNS/2026/000001); it settles the name",
            "already managed sehat.kalbarprov.go.id",
            "skipped         ns1.sambas.kalbarprov.go.id: glue of the delegation sambas.kalbarprov.go.id: part of its NS records",
        ]
    );
    assert_eq!(
        report.summary(),
        "2 to import, 2 skipped, 1 already managed (AXFR from 127.0.0.1:5353, serial 2026112801); dry run: nothing written"
    );
    report.dry_run = false;
    assert!(report.lines()[0].starts_with("imported        disdik"));
    assert!(report.summary().ends_with("; no update sent"));
}
