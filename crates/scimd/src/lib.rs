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
//! Modules: [`cli`] (clap: one module per subcommand), [`config`] (flags > `SCIMD_*` >
//! TOML), [`server`] (router, binding, shutdown), [`first_start`] (the first start's
//! secrets file), [`net`] (accept loop, connection cap, deadlines, request limits, TLS
//! handshakes, the client's address), [`rate`] (rate limits per address and credential),
//! [`state`] (the [`AppState`] the server owns), [`scim_routes`] (the `/scim/v2` endpoints), [`auth`] (bearer tokens),
//! [`body`] (JSON bodies under a size limit), [`query`] (query strings, entity tags, times),
//! [`errors`] (SCIM error bodies), [`metrics`] (Prometheus, request logs), [`tls`],
//! [`admin`] (the `/api/v1` admin API: one module per area, its OpenAPI document and the log
//! export), [`readiness`] (`/readyz`: reads and writes), [`retention`] (provisioning-log
//! purging), [`portal`] (the administrative portal under `/`: one module per page family),
//! [`tenancy`] (which tenant a request's path is for: the root paths and `/t/SLUG/...`).

#![warn(missing_docs)]

pub mod admin;
pub mod auth;
pub mod body;
pub mod cli;
pub mod config;
pub mod errors;
pub mod fallback;
pub mod first_start;
pub mod issuers;
pub mod lifetime;
pub mod metrics;
pub mod net;
pub mod oauth;
pub mod portal;
pub mod query;
pub mod rate;
pub mod readiness;
pub mod retention;
pub mod scim_routes;
pub mod server;
pub mod state;
pub mod tenancy;
pub mod tls;

#[cfg(test)]
mod router_tests;

pub use config::Config;
pub use server::{router, serve, start, Running};
pub use state::AppState;
