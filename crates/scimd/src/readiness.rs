//! `GET /readyz`: whether this instance can serve, reads **and writes**.
//!
//! A database that answers reads may still refuse every write: a read-only replica, a file
//! system remounted read-only after a crash, a full disk. A load balancer that only sees
//! reads answered keeps sending writes that fail. So readiness is two checks:
//!
//! - the store answers a read (`ping`), on every probe;
//! - the store takes a write: the one-row `heartbeat` table is written in a transaction of
//!   its own, at most every [`WRITE_PROBE_EVERY`] (the result is kept in between, so a load
//!   balancer probing every second does not write every second).
//!
//! Answers: 200 `{"status":"ready"}`; 503 `{"status":"unavailable","detail":...}` with the
//! reason (the database does not answer; it is read-only; its disk is full; it refused a
//! write). A write probe that cannot start within [`WRITE_PROBE_WAIT`] (writers queued
//! ahead of it) or loses to concurrent writers changes nothing: only a definite refusal
//! makes the instance unready, so a busy server is not taken out of rotation for being busy.

use crate::errors::plain_json;
use axum::http::StatusCode;
use axum::response::Response;
use scimd_directory::directory::Directory;
use scimd_directory::StoreError;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long the outcome of a write probe is kept.
pub const WRITE_PROBE_EVERY: Duration = Duration::from_secs(5);
/// How long a write probe waits to start (for the writers ahead of it) before it gives up
/// and keeps the last outcome.
pub const WRITE_PROBE_WAIT: Duration = Duration::from_secs(2);

/// The last write probe: when, and why writes failed (`None`: they succeeded).
#[derive(Debug, Default)]
pub struct Readiness {
    last: Mutex<Option<(Instant, Option<String>)>>,
}

impl Readiness {
    /// Why the database cannot take writes, probing when the last outcome is older than
    /// [`WRITE_PROBE_EVERY`]; `None` when it can. Concurrent callers wait for one probe.
    async fn unwritable(&self, directory: &Directory) -> Option<String> {
        let mut last = self.last.lock().await;
        if let Some((at, why)) = &*last {
            if at.elapsed() < WRITE_PROBE_EVERY {
                return why.clone();
            }
        }
        let kept = last.as_ref().and_then(|(_, why)| why.clone());
        let why = match tokio::time::timeout(WRITE_PROBE_WAIT, directory.check_writable()).await {
            Ok(Ok(())) => None,
            Ok(Err(StoreError::Unwritable(why, message))) => {
                tracing::warn!(error = %message, "readiness: the database cannot take writes");
                Some(why.describe().to_string())
            }
            Ok(Err(StoreError::Contention(_))) | Err(_) => {
                tracing::debug!(
                    "readiness: the write probe did not get its turn; keeping the last outcome"
                );
                kept
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: the write probe failed");
                Some("the database refused a write (see the server log)".to_string())
            }
        };
        *last = Some((Instant::now(), why.clone()));
        why
    }
}

/// The answer of `GET /readyz` for `directory`, whose last write probe `readiness` keeps (see
/// the module documentation; the route is [`crate::server`]'s, over its state).
pub async fn readyz(directory: &Directory, readiness: &Readiness) -> Response {
    let unavailable = |detail: String| {
        crate::metrics::store_error();
        plain_json(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "unavailable", "detail": detail}),
        )
    };
    if let Err(e) = directory.store().ping().await {
        tracing::warn!(error = %e, "readiness check failed");
        return unavailable("the database does not answer".into());
    }
    match readiness.unwritable(directory).await {
        None => plain_json(StatusCode::OK, &json!({"status": "ready"})),
        Some(why) => unavailable(format!("the database cannot take writes: {why}")),
    }
}
