//! Click-to-active: how long a reviewer's approval takes to become
//! `active` with every authoritative server verified, against the floor a
//! bare client needs for the same change to be visible on the last server.
//!
//! `cargo bench --bench click_to_active [-- --requests N --runs K --write docs/benchmarks.md]`
//!
//! Two setups, each in the same run as its floor:
//! - the embedded server (dnsdesk's default);
//! - a BIND 9 primary with one BIND secondary, configured as
//!   docs/deploy-bind.md recommends (started by the test harness).
//!
//! dnsdesk's figure for one request runs from the moment the approve call
//! returns (measured by this runner) to the `active` transition (stored by
//! dnsdesk in milliseconds, same clock). The floor runs from sending a
//! signed UPDATE with dnsdesk's own client to the first RD=0 answer that
//! shows the record on the last server, polled without pause. Requests run
//! one after the other, so neither figure includes queueing. Each run
//! starts fresh (data directory, servers); the report gives, per setup,
//! the median over the runs of each run's median, and the spread of those
//! run medians.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "report.rs"]
mod report;
#[path = "../tests/servers/mod.rs"]
mod servers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Instance, Site};
use hickory_proto::rr::{Name, RecordType};
use provisioner::tsig::TsigKey;
use serde_json::json;
use servers::{Kind, ZoneSetup};

/// Milliseconds since the epoch, with sub-millisecond precision.
fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

/// Median, 10th and 90th percentile, min and max of `samples` (ms).
#[derive(Debug, Clone, Copy)]
struct Summary {
    median: f64,
    p10: f64,
    p90: f64,
    min: f64,
    max: f64,
}

fn summarise(samples: &[f64]) -> Summary {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    Summary {
        median: at(0.5),
        p10: at(0.1),
        p90: at(0.9),
        min: s[0],
        max: s[s.len() - 1],
    }
}

/// Files and approves `n` requests one at a time; returns each one's
/// approve-return-to-active time in ms.
async fn click_to_active(
    dns: &Instance,
    pd: &str,
    reviewer: &str,
    prefix: &str,
    n: usize,
) -> Vec<f64> {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("{prefix}{i}.kalbarprov.go.id");
        let ip = format!("203.0.113.{}", 1 + i % 250);
        let id = dns
            .file(pd, &name, json!([{ "type": "A", "value": ip, "ttl": 300 }]))
            .await;
        dns.approve(id, reviewer).await;
        let returned = now_ms();
        let active = dns.wait_for_state(id, pd, "active").await;
        let at = active["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["to"] == "active")
            .unwrap()["at"]
            .as_str()
            .unwrap()
            .to_owned();
        let at = time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339)
            .unwrap();
        let active_ms = at.unix_timestamp_nanos() as f64 / 1e6;
        // The stored time is truncated to the millisecond: add half of one.
        samples.push((active_ms + 0.5 - returned).max(0.0));
    }
    samples
}

/// A bare client: signed UPDATE to `primary`, then RD=0 queries to `last`
/// until the record shows; returns each change's time in ms.
async fn floor(
    primary: SocketAddr,
    last: SocketAddr,
    key: &TsigKey,
    prefix: &str,
    n: usize,
) -> Vec<f64> {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let owner = Name::from_ascii(format!("{prefix}{i}.kalbarprov.go.id.")).unwrap();
        let update = common::add_a_update(&owner.to_ascii(), &format!("203.0.113.{}", 1 + i % 250));
        let start = Instant::now();
        provisioner::client::send_update(primary, key, update, Duration::from_secs(2))
            .await
            .unwrap();
        loop {
            let answer =
                provisioner::client::query(last, &owner, RecordType::A, Duration::from_secs(2))
                    .await
                    .unwrap();
            if !answer.answers.is_empty() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{owner} never showed on {last}"
            );
        }
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    samples
}

struct Row {
    setup: &'static str,
    floor: Summary,
    dnsdesk: Summary,
}

async fn embedded(n: usize) -> Row {
    let site = Site::new();
    site.write_config(
        "[provisioning]\ndns_timeout_secs = 2\nverify_deadline_secs = 60\nmax_backoff_secs = 1\nlease_secs = 30\n",
    );
    let pd = site.pd("DISKOMINFO");
    let reviewer = site.staff("reviewer1", "reviewer");
    let dns = site.start();
    let server = dns.dns.unwrap();
    let key = TsigKey::read_file(site.data_dir().join("dnsdesk.key")).unwrap();
    let floor = floor(server, server, &key, "raw", n).await;
    let ours = click_to_active(&dns, &pd, &reviewer, "app", n).await;
    Row {
        setup: "embedded server",
        floor: summarise(&floor),
        dnsdesk: summarise(&ours),
    }
}

