//! Bulk provisioning: a backlog of approved requests to `active`, every
//! authoritative server verified, against the peers an admin would use
//! instead, on the same servers in the same run.
//!
//! `cargo bench --bench bulk [-- --names N --changes C --runs K --servers bind,knot --write docs/benchmarks.md]`
//!
//! For each primary (BIND 9, Knot; each with one BIND secondary, configured
//! as docs/deploy-bind.md and docs/deploy-knot.md recommend, started by the
//! test harness on loopback):
//!
//! - **dnsdesk, N new names.** N requests (one A record each) are filed
//!   and approved on an instance that does not provision
//!   (`DNSDESK_WORKER=false`); then a provisioning instance starts on the
//!   same database and finds the whole backlog waiting. Timed from the
//!   first request's move to `provisioning` to the last one's `active`
//!   (both stored by dnsdesk, in ms): updates, NOTIFYs, verification of
//!   every record on both servers and the commits, but not the process
//!   start-up (measured on its own by `bench/api_load.rs`). Afterwards a
//!   sample of names is read from the secondary.
//! - **dnsdesk, C changed names among N.** C change requests (a new
//!   address for names dnsdesk manages) the same way, in the N-name zone.
//! - **Peers** on a fresh deployment each (bench/peer_tools.rs): nsupdate, one
//!   process per change (sampled: 40 changes a second would take minutes);
//!   one long-lived nsupdate, one change per message; nsupdate, 100 changes
//!   per message; octoDNS with octodns-bind syncing the same N names, and
//!   then C changed names among them. Peers neither check prerequisites nor
//!   verify; dnsdesk does both, and its rate includes them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "peer_tools.rs"]
mod peers;
#[path = "report.rs"]
mod report;
#[path = "../tests/servers/mod.rs"]
mod servers;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Instance, Site};
use futures_util::stream::{self, StreamExt};
use hickory_proto::rr::{Name, RecordType};
use serde_json::json;
use servers::{Deployment, Kind, ZoneSetup};

/// Requests filed (or approved) at once while the backlog is built.
const FILING_STREAMS: usize = 8;

#[derive(Debug, Clone)]
struct Options {
    names: usize,
    changes: usize,
    runs: usize,
    kinds: Vec<Kind>,
    write: Option<PathBuf>,
}

fn options() -> Options {
    let mut o = Options {
        names: 10_000,
        changes: 100,
        runs: 3,
        kinds: vec![Kind::Bind, Kind::Knot],
        write: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--names" => o.names = value().parse().expect("--names N"),
            "--changes" => o.changes = value().parse().expect("--changes C"),
            "--runs" => o.runs = value().parse().expect("--runs K"),
            "--write" => o.write = Some(PathBuf::from(value())),
            "--servers" => {
                o.kinds = value()
                    .split(',')
                    .map(|k| match k {
                        "bind" => Kind::Bind,
                        "knot" => Kind::Knot,
                        other => panic!("--servers: unknown server {other}"),
                    })
                    .collect()
            }
            // cargo bench passes --bench; nothing else is ours.
            _ => {}
        }
    }
    o
}

/// The i-th name.
fn name(i: usize) -> String {
    format!("{}{i}.kalbarprov.go.id", peers::NAME_PREFIX)
}

fn address(i: usize, generation: u8) -> Ipv4Addr {
    // Documentation ranges (dnsdesk refuses private ones): each
    // generation in its own, so a change always changes the address.
    let host = u8::try_from(1 + i % 250).unwrap();
    match generation {
        1 => Ipv4Addr::new(203, 0, 113, host),
        _ => Ipv4Addr::new(198, 51, 100, host),
    }
}

fn changes(range: std::ops::Range<usize>, generation: u8) -> Vec<peers::Change> {
    range
        .map(|i| peers::Change {
            owner: name(i),
            address: address(i, generation),
        })
        .collect()
}

