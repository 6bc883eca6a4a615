//! Real authoritative servers for tests and benchmarks: BIND 9, Knot DNS and
//! PowerDNS started as child processes on loopback, configured from the
//! snippets in `docs/deploy-*.md`, stopped and waited for when dropped.
//!
//! [`deploy`] starts a primary of a [`Kind`] for the zone of a
//! [`ZoneSetup`] and BIND secondaries that transfer from it (NOTIFY, then
//! IXFR or AXFR, signed with the transfer key). Each server has its own
//! temporary directory (config, keys, zone file, journal, its log) and a
//! port on 127.0.0.1 free for both UDP and TCP; it counts as started once
//! it answers an SOA query for the zone authoritatively. When one does not
//! start, the panic carries its config and its own log. When a test
//! panics, the servers are still stopped and their directories kept (the
//! path is printed).
//!
//! The configs are built from the docs' snippets ([`snippets`]), with only
//! addresses, ports, paths and secrets replaced; test-only settings
//! (listen ports, directories, pid files, logging, no traffic off the
//! machine) are added around them. So the docs cannot drift from what is
//! tested.
//!
//! A test that needs a server which is not installed skips after saying
//! why ([`require`]); `DNSDESK_REQUIRE_SERVERS=1` (set in CI) turns the
//! skip into a failure.

#![allow(dead_code)]

mod bind;
mod knot;
mod powerdns;
mod process;
mod setup;
pub mod snippets;

use std::collections::BTreeSet;
use std::hash::BuildHasher;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hickory_proto::rr::Name;
use provisioner::tsig::{TsigAlgorithm, TsigKey};

// Not every test crate that includes this module names them all.
#[allow(unused_imports)]
pub use process::{DEADLINE, Role, Server};

/// The server software.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// ISC BIND 9 (`named`).
    Bind,
    /// Knot DNS (`knotd`).
    Knot,
    /// PowerDNS Authoritative (`pdns_server`) on the gsqlite3 backend.
    PowerDns,
}

impl Kind {
    /// Every kind, in the order tests run them.
    pub const ALL: [Kind; 3] = [Kind::Bind, Kind::Knot, Kind::PowerDns];

