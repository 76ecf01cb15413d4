//! What the directory's administrator operations return: typed views of users, groups,
//! custom attributes, provisioning-log entries and counts, with the product's rules on
//! them decided here, once (which users may be deleted, which groups administrators may
//! change). The admin API serialises them; the portal renders them. A SCIM document
//! crosses only as a value to display ([`AdminUser::resource`]).

use crate::changes::AuditAction;
use crate::custom::CustomType;
use crate::store::{
    Actor, Cause, Change, ChangeRecord, Channel, GroupRecord, MemberKind, Source, StoreError,
    UserState, Window,
};
use crate::vocabulary::{LogOutcome, ResourceType};
use serde_json::Value;
use time::OffsetDateTime;

/// Display name of the built-in group that holds every user of a tenant.
pub const ALL_USERS_GROUP: &str = "All Users";

/// Largest page the admin listings serve.
pub const ADMIN_MAX_PAGE: u64 = 500;

/// Whether a user in `state` may be deleted permanently (rule 6): only users that are
/// inactive or deprovisioned; an active user is disabled first (a local user by an
/// administrator, a provisioned one in the identity provider).
pub fn may_delete_permanently(state: UserState) -> bool {
    state != UserState::Active
}

/// A user as administrators see it, in any state.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminUser {
    /// The user's SCIM representation (RFC 7643 §4.1: `schemas`, `id`, every attribute
    /// value, custom ones under the tenant's custom schema URN, `meta`), to display.
    pub resource: Value,
    /// The id.
    pub id: String,
    /// The userName.
    pub user_name: String,
    /// The lifecycle state.
    pub state: UserState,
    /// Where the user came from.
    pub source: Source,
    /// The groups it is a member of: the built-in All Users group first (every user is in
    /// it), then the others. Administrators see All Users here; SCIM never does.
    pub groups: Vec<GroupRef>,
}

impl AdminUser {
    /// Whether it may be deleted permanently ([`may_delete_permanently`]).
    pub fn deletable(&self) -> bool {
        may_delete_permanently(self.state)
    }

    /// Why administrators may not change it (edit, disable, soft delete): `Some` for a
    /// user provisioned by the identity provider, its source of truth ([`ReadOnly::of`]).
    pub fn read_only(&self) -> Option<ReadOnly> {
        ReadOnly::of(false, self.source)
    }
}

/// A group a user belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRef {
    /// The group's id.
    pub id: String,
    /// Its displayName.
    pub display_name: String,
    /// Whether it is the built-in All Users group.
    pub builtin: bool,
}

/// Why administrators may not change a group or a user: it is the built-in group, or the
/// identity provider manages it (rule 12 keeps provisioned and local groups apart; a
/// provisioned user's values come from the identity provider, which would overwrite an
/// administrator's change at its next cycle). Local groups and users are the
/// administrators' own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnly {
    /// The built-in All Users group: it holds every user, by definition.
    Builtin,
    /// A group provisioned over SCIM: its source of truth is the identity provider.
    Provisioned,
}

impl ReadOnly {
    /// The product rule, in one place: whether (and why) a group is read-only to
    /// administrators.
    pub fn of(builtin: bool, source: Source) -> Option<ReadOnly> {
        if builtin {
            Some(ReadOnly::Builtin)
        } else if source != Source::Local {
            Some(ReadOnly::Provisioned)
        } else {
            None
        }
    }

    /// The 409 message when an administrator tries to change group `name` anyway (`what`:
    /// `deleted`, `changed`, `renamed`).
    pub fn refusal(self, name: &str, what: &str) -> String {
        self.refusal_of("group", name, what)
    }

    /// Refuses (409, [`ReadOnly::refusal_of`]) a change `what` of the `noun` `name` that is
    /// read-only (`of`: [`ReadOnly::of`] it); `Ok` for a local one.
    pub(crate) fn refuse(
        of: Option<ReadOnly>,
        (noun, name): (&str, &str),
        what: &str,
    ) -> Result<(), crate::error::DirectoryError> {
        match of {
            Some(r) => Err(crate::error::DirectoryError::Conflict(
                r.refusal_of(noun, name, what),
            )),
            None => Ok(()),
        }
    }

    /// The 409 message when an administrator tries to change the `noun` (`user`, `group`)
    /// `name` anyway (`what`: `changed`, `disabled`, `deleted` ...).
    pub fn refusal_of(self, noun: &str, name: &str, what: &str) -> String {
        match self {
            ReadOnly::Builtin => format!("the built-in {noun} '{name}' cannot be {what}"),
            ReadOnly::Provisioned => format!(
                "{noun} '{name}' is provisioned by the identity provider (SCIM): Entra ID is its source, so it cannot be {what} here; change it in the identity provider"
            ),
        }
    }
}

