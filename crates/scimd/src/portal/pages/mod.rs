//! The portal's pages: one module per page family, each with its handlers (one per route of
//! [`super::routes`], or one for routes that differ only in a request extension, such as a
//! user page's tab) and the templates they render. Handlers call the directory's
//! administrator operations (the same ones the admin API calls).

pub mod account;
pub mod attributes;
pub mod audit;
mod common;
pub mod dashboard;
pub mod groups;
pub mod history;
pub mod log;
pub mod provisioning;
mod records;
pub mod settings;
pub mod signin;
pub mod tenants;
pub mod users;
mod warnings;
