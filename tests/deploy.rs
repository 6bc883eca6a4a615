//! What `docs/deploy.md` tells admins to run, run: its snippets (the
//! fenced block after a line `<!-- snippet: NAME -->`), read at compile
//! time, with their example paths and addresses replaced by the test's
//! own. Every replacement insists that the example it replaces is there,
//! and a filled-in snippet may keep no example path or address: a doc
//! edit the tests do not follow fails them instead of testing something
//! else.
//!
//! - The systemd unit passes `systemd-analyze verify`, its environment
//!   file names only settings the README lists, and dnsdesk serves when
//!   started with the unit's command line and that file.
//! - The SQLite backup, taken while the service serves and writes, checks
//!   out with the restore check; the same check fails for an old copy once
//!   a newer checkpoint names entries the copy lacks. A new site (no
//!   letter yet) backs up and checks out too.
//! - nginx, configured with the doc's site, in front of two instances on
//!   one PostgreSQL database: a web session works on both, and on the
//!   survivor once one is SIGKILLed.
//!
//! Needs `systemd-analyze`, `sqlite3` and `nginx` (and PostgreSQL for the
//! last): without them a test prints why and passes as skipped, unless
//! `DNSDESK_REQUIRE_SERVERS=1` (`DNSDESK_REQUIRE_POSTGRES=1` for
//! PostgreSQL), where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod servers;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::postgres::{Db, run_on};
use common::web::WebSession;
use common::{DEADLINE, Instance, Site};
use reqwest::StatusCode;
use serde_json::json;
use servers::program_path;

/// The guide, as compiled in.
const DEPLOY: &str = include_str!("../docs/deploy.md");
/// Its path, for messages.
const DEPLOY_PATH: &str = "docs/deploy.md";
/// The README, whose configuration table lists every `DNSDESK_*` setting.
const README: &str = include_str!("../README.md");

/// The example paths and addresses of the guide, which the tests replace.
mod example {
    /// Where the unit says the binary is installed.
    pub const BINARY: &str = "/usr/local/bin/dnsdesk";
    /// The data directory.
    pub const DATA_DIR: &str = "/var/lib/dnsdesk";
    /// The configuration directory.
    pub const CONFIG_DIR: &str = "/etc/dnsdesk";
    /// The environment file.
    pub const ENV_FILE: &str = "/etc/dnsdesk/dnsdesk.env";
    /// The update key.
    pub const KEY_FILE: &str = "/etc/dnsdesk/dnsdesk.key";
    /// Where backups go.
    pub const BACKUPS: &str = "/var/backups/dnsdesk";
    /// The live audit checkpoints.
    pub const CHECKPOINTS: &str = "/var/lib/dnsdesk/audit-checkpoints.jsonl";
    /// dnsdesk's HTTP address behind nginx (one machine).
    pub const HTTP_LISTEN: &str = "127.0.0.1:8080";
    /// The zone's primary and second authoritative server.
    pub const PRIMARY: &str = "192.0.2.53:53";
    pub const SECONDARY: &str = "198.51.100.53:53";
    /// The two instances behind nginx.
    pub const INSTANCE_1: &str = "10.0.0.11:8080";
    pub const INSTANCE_2: &str = "10.0.0.12:8080";
    /// The database of several instances.
    pub const DATABASE_URL: &str = "postgres://dnsdesk:CHANGE-ME@db.internal:5432/dnsdesk";
    /// Where each of several instances listens.
    pub const ANY_8080: &str = "0.0.0.0:8080";
    /// Where nginx listens.
    pub const NGINX_LISTEN: &str = "127.0.0.1:8443";
    /// The address nginx connects to the instances from.
    pub const NGINX_ADDRESS: &str = "DNSDESK_TRUSTED_PROXIES=10.0.0.10";
}

