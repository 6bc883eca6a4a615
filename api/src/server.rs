//! Wiring the running service: store, TSIG key, embedded DNS server,
//! worker, outbox and HTTP, started in that order and stopped in reverse.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use provisioner::Name;
use provisioner::embedded::{EmbeddedConfig, EmbeddedServer};
use provisioner::tsig::{TsigAlgorithm, TsigKey};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::app::{App, Timing, ZoneTarget};
use crate::audit::{AuditAction, AuditActor, AuditEvent};
use crate::calendar::WorkCalendar;
use crate::config::{Config, ConfigError, Database, KeySource};
use crate::letters::LetterStore;
use crate::mailer::Mailer;
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{Store, StoreError};

/// The demo zone shipped with dnsdesk, used when the configured zone file
/// is the default one and is not there (the binary run outside the repo).
const BUILTIN_ZONE: &str = include_str!("../../zones/kalbarprov.go.id.zone");

/// Name of the key generated for the embedded server.
pub const GENERATED_KEY_NAME: &str = "dnsdesk.";

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("TSIG key {path}: {message}")]
    Key { path: String, message: String },
    #[error("embedded DNS server: {0}")]
    Dns(#[from] provisioner::embedded::EmbeddedError),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("cannot listen for HTTP on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("mail: {0}")]
    Mail(String),
}

/// Opens the configured store (creating its directory) and applies
/// migrations.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, StartError> {
    match config.database() {
        Database::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                create_dir(dir)?;
            }
            Ok(Arc::new(SqliteStore::open(&path).await?))
        }
        Database::Postgres(url) => Ok(Arc::new(PgStore::open_url(&url).await?)),
    }
}

/// Creates a directory (and its parents) readable by the service's user
/// only: it holds the database, the TSIG key and the letters.
fn create_dir(dir: &Path) -> Result<(), StartError> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| StartError::Io {
        what: "cannot create directory",
        path: dir.display().to_string(),
        source,
    })
}

/// Reads a configured key.
fn load_key(source: &KeySource) -> Result<TsigKey, StartError> {
    match source {
        KeySource::File(path) => TsigKey::read_file(path).map_err(|e| StartError::Key {
            path: path.display().to_string(),
            message: e.to_string(),
        }),
        KeySource::Inline(inline) => {
            TsigKey::from_parts(&inline.name, &inline.algorithm, &inline.secret).map_err(|e| {
                StartError::Key {
                    path: "zone.tsig_key / zone.transfer_key in the config".to_owned(),
                    message: e.to_string(),
                }
            })
        }
    }
}

/// Reads the update key, generating it first when dnsdesk runs its own
/// server and none exists yet.
fn load_or_generate_key(config: &Config) -> Result<TsigKey, StartError> {
    let source = config.update_key_source();
    let KeySource::File(path) = &source else {
        return load_key(&source);
    };
    let key_error = |message: String| StartError::Key {
        path: path.display().to_string(),
        message,
    };
    if path.exists() {
        return load_key(&source);
    }
    if !config.embedded_dns.enabled {
        return Err(key_error("does not exist".to_owned()));
    }
    let name = Name::from_ascii(GENERATED_KEY_NAME).map_err(|e| key_error(e.to_string()))?;
    let key = TsigKey::generate(name, TsigAlgorithm::HmacSha256);
    key.write_file_new(path)
        .map_err(|e| key_error(e.to_string()))?;
    tracing::info!(path = %path.display(), "generated the TSIG update key (BIND format, mode 0600)");
    Ok(key)
}

/// A running dnsdesk.
#[derive(Debug)]
pub struct Running {
    pub http_addr: SocketAddr,
    pub dns_addr: Option<SocketAddr>,
    pub app: Arc<App>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    embedded: Option<EmbeddedServer>,
}

