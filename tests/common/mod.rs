//! Harness for testing the `dnsdesk` binary from outside: start it on
//! loopback with port 0 in a temporary data directory, wait for its ready
//! line, drive it over HTTP and DNS, kill it (gracefully or with SIGKILL).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hickory_proto::rr::{Name, RecordType};
use provisioner::client::{QueryAnswer, query};
use provisioner::plan::{UpdatePlan, ZoneSlice};
use provisioner::record::{RecordInput, RecordPolicy};
use provisioner::tsig::TsigKey;
use serde_json::{Value, json};

/// How long anything in a test may take before it counts as hung.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The audit actions of a create request from filing to `active` and the
/// PD told, in order, against one authoritative server.
pub const CREATE_STORY: [&str; 10] = [
    "request.submitted",
    "request.letter_uploaded",
    "request.approved",
    "request.provisioning",
    "dns.update_sent",
    "dns.update_answered",
    "request.verifying",
    "dns.verification",
    "request.active",
    "request.confirmation_issued",
];

pub mod postgres;
pub mod web;

#[allow(unused_imports)] // not every test binary runs the service
pub(crate) use postgres::on_both_databases;
use postgres::{Db, TestDatabase};

/// A minimal valid PDF.
pub const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n";

/// A data directory and the configuration the binary runs with.
#[derive(Debug)]
pub struct Site {
    pub dir: tempfile::TempDir,
    /// Extra TOML appended to the generated config file.
    pub extra_config: String,
    /// The test's own PostgreSQL database, when the test runs on
    /// PostgreSQL (see [`on_both_databases!`]); SQLite otherwise.
    pub postgres: Option<TestDatabase>,
}

