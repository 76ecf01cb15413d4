//! The provisioning log: one entry per SCIM write, recorded in the write's own transaction
//! when it succeeds, and in a transaction of its own when it is rejected.

use crate::directory::{Caller, Directory, WriteStatus};
use crate::store::{GroupRecord, LogEntry, MemberKind, StoreResult, Tx, UserRecord};
use scim_proto::{ScimError, ScimResult};
use time::OffsetDateTime;

/// Default retention of provisioning-log entries, in days.
pub const DEFAULT_LOG_RETENTION_DAYS: u32 = 30;

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
        LogOutcome::ALL
            .into_iter()
            .find(|o| o.as_str().eq_ignore_ascii_case(s))
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

/// What a successful write did, for its log entry.
#[derive(Debug, Clone)]
pub(crate) struct Audit {
    /// The resource's type.
    pub resource_type: ResourceType,
    /// What came of the write.
    pub outcome: LogOutcome,
    /// The status the client gets.
    pub status: WriteStatus,
    /// Resource id.
    pub id: Option<String>,
    /// userName / displayName.
    pub name: Option<String>,
    /// Attributes changed.
    pub changed: Vec<String>,
    /// Warnings.
    pub warnings: Vec<String>,
}

impl Audit {
    fn new(
        resource_type: ResourceType,
        outcome: LogOutcome,
        status: WriteStatus,
        id: &str,
        name: &str,
    ) -> Audit {
        Audit {
            resource_type,
            outcome,
            status,
            id: Some(id.to_string()),
            name: Some(name.to_string()),
            changed: vec![],
            warnings: vec![],
        }
    }

    /// A write of user `u` that came to `outcome`, answered `status`.
    pub(crate) fn user(u: &UserRecord, outcome: LogOutcome, status: WriteStatus) -> Audit {
        Audit::new(ResourceType::User, outcome, status, &u.id, &u.user_name)
    }

    /// A write of group `g` that came to `outcome`, answered `status`.
    pub(crate) fn group(g: &GroupRecord, outcome: LogOutcome, status: WriteStatus) -> Audit {
        Audit::new(ResourceType::Group, outcome, status, &g.id, &g.display_name)
    }

    /// The same, with the attributes it changed and the warnings it gave.
    pub(crate) fn with(self, changed: Vec<String>, warnings: Vec<String>) -> Audit {
        Audit {
            changed,
            warnings,
            ..self
        }
    }
}

impl Directory {
    fn entry(c: &Caller, resource_type: ResourceType) -> LogEntry {
        LogEntry {
            seq: 0,
            tenant_id: c.tenant_id.clone(),
            at: OffsetDateTime::now_utc(),
            token_name: c.token_name.clone(),
            method: c.request.method.clone(),
            path: c.request.path.clone(),
            resource_type: resource_type.as_str().to_string(),
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
        e.outcome = a.outcome.as_str().to_string();
        e.status = a.status.code();
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
        let mut e = Self::entry(c, resource_type);
        e.outcome = LogOutcome::Rejected.as_str().to_string();
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

    /// Deletes log entries older than `days` days; returns how many.
    pub async fn purge_log(&self, days: u32) -> Result<u64, crate::error::DirectoryError> {
        let before = OffsetDateTime::now_utc() - time::Duration::days(days as i64);
        let mut tx = self.store().write().await?;
        let n = tx.purge_log(before).await?;
        tx.commit().await?;
        Ok(n)
    }
}
