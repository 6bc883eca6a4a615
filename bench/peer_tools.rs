//! The peers of bench/bulk.rs: what an admin would run instead of
//! dnsdesk to put the same names in the zone.
//!
//! - `nsupdate` (BIND's client, from bind9-dnsutils): one process per
//!   change, or one long-lived process sending a message every
//!   `per_message` changes;
//! - octoDNS with octodns-bind's RFC 2136 provider, installed from PyPI
//!   into a virtual environment under `target/bench-venv`: the desired
//!   zone as YAML, synced with `octodns-sync --doit` (it reads the zone
//!   by AXFR, plans, and sends its changes without prerequisites).
//!
//! Every run is timed as the user waits for it (process start to exit),
//! then checked: a sample of its names is read back from the primary, so
//! a peer that silently did nothing cannot post a figure.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use provisioner::tsig::TsigKey;

/// One name and the address it must have. `owner` without a final dot.
#[derive(Debug, Clone)]
pub struct Change {
    pub owner: String,
    pub address: Ipv4Addr,
}

/// What one peer took for its changes.
#[derive(Debug, Clone)]
pub struct PeerRun {
    pub peer: &'static str,
    pub changes: usize,
    pub elapsed: Duration,
}

/// The nsupdate lines that give `c.owner` exactly `c.address`: its A
/// RRset deleted (a no-op for a new name) and the address added.
fn nsupdate_lines(c: &Change) -> String {
    format!(
        "update delete {o}. A\nupdate add {o}. 300 A {a}\n",
        o = c.owner,
        a = c.address
    )
}

fn key_file(key: &TsigKey, dir: &Path) -> PathBuf {
    let path = dir.join("nsupdate.key");
    std::fs::write(&path, key.to_bind_key_file()).unwrap();
    path
}

fn header(primary: SocketAddr, zone: &str) -> String {
    format!("server {} {}\nzone {zone}.\n", primary.ip(), primary.port())
}

/// Runs one nsupdate with `script` on stdin; panics on failure.
fn nsupdate(key: &Path, script: &str) {
    let mut child = Command::new("nsupdate")
        .arg("-k")
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nsupdate (bind9-dnsutils) must be installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "nsupdate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One nsupdate process per change, as a shell loop would run it.
pub fn nsupdate_process_per_change(
    primary: SocketAddr,
    key: &TsigKey,
    zone: &str,
    changes: &[Change],
) -> PeerRun {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(key, dir.path());
    let started = Instant::now();
    for c in changes {
        nsupdate(
            &key,
            &format!("{}{}send\n", header(primary, zone), nsupdate_lines(c)),
        );
    }
    let elapsed = started.elapsed();
    check(primary, changes);
    PeerRun {
        peer: "nsupdate, one process per change",
        changes: changes.len(),
        elapsed,
    }
}

/// One long-lived nsupdate process sending a message every `per_message`
/// changes.
pub fn nsupdate_long_lived(
    primary: SocketAddr,
    key: &TsigKey,
    zone: &str,
    changes: &[Change],
    per_message: usize,
) -> PeerRun {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(key, dir.path());
    let mut script = header(primary, zone);
    for chunk in changes.chunks(per_message) {
        for c in chunk {
            script.push_str(&nsupdate_lines(c));
        }
        script.push_str("send\n");
    }
    let started = Instant::now();
    nsupdate(&key, &script);
    let elapsed = started.elapsed();
    check(primary, changes);
    PeerRun {
        peer: if per_message == 1 {
            "nsupdate long-lived, 1 change per message"
        } else {
            "nsupdate long-lived, 100 changes per message"
        },
        changes: changes.len(),
        elapsed,
    }
}

/// `octodns-sync` in the bench's virtual environment, installed on first
/// use; Err says why it cannot be had.
pub fn octodns_available() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-venv");
    let sync = venv.join("bin/octodns-sync");
    if sync.exists() {
        return Ok(sync);
    }
    let run = |program: &Path, args: &[&str]| -> Result<(), String> {
        let out = Command::new(program)
            .args(args)
            .output()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} {args:?}: {}",
                program.display(),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    run(
        Path::new("python3"),
        &["-m", "venv", venv.to_str().unwrap()],
    )?;
    run(
        &venv.join("bin/pip"),
        &["install", "-q", "octodns==1.*", "octodns-bind==1.*"],
    )?;
    if sync.exists() {
        Ok(sync)
    } else {
        Err("octodns-sync missing after pip install".to_owned())
    }
}

