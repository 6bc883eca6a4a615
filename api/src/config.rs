//! Configuration, parsed once into types: built-in defaults, then the TOML
//! file (if any), then `DNSDESK_*` environment variables.
//!
//! With no file and no variables, dnsdesk runs on embedded defaults: HTTP
//! on 127.0.0.1:8080, SQLite under `data/`, and the embedded authoritative
//! server on 127.0.0.1:5353 serving `zones/kalbarprov.go.id.zone`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use provisioner::Name;
use provisioner::name::{NamePolicy, ReservedLabel};
use provisioner::record::RecordPolicy;
use serde::{Deserialize, Deserializer};
use time::Time;

use crate::calendar::{STANDARD_WORKING_DAYS, WorkingHours};

/// Why the configuration cannot be used. Each names the setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("{setting}: {message}")]
    Invalid { setting: String, message: String },
}

fn invalid(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.to_owned(),
        message: message.into(),
    }
}

/// Which database the store lives in.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// One file, for one instance.
    Sqlite(PathBuf),
    /// A `postgres://` URL, which may carry a password: `Debug` and
    /// [`Database::describe`] show the server and database only.
    Postgres(String),
}

impl Database {
    /// Where the data is, for logs and the start-up audit entry: the file,
    /// or `postgres://host:port/database` without user or password.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(url) => {
                let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
                let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
                let host = host.split_once('?').map_or(host, |(h, _)| h);
                format!("postgres://{host}")
            }
        }
    }
}

/// `database_url` as configured. It may carry a password, so `Debug`
/// shows it as [`Database::describe`] does.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(pub String);

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let database = if self.0.starts_with("postgres") {
            Database::Postgres(self.0.clone())
        } else {
            Database::Sqlite(PathBuf::from(&self.0))
        };
        f.write_str(&database.describe())
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the database, keys, letters and outbox live.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` (the default is `<data_dir>/dnsdesk.db`) or
    /// `postgres://USER@HOST:PORT/DATABASE` for several instances on one
    /// database.
    pub database_url: Option<DatabaseUrl>,
    pub http: HttpConfig,
    pub zone: ZoneConfig,
    pub embedded_dns: EmbeddedDnsConfig,
    pub provisioning: ProvisioningConfig,
    pub mail: MailSettings,
    pub audit: AuditSettings,
    pub drift: DriftSettings,
    pub sla: SlaSettings,
    pub complaints: ComplaintSettings,
}

/// `[complaints]`: the working days the service standard allows to
/// resolve a complaint of each category.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComplaintSettings {
    /// Light complaints (default 5).
    pub ringan_days: u32,
    /// Normative complaints (default 5).
    pub normatif_days: u32,
    /// Complaints not involving supervision (default 14).
    pub tidak_berkadar_pengawasan_days: u32,
    /// Complaints involving supervision, needing an investigation
    /// (default 60).
    pub berkadar_pengawasan_days: u32,
}

impl Default for ComplaintSettings {
    fn default() -> Self {
        let standard = crate::model::ComplaintDeadlines::default();
        Self {
            ringan_days: standard.ringan,
            normatif_days: standard.normatif,
            tidak_berkadar_pengawasan_days: standard.tidak_berkadar_pengawasan,
            berkadar_pengawasan_days: standard.berkadar_pengawasan,
        }
    }
}

/// The request SLA of the service standard: "3 hari kerja", counted in the
/// office's working hours (WIB, Monday to Friday minus holidays and
/// collective leave).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaSettings {
    /// When the working day starts, `HH:MM` WIB (default `07:30`).
    #[serde(deserialize_with = "clock_time")]
    pub working_hours_start: Time,
    /// When it ends, `HH:MM` WIB, after the start (default `16:00`).
    #[serde(deserialize_with = "clock_time")]
    pub working_hours_end: Time,
    /// Working days from submission to activation (default 3); a request
    /// is due after this many working days' worth of working hours.
    pub working_days: u32,
}

