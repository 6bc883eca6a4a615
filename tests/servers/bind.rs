//! BIND 9 primaries and secondaries, configured from `docs/deploy-bind.md`.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use super::process::{Launch, Role, Server};
use super::setup::{copy_zone_file, run, server_dir, write};
use super::snippets::{Doc, Fill, example, key_file};
use super::{Kind, ZoneSetup, program};

/// A BIND primary for `setup` on port `port` of 127.0.0.1, notifying the
/// secondaries on `secondaries`. Not started yet.
pub(super) fn primary(setup: &ZoneSetup, port: u16, secondaries: &[u16]) -> Server {
    let dir = server_dir(Kind::Bind, Role::Primary);
    let path = dir.path();
    let zone_file = path.join(format!("{}.zone", setup.zone_text()));
    copy_zone_file(&setup.zone_file, &zone_file);

    let update_key = path.join("update.key");
    write(
        &update_key,
        &key_file(Doc::Bind, "bind-key", &setup.update_key),
    );
    let keys = Fill::new(Doc::Bind, "bind-primary-keys")
        .replace("/etc/bind/dnsdesk.key", &display(&update_key));
    let keys = if setup.separate_transfer_key() {
        let transfer_key = path.join("transfer.key");
        write(
            &transfer_key,
            &key_file(Doc::Bind, "bind-key", &setup.transfer_key),
        );
        keys.replace("/etc/bind/dnsdesk-xfr.key", &display(&transfer_key))
    } else {
        // One key for both: BIND refuses a key defined twice.
        keys.drop_lines("/etc/bind/dnsdesk-xfr.key")
    };

    let options = Fill::new(Doc::Bind, "bind-primary-options")
        .replace(example::OPTIONS_SLOT, &test_options(path, port));
    let also_notify: Vec<String> = secondaries
        .iter()
        .map(|p| format!("127.0.0.1 port {p};"))
        .collect();
    let zone = Fill::new(Doc::Bind, "bind-primary-zone")
        .replace("/var/lib/bind/kalbarprov.go.id.zone", &display(&zone_file))
        .per_line(example::DENIED, &setup.denied)
        .replace(
            &format!("{} port 53;", example::SECONDARY),
            &also_notify.join(" "),
        )
        .keys(&setup.update_key, &setup.transfer_key)
        .zone(&setup.zone_text());

    let config = format!("{}{}{CONTROLS}{}", keys.text(), options.text(), zone.text());
    finish(setup, Role::Primary, dir, port, &config)
}

/// A BIND secondary for `setup` on port `port` of 127.0.0.1, transferring
/// from the primary on `primary`. Not started yet.
pub(super) fn secondary(setup: &ZoneSetup, port: u16, primary: u16) -> Server {
    let dir = server_dir(Kind::Bind, Role::Secondary);
    let path = dir.path();
    let transfer_key = path.join("transfer.key");
    write(
        &transfer_key,
        &key_file(Doc::Bind, "bind-key", &setup.transfer_key),
    );
    let keys = Fill::new(Doc::Bind, "bind-secondary-keys")
        .replace("/etc/bind/dnsdesk-xfr.key", &display(&transfer_key))
        .keys(&setup.update_key, &setup.transfer_key);
    let options = Fill::new(Doc::Bind, "bind-secondary-options")
        .replace(example::OPTIONS_SLOT, &test_options(path, port));
    let zone = Fill::new(Doc::Bind, "bind-secondary-zone")
        .replace(
            "/var/cache/bind/kalbarprov.go.id.zone",
            &display(&path.join("secondary.db")),
        )
        .replace(
            &format!("{} port 53", example::PRIMARY),
            &format!("127.0.0.1 port {primary}"),
        )
        // dnsdesk's NOTIFY comes from 127.0.0.1 in the tests.
        .replace(example::DNSDESK, "127.0.0.1")
        .keys(&setup.update_key, &setup.transfer_key)
        .zone(&setup.zone_text());
    let config = format!("{}{}{CONTROLS}{}", keys.text(), options.text(), zone.text());
    finish(setup, Role::Secondary, dir, port, &config)
}

/// No control channel: nothing in the tests uses rndc, and the default
/// would listen on port 953 of 127.0.0.1, which parallel servers share.
const CONTROLS: &str = "controls { };\n";

/// The options only a test needs, in the place the guide leaves for the
/// admin's own: directories, listening port, no recursion, and no DNSSEC
/// validation (which would make `named` fetch the root's trust anchors
/// from the internet).
fn test_options(dir: &Path, port: u16) -> String {
    let dir = display(dir);
    format!(
        "    directory \"{dir}\";\n\
         \x20   pid-file \"{dir}/named.pid\";\n\
         \x20   session-keyfile \"{dir}/session.key\";\n\
         \x20   listen-on port {port} {{ 127.0.0.1; }};\n\
         \x20   listen-on-v6 {{ none; }};\n\
         \x20   recursion no;\n\
         \x20   dnssec-validation no;\n"
    )
}

/// Writes `named.conf`, checks it with `named-checkconf`, and makes the
/// server that runs `named` in the foreground (`-g` logs to stderr).
fn finish(
    setup: &ZoneSetup,
    role: Role,
    dir: tempfile::TempDir,
    port: u16,
    config: &str,
) -> Server {
    let conf = dir.path().join("named.conf");
    write(&conf, config);
    run(&program("named-checkconf"), &[conf.clone().into()], config);
    let launch = Launch {
        program: program("named"),
        args: vec![
            OsString::from("-g"),
            OsString::from("-c"),
            conf.clone().into(),
        ],
        config: conf,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    Server::new(Kind::Bind, role, addr, setup.zone.clone(), dir, launch)
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
