//! Everything DNS for dnsdesk: name and record rules, RFC 2136 update plans,
//! TSIG keys and message signing, sending updates and NOTIFY, verifying
//! authoritative answers, and the embedded authoritative server used on
//! default installs.
//!
//! This crate knows nothing of databases or HTTP, so it can be tested against
//! a DNS server alone and reused by the CLI.

pub mod client;
pub mod drift;
pub mod embedded;
pub mod error;
pub mod name;
pub mod plan;
pub mod record;
pub mod tsig;
pub mod verify;

pub use hickory_proto::rr::{Name, RecordType};
