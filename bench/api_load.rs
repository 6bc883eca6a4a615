//! API under load and start-up, on a database the size of years of use:
//! 100,000 requests with their transitions and 1,000,000 audit entries (a
//! valid hash chain), on SQLite and on PostgreSQL.
//!
//! `cargo bench --bench api_load [-- --runs K --seconds N --rate R --write docs/benchmarks.md]`
//!
//! The SQLite database is migrated by `dnsdesk` itself, then filled with
//! direct inserts in big transactions (seconds); the PostgreSQL one is a
//! `dnsdesk database copy` of it into a fresh database on the test server
//! (`DNSDESK_TEST_POSTGRES`, as the integration tests), vacuumed and analysed once as
//! autovacuum would soon do. Each run, per database:
//!
//! - start-up: from exec of `dnsdesk serve` to the first `/healthz` 200,
//!   polled every millisecond, three times;
//! - idle RSS: VmRSS of the service two seconds after the last start;
//! - load: `oha` (a second process, loopback) at a fixed rate for N
//!   seconds on each endpoint, latency measured from each request's
//!   intended send time (`--latency-correction`, so a stall is not hidden
//!   by coordinated omission), after a two-second warm-up at the same rate
//!   that is not counted: `GET /api/v1/requests?state=S&per_page=50` (S
//!   drawn among five states, the largest included) as a reviewer's token,
//!   the reviewer queue `GET /review` with a reviewer's session cookie, and
//!   the audit search `GET /api/v1/audit?name=N&per_page=50` (N drawn among
//!   the names) as a network admin's token;
//! - peak RSS: VmHWM of the service after the load.
//!
//! Every figure prints as `<figure>: <value> (target <target>) OK|MISSED`,
//! the value being the median over the runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "report.rs"]
mod report;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use api::audit::{AuditEntry, GENESIS};
use common::Site;
use serde_json::{Value, json};

/// The labels subdomain names are made of (a number follows).
const WORDS: &[&str] = &[
    "ppdb", "sipd", "simpeg", "portal", "ekinerja", "lapor", "data", "siak",
];
/// Agencies in the database.
const AGENCIES: u64 = 60;
/// Requests at the end of the history still with the reviewers.
const OPEN: u64 = 400;
/// The states the requests list is filtered by under load.
const LIST_STATES: &str = "(submitted|revision_requested|active|rejected|failed)";

/// A small deterministic generator (xorshift64*): the same database
/// every run, without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The name of the request numbered `i` (0-based): distinct for any
/// 72,000 consecutive requests, so the open ones never share a name.
fn request_name(i: u64) -> String {
    let word = WORDS[(i % WORDS.len() as u64) as usize];
    format!(
        "{word}{}.kalbarprov.go.id",
        1 + (i / WORDS.len() as u64) % 9000
    )
}

fn hex64(rng: &mut Rng) -> String {
    format!(
        "{:016x}{:016x}{:016x}{:016x}",
        rng.next(),
        rng.next(),
        rng.next(),
        rng.next()
    )
}

/// What an audit entry generated for the history is about.
#[derive(Clone, Copy)]
enum Ev {
    Submitted,
    LetterUploaded,
    /// A state change (`request.<to>`), from and to.
    State(&'static str, &'static str),
    UpdateSent,
    UpdateAnswered,
    Verification,
    Confirmation,
    /// A reviewer or admin signing in.
    Login,
}

/// One generated audit entry before it is numbered and hashed.
struct Event {
    at: i64,
    /// Index of the request (u32::MAX: none).
    req: u32,
    /// The acting user's id (0: dnsdesk itself).
    user: u32,
    ev: Ev,
}

/// What the generated database holds, for the report.
struct Dataset {
    requests: u64,
    transitions: u64,
    audit: u64,
    by_state: Vec<(String, u64)>,
    seconds: f64,
}