/// A site pointed at `deployment`, its keys written where dnsdesk reads them.
struct Provisioned {
    site: Site,
    env: Vec<(&'static str, String)>,
    pd: String,
    reviewer: String,
}

fn site_for(setup: &ZoneSetup, deployment: &Deployment) -> Provisioned {
    let primary = deployment.primary.addr();
    let secondary = deployment.secondaries[0].addr();
    let site = Site::new();
    site.write_config(
        "[provisioning]\ndns_timeout_secs = 2\nverify_deadline_secs = 600\nmax_backoff_secs = 1\nlease_secs = 60\n",
    );
    let key_file = site.dir.path().join("update.key");
    std::fs::write(&key_file, setup.update_key.to_bind_key_file()).unwrap();
    let xfr_file = site.dir.path().join("transfer.key");
    std::fs::write(&xfr_file, setup.transfer_key.to_bind_key_file()).unwrap();
    let pd = site.pd("DISKOMINFO");
    let reviewer = site.staff("reviewer1", "reviewer");
    let env = vec![
        ("DNSDESK_EMBEDDED_DNS", "false".to_owned()),
        ("DNSDESK_PRIMARY", primary.to_string()),
        ("DNSDESK_AUTHORITATIVE", format!("{primary},{secondary}")),
        ("DNSDESK_TSIG_KEY_FILE", key_file.display().to_string()),
        ("DNSDESK_TRANSFER_KEY_FILE", xfr_file.display().to_string()),
    ];
    Provisioned {
        site,
        env,
        pd,
        reviewer,
    }
}

impl Provisioned {
    /// An instance that serves the API only: approvals wait for the next.
    fn front(&self) -> Instance {
        let mut env = self.env.clone();
        env.push(("DNSDESK_WORKER", "false".to_owned()));
        self.site.start_with_env(&env)
    }

    /// Files (kind `create` or `change`) and approves one request per
    /// change on a front instance, several at a time.
    async fn backlog(&self, kind: &str, wanted: &[peers::Change]) {
        let front = self.front();
        let front = &front;
        stream::iter(wanted)
            .map(|c| async move {
                let created = front
                    .post(
                        "/api/v1/requests",
                        &self.pd,
                        json!({
                            "kind": kind,
                            "name": c.owner,
                            "records": [{ "type": "A", "value": c.address.to_string(), "ttl": 300 }],
                            "purpose": "Portal layanan publik",
                            "letter_number": "800/123/DISKOMINFO/2026",
                            "letter_date": "2026-01-05",
                        }),
                    )
                    .await;
                assert_eq!(created.status, 201, "{:?}", created.body);
                let id = created.body["id"].as_i64().unwrap();
                let letter = front
                    .put_letter(id, &self.pd, common::PDF, "application/pdf")
                    .await;
                assert_eq!(letter.status, 200, "{:?}", letter.body);
                front.approve(id, &self.reviewer).await;
            })
            .buffer_unordered(FILING_STREAMS)
            .collect::<Vec<()>>()
            .await;
    }