impl Site {
    /// A site on the current test's database: SQLite, or a fresh
    /// PostgreSQL database inside [`on_both_databases!`]'s PostgreSQL run.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            extra_config: String::new(),
            postgres: (postgres::current() == Db::Postgres).then(TestDatabase::create),
        }
    }

    /// The `database_url` line of the config file (none for SQLite's
    /// default file in the data directory).
    fn database_line(&self) -> String {
        match &self.postgres {
            Some(db) => format!("database_url = {:?}\n", db.url()),
            None => String::new(),
        }
    }

    /// The first column of `sql`'s rows, read as someone with the
    /// database (the file, or a PostgreSQL login) would; NULL as "".
    pub fn column(&self, sql: &str) -> Vec<String> {
        if let Some(db) = &self.postgres {
            return db.column(sql);
        }
        let db = rusqlite::Connection::open(self.data_dir().join("dnsdesk.db")).unwrap();
        let mut statement = db.prepare(sql).unwrap();
        let mut rows = statement.query([]).unwrap();
        let mut out = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            let value: rusqlite::types::Value = row.get(0).unwrap();
            out.push(match value {
                rusqlite::types::Value::Null => String::new(),
                rusqlite::types::Value::Integer(v) => v.to_string(),
                rusqlite::types::Value::Real(v) => v.to_string(),
                rusqlite::types::Value::Text(v) => v,
                rusqlite::types::Value::Blob(v) => String::from_utf8_lossy(&v).into_owned(),
            });
        }
        out
    }

    /// Runs `sql` (statements without parameters, in SQL both databases
    /// read) against the database, as someone with access to it would.
    pub fn execute(&self, sql: &str) -> Result<(), String> {
        if let Some(db) = &self.postgres {
            return db.execute(sql);
        }
        let db = rusqlite::Connection::open(self.data_dir().join("dnsdesk.db")).unwrap();
        db.execute_batch(sql).map_err(|e| e.to_string())
    }

    /// Runs `sql` after taking away the guards dnsdesk's schema puts on
    /// the audit log (its triggers), as someone with full access to the
    /// database can: what the hash chain and the checkpoints must catch.
    pub fn tamper(&self, sql: &str) {
        let unguard = if self.postgres.is_some() {
            "ALTER TABLE audit_log DISABLE TRIGGER USER;"
        } else {
            "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;"
        };
        self.execute(&format!("{unguard} {sql}")).unwrap();
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("dnsdesk.toml")
    }

    /// Writes the config file: loopback, port 0, short DNS timeouts, plus
    /// `extra` (which may override the sections it names).
    pub fn write_config(&self, extra: &str) {
        let zone_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/kalbarprov.go.id.zone");
        let text = format!(
            "data_dir = {data:?}\n{database}{extra}\n",
            data = self.data_dir().display().to_string(),
            database = self.database_line(),
        );
        let text = if extra.contains("[embedded_dns]") {
            text
        } else {
            format!(
                "{text}\n[embedded_dns]\nlisten = \"127.0.0.1:0\"\nzone_file = {zf:?}\n",
                zf = zone_file.display().to_string()
            )
        };
        let text = if extra.contains("[provisioning]") {
            text
        } else {
            format!(
                "{text}\n[provisioning]\ndns_timeout_secs = 1\nverify_deadline_secs = 60\nmax_backoff_secs = 1\nlease_secs = 4\n"
            )
        };
        std::fs::write(self.config_path(), text).unwrap();
    }

    /// Runs the embedded server on the fixed address `embedded` (so a
    /// restarted instance serves there again), sends updates to `primary`
    /// and verifies `authoritative` (default: the primary).
    pub fn pin_dns(&self, embedded: SocketAddr, primary: SocketAddr, authoritative: &[SocketAddr]) {
        let zone_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/kalbarprov.go.id.zone");
        let servers: Vec<String> = authoritative.iter().map(|a| format!("\"{a}\"")).collect();
        let authoritative = if servers.is_empty() {
            String::new()
        } else {
            format!("authoritative = [{}]\n", servers.join(", "))
        };
        self.write_config(&format!(
            "[zone]\nprimary = \"{primary}\"\n{authoritative}\n[embedded_dns]\nlisten = \"{embedded}\"\nzone_file = {zf:?}\n",
            zf = zone_file.display().to_string()
        ));
    }

    /// Runs a CLI command against this site's database, whatever its exit.
    pub fn cli_output(&self, args: &[&str]) -> std::process::Output {
        self.cli_output_env(args, &[])
    }

    /// [`cli_output`](Self::cli_output) with extra environment variables
    /// (which override the config file).
    pub fn cli_output_env(&self, args: &[&str], env: &[(&str, String)]) -> std::process::Output {
        self.command(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap()
    }

    /// `dnsdesk --config <this site's file> args…`, the file written first
    /// if it is not there yet.
    fn command(&self, args: &[&str]) -> Command {
        if !self.config_path().exists() {
            self.write_config("");
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_dnsdesk"));
        command
            .arg("--config")
            .arg(self.config_path())
            .args(args)
            .env_remove("DNSDESK_CONFIG");
        command
    }

    /// Runs a CLI command against this site's database; returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = self.cli_output(args);
        assert!(
            out.status.success(),
            "dnsdesk {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Adds an agency and a PD user for it; returns the user's token.
    pub fn pd(&self, code: &str) -> String {
        let lower = code.to_ascii_lowercase();
        self.cli(&[
            "agency",
            "add",
            "--code",
            code,
            "--name",
            &format!("Dinas {code}"),
            "--email",
            &format!("it@{lower}.kalbarprov.go.id"),
        ]);
        self.cli(&[
            "user",
            "add",
            "--username",
            &format!("op-{lower}"),
            "--role",
            "pd",
            "--agency",
            code,
        ]);
        self.token(&format!("op-{lower}"))
    }

    /// Adds a staff user with `role`; returns its token.
    pub fn staff(&self, username: &str, role: &str) -> String {
        self.cli(&["user", "add", "--username", username, "--role", role]);
        self.token(username)
    }

    fn token(&self, username: &str) -> String {
        let out = self.cli(&["token", "create", "--username", username]);
        out.lines().last().unwrap().trim().to_owned()
    }

    /// Runs a CLI command with `stdin` piped in; returns its output.
    pub fn cli_stdin(&self, args: &[&str], stdin: &str) -> std::process::Output {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Adds a user who signs in to the web UI with `password`; a PD user
    /// names its agency (added first, if new).
    pub fn web_user(&self, username: &str, role: &str, agency: Option<&str>, password: &str) {
        let mut args = vec!["user", "add", "--username", username, "--role", role];
        if let Some(code) = agency {
            let listed = self.cli_output(&[
                "agency",
                "add",
                "--code",
                code,
                "--name",
                &format!("Dinas {code}"),
                "--email",
                &format!("it@{}.kalbarprov.go.id", code.to_ascii_lowercase()),
            ]);
            // A second user of the same agency finds it there already.
            let _ = listed;
            args.extend(["--agency", code]);
        }
        args.push("--password-stdin");
        let out = self.cli_stdin(&args, &format!("{password}\n"));
        assert!(
            out.status.success(),
            "user add {username}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts `dnsdesk serve` and waits for its ready line.
    pub fn start(&self) -> Instance {
        self.start_with_env(&[])
    }

    /// Starts `dnsdesk serve` with extra environment variables (which
    /// override the config file) and waits for its ready line.
    pub fn start_with_env(&self, env: &[(&str, String)]) -> Instance {
        let mut child = self
            .command(&["serve"])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("DNSDESK_HTTP_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log_path = self.dir.path().join("dnsdesk.log");
        std::thread::spawn(move || {
            let mut log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log_path)
                .unwrap();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                use std::io::Write;
                let _ = writeln!(log, "{line}");
            }
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("dnsdesk ready") {
                    let _ = tx.send(line);
                }
            }
        });
        let line = match rx.recv_timeout(DEADLINE) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("dnsdesk did not become ready; log:\n{}", self.log());
            }
        };
        let field = |key: &str| -> Option<String> {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .map(|v| v.trim_start_matches("http://").to_owned())
        };
        let http: SocketAddr = field("http=").unwrap().parse().unwrap();
        let dns: Option<SocketAddr> = field("dns=").map(|d| d.parse().unwrap());
        Instance {
            child,
            http,
            dns,
            id: field("instance=").unwrap(),
            client: reqwest::Client::new(),
        }
    }

    /// What the service logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dnsdesk.log")).unwrap_or_default()
    }

    /// The `.eml` files written to the outbox.
    pub fn outbox(&self) -> Vec<String> {
        let dir = self.data_dir().join("outbox");
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut mails: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect();
        mails.sort();
        mails
    }
}