/// Starts everything; returns once `/healthz` answers.
pub async fn start(config: &Config) -> Result<Running, StartError> {
    create_dir(&config.data_dir)?;
    let store = open_store(config).await?;
    let key = load_or_generate_key(config)?;
    let transfer_key = match config.transfer_key_source() {
        Some(source) => load_key(&source)?,
        None => key.clone(),
    };
    let zone = config.zone_name()?;

    let embedded = if config.embedded_dns.enabled {
        let zone_file = zone_file(config)?;
        let journal = config
            .data_dir
            .join(format!("{}.jnl", provisioner::name::display_name(&zone)));
        Some(
            EmbeddedServer::start(EmbeddedConfig {
                zone: zone.clone(),
                zone_file,
                journal,
                listen: config.embedded_dns.listen,
                update_key: key.clone(),
                key_dir: config.data_dir.clone(),
            })
            .await?,
        )
    } else {
        None
    };
    let dns_addr = embedded.as_ref().map(EmbeddedServer::local_addr);
    let target = zone_target(config, key, transfer_key, dns_addr)?;

    let listener = TcpListener::bind(config.http.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: config.http.listen,
            source,
        })?;
    let http_addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.http.listen,
        source,
    })?;
    let (shutdown, watcher) = watch::channel(false);
    let (leading, leading_rx) = watch::channel(false);
    let lead_task = tokio::spawn(crate::periodic::run(
        store.clone(),
        leading,
        watcher.clone(),
    ));
    let app = Arc::new(App {
        store,
        target,
        names: config.name_policy()?,
        records: config.record_policy(),
        calendar: WorkCalendar::builtin()
            .with_hours(config.working_hours()?)
            .with_standard_days(config.sla.working_days),
        letters: LetterStore::new(config.letters_dir()),
        timing: Timing {
            dns_timeout: config.dns_timeout(),
            verify_deadline: std::time::Duration::from_secs(
                config.provisioning.verify_deadline_secs,
            ),
            max_backoff: std::time::Duration::from_secs(config.provisioning.max_backoff_secs),
            lease: std::time::Duration::from_secs(config.provisioning.lease_secs),
            servfail_attempts: config.provisioning.servfail_attempts,
            batch_size: config.provisioning.batch_size,
        },
        web: crate::app::WebSettings {
            public_url: config.http.public_url.clone(),
            listen: http_addr,
            sessions: Default::default(),
            trusted_proxies: config.http.trusted_proxies.clone(),
        },
        check_limiter: Default::default(),
        complaint_deadlines: config.complaint_deadlines(),
        complaint_lookups: crate::service::complaints::lookup_limiter(),
        complaint_filings: crate::service::complaints::filing_limiter(),
        jobs_queued: Notify::new(),
        mail_queued: Notify::new(),
        leading: leading_rx,
    });
    record_start(&app, config).await?;
    let mailer = Mailer::from_settings(&config.mail, config.outbox_dir())
        .map_err(|e| StartError::Mail(e.to_string()))?;

    let mut tasks = vec![
        lead_task,
        tokio::spawn(log_checkpoints(app.clone(), watcher.clone())),
        tokio::spawn(crate::outbox::run(app.clone(), mailer, watcher.clone())),
        tokio::spawn(drift_checks(
            app.clone(),
            std::time::Duration::from_secs(config.drift.interval_secs),
            watcher.clone(),
        )),
        tokio::spawn(checkpoints(
            app.clone(),
            config.checkpoint_path(),
            config.audit.checkpoint_recipients.clone(),
            std::time::Duration::from_secs(config.audit.checkpoint_interval_secs),
            watcher.clone(),
        )),
    ];
    if config.provisioning.worker {
        tasks.push(tokio::spawn(crate::worker::run(
            app.clone(),
            watcher.clone(),
        )));
    } else {
        tracing::info!("provisioning is left to other instances (provisioning.worker = false)");
    }
    let router = crate::http::router(app.clone());
    let mut http_shutdown = watcher.clone();
    tasks.push(tokio::spawn(async move {
        let stop = async move {
            let _ = http_shutdown.wait_for(|stop| *stop).await;
        };
        if let Err(e) = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop)
        .await
        {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    }));
    Ok(Running {
        http_addr,
        dns_addr,
        app,
        shutdown,
        tasks,
        embedded,
    })
}

impl Running {
    /// Stops HTTP, the worker and the outbox, then the DNS server.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        if let Some(server) = self.embedded
            && let Err(e) = server.shutdown().await
        {
            tracing::warn!(error = %e, "embedded DNS server did not stop cleanly");
        }
    }
}

/// The zone and its servers as configured; `embedded` is where the
/// embedded server actually listens, if it runs.
fn zone_target(
    config: &Config,
    key: TsigKey,
    transfer_key: TsigKey,
    embedded: Option<SocketAddr>,
) -> Result<ZoneTarget, StartError> {
    let primary = config.zone.primary.or(embedded).unwrap_or(config.primary());
    let authoritative = if config.zone.authoritative.is_empty() {
        vec![primary]
    } else {
        config.zone.authoritative.clone()
    };
    let notify = config.notify_targets(primary, &authoritative);
    Ok(ZoneTarget {
        zone: config.zone_name()?,
        primary,
        authoritative,
        key,
        transfer_key,
        notify,
        check_delegations: config.zone.check_delegations,
    })
}