impl Default for SlaSettings {
    fn default() -> Self {
        let office = WorkingHours::OFFICE;
        Self {
            working_hours_start: office.start(),
            working_hours_end: office.end(),
            working_days: STANDARD_WORKING_DAYS,
        }
    }
}

/// `"07:30"` as a time of day; the error names the text (and, through
/// TOML, the line).
fn clock_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Time, D::Error> {
    let text = String::deserialize(deserializer)?;
    WorkingHours::parse_clock(&text).map_err(serde::de::Error::custom)
}

/// The periodic drift check.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriftSettings {
    /// Seconds between checks (default: hourly).
    pub interval_secs: u64,
}

impl Default for DriftSettings {
    fn default() -> Self {
        Self {
            interval_secs: 3_600,
        }
    }
}

/// The audit log's checkpoints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// Where checkpoints (the chain's head, one JSON line each) are
    /// appended; best on storage the database's admins cannot rewrite.
    /// Defaults to `<data_dir>/audit-checkpoints.jsonl`.
    pub checkpoint_file: Option<PathBuf>,
    /// Seconds between checkpoints (default: daily).
    pub checkpoint_interval_secs: u64,
    /// Who gets each checkpoint by e-mail (network admins).
    pub checkpoint_recipients: Vec<String>,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            checkpoint_file: None,
            checkpoint_interval_secs: 86_400,
            checkpoint_recipients: Vec::new(),
        }
    }
}

/// The HTTP API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// How people reach dnsdesk, for links in e-mails.
    pub public_url: Option<String>,
    /// Reverse proxies (addresses or networks, `10.0.0.5`, `10.0.0.0/24`)
    /// whose `X-Forwarded-For` names the client (api::proxy); empty: the
    /// peer address is the client.
    pub trusted_proxies: Vec<crate::proxy::ProxyNet>,
}

/// The managed zone and the servers that hold it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZoneConfig {
    pub name: String,
    /// Where updates are sent. Defaults to the embedded server.
    pub primary: Option<SocketAddr>,
    /// Every server to verify. Defaults to the primary alone.
    pub authoritative: Vec<SocketAddr>,
    /// The update key: a BIND key file (as `tsig-keygen` writes it), a
    /// Knot key file (as `keymgr -t` writes it) or one `[alg:]name:secret`
    /// line. Defaults to `<data_dir>/dnsdesk.key`, generated at first start
    /// when the embedded server is used.
    pub tsig_key_file: Option<PathBuf>,
    /// The update key written in this file instead (`name`, `algorithm`,
    /// `secret`); exclusive with `tsig_key_file`.
    pub tsig_key: Option<InlineKey>,
    /// The key for zone transfers (glue checks, drift), if the servers use
    /// another one than for updates. Same formats as `tsig_key_file`.
    pub transfer_key_file: Option<PathBuf>,
    /// The transfer key written in this file instead.
    pub transfer_key: Option<InlineKey>,
    /// Secondaries dnsdesk sends NOTIFY (RFC 1996) to itself after each
    /// accepted update, so verification need not wait for the primary's
    /// notify delay. Defaults to every authoritative server but the primary.
    pub notify: Option<Vec<SocketAddr>>,
    /// Whether to send those NOTIFY messages at all.
    pub send_notify: bool,
    /// For NS requests, require every delegated server to answer
    /// authoritatively for the child zone (no lame delegation) before the
    /// request is active.
    pub check_delegations: bool,
    /// First labels below the zone that are never handed out (`*` globs).
    pub reserved: Vec<String>,
    pub allow_private_addresses: bool,
    pub min_ttl: u32,
    pub max_ttl: u32,
    pub default_ttl: u32,
}

/// A TSIG key written out in the config file.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineKey {
    pub name: String,
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    /// Base64, as in BIND's `secret "..."` clause.
    pub secret: String,
}

impl std::fmt::Debug for InlineKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &"<secret>")
            .finish()
    }
}

fn default_algorithm() -> String {
    "hmac-sha256".to_owned()
}

