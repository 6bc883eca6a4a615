//! Day one: `dnsdesk zone import` registers the names an existing zone
//! holds, read by signed AXFR from the running primary or from a zone file,
//! assigned by a mapping file or left unassigned, without sending any
//! update. Afterwards drift finds nothing, the audit chain verifies, and a
//! PD changes an imported name through the normal path, its plan starting
//! from the imported records.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{Site, dig, free_port, rdata};
use hickory_proto::rr::{Name, RecordType};
use serde_json::{Value, json};

common::on_both_databases!(
    an_existing_zone_is_imported_by_axfr_without_an_update_and_then_managed,
    a_zone_file_is_imported_without_a_server_and_a_bad_mapping_writes_nothing,
);

/// The PD hosts of zones/kalbarprov.go.id.zone, and the names the zone
/// keeps for itself (reserved by the default name policy).
const HOSTS: [&str; 6] = [
    "bappeda",
    "bpkad",
    "dinkes",
    "disdik",
    "diskominfo",
    "hosting",
];
const RESERVED: [&str; 4] = ["mail", "ns1", "ns2", "www"];

fn full(label: &str) -> String {
    format!("{label}.kalbarprov.go.id")
}

/// The report's line for each name: `(status, rest)`, keyed by name.
fn report(out: &str) -> BTreeMap<String, (String, String)> {
    out.lines()
        .filter_map(|line| {
            let (status, rest) = ["would import", "imported", "already managed", "skipped"]
                .into_iter()
                .find_map(|s| line.strip_prefix(s).map(|rest| (s, rest.trim_start())))?;
            let name = rest.split([' ', ':']).next().unwrap().trim_end_matches(':');
            Some((name.to_owned(), (status.to_owned(), rest.to_owned())))
        })
        .collect()
}

