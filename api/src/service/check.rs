//! The public "Cek Subdomain": what each authoritative server answers for
//! a name now. No login: anyone may ask, so the handler rate-limits it.

use provisioner::Name;
use provisioner::name::display_name;
use provisioner::plan::rr_text;
use provisioner::verify::{observe, questions_for};

use crate::app::App;
use crate::error::ServiceError;

/// One server's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAnswer {
    pub server: String,
    /// The records it serves at the name (presentation format, with TTL),
    /// or why it could not be asked.
    pub answer: Result<Vec<String>, String>,
}

/// Every authoritative server's answer for one name.
#[derive(Debug, Clone)]
pub struct NameCheck {
    pub name: String,
    pub servers: Vec<ServerAnswer>,
}

impl NameCheck {
    /// Whether every server answered, and with the same records.
    pub fn consistent(&self) -> bool {
        let mut answers = self.servers.iter().map(|s| s.answer.as_ref().ok());
        match answers.next() {
            Some(Some(first)) => answers.all(|a| a == Some(first)),
            _ => false,
        }
    }
}

/// Asks every authoritative server of the zone, concurrently, for every
/// record type dnsdesk manages at `name`.
pub async fn check_name(app: &App, name: &str) -> Result<NameCheck, ServiceError> {
    let name: Name = app
        .names
        .parse_subdomain(name)
        .map_err(|e| ServiceError::invalid("name", e.to_string()))?;
    let questions = questions_for(&name, &[]);
    let servers = futures_util::future::join_all(app.target.authoritative.iter().map(|server| {
        let questions = &questions;
        async move {
            let answer = observe(*server, questions, app.timing.dns_timeout)
                .await
                .map(|slice| {
                    let mut lines: Vec<String> =
                        slice.records().map(|r| rr_text(r, true)).collect();
                    lines.sort();
                    lines
                })
                .map_err(|e| e.to_string());
            ServerAnswer {
                server: server.to_string(),
                answer,
            }
        }
    }))
    .await;
    Ok(NameCheck {
        name: display_name(&name),
        servers,
    })
}