/// The zone target for a command run beside the service (`dnsdesk zone
/// drift`): the configured servers and keys; the embedded server, when
/// enabled, at its configured address.
pub fn configured_target(config: &Config) -> Result<ZoneTarget, StartError> {
    let key = load_key(&config.update_key_source())?;
    let transfer_key = match config.transfer_key_source() {
        Some(source) => load_key(&source)?,
        None => key.clone(),
    };
    zone_target(config, key, transfer_key, None)
}

/// Runs a drift comparison every `interval`, the first one `interval`
/// after the start.
async fn drift_checks(
    app: Arc<App>,
    interval: std::time::Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut leading = app.leading.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        if !crate::periodic::until_leading(&mut leading, &mut shutdown).await {
            return;
        }
        match crate::service::drift::run(app.store.as_ref(), &app.target, app.timing.dns_timeout)
            .await
        {
            Ok(report) if report.opened.is_empty() => {
                tracing::info!(differences = report.findings.len(), "drift check done");
            }
            Ok(report) => {
                tracing::warn!(
                    new = report.opened.len(),
                    "drift check found new differences"
                );
            }
            Err(e) => tracing::error!(error = %e, "drift check failed"),
        }
    }
}

/// Puts the start and what it runs with in the audit log: the zone, its
/// servers and the keys' names (never their secrets).
async fn record_start(app: &App, config: &Config) -> Result<(), StartError> {
    let t = &app.target;
    let addrs = |list: &[SocketAddr]| list.iter().map(ToString::to_string).collect::<Vec<_>>();
    let detail = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "instance": crate::instance::id(),
        "zone": provisioner::name::display_name(&t.zone),
        "primary": t.primary.to_string(),
        "authoritative": addrs(&t.authoritative),
        "notify": addrs(&t.notify),
        "embedded_dns": config.embedded_dns.enabled,
        "database": config.database().describe(),
        "update_key": format!("{} ({})", provisioner::name::display_name(&t.key.name), t.key.algorithm),
        "transfer_key": format!("{} ({})", provisioner::name::display_name(&t.transfer_key.name), t.transfer_key.algorithm),
        "check_delegations": t.check_delegations,
    });
    app.store
        .append_audit(
            AuditEvent::new(AuditAction::ServiceStarted, AuditActor::System).with_detail(detail),
        )
        .await?;
    Ok(())
}

/// Writes an audit checkpoint now if the last one is older than
/// `interval` (or there is none), then every `interval`.
async fn checkpoints(
    app: Arc<App>,
    path: std::path::PathBuf,
    recipients: Vec<String>,
    interval: std::time::Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let last = crate::audit::read_checkpoints(&path)
        .ok()
        .and_then(|marks| marks.last().map(|m| m.at));
    let mut wait = match last {
        Some(at) => std::time::Duration::try_from(at + interval - app.now())
            .unwrap_or(std::time::Duration::ZERO),
        None => std::time::Duration::ZERO,
    };
    let mut leading = app.leading.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
        if !crate::periodic::until_leading(&mut leading, &mut shutdown).await {
            return;
        }
        match crate::service::audit::checkpoint(
            app.store.as_ref(),
            &path,
            &recipients,
            AuditActor::System,
        )
        .await
        {
            Ok(mark) => {
                app.mail_queued.notify_one();
                tracing::info!(seq = mark.seq, path = %path.display(), "audit checkpoint written");
                wait = interval;
            }
            Err(e) => {
                tracing::error!(error = %e, path = %path.display(), "cannot write the audit checkpoint; retrying in a minute");
                wait = std::time::Duration::from_secs(60);
            }
        }
    }
}

/// The zone file to serve: the configured one, or the built-in demo zone
/// when the default path does not exist.
fn zone_file(config: &Config) -> Result<std::path::PathBuf, StartError> {
    let configured = &config.embedded_dns.zone_file;
    if configured.exists() {
        return Ok(configured.clone());
    }
    if *configured != crate::config::EmbeddedDnsConfig::default().zone_file {
        return Err(StartError::Io {
            what: "cannot read zone file",
            path: configured.display().to_string(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    let copy = config.data_dir.join("kalbarprov.go.id.zone");
    if !copy.exists() {
        std::fs::write(&copy, BUILTIN_ZONE).map_err(|source| StartError::Io {
            what: "cannot write zone file",
            path: copy.display().to_string(),
            source,
        })?;
    }
    Ok(copy)
}

/// Checkpoints the store's write-ahead log about once a second, so that
/// no writer has to ([`crate::store::Store::checkpoint_log`]).
async fn log_checkpoints(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(1);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = shutdown.changed() => break,
        }
        if let Err(e) = app.store.checkpoint_log().await {
            tracing::warn!(error = %e, "cannot checkpoint the database log");
        }
    }
}