/// A group as administrators see it, with what they may do to it.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminGroup {
    /// The id.
    pub id: String,
    /// The displayName.
    pub display_name: String,
    /// The externalId, if any.
    pub external_id: Option<String>,
    /// Where the group came from.
    pub source: Source,
    /// Whether it is the tenant's built-in All Users group.
    pub builtin: bool,
    /// How many members it has (for All Users: every user).
    pub member_count: u64,
    /// Creation time.
    pub created: OffsetDateTime,
    /// Last modification time (member changes included).
    pub last_modified: OffsetDateTime,
    /// Why administrators may not change it; `None` for a local group.
    pub read_only: Option<ReadOnly>,
}

impl AdminGroup {
    /// The view of a stored group with `member_count` members.
    pub fn new(g: &GroupRecord, member_count: u64) -> AdminGroup {
        AdminGroup {
            id: g.id.clone(),
            display_name: g.display_name.clone(),
            // As sent (the record's lookup copy holds its NFC key).
            external_id: g
                .doc
                .get("externalId")
                .and_then(Value::as_str)
                .map(str::to_string),
            source: g.source,
            builtin: g.builtin,
            member_count,
            created: g.created,
            last_modified: g.last_modified,
            read_only: ReadOnly::of(g.builtin, g.source),
        }
    }

    /// Whether administrators may delete it (local groups only).
    pub fn may_delete(&self) -> bool {
        self.read_only.is_none()
    }

    /// Whether administrators may add and remove its members (local groups only).
    pub fn may_edit_members(&self) -> bool {
        self.read_only.is_none()
    }
}

/// One member of a group, as administrators see it.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminMember {
    /// The member's id.
    pub id: String,
    /// A user or a (nested) group.
    pub kind: MemberKind,
    /// Its displayName, else a user's userName.
    pub display: Option<String>,
    /// A user member's state (`None` for groups).
    pub state: Option<UserState>,
}

/// A group with one page of its members.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminGroupPage {
    /// The group.
    pub group: AdminGroup,
    /// The members of the page, in insertion order (for All Users: every user, oldest
    /// first).
    pub members: Vec<AdminMember>,
    /// 1-based index of the first member of the page.
    pub start_index: u64,
}

/// A custom attribute of a tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomAttribute {
    /// Its name (RFC 7643 ATTRNAME), as registered.
    pub name: String,
    /// Its data type.
    pub ty: CustomType,
    /// The tenant's custom schema URN it lives under.
    pub schema_urn: String,
    /// Registration time.
    pub created: OffsetDateTime,
    /// How many users hold a value for it, when counted (listings of many attributes on
    /// large tenants skip the count).
    pub users_with_value: Option<u64>,
}

impl CustomAttribute {
    /// Its SCIM path, `<schema URN>:<name>`: what to map in the identity provider.
    pub fn scim_path(&self) -> String {
        format!("{}:{}", self.schema_urn, self.name)
    }
}

/// A tenant's custom extension: its schema URN and attributes, in registration order.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomSchema {
    /// The custom schema URN (a tenant setting).
    pub urn: String,
    /// The attributes registered under it.
    pub attributes: Vec<CustomAttribute>,
}

/// One provisioning-log entry: a SCIM write (or a permanent delete by an administrator)
/// and what came of it; a view of its change record. Never holds secrets or passwords.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvisioningEntry {
    /// Sequence number (increasing in insertion order).
    pub seq: i64,
    /// The transaction: shared with the per-member and rule records of the same request.
    pub txn: String,
    /// When the request was handled.
    pub at: OffsetDateTime,
    /// Who made it.
    pub actor: Actor,
    /// The request (method, path, status).
    pub cause: Cause,
    /// The attributes changed, with their values before and after.
    pub changes: Vec<Change>,
    /// The token that made the request (`portal:<administrator>` for the portal,
    /// `cli:<user>` for the command line).
    pub token_name: String,
    /// HTTP method.
    pub method: String,
    /// Request path (no query string).
    pub path: String,
    /// The resource's type.
    pub resource_type: ResourceType,
    /// The resource's id, when known.
    pub resource_id: Option<String>,
    /// Its userName or displayName, when known.
    pub resource_name: Option<String>,
    /// What came of the write.
    pub outcome: LogOutcome,
    /// The HTTP status answered.
    pub status: u16,
    /// Why it was rejected, for rejected writes.
    pub detail: Option<String>,
    /// Names of the attributes changed.
    pub changed: Vec<String>,
    /// Warnings (ignored attributes ...).
    pub warnings: Vec<String>,
}

impl ProvisioningEntry {
    /// Whether the resource the entry names may still exist: it has an id, this write did
    /// not delete it, and it is not a creation that was refused.
    pub fn resource_may_exist(&self) -> bool {
        let refused_creation =
            self.outcome == LogOutcome::Rejected && self.method.eq_ignore_ascii_case("POST");
        self.resource_id.as_deref().is_some_and(|id| !id.is_empty())
            && !self.outcome.removes_resource()
            && !refused_creation
    }
}

