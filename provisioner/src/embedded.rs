//! The embedded authoritative server (hickory-server) that default installs
//! run: one zone, journaled in SQLite so dynamic updates survive restarts,
//! accepting updates and transfers only when signed with the service's TSIG
//! key.
//!
//! The zone file is read only when no journal exists yet; afterwards the
//! journal is the zone's truth (hickory's `SqliteZoneHandler`), so editing
//! the zone file of a running install changes nothing.
//!
//! What hickory-server 0.26 answers (each row is asserted by
//! `tests/embedded_protocol.rs`):
//!
//! | request                                  | rcode    | TSIG in the answer     |
//! |------------------------------------------|----------|------------------------|
//! | UPDATE, unsigned                         | REFUSED  | none                   |
//! | UPDATE, key name unknown                 | NOTAUTH  | unsigned, error BADKEY |
//! | UPDATE, known key name, wrong secret     | NOTAUTH  | unsigned, error BADSIG |
//! | UPDATE, signed outside the fudge         | NOTAUTH  | signed, error BADTIME  |
//! | UPDATE, signed, a prerequisite fails     | YXDOMAIN, YXRRSET, NXDOMAIN or NXRRSET (RFC 2136 §3.2.5) | signed |
//! | UPDATE, signed, applied                  | NOERROR  | signed                 |
//! | AXFR, unsigned                           | REFUSED  | none                   |
//! | AXFR, wrongly signed                     | NOTAUTH  | unsigned, BADSIG/BADKEY |
//! | AXFR, signed with the update key         | NOERROR  | signed                 |
//!
//! BADSIG and BADKEY answers carry no MAC, as RFC 8945 §5.3.2 requires of
//! errors about the request's key or MAC, so a client cannot verify them.
//! hickory checks authorisation before prerequisites (RFC 2136 orders them
//! the other way, §3.2 before §3.3), so an unsigned update is REFUSED
//! whatever its prerequisites, and learns nothing about the zone.
//!
//! After every update that changed the zone hickory increments the SOA
//! serial by one and journals the new SOA, so secondaries see the change
//! and the serial survives a restart.
//!
//! Delegations (an NS RRset below the apex) are answered as referrals: no
//! answer, the cut's NS RRset in the authority section. hickory 0.26.3
//! departs from RFC 1034 §4.3.2 there: the referral has AA set and no glue
//! in the additional section; a name below the cut (glue included) is
//! referred too.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hickory_net::runtime::TokioRuntimeProvider;
use hickory_proto::rr::{LowerName, Name, RecordType};
use hickory_server::Server;
use hickory_server::store::sqlite::{SqliteConfig, SqliteZoneHandler, TsigKeyConfig};
use hickory_server::zone_handler::{AxfrPolicy, Catalog, LookupOptions, ZoneHandler, ZoneType};
use tokio::net::{TcpListener, UdpSocket};

use crate::tsig::{FUDGE, TsigKey, write_private_new};

/// How the embedded server runs.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// The zone served, e.g. `kalbarprov.go.id.`.
    pub zone: Name,
    /// The zone's master file; read only when no journal exists yet.
    pub zone_file: PathBuf,
    /// The SQLite journal holding the zone and every update, e.g.
    /// `data/kalbarprov.go.id.jnl`. Its directory is created if missing.
    pub journal: PathBuf,
    /// UDP and TCP; port 0 picks a free port (the same for both).
    pub listen: SocketAddr,
    /// Updates and zone transfers are accepted only when signed with this
    /// key.
    pub update_key: TsigKey,
    /// Where the raw key file hickory reads is written (mode 0600).
    pub key_dir: PathBuf,
}