async fn bind(n: usize) -> Option<Row> {
    if !servers::require_deployment(Kind::Bind, 1) {
        return None;
    }
    let setup = ZoneSetup::kalbarprov(&[]);
    let deployment = servers::deploy(Kind::Bind, &setup, 1);
    let primary = deployment.primary.addr();
    let secondary = deployment.secondaries[0].addr();
    let site = Site::new();
    site.write_config(
        "[provisioning]\ndns_timeout_secs = 2\nverify_deadline_secs = 60\nmax_backoff_secs = 1\nlease_secs = 30\n",
    );
    let key_file = site.dir.path().join("update.key");
    std::fs::write(&key_file, setup.update_key.to_bind_key_file()).unwrap();
    let xfr_file = site.dir.path().join("transfer.key");
    std::fs::write(&xfr_file, setup.transfer_key.to_bind_key_file()).unwrap();
    let pd = site.pd("DISKOMINFO");
    let reviewer = site.staff("reviewer1", "reviewer");
    let dns = site.start_with_env(&[
        ("DNSDESK_EMBEDDED_DNS", "false".to_owned()),
        ("DNSDESK_PRIMARY", primary.to_string()),
        ("DNSDESK_AUTHORITATIVE", format!("{primary},{secondary}")),
        ("DNSDESK_TSIG_KEY_FILE", key_file.display().to_string()),
        ("DNSDESK_TRANSFER_KEY_FILE", xfr_file.display().to_string()),
    ]);
    let floor = floor(primary, secondary, &setup.update_key, "raw", n).await;
    let ours = click_to_active(&dns, &pd, &reviewer, "app", n).await;
    Some(Row {
        setup: "BIND 9 primary + BIND secondary",
        floor: summarise(&floor),
        dnsdesk: summarise(&ours),
    })
}

/// The median of `values`, and their smallest and largest.
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let s = summarise(values);
    (s.median, s.min, s.max)
}

fn report(setups: &[Vec<Row>], n: usize, runs: usize) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "### Click-to-active ({n} requests per run, one at a time; {runs} runs per setup)\n\n\
         Each cell: the median over the runs of each run's median (the spread of the run medians in brackets); \
         then one run's requests in detail.\n\n\
         | setup | floor: bare client, update → visible on the last server | dnsdesk: approve returns → active, every server verified | ratio of medians |\n\
         | --- | --- | --- | --- |\n"
    ));
    for rows in setups {
        let Some(first) = rows.first() else {
            continue;
        };
        let floor: Vec<f64> = rows.iter().map(|r| r.floor.median).collect();
        let ours: Vec<f64> = rows.iter().map(|r| r.dnsdesk.median).collect();
        let ratios: Vec<f64> = rows
            .iter()
            .map(|r| r.dnsdesk.median / r.floor.median)
            .collect();
        let (f, f_lo, f_hi) = spread(&floor);
        let (o, o_lo, o_hi) = spread(&ours);
        let (q, q_lo, q_hi) = spread(&ratios);
        out.push_str(&format!(
            "| {} | {f:.1} ms ({f_lo:.1}–{f_hi:.1}) | {o:.1} ms ({o_lo:.1}–{o_hi:.1}) | {q:.2} × ({q_lo:.2}–{q_hi:.2}) |\n",
            first.setup
        ));
    }
    out.push_str("\nOne run in detail (ms):\n\n| setup | floor p10 / median / p90 / max | dnsdesk p10 / median / p90 / max |\n| --- | --- | --- |\n");
    for rows in setups {
        if let Some(r) = rows.first() {
            out.push_str(&format!(
                "| {} | {:.1} / {:.1} / {:.1} / {:.1} | {:.1} / {:.1} / {:.1} / {:.1} |\n",
                r.setup,
                r.floor.p10,
                r.floor.median,
                r.floor.p90,
                r.floor.max,
                r.dnsdesk.p10,
                r.dnsdesk.median,
                r.dnsdesk.p90,
                r.dnsdesk.max
            ));
        }
    }
    out
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mut n = 100;
    let mut runs = 3;
    let mut write: Option<PathBuf> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--requests" => {
                n = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--requests N")
            }
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs K"),
            "--write" => write = args.next().map(PathBuf::from),
            // cargo bench passes --bench; nothing else is ours.
            _ => {}
        }
    }
    let mut embedded_rows = Vec::new();
    let mut bind_rows = Vec::new();
    for _ in 0..runs {
        embedded_rows.push(embedded(n).await);
        if let Some(row) = bind(n).await {
            bind_rows.push(row);
        }
    }
    let table = report(&[embedded_rows, bind_rows], n, runs);
    println!("{table}");
    if let Some(path) = write {
        let text = format!(
            "- Machine: {machine}\n\
             - BIND: {bind}\n\
             - dnsdesk: {version} (release build), SQLite (WAL, synchronous=FULL)\n\
             - Command: `cargo bench --bench click_to_active -- --requests {n} --runs {runs} --write docs/benchmarks.md`\n\n\
             {table}\n\
             How it is measured: see the head of `bench/click_to_active.rs`. The floor is what the\n\
             servers need; dnsdesk's figure adds its worker (claim, write-ahead record, the UPDATE,\n\
             the SOA serial before and after, NOTIFY), its verification of every server (SOA and\n\
             the records, polled with a growing pause) and the commit of `active` with the\n\
             catalogue entry, the history version and the audit entries. The confirmation\n\
             letter and its e-mail follow as the job's last step, after `active`.\n",
            machine = report::machine(),
            bind = report::first_line("named", &["-v"]),
            version = env!("CARGO_PKG_VERSION"),
        );
        report::write_section(&path, "click_to_active", &text);
        println!("written to {}", path.display());
    }
}