    /// The name admins know it by.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bind => "BIND",
            Kind::Knot => "Knot DNS",
            Kind::PowerDns => "PowerDNS",
        }
    }

    /// The programs the harness runs, and the Debian package of each.
    fn programs(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Bind => &[("named", "bind9"), ("named-checkconf", "bind9-utils")],
            Kind::Knot => &[("knotd", "knot"), ("knotc", "knot")],
            Kind::PowerDns => &[("pdns_server", "pdns-server"), ("pdnsutil", "pdns-server")],
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether the programs (and for PowerDNS the SQLite backend's schema)
/// are installed; the error says what is missing and which Debian package
/// brings it.
pub fn available(kind: Kind) -> Result<(), String> {
    for (program, package) in kind.programs() {
        if program_path(program).is_none() {
            return Err(format!(
                "`{program}` is not installed (in PATH, /usr/sbin or /sbin); Debian package `{package}`"
            ));
        }
    }
    if kind == Kind::PowerDns && powerdns::schema_path().is_none() {
        return Err(
            "the gsqlite3 schema of PowerDNS is not installed; Debian package `pdns-backend-sqlite3`"
                .to_owned(),
        );
    }
    Ok(())
}

/// True when `kind` can run here. Otherwise prints why the calling test
/// skips and returns false, or panics when `DNSDESK_REQUIRE_SERVERS=1`.
pub fn require(kind: Kind) -> bool {
    match available(kind) {
        Ok(()) => true,
        Err(why) if std::env::var("DNSDESK_REQUIRE_SERVERS").as_deref() == Ok("1") => {
            panic!("{kind} is required (DNSDESK_REQUIRE_SERVERS=1) but {why}")
        }
        Err(why) => {
            eprintln!("skipped: {kind} is not available: {why}");
            false
        }
    }
}

/// [`require`] for a [`deploy`] of `kind` with `secondaries` BIND
/// secondaries: BIND is needed too when there are any.
pub fn require_deployment(kind: Kind, secondaries: usize) -> bool {
    require(kind) && (secondaries == 0 || require(Kind::Bind))
}

/// What a primary of `kind` answers a signed UPDATE that its policy denies
/// (a name in a denied subtree, the apex NS or SOA), as dnsdesk names it
/// (`rcode_name` of `UpdateError::rcode`): BIND refuses; Knot answers every
/// ACL refusal with NOTAUTH and the TSIG error BADKEY; the PowerDNS policy
/// script raises an error, which rolls the update back with SERVFAIL. The
/// guides' tables say the same.
pub fn denied_rcode(kind: Kind) -> &'static str {
    match kind {
        Kind::Bind => "REFUSED",
        Kind::Knot => "BADKEY",
        Kind::PowerDns => "SERVFAIL",
    }
}

/// The zone the servers serve and who may change it.
#[derive(Debug, Clone)]
pub struct ZoneSetup {
    /// The zone, e.g. `kalbarprov.go.id.`.
    pub zone: Name,
    /// Its zone file; each primary gets a copy to journal beside.
    pub zone_file: PathBuf,
    /// The key dnsdesk signs updates with.
    pub update_key: TsigKey,
    /// The key for zone transfers (dnsdesk's glue and drift checks, and the
    /// secondaries'). May be the update key itself.
    pub transfer_key: TsigKey,
    /// First labels (e.g. `legacy`) whose subtree the update key may not
    /// change, besides the apex NS and SOA, which it never may.
    pub denied: Vec<String>,
}

impl ZoneSetup {
    /// `kalbarprov.go.id.` from `zones/`, fresh hmac-sha256 keys `dnsdesk.`
    /// (updates) and `dnsdesk-xfr.` (transfers), and `denied`.
    pub fn kalbarprov(denied: &[&str]) -> Self {
        let name = |text: &str| {
            Name::from_ascii(text).unwrap_or_else(|e| panic!("bad name {text:?}: {e}"))
        };
        Self {
            zone: name("kalbarprov.go.id."),
            zone_file: Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/kalbarprov.go.id.zone"),
            update_key: TsigKey::generate(name("dnsdesk."), TsigAlgorithm::HmacSha256),
            transfer_key: TsigKey::generate(name("dnsdesk-xfr."), TsigAlgorithm::HmacSha256),
            denied: denied.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    /// The zone name without its trailing dot, as configs write it.
    fn zone_text(&self) -> String {
        self.zone.to_ascii().trim_end_matches('.').to_owned()
    }

    /// Whether transfers use a key of their own (else the update key).
    fn separate_transfer_key(&self) -> bool {
        if self.transfer_key.name == self.update_key.name {
            assert!(
                self.transfer_key == self.update_key,
                "the transfer key has the update key's name but another algorithm or secret"
            );
            false
        } else {
            true
        }
    }
}

/// A primary and its secondaries, all running.
#[derive(Debug)]
pub struct Deployment {
    /// The server that takes updates.
    pub primary: Server,
    /// BIND secondaries that transfer from the primary.
    pub secondaries: Vec<Server>,
}

impl Deployment {
    /// The primary, then the secondaries.
    pub fn servers(&self) -> impl Iterator<Item = &Server> {
        std::iter::once(&self.primary).chain(&self.secondaries)
    }

    /// Every server's address: dnsdesk's `authoritative` list.
    pub fn authoritative(&self) -> Vec<SocketAddr> {
        self.servers().map(Server::addr).collect()
    }

    /// The secondaries' addresses: dnsdesk's `notify` list.
    pub fn notify_targets(&self) -> Vec<SocketAddr> {
        self.secondaries.iter().map(Server::addr).collect()
    }

    /// Waits until every server serves the zone with a serial of at least
    /// `min` (RFC 1982 order); panics with the laggard's log after
    /// [`DEADLINE`].
    pub async fn wait_for_serial(&self, min: u32) {
        for server in self.servers() {
            server.wait_for_serial(min).await;
        }
    }
}

/// Starts a primary of `kind` for `setup` and `secondaries` BIND secondaries
/// that transfer from it, each listening on its own loopback port; returns
/// once every one answers for the zone. Panics with the failing server's
/// config and log. Check [`require_deployment`] first. Blocking, and fine
/// to call from an async test: it polls on a thread of its own.
pub fn deploy(kind: Kind, setup: &ZoneSetup, secondaries: usize) -> Deployment {
    for needed in std::iter::once(kind).chain((secondaries > 0).then_some(Kind::Bind)) {
        if let Err(why) = available(needed) {
            panic!("deploy({kind}, {secondaries} BIND secondaries) cannot run: {why}");
        }
    }
    setup.separate_transfer_key();
    // A port is free when chosen but may be taken by another process before
    // the server binds it; then the whole deployment starts over.
    let mut taken = Vec::new();
    for _ in 0..3 {
        match try_deploy(kind, setup, secondaries) {
            Ok(deployment) => return deployment,
            Err(process::StartError::PortTaken(report)) => taken.push(report),
            Err(process::StartError::Failed(report)) => panic!("{report}"),
        }
    }
    panic!(
        "ports kept being taken by other processes:\n{}",
        taken.join("\n\n")
    );
}

fn try_deploy(
    kind: Kind,
    setup: &ZoneSetup,
    secondaries: usize,
) -> Result<Deployment, process::StartError> {
    let primary_port = free_port();
    let secondary_ports: Vec<u16> = (0..secondaries).map(|_| free_port()).collect();
    let mut primary = match kind {
        Kind::Bind => bind::primary(setup, primary_port, &secondary_ports),
        Kind::Knot => knot::primary(setup, primary_port, &secondary_ports),
        Kind::PowerDns => powerdns::primary(setup, primary_port, &secondary_ports),
    };
    primary.try_start()?;
    let mut started = Vec::new();
    for port in secondary_ports {
        let mut secondary = bind::secondary(setup, port, primary_port);
        secondary.try_start()?;
        started.push(secondary);
    }
    Ok(Deployment {
        primary,
        secondaries: started,
    })
}

/// A BIND secondary for `setup` that transfers from `primary` (any server
/// holding the transfer key, e.g. dnsdesk's embedded one), started and
/// answering for the zone. Blocking, like [`deploy`].
pub fn secondary_of(setup: &ZoneSetup, primary: SocketAddr) -> Server {
    if let Err(why) = available(Kind::Bind) {
        panic!("secondary_of cannot run: {why}");
    }
    setup.separate_transfer_key();
    let mut taken = Vec::new();
    for _ in 0..3 {
        let mut secondary = bind::secondary(setup, free_port(), primary.port());
        match secondary.try_start() {
            Ok(()) => return secondary,
            Err(process::StartError::PortTaken(report)) => taken.push(report),
            Err(process::StartError::Failed(report)) => panic!("{report}"),
        }
    }
    panic!(
        "ports kept being taken by other processes:\n{}",
        taken.join("\n\n")
    );
}

/// The full path of `program`: PATH first, then the sbin directories a
/// non-root PATH may lack.
pub fn program_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Like [`program_path`], for a program [`available`] has checked.
fn program(program: &str) -> PathBuf {
    program_path(program).unwrap_or_else(|| panic!("`{program}` is not installed"))
}

/// Ports this process has handed out, never handed out again.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A port on 127.0.0.1 free for both UDP and TCP now. Chosen at random
/// below the kernel's ephemeral range when there is room, so that no
/// outgoing connection (a transfer, a query) is given it before the server
/// binds it; never the same twice in one process.
fn free_port() -> u16 {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let below = (10_000..ephemeral_low).len() >= 2_000;
    let mut handed_out = HANDED_OUT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut attempt = 0u64;
    loop {
        attempt += 1;
        let port = if below {
            // RandomState is seeded at random: a random number without a
            // random-number crate.
            let random = std::collections::hash_map::RandomState::new().hash_one(attempt);
            10_000 + u16::try_from(random % u64::from(ephemeral_low - 10_000)).unwrap_or(0)
        } else {
            match UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|s| s.local_addr()) {
                Ok(addr) => addr.port(),
                Err(e) => panic!("cannot bind a UDP socket on 127.0.0.1: {e}"),
            }
        };
        let free = UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
            && TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok();
        if free && handed_out.insert(port) {
            return port;
        }
        assert!(attempt < 10_000, "no free loopback port found");
    }
}
