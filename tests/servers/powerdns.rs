//! PowerDNS Authoritative primaries on the gsqlite3 backend, configured
//! from `docs/deploy-powerdns.md`.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use super::process::{Launch, Role, Server};
use super::setup::{copy_zone_file, run, server_dir, write};
use super::snippets::{Doc, Fill, example, secret_base64};
use super::{Kind, ZoneSetup, program};

/// Where Debian's `pdns-backend-sqlite3` puts the schema: under
/// /usr/share/pdns-backend-sqlite3, and a copy among the docs, which slim
/// images may leave out.
const SCHEMAS: [&str; 2] = [
    "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql",
    "/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql",
];

/// The gsqlite3 schema, if installed.
pub(super) fn schema_path() -> Option<PathBuf> {
    SCHEMAS.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// A PowerDNS primary for `setup` on port `port` of 127.0.0.1, notifying
/// the secondaries on `secondaries`. Not started yet; its database is
/// created and the zone, keys and metadata loaded with `pdnsutil`.
pub(super) fn primary(setup: &ZoneSetup, port: u16, secondaries: &[u16]) -> Server {
    let dir = server_dir(Kind::PowerDns, Role::Primary);
    let path = dir.path();
    let zone_file = path.join(format!("{}.zone", setup.zone_text()));
    copy_zone_file(&setup.zone_file, &zone_file);
    let (update, transfer) = (&setup.update_key, &setup.transfer_key);

    let database = path.join("pdns.sqlite3");
    create_database(&database);

    let policy_file = path.join("dnsdesk-update-policy.lua");
    let policy = Fill::new(Doc::PowerDns, "pdns-update-policy")
        .per_line(example::DENIED, &setup.denied)
        .keys(update, transfer)
        .zone(&setup.zone_text())
        .text();
    write(&policy_file, &policy);

    let settings = Fill::new(Doc::PowerDns, "pdns-conf")
        .replace("/var/lib/powerdns/pdns.sqlite3", &display(&database))
        .replace(
            "/etc/powerdns/dnsdesk-update-policy.lua",
            &display(&policy_file),
        )
        // dnsdesk sends from 127.0.0.1 in the tests.
        .replace(example::DNSDESK, "127.0.0.1")
        .text();
    let config = format!("{}{settings}", test_settings(path, port));
    let conf = path.join("pdns.conf");
    write(&conf, &config);

    let algorithm = example::ALGORITHM;
    let keys = Fill::new(Doc::PowerDns, "pdns-keys")
        .replace(
            &format!("{algorithm} {}", example::UPDATE_SECRET),
            &format!("{} {}", update.algorithm.as_str(), secret_base64(update)),
        )
        .replace(
            &format!("{algorithm} {}", example::TRANSFER_SECRET),
            &format!(
                "{} {}",
                transfer.algorithm.as_str(),
                secret_base64(transfer)
            ),
        )
        .keys(update, transfer)
        .text();
    let also_notify: Vec<String> = secondaries
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    let zone = Fill::new(Doc::PowerDns, "pdns-zone")
        .replace("/etc/powerdns/kalbarprov.go.id.zone", &display(&zone_file))
        .replace(
            &format!("{}:53", example::SECONDARY),
            &also_notify.join(" "),
        )
        .keys(update, transfer)
        .zone(&setup.zone_text())
        .text();
    for line in keys.lines().chain(zone.lines()) {
        pdnsutil(path, line, &config);
    }

    let launch = Launch {
        program: program("pdns_server"),
        args: [
            "--daemon=no",
            "--guardian=no",
            "--disable-syslog",
            &format!("--config-dir={}", display(path)),
        ]
        .map(OsString::from)
        .to_vec(),
        config: conf,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    Server::new(
        Kind::PowerDns,
        Role::Primary,
        addr,
        setup.zone.clone(),
        dir,
        launch,
    )
}

/// The settings only a test needs: the listening address and port, the
/// control socket in the server's directory, informational logging, no
/// security-status query over the internet, and no NOTIFY to the
/// addresses of the zone's NS records (documentation addresses here);
/// `ALSO-NOTIFY` targets are notified regardless.
fn test_settings(dir: &Path, port: u16) -> String {
    format!(
        "local-address=127.0.0.1\nlocal-port={port}\nsocket-dir={}\n\
         loglevel=6\nsecurity-poll-suffix=\nonly-notify=\n",
        display(dir)
    )
}

/// Creates the gsqlite3 database from the schema Debian installs.
fn create_database(path: &Path) {
    let schema_file = schema_path().unwrap_or_else(|| panic!("no gsqlite3 schema in {SCHEMAS:?}"));
    let schema = std::fs::read_to_string(&schema_file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", schema_file.display()));
    let db = rusqlite::Connection::open(path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    db.execute_batch(&schema)
        .unwrap_or_else(|e| panic!("{} failed: {e}", schema_file.display()));
}

/// Runs one `pdnsutil ...` line of the guide against this server's config.
fn pdnsutil(dir: &Path, line: &str, config: &str) {
    let mut words = line.split_whitespace();
    match words.next() {
        None => return,
        Some("pdnsutil") => {}
        Some(other) => {
            panic!("the guide's pdnsutil snippets may hold pdnsutil lines only, not {other:?}")
        }
    }
    let mut args = vec![OsString::from(format!("--config-dir={}", display(dir)))];
    args.extend(words.map(OsString::from));
    run(&program("pdnsutil"), &args, config);
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
