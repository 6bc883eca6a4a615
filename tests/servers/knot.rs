//! Knot DNS primaries, configured from `docs/deploy-knot.md`.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use super::process::{Launch, Role, Server};
use super::setup::{copy_zone_file, run, server_dir, write};
use super::snippets::{Doc, Fill, example, key_file};
use super::{Kind, ZoneSetup, program};

/// A Knot primary for `setup` on port `port` of 127.0.0.1, notifying the
/// secondaries on `secondaries`. Not started yet.
pub(super) fn primary(setup: &ZoneSetup, port: u16, secondaries: &[u16]) -> Server {
    let dir = server_dir(Kind::Knot, Role::Primary);
    let path = dir.path();
    let zone_file = path.join(format!("{}.zone", setup.zone_text()));
    copy_zone_file(&setup.zone_file, &zone_file);
    let (update, transfer) = (&setup.update_key, &setup.transfer_key);

    let update_key = path.join("update.key");
    write(&update_key, &key_file(Doc::Knot, "knot-key", update));
    let keys =
        Fill::new(Doc::Knot, "knot-keys").replace("/etc/knot/dnsdesk.key", &display(&update_key));
    let keys = if setup.separate_transfer_key() {
        let transfer_key = path.join("transfer.key");
        write(&transfer_key, &key_file(Doc::Knot, "knot-key", transfer));
        keys.replace("/etc/knot/dnsdesk-xfr.key", &display(&transfer_key))
    } else {
        // One key for both: Knot refuses a key defined twice.
        keys.drop_lines("/etc/knot/dnsdesk-xfr.key")
    };

    // One remote per secondary (a remote with several addresses would be
    // notified at the first that answers only); Knot merges repeated
    // section headers.
    let ids: Vec<String> = (0..secondaries.len())
        .map(|i| format!("ns{}", i + 2))
        .collect();
    let remotes: String = ids
        .iter()
        .zip(secondaries)
        .map(|(id, port)| {
            Fill::new(Doc::Knot, "knot-remotes")
                .replace("ns2", id)
                .replace(
                    &format!("{}@53", example::SECONDARY),
                    &format!("127.0.0.1@{port}"),
                )
                .text()
        })
        .collect();

    // A deny rule without names would match every update: with nothing to
    // deny, the rule goes, as the guide says.
    let deny = if setup.denied.is_empty() {
        String::new()
    } else {
        Fill::new(Doc::Knot, "knot-acl-deny")
            .per_line(example::DENIED, &setup.denied)
            .keys(update, transfer)
            .text()
    };
    let acl = Fill::new(Doc::Knot, "knot-acl")
        .keys(update, transfer)
        .text();

    let zone = Fill::new(Doc::Knot, "knot-zone")
        .replace("/var/lib/knot/kalbarprov.go.id.zone", &display(&zone_file));
    let zone = if ids.is_empty() {
        zone.drop_lines("notify: [ns2]")
    } else {
        zone.replace("notify: [ns2]", &format!("notify: [{}]", ids.join(", ")))
    };
    let zone = if setup.denied.is_empty() {
        zone.replace("dnsdesk_deny, ", "")
    } else {
        zone
    };
    let zone = zone.zone(&setup.zone_text()).text();

    let config = format!(
        "{}{}{remotes}{deny}{acl}{zone}",
        test_sections(path, port),
        keys.text()
    );
    let conf = path.join("knot.conf");
    write(&conf, &config);
    let conf_arg = OsString::from(&conf);
    run(
        &program("knotc"),
        &[OsString::from("-c"), conf_arg.clone(), "conf-check".into()],
        &config,
    );
    let launch = Launch {
        program: program("knotd"),
        args: vec![OsString::from("-c"), conf_arg],
        config: conf,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    Server::new(
        Kind::Knot,
        Role::Primary,
        addr,
        setup.zone.clone(),
        dir,
        launch,
    )
}

/// The sections only a test needs: the listening port, the run and
/// database directories (journal, timers) in the server's directory, and
/// the log on stderr.
fn test_sections(dir: &Path, port: u16) -> String {
    let dir = display(dir);
    format!(
        "server:\n  listen: 127.0.0.1@{port}\n  rundir: {dir}\n\
         database:\n  storage: {dir}\n\
         log:\n  - target: stderr\n    any: info\n"
    )
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
