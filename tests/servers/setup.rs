//! What every server's setup shares: a directory of its own, the files
//! written into it, and the commands run before it starts (config checks,
//! `pdnsutil`), each failing loudly with what it was given.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};

use super::Kind;
use super::process::Role;

/// Runs a setup command (a config check, `pdnsutil`) to completion;
/// panics with its output and the `config` it was checking if it fails.
pub(super) fn run(program: &Path, args: &[OsString], config: &str) {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        output.status.success(),
        "{} {args:?} failed ({}):\n{}{}\n--- the config ---\n{config}",
        program.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

/// Creates a file of the server's directory; panics on failure.
pub(super) fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// A fresh temporary directory for one server.
pub(super) fn server_dir(kind: Kind, role: Role) -> tempfile::TempDir {
    let prefix = format!(
        "dnsdesk-{}-{role}-",
        kind.name().to_ascii_lowercase().replace(' ', "-")
    );
    tempfile::Builder::new()
        .prefix(&prefix)
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"))
}

/// Copies the zone file into the server's directory.
pub(super) fn copy_zone_file(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap_or_else(|e| {
        panic!(
            "cannot copy the zone file {} to {}: {e}",
            from.display(),
            to.display()
        )
    });
}
