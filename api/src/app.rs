//! The application context every use case runs in: the store, the zone and
//! its servers, the rules, the calendar, and the signals that wake the
//! background tasks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use provisioner::Name;
use provisioner::name::NamePolicy;
use provisioner::record::RecordPolicy;
use provisioner::tsig::TsigKey;
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

use crate::calendar::WorkCalendar;
use crate::letters::LetterStore;
use crate::store::Store;

/// The zone dnsdesk manages and how to reach its servers.
#[derive(Debug, Clone)]
pub struct ZoneTarget {
    pub zone: Name,
    /// Where updates go.
    pub primary: SocketAddr,
    /// Every server that must agree before a request is active. Nothing
    /// else is ever queried.
    pub authoritative: Vec<SocketAddr>,
    /// Signs updates.
    pub key: TsigKey,
    /// Signs zone transfers (glue checks); often the update key.
    pub transfer_key: TsigKey,
    /// Secondaries to NOTIFY after each accepted update.
    pub notify: Vec<SocketAddr>,
    /// Whether NS requests wait for every delegated server to answer
    /// authoritatively for the child zone.
    pub check_delegations: bool,
}

/// How the provisioning worker paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub dns_timeout: Duration,
    pub verify_deadline: Duration,
    pub max_backoff: Duration,
    pub lease: Duration,
    /// SERVFAIL answers in a row after which a request fails: the server
    /// answers, so it is up, and keeps saying it cannot.
    pub servfail_attempts: usize,
    /// Most requests one UPDATE message carries.
    pub batch_size: usize,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            dns_timeout: Duration::from_secs(5),
            verify_deadline: Duration::from_secs(600),
            max_backoff: Duration::from_secs(300),
            lease: Duration::from_secs(60),
            servfail_attempts: 5,
            batch_size: 100,
        }
    }
}

/// How people reach dnsdesk: links in letters and e-mails, and whether
/// cookies must be HTTPS-only.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// The public base URL without a trailing slash, e.g.
    /// `https://dnsdesk.kalbarprov.go.id`; None: links are made from the
    /// HTTP listen address.
    pub public_url: Option<String>,
    /// Where the HTTP server listens (for links when no public URL is set).
    pub listen: SocketAddr,
    /// Session lifetimes and sign-in throttling.
    pub sessions: crate::service::accounts::SessionPolicy,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<crate::proxy::ProxyNet>,
}

impl WebSettings {
    /// The base of absolute links, without a trailing slash.
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    /// Whether people reach dnsdesk over HTTPS: cookies are then `Secure`
    /// and the session cookie takes the `__Host-` prefix.
    pub fn https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }

    /// The absolute URL of the public check page for `name`.
    pub fn check_url(&self, name: &str) -> String {
        format!("{}/check?name={name}", self.base_url())
    }
}

/// Shared state of the running service.
#[derive(Debug)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub target: ZoneTarget,
    pub names: NamePolicy,
    pub records: RecordPolicy,
    pub calendar: WorkCalendar,
    pub letters: LetterStore,
    pub timing: Timing,
    /// How people reach the web interface.
    pub web: WebSettings,
    /// Limits the public check per client.
    pub check_limiter: crate::web::ratelimit::RateLimiter,
    /// Working days allowed per complaint category.
    pub complaint_deadlines: crate::model::ComplaintDeadlines,
    /// Limits looking complaints up by tracking code per client (the API
    /// and the status page together), so codes cannot be guessed.
    pub complaint_lookups: crate::web::ratelimit::RateLimiter,
    /// Limits complaints filed without signing in per client (spam).
    pub complaint_filings: crate::web::ratelimit::RateLimiter,
    /// Wakes the provisioning worker (a job was queued).
    pub jobs_queued: Notify,
    /// Wakes the mail sender (a mail was queued).
    pub mail_queued: Notify,
    /// Whether this instance runs the periodic work now
    /// ([`crate::periodic`]).
    pub leading: watch::Receiver<bool>,
}

impl App {
    /// The current time, truncated to milliseconds (what the store keeps).
    pub fn now(&self) -> OffsetDateTime {
        now()
    }
}

/// The current time, truncated to milliseconds (what the store keeps).
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    let ms = t.unix_timestamp_nanos() / 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).unwrap_or(t)
}