/// The snippet `name` of the guide: the fenced block after its marker,
/// with a final newline. Panics if there is none or more than one.
fn snippet(name: &str) -> &'static str {
    let marker = format!("<!-- snippet: {name} -->");
    let count = DEPLOY.matches(&marker).count();
    assert!(
        count == 1,
        "{DEPLOY_PATH} must mark exactly one snippet `{marker}`, found {count}"
    );
    let after = DEPLOY.split_once(&marker).map_or("", |(_, after)| after);
    let after = after.strip_prefix('\n').unwrap_or(after);
    let (fence, body) = after
        .split_once('\n')
        .unwrap_or_else(|| panic!("{DEPLOY_PATH}: nothing after `{marker}`"));
    assert!(
        fence.starts_with("```"),
        "{DEPLOY_PATH}: `{marker}` must be followed at once by a fenced block, found {fence:?}"
    );
    let end = body
        .find("\n```")
        .unwrap_or_else(|| panic!("{DEPLOY_PATH}: the block after `{marker}` is not closed"));
    &body[..=end]
}

/// A snippet being turned into a test's file or script.
#[derive(Debug)]
struct Fill {
    name: &'static str,
    text: String,
}

impl Fill {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            text: snippet(name).to_owned(),
        }
    }

    /// Replaces every occurrence of `example`, which must occur.
    fn replace(mut self, example: &str, value: &str) -> Self {
        assert!(
            self.text.contains(example),
            "snippet `{}` of {DEPLOY_PATH} no longer contains {example:?}: change tests/deploy.rs along with the doc",
            self.name
        );
        self.text = self.text.replace(example, value);
        self
    }

    /// The finished text; panics if an example path or address is left.
    fn text(self) -> String {
        let leftovers = [
            example::BINARY,
            example::DATA_DIR,
            example::CONFIG_DIR,
            example::BACKUPS,
            example::INSTANCE_1,
            example::INSTANCE_2,
            example::NGINX_LISTEN,
            example::DATABASE_URL,
            "CHANGE-ME",
            "/var/",
            "/etc/",
        ];
        for leftover in leftovers {
            // Comment lines may say where the file goes.
            let live = self
                .text
                .lines()
                .filter(|line| !line.trim_start().starts_with('#'))
                .any(|line| line.contains(leftover));
            assert!(
                !live,
                "snippet `{}` of {DEPLOY_PATH} still holds the example {leftover:?} after the test filled it in: \
                 change tests/deploy.rs along with the doc:\n{}",
                self.name, self.text
            );
        }
        self.text
    }
}

/// The `NAME=value` lines of an environment-file snippet (comments and
/// blank lines aside). Every other line fails the test, as does a name
/// that is not a `DNSDESK_*` variable or is given twice.
fn env_snippet(name: &str) -> Vec<(String, String)> {
    env_lines(name, snippet(name))
}

fn env_lines(what: &str, text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{what}: {line:?} is not NAME=value"));
        assert!(
            key.starts_with("DNSDESK_")
                && key
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
            "{what}: {key:?} is not a DNSDESK_* variable"
        );
        assert!(
            !value.is_empty() && !value.contains(char::is_whitespace),
            "{what}: {key} has no value, or one with spaces: {value:?}"
        );
        assert!(
            out.iter().all(|(k, _)| k != key),
            "{what}: {key} is set twice"
        );
        out.push((key.to_owned(), value.to_owned()));
    }
    assert!(!out.is_empty(), "{what} sets nothing");
    out
}