/// Where a TSIG key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    File(PathBuf),
    Inline(InlineKey),
}

/// The embedded authoritative server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbeddedDnsConfig {
    pub enabled: bool,
    pub listen: SocketAddr,
    /// Read when no journal exists yet.
    pub zone_file: PathBuf,
}

/// The provisioning worker.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisioningConfig {
    /// How long to wait for one DNS answer.
    pub dns_timeout_secs: u64,
    /// How long servers may take to agree before a request fails.
    pub verify_deadline_secs: u64,
    /// Upper bound of the retry backoff after timeouts and SERVFAIL.
    pub max_backoff_secs: u64,
    /// How long a worker's claim on a job lasts without renewal.
    pub lease_secs: u64,
    /// SERVFAIL answers to one request's update in a row before it fails
    /// (timeouts and refused connections are retried without limit).
    pub servfail_attempts: usize,
    /// Most requests one UPDATE message carries: approved requests waiting
    /// together are sent together, each with its own prerequisites (1:
    /// one message per request).
    pub batch_size: usize,
    /// Whether this instance provisions; false for an instance that serves
    /// the API and UI only while others do the DNS work.
    pub worker: bool,
}

/// The largest `provisioning.batch_size`: keeps a message well inside
/// the 64 KiB of DNS over TCP.
pub const MAX_BATCH_SIZE: usize = 500;

/// E-mail delivery.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    pub from: String,
    /// SMTP relay; without it mail is written as `.eml` files under
    /// `<data_dir>/outbox/`.
    pub smtp: Option<SmtpSettings>,
}

/// An SMTP relay (plain SMTP; the relay is expected on a trusted network).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    pub username: Option<String>,
    /// A file holding the password alone.
    pub password_file: Option<PathBuf>,
}

fn default_smtp_port() -> u16 {
    25
}

/// The default zone.
pub const DEFAULT_ZONE: &str = "kalbarprov.go.id";

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            database_url: None,
            http: HttpConfig::default(),
            zone: ZoneConfig::default(),
            embedded_dns: EmbeddedDnsConfig::default(),
            provisioning: ProvisioningConfig::default(),
            mail: MailSettings::default(),
            audit: AuditSettings::default(),
            drift: DriftSettings::default(),
            sla: SlaSettings::default(),
            complaints: ComplaintSettings::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for ZoneConfig {
    fn default() -> Self {
        let records = RecordPolicy::default();
        Self {
            name: DEFAULT_ZONE.to_owned(),
            primary: None,
            authoritative: Vec::new(),
            tsig_key_file: None,
            tsig_key: None,
            transfer_key_file: None,
            transfer_key: None,
            notify: None,
            send_notify: true,
            check_delegations: true,
            reserved: NamePolicy::DEFAULT_RESERVED
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            allow_private_addresses: records.allow_private_addresses,
            min_ttl: records.min_ttl,
            max_ttl: records.max_ttl,
            default_ttl: records.default_ttl,
        }
    }
}

impl Default for EmbeddedDnsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 5353)),
            zone_file: PathBuf::from("zones/kalbarprov.go.id.zone"),
        }
    }
}

impl Default for ProvisioningConfig {
    fn default() -> Self {
        Self {
            dns_timeout_secs: 5,
            verify_deadline_secs: 600,
            max_backoff_secs: 300,
            lease_secs: 60,
            servfail_attempts: 5,
            batch_size: 100,
            worker: true,
        }
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            from: "dnsdesk <dnsdesk@kalbarprov.go.id>".to_owned(),
            smtp: None,
        }
    }
}

