//! The provisioning log's vocabulary (resource types, outcomes) and its rejected writes.
//!
//! Every SCIM write is recorded as change records (see [`crate::changes`]): in the write's
//! own transaction when it succeeds, and, when it is rejected, as one provisioning-log
//! record in a transaction of its own.

use crate::changes::{answered, Recorder};
use crate::directory::{Caller, Directory};
use crate::store::MemberKind;
use scim_proto::{ScimError, ScimResult};
use time::OffsetDateTime;

/// Default retention of change records (provisioning log, histories, audit record), in
/// days.
pub const DEFAULT_LOG_RETENTION_DAYS: u32 = 30;

/// The word of the vocabulary `all` whose `name` is `s`, ignoring case.
pub(crate) fn word<T: Copy>(all: &[T], name: fn(T) -> &'static str, s: &str) -> Option<T> {
    all.iter()
        .copied()
        .find(|w| name(*w).eq_ignore_ascii_case(s))
}

/// The type of a SCIM resource (RFC 7643 §3: `meta.resourceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    /// `User`.
    User,
    /// `Group`.
    Group,
}

impl ResourceType {
    /// Both types.
    pub const ALL: [ResourceType; 2] = [ResourceType::User, ResourceType::Group];

    /// `User` or `Group`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::User => "User",
            ResourceType::Group => "Group",
        }
    }

    /// The endpoint of the type under the SCIM base URL (RFC 7644 §3.2): `Users` or
    /// `Groups`.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceType::User => "Users",
            ResourceType::Group => "Groups",
        }
    }

    /// Parses `User` / `Group`, ignoring case.
    pub fn parse(s: &str) -> Option<ResourceType> {
        ResourceType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

impl From<MemberKind> for ResourceType {
    /// The type of a group member.
    fn from(k: MemberKind) -> ResourceType {
        match k {
            MemberKind::User => ResourceType::User,
            MemberKind::Group => ResourceType::Group,
        }
    }
}

/// What a SCIM write came to, as the provisioning log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOutcome {
    /// A user or group was created (POST).
    Created,
    /// A user or group was changed (PUT, PATCH), or a write changed nothing.
    Updated,
    /// A user went from active to inactive (rule 5).
    Disabled,
    /// A user went from inactive to active.
    Enabled,
    /// A user was soft-deleted (DELETE, rule 6).
    Deprovisioned,
    /// A deprovisioned user was provisioned again (POST of its userName, rule 7).
    Revived,
    /// A local user was taken over by provisioning (POST of its userName, rule 11).
    Adopted,
    /// A group was deleted (DELETE, rule 9).
    GroupDeleted,
    /// A user was deleted permanently by an administrator.
    Deleted,
    /// The write was refused (the entry has the status and detail).
    Rejected,
}

impl LogOutcome {
    /// Every outcome, in the order lists show them.
    pub const ALL: [LogOutcome; 10] = [
        LogOutcome::Created,
        LogOutcome::Updated,
        LogOutcome::Disabled,
        LogOutcome::Enabled,
        LogOutcome::Deprovisioned,
        LogOutcome::Revived,
        LogOutcome::Adopted,
        LogOutcome::GroupDeleted,
        LogOutcome::Deleted,
        LogOutcome::Rejected,
    ];

    /// The outcome as recorded and shown: `created`, `updated`, `disabled`, `enabled`,
    /// `deprovisioned`, `revived`, `adopted`, `group deleted`, `deleted`, `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogOutcome::Created => "created",
            LogOutcome::Updated => "updated",
            LogOutcome::Disabled => "disabled",
            LogOutcome::Enabled => "enabled",
            LogOutcome::Deprovisioned => "deprovisioned",
            LogOutcome::Revived => "revived",
            LogOutcome::Adopted => "adopted",
            LogOutcome::GroupDeleted => "group deleted",
            LogOutcome::Deleted => "deleted",
            LogOutcome::Rejected => "rejected",
        }
    }

    /// Parses the names of [`LogOutcome::as_str`], ignoring case.
    pub fn parse(s: &str) -> Option<LogOutcome> {
        word(&LogOutcome::ALL, LogOutcome::as_str, s)
    }

    /// Every name, for messages (`created, updated, ...`).
    pub fn names() -> String {
        LogOutcome::ALL.map(LogOutcome::as_str).join(", ")
    }

    /// Whether the write removed its resource for good (`deleted`, `group deleted`).
    pub fn removes_resource(self) -> bool {
        matches!(self, LogOutcome::Deleted | LogOutcome::GroupDeleted)
    }
}

impl Directory {
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