/// The variables the README's configuration table lists.
fn readme_variables() -> BTreeSet<String> {
    let names: BTreeSet<String> = README
        .lines()
        .filter_map(|line| line.strip_prefix("| `DNSDESK_"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(name, _)| format!("DNSDESK_{name}"))
        .collect();
    assert!(
        names.len() >= 10,
        "README.md's configuration table (rows \"| `DNSDESK_...` |\") lists only {names:?}"
    );
    names
}

/// An update key in the one-line `alg:name:secret` form.
const UPDATE_KEY: &str = "hmac-sha256:dnsdesk.:RppQB5iJU0Vyx8QX3yeKUAeF/ftFjbT5YFLPi56UYF0=\n";

/// The guide's environment file for one machine, with the data directory
/// `data` and the key file `key_file`, and nothing sent off the machine:
/// both DNS servers on a loopback port where nothing answers, HTTP on
/// port 0.
fn one_machine_env(data: &Path, key_file: &Path) -> String {
    let dead = common::dead_port().to_string();
    Fill::new("systemd-env")
        .replace(example::DATA_DIR, &data.display().to_string())
        .replace(example::KEY_FILE, &key_file.display().to_string())
        .replace(example::HTTP_LISTEN, "127.0.0.1:0")
        .replace(example::PRIMARY, &dead)
        .replace(example::SECONDARY, &dead)
        .text()
}

/// The value of the first `Key=` line of a unit.
fn unit_value<'a>(unit: &'a str, key: &str) -> &'a str {
    unit.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("the unit has no {key}=:\n{unit}"))
}

/// `program`'s path; or, when it is not installed, prints why `test`
/// skips and returns None, or panics when `DNSDESK_REQUIRE_SERVERS=1`.
fn require(test: &str, program: &str, package: &str) -> Option<PathBuf> {
    if let Some(path) = program_path(program) {
        return Some(path);
    }
    let why = format!("`{program}` is not installed (Debian package `{package}`)");
    assert!(
        std::env::var("DNSDESK_REQUIRE_SERVERS").as_deref() != Ok("1"),
        "DNSDESK_REQUIRE_SERVERS=1 but {why}"
    );
    eprintln!("skipped {test}: {why} (set DNSDESK_REQUIRE_SERVERS=1 to fail instead)");
    None
}

