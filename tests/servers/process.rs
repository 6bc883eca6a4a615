//! One server process: started with its log captured to a file, waited for
//! until it answers for the zone, stopped with SIGTERM (SIGKILL after a
//! grace period), and always stopped when dropped.

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::rr::Name;
use provisioner::client::soa_serial;

use super::Kind;

/// How long a server may take to start, or to reach a serial, before the
/// test fails. Generous: CI machines are slow and busy; a healthy server
/// takes well under a second.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Pause between two readiness or serial checks.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// How long one SOA query may take while polling.
const QUERY_TIMEOUT: Duration = Duration::from_millis(250);

/// How long a server has to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What a server does in the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Takes the updates; the secondaries transfer from it.
    Primary,
    /// Transfers the zone from the primary after its NOTIFY.
    Secondary,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
        })
    }
}

/// Why a server did not start: the report holds its config and log.
#[derive(Debug)]
pub enum StartError {
    /// Another process took the port between choosing it and binding it.
    PortTaken(String),
    /// Anything else.
    Failed(String),
}

/// How the wait for a starting server ended badly.
enum NotReady {
    Exited(ExitStatus),
    PortTaken,
    NoAnswer,
}

/// How to run a server: the program, its arguments, and the main config
/// file (shown when it fails).
#[derive(Debug)]
pub(super) struct Launch {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub config: PathBuf,
}

