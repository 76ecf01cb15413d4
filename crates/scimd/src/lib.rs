//! `scimd`: the SCIM 2.0 directory server — command line, configuration, and the HTTP
//! layer over [`scimd_directory::directory::Directory`].
//!
//! The library target lets tests and benchmarks run a server in-process:
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let config = scimd::Config {
//!     listen: "127.0.0.1:0".into(),
//!     database: "sqlite:///tmp/scimd-test/scimd.db".into(),
//!     ..Default::default()
//! };
//! let running = scimd::start(&config).await?;
//! println!("SCIM base: {}", running.scim_base);
//! let secret = running.bootstrap.as_ref().map(|b| b.scim_token.clone());
//! // ... speak HTTP to running.local_addr ...
//! running.shutdown().await?;
//! # let _ = secret; Ok(()) }
//! ```
//!
//! Modules: [`cli`] (clap), [`config`] (flags > `SCIMD_*` > TOML), [`server`] (router,
//! binding, shutdown), [`net`] (accept loop, connection cap, deadlines, request limits),
//! [`scim_routes`] (the `/scim/v2` endpoints), [`auth`] (bearer
//! tokens), [`body`] (JSON bodies under a size limit), [`query`] (query strings, entity
//! tags), [`errors`] (SCIM error bodies), [`metrics`] (Prometheus, request logs), [`tls`],
//! [`admin_routes`] (the `/api/v1` admin API, with [`admin_openapi`] and [`admin_export`]),
//! [`retention`] (provisioning-log purging), [`portal`] (the administrative portal under `/`).

#![warn(missing_docs)]

pub mod admin_export;
pub mod admin_openapi;
pub mod admin_routes;
pub mod auth;
pub mod body;
pub mod cli;
pub mod config;
pub mod dbcmd;
pub mod errors;
pub mod metrics;
pub mod net;
pub mod portal;
pub mod query;
pub mod retention;
pub mod scim_routes;
pub mod server;

#[cfg(test)]
mod router_tests;
pub mod tls;

pub use config::Config;
pub use server::{router, serve, start, AppState, Running};