/// Why the embedded server could not start or stop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbeddedError {
    /// The address could not be bound, typically because another process
    /// (another DNS server, a second dnsdesk) already listens on it.
    #[error("cannot listen on {addr} ({proto}): {source}")]
    Listen {
        addr: SocketAddr,
        proto: &'static str,
        source: std::io::Error,
    },
    /// The raw key file hickory reads could not be written.
    #[error("cannot write the server's key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The journal's directory could not be created.
    #[error("cannot create the journal directory {path}: {source}")]
    JournalDir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// hickory could not load the zone from the journal or the zone file
    /// (a syntax error, a missing file, an unreadable journal). hickory
    /// reports the cause as text only.
    #[error("cannot load zone {zone} (zone file {zone_file}, journal {journal}): {message}")]
    Zone {
        /// The zone's name, fully qualified.
        zone: String,
        zone_file: PathBuf,
        journal: PathBuf,
        message: String,
    },
    /// The journal loaded but holds no SOA at the zone's apex: it is empty
    /// (a first start killed before the zone was copied in) or belongs to
    /// another zone. hickory itself rejects a zone file without one.
    #[error(
        "zone {zone} has no SOA record at its apex after loading journal {journal}; move the journal away to load {zone_file} again"
    )]
    NoSoa {
        /// The zone's name, fully qualified.
        zone: String,
        zone_file: PathBuf,
        journal: PathBuf,
    },
    /// A listener task ended with an error while stopping.
    #[error("the DNS server on {addr} did not stop cleanly: {source}")]
    Shutdown {
        addr: SocketAddr,
        source: hickory_net::NetError,
    },
}

/// A running embedded server. Dropping it aborts the server's tasks;
/// [`EmbeddedServer::shutdown`] stops it and waits for them.
pub struct EmbeddedServer {
    server: Server<Catalog>,
    addr: SocketAddr,
}

impl std::fmt::Debug for EmbeddedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Idle TCP connections are closed after this long.
const TCP_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-connection buffer of outgoing TCP responses (hickory's own default).
const TCP_RESPONSE_BUFFER: usize = 32;

/// With port 0 the UDP socket picks the port and TCP must get the same one;
/// another process may hold that TCP port, so a few ports are tried.
const FREE_PORT_ATTEMPTS: usize = 8;

/// File name of the raw key within `key_dir`.
const RAW_KEY_FILE: &str = "embedded-update.key.raw";

impl EmbeddedServer {
    /// Loads the zone (from the journal, or from the zone file when there is
    /// no journal yet) and starts answering on UDP and TCP.
    ///
    /// Fails with [`EmbeddedError::Listen`] naming the address when it is
    /// taken, before the journal or the key file is touched.
    #[tracing::instrument(skip_all, err, fields(zone = %config.zone, listen = %config.listen))]
    pub async fn start(config: EmbeddedConfig) -> Result<Self, EmbeddedError> {
        // Bound first: a taken port fails before the journal or the key
        // file is touched (they may belong to a server running there).
        let (udp, tcp, addr) = bind(config.listen).await?;
        let handler = load_zone(&config).await?;
        let mut catalog = Catalog::new();
        let handler: Arc<dyn ZoneHandler> = Arc::new(handler);
        catalog.upsert(LowerName::from(&config.zone), vec![handler]);

        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, TCP_TIMEOUT, TCP_RESPONSE_BUFFER);
        tracing::info!(%addr, zone = %config.zone, "embedded DNS server answering");
        Ok(Self { server, addr })
    }

    /// The bound address (UDP and TCP share it).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting queries and connections and waits for the listeners
    /// to end; the sockets are closed when this returns, so the same address
    /// can be bound again at once.
    ///
    /// Requests still being answered on open TCP connections are dropped
    /// (hickory aborts them). hickory journals an update's records before
    /// applying them and the new SOA after, each without a transaction (a
    /// TODO in hickory): an update cut off between the two comes back after
    /// a restart with the serial not yet incremented.
    pub async fn shutdown(mut self) -> Result<(), EmbeddedError> {
        let addr = self.addr;
        self.server
            .shutdown_gracefully()
            .await
            .map_err(|source| EmbeddedError::Shutdown { addr, source })?;
        tracing::info!(%addr, "embedded DNS server stopped");
        Ok(())
    }
}

/// Builds hickory's SQLite-backed zone handler: the journal if it exists,
/// else the zone file (which then seeds a new journal).
///
/// A journal created by a start that then fails is removed again: it would
/// otherwise be the zone's truth from then on, and a corrected zone file
/// would never be read.
async fn load_zone(
    config: &EmbeddedConfig,
) -> Result<SqliteZoneHandler<TokioRuntimeProvider>, EmbeddedError> {
    let journal_existed = config.journal.exists();
    let loaded = load_zone_inner(config).await;
    if loaded.is_err() && !journal_existed {
        match std::fs::remove_file(&config.journal) {
            Ok(()) => {
                tracing::debug!(journal = %config.journal.display(), "removed the journal of a failed start");
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                tracing::warn!(journal = %config.journal.display(), %error, "cannot remove the journal of a failed start");
            }
        }
    }
    loaded
}