/// A running `dnsdesk serve`.
#[derive(Debug)]
pub struct Instance {
    child: Child,
    pub http: SocketAddr,
    pub dns: Option<SocketAddr>,
    /// Its instance id (`jobs.lease_holder`), from its ready line.
    pub id: String,
    pub client: reqwest::Client,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer: status and JSON body (Null when not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The `error.field` of an error body.
    pub fn field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }

    /// The `error.code` of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl Instance {
    /// SIGSTOP: the process stops where it is, holding what it holds,
    /// until it is killed.
    pub fn freeze(&self) {
        let status = Command::new("kill")
            .args(["-STOP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGCONT: undoes [`freeze`](Self::freeze).
    pub fn thaw(&self) {
        let status = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.client.request(method.parse().unwrap(), self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call("POST", path, Some(token), Some(body)).await
    }

    pub async fn put_letter(
        &self,
        id: i64,
        token: &str,
        bytes: &[u8],
        content_type: &str,
    ) -> Answer {
        let resp = self
            .client
            .put(self.url(&format!("/api/v1/requests/{id}/letter")))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// Files a request with one A record and its letter; returns its id.
    pub async fn file(&self, token: &str, name: &str, records: Value) -> i64 {
        let created = self
            .post(
                "/api/v1/requests",
                token,
                json!({
                    "name": name,
                    "records": records,
                    "purpose": "Portal layanan publik",
                    "letter_number": "800/123/DISDIK/2026",
                    "letter_date": "2026-01-05",
                }),
            )
            .await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        let id = created.body["id"].as_i64().unwrap();
        let with_letter = self.put_letter(id, token, PDF, "application/pdf").await;
        assert_eq!(with_letter.status, 200, "{:?}", with_letter.body);
        id
    }

    /// Approves a request as `token` with no note or digest; it must go
    /// through.
    pub async fn approve(&self, id: i64, token: &str) {
        let got = self
            .post(&format!("/api/v1/requests/{id}/approve"), token, json!({}))
            .await;
        assert_eq!(got.status, 200, "approve {id}: {:?}", got.body);
    }

    /// Files a request for `name` with its letter, approves it and waits
    /// until it is active and its confirmation issued; returns its detail.
    pub async fn provision(&self, pd: &str, reviewer: &str, name: &str, records: Value) -> Value {
        let id = self.file(pd, name, records).await;
        self.approve(id, reviewer).await;
        self.wait_for_state(id, pd, "active").await;
        self.wait_until_confirmed(id, pd).await
    }

    /// Waits until the active request's confirmation letter is issued (the
    /// job's last step, just after `active`); returns its detail.
    pub async fn wait_until_confirmed(&self, id: i64, token: &str) -> Value {
        poll(
            || async {
                let got = self.get(&format!("/api/v1/requests/{id}"), token).await;
                assert_eq!(got.status, 200, "{:?}", got.body);
                assert_eq!(got.body["state"], "active", "{:#}", got.body);
                got.body
            },
            |body| !body["confirmation"].is_null(),
        )
        .await
    }

    /// The audit entries about `name` and the names below it, oldest
    /// first, as `token` (a network admin) reads them.
    pub async fn audit_story(&self, token: &str, name: &str) -> Vec<Value> {
        let page = self
            .get(&format!("/api/v1/audit?name={name}&per_page=500"), token)
            .await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        let mut items = page.body["items"].as_array().unwrap().clone();
        items.reverse();
        items
    }

    /// Polls a request until it reaches `state` (panics on another final
    /// state or after the deadline); returns its detail.
    pub async fn wait_for_state(&self, id: i64, token: &str, state: &str) -> Value {
        let start = Instant::now();
        loop {
            let got = self.get(&format!("/api/v1/requests/{id}"), token).await;
            assert_eq!(got.status, 200, "{:?}", got.body);
            let now = got.body["state"].as_str().unwrap().to_owned();
            if now == state {
                return got.body;
            }
            let settled = ["active", "rejected", "conflict", "failed"].contains(&now.as_str());
            assert!(
                !settled && start.elapsed() < DEADLINE,
                "request {id} is {now}, waited for {state}: {:#}",
                got.body
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The UPDATE that adds `ip` as the A record (TTL 300) of the new name
/// `name` in kalbarprov.go.id, its absence required first.
pub fn add_a_update(name: &str, ip: &str) -> hickory_proto::op::Message {
    let zone = Name::from_ascii("kalbarprov.go.id.").unwrap();
    let owner = Name::from_ascii(format!("{}.", name.trim_end_matches('.'))).unwrap();
    let specs = RecordPolicy::default()
        .parse_records(
            &owner,
            &[RecordInput {
                rtype: "A".into(),
                value: ip.into(),
                ttl: Some(300),
                glue: vec![],
            }],
        )
        .unwrap();
    UpdatePlan::between(
        &zone,
        &ZoneSlice::default(),
        &ZoneSlice::from_specs(&owner, &specs),
    )
    .to_message()
}

/// Writes `ip` as the A record of `name` straight into the zone at
/// `server`, signed with `key`, as an admin with nsupdate would, behind
/// dnsdesk's back.
pub async fn out_of_band_a(server: SocketAddr, key: &TsigKey, name: &str, ip: &str) {
    provisioner::client::send_update(server, key, add_a_update(name, ip), Duration::from_secs(2))
        .await
        .unwrap();
}

/// Asks `server` for `name`/`rtype` (RD=0) and returns the answer.
pub async fn dig(server: SocketAddr, name: &str, rtype: RecordType) -> QueryAnswer {
    let name = Name::from_ascii(format!("{}.", name.trim_end_matches('.'))).unwrap();
    query(server, &name, rtype, Duration::from_secs(2))
        .await
        .unwrap()
}

/// The rdata of every answer record, as text.
pub fn rdata(answer: &QueryAnswer) -> Vec<String> {
    let mut out: Vec<String> = answer.answers.iter().map(|r| r.data.to_string()).collect();
    out.sort();
    out
}

/// A UDP+TCP port on loopback where nothing answers (bound, never read:
/// queries time out, TCP connects are refused once the listener drops).
pub fn dead_port() -> SocketAddr {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    drop(socket);
    addr
}

/// A loopback port free for both UDP and TCP now, for an embedded server
/// that must come back on the same address after a restart.
pub fn free_port() -> SocketAddr {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = udp.local_addr().unwrap();
        if std::net::TcpListener::bind(addr).is_ok() {
            return addr;
        }
    }
}

/// Calls `probe` every 50 ms until `done` holds for what it returns;
/// panics with the last value after [`DEADLINE`].
pub async fn poll<T, F, Fut>(mut probe: F, done: impl Fn(&T) -> bool) -> T
where
    T: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let start = Instant::now();
    loop {
        let value = probe().await;
        if done(&value) {
            return value;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "still {value:?} after {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