impl Config {
    /// Defaults, then `file` if given, then the environment as seen
    /// through `env` (so tests need not touch the process environment).
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.to_owned(),
                    source,
                })?
            }
            None => Config::default(),
        };
        config.apply_env(env)?;
        config.check()?;
        Ok(config)
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(dir) = env("DNSDESK_DATA_DIR") {
            self.data_dir = PathBuf::from(dir);
        }
        if let Some(url) = env("DNSDESK_DATABASE_URL") {
            self.database_url = Some(DatabaseUrl(url));
        }
        if let Some(addr) = env("DNSDESK_HTTP_LISTEN") {
            self.http.listen = parse_addr("DNSDESK_HTTP_LISTEN", &addr)?;
        }
        if let Some(addr) = env("DNSDESK_DNS_LISTEN") {
            self.embedded_dns.listen = parse_addr("DNSDESK_DNS_LISTEN", &addr)?;
        }
        if let Some(list) = env("DNSDESK_TRUSTED_PROXIES") {
            self.http.trusted_proxies = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse()
                        .map_err(|e: String| invalid("DNSDESK_TRUSTED_PROXIES", e))
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(url) = env("DNSDESK_PUBLIC_URL") {
            self.http.public_url = Some(url);
        }
        if let Some(path) = env("DNSDESK_ZONE_FILE") {
            self.embedded_dns.zone_file = PathBuf::from(path);
        }
        if let Some(flag) = env("DNSDESK_EMBEDDED_DNS") {
            self.embedded_dns.enabled = parse_bool("DNSDESK_EMBEDDED_DNS", &flag)?;
        }
        if let Some(flag) = env("DNSDESK_WORKER") {
            self.provisioning.worker = parse_bool("DNSDESK_WORKER", &flag)?;
        }
        if let Some(zone) = env("DNSDESK_ZONE") {
            self.zone.name = zone;
        }
        if let Some(addr) = env("DNSDESK_PRIMARY") {
            self.zone.primary = Some(parse_addr("DNSDESK_PRIMARY", &addr)?);
        }
        if let Some(list) = env("DNSDESK_AUTHORITATIVE") {
            self.zone.authoritative = parse_addrs("DNSDESK_AUTHORITATIVE", &list)?;
        }
        if let Some(list) = env("DNSDESK_NOTIFY") {
            self.zone.notify = Some(parse_addrs("DNSDESK_NOTIFY", &list)?);
        }
        if let Some(path) = env("DNSDESK_TSIG_KEY_FILE") {
            self.zone.tsig_key_file = Some(PathBuf::from(path));
            self.zone.tsig_key = None;
        }
        if let Some(path) = env("DNSDESK_TRANSFER_KEY_FILE") {
            self.zone.transfer_key_file = Some(PathBuf::from(path));
            self.zone.transfer_key = None;
        }
        Ok(())
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.zone_name()?;
        if !self.embedded_dns.enabled && self.zone.primary.is_none() {
            return Err(invalid(
                "zone.primary",
                "is required when embedded_dns.enabled is false",
            ));
        }
        if self.zone.tsig_key_file.is_some() && self.zone.tsig_key.is_some() {
            return Err(invalid(
                "zone.tsig_key",
                "give either zone.tsig_key_file or zone.tsig_key, not both",
            ));
        }
        if self.zone.transfer_key_file.is_some() && self.zone.transfer_key.is_some() {
            return Err(invalid(
                "zone.transfer_key",
                "give either zone.transfer_key_file or zone.transfer_key, not both",
            ));
        }
        if !self.embedded_dns.enabled
            && self.zone.tsig_key_file.is_none()
            && self.zone.tsig_key.is_none()
        {
            return Err(invalid(
                "zone.tsig_key_file",
                "is required when embedded_dns.enabled is false (or give zone.tsig_key)",
            ));
        }
        let z = &self.zone;
        if z.min_ttl > z.max_ttl || !(z.min_ttl..=z.max_ttl).contains(&z.default_ttl) {
            return Err(invalid(
                "zone.default_ttl",
                "must lie within zone.min_ttl..=zone.max_ttl",
            ));
        }
        if let Some(DatabaseUrl(url)) = &self.database_url
            && !url.starts_with("sqlite:")
            && !url.starts_with("postgres://")
            && !url.starts_with("postgresql://")
        {
            return Err(invalid(
                "database_url",
                "must start with sqlite:// or postgres://",
            ));
        }
        if self.provisioning.dns_timeout_secs == 0 || self.provisioning.lease_secs == 0 {
            return Err(invalid(
                "provisioning",
                "dns_timeout_secs and lease_secs must be at least 1",
            ));
        }
        if !(1..=MAX_BATCH_SIZE).contains(&self.provisioning.batch_size) {
            return Err(invalid(
                "provisioning.batch_size",
                format!("must be between 1 and {MAX_BATCH_SIZE}"),
            ));
        }
        if self.drift.interval_secs == 0 {
            return Err(invalid("drift.interval_secs", "must be at least 1"));
        }
        if self.audit.checkpoint_interval_secs == 0 {
            return Err(invalid(
                "audit.checkpoint_interval_secs",
                "must be at least 1",
            ));
        }
        if self.provisioning.servfail_attempts == 0 {
            return Err(invalid(
                "provisioning.servfail_attempts",
                "must be at least 1",
            ));
        }
        self.working_hours()?;
        if self.sla.working_days == 0 {
            return Err(invalid("sla.working_days", "must be at least 1"));
        }
        self.check_complaints()?;
        Ok(())
    }

    /// Every complaint category needs some time to be resolved in.
    fn check_complaints(&self) -> Result<(), ConfigError> {
        let c = &self.complaints;
        for (setting, days) in [
            ("complaints.ringan_days", c.ringan_days),
            ("complaints.normatif_days", c.normatif_days),
            (
                "complaints.tidak_berkadar_pengawasan_days",
                c.tidak_berkadar_pengawasan_days,
            ),
            (
                "complaints.berkadar_pengawasan_days",
                c.berkadar_pengawasan_days,
            ),
        ] {
            if days == 0 {
                return Err(invalid(setting, "must be at least 1"));
            }
        }
        Ok(())
    }

    /// The working days allowed per complaint category.
    pub fn complaint_deadlines(&self) -> crate::model::ComplaintDeadlines {
        let c = &self.complaints;
        crate::model::ComplaintDeadlines {
            ringan: c.ringan_days,
            normatif: c.normatif_days,
            tidak_berkadar_pengawasan: c.tidak_berkadar_pengawasan_days,
            berkadar_pengawasan: c.berkadar_pengawasan_days,
        }
    }

    /// The office's working hours that request deadlines count in.
    pub fn working_hours(&self) -> Result<WorkingHours, ConfigError> {
        WorkingHours::new(self.sla.working_hours_start, self.sla.working_hours_end)
            .map_err(|e| invalid("sla.working_hours_end", e.to_string()))
    }

    /// The zone as a fully qualified name.
    pub fn zone_name(&self) -> Result<Name, ConfigError> {
        provisioner::name::parse_host_name(&self.zone.name)
            .map_err(|e| invalid("zone.name", e.to_string()))
    }

    /// The database: a SQLite file, or a PostgreSQL server's URL.
    pub fn database(&self) -> Database {
        match self.database_url.as_ref().map(|u| u.0.as_str()) {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Database::Postgres(url.to_owned())
            }
            Some(url) => Database::Sqlite(PathBuf::from(
                url.trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:"),
            )),
            None => Database::Sqlite(self.data_dir.join("dnsdesk.db")),
        }
    }

    /// The update key file (the generated one when none is configured).
    pub fn tsig_key_path(&self) -> PathBuf {
        self.zone
            .tsig_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("dnsdesk.key"))
    }

    /// Where the update key comes from.
    pub fn update_key_source(&self) -> KeySource {
        match &self.zone.tsig_key {
            Some(inline) => KeySource::Inline(inline.clone()),
            None => KeySource::File(self.tsig_key_path()),
        }
    }

    /// Where the transfer key comes from, when it is not the update key.
    pub fn transfer_key_source(&self) -> Option<KeySource> {
        match (&self.zone.transfer_key, &self.zone.transfer_key_file) {
            (Some(inline), _) => Some(KeySource::Inline(inline.clone())),
            (None, Some(path)) => Some(KeySource::File(path.clone())),
            (None, None) => None,
        }
    }

    /// Where updates go.
    pub fn primary(&self) -> SocketAddr {
        self.zone.primary.unwrap_or(self.embedded_dns.listen)
    }

    /// The servers to verify.
    pub fn authoritative(&self) -> Vec<SocketAddr> {
        if self.zone.authoritative.is_empty() {
            vec![self.primary()]
        } else {
            self.zone.authoritative.clone()
        }
    }

    /// The secondaries to NOTIFY after an update made through `primary`,
    /// verifying `authoritative`.
    pub fn notify_targets(
        &self,
        primary: SocketAddr,
        authoritative: &[SocketAddr],
    ) -> Vec<SocketAddr> {
        if !self.zone.send_notify {
            return Vec::new();
        }
        match &self.zone.notify {
            Some(list) => list.clone(),
            None => authoritative
                .iter()
                .copied()
                .filter(|a| *a != primary)
                .collect(),
        }
    }

    /// Name rules from the settings.
    pub fn name_policy(&self) -> Result<NamePolicy, ConfigError> {
        Ok(NamePolicy::new(
            self.zone_name()?,
            self.zone
                .reserved
                .iter()
                .map(|p| ReservedLabel::new(p))
                .collect(),
        ))
    }

    /// Record rules from the settings.
    pub fn record_policy(&self) -> RecordPolicy {
        RecordPolicy {
            min_ttl: self.zone.min_ttl,
            max_ttl: self.zone.max_ttl,
            default_ttl: self.zone.default_ttl,
            allow_private_addresses: self.zone.allow_private_addresses,
        }
    }

    /// Letters are kept here, by content hash.
    pub fn letters_dir(&self) -> PathBuf {
        self.data_dir.join("letters")
    }

    /// The audit checkpoint file.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.audit
            .checkpoint_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-checkpoints.jsonl"))
    }

    /// `.eml` files go here when no SMTP relay is configured.
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// Timeout for one DNS exchange.
    pub fn dns_timeout(&self) -> Duration {
        Duration::from_secs(self.provisioning.dns_timeout_secs)
    }
}

