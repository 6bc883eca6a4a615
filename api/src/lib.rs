//! dnsdesk's domain model, persistence, provisioning worker and HTTP API.
//!
//! Data flows one way: HTTP handler → use case (`service`) → store (with
//! the job in the same transaction) → worker → provisioner (plan, send,
//! verify) → store → outbox.

pub mod app;
pub mod audit;
pub mod calendar;
pub mod config;
pub mod confirmation;
pub mod error;
pub mod http;
pub mod instance;
pub mod letters;
pub mod mailer;
pub mod model;
pub mod outbox;
pub mod periodic;
pub mod proxy;
pub mod server;
pub mod service;
pub mod store;
pub mod web;
pub mod worker;