    /// Starts a provisioning instance on the waiting backlog and returns
    /// the time from the first move to `provisioning` to the last `active`,
    /// once all `count` requests of the backlog (ids above `after_id`) are
    /// active.
    async fn provision(&self, after_id: i64, count: usize) -> (Duration, Instance) {
        let worker = self.site.start_with_env(&self.env);
        let started = Instant::now();
        loop {
            let settled = self.site.column(&format!(
                "SELECT state, COUNT(*) FROM requests WHERE id > {after_id} AND state IN ('active', 'conflict', 'failed') GROUP BY state"
            ));
            let active: usize = self
                .site
                .column(&format!(
                    "SELECT COUNT(*) FROM requests WHERE id > {after_id} AND state = 'active'"
                ))
                .first()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if active == count {
                break;
            }
            assert!(
                settled.iter().all(|s| s == "active"),
                "requests settled otherwise: {settled:?}; log:\n{}",
                self.site.log()
            );
            assert!(
                started.elapsed() < Duration::from_secs(900),
                "{active} of {count} active after 15 minutes"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let span = self.site.column(&format!(
            "SELECT MAX(CASE WHEN t.to_state = 'active' THEN t.at END) - MIN(CASE WHEN t.to_state = 'provisioning' THEN t.at END)
             FROM request_transitions t WHERE t.request_id > {after_id}"
        ));
        let ms: f64 = span[0].parse().unwrap();
        // Where the time went: the first move to provisioning, then the
        // last move to verifying (every UPDATE answered) and the last
        // active (every server verified), in ms from the first.
        let phases = self.site.column(&format!(
            "SELECT ((SELECT MAX(at) FROM request_transitions WHERE request_id > {after_id} AND to_state = 'verifying')
                  - (SELECT MIN(at) FROM request_transitions WHERE request_id > {after_id} AND to_state = 'provisioning'))
                  || ' ms to the last UPDATE answered, '
                  || ((SELECT MAX(at) FROM request_transitions WHERE request_id > {after_id} AND to_state = 'active')
                  - (SELECT MAX(at) FROM request_transitions WHERE request_id > {after_id} AND to_state = 'verifying'))
                  || ' ms more to the last verified'"
        ));
        println!("  ({})", phases.join(""));
        (Duration::from_secs_f64((ms + 1.0) / 1000.0), worker)
    }

    fn last_request_id(&self) -> i64 {
        self.site
            .column("SELECT COALESCE(MAX(id), 0) FROM requests")
            .first()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

/// Reads a sample of `wanted` from `server`: every name must hold its
/// address (proof the run was real; not timed).
async fn assert_served(server: SocketAddr, wanted: &[peers::Change]) {
    let step = (wanted.len() / 200).max(1);
    for c in wanted.iter().step_by(step).chain(wanted.last()) {
        let owner = Name::from_ascii(format!("{}.", c.owner)).unwrap();
        let answer =
            provisioner::client::query(server, &owner, RecordType::A, Duration::from_secs(2))
                .await
                .unwrap();
        assert_eq!(
            common::rdata(&answer),
            vec![c.address.to_string()],
            "{} on {server}",
            c.owner
        );
    }
}

/// One run's figures for one primary, in changes per second (and the
/// small change's time).
#[derive(Debug, Clone, Default)]
struct Figures {
    dnsdesk_new: f64,
    dnsdesk_small_ms: f64,
    nsupdate_process: f64,
    nsupdate_one: f64,
    nsupdate_hundred: f64,
    octodns_new: Option<f64>,
    octodns_small_ms: Option<f64>,
    import_ms: f64,
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

async fn dnsdesk_run(kind: Kind, o: &Options, figures: &mut Figures) {
    let setup = ZoneSetup::kalbarprov(&[]);
    let deployment = servers::deploy(kind, &setup, 1);
    let secondary = deployment.secondaries[0].addr();
    let p = site_for(&setup, &deployment);

    let created = changes(0..o.names, 1);
    let filing = Instant::now();
    p.backlog("create", &created).await;
    println!(
        "  (filed and approved {} requests through the API in {:.1} s, not counted)",
        o.names,
        filing.elapsed().as_secs_f64()
    );
    let (elapsed, worker) = p.provision(0, o.names).await;
    figures.dnsdesk_new = rate(o.names, elapsed);
    println!(
        "  dnsdesk: {} new names active and verified in {:.2} s",
        o.names,
        elapsed.as_secs_f64()
    );
    assert_served(secondary, &created).await;
    drop(worker);

    let after = p.last_request_id();
    let changed = changes(0..o.changes, 2);
    p.backlog("change", &changed).await;
    let (elapsed, worker) = p.provision(after, o.changes).await;
    figures.dnsdesk_small_ms = elapsed.as_secs_f64() * 1000.0;
    println!(
        "  dnsdesk: {} changed names among {} active and verified in {:.1} ms",
        o.changes, o.names, figures.dnsdesk_small_ms
    );
    assert_served(secondary, &changed).await;
    drop(worker);
}

fn peer_runs(kind: Kind, o: &Options, figures: &mut Figures, octodns: Option<&PathBuf>) {
    let created = changes(0..o.names, 1);
    let fresh = || {
        let setup = ZoneSetup::kalbarprov(&[]);
        let deployment = servers::deploy(kind, &setup, 1);
        (setup, deployment)
    };
    let report = |run: &peers::PeerRun| {
        println!(
            "  {}: {} changes in {:.2} s ({:.0}/s)",
            run.peer,
            run.changes,
            run.elapsed.as_secs_f64(),
            rate(run.changes, run.elapsed)
        );
        rate(run.changes, run.elapsed)
    };

    let (setup, d) = fresh();
    let sample = o.names.min(300);
    let run = peers::nsupdate_process_per_change(
        d.primary.addr(),
        &setup.update_key,
        "kalbarprov.go.id",
        &created[..sample],
    );
    figures.nsupdate_process = report(&run);
    drop(d);

    let (setup, d) = fresh();
    let run = peers::nsupdate_long_lived(
        d.primary.addr(),
        &setup.update_key,
        "kalbarprov.go.id",
        &created,
        1,
    );
    figures.nsupdate_one = report(&run);
    drop(d);

    let (setup, d) = fresh();
    let run = peers::nsupdate_long_lived(
        d.primary.addr(),
        &setup.update_key,
        "kalbarprov.go.id",
        &created,
        100,
    );
    figures.nsupdate_hundred = report(&run);
    // The zone now holds N names dnsdesk never saw: day one's import.
    figures.import_ms = import(&setup, &d, o.names);
    drop(d);

    if let Some(sync) = octodns {
        // octodns-bind reads the zone by AXFR with its update key.
        let mut setup = ZoneSetup::kalbarprov(&[]);
        setup.transfer_key = setup.update_key.clone();
        let d = servers::deploy(kind, &setup, 1);
        let work = tempfile::tempdir().unwrap();
        match peers::octodns_sync(
            sync,
            d.primary.addr(),
            &setup.update_key,
            "kalbarprov.go.id",
            &created,
            work.path(),
        ) {
            Ok(run) => figures.octodns_new = Some(report(&run)),
            Err(e) => println!("  octoDNS: {e}"),
        }
        let mut desired = created.clone();
        for (i, c) in desired.iter_mut().enumerate().take(o.changes) {
            c.address = address(i, 2);
        }
        match peers::octodns_sync(
            sync,
            d.primary.addr(),
            &setup.update_key,
            "kalbarprov.go.id",
            &desired,
            work.path(),
        ) {
            Ok(run) => {
                figures.octodns_small_ms = Some(run.elapsed.as_secs_f64() * 1000.0);
                println!(
                    "  octoDNS: {} changed among {} in {:.0} ms",
                    o.changes,
                    o.names,
                    run.elapsed.as_secs_f64() * 1000.0
                );
            }
            Err(e) => println!("  octoDNS small change: {e}"),
        }
        drop(d);
    }
}

/// Runs `dnsdesk zone import` against `deployment`'s zone of `names`
/// names (signed AXFR, then every name into the catalogue with its first
/// version and audit entry, one transaction); returns its wall time in ms,
/// process start included.
fn import(setup: &ZoneSetup, deployment: &Deployment, names: usize) -> f64 {
    let p = site_for(setup, deployment);
    let env: Vec<(&str, String)> = p.env.clone();
    let started = Instant::now();
    let out = p.site.cli_output_env(&["zone", "import"], &env);
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "zone import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let imported: usize = p
        .site
        .column("SELECT COUNT(*) FROM subdomains")
        .first()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(imported >= names, "{imported} names imported of {names}");
    let ms = elapsed.as_secs_f64() * 1000.0;
    println!("  dnsdesk zone import: {imported} names in {ms:.0} ms");
    ms
}

/// The median of `values`, and their smallest and largest.
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    (s[s.len() / 2], s[0], s[s.len() - 1])
}

fn cell(values: &[f64], unit: &str) -> String {
    if values.is_empty() {
        return "not measured".to_owned();
    }
    let (m, lo, hi) = spread(values);
    format!("{m:.0} {unit} ({lo:.0}–{hi:.0})")
}

/// One line per figure with its target, and the markdown section.
fn report(o: &Options, results: &[(Kind, Vec<Figures>)]) -> (Vec<String>, String) {
    let mut lines = Vec::new();
    let mut md = format!(
        "### Bulk provisioning ({names} names; {changes} changed among them; {runs} runs per primary)\n\n\
         Rates in changes per second, each cell the median over the runs (their range in brackets). \
         dnsdesk's figures include prerequisites on every request and verification of every record on both servers; \
         the peers' do not. nsupdate one process per change is sampled on {sample} changes.\n\n\
         | primary (+ BIND secondary) | dnsdesk: {names} approved → active, verified | nsupdate, process per change | nsupdate long-lived, 1 per message | nsupdate, 100 per message | octoDNS + octodns-bind | dnsdesk ÷ nsupdate 100/msg |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
        names = o.names,
        changes = o.changes,
        runs = o.runs,
        sample = o.names.min(300),
    );
    let mut small = format!(
        "\n| primary | dnsdesk: {c} changed among {n}, applied and verified | octoDNS: same change (whole sync run) |\n| --- | --- | --- |\n",
        c = o.changes,
        n = o.names
    );
    for (kind, runs) in results {
        let col = |f: fn(&Figures) -> f64| runs.iter().map(f).collect::<Vec<_>>();
        let ours = col(|f| f.dnsdesk_new);
        let hundred = col(|f| f.nsupdate_hundred);
        let ratio: Vec<f64> = runs
            .iter()
            .map(|f| f.dnsdesk_new / f.nsupdate_hundred)
            .collect();
        let octo: Vec<f64> = runs.iter().filter_map(|f| f.octodns_new).collect();
        let others_best = runs
            .iter()
            .map(|f| {
                [f.nsupdate_process, f.nsupdate_one]
                    .into_iter()
                    .chain(f.octodns_new)
                    .fold(0.0, f64::max)
            })
            .collect::<Vec<_>>();
        let (r, r_lo, r_hi) = spread(&ratio);
        md.push_str(&format!(
            "| {kind} | {} | {} | {} | {} | {} | {r:.2} × ({r_lo:.2}–{r_hi:.2}) |\n",
            cell(&ours, "/s"),
            cell(&col(|f| f.nsupdate_process), "/s"),
            cell(&col(|f| f.nsupdate_one), "/s"),
            cell(&hundred, "/s"),
            cell(&octo, "/s"),
        ));
        let (ours_m, _, _) = spread(&ours);
        let (best_m, _, _) = spread(&others_best);
        lines.push(verdict(
            &format!("bulk {kind}: dnsdesk ÷ nsupdate 100/msg"),
            &format!("{r:.2} ×"),
            "≥ 0.50 ×",
            r >= 0.5,
        ));
        lines.push(verdict(
            &format!("bulk {kind}: dnsdesk vs the fastest other peer"),
            &format!("{ours_m:.0}/s vs {best_m:.0}/s"),
            "faster",
            ours_m > best_m,
        ));
        let small_ours = col(|f| f.dnsdesk_small_ms);
        let small_octo: Vec<f64> = runs.iter().filter_map(|f| f.octodns_small_ms).collect();
        small.push_str(&format!(
            "| {kind} | {} | {} |\n",
            cell(&small_ours, "ms"),
            cell(&small_octo, "ms")
        ));
        let (s, _, _) = spread(&small_ours);
        lines.push(verdict(
            &format!("small change {kind}: {} among {}", o.changes, o.names),
            &format!("{s:.0} ms"),
            "≤ 100 ms",
            s <= 100.0,
        ));
    }
    md.push_str(&small);
    md.push_str(&format!(
        "\n| primary | dnsdesk zone import: {n} existing names into the catalogue (signed AXFR, one transaction; process start included) |\n| --- | --- |\n",
        n = o.names
    ));
    for (kind, runs) in results {
        let ms: Vec<f64> = runs.iter().map(|f| f.import_ms).collect();
        md.push_str(&format!("| {kind} | {} |\n", cell(&ms, "ms")));
    }
    (lines, md)
}

fn verdict(figure: &str, value: &str, target: &str, holds: bool) -> String {
    format!(
        "{figure}: {value} (target {target}) {}",
        if holds { "OK" } else { "MISSED" }
    )
}

#[tokio::main]
async fn main() {
    let o = options();
    let octodns = match peers::octodns_available() {
        Ok(path) => Some(path),
        Err(why) => {
            println!("octoDNS is left out: {why}");
            None
        }
    };
    let mut results = Vec::new();
    for &kind in &o.kinds {
        if !servers::require_deployment(kind, 1) {
            println!("{kind} is left out: not installed");
            continue;
        }
        let mut runs = Vec::new();
        for run in 0..o.runs {
            println!("{kind}, run {}:", run + 1);
            let mut figures = Figures::default();
            dnsdesk_run(kind, &o, &mut figures).await;
            peer_runs(kind, &o, &mut figures, octodns.as_ref());
            runs.push(figures);
        }
        results.push((kind, runs));
    }
    let (lines, section) = report(&o, &results);
    println!("\n{section}");
    for line in &lines {
        println!("{line}");
    }
    if let Some(path) = &o.write {
        let command = format!(
            "`cargo bench --bench bulk -- --names {} --changes {} --runs {} --write docs/benchmarks.md`",
            o.names, o.changes, o.runs
        );
        let versions = format!(
            "Machine: {}; {}; {}; {}.\n\n",
            report::machine(),
            report::first_line("named", &["-v"]),
            report::first_line("knotd", &["--version"]),
            octodns
                .as_ref()
                .map_or("octoDNS not installed".to_owned(), |p| {
                    peers::octodns_version(p)
                }),
        );
        let summary: String = lines.iter().map(|l| format!("- {l}\n")).collect();
        report::write_section(
            path,
            "bulk",
            &format!("{section}\nCommand: {command}\n\n{versions}{summary}\n"),
        );
        println!("written to {}", path.display());
    }
}