/// "octodns X, octodns-bind Y" as pip has them.
pub fn octodns_version(sync: &Path) -> String {
    let pip = sync.with_file_name("pip");
    let version = |package: &str| {
        Command::new(&pip)
            .args(["show", package])
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .find_map(|l| l.strip_prefix("Version: ").map(str::to_owned))
            })
            .unwrap_or_else(|| "?".to_owned())
    };
    format!(
        "octodns {}, octodns-bind {}",
        version("octodns"),
        version("octodns-bind")
    )
}

/// The first letters of every name the bench puts in the zone: octoDNS
/// manages those names only (a `NameAllowlistFilter`), and leaves the
/// zone's own records (apex, names the primary's policy protects) alone.
pub const NAME_PREFIX: &str = "bulk";

/// Syncs the names starting [`NAME_PREFIX`] to hold exactly `desired`
/// with `octodns-sync --doit`, its config
/// and zone YAML written under `work`. `key` must be allowed to update
/// and to transfer the zone (octodns-bind reads the zone by AXFR with the
/// same key).
pub fn octodns_sync(
    sync: &Path,
    primary: SocketAddr,
    key: &TsigKey,
    zone: &str,
    desired: &[Change],
    work: &Path,
) -> Result<PeerRun, String> {
    let config_dir = work.join("zones");
    std::fs::create_dir_all(&config_dir).map_err(|e| e.to_string())?;
    let mut yaml = String::from("---\n");
    for c in desired {
        let label = c
            .owner
            .strip_suffix(&format!(".{zone}"))
            .ok_or_else(|| format!("{} is not in {zone}", c.owner))?;
        yaml.push_str(&format!(
            "{label}:\n  type: A\n  ttl: 300\n  value: {}\n",
            c.address
        ));
    }
    std::fs::write(config_dir.join(format!("{zone}.yaml")), yaml).map_err(|e| e.to_string())?;
    let algorithm = key.algorithm.to_string().trim_end_matches('.').to_owned();
    let config = format!(
        "---\n\
         providers:\n\
         \x20 config:\n\
         \x20   class: octodns.provider.yaml.YamlProvider\n\
         \x20   directory: {dir}\n\
         \x20   enforce_order: false\n\
         \x20 rfc2136:\n\
         \x20   class: octodns_bind.Rfc2136Provider\n\
         \x20   host: {host}\n\
         \x20   port: {port}\n\
         \x20   key_name: {key_name}\n\
         \x20   key_secret: {secret}\n\
         \x20   key_algorithm: {algorithm}\n\
         processors:\n\
         \x20 only-bench-names:\n\
         \x20   class: octodns.processor.filter.NameAllowlistFilter\n\
         \x20   allowlist:\n\
         \x20     - /^{prefix}/\n\
         zones:\n\
         \x20 {zone}.:\n\
         \x20   sources:\n\
         \x20     - config\n\
         \x20   processors:\n\
         \x20     - only-bench-names\n\
         \x20   targets:\n\
         \x20     - rfc2136\n",
        dir = config_dir.display(),
        host = primary.ip(),
        port = primary.port(),
        key_name = key.name.to_ascii().trim_end_matches('.'),
        secret = base64_secret(key),
        prefix = NAME_PREFIX,
    );
    let config_file = work.join("octodns.yaml");
    std::fs::write(&config_file, config).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let out = Command::new(sync)
        .arg("--config-file")
        .arg(&config_file)
        .arg("--doit")
        .arg("--force")
        .output()
        .map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        return Err(format!(
            "octodns-sync failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    check(primary, desired);
    Ok(PeerRun {
        peer: "octoDNS + octodns-bind",
        changes: desired.len(),
        elapsed,
    })
}

fn base64_secret(key: &TsigKey) -> String {
    let text = key.to_bind_key_file();
    text.split("secret")
        .nth(1)
        .and_then(|rest| rest.split('"').nth(1))
        .unwrap_or_default()
        .to_owned()
}

/// Reads a sample of `changes` back from `primary` with dig (not timed).
fn check(primary: SocketAddr, changes: &[Change]) {
    let step = (changes.len() / 100).max(1);
    for c in changes.iter().step_by(step).chain(changes.last()) {
        let out = Command::new("dig")
            .arg(format!("@{}", primary.ip()))
            .args(["-p", &primary.port().to_string(), "+norec", "+short"])
            .arg(&c.owner)
            .arg("A")
            .output()
            .expect("dig (bind9-dnsutils) must be installed");
        let got = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert_eq!(got, c.address.to_string(), "{} on {primary}", c.owner);
    }
}