/// The log's `tokenName` of an actor: the token's name, `portal:<administrator>` for the
/// portal, `cli:<user>` for the command line.
pub fn token_name(actor: &Actor, source: Channel) -> String {
    match source {
        Channel::Portal => format!("portal:{}", actor.name),
        Channel::Cli => format!("cli:{}", actor.name),
        Channel::Scim | Channel::Api => actor.name.clone(),
    }
}

/// The `(method, path, status)` of a request cause; empty and 0 for other causes.
fn request_of(cause: &Cause) -> (String, String, u16) {
    match cause {
        Cause::Request {
            method,
            path,
            status,
        } => (method.clone(), path.clone(), status.unwrap_or(0)),
        _ => (String::new(), String::new(), 0),
    }
}

/// The error of a stored record whose `what` is outside the vocabulary (the database was
/// written by something else than this directory).
fn unknown(seq: i64, what: &str, v: &str) -> StoreError {
    StoreError::Backend(format!("change record {seq} has an unknown {what} '{v}'"))
}

impl TryFrom<ChangeRecord> for ProvisioningEntry {
    type Error = StoreError;

    /// Errors: an outcome or resource type outside the vocabulary.
    fn try_from(e: ChangeRecord) -> Result<Self, StoreError> {
        let outcome =
            LogOutcome::parse(&e.outcome).ok_or_else(|| unknown(e.seq, "outcome", &e.outcome))?;
        let rt = e.resource_type.as_deref().unwrap_or_default();
        let resource_type =
            ResourceType::parse(rt).ok_or_else(|| unknown(e.seq, "resource type", rt))?;
        let (method, path, status) = request_of(&e.cause);
        Ok(ProvisioningEntry {
            seq: e.seq,
            txn: e.txn,
            at: e.at,
            token_name: token_name(&e.actor, e.source),
            changed: e.changes.iter().map(|c| c.attribute.clone()).collect(),
            actor: e.actor,
            cause: e.cause,
            changes: e.changes,
            method,
            path,
            resource_type,
            resource_id: e.resource_id,
            resource_name: e.resource_name,
            outcome,
            status,
            detail: e.detail,
            warnings: e.warnings,
        })
    }
}

/// One audit record: an administrative action (settings, attributes, tokens,
/// administrators, local users and groups, permanent deletes, sign-ins and failed
/// sign-ins) from the portal, the admin API or the command line; a view of its change
/// record, whose resource is the action's target (`User`, `Group`, `Token`, `Attribute`,
/// `Administrator` or `Settings`), whose count is the number of coalesced failed
/// sign-ins, and whose actor, for a failed sign-in, is the username tried (cut to 32
/// characters). Never holds secrets, passwords or hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// What was done.
    pub action: AuditAction,
    /// The record.
    pub record: ChangeRecord,
}

impl TryFrom<ChangeRecord> for AuditEntry {
    type Error = StoreError;

    /// Errors: a record without an action, or one outside the vocabulary.
    fn try_from(record: ChangeRecord) -> Result<Self, StoreError> {
        let name = record.action.as_deref().unwrap_or_default();
        let action = AuditAction::parse(name).ok_or_else(|| unknown(record.seq, "action", name))?;
        Ok(AuditEntry { action, record })
    }
}

/// Filters of an audit-record query; all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Only records of this action.
    pub action: Option<AuditAction>,
    /// Only records of the actor with exactly this name.
    pub actor: Option<String>,
    /// Only records that came through this channel.
    pub source: Option<Channel>,
    /// Time range, text (target name or id, path or command, detail, actor, address),
    /// transaction.
    pub window: Window,
}

/// Filters of a provisioning-log query; all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogFilter {
    /// Only entries with this outcome.
    pub outcome: Option<LogOutcome>,
    /// Only entries of this resource type.
    pub resource_type: Option<ResourceType>,
    /// Time range, text (the resource's name or id, the path, the detail, the token name),
    /// transaction.
    pub window: Window,
}

/// The dashboard's counts of a tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectoryCounts {
    /// Users in every state.
    pub users: u64,
    /// Active users.
    pub active: u64,
    /// Inactive (disabled) users.
    pub inactive: u64,
    /// Deprovisioned (soft-deleted) users.
    pub deprovisioned: u64,
    /// Users created by administrators.
    pub local: u64,
    /// Users provisioned over SCIM.
    pub scim: u64,
    /// Groups (the built-in group excluded).
    pub groups: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_groups() {
        assert_eq!(ReadOnly::of(true, Source::Local), Some(ReadOnly::Builtin));
        assert_eq!(
            ReadOnly::of(false, Source::Scim),
            Some(ReadOnly::Provisioned)
        );
        assert_eq!(ReadOnly::of(false, Source::Local), None);
    }

    #[test]
    fn deletable_states() {
        assert!(!may_delete_permanently(UserState::Active));
        assert!(may_delete_permanently(UserState::Inactive));
        assert!(may_delete_permanently(UserState::Deprovisioned));
    }
}
