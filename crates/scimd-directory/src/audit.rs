//! The provisioning log's vocabulary (resource types, outcomes) and its rejected writes.
//!
//! Every SCIM write is recorded as change records (see [`crate::changes`]): in the write's
//! own transaction when it succeeds, and, when it is rejected, as one provisioning-log
//! record in a transaction of its own.

use crate::changes::{answered, Recorder};
use crate::directory::{Caller, Directory};
pub use crate::vocabulary::{LogOutcome, ResourceType, DEFAULT_LOG_RETENTION_DAYS};
use scim_proto::{ScimError, ScimResult};
use time::OffsetDateTime;

impl Directory {
    /// Runs the SCIM write `write` of `(resource type, id, body)` for `c`, handing it the
    /// caller's [`Recorder`] (one `txn` for everything the request changes), and records a
    /// refusal in the provisioning log ([`Directory::logged`]). Returns what `write` does.
    pub(crate) async fn write_logged<T>(
        &self,
        c: &Caller,
        (resource_type, id, body): (ResourceType, Option<&str>, Option<&serde_json::Value>),
        write: impl AsyncFnOnce(&Recorder<'_>) -> ScimResult<T>,
    ) -> ScimResult<T> {
        let origin = c.origin();
        let recorder = Recorder::new(&origin);
        let r = write(&recorder).await;
        self.logged(c, resource_type, id, body, r).await
    }

    /// Passes `r` through, recording it in the provisioning log first when it is an error:
    /// the name is the `userName` / `displayName` of `body` when given, else the stored
    /// resource's.
    pub(crate) async fn logged<T>(
        &self,
        c: &Caller,
        resource_type: ResourceType,
        id: Option<&str>,
        body: Option<&serde_json::Value>,
        r: ScimResult<T>,
    ) -> ScimResult<T> {
        if let Err(e) = &r {
            let key = match resource_type {
                ResourceType::Group => "displayName",
                ResourceType::User => "userName",
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
        resource_type: ResourceType,
        id: Option<&str>,
        name: Option<String>,
        err: &ScimError,
    ) {
        let origin = c.origin();
        let rec = Recorder::new(&origin);
        let mut name = name;
        if name.is_none() {
            if let Some(id) = id {
                name = self.resource_name(c, resource_type, id).await;
            }
        }
        let mut e = rec.record(
            resource_type.as_str(),
            id,
            name.as_deref(),
            LogOutcome::Rejected.as_str(),
        );
        e.log = true;
        answered(&mut e, err.status);
        e.detail = Some(err.detail.clone());
        let res = async {
            let mut tx = self.store().write().await?;
            tx.insert_record(&e).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = res {
            tracing::warn!(error = %e, "could not record a rejected request in the provisioning log");
        }
    }

    /// The userName or displayName of an existing resource, for a rejected request's entry.
    async fn resource_name(
        &self,
        c: &Caller,
        resource_type: ResourceType,
        id: &str,
    ) -> Option<String> {
        let mut tx = self.store().read().await.ok()?;
        match resource_type {
            ResourceType::Group => Some(tx.get_group(&c.tenant_id, id).await.ok()??.display_name),
            ResourceType::User => Some(tx.get_user(&c.tenant_id, id).await.ok()??.user_name),
        }
    }

    /// Deletes change records (provisioning-log entries, history, audit records: every
    /// kind) older than `days` days, of every tenant; returns how many.
    pub async fn purge_records(&self, days: u32) -> Result<u64, crate::error::DirectoryError> {
        let before = OffsetDateTime::now_utc() - time::Duration::days(days as i64);
        let mut tx = self.store().write().await?;
        let n = tx.purge_records(before).await?;
        tx.commit().await?;
        Ok(n)
    }
}