/// Fills the migrated, empty SQLite database at `path` with agencies and
/// users, `n` requests spread over five years with their transitions, and
/// `n_audit` audit entries chained from the genesis hash.
fn populate(path: &Path, n: u64, n_audit: u64) -> Dataset {
    let started = Instant::now();
    let mut db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch("PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;")
        .unwrap();
    let end = now_ms() - 2 * 3_600_000;
    let start = end - 5 * 365 * 86_400_000;
    let step = (end - start) / n as i64;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    // Agencies 1..=60 with their PD operators (users 1..=60); reviewers
    // 61..=65 and an admin 66, all from before the history.
    let tx = db.transaction().unwrap();
    for a in 1..=AGENCIES {
        tx.execute(
            "INSERT INTO agencies (id, code, name, email, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                a as i64,
                format!("OPD{a:02}"),
                format!("Perangkat Daerah {a:02}"),
                format!("it@opd{a:02}.kalbarprov.go.id"),
                start - 86_400_000
            ],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO users (id, username, role, agency_id, created_at) VALUES (?1, ?2, 'pd', ?1, ?3)",
            rusqlite::params![a as i64, format!("op-opd{a:02}"), start - 86_400_000],
        )
        .unwrap();
    }
    for r in 1..=5u64 {
        tx.execute(
            "INSERT INTO users (id, username, role, created_at) VALUES (?1, ?2, 'reviewer', ?3)",
            rusqlite::params![
                (AGENCIES + r) as i64,
                format!("reviewer{r}"),
                start - 86_400_000
            ],
        )
        .unwrap();
    }
    tx.execute(
        "INSERT INTO users (id, username, role, created_at) VALUES (?1, 'admin1', 'admin', ?2)",
        rusqlite::params![(AGENCIES + 6) as i64, start - 86_400_000],
    )
    .unwrap();
    tx.commit().unwrap();

    // Requests, their transitions, and the events of their story.
    let mut events: Vec<Event> = Vec::with_capacity(n_audit as usize + 16);
    let mut agency_of: Vec<u16> = Vec::with_capacity(n as usize);
    let mut counters: std::collections::BTreeMap<i32, i64> = Default::default();
    let mut by_state: std::collections::BTreeMap<&'static str, u64> = Default::default();
    let mut transitions = 0u64;
    let tx = db.transaction().unwrap();
    {
        let mut insert_request = tx
            .prepare(
                "INSERT INTO requests (id, reference, agency_id, kind, name, records, previous_records,
                     purpose, letter_number, letter_date, letter_sha256, letter_size, state,
                     state_reason, version, submitted_by, submitted_at, due_at, approved_digest,
                     serial_after, verify_deadline, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18, ?19, ?20, ?21, ?22)",
            )
            .unwrap();
        let mut insert_transition = tx
            .prepare(
                "INSERT INTO request_transitions (request_id, from_state, to_state, actor_id, note, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .unwrap();
        for i in 0..n {
            let id = i as i64 + 1;
            let submitted = start + i as i64 * step + rng.below(step as u64 / 2) as i64;
            // Agencies are not equally busy: a few file most requests.
            let agency = 1 + (AGENCIES as f64 * rng.unit() * rng.unit()) as u64;
            agency_of.push(agency as u16);
            let reviewer = AGENCIES + 1 + rng.below(5);
            let kind = match rng.below(100) {
                0..=79 => "create",
                80..=94 => "change",
                _ => "remove",
            };
            let ip = format!("203.0.113.{}", 1 + rng.below(250));
            let records = if kind == "remove" {
                "[]".to_owned()
            } else {
                json!([{ "type": "A", "value": ip, "ttl": 300 }]).to_string()
            };
            let previous = if kind == "create" {
                "[]".to_owned()
            } else {
                json!([{ "type": "A", "value": "203.0.113.250", "ttl": 300 }]).to_string()
            };
            // The path through the state machine.
            let path: &[&'static str] = if i >= n - OPEN {
                if rng.below(5) == 0 {
                    &["submitted", "revision_requested"]
                } else {
                    &["submitted"]
                }
            } else {
                match rng.below(100) {
                    0..=83 => &[
                        "submitted",
                        "approved",
                        "provisioning",
                        "verifying",
                        "active",
                    ],
                    84..=94 => &["submitted", "rejected"],
                    95..=96 => &["submitted", "approved", "provisioning", "failed"],
                    97 => &["submitted", "approved", "provisioning", "conflict"],
                    _ => &[
                        "submitted",
                        "revision_requested",
                        "submitted",
                        "approved",
                        "provisioning",
                        "verifying",
                        "active",
                    ],
                }
            };
            let state = *path.last().unwrap();
            *by_state.entry(state).or_default() += 1;
            let year = time::OffsetDateTime::from_unix_timestamp(submitted / 1000)
                .unwrap()
                .year();
            let seq = counters.entry(year).or_default();
            *seq += 1;
            let reference = format!("DNS/{year}/{seq:06}");
            let req = i as u32;
            let pd = agency as u32;
            events.push(Event {
                at: submitted,
                req,
                user: pd,
                ev: Ev::Submitted,
            });
            events.push(Event {
                at: submitted + 20_000,
                req,
                user: pd,
                ev: Ev::LetterUploaded,
            });
            // Walk the path: review after hours, provisioning in a second.
            let mut at = submitted;
            let mut times = vec![submitted];
            let mut serial_after = None;
            for pair in path.windows(2) {
                let (from, to) = (pair[0], pair[1]);
                let (actor, delay) = match to {
                    "approved" | "rejected" | "revision_requested" => (
                        reviewer as u32,
                        3_600_000 + rng.below(40 * 3_600_000) as i64,
                    ),
                    "submitted" => (pd, 3_600_000 + rng.below(48 * 3_600_000) as i64),
                    _ => (0, 40 + rng.below(400) as i64),
                };
                at += delay;
                times.push(at);
                events.push(Event {
                    at,
                    req,
                    user: actor,
                    ev: Ev::State(from, to),
                });
                match to {
                    "provisioning" => {
                        events.push(Event {
                            at: at + 1,
                            req,
                            user: 0,
                            ev: Ev::UpdateSent,
                        });
                        events.push(Event {
                            at: at + 5,
                            req,
                            user: 0,
                            ev: Ev::UpdateAnswered,
                        });
                        serial_after = Some(2_021_010_100 + i as i64);
                    }
                    "verifying" => {
                        events.push(Event {
                            at: at + 3,
                            req,
                            user: 0,
                            ev: Ev::Verification,
                        });
                    }
                    "active" => {
                        events.push(Event {
                            at: at + 30,
                            req,
                            user: 0,
                            ev: Ev::Confirmation,
                        });
                    }
                    _ => {}
                }
            }
            let approved = path.contains(&"approved");
            insert_request
                .execute(rusqlite::params![
                    id,
                    reference,
                    agency as i64,
                    kind,
                    request_name(i),
                    records,
                    previous,
                    "Layanan informasi publik perangkat daerah",
                    format!("800/{}/OPD{agency:02}/{year}", 100 + rng.below(900)),
                    time::OffsetDateTime::from_unix_timestamp(submitted / 1000 - 86_400)
                        .unwrap()
                        .date()
                        .to_string(),
                    hex64(&mut rng),
                    30_000 + rng.below(400_000) as i64,
                    state,
                    match state {
                        "failed" => Some("the primary refused the update (REFUSED)"),
                        "conflict" => Some("the name already holds records"),
                        _ => None,
                    },
                    path.len() as i64 + 1,
                    pd,
                    submitted,
                    submitted + 3 * 86_400_000,
                    approved.then(|| hex64(&mut rng)),
                    serial_after,
                    approved.then_some(submitted + 86_400_000),
                    at,
                ])
                .unwrap();
            insert_transition
                .execute(rusqlite::params![
                    id,
                    None::<&str>,
                    "submitted",
                    pd,
                    None::<&str>,
                    submitted
                ])
                .unwrap();
            transitions += 1;
            for (k, pair) in path.windows(2).enumerate() {
                let actor = match pair[1] {
                    "approved" | "rejected" | "revision_requested" => Some(reviewer as i64),
                    "submitted" => Some(i64::from(pd)),
                    _ => None,
                };
                let note = match pair[1] {
                    "approved" => Some("Sesuai"),
                    "rejected" => Some("Surat permintaan tidak ditandatangani kepala PD"),
                    "revision_requested" => Some("Lengkapi tujuan penggunaan"),
                    _ => None,
                };
                insert_transition
                    .execute(rusqlite::params![
                        id,
                        pair[0],
                        pair[1],
                        actor,
                        note,
                        times[k + 1]
                    ])
                    .unwrap();
                transitions += 1;
            }
        }
        let mut insert_counter = tx
            .prepare("INSERT INTO reference_counters (year, last) VALUES (?1, ?2)")
            .unwrap();
        for (year, last) in &counters {
            insert_counter
                .execute(rusqlite::params![year, last])
                .unwrap();
        }
    }
    tx.commit().unwrap();

    // Sign-ins fill the log up to its size; the history is cut to it.
    while (events.len() as u64) < n_audit {
        let at = start + rng.below((end - start) as u64) as i64;
        let user = (AGENCIES + 1 + rng.below(6)) as u32;
        events.push(Event {
            at,
            req: u32::MAX,
            user,
            ev: Ev::Login,
        });
    }
    events.sort_by_key(|e| (e.at, e.req));
    events.truncate(n_audit as usize);

    let usernames: Vec<String> = (0..=AGENCIES + 6)
        .map(|u| match u {
            0 => String::new(),
            u if u <= AGENCIES => format!("op-opd{u:02}"),
            u if u <= AGENCIES + 5 => format!("reviewer{}", u - AGENCIES),
            _ => "admin1".to_owned(),
        })
        .collect();
    let tx = db.transaction().unwrap();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO audit_log (seq, at, action, actor, actor_user_id, agency_id, name,
                     name_rev, request_id, detail, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .unwrap();
        let mut prev = GENESIS.to_owned();
        for (k, e) in events.iter().enumerate() {
            let (action, detail) = match e.ev {
                Ev::Submitted => ("request.submitted".to_owned(), json!({ "kind": "create" })),
                Ev::LetterUploaded => (
                    "request.letter_uploaded".to_owned(),
                    json!({ "size": 48_213, "sha256": format!("{:064x}", e.req) }),
                ),
                Ev::State(from, to) => (format!("request.{to}"), json!({ "from": from, "to": to })),
                Ev::UpdateSent => (
                    "dns.update_sent".to_owned(),
                    json!({ "server": "127.0.0.1:53", "key": "dnsdesk" }),
                ),
                Ev::UpdateAnswered => (
                    "dns.update_answered".to_owned(),
                    json!({ "rcode": "NOERROR", "serial_after": 2_021_010_100u64 + u64::from(e.req) }),
                ),
                Ev::Verification => (
                    "dns.verification".to_owned(),
                    json!({ "server": "127.0.0.1:53", "verdict": "match" }),
                ),
                Ev::Confirmation => (
                    "request.confirmation_issued".to_owned(),
                    json!({ "letter_sha256": format!("{:064x}", u64::from(e.req) * 7) }),
                ),
                Ev::Login => (
                    "auth.login".to_owned(),
                    json!({ "client": format!("10.10.{}.{}", e.user % 250, e.at % 250) }),
                ),
            };
            let (actor, actor_user_id) = if e.user == 0 {
                ("system".to_owned(), None)
            } else {
                (
                    format!("user:{}", usernames[e.user as usize]),
                    Some(i64::from(e.user)),
                )
            };
            let (agency_id, name, request_id) = if e.req == u32::MAX {
                (None, None, None)
            } else {
                (
                    Some(i64::from(agency_of[e.req as usize])),
                    Some(request_name(u64::from(e.req))),
                    Some(i64::from(e.req) + 1),
                )
            };
            let mut entry = AuditEntry {
                seq: k as i64 + 1,
                at: time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(e.at) * 1_000_000)
                    .unwrap(),
                action,
                actor,
                agency_id,
                name,
                request_id,
                detail,
                prev_hash: prev,
                hash: String::new(),
            };
            entry.hash = entry.expected_hash();
            insert
                .execute(rusqlite::params![
                    entry.seq,
                    e.at,
                    entry.action,
                    entry.actor,
                    actor_user_id,
                    entry.agency_id,
                    entry.name,
                    // As the store writes it: the name reversed (names
                    // are lower case), for the search by name.
                    entry
                        .name
                        .as_deref()
                        .map(|n| n.chars().rev().collect::<String>()),
                    entry.request_id,
                    api::audit::canonical_json(&entry.detail),
                    entry.prev_hash,
                    entry.hash,
                ])
                .unwrap();
            prev = entry.hash;
        }
    }
    tx.commit().unwrap();
    db.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    Dataset {
        requests: n,
        transitions,
        audit: events.len() as u64,
        by_state: by_state
            .into_iter()
            .map(|(s, c)| (s.to_owned(), c))
            .collect(),
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// A loopback port free now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The status of `GET /healthz`, or None when nothing answers yet.
fn healthz(addr: SocketAddr) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// A `dnsdesk serve` this runner started and measures.
struct Service {
    child: Child,
    addr: SocketAddr,
    /// Exec to the first `/healthz` 200.
    startup: Duration,
}

impl Service {
    /// Starts the service on `config` and times it to `/healthz` 200.
    fn start(config: &Path, log: &Path) -> Self {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let began = Instant::now();
        let child = Command::new(env!("CARGO_BIN_EXE_dnsdesk"))
            .arg("--config")
            .arg(config)
            .arg("serve")
            .env_remove("DNSDESK_CONFIG")
            .env_remove("RUST_LOG")
            .env("DNSDESK_HTTP_LISTEN", addr.to_string())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut service = Self {
            child,
            addr,
            startup: Duration::ZERO,
        };
        loop {
            if healthz(addr) == Some(200) {
                service.startup = began.elapsed();
                return service;
            }
            if let Ok(Some(status)) = service.child.try_wait() {
                panic!("dnsdesk serve exited with {status}; see its log");
            }
            assert!(
                began.elapsed() < Duration::from_secs(60),
                "no /healthz 200 in 60 s"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// A field of /proc/PID/status in MB (VmRSS, VmHWM).
    fn memory(&self, field: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kb / 1024.0
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The load generator's binary: on PATH, or installed once under
/// target/bench-tools.
fn oha() -> PathBuf {
    if let Ok(out) = Command::new("oha").arg("--version").output()
        && out.status.success()
    {
        return PathBuf::from("oha");
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-tools");
    let bin = root.join("bin/oha");
    if !bin.exists() {
        println!("installing oha into {} (once)", root.display());
        let status = Command::new("cargo")
            .args(["install", "oha", "--locked", "--root"])
            .arg(&root)
            .status()
            .unwrap();
        assert!(status.success(), "cargo install oha failed");
    }
    bin
}

/// What one endpoint did under load.
#[derive(Debug, Clone)]
struct Load {
    p50: f64,
    p99: f64,
    max: f64,
    rate: f64,
    /// Answers other than 200, and requests that failed.
    errors: u64,
    total: u64,
}

/// One endpoint to load: its label, the URL regex oha draws from, and the
/// header that authenticates it.
struct Endpoint {
    label: &'static str,
    url: String,
    header: String,
}

/// `oha` at `rate`/s for `seconds` on `endpoint`; latencies in ms.
fn load(oha: &Path, endpoint: &Endpoint, rate: u32, seconds: u32) -> Load {
    let out = Command::new(oha)
        .args([
            "--no-tui",
            "--output-format",
            "json",
            "--latency-correction",
            // Requests still in flight when the time is up are waited
            // for and counted, not aborted and called errors.
            "--wait-ongoing-requests-after-deadline",
        ])
        .args([
            "-q",
            &rate.to_string(),
            "-z",
            &format!("{seconds}s"),
            "-c",
            "50",
        ])
        .args(["-H", &endpoint.header, "--rand-regex-url", &endpoint.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "oha failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("oha output: {e}: {}", String::from_utf8_lossy(&out.stdout)));
    let ms = |v: &Value| v.as_f64().unwrap_or(f64::NAN) * 1000.0;
    let codes = v["statusCodeDistribution"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let ok = codes.get("200").and_then(Value::as_u64).unwrap_or(0);
    let answered: u64 = codes.values().filter_map(Value::as_u64).sum();
    let failed: u64 = v["errorDistribution"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    if let Some(kinds) = v["errorDistribution"].as_object().filter(|m| !m.is_empty()) {
        println!("  {} errors: {kinds:?}", endpoint.label);
    }
    for (code, n) in codes.iter().filter(|(code, _)| code.as_str() != "200") {
        println!("  {}: {n} answered {code}", endpoint.label);
    }
    Load {
        p50: ms(&v["latencyPercentiles"]["p50"]),
        p99: ms(&v["latencyPercentiles"]["p99"]),
        max: ms(&v["summary"]["slowest"]),
        rate: v["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0),
        errors: answered - ok + failed,
        total: answered + failed,
    }
}

/// Everything one run measured on one database.
struct Run {
    startups: Vec<f64>,
    idle_mb: f64,
    loads: Vec<(&'static str, Load)>,
    peak_mb: f64,
}

/// Signs in `username` through the login form; returns the Cookie header.
async fn session_cookie(addr: SocketAddr, username: &str, password: &str) -> String {
    let mut web = common::web::WebSession::new(&format!("http://{addr}"));
    let answer = web.login(username, password).await;
    assert!(
        answer.status.is_redirection(),
        "sign-in of {username}: {} {}",
        answer.status,
        answer.body
    );
    let cookie = web
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    format!("Cookie: {cookie}")
}

struct Credentials {
    reviewer_token: String,
    netadmin_token: String,
    reviewer_password: String,
}

async fn run_once(
    config: &Path,
    log: &Path,
    oha: &Path,
    creds: &Credentials,
    rate: u32,
    seconds: u32,
) -> Run {
    let mut startups = Vec::new();
    for _ in 0..2 {
        let service = Service::start(config, log);
        startups.push(service.startup.as_secs_f64() * 1000.0);
    }
    let service = Service::start(config, log);
    startups.push(service.startup.as_secs_f64() * 1000.0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_mb = service.memory("VmRSS");
    let base = format!("http://{}", service.addr);
    let cookie = session_cookie(service.addr, "bench-reviewer", &creds.reviewer_password).await;
    let names = format!(
        r"({})[1-8][0-9]{{0,3}}\.kalbarprov\.go\.id",
        WORDS.join("|")
    );
    let endpoints = [
        Endpoint {
            label: "GET /api/v1/requests?state=S&per_page=50",
            url: format!(r"{base}/api/v1/requests\?state={LIST_STATES}&per_page=50"),
            header: format!("Authorization: Bearer {}", creds.reviewer_token),
        },
        Endpoint {
            label: "GET /review (reviewer queue)",
            url: format!("{base}/review"),
            header: cookie,
        },
        Endpoint {
            label: "GET /api/v1/audit?name=N&per_page=50",
            url: format!(r"{base}/api/v1/audit\?name={names}&per_page=50"),
            header: format!("Authorization: Bearer {}", creds.netadmin_token),
        },
    ];
    let mut loads = Vec::new();
    for endpoint in &endpoints {
        let _warm_up = load(oha, endpoint, rate, 2);
        let measured = load(oha, endpoint, rate, seconds);
        println!(
            "  {}: p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, {:.0}/s, {} errors of {}",
            endpoint.label,
            measured.p50,
            measured.p99,
            measured.max,
            measured.rate,
            measured.errors,
            measured.total
        );
        loads.push((endpoint.label, measured));
    }
    let peak_mb = service.memory("VmHWM");
    Run {
        startups,
        idle_mb,
        loads,
        peak_mb,
    }
}

/// Median, smallest and largest of `values`.
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    (s[s.len() / 2], s[0], s[s.len() - 1])
}

/// One figure over the runs, beside its target.
struct Figure {
    name: String,
    value: f64,
    lo: f64,
    hi: f64,
    unit: &'static str,
    target: f64,
    /// Extra words after the value (p50, max, errors).
    note: String,
    ok: bool,
}

impl Figure {
    fn line(&self) -> String {
        format!(
            "{}: {:.1} {} (target ≤ {} {}){} {}",
            self.name,
            self.value,
            self.unit,
            self.target,
            self.unit,
            self.note,
            if self.ok { "OK" } else { "MISSED" }
        )
    }
}

/// A figure whose median over `values` must be at most `target`.
fn at_most(name: String, values: &[f64], unit: &'static str, target: f64) -> Figure {
    let (value, lo, hi) = spread(values);
    Figure {
        name,
        value,
        lo,
        hi,
        unit,
        target,
        note: String::new(),
        ok: value <= target,
    }
}

fn figures(db: &str, runs: &[Run]) -> Vec<Figure> {
    let mut out = Vec::new();
    let all_startups: Vec<f64> = runs.iter().flat_map(|r| r.startups.clone()).collect();
    out.push(at_most(
        format!("{db} start-up, exec → /healthz 200"),
        &all_startups,
        "ms",
        300.0,
    ));
    let idle: Vec<f64> = runs.iter().map(|r| r.idle_mb).collect();
    out.push(at_most(format!("{db} idle RSS"), &idle, "MB", 40.0));
    for (k, (label, _)) in runs[0].loads.iter().enumerate() {
        let p99: Vec<f64> = runs.iter().map(|r| r.loads[k].1.p99).collect();
        let p50 = spread(&runs.iter().map(|r| r.loads[k].1.p50).collect::<Vec<_>>()).0;
        let max = spread(&runs.iter().map(|r| r.loads[k].1.max).collect::<Vec<_>>()).0;
        let errors: u64 = runs.iter().map(|r| r.loads[k].1.errors).sum();
        let rate = spread(&runs.iter().map(|r| r.loads[k].1.rate).collect::<Vec<_>>()).0;
        let (v, lo, hi) = spread(&p99);
        out.push(Figure {
            name: format!("{db} {label}, p99"),
            value: v,
            lo,
            hi,
            unit: "ms",
            target: 10.0,
            note: format!(" [p50 {p50:.2} ms, max {max:.1} ms, {rate:.0}/s, {errors} errors]"),
            ok: v <= 10.0 && errors == 0,
        });
    }
    let peak: Vec<f64> = runs.iter().map(|r| r.peak_mb).collect();
    out.push(at_most(
        format!("{db} peak RSS under load"),
        &peak,
        "MB",
        100.0,
    ));
    out
}

/// The config file of one database.
fn write_config(path: &Path, data_dir: &Path, database_url: Option<&str>) {
    let zone_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/kalbarprov.go.id.zone");
    let database = database_url
        .map(|u| format!("database_url = {u:?}\n"))
        .unwrap_or_default();
    std::fs::write(
        path,
        format!(
            "data_dir = {:?}\n{database}\n[embedded_dns]\nlisten = \"127.0.0.1:0\"\nzone_file = {:?}\n",
            data_dir.display().to_string(),
            zone_file.display().to_string()
        ),
    )
    .unwrap();
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut runs, mut seconds, mut rate) = (3usize, 10u32, 1000u32);
    let (mut n, mut n_audit) = (100_000u64, 1_000_000u64);
    let mut write: Option<PathBuf> = None;
    let mut sqlite_only = false;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| panic!("{name} needs a value"))
        };
        match arg.as_str() {
            "--runs" => runs = value("--runs").parse().expect("--runs K"),
            "--seconds" => seconds = value("--seconds").parse().expect("--seconds N"),
            "--rate" => rate = value("--rate").parse().expect("--rate R"),
            "--requests" => n = value("--requests").parse().expect("--requests N"),
            "--audit" => n_audit = value("--audit").parse().expect("--audit N"),
            "--write" => write = Some(PathBuf::from(value("--write"))),
            "--sqlite-only" => sqlite_only = true,
            // cargo bench passes --bench; nothing else is ours.
            _ => {}
        }
    }
    let oha = oha();

    // The SQLite database: migrated by dnsdesk, filled directly, then the
    // users the load runs as, added by dnsdesk after the history.
    let site = Site::new();
    let config = site.dir.path().join("sqlite.toml");
    let log = site.dir.path().join("dnsdesk.log");
    std::fs::create_dir_all(site.data_dir()).unwrap();
    write_config(&config, &site.data_dir(), None);
    let dnsdesk = |config: &Path, args: &[&str], stdin: Option<&str>| -> String {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dnsdesk"))
            .arg("--config")
            .arg(config)
            .args(args)
            .env_remove("DNSDESK_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "dnsdesk {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    dnsdesk(&config, &["audit", "verify"], None);
    let db_path = site.data_dir().join("dnsdesk.db");
    let dataset = populate(&db_path, n, n_audit);
    println!(
        "database: {} requests, {} transitions, {} audit entries in {:.1} s; states {:?}",
        dataset.requests, dataset.transitions, dataset.audit, dataset.seconds, dataset.by_state
    );
    let password = "bench-password-7d1f";
    dnsdesk(
        &config,
        &[
            "user",
            "add",
            "--username",
            "bench-reviewer",
            "--role",
            "reviewer",
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    );
    let token = |user: &str| {
        let out = dnsdesk(&config, &["token", "create", "--username", user], None);
        out.lines().last().unwrap().trim().to_owned()
    };
    let reviewer_token = token("bench-reviewer");
    dnsdesk(
        &config,
        &[
            "user",
            "add",
            "--username",
            "bench-netadmin",
            "--role",
            "netadmin",
        ],
        None,
    );
    let creds = Credentials {
        reviewer_token,
        netadmin_token: token("bench-netadmin"),
        reviewer_password: password.to_owned(),
    };
    let verify_started = Instant::now();
    let verified = dnsdesk(&config, &["audit", "verify"], None);
    println!(
        "audit verify ({:.1} s): {}",
        verify_started.elapsed().as_secs_f64(),
        verified.lines().last().unwrap_or_default()
    );

    // PostgreSQL: a copy of the same database, made by dnsdesk.
    let postgres = if sqlite_only {
        None
    } else {
        common::postgres::fresh_database("api_load")
    };
    let pg_config = site.dir.path().join("postgres.toml");
    if let Some(db) = &postgres {
        let copied = Instant::now();
        dnsdesk(&config, &["database", "copy", "--to", &db.url()], None);
        // As autovacuum leaves a table that has stopped changing: analysed,
        // and its visibility map set (index-only scans need it).
        db.execute("VACUUM ANALYZE").unwrap();
        println!(
            "copied into PostgreSQL in {:.1} s",
            copied.elapsed().as_secs_f64()
        );
        write_config(&pg_config, &site.data_dir(), Some(&db.url()));
    }

    let mut results: Vec<(&str, Vec<Run>)> = vec![("SQLite", Vec::new())];
    if postgres.is_some() {
        results.push(("PostgreSQL", Vec::new()));
    }
    for run in 0..runs {
        for (db, done) in results.iter_mut() {
            println!("run {}/{runs}, {db}", run + 1);
            let config = if *db == "SQLite" { &config } else { &pg_config };
            done.push(run_once(config, &log, &oha, &creds, rate, seconds).await);
        }
    }

    let mut lines = Vec::new();
    for (db, done) in &results {
        for figure in figures(db, done) {
            println!("{}", figure.line());
            lines.push(figure);
        }
    }

    if let Some(path) = write {
        let sqlite_version: String = rusqlite::Connection::open_in_memory()
            .unwrap()
            .query_row("SELECT sqlite_version()", [], |r| r.get(0))
            .unwrap();
        let pg_version = postgres
            .as_ref()
            .and_then(|db| db.column("SHOW server_version").into_iter().next())
            .unwrap_or_else(|| "not run".to_owned());
        let oha_version = report::first_line(&oha.display().to_string(), &["--version"]);
        let command = format!(
            "cargo bench --bench api_load -- --runs {runs} --seconds {seconds} --write docs/benchmarks.md"
        );
        let mut text = format!(
            "- Machine: {machine}\n\
             - dnsdesk {version} (release build); SQLite {sqlite_version} (WAL, synchronous=FULL); \
             PostgreSQL {pg_version} on loopback; load generator {oha_version}\n\
             - Command: `{command}`\n\
             - Database: {requests} requests over five years ({states}), {transitions} transitions, \
             {audit} audit entries (a valid chain: `dnsdesk audit verify` passes), 60 agencies; \
             PostgreSQL holds a `dnsdesk database copy` of it, vacuumed and analysed.\n\
             - Load: {rate} requests/s for {seconds} s per endpoint (after a 2 s warm-up not counted), \
             50 connections, latency from each request's intended send time; start-up three times per run.\n\n\
             Each figure: the median over {runs} runs, and their range.\n\n\
             | figure | value | range | target | |\n| --- | --- | --- | --- | --- |\n",
            machine = report::machine(),
            version = env!("CARGO_PKG_VERSION"),
            requests = dataset.requests,
            states = dataset
                .by_state
                .iter()
                .map(|(s, c)| format!("{c} {s}"))
                .collect::<Vec<_>>()
                .join(", "),
            transitions = dataset.transitions,
            audit = dataset.audit,
        );
        for f in &lines {
            text.push_str(&format!(
                "| {}{} | {:.1} {} | {:.1}–{:.1} | ≤ {} {} | {} |\n",
                f.name,
                f.note,
                f.value,
                f.unit,
                f.lo,
                f.hi,
                f.target,
                f.unit,
                if f.ok { "OK" } else { "MISSED" }
            ));
        }
        text.push('\n');
        report::write_section(&path, "api_load", &text);
        println!("written to {}", path.display());
    }
}