fn mapping(site: &Site, text: &str) -> String {
    let path = site.dir.path().join("mapping.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

async fn serial(server: std::net::SocketAddr) -> u32 {
    let zone = Name::from_ascii("kalbarprov.go.id.").unwrap();
    provisioner::client::soa_serial(server, &zone, Duration::from_secs(2))
        .await
        .unwrap()
}

async fn an_existing_zone_is_imported_by_axfr_without_an_update_and_then_managed() {
    let site = Site::new();
    let embedded = free_port();
    site.pin_dns(embedded, embedded, &[]);
    let disdik = site.pd("DISDIK");
    let dinkes = site.pd("DINKES");
    let reviewer = site.staff("reviewer1", "reviewer");
    let netadmin = site.staff("netadmin1", "netadmin");
    let dns = site.start();
    let before = serial(embedded).await;
    let map = mapping(&site, "[agencies]\ndisdik = \"DISDIK\"\n");

    // A dry run shows everything and writes nothing.
    let dry = site.cli(&["zone", "import", "--mapping", &map, "--dry-run"]);
    let lines = report(&dry);
    assert_eq!(
        lines[&full("disdik")].1,
        "disdik.kalbarprov.go.id DISDIK: A 203.0.113.13 3600; AAAA 2001:db8:100::13 3600",
        "{dry}"
    );
    assert!(
        dry.lines()
            .last()
            .unwrap()
            .starts_with("6 to import, 4 skipped, 0 already managed"),
        "{dry}"
    );
    assert!(dry.contains("dry run: nothing written"), "{dry}");
    let listed = dns.get("/api/v1/subdomains", &netadmin).await;
    assert_eq!(listed.body["total"], 0, "{:?}", listed.body);
    let audited = dns.get("/api/v1/audit?action=zone", &netadmin).await;
    assert_eq!(audited.body["total"], 0, "{:?}", audited.body);

    // For real: DISDIK's name assigned, the other hosts unassigned, the
    // zone's own names skipped with the reason.
    let out = site.cli(&["zone", "import", "--mapping", &map]);
    let lines = report(&out);
    assert_eq!(lines.len(), 10, "{out}");
    for host in HOSTS {
        let (status, rest) = &lines[&full(host)];
        assert_eq!(status, "imported", "{out}");
        let agency = if host == "disdik" {
            "DISDIK"
        } else {
            "unassigned"
        };
        assert!(
            rest.starts_with(&format!("{} {agency}: ", full(host))),
            "{out}"
        );
    }
    for name in RESERVED {
        let (status, rest) = &lines[&full(name)];
        assert_eq!(status, "skipped", "{out}");
        assert!(rest.contains("is reserved"), "{out}");
    }
    assert!(out.contains("no update sent"), "{out}");
    // No UPDATE reached the zone.
    assert_eq!(serial(embedded).await, before);

    // Staff see every imported name; a PD its own; nobody's are staff's.
    let listed = dns.get("/api/v1/subdomains", &netadmin).await;
    assert_eq!(listed.body["total"], 6, "{:?}", listed.body);
    let items = listed.body["items"].as_array().unwrap();
    let by_name = |n: &str| -> &Value { items.iter().find(|i| i["name"] == full(n)).unwrap() };
    assert_eq!(by_name("disdik")["agency"]["code"], "DISDIK");
    assert_eq!(by_name("dinkes")["agency"], Value::Null);
    assert_eq!(by_name("dinkes")["request_id"], Value::Null);
    assert_eq!(
        by_name("bpkad")["records"],
        json!([{ "type": "CNAME", "value": "hosting.kalbarprov.go.id.", "ttl": 3600, "glue": [] }])
    );
    let own = dns.get("/api/v1/subdomains", &disdik).await;
    assert_eq!(own.body["total"], 1, "{:?}", own.body);
    assert_eq!(own.body["items"][0]["name"], full("disdik"));
    let none = dns.get("/api/v1/subdomains", &dinkes).await;
    assert_eq!(none.body["total"], 0, "{:?}", none.body);
    let hidden = dns
        .get("/api/v1/subdomains/dinkes.kalbarprov.go.id", &dinkes)
        .await;
    assert_eq!(hidden.status, 404);
    let shown = dns
        .get("/api/v1/subdomains/dinkes.kalbarprov.go.id", &netadmin)
        .await;
    assert_eq!(shown.status, 200, "{:?}", shown.body);
    assert_eq!(
        shown.body["servers"][0]["verdict"], "matches",
        "{:?}",
        shown.body
    );

    // The first version of each name says where it came from.
    let history = dns
        .get(
            "/api/v1/subdomains/disdik.kalbarprov.go.id/history",
            &disdik,
        )
        .await;
    assert_eq!(history.status, 200, "{:?}", history.body);
    assert_eq!(history.body[0]["source"], "imported");
    assert_eq!(history.body[0]["serial"], before);
    assert_eq!(
        history.body[0]["added"],
        json!(["A 203.0.113.13 3600", "AAAA 2001:db8:100::13 3600"])
    );

    // Once is enough: a second run leaves everything as it is.
    let again = site.cli(&["zone", "import", "--mapping", &map]);
    let again_lines = report(&again);
    for host in HOSTS {
        assert_eq!(again_lines[&full(host)].0, "already managed", "{again}");
    }
    assert!(
        again
            .lines()
            .last()
            .unwrap()
            .starts_with("0 imported, 4 skipped, 6 already managed"),
        "{again}"
    );

    // The zone matches what was imported.
    let drift = site.cli(&["zone", "drift"]);
    assert!(drift.starts_with("no drift"), "{drift}");

    // An unassigned name is taken, and no PD's to change.
    let taken = dns
        .post(
            "/api/v1/requests",
            &dinkes,
            json!({
                "name": "dinkes.kalbarprov.go.id",
                "records": [{ "type": "A", "value": "203.0.113.40", "ttl": 300 }],
                "purpose": "Portal", "letter_number": "800/1/DINKES/2026", "letter_date": "2026-01-05",
            }),
        )
        .await;
    assert_eq!(taken.status, 409, "{:?}", taken.body);
    assert_eq!(taken.code(), "name_taken");
    let below = dns
        .post(
            "/api/v1/requests",
            &dinkes,
            json!({
                "name": "lab.dinkes.kalbarprov.go.id",
                "records": [{ "type": "A", "value": "203.0.113.41", "ttl": 300 }],
                "purpose": "Lab", "letter_number": "800/2/DINKES/2026", "letter_date": "2026-01-05",
            }),
        )
        .await;
    assert_eq!(below.status, 409, "{:?}", below.body);
    assert!(
        below.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not assigned to an agency"),
        "{:?}",
        below.body
    );
    let not_yours = dns
        .post(
            "/api/v1/requests",
            &dinkes,
            json!({
                "kind": "change", "name": "dinkes.kalbarprov.go.id",
                "records": [{ "type": "A", "value": "203.0.113.42", "ttl": 300 }],
                "purpose": "Pindah", "letter_number": "800/3/DINKES/2026", "letter_date": "2026-01-05",
            }),
        )
        .await;
    assert_eq!(not_yours.status, 422, "{:?}", not_yours.body);
    assert_eq!(not_yours.field(), "name");

    // An admin at the console gives the name to DINKES; now its PD sees it
    // and may change it.
    let bad = site.cli_output(&[
        "zone",
        "assign",
        "--name",
        "dinkes.kalbarprov.go.id",
        "--agency",
        "NOPE",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("agency: no agency has this code"));
    let assigned = site.cli(&[
        "zone",
        "assign",
        "--name",
        "dinkes.kalbarprov.go.id",
        "--agency",
        "dinkes",
    ]);
    assert_eq!(
        assigned.trim(),
        "dinkes.kalbarprov.go.id now belongs to DINKES"
    );
    let seen = dns
        .get("/api/v1/subdomains/dinkes.kalbarprov.go.id", &dinkes)
        .await;
    assert_eq!(seen.status, 200, "{:?}", seen.body);
    assert_eq!(seen.body["agency"]["code"], "DINKES");
    let change = dns
        .post(
            "/api/v1/requests",
            &dinkes,
            json!({
                "kind": "change", "name": "dinkes.kalbarprov.go.id",
                "records": [{ "type": "A", "value": "203.0.113.42", "ttl": 300 }],
                "purpose": "Pindah", "letter_number": "800/4/DINKES/2026", "letter_date": "2026-01-05",
            }),
        )
        .await;
    assert_eq!(change.status, 201, "{:?}", change.body);
    // While that request is open, the name cannot change hands.
    let busy = site.cli_output(&[
        "zone",
        "assign",
        "--name",
        "dinkes.kalbarprov.go.id",
        "--agency",
        "DISDIK",
    ]);
    assert!(!busy.status.success());

    // DISDIK changes its imported name: the plan starts from what was
    // imported, and goes through.
    let change = dns
        .post(
            "/api/v1/requests",
            &disdik,
            json!({
                "kind": "change", "name": "disdik.kalbarprov.go.id",
                "records": [
                    { "type": "A", "value": "203.0.113.99", "ttl": 3600 },
                    { "type": "AAAA", "value": "2001:db8:100::13", "ttl": 3600 },
                ],
                "purpose": "Pindah server", "letter_number": "800/4/DISDIK/2026", "letter_date": "2026-01-05",
            }),
        )
        .await;
    assert_eq!(change.status, 201, "{:?}", change.body);
    assert_eq!(
        change.body["plan"]["prerequisites"],
        json!([
            "prereq yxrrset disdik.kalbarprov.go.id. IN A 203.0.113.13",
            "prereq yxrrset disdik.kalbarprov.go.id. IN AAAA 2001:db8:100::13",
        ])
    );
    let id = change.body["id"].as_i64().unwrap();
    dns.put_letter(id, &disdik, common::PDF, "application/pdf")
        .await;
    dns.approve(id, &reviewer).await;
    dns.wait_for_state(id, &disdik, "active").await;
    assert_eq!(
        rdata(&dig(embedded, "disdik.kalbarprov.go.id", RecordType::A).await),
        ["203.0.113.99"]
    );
    let history = dns
        .get(
            "/api/v1/subdomains/disdik.kalbarprov.go.id/history",
            &disdik,
        )
        .await;
    let sources: Vec<&str> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["imported", "request"]);

    // One audit entry per imported name, by the console; the chain holds.
    let audited = dns
        .get("/api/v1/audit?action=zone.imported&per_page=100", &netadmin)
        .await;
    assert_eq!(audited.body["total"], 6, "{:?}", audited.body);
    let entries = audited.body["items"].as_array().unwrap();
    assert!(entries.iter().all(|e| e["action"] == "zone.imported"
        && e["actor"].as_str().unwrap().starts_with("console:")
        && e["detail"]["source"] == format!("AXFR from {embedded}")));
    let assigned = dns
        .get("/api/v1/audit?action=zone.assigned", &netadmin)
        .await;
    assert_eq!(assigned.body["total"], 1, "{:?}", assigned.body);
    assert_eq!(assigned.body["items"][0]["name"], "dinkes.kalbarprov.go.id");
    assert_eq!(
        assigned.body["items"][0]["detail"],
        json!({ "from_agency": null, "to_agency": assigned.body["items"][0]["agency_id"] })
    );
    drop(dns);
    let verified = site.cli(&["audit", "verify"]);
    assert!(verified.starts_with("audit log intact"), "{verified}");
}

async fn a_zone_file_is_imported_without_a_server_and_a_bad_mapping_writes_nothing() {
    let site = Site::new();
    let embedded = free_port();
    site.pin_dns(embedded, embedded, &[]);
    site.pd("DISDIK");
    let zone_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/kalbarprov.go.id.zone");
    let zone_file = zone_file.display().to_string();

    // Every unknown agency code is named with its line; nothing is written.
    let bad = mapping(
        &site,
        "[agencies]\ndisdik = \"DISDIK\"\ndinkes = \"DINKESX\"\nbappeda = \"BAPEDA\"\n",
    );
    let refused = site.cli_output(&[
        "zone",
        "import",
        "--zone-file",
        &zone_file,
        "--mapping",
        &bad,
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("line 3: \"dinkes\" = \"DINKESX\": no agency has the code DINKESX"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 4: \"bappeda\" = \"BAPEDA\""),
        "{stderr}"
    );
    // A name the zone does not hold is a typo, not an unassigned import.
    let typo = mapping(&site, "[agencies]\ndisdk = \"DISDIK\"\n");
    let refused = site.cli_output(&[
        "zone",
        "import",
        "--zone-file",
        &zone_file,
        "--mapping",
        &typo,
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("\"disdk\": the zone holds nothing"),
        "{stderr}"
    );
    // Another zone's file is refused.
    let other = site.dir.path().join("other.zone");
    std::fs::write(
        &other,
        "$ORIGIN example.org.\n@ 3600 IN SOA ns1 h 1 3600 900 1209600 300\nwww 300 IN A 192.0.2.1\n",
    )
    .unwrap();
    let refused = site.cli_output(&[
        "zone",
        "import",
        "--zone-file",
        &other.display().to_string(),
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("holds no SOA record for kalbarprov.go.id"),
        "{stderr}"
    );

    // From the file, the service not running.
    let good = mapping(
        &site,
        "[agencies]\n\"disdik.kalbarprov.go.id\" = \"disdik\"\n",
    );
    let out = site.cli(&[
        "zone",
        "import",
        "--zone-file",
        &zone_file,
        "--mapping",
        &good,
    ]);
    let lines = report(&out);
    assert_eq!(lines[&full("disdik")].0, "imported", "{out}");
    assert!(lines[&full("disdik")].1.contains(" DISDIK: "), "{out}");
    assert!(lines[&full("hosting")].1.contains(" unassigned: "), "{out}");
    assert!(
        out.lines()
            .last()
            .unwrap()
            .starts_with("6 imported, 4 skipped, 0 already managed (zone file "),
        "{out}"
    );

    // The embedded server serves that same file: no drift.
    let netadmin = site.staff("netadmin1", "netadmin");
    let dns = site.start();
    let listed = dns.get("/api/v1/subdomains", &netadmin).await;
    assert_eq!(listed.body["total"], 6, "{:?}", listed.body);
    let drift = site.cli(&["zone", "drift"]);
    assert!(drift.starts_with("no drift"), "{drift}");
    drop(dns);
    let verified = site.cli(&["audit", "verify"]);
    assert!(verified.starts_with("audit log intact"), "{verified}");
}
