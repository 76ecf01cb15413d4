//! Each tenant's share of the database's writer (issue 15, fairness): at most
//! `--max-writes-per-tenant` SCIM writes of one tenant are in flight at once on a server; its
//! further writes wait for one of them to end.
//!
//! Why: writes reach the database's writer in arrival order (SQLite has one writer; the
//! queue before it is first come, first served). Without a share, a tenant running an
//! initial cycle of 100,000 users with many concurrent requests keeps that many writes queued
//! ahead of every other tenant's, and each of theirs waits behind all of them — a group PATCH
//! of 100 members holds the writer for tens of milliseconds. With a share of N, another
//! tenant's write waits behind at most N of that tenant's. A tenant alone on the server loses
//! little: the writer does one write at a time anyway, and N requests in flight keep it busy
//! while the next ones are parsed and checked.
//!
//! Reads are not limited here (SQLite readers run beside the writer). A write waits for its
//! turn at most [`SHARE_WAIT`], then is answered 503 with `Retry-After` as any other
//! contention. The map of tenants holds at most [`MAX_TENANTS`] idle entries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Default `--max-writes-per-tenant`.
pub const DEFAULT_WRITES_PER_TENANT: usize = 4;

/// Accepted `--max-writes-per-tenant`: 0 (no share: every write queues as it comes) to 1,000.
pub const WRITES_PER_TENANT: std::ops::RangeInclusive<u64> = 0..=1000;

/// How long a write waits for its tenant's turn before it is answered 503.
pub const SHARE_WAIT: Duration = Duration::from_secs(30);

/// Tenants the map keeps before it forgets those with no write in flight.
pub const MAX_TENANTS: usize = 4096;

/// The writes in flight of each tenant (see the module documentation).
#[derive(Debug)]
pub struct WriteShares {
    per_tenant: usize,
    tenants: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Default for WriteShares {
    fn default() -> Self {
        WriteShares::new(DEFAULT_WRITES_PER_TENANT)
    }
}

impl WriteShares {
    /// Shares of `per_tenant` writes in flight per tenant; 0: unlimited.
    pub fn new(per_tenant: usize) -> WriteShares {
        WriteShares {
            per_tenant,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a turn of tenant `tenant_id` to write: a permit to hold while the write
    /// runs (`None` when shares are off). Errors: the wait lasted [`SHARE_WAIT`] (the
    /// message says so, for a 503).
    pub async fn turn(&self, tenant_id: &str) -> Result<Option<OwnedSemaphorePermit>, String> {
        if self.per_tenant == 0 {
            return Ok(None);
        }
        let sem = {
            let mut m = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
            if m.len() >= MAX_TENANTS && !m.contains_key(tenant_id) {
                // Forget the tenants with no write in flight (no one else holds them).
                m.retain(|_, s| Arc::strong_count(s) > 1);
            }
            m.entry(tenant_id.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_tenant)))
                .clone()
        };
        match tokio::time::timeout(SHARE_WAIT, sem.acquire_owned()).await {
            Ok(Ok(p)) => Ok(Some(p)),
            // The semaphore is never closed.
            Ok(Err(_)) => Ok(None),
            Err(_) => Err(format!(
                "this tenant's earlier writes did not finish within {} s (at most {} run at once per tenant); retry later",
                SHARE_WAIT.as_secs(),
                self.per_tenant
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tenant_waits_for_its_own_turns_only() {
        let s = WriteShares::new(2);
        let a1 = s.turn("a").await.unwrap();
        let _a2 = s.turn("a").await.unwrap();
        // A third write of tenant a waits ...
        let waiting = tokio::time::timeout(Duration::from_millis(50), s.turn("a")).await;
        assert!(waiting.is_err(), "a third write of a got a turn");
        // ... while tenant b's goes at once.
        let b = tokio::time::timeout(Duration::from_millis(50), s.turn("b")).await;
        assert!(matches!(b, Ok(Ok(Some(_)))));
        // When one of a's ends, the next gets its turn.
        drop(a1);
        let a3 = tokio::time::timeout(Duration::from_millis(50), s.turn("a")).await;
        assert!(matches!(a3, Ok(Ok(Some(_)))));
    }

    #[tokio::test]
    async fn zero_is_no_share() {
        let s = WriteShares::new(0);
        for _ in 0..10 {
            assert!(s.turn("a").await.unwrap().is_none());
        }
    }
}
