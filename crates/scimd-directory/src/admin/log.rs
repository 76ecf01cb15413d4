//! The provisioning log and the dashboard's counts, for administrators.

use super::model::{DirectoryCounts, LogFilter, ProvisioningEntry};
use crate::directory::Directory;
use crate::error::DirectoryResult;
use crate::store::{LogQuery, Source, UserState};

impl Directory {
    /// Provisioning-log entries matching `f`, newest first, `limit` of them after skipping
    /// `offset`, with the total matching.
    pub async fn query_log(
        &self,
        tenant: &str,
        f: &LogFilter,
        offset: u64,
        limit: u64,
    ) -> DirectoryResult<(u64, Vec<ProvisioningEntry>)> {
        let q = LogQuery {
            outcome: f.outcome.map(|o| o.as_str().to_string()),
            resource_type: f.resource_type.map(|t| t.as_str().to_string()),
            since: f.since,
            until: f.until,
            text: f.text.clone(),
            offset,
            limit,
        };
        let mut tx = self.store().read().await?;
        let (total, rows) = tx.query_log(tenant, &q).await?;
        let entries = rows
            .into_iter()
            .map(ProvisioningEntry::try_from)
            .collect::<Result<_, _>>()?;
        Ok((total, entries))
    }

    /// Counts for the dashboard: users by state and by source, and groups.
    pub async fn counts(&self, tenant: &str) -> DirectoryResult<DirectoryCounts> {
        let mut tx = self.store().read().await?;
        let mut c = DirectoryCounts::default();
        for (state, source, n) in tx.user_counts(tenant).await? {
            c.users += n;
            *match state {
                UserState::Active => &mut c.active,
                UserState::Inactive => &mut c.inactive,
                UserState::Deprovisioned => &mut c.deprovisioned,
            } += n;
            *match source {
                Source::Local => &mut c.local,
                Source::Scim => &mut c.scim,
            } += n;
        }
        c.groups = tx.group_count(tenant).await?;
        Ok(c)
    }
}
