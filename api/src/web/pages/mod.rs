//! The pages, one module per audience.

pub mod account;
pub mod admin;
pub mod audit;
pub mod complaints;
pub mod ops;
pub mod public;
pub mod reports;
pub mod request_form;
pub mod requests;
pub mod review;
