//! The provisioning log: one entry per SCIM write, recorded in the write's own transaction
//! when it succeeds, and in a transaction of its own when it is rejected.

use crate::directory::{Caller, Directory};
use crate::store::{LogEntry, StoreResult, Tx};
use scim_proto::{ScimError, ScimResult};
use time::OffsetDateTime;

/// Default retention of provisioning-log entries, in days.
pub const DEFAULT_LOG_RETENTION_DAYS: u32 = 30;

/// What a successful write did, for its log entry.
#[derive(Debug, Clone, Default)]
pub(crate) struct Audit {
    /// `User` or `Group`.
    pub resource_type: &'static str,
    /// Outcome keyword (see [`LogEntry::outcome`]).
    pub outcome: &'static str,
    /// HTTP status the client gets.
    pub status: u16,
    /// Resource id.
    pub id: Option<String>,
    /// userName / displayName.
    pub name: Option<String>,
    /// Attributes changed.
    pub changed: Vec<String>,
    /// Warnings.
    pub warnings: Vec<String>,
}

impl Directory {
    fn entry(c: &Caller, resource_type: &str) -> LogEntry {
        LogEntry {
            seq: 0,
            tenant_id: c.tenant_id.clone(),
            at: OffsetDateTime::now_utc(),
            token_name: c.token_name.clone(),
            method: c.request.method.clone(),
            path: c.request.path.clone(),
            resource_type: resource_type.to_string(),
            resource_id: None,
            resource_name: None,
            outcome: String::new(),
            status: 0,
            detail: None,
            changed: vec![],
            warnings: vec![],
        }
    }

    /// Records a successful write inside its transaction.
    pub(crate) async fn audit(&self, tx: &mut dyn Tx, c: &Caller, a: Audit) -> StoreResult<()> {
        let mut e = Self::entry(c, a.resource_type);
        e.outcome = a.outcome.to_string();
        e.status = a.status;
        e.resource_id = a.id;
        e.resource_name = a.name;
        e.changed = a.changed;
        e.warnings = a.warnings;
        tx.insert_log(&e).await?;
        Ok(())
    }

    /// Passes `r` through, recording it in the log first when it is an error: the name is
    /// the `userName` / `displayName` of `body` when given, else the stored resource's.
    pub(crate) async fn logged<T>(
        &self,
        c: &Caller,
        resource_type: &str,
        id: Option<&str>,
        body: Option<&serde_json::Value>,
        r: ScimResult<T>,
    ) -> ScimResult<T> {
        if let Err(e) = &r {
            let key = if resource_type == "Group" {
                "displayName"
            } else {
                "userName"
            };
            let name = body
                .and_then(|b| b.get(key))
                .and_then(serde_json::Value::as_str)
                .map(str::to_string);
            self.audit_rejected(c, resource_type, id, name, e).await;
        }
        r
    }

    /// Records a rejected write in a transaction of its own (best effort: a failure to log
    /// is itself logged, never turned into another error for the client).
    async fn audit_rejected(
        &self,
        c: &Caller,
        resource_type: &str,
        id: Option<&str>,
        name: Option<String>,
        err: &ScimError,
    ) {
        let mut e = Self::entry(c, resource_type);
        e.outcome = "rejected".into();
        e.status = err.status;
        e.resource_id = id.map(str::to_string);
        e.resource_name = name;
        if e.resource_name.is_none() {
            if let Some(id) = id {
                e.resource_name = self.resource_name(c, resource_type, id).await;
            }
        }
        e.detail = Some(err.detail.clone());
        let res = async {
            let mut tx = self.store().write().await?;
            tx.insert_log(&e).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = res {
            tracing::warn!(error = %e, "could not record a rejected request in the provisioning log");
        }
    }

    /// The userName or displayName of an existing resource, for a rejected request's entry.
    async fn resource_name(&self, c: &Caller, resource_type: &str, id: &str) -> Option<String> {
        let mut tx = self.store().read().await.ok()?;
        if resource_type == "Group" {
            Some(tx.get_group(&c.tenant_id, id).await.ok()??.display_name)
        } else {
            Some(tx.get_user(&c.tenant_id, id).await.ok()??.user_name)
        }
    }

    /// Deletes log entries older than `days` days; returns how many.
    pub async fn purge_log(&self, days: u32) -> Result<u64, crate::DirectoryError> {
        let before = OffsetDateTime::now_utc() - time::Duration::days(days as i64);
        let mut tx = self.store().write().await?;
        let n = tx.purge_log(before).await?;
        tx.commit().await?;
        Ok(n)
    }
}
