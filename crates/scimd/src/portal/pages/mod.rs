//! The portal's pages: one module per page family, each with its handlers (one per route of
//! [`super::routes`], or one for routes that differ only in a request extension, such as a
//! user page's tab) and the templates they render. Handlers call the directory's
//! administrator operations (the same ones the admin API calls).

pub mod account;
pub mod attributes;
mod common;
pub mod dashboard;
pub mod groups;
pub mod log;
pub mod provisioning;
pub mod settings;
pub mod signin;
pub mod users;
