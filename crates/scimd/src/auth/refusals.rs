//! Refused authentications, counted for the administrator's diagnostics
//! (`GET /api/v1/auth-refusals`): per tenant, reason and hour, with the last
//! [`KEPT_REFUSALS`] of each tenant (when, why, which credential — its kind and name, never
//! a secret — method, path, address).
//!
//! Bounded whatever an attacker sends: refusals are attributed to the tenant of the
//! credential when it is known, else to the default tenant (the only one a root path
//! names), so the tenants held are tenants that exist; a tenant holds in memory at most one
//! count per reason and hour and [`KEPT_REFUSALS`] refusals between two writes; writes are
//! coalesced, at most one a second per tenant ([`FLUSH_INTERVAL`]), each one transaction that
//! keeps the stored refusals at [`KEPT_REFUSALS`] and the counts at
//! [`scimd_directory::refusals::REFUSAL_COUNT_DAYS`] days. Only routes that exist
//! authenticate, so unknown paths are never recorded. What is in memory when the process is
//! killed (at most a second's refusals) is lost: these are diagnostics, not records of
//! writes.

use super::Refusal;
use scimd_directory::directory::{Directory, RequestInfo};
use scimd_directory::refusals::{hour_of, KEPT_REFUSALS};
use scimd_directory::store::{RefusalCount, RefusalRow};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Shortest time between two writes of one tenant's refusals.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Longest path kept in a refusal record (longer ones are cut, on a character boundary).
const MAX_PATH_CHARS: usize = 200;

/// A tenant's refusals not written yet.
#[derive(Default)]
struct Pending {
    counts: BTreeMap<(OffsetDateTime, &'static str), u64>,
    recent: VecDeque<RefusalRow>,
    /// A write is scheduled.
    scheduled: bool,
    /// When the last write started.
    last_write: Option<Instant>,
}

/// The refusal counter of one server (see the module documentation).
pub struct Refusals {
    directory: Directory,
    default_tenant: tokio::sync::OnceCell<String>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl Refusals {
    /// A counter writing to `directory`.
    pub fn new(directory: Directory) -> Arc<Refusals> {
        Arc::new(Refusals {
            directory,
            default_tenant: tokio::sync::OnceCell::new(),
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// Counts refusal `r` of `request` (returns at once; the write follows within
    /// [`FLUSH_INTERVAL`]).
    pub fn record(self: &Arc<Self>, r: &Refusal, request: &RequestInfo) {
        let this = Arc::clone(self);
        let (reason, credential) = (r.reason.as_str(), r.credential.clone());
        let tenant = r.tenant_id.clone();
        let request = request.clone();
        let at = scimd_directory::render::now();
        tokio::spawn(async move {
            let tenant = match tenant {
                Some(t) => t,
                None => match this.default_tenant().await {
                    Some(t) => t,
                    None => return,
                },
            };
            let path: String = request.path.chars().take(MAX_PATH_CHARS).collect();
            let row = RefusalRow {
                tenant_id: tenant.clone(),
                at,
                reason: reason.to_string(),
                credential,
                method: request.method,
                path,
                address: request.address,
            };
            let wait = this.add(&tenant, reason, row);
            if let Some(wait) = wait {
                tokio::time::sleep(wait).await;
                this.write(&tenant).await;
            }
        });
    }

    /// The default tenant's id (looked up once).
    async fn default_tenant(&self) -> Option<String> {
        self.default_tenant
            .get_or_try_init(|| self.directory.default_tenant_id())
            .await
            .ok()
            .cloned()
    }

    /// Adds a refusal to a tenant's pending ones; how long to wait before writing them when
    /// this call must schedule the write, `None` when one is scheduled already.
    fn add(&self, tenant: &str, reason: &'static str, row: RefusalRow) -> Option<Duration> {
        let mut all = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let p = all.entry(tenant.to_string()).or_default();
        *p.counts.entry((hour_of(row.at), reason)).or_insert(0) += 1;
        p.recent.push_back(row);
        while p.recent.len() > KEPT_REFUSALS as usize {
            p.recent.pop_front();
        }
        if p.scheduled {
            return None;
        }
        p.scheduled = true;
        let since = p.last_write.map(|t| t.elapsed()).unwrap_or(FLUSH_INTERVAL);
        Some(FLUSH_INTERVAL.saturating_sub(since))
    }

    /// Takes a tenant's pending refusals (counts, refusals oldest first).
    fn take(&self, tenant: &str, writing: bool) -> (Vec<RefusalCount>, Vec<RefusalRow>) {
        let mut all = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let Some(p) = all.get_mut(tenant) else {
            return (Vec::new(), Vec::new());
        };
        let counts = p
            .counts
            .iter()
            .map(|((hour, reason), n)| RefusalCount {
                hour: *hour,
                reason: reason.to_string(),
                count: *n,
            })
            .collect();
        let recent = p.recent.iter().cloned().collect();
        if writing {
            p.counts.clear();
            p.recent.clear();
            p.scheduled = false;
            p.last_write = Some(Instant::now());
        }
        (counts, recent)
    }

    /// Writes a tenant's pending refusals (one transaction); a failure is logged and the
    /// refusals dropped.
    async fn write(&self, tenant: &str) {
        let (counts, recent) = self.take(tenant, true);
        if counts.is_empty() && recent.is_empty() {
            return;
        }
        if let Err(e) = self.directory.add_refusals(tenant, &counts, &recent).await {
            tracing::warn!(error = %e, "the refused authentications could not be recorded");
        }
    }

    /// A tenant's refusals as the administrator sees them: the stored ones of the last
    /// `hours` hours with the pending ones merged in (counts newest hour first; refusals
    /// newest first, at most [`KEPT_REFUSALS`]).
    ///
    /// Errors: the store's.
    pub async fn list(
        &self,
        tenant: &str,
        hours: i64,
    ) -> Result<(Vec<RefusalCount>, Vec<RefusalRow>), scimd_directory::DirectoryError> {
        let (mut counts, mut recent) = self.directory.auth_refusals(tenant, hours).await?;
        let (pending_counts, pending_recent) = self.take(tenant, false);
        for p in pending_counts {
            match counts
                .iter_mut()
                .find(|c| c.hour == p.hour && c.reason == p.reason)
            {
                Some(c) => c.count += p.count,
                None => counts.push(p),
            }
        }
        counts.sort_by(|a, b| b.hour.cmp(&a.hour).then_with(|| a.reason.cmp(&b.reason)));
        let mut merged: Vec<RefusalRow> = pending_recent.into_iter().rev().collect();
        merged.append(&mut recent);
        merged.truncate(KEPT_REFUSALS as usize);
        Ok((counts, merged))
    }
}
