//! The provisioning log's vocabulary: resource types, outcomes, the default retention, and
//! the case-insensitive lookup of a closed vocabulary's words. A leaf that the change
//! records, rendering and the log all speak ([`crate::audit`] re-exports it).

use crate::store::MemberKind;

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