/// One running (or stopped) authoritative server.
#[derive(Debug)]
pub struct Server {
    kind: Kind,
    role: Role,
    addr: SocketAddr,
    zone: Name,
    /// Removed when the server is dropped, kept when a test panics.
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
    program: PathBuf,
    args: Vec<OsString>,
    /// The main config file, shown when the server fails.
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Server {
    /// A server that will be run as `launch` says in `dir`, listening on
    /// `addr`. Not started yet.
    pub(super) fn new(
        kind: Kind,
        role: Role,
        addr: SocketAddr,
        zone: Name,
        dir: tempfile::TempDir,
        launch: Launch,
    ) -> Self {
        let path = dir.path().to_owned();
        Self {
            kind,
            role,
            addr,
            zone,
            log: path.join("server.log"),
            dir: Some(dir),
            path,
            program: launch.program,
            args: launch.args,
            config: launch.config,
            child: None,
        }
    }

    /// Which software this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Primary or secondary.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Where it listens (UDP and TCP), on 127.0.0.1.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its directory: config, keys, zone file, journal, log.
    pub fn dir(&self) -> &Path {
        &self.path
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Everything the server wrote to stdout and stderr, over all its runs.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the process: SIGTERM, then SIGKILL if it has not exited after
    /// a grace period; waits for it. Its files stay. Does nothing if it is
    /// not running.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
    }

    /// Starts the process again on the same address with the same files,
    /// and waits until it answers for the zone; panics with its log if it
    /// does not.
    pub fn start(&mut self) {
        match self.try_start() {
            Ok(()) => {}
            Err(StartError::PortTaken(report) | StartError::Failed(report)) => panic!("{report}"),
        }
    }

    /// Starts the process and waits until it answers an SOA query for the
    /// zone authoritatively.
    pub(super) fn try_start(&mut self) -> Result<(), StartError> {
        assert!(
            self.child.is_none(),
            "{} {} at {} is already running",
            self.kind,
            self.role,
            self.addr
        );
        let log_start = std::fs::metadata(&self.log).map_or(0, |m| m.len());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.log.display()));
        let stderr = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone the log file handle: {e}"));
        let spawned = Command::new(&self.program)
            .args(&self.args)
            .current_dir(&self.path)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr))
            .spawn();
        let child = match spawned {
            Ok(child) => self.child.insert(child),
            Err(e) => {
                return Err(StartError::Failed(
                    self.report(&format!("cannot run {}: {e}", self.program.display())),
                ));
            }
        };
        let outcome = wait_ready(child, &self.log, log_start, self.addr, &self.zone);
        let why = match outcome {
            Ok(()) => return Ok(()),
            Err(NotReady::Exited(status)) => format!("exited with {status} while starting"),
            Err(NotReady::PortTaken) => format!("could not bind {}", self.addr),
            Err(NotReady::NoAnswer) => format!(
                "did not answer an SOA query for {} within {DEADLINE:?}",
                self.zone
            ),
        };
        self.stop();
        let report = self.report(&why);
        Err(match outcome {
            Err(NotReady::PortTaken) => StartError::PortTaken(report),
            _ => StartError::Failed(report),
        })
    }

    /// Waits until the server serves the zone with a serial of at least
    /// `min` (RFC 1982 serial number arithmetic); returns that serial.
    /// Panics with the server's log after [`DEADLINE`]: it checks that a
    /// change arrives, never how fast.
    pub async fn wait_for_serial(&self, min: u32) -> u32 {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let last = match soa_serial(self.addr, &self.zone, QUERY_TIMEOUT).await {
                Ok(serial) if serial_at_least(serial, min) => return serial,
                Ok(serial) => format!("serial {serial}"),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                panic!(
                    "{} {} at {} did not reach serial {min} within {DEADLINE:?} (last: {last}); log:\n{}",
                    self.kind,
                    self.role,
                    self.addr,
                    self.log()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// A failure report: what happened, the config, the server's own log.
    pub(super) fn report(&self, why: &str) -> String {
        let config = std::fs::read_to_string(&self.config).unwrap_or_default();
        format!(
            "{} {} at {} {why}\n--- {} ---\n{config}\n--- log ({}) ---\n{}",
            self.kind,
            self.role,
            self.addr,
            self.config.display(),
            self.log.display(),
            self.log()
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking()
            && let Some(dir) = self.dir.take()
        {
            eprintln!(
                "{} {} files kept for inspection in {}",
                self.kind,
                self.role,
                dir.keep().display()
            );
        }
    }
}

/// `serial >= min` in RFC 1982 serial number arithmetic (the difference
/// read as a signed 32-bit number).
fn serial_at_least(serial: u32, min: u32) -> bool {
    i32::from_ne_bytes(serial.wrapping_sub(min).to_ne_bytes()) >= 0
}

/// Polls until the server answers for `zone`, exits, or reports that its
/// port is taken. Runs on a thread of its own with its own runtime, so that
/// it works whether or not the caller is inside a tokio runtime (blocking
/// that runtime's thread for the while).
fn wait_ready(
    child: &mut Child,
    log: &Path,
    log_start: u64,
    addr: SocketAddr,
    zone: &Name,
) -> Result<(), NotReady> {
    std::thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("cannot build a tokio runtime: {e}"));
            let deadline = Instant::now() + DEADLINE;
            loop {
                let exited = child.try_wait().ok().flatten();
                if port_taken(log, log_start) {
                    return Err(NotReady::PortTaken);
                }
                if let Some(status) = exited {
                    return Err(NotReady::Exited(status));
                }
                if runtime
                    .block_on(soa_serial(addr, zone, QUERY_TIMEOUT))
                    .is_ok()
                {
                    return Ok(());
                }
                if Instant::now() >= deadline {
                    return Err(NotReady::NoAnswer);
                }
                std::thread::sleep(POLL_INTERVAL);
            }
        });
        waiter
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Whether this run's part of the log says the port is taken. Knot and
/// PowerDNS say "address already in use"; BIND 9.18 says only that it is
/// "unable to listen on any configured interfaces", and exits.
fn port_taken(log: &Path, from: u64) -> bool {
    let Ok(text) = std::fs::read(log) else {
        return false;
    };
    let start = usize::try_from(from).unwrap_or(0).min(text.len());
    let text = String::from_utf8_lossy(&text[start..]).to_ascii_lowercase();
    [
        "address already in use",
        "address in use",
        "unable to listen on any configured interfaces",
    ]
    .iter()
    .any(|sign| text.contains(sign))
}

/// SIGTERM, a grace period, then SIGKILL; always waits, so nothing is left
/// running or unreaped.
fn terminate(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    // std sends only SIGKILL and the workspace forbids unsafe code (so no
    // libc::kill): the shell's `kill` builtin sends SIGTERM. The child is
    // not reaped yet, so its pid cannot have been reused.
    let _ = Command::new("sh")
        .args(["-c", "kill -TERM \"$1\"", "sh", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    let _ = child.kill();
    let _ = child.wait();
}
