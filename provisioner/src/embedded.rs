//! The embedded authoritative server (hickory-server) that default installs
//! run: one zone, journaled in SQLite so dynamic updates survive restarts,
//! accepting updates only when signed with the service's TSIG key.
//!
//! The zone file is read only when no journal exists yet; afterwards the
//! journal is the zone's truth (hickory's `SqliteZoneHandler`). Transfers
//! (AXFR) are allowed only when signed with the same key.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::{LowerName, Name};
use hickory_server::Server;
use hickory_server::store::sqlite::{SqliteConfig, SqliteZoneHandler, TsigKeyConfig};
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use tokio::net::{TcpListener, UdpSocket};

use crate::tsig::{FUDGE, TsigKey, write_private_new};

/// How the embedded server runs.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// The zone served, e.g. `kalbarprov.go.id.`.
    pub zone: Name,
    /// Read only when no journal exists yet.
    pub zone_file: PathBuf,
    /// The SQLite journal holding the zone and every update.
    pub journal: PathBuf,
    /// UDP and TCP; port 0 picks a free port (the same for both).
    pub listen: SocketAddr,
    /// Updates are accepted only when signed with this key.
    pub update_key: TsigKey,
    /// Where the raw key file hickory reads is written (mode 0600).
    pub key_dir: PathBuf,
}

/// Why the embedded server could not start or stop.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("cannot listen on {addr} ({proto}): {source}")]
    Listen {
        addr: SocketAddr,
        proto: &'static str,
        source: std::io::Error,
    },
    #[error("cannot write the server's key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot load zone {zone} (zone file {zone_file}, journal {journal}): {message}")]
    Zone {
        zone: String,
        zone_file: PathBuf,
        journal: PathBuf,
        message: String,
    },
    #[error("the server did not stop cleanly: {0}")]
    Shutdown(String),
}

/// A running embedded server.
pub struct EmbeddedServer {
    server: Server<Catalog>,
    addr: SocketAddr,
}

impl std::fmt::Debug for EmbeddedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedServer")
            .field("addr", &self.addr)
            .finish()
    }
}

/// Idle TCP connections are closed after this long.
const TCP_TIMEOUT: Duration = Duration::from_secs(10);

impl EmbeddedServer {
    /// Loads the zone and starts answering on UDP and TCP.
    pub async fn start(config: EmbeddedConfig) -> Result<Self, EmbeddedError> {
        let key_path = write_raw_key(&config)?;
        let sqlite = SqliteConfig {
            zone_path: config.zone_file.clone(),
            journal_path: config.journal.clone(),
            allow_update: true,
            tsig_keys: vec![TsigKeyConfig {
                name: config.update_key.name.to_ascii(),
                key_file: key_path,
                algorithm: config.update_key.algorithm.to_hickory(),
                fudge: FUDGE,
            }],
        };
        let handler =
            SqliteZoneHandler::<hickory_net::runtime::TokioRuntimeProvider>::try_from_config(
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
        let mut catalog = Catalog::new();
        let handler: Arc<dyn ZoneHandler> = Arc::new(handler);
        catalog.upsert(LowerName::from(&config.zone), vec![handler]);

        let udp = UdpSocket::bind(config.listen)
            .await
            .map_err(|source| EmbeddedError::Listen {
                addr: config.listen,
                proto: "UDP",
                source,
            })?;
        let addr = udp.local_addr().map_err(|source| EmbeddedError::Listen {
            addr: config.listen,
            proto: "UDP",
            source,
        })?;
        let tcp = TcpListener::bind(addr)
            .await
            .map_err(|source| EmbeddedError::Listen {
                addr,
                proto: "TCP",
                source,
            })?;
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, TCP_TIMEOUT, 65_535);
        tracing::info!(%addr, zone = %config.zone, "embedded DNS server answering");
        Ok(Self { server, addr })
    }

    /// The bound address (UDP and TCP share it).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting queries and waits for the server's tasks to end.
    pub async fn shutdown(mut self) -> Result<(), EmbeddedError> {
        self.server
            .shutdown_gracefully()
            .await
            .map_err(|e| EmbeddedError::Shutdown(e.to_string()))
    }
}

/// hickory reads the raw key bytes from a file; it is written next to the
/// BIND-format key, readable by its owner only, and rewritten at each start
/// so it always matches the configured key.
fn write_raw_key(config: &EmbeddedConfig) -> Result<PathBuf, EmbeddedError> {
    let path = config.key_dir.join("embedded-update.key.raw");
    let error = |source| EmbeddedError::KeyFile {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(&config.key_dir).map_err(error)?;
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(error(e)),
    }
    write_private_new(&path, config.update_key.secret.expose()).map_err(error)?;
    Ok(path)
}
