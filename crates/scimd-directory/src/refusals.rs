//! Refused authentications kept for the administrator's diagnostics (RFC 6750 §3.1
//! failures, issue 16): counts per tenant, reason and hour for [`REFUSAL_COUNT_DAYS`] days,
//! and the last [`KEPT_REFUSALS`] refusals of each tenant. The HTTP layer coalesces them in
//! memory and writes them at most once a second per tenant; here they are stored and read.

use crate::directory::{Directory, DirectoryError};
use crate::store::{RefusalCount, RefusalRow};
use time::{Duration, OffsetDateTime};

/// Refusals kept per tenant (the newest).
pub const KEPT_REFUSALS: u64 = 100;
/// Days of hourly counts kept.
pub const REFUSAL_COUNT_DAYS: i64 = 30;

/// The start of the hour of `t` (UTC).
pub fn hour_of(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_minute(0)
        .and_then(|t| t.replace_second(0))
        .and_then(|t| t.replace_nanosecond(0))
        .unwrap_or(t)
}

impl Directory {
    /// Adds refusals of tenant `tenant_id`, in one transaction: `counts` to the hourly
    /// counts, `recent` to the kept refusals, keeping the newest [`KEPT_REFUSALS`] and
    /// [`REFUSAL_COUNT_DAYS`] days of counts.
    ///
    /// Errors: the store's.
    pub async fn add_refusals(
        &self,
        tenant_id: &str,
        counts: &[RefusalCount],
        recent: &[RefusalRow],
    ) -> Result<(), DirectoryError> {
        let since = hour_of(crate::render::now()) - Duration::days(REFUSAL_COUNT_DAYS);
        let mut tx = self.store().write().await?;
        tx.add_refusals(tenant_id, counts, recent, (KEPT_REFUSALS, since))
            .await?;
        Ok(tx.commit().await?)
    }

    /// A tenant's refusal counts of the last `hours` hours (newest first) and its kept
    /// refusals (newest first).
    ///
    /// Errors: the store's.
    pub async fn auth_refusals(
        &self,
        tenant_id: &str,
        hours: i64,
    ) -> Result<(Vec<RefusalCount>, Vec<RefusalRow>), DirectoryError> {
        let since = hour_of(crate::render::now()) - Duration::hours(hours.max(1) - 1);
        let mut tx = self.store().read().await?;
        Ok(tx.list_refusals(tenant_id, since).await?)
    }
}