fn parse_addr(setting: &str, text: &str) -> Result<SocketAddr, ConfigError> {
    text.parse().map_err(|_| {
        invalid(
            setting,
            format!("\"{text}\" is not an address like 127.0.0.1:8080"),
        )
    })
}

/// A comma-separated list of addresses; empty means none.
fn parse_addrs(setting: &str, text: &str) -> Result<Vec<SocketAddr>, ConfigError> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse_addr(setting, s))
        .collect()
}

fn parse_bool(setting: &str, text: &str) -> Result<bool, ConfigError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(invalid(setting, format!("\"{text}\" is not true or false"))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults_run_embedded() {
        let c = Config::load(None, |_| None).unwrap();
        assert_eq!(c.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.primary().to_string(), "127.0.0.1:5353");
        assert_eq!(c.authoritative(), vec![c.primary()]);
        assert_eq!(
            c.database(),
            Database::Sqlite(PathBuf::from("data/dnsdesk.db"))
        );
        assert_eq!(c.tsig_key_path(), PathBuf::from("data/dnsdesk.key"));
    }

    #[test]
    fn trusted_proxies_come_from_the_environment_and_bad_ones_are_named() {
        let env =
            |v: &'static str| move |k: &str| (k == "DNSDESK_TRUSTED_PROXIES").then(|| v.to_owned());
        let c = Config::load(None, env("10.0.0.5, 10.1.0.0/16")).unwrap();
        let shown: Vec<String> = c
            .http
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["10.0.0.5/32", "10.1.0.0/16"]);
        let err = Config::load(None, env("10.0.0.0/40"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("DNSDESK_TRUSTED_PROXIES"), "{err}");
        assert!(
            Config::load(None, |_| None)
                .unwrap()
                .http
                .trusted_proxies
                .is_empty()
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dnsdesk.toml");
        std::fs::write(
            &path,
            "[http]\ntrusted_proxies = [\"10.0.0.10\", \"10.0.0.0/99\"]\n",
        )
        .unwrap();
        let err = Config::load(Some(&path), |_| None).unwrap_err().to_string();
        assert!(
            err.contains("trusted_proxies") && err.contains("0 to 32"),
            "{err}"
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dnsdesk.toml");
        std::fs::write(
            &path,
            "data_dir = \"/srv/a\"\n[http]\nlisten = \"127.0.0.1:9000\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&path), |k| {
            (k == "DNSDESK_HTTP_LISTEN").then(|| "127.0.0.1:9100".to_owned())
        })
        .unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/srv/a"));
        assert_eq!(c.http.listen.port(), 9100);
    }

    #[test]
    fn errors_name_the_setting() {
        let e =
            Config::load(None, |k| (k == "DNSDESK_DNS_LISTEN").then(|| "nope".into())).unwrap_err();
        assert!(e.to_string().starts_with("DNSDESK_DNS_LISTEN"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[zone]\nbogus = 1\n").unwrap();
        let e = Config::load(Some(&path), |_| None).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        std::fs::write(&path, "[embedded_dns]\nenabled = false\n").unwrap();
        let e = Config::load(Some(&path), |_| None).unwrap_err();
        assert!(e.to_string().starts_with("zone.primary"), "{e}");
        for size in ["0", "501"] {
            std::fs::write(&path, format!("[provisioning]\nbatch_size = {size}\n")).unwrap();
            let e = Config::load(Some(&path), |_| None).unwrap_err();
            assert!(e.to_string().starts_with("provisioning.batch_size"), "{e}");
        }
    }

    #[test]
    fn one_zone_from_the_environment_alone() {
        let env = |k: &str| {
            match k {
                "DNSDESK_EMBEDDED_DNS" => Some("false"),
                "DNSDESK_ZONE" => Some("example.go.id"),
                "DNSDESK_PRIMARY" => Some("192.0.2.53:53"),
                "DNSDESK_TSIG_KEY_FILE" => Some("/etc/dnsdesk/dnsdesk.key"),
                "DNSDESK_AUTHORITATIVE" => Some("192.0.2.53:53, 192.0.2.54:53"),
                _ => None,
            }
            .map(str::to_owned)
        };
        let c = Config::load(None, env).unwrap();
        assert!(!c.embedded_dns.enabled);
        assert_eq!(c.zone_name().unwrap().to_ascii(), "example.go.id.");
        let primary: SocketAddr = "192.0.2.53:53".parse().unwrap();
        let secondary: SocketAddr = "192.0.2.54:53".parse().unwrap();
        assert_eq!(c.primary(), primary);
        assert_eq!(c.authoritative(), vec![primary, secondary]);
        assert_eq!(
            c.notify_targets(primary, &c.authoritative()),
            vec![secondary]
        );
        assert!(
            matches!(c.update_key_source(), KeySource::File(p) if p == Path::new("/etc/dnsdesk/dnsdesk.key"))
        );
        assert!(c.transfer_key_source().is_none());

        let c = Config::load(None, |k| {
            (k == "DNSDESK_WORKER").then(|| "false".to_owned())
        })
        .unwrap();
        assert!(!c.provisioning.worker);
        let e = Config::load(None, |k| {
            (k == "DNSDESK_WORKER").then(|| "sometimes".to_owned())
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("DNSDESK_WORKER"), "{e}");
        let e = Config::load(None, |k| {
            (k == "DNSDESK_EMBEDDED_DNS").then(|| "maybe".to_owned())
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("DNSDESK_EMBEDDED_DNS"), "{e}");
        let e = Config::load(None, |k| {
            (k == "DNSDESK_AUTHORITATIVE").then(|| "192.0.2.53:53,nope".to_owned())
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("DNSDESK_AUTHORITATIVE"), "{e}");
    }

    #[test]
    fn inline_keys_hide_their_secret_and_exclude_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[zone]\nnotify = []\n[zone.tsig_key]\nname = \"dnsdesk.\"\nsecret = \"c2VjcmV0c2VjcmV0\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&path), |_| None).unwrap();
        let KeySource::Inline(key) = c.update_key_source() else {
            panic!("inline key expected");
        };
        assert_eq!(key.algorithm, "hmac-sha256");
        assert!(!format!("{c:?}").contains("c2VjcmV0c2VjcmV0"));
        let primary: SocketAddr = "192.0.2.53:53".parse().unwrap();
        assert!(
            c.notify_targets(primary, &[primary, "192.0.2.54:53".parse().unwrap()])
                .is_empty()
        );
        let c = Config::load(Some(&path), |k| {
            (k == "DNSDESK_TRANSFER_KEY_FILE").then(|| "/x".to_owned())
        })
        .unwrap();
        assert!(
            matches!(c.transfer_key_source(), Some(KeySource::File(p)) if p == Path::new("/x"))
        );
        std::fs::write(
            &path,
            "[zone]\ntsig_key_file = \"/k\"\n[zone.tsig_key]\nname = \"a.\"\nsecret = \"c2VjcmV0\"\n",
        )
        .unwrap();
        let e = Config::load(Some(&path), |_| None).unwrap_err();
        assert!(e.to_string().starts_with("zone.tsig_key"), "{e}");
    }

    #[test]
    fn working_hours_are_checked() {
        let c = Config::load(None, |_| None).unwrap();
        assert_eq!(c.working_hours().unwrap(), WorkingHours::OFFICE);
        assert_eq!(c.sla.working_days, 3);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[sla]\nworking_hours_start = \"08:00\"\nworking_hours_end = \"15:30\"\nworking_days = 5\n",
        )
        .unwrap();
        let c = Config::load(Some(&path), |_| None).unwrap();
        let hours = c.working_hours().unwrap();
        assert_eq!(hours.to_string(), "08:00–15:30 WIB");
        assert_eq!(c.sla.working_days, 5);
        for (text, setting) in [
            (
                "[sla]\nworking_hours_start = \"16:00\"\nworking_hours_end = \"07:30\"\n",
                "sla.working_hours_end",
            ),
            ("[sla]\nworking_days = 0\n", "sla.working_days"),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = Config::load(Some(&path), |_| None).unwrap_err();
            assert!(e.to_string().starts_with(setting), "{e}");
        }
        for text in [
            "[sla]\nworking_hours_start = \"7.30\"\n",
            "[sla]\nworking_hours_end = \"24:00\"\n",
            "[sla]\nhours = 8\n",
        ] {
            std::fs::write(&path, text).unwrap();
            let e = Config::load(Some(&path), |_| None).unwrap_err();
            assert!(e.to_string().contains("line 2"), "{e}");
        }
    }

    #[test]
    fn complaint_deadlines_default_to_the_standard_and_are_checked() {
        let c = Config::load(None, |_| None).unwrap();
        assert_eq!(
            c.complaint_deadlines(),
            crate::model::ComplaintDeadlines::default()
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[complaints]\nringan_days = 3\nberkadar_pengawasan_days = 90\n",
        )
        .unwrap();
        let c = Config::load(Some(&path), |_| None).unwrap();
        let d = c.complaint_deadlines();
        assert_eq!(
            (
                d.ringan,
                d.normatif,
                d.tidak_berkadar_pengawasan,
                d.berkadar_pengawasan
            ),
            (3, 5, 14, 90)
        );
        std::fs::write(&path, "[complaints]\nnormatif_days = 0\n").unwrap();
        let e = Config::load(Some(&path), |_| None).unwrap_err();
        assert!(e.to_string().starts_with("complaints.normatif_days"), "{e}");
        std::fs::write(&path, "[complaints]\nsedang_days = 7\n").unwrap();
        assert!(Config::load(Some(&path), |_| None).is_err());
    }

    #[test]
    fn the_example_file_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dnsdesk.example.toml");
        Config::load(Some(&path), |_| None).unwrap();
    }
}
