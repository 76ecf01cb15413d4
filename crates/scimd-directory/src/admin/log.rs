//! The views of the change records for administrators — the provisioning log, the audit
//! record, the history of one user or group — and the dashboard's counts.

use super::model::{AuditEntry, AuditFilter, DirectoryCounts, LogFilter, ProvisioningEntry};
use crate::directory::Directory;
use crate::error::{not_found, DirectoryError, DirectoryResult};
use crate::store::{ChangeRecord, RecordQuery, RecordView, Source, StoreError, UserState, Window};
use crate::vocabulary::ResourceType;

impl Directory {
    /// Records of the tenant matching `q`, newest first, as the view `T`, with the total
    /// matching.
    async fn view<T: TryFrom<ChangeRecord, Error = StoreError>>(
        &self,
        tenant: &str,
        q: RecordQuery,
    ) -> DirectoryResult<(u64, Vec<T>)> {
        let mut tx = self.store().read().await?;
        let (total, rows) = tx.query_records(tenant, &q).await?;
        let entries = rows
            .into_iter()
            .map(T::try_from)
            .collect::<Result<_, _>>()?;
        Ok((total, entries))
    }

    /// The entries of the view `F` filters (the provisioning log for a [`LogFilter`], the
    /// audit record for an [`AuditFilter`]) matching `f`, newest first, `limit` of them
    /// after skipping `offset`, with the total matching.
    pub async fn records<F: RecordFilter>(
        &self,
        tenant: &str,
        f: &F,
        offset: u64,
        limit: u64,
    ) -> DirectoryResult<(u64, Vec<F::Entry>)> {
        self.view(tenant, f.query((offset, limit))).await
    }

    /// The history of user or group `id`, newest first: every record about it (its writes,
    /// rule side effects, administrative actions) and the per-member records of the
    /// groups it joined or left, of transaction `txn` when given; `limit` of them after
    /// skipping `offset`, with the total.
    ///
    /// Errors: 404 for a user that does not exist (a user deleted permanently is gone, its
    /// records pseudonymised); for a group that does not exist and has no records (a deleted
    /// group's history stays readable until retention removes it); for the built-in All Users
    /// group, which has no history of its own (the message says so).
    pub async fn history(
        &self,
        tenant: &str,
        resource_type: ResourceType,
        id: &str,
        txn: Option<String>,
        (offset, limit): (u64, u64),
    ) -> DirectoryResult<(u64, Vec<ChangeRecord>)> {
        let mut tx = self.store().read().await?;
        let exists = match resource_type {
            ResourceType::User => tx.get_user(tenant, id).await?.is_some(),
            ResourceType::Group => match tx.get_group(tenant, id).await? {
                Some(g) if g.builtin => {
                    return Err(DirectoryError::NotFound(format!(
                        "the built-in group '{}' ({id}) has no history: every user is its member, so its membership changes only as users come and go (each user's history shows it)",
                        g.display_name
                    )))
                }
                g => g.is_some(),
            },
        };
        let window = Window {
            txn,
            ..Window::default()
        };
        let q = RecordQuery::of(
            RecordView::Resource(id.to_string()),
            &window,
            (offset, limit),
        );
        let (total, rows) = tx.query_records(tenant, &q).await?;
        let of_type = |r: &ChangeRecord| {
            r.resource_type.as_deref() == Some(resource_type.as_str()) || r.member.is_some()
        };
        let known = exists || (resource_type == ResourceType::Group && !rows.is_empty());
        if !known || (total > 0 && !rows.iter().all(of_type)) {
            return Err(not_found(resource_type.as_str(), id));
        }
        Ok((total, rows))
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

/// The filters of a view of the change records: what [`Directory::records`] takes.
pub trait RecordFilter {
    /// The entries of the view.
    type Entry: TryFrom<ChangeRecord, Error = StoreError>;
    /// The store query of these filters for the page `(offset, limit)`.
    fn query(&self, page: (u64, u64)) -> RecordQuery;
}

/// The provisioning log: the request records of SCIM writes (and permanent deletes).
impl RecordFilter for LogFilter {
    type Entry = ProvisioningEntry;
    fn query(&self, page: (u64, u64)) -> RecordQuery {
        let mut q = RecordQuery::of(RecordView::Log, &self.window, page);
        q.outcome = self.outcome.map(|o| o.as_str().to_string());
        q.resource_type = self.resource_type.map(|t| t.as_str().to_string());
        q
    }
}

/// The audit record of administrative actions.
impl RecordFilter for AuditFilter {
    type Entry = AuditEntry;
    fn query(&self, page: (u64, u64)) -> RecordQuery {
        let mut q = RecordQuery::of(RecordView::Audit, &self.window, page);
        (q.action, q.actor) = (
            self.action.map(|a| a.as_str().to_string()),
            self.actor.clone(),
        );
        q.source = self.source;
        q
    }
}
