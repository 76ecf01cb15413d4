//! Retention of change records: a background task of the server that deletes the records
//! older than the configured number of days (`--log-retention-days`, default 30; 0 keeps
//! everything) — provisioning-log entries, every user's and group's history, the audit
//! record, failed sign-ins — once at start and then every [`PURGE_INTERVAL`], until the
//! server stops.

use scimd_directory::directory::Directory;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How often old entries are purged.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(3600);

/// The running purge task.
pub struct Purger {
    stop: oneshot::Sender<()>,
    join: JoinHandle<()>,
}

/// Starts the purge task (its first purge runs at once); `None` when `days` is 0 (keep
/// forever). Failures are logged and retried at the next interval.
pub fn spawn(directory: Directory, days: u32) -> Option<Purger> {
    if days == 0 {
        tracing::info!("change-record retention: provisioning log, histories and audit record are kept forever");
        return None;
    }
    let (stop, mut rx) = oneshot::channel::<()>();
    let join = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut rx => return,
                r = directory.purge_records(days) => match r {
                    Ok(0) => tracing::debug!(days, "change-record retention: nothing to purge"),
                    Ok(n) => tracing::info!(days, purged = n, "change-record retention: deleted old records"),
                    Err(e) => tracing::warn!(error = %e, "change-record retention: the purge failed; retrying in an hour"),
                },
            }
            tokio::select! {
                _ = &mut rx => return,
                _ = tokio::time::sleep(PURGE_INTERVAL) => {}
            }
        }
    });
    Some(Purger { stop, join })
}

impl Purger {
    /// Stops the task (an unfinished purge is rolled back) and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.join.await;
    }
}