/// Runs `script` with bash, as an admin would paste it: `env` added, the
/// test process's own `DNSDESK_*` variables (if any) not passed on.
fn bash(script: &str, env: &[(&str, &str)], cwd: &Path) -> Output {
    let mut command = Command::new("bash");
    command.arg("-c").arg(script).current_dir(cwd);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("DNSDESK_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    command.output().unwrap()
}

fn show(output: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Kills a child process when dropped (a test that panics leaves nothing
/// running).
#[derive(Debug)]
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ---------------------------------------------------------------------
// One machine: the systemd unit and its environment file.

#[tokio::test]
async fn the_systemd_unit_verifies() {
    // The environment files name settings that exist (checked without
    // systemd: it is only text).
    let documented = readme_variables();
    for name in ["systemd-env", "postgres-env"] {
        for (key, _) in env_snippet(name) {
            assert!(
                documented.contains(&key),
                "snippet `{name}` of {DEPLOY_PATH} sets {key}, which README.md's configuration table \
                 does not list (so dnsdesk does not read it): {documented:?}"
            );
        }
    }
    // The settings the unit relies on: where it may write and read.
    let env = env_snippet("systemd-env");
    let value = |key: &str| -> &str {
        env.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("snippet `systemd-env` does not set {key}"))
    };
    let unit_doc = snippet("systemd-unit");
    assert_eq!(
        unit_value(unit_doc, "EnvironmentFile"),
        example::ENV_FILE,
        "the unit reads another environment file than the one the guide writes"
    );
    assert!(
        snippet("systemd-env").starts_with(&format!("# {}\n", example::ENV_FILE)),
        "snippet `systemd-env` no longer says it is {}",
        example::ENV_FILE
    );
    assert_eq!(
        value("DNSDESK_DATA_DIR"),
        unit_value(unit_doc, "ReadWritePaths"),
        "under ProtectSystem=strict dnsdesk can write only ReadWritePaths: it must be the data directory"
    );
    assert!(
        Path::new(value("DNSDESK_TSIG_KEY_FILE"))
            .starts_with(unit_value(unit_doc, "ReadOnlyPaths")),
        "the key file is outside the unit's ReadOnlyPaths"
    );

    let Some(analyze) = require("the_systemd_unit_verifies", "systemd-analyze", "systemd") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let etc = dir.path().join("conf");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&etc).unwrap();
    let env_file = etc.join("dnsdesk.env");
    let key_file = etc.join("dnsdesk.key");
    std::fs::write(&key_file, UPDATE_KEY).unwrap();
    let binary = env!("CARGO_BIN_EXE_dnsdesk");
    let unit = Fill::new("systemd-unit")
        .replace(
            &format!("ExecStart={}", example::BINARY),
            &format!("ExecStart={binary}"),
        )
        .replace(example::ENV_FILE, &env_file.display().to_string())
        .replace(example::DATA_DIR, &data.display().to_string())
        .replace(example::CONFIG_DIR, &etc.display().to_string())
        .text();
    let unit_file = dir.path().join("dnsdesk.service");
    std::fs::write(&unit_file, &unit).unwrap();

    let env_text = one_machine_env(&data, &key_file);
    std::fs::write(&env_file, &env_text).unwrap();

    let verified = Command::new(&analyze)
        .arg("verify")
        .arg(&unit_file)
        .current_dir(dir.path())
        .output()
        .unwrap();
    // In a container systemd-analyze may warn about the host; what it says
    // about this unit names its file.
    let stderr = String::from_utf8_lossy(&verified.stderr);
    let about_unit: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("dnsdesk.service"))
        .collect();
    assert!(
        verified.status.success() && about_unit.is_empty(),
        "systemd-analyze verify on the unit of {DEPLOY_PATH}: {}\n--- unit ---\n{unit}",
        show(&verified)
    );

    // dnsdesk starts as the unit starts it: its ExecStart with nothing but
    // the environment file (no --config), and answers /readyz.
    let exec = unit_value(&unit, "ExecStart");
    let mut words = exec.split_whitespace();
    let program = words.next().unwrap();
    assert_eq!(program, binary);
    let file_env = env_lines(
        "the environment file",
        &std::fs::read_to_string(&env_file).unwrap(),
    );
    let log = dir.path().join("dnsdesk.log");
    let mut command = Command::new(program);
    command
        .args(words)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(file_env.iter().map(|(k, v)| (k, v)))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()));
    let mut child = Running(command.spawn().unwrap());
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("dnsdesk ready") {
                let _ = tx.send(line);
            }
        }
    });
    let ready = rx.recv_timeout(DEADLINE).unwrap_or_else(|_| {
        let _ = child.0.kill();
        panic!(
            "dnsdesk did not become ready with `{exec}` and the environment file of {DEPLOY_PATH}:\n{env_text}\n--- log ---\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    assert!(
        !ready.contains(" dns="),
        "DNSDESK_EMBEDDED_DNS=false, yet the embedded server runs: {ready}"
    );
    let http = ready
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http="))
        .unwrap();
    let readyz = reqwest::get(format!("{http}/readyz")).await.unwrap();
    assert_eq!(readyz.status(), StatusCode::OK);
    // It runs on the data directory of the environment file.
    assert!(data.join("dnsdesk.db").exists());
}

// ---------------------------------------------------------------------
// One machine: SQLite backups.

/// The backup script of the guide, backing up `data` into `backups`.
fn backup_script(data: &Path, backups: &Path) -> String {
    Fill::new("sqlite-backup")
        .replace(example::DATA_DIR, &data.display().to_string())
        .replace(example::BACKUPS, &backups.display().to_string())
        .text()
}

/// The restore check of the guide, run by `dnsdesk` against the live
/// checkpoints `checkpoints`; `$dest` is set by the caller.
fn restore_check_script(checkpoints: &Path) -> String {
    let binary = env!("CARGO_BIN_EXE_dnsdesk");
    assert!(!binary.contains('\''));
    Fill::new("sqlite-restore-check")
        .replace(example::CHECKPOINTS, &checkpoints.display().to_string())
        .replace("dnsdesk audit verify", &format!("'{binary}' audit verify"))
        .text()
}

/// Runs the backup script; returns the one new directory it made.
fn back_up(data: &Path, backups: &Path, cwd: &Path) -> PathBuf {
    let before: BTreeSet<PathBuf> = std::fs::read_dir(backups)
        .map(|dir| dir.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    let script = backup_script(data, backups);
    let out = bash(&script, &[], cwd);
    assert!(
        out.status.success(),
        "the backup of {DEPLOY_PATH} failed: {}\n--- script ---\n{script}",
        show(&out)
    );
    let made: Vec<PathBuf> = std::fs::read_dir(backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !before.contains(p))
        .collect();
    assert_eq!(made.len(), 1, "the backup made {made:?} in {backups:?}");
    made.into_iter().next().unwrap()
}

/// Runs the restore check on the copy in `dest`.
fn restore_check(dest: &Path, checkpoints: &Path, cwd: &Path) -> Output {
    let script = restore_check_script(checkpoints);
    bash(&script, &[("dest", dest.to_str().unwrap())], cwd)
}

/// What a backup directory must hold: the database, readable by its owner
/// only; the checkpoints; every letter and confirmation the copy refers to.
fn check_backup_contents(dest: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for path in [dest.to_owned(), dest.join("dnsdesk.db")] {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "{} is mode {mode:o}: the backup of the database must be readable by its owner only",
            path.display()
        );
    }
    assert!(dest.join("audit-checkpoints.jsonl").is_file());
    let copy = rusqlite::Connection::open_with_flags(
        dest.join("dnsdesk.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut statement = copy
        .prepare(
            "SELECT letter_sha256 FROM requests WHERE letter_sha256 IS NOT NULL \
             UNION SELECT confirmation_sha256 FROM requests WHERE confirmation_sha256 IS NOT NULL",
        )
        .unwrap();
    let letters: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for sha in letters {
        let letter = dest.join("letters").join(format!("{sha}.pdf"));
        assert!(
            letter.is_file(),
            "the copy refers to {}, which the backup lacks",
            letter.display()
        );
    }
}

/// A backup of a site that was started and never used (no letter yet)
/// goes through and checks out: the daily job works from day one.
#[tokio::test]
async fn a_sqlite_backup_of_a_new_site_verifies() {
    let Some(_) = require(
        "a_sqlite_backup_of_a_new_site_verifies",
        "sqlite3",
        "sqlite3",
    ) else {
        return;
    };
    let site = Site::new();
    let dnsdesk = site.start();
    let checkpoints = site.data_dir().join("audit-checkpoints.jsonl");
    // The service writes its first checkpoint when it starts.
    common::poll(|| async { checkpoints.exists() }, |exists| *exists).await;
    let backups = tempfile::tempdir().unwrap();
    let dest = back_up(&site.data_dir(), backups.path(), site.dir.path());
    check_backup_contents(&dest);
    let checked = restore_check(&dest, &checkpoints, site.dir.path());
    assert!(
        checked.status.success()
            && String::from_utf8_lossy(&checked.stdout).contains("audit log intact"),
        "the restore check of {DEPLOY_PATH} on a new site's backup: {}",
        show(&checked)
    );
    drop(dnsdesk);
}

/// Files request number `n + 1` as the PD `pd` (audit entries and a
/// letter); counts it.
async fn file_one(dnsdesk: &Instance, pd: &str, n: &mut u32) {
    *n += 1;
    dnsdesk
        .file(
            pd,
            &format!("layanan{n}.disdik.kalbarprov.go.id"),
            json!([{ "type": "A", "value": format!("203.0.113.{}", *n % 250 + 1), "ttl": 300 }]),
        )
        .await;
}

/// The number of checkpoints `audit verify` said agree.
fn checkpoints_agreeing(said: &str) -> usize {
    said.split_whitespace()
        .zip(said.split_whitespace().skip(1))
        .find_map(|(n, word)| (word == "checkpoint(s)").then(|| n.parse().ok()).flatten())
        .unwrap_or_else(|| panic!("`audit verify` did not say how many checkpoints agree: {said}"))
}

#[tokio::test]
async fn a_sqlite_backup_taken_while_serving_verifies() {
    let Some(_) = require(
        "a_sqlite_backup_taken_while_serving_verifies",
        "sqlite3",
        "sqlite3",
    ) else {
        return;
    };
    let site = Site::new();
    let pd = site.pd("DISDIK");
    site.staff("nadia", "netadmin");
    let dnsdesk = site.start();
    let mut filed = 0;
    file_one(&dnsdesk, &pd, &mut filed).await;
    site.cli(&["audit", "checkpoint"]);
    let checkpoints = site.data_dir().join("audit-checkpoints.jsonl");

    // The backup, taken while requests are being filed (each one audit
    // entries and a letter) through the running service.
    let backups = tempfile::tempdir().unwrap();
    let backup = {
        let data = site.data_dir();
        let backups = backups.path().to_owned();
        let cwd = site.dir.path().to_owned();
        tokio::task::spawn_blocking(move || back_up(&data, &backups, &cwd))
    };
    let mut during = 0;
    loop {
        file_one(&dnsdesk, &pd, &mut filed).await;
        during += 1;
        if backup.is_finished() {
            break;
        }
    }
    let dest = backup.await.unwrap();
    check_backup_contents(&dest);
    assert!(
        std::fs::read_dir(dest.join("letters")).unwrap().count() >= 1,
        "the backup holds no letter"
    );
    let name = dest.file_name().unwrap().to_str().unwrap();
    assert!(
        name.len() == 16 && name.ends_with('Z') && name.as_bytes()[8] == b'T',
        "the backup directory is not named by its UTC time: {name}"
    );

    // The restore check: the copy's chain is whole and reaches every
    // checkpoint written so far.
    let checked = restore_check(&dest, &checkpoints, site.dir.path());
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success() && said.contains("audit log intact"),
        "the restore check of {DEPLOY_PATH} on a backup taken while {during} request(s) were filed: {}",
        show(&checked)
    );
    let agreeing = checkpoints_agreeing(&said);
    assert!(agreeing >= 1, "{said}");

    // The live site goes on, and writes a checkpoint after more entries:
    // the old copy lacks what that checkpoint names, and the check says so.
    file_one(&dnsdesk, &pd, &mut filed).await;
    site.cli(&["audit", "checkpoint"]);
    let stale = restore_check(&dest, &checkpoints, site.dir.path());
    let complaint = String::from_utf8_lossy(&stale.stderr);
    assert!(
        !stale.status.success()
            && complaint.contains("NOT intact")
            && complaint.contains("but the log ends at entry"),
        "the restore check passed an old backup against a newer checkpoint: {}",
        show(&stale)
    );
    // Against the checkpoints it carries, the old copy still checks out
    // (which is how an old backup is checked later on).
    let own = restore_check(
        &dest,
        &dest.join("audit-checkpoints.jsonl"),
        site.dir.path(),
    );
    assert!(
        own.status.success(),
        "an old backup against its own checkpoints: {}",
        show(&own)
    );
    // And the live database checks out against the live checkpoints.
    let live = site.cli(&["audit", "verify"]);
    assert_eq!(checkpoints_agreeing(&live), agreeing + 1, "{live}");
    drop(dnsdesk);
}

// ---------------------------------------------------------------------
// Several instances: nginx in front of two, on PostgreSQL.

/// nginx running the guide's site in a minimal configuration of the
/// test's own (everything under a temporary prefix, in the foreground,
/// one process); killed when dropped.
#[derive(Debug)]
struct Nginx {
    process: Running,
    prefix: tempfile::TempDir,
    addr: SocketAddr,
}

impl Nginx {
    /// Starts nginx with the guide's site, its upstream servers replaced
    /// by `upstreams`. Retries on another port if the chosen one was taken
    /// in the meantime.
    fn start(program: &Path, upstreams: [SocketAddr; 2]) -> Self {
        let mut last = String::new();
        for _ in 0..5 {
            let addr = common::free_port();
            match Self::try_start(program, upstreams, addr) {
                Ok(nginx) => return nginx,
                Err(report) if report.contains("Address already in use") => last = report,
                Err(report) => panic!("{report}"),
            }
        }
        panic!("nginx found its port taken each time; last:\n{last}")
    }

    fn try_start(
        program: &Path,
        upstreams: [SocketAddr; 2],
        addr: SocketAddr,
    ) -> Result<Self, String> {
        let prefix = tempfile::tempdir().unwrap();
        let p = prefix.path().display().to_string();
        let site = Fill::new("nginx-site")
            .replace(example::INSTANCE_1, &upstreams[0].to_string())
            .replace(example::INSTANCE_2, &upstreams[1].to_string())
            .replace(example::NGINX_LISTEN, &addr.to_string())
            .text();
        let conf = format!(
            "daemon off;\n\
             master_process off;\n\
             worker_processes 1;\n\
             pid {p}/nginx.pid;\n\
             error_log {p}/error.log info;\n\
             events {{\n    worker_connections 64;\n}}\n\
             http {{\n\
             access_log {p}/access.log;\n\
             client_body_temp_path {p}/client_body;\n\
             proxy_temp_path {p}/proxy;\n\
             fastcgi_temp_path {p}/fastcgi;\n\
             uwsgi_temp_path {p}/uwsgi;\n\
             scgi_temp_path {p}/scgi;\n\
             # Which instances nginx tried, the one that answered last.\n\
             add_header X-Upstream $upstream_addr always;\n\
             {site}}}\n"
        );
        let conf_path = prefix.path().join("nginx.conf");
        std::fs::write(&conf_path, &conf).unwrap();
        let error_log = prefix.path().join("error.log");
        let report = |why: &str| {
            format!(
                "nginx {why}\n--- {} ---\n{conf}\n--- error.log ---\n{}",
                conf_path.display(),
                std::fs::read_to_string(&error_log).unwrap_or_default()
            )
        };
        let child = Command::new(program)
            .arg("-p")
            .arg(prefix.path())
            .arg("-e")
            .arg(&error_log)
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| report(&format!("cannot run {}: {e}", program.display())))?;
        let mut process = Running(child);
        let start = Instant::now();
        loop {
            if let Some(status) = process.0.try_wait().unwrap() {
                return Err(report(&format!("exited with {status}")));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(Self {
                    process,
                    prefix,
                    addr,
                });
            }
            if start.elapsed() > DEADLINE {
                return Err(report(&format!("did not listen on {addr}")));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Whether nginx still runs (it must not have given up on its own).
    fn running(&mut self) -> bool {
        matches!(self.process.0.try_wait(), Ok(None))
    }

    /// nginx's error log, for failure messages.
    fn context(&self) -> String {
        let log = std::fs::read_to_string(self.prefix.path().join("error.log")).unwrap_or_default();
        format!("nginx error.log:\n{log}")
    }
}

/// The instance that answered, from the `X-Upstream` header: the last
/// address nginx tried.
fn answered_by(page: &common::web::Page) -> SocketAddr {
    *tried(page).last().unwrap()
}

/// Every instance nginx tried for `page`, in order (`$upstream_addr`).
fn tried(page: &common::web::Page) -> Vec<SocketAddr> {
    let tried = page
        .headers
        .get("x-upstream")
        .expect("no X-Upstream header")
        .to_str()
        .unwrap();
    tried.split(", ").map(|a| a.parse().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_in_front_of_two_instances_survives_one_dying() {
    run_on(
        Db::Postgres,
        concat!(
            module_path!(),
            "::nginx_in_front_of_two_instances_survives_one_dying"
        ),
        nginx_in_front(),
    )
    .await;
}

async fn nginx_in_front() {
    let Some(nginx) = require(
        "nginx_in_front_of_two_instances_survives_one_dying",
        "nginx",
        "nginx",
    ) else {
        return;
    };
    const PW: &str = "sungai-kapuas-2026";
    let site = Site::new();
    site.web_user("rina", "reviewer", None, PW);
    // Each instance's environment file as the guide has it: the
    // PostgreSQL one plus the zone settings of the one-machine one.
    let url = site.postgres.as_ref().expect("a PostgreSQL site").url();
    let key_file = site.dir.path().join("dnsdesk.key");
    std::fs::write(&key_file, UPDATE_KEY).unwrap();
    let postgres_env = Fill::new("postgres-env")
        .replace(example::DATABASE_URL, &url)
        .replace(example::ANY_8080, "127.0.0.1:0")
        .replace(example::NGINX_ADDRESS, "DNSDESK_TRUSTED_PROXIES=127.0.0.1")
        .text();
    let mut env = env_lines(
        "the one-machine environment file",
        &one_machine_env(&site.data_dir(), &key_file),
    );
    for (key, value) in env_lines("the PostgreSQL environment file", &postgres_env) {
        env.retain(|(k, _)| *k != key);
        env.push((key, value));
    }
    let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let first = site.start_with_env(&env);
    let second = site.start_with_env(&env);
    for instance in [&first, &second] {
        assert!(
            instance.dns.is_none(),
            "DNSDESK_EMBEDDED_DNS=false, yet the embedded server runs"
        );
    }
    let mut nginx = Nginx::start(&nginx, [first.http, second.http]);
    let base = nginx.base();

    let mut anyone = WebSession::new(&base);
    let readyz = anyone.get("/readyz").await;
    assert_eq!(readyz.status, StatusCode::OK, "{}", nginx.context());
    // Signed-in pages need a session.
    let refused = anyone.get("/requests").await;
    assert!(
        refused.status.is_redirection()
            && refused
                .location
                .as_deref()
                .is_some_and(|l| l.starts_with("/login")),
        "/requests without a session: {} {:?}",
        refused.status,
        refused.location
    );

    // Sign in through nginx (the login page and the form's post may reach
    // different instances), then the session works whichever instance
    // nginx picks.
    let mut web = WebSession::new(&base);
    let signed_in = web.login("rina", PW).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "sign-in through nginx: {}\n{}",
        signed_in.body,
        nginx.context()
    );
    let mut served_by = BTreeSet::new();
    for _ in 0..6 {
        let page = web.get("/requests").await;
        assert_eq!(
            page.status,
            StatusCode::OK,
            "{}\n{}",
            page.body,
            nginx.context()
        );
        served_by.insert(answered_by(&page));
    }
    assert_eq!(
        served_by,
        BTreeSet::from([first.http, second.http]),
        "nginx did not spread the signed-in pages over both instances"
    );

    // One instance dies; through nginx everything still answers, from the
    // survivor, with the same session.
    let (dead, survivor) = (first.http, second.http);
    first.kill9();
    let mut passed_on = 0;
    for round in 0..6 {
        let ready = anyone.get("/readyz").await;
        assert_eq!(
            ready.status,
            StatusCode::OK,
            "/readyz through nginx, round {round} after the kill: {}\n{}",
            ready.body,
            nginx.context()
        );
        assert_eq!(answered_by(&ready), survivor);
        passed_on += usize::from(tried(&ready) == [dead, survivor]);
        let page = web.get("/requests").await;
        assert_eq!(
            page.status,
            StatusCode::OK,
            "/requests through nginx, round {round} after the kill: {:?} {}\n{}",
            page.location,
            page.body,
            nginx.context()
        );
        assert_eq!(answered_by(&page), survivor);
        passed_on += usize::from(tried(&page) == [dead, survivor]);
    }
    // Round robin sent the dead one a request, which nginx passed on to the
    // survivor; then it left the dead one alone for `fail_timeout` (a
    // keepalive connection cached before the kill may cost one more try).
    assert!(
        (1..=2).contains(&passed_on),
        "nginx passed {passed_on} of 12 requests on from the dead instance\n{}",
        nginx.context()
    );
    // A new sign-in (a POST) goes through the survivor too.
    let mut late = WebSession::new(&base);
    assert_eq!(
        late.login("rina", PW).await.status,
        StatusCode::SEE_OTHER,
        "{}",
        nginx.context()
    );
    assert_eq!(late.get("/requests").await.status, StatusCode::OK);
    assert!(nginx.running(), "{}", nginx.context());
    drop(second);
}