async fn load_zone_inner(
    config: &EmbeddedConfig,
) -> Result<SqliteZoneHandler<TokioRuntimeProvider>, EmbeddedError> {
    if let Some(dir) = non_empty_parent(&config.journal) {
        std::fs::create_dir_all(dir).map_err(|source| EmbeddedError::JournalDir {
            path: dir.to_owned(),
            source,
        })?;
    }
    let key_path = write_raw_key(&config.key_dir, &config.update_key)?;
    let sqlite = SqliteConfig {
        zone_path: config.zone_file.clone(),
        journal_path: config.journal.clone(),
        allow_update: true,
        tsig_keys: vec![TsigKeyConfig {
            // Fully qualified: hickory falls back to the zone name when
            // this does not parse.
            name: config.update_key.name.to_ascii(),
            key_file: key_path,
            algorithm: config.update_key.algorithm.to_hickory(),
            fudge: FUDGE,
        }],
    };
    // AllowSigned checks transfers against the same `tsig_keys` as updates:
    // the zone (every agency's hosts) is not published to anyone unsigned.
    let handler = SqliteZoneHandler::<TokioRuntimeProvider>::try_from_config(
        config.zone.clone(),
        ZoneType::Primary,
        AxfrPolicy::AllowSigned,
        false,
        None,
        &sqlite,
        None,
    )
    .await
    .map_err(|message| EmbeddedError::Zone {
        zone: config.zone.to_ascii(),
        zone_file: config.zone_file.clone(),
        journal: config.journal.clone(),
        message,
    })?;

    // hickory happily serves an empty zone recovered from an empty journal,
    // or a zone file written for another origin; neither is a zone.
    let apex = LowerName::from(&config.zone);
    let soa = handler
        .lookup(&apex, RecordType::SOA, None, LookupOptions::default())
        .await;
    let has_soa = matches!(soa.map_result(), Some(Ok(lookup)) if !lookup.was_empty());
    if !has_soa {
        return Err(EmbeddedError::NoSoa {
            zone: config.zone.to_ascii(),
            zone_file: config.zone_file.clone(),
            journal: config.journal.clone(),
        });
    }
    Ok(handler)
}

/// Binds UDP, then TCP on the same port, as a DNS server listens. With
/// port 0 the TCP side may find the port the UDP side picked taken, so a
/// few ports are tried; with a fixed port the first failure is the answer.
pub async fn bind(
    listen: SocketAddr,
) -> Result<(UdpSocket, TcpListener, SocketAddr), EmbeddedError> {
    let attempts = if listen.port() == 0 {
        FREE_PORT_ATTEMPTS
    } else {
        1
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let udp = UdpSocket::bind(listen)
            .await
            .map_err(|source| EmbeddedError::Listen {
                addr: listen,
                proto: "UDP",
                source,
            })?;
        let addr = udp.local_addr().map_err(|source| EmbeddedError::Listen {
            addr: listen,
            proto: "UDP",
            source,
        })?;
        match TcpListener::bind(addr).await {
            Ok(tcp) => return Ok((udp, tcp, addr)),
            Err(source) if attempt < attempts && source.kind() == std::io::ErrorKind::AddrInUse => {
                tracing::debug!(%addr, "TCP port taken, trying another free port");
            }
            Err(source) => {
                return Err(EmbeddedError::Listen {
                    addr,
                    proto: "TCP",
                    source,
                });
            }
        }
    }
}

/// hickory reads the raw key bytes from a file (`TsigKeyConfig::key_file`),
/// not BIND's format; it is written readable by its owner only and
/// rewritten at each start so it always matches the configured key.
fn write_raw_key(key_dir: &Path, key: &TsigKey) -> Result<PathBuf, EmbeddedError> {
    let path = key_dir.join(RAW_KEY_FILE);
    let error = |source| EmbeddedError::KeyFile {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(key_dir).map_err(error)?;
    // Removed and created anew rather than truncated: a file left with a
    // wider mode (or by another user) is not reused.
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(error(e)),
    }
    write_private_new(&path, key.secret.expose()).map_err(error)?;
    Ok(path)
}

fn non_empty_parent(path: &Path) -> Option<&Path> {
    path.parent().filter(|dir| !dir.as_os_str().is_empty())
}
