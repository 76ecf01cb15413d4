//! The change record, written once per write (see `store::ChangeRecord` for its fields): how
//! a write's records are made ([`Recorder`]: one `txn` and time for everything a request
//! changed), what an attribute change is ([`diff`]), the product rules that change other
//! resources as a side effect ([`Rule`]), and the privacy rule of a permanent delete
//! ([`Directory::redact_person`]).
//!
//! Granularity of `changes`: one item per top-level attribute of a document whose value
//! differs (`name` as one object, `emails` as the whole array, `active`), one per attribute
//! of an extension schema under its full name (`urn:…:enterprise:2.0:User:department`,
//! `…:manager` as `{value}`); values as stored (normalised, canonical order). `password` is
//! never stored, so never recorded. Group membership is one record per member added or
//! removed (the request's record has a `members` summary with the counts), so no record
//! grows with the size of a group. Directory properties that are not attributes appear
//! under their own names: `state` (soft delete, revival), `source` (adoption).

use crate::directory::{Directory, Origin, RequestInfo, WriteStatus};
use crate::store::{
    Actor, ActorType, AdminRow, Cause, Change, ChangeRecord, MemberChange, MemberKind, RecordQuery,
    RecordView, StoreResult, Tx,
};
use crate::vocabulary::{LogOutcome, ResourceType};
use scim_proto::schema::ResourceSchema;
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// A product rule that changes resources other than the one a request names (or changes
/// properties the request did not ask for): its side effects are records of their own,
/// with the request's `txn`, actor type `rule` and the rule's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Rule 9: deleting a group disables its user members that belong to no other group.
    GroupDeleteDisablesMembers,
    /// Rule 7: a POST of a deprovisioned user's userName provisions that user again.
    PostRevivesUser,
    /// Rule 11: a SCIM write to a local user (a POST of its userName, a PUT or PATCH of it)
    /// hands the user over to provisioning.
    AdoptsLocalUser,
    /// Deleting a custom attribute removes its values from every user.
    AttributeDeleteRemovesValues,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 4] = [
        Rule::GroupDeleteDisablesMembers,
        Rule::PostRevivesUser,
        Rule::AdoptsLocalUser,
        Rule::AttributeDeleteRemovesValues,
    ];

    /// The rule's name (the actor's `name` and the cause's `rule`).
    pub fn name(self) -> &'static str {
        match self {
            Rule::GroupDeleteDisablesMembers => "group-delete-disables-members",
            Rule::PostRevivesUser => "post-revives-deprovisioned-user",
            Rule::AdoptsLocalUser => "scim-write-adopts-local-user",
            Rule::AttributeDeleteRemovesValues => "attribute-delete-removes-values",
        }
    }

    /// What the rule did, for people.
    pub fn description(self) -> &'static str {
        match self {
            Rule::GroupDeleteDisablesMembers => {
                "group delete disabled independent members (rule 9: users in no other group are disabled)"
            }
            Rule::PostRevivesUser => {
                "POST of a deprovisioned user's userName revived it (rule 7)"
            }
            Rule::AdoptsLocalUser => {
                "a SCIM write to a local user adopted it for provisioning (rule 11)"
            }
            Rule::AttributeDeleteRemovesValues => {
                "deleting a custom attribute removed its values from every user"
            }
        }
    }

    /// The rule named `name`.
    pub fn parse(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// An administrative action: the audit record's `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// Tenant settings changed.
    SettingsUpdate,
    /// A custom attribute registered.
    AttributeCreate,
    /// A custom attribute deleted (its values removed from every user).
    AttributeDelete,
    /// An API token created (its secret is never recorded).
    TokenCreate,
    /// An API token revoked.
    TokenRevoke,
    /// An OIDC issuer added (its tokens accepted from then on).
    IssuerAdd,
    /// An OIDC issuer removed (its tokens refused from then on).
    IssuerRemove,
    /// An OAuth client created (its secret is never recorded).
    ClientCreate,
    /// An OAuth client revoked (its access tokens stop working).
    ClientRevoke,
    /// A portal administrator created.
    AdministratorCreate,
    /// A portal administrator's password reset (its sessions ended).
    AdministratorPasswordReset,
    /// A portal administrator changed its own password (its other sessions ended).
    AdministratorPasswordChange,
    /// A portal administrator's sign-in slow-down ended (`scimd admin unlock`).
    AdministratorUnlock,
    /// A portal administrator removed (`scimd admin remove`; its sessions ended).
    AdministratorRemove,
    /// A local user created.
    UserCreate,
    /// A local user's attributes changed by an administrator (enabling and disabling
    /// included: the record's outcome says `updated`, `enabled` or `disabled`).
    UserUpdate,
    /// A local user soft-deleted by an administrator (made `deprovisioned`).
    UserSoftDelete,
    /// A user deleted permanently.
    UserDelete,
    /// A local group created.
    GroupCreate,
    /// A local group renamed.
    GroupRename,
    /// A local group deleted.
    GroupDelete,
    /// Users added to a local group.
    GroupMembersAdd,
    /// Members removed from a local group.
    GroupMembersRemove,
    /// A portal administrator signed in.
    SignIn,
    /// Failed portal sign-ins (coalesced: `count` of them).
    SignInFailure,
    /// The tenant created (by an operator).
    TenantCreate,
    /// The tenant disabled by an operator (its SCIM, admin API and portal answer 403).
    TenantDisable,
    /// The tenant enabled again by an operator.
    TenantEnable,
    /// The tenant's deletion started by an operator (recorded in the operator realm).
    TenantDelete,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [AuditAction; 29] = [
        AuditAction::SettingsUpdate,
        AuditAction::AttributeCreate,
        AuditAction::AttributeDelete,
        AuditAction::TokenCreate,
        AuditAction::TokenRevoke,
        AuditAction::IssuerAdd,
        AuditAction::IssuerRemove,
        AuditAction::ClientCreate,
        AuditAction::ClientRevoke,
        AuditAction::AdministratorCreate,
        AuditAction::AdministratorPasswordReset,
        AuditAction::AdministratorPasswordChange,
        AuditAction::AdministratorUnlock,
        AuditAction::AdministratorRemove,
        AuditAction::UserCreate,
        AuditAction::UserUpdate,
        AuditAction::UserSoftDelete,
        AuditAction::UserDelete,
        AuditAction::GroupCreate,
        AuditAction::GroupRename,
        AuditAction::GroupDelete,
        AuditAction::GroupMembersAdd,
        AuditAction::GroupMembersRemove,
        AuditAction::SignIn,
        AuditAction::SignInFailure,
        AuditAction::TenantCreate,
        AuditAction::TenantDisable,
        AuditAction::TenantEnable,
        AuditAction::TenantDelete,
    ];

    /// `settings.update`, `attribute.create`, `attribute.delete`, `token.create`,
    /// `token.revoke`, `issuer.add`, `issuer.remove`, `client.create`, `client.revoke`, `administrator.create`, `administrator.reset-password`,
    /// `administrator.change-password`, `administrator.unlock`, `administrator.remove`,
    /// `user.create`, `user.update`,
    /// `user.soft-delete`, `user.delete`, `group.create`, `group.rename`, `group.delete`,
    /// `group.add-members`, `group.remove-members`, `signin`, `signin.failure`,
    /// `tenant.create`, `tenant.disable`, `tenant.enable`, `tenant.delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SettingsUpdate => "settings.update",
            AuditAction::AttributeCreate => "attribute.create",
            AuditAction::AttributeDelete => "attribute.delete",
            AuditAction::TokenCreate => "token.create",
            AuditAction::TokenRevoke => "token.revoke",
            AuditAction::IssuerAdd => "issuer.add",
            AuditAction::IssuerRemove => "issuer.remove",
            AuditAction::ClientCreate => "client.create",
            AuditAction::ClientRevoke => "client.revoke",
            AuditAction::AdministratorCreate => "administrator.create",
            AuditAction::AdministratorPasswordReset => "administrator.reset-password",
            AuditAction::AdministratorPasswordChange => "administrator.change-password",
            AuditAction::AdministratorUnlock => "administrator.unlock",
            AuditAction::AdministratorRemove => "administrator.remove",
            AuditAction::UserCreate => "user.create",
            AuditAction::UserUpdate => "user.update",
            AuditAction::UserSoftDelete => "user.soft-delete",
            AuditAction::UserDelete => "user.delete",
            AuditAction::GroupCreate => "group.create",
            AuditAction::GroupRename => "group.rename",
            AuditAction::GroupDelete => "group.delete",
            AuditAction::GroupMembersAdd => "group.add-members",
            AuditAction::GroupMembersRemove => "group.remove-members",
            AuditAction::SignIn => "signin",
            AuditAction::SignInFailure => "signin.failure",
            AuditAction::TenantCreate => "tenant.create",
            AuditAction::TenantDisable => "tenant.disable",
            AuditAction::TenantEnable => "tenant.enable",
            AuditAction::TenantDelete => "tenant.delete",
        }
    }

    /// Parses the names of [`AuditAction::as_str`], ignoring case.
    pub fn parse(s: &str) -> Option<AuditAction> {
        crate::vocabulary::word(&AuditAction::ALL, AuditAction::as_str, s)
    }

    /// Every name, for messages.
    pub fn names() -> String {
        AuditAction::ALL.map(AuditAction::as_str).join(", ")
    }
}

/// The kinds of what administrative actions change besides users and groups (the audit
/// record's `target.type`).
pub mod target {
    /// An API token.
    pub const TOKEN: &str = "Token";
    /// An OIDC issuer whose access tokens are accepted.
    pub const ISSUER: &str = "Issuer";
    /// An OAuth client.
    pub const CLIENT: &str = "Client";
    /// A custom attribute.
    pub const ATTRIBUTE: &str = "Attribute";
    /// A portal administrator.
    pub const ADMINISTRATOR: &str = "Administrator";
    /// The tenant's settings.
    pub const SETTINGS: &str = "Settings";
    /// The tenant itself.
    pub const TENANT: &str = "Tenant";
}

/// The outcome of administrative actions that have no provisioning-log outcome.
pub const SUCCEEDED: &str = "succeeded";
/// The outcome of a failed sign-in.
pub const FAILED: &str = "failed";

/// Adds `change` unless the two values are equal.
fn push_change(out: &mut Vec<Change>, attribute: String, b: Option<&Value>, a: Option<&Value>) {
    if b != a {
        out.push(Change::new(attribute, b.cloned(), a.cloned()));
    }
}

/// The changes from document `before` to `after` (`Value::Null` for none) of `schema`'s
/// resource type, at the granularity of the module documentation, in the order of `after`
/// then of `before`. `password` is never part of them.
pub fn diff(before: &Value, after: &Value, schema: &ResourceSchema) -> Vec<Change> {
    diff_by(before, after, |k| schema.extension(k).is_some())
}

/// The changes between two JSON objects, one per top-level key whose value differs (tenant
/// settings, for one).
pub fn diff_plain(before: &Value, after: &Value) -> Vec<Change> {
    diff_by(before, after, |_| false)
}

fn diff_by(before: &Value, after: &Value, is_extension: impl Fn(&str) -> bool) -> Vec<Change> {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = a.keys().collect();
    keys.extend(b.keys().filter(|k| !a.contains_key(*k)));
    let mut out = Vec::new();
    for k in keys {
        if k.eq_ignore_ascii_case("password") {
            continue;
        }
        let (x, y) = (b.get(k), a.get(k));
        if x == y {
            continue;
        }
        let (xo, yo) = (x.and_then(Value::as_object), y.and_then(Value::as_object));
        if !(is_extension(k) && (xo.is_some() || yo.is_some())) {
            push_change(&mut out, k.clone(), x, y);
            continue;
        }
        let (xo, yo) = (xo.unwrap_or(&empty), yo.unwrap_or(&empty));
        let mut subs: Vec<&String> = yo.keys().collect();
        subs.extend(xo.keys().filter(|s| !yo.contains_key(*s)));
        for s in subs {
            push_change(&mut out, format!("{k}:{s}"), xo.get(s), yo.get(s));
        }
    }
    out
}

/// A change of a directory property (`state`, `source`) from `before` to `after`.
pub(crate) fn property(name: &str, before: &str, after: &str) -> Change {
    Change::new(
        name,
        Some(Value::String(before.to_string())),
        Some(Value::String(after.to_string())),
    )
}

/// The `members` summary of a group write: how many members it added and removed; `None`
/// when it changed none.
pub(crate) fn members_summary(members: &[MemberChange]) -> Option<Change> {
    if members.is_empty() {
        return None;
    }
    let added = members.iter().filter(|m| m.added).count() as u64;
    Some(Change {
        attribute: "members".into(),
        added: Some(added),
        removed: Some(members.len() as u64 - added),
        ..Change::default()
    })
}

/// The net membership changes of a sequence of adds and removals: a member added then
/// removed (or removed then added back) in one write is no change. In first-change order.
#[derive(Debug, Default)]
pub(crate) struct MemberDelta {
    order: Vec<MemberChange>,
}

impl MemberDelta {
    /// Members added (those that were not members).
    pub(crate) fn added(&mut self, ms: Vec<(String, MemberKind)>) {
        self.apply(ms, true)
    }

    /// Members removed (those that were members).
    pub(crate) fn removed(&mut self, ms: Vec<(String, MemberKind)>) {
        self.apply(ms, false)
    }

    fn apply(&mut self, ms: Vec<(String, MemberKind)>, added: bool) {
        if ms.is_empty() {
            return;
        }
        let index: std::collections::HashMap<String, usize> = self
            .order
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.clone(), i))
            .collect();
        let mut cancelled = vec![false; self.order.len()];
        for (id, kind) in ms {
            match index.get(&id) {
                // The opposite change of one already counted: they cancel out.
                Some(&i) if !cancelled[i] && self.order[i].added != added => cancelled[i] = true,
                _ => self.order.push(MemberChange { id, kind, added }),
            }
        }
        let mut i = 0;
        self.order.retain(|_| {
            let keep = !cancelled.get(i).copied().unwrap_or(false);
            i += 1;
            keep
        });
    }

    /// The net changes.
    pub(crate) fn into_changes(self) -> Vec<MemberChange> {
        self.order
    }
}

/// Sets the status a request record's request was answered (nothing for other causes).
pub(crate) fn answered(r: &mut ChangeRecord, code: u16) {
    if let Cause::Request { status, .. } = &mut r.cause {
        *status = Some(code);
    }
}

/// The records of one request or command: one `txn` and one time for all of them, and the
/// origin they are recorded under.
pub(crate) struct Recorder<'o> {
    origin: &'o Origin,
    txn: String,
    at: OffsetDateTime,
}

impl<'o> Recorder<'o> {
    /// A new transaction of `origin`.
    pub(crate) fn new(origin: &'o Origin) -> Recorder<'o> {
        Recorder {
            origin,
            txn: uuid::Uuid::new_v4().to_string(),
            at: crate::render::now(),
        }
    }

    /// A record of this transaction about a resource of `resource_type`, by the origin, with
    /// no view flag set.
    pub(crate) fn record(
        &self,
        resource_type: &str,
        id: Option<&str>,
        name: Option<&str>,
        outcome: &str,
    ) -> ChangeRecord {
        let o = self.origin;
        ChangeRecord {
            seq: 0,
            tenant_id: o.tenant_id.clone(),
            txn: self.txn.clone(),
            at: self.at,
            actor: o.actor.clone(),
            source: o.source,
            address: o.address.clone(),
            cause: o.cause.clone(),
            resource_type: Some(resource_type.to_string()),
            resource_id: id.map(str::to_string),
            resource_name: name.map(str::to_string),
            member: None,
            outcome: outcome.to_string(),
            action: None,
            detail: None,
            changes: Vec::new(),
            warnings: Vec::new(),
            count: 1,
            log: false,
            audit: false,
        }
    }

    /// A record of a user or group `id` (`name`) that came to `outcome`.
    fn about(&self, rt: ResourceType, id: &str, name: &str, outcome: LogOutcome) -> ChangeRecord {
        self.record(rt.as_str(), Some(id), Some(name), outcome.as_str())
    }

    /// The provisioning-log record of a SCIM write of `resource_type` `id` (`name`) that came
    /// to `outcome`, answered `status`.
    pub(crate) fn write(
        &self,
        resource_type: ResourceType,
        id: &str,
        name: &str,
        outcome: LogOutcome,
        status: WriteStatus,
    ) -> ChangeRecord {
        let mut r = self.about(resource_type, id, name, outcome);
        r.log = true;
        answered(&mut r, status.code());
        r
    }

    /// The audit record of administrative action `action` on `resource_type` `id` (`name`),
    /// outcome `outcome`.
    pub(crate) fn action(
        &self,
        action: AuditAction,
        resource_type: &str,
        id: Option<&str>,
        name: Option<&str>,
        outcome: &str,
    ) -> ChangeRecord {
        let mut r = self.record(resource_type, id, name, outcome);
        r.audit = true;
        r.action = Some(action.as_str().to_string());
        r
    }

    /// The audit record of `action` creating the user or group `id` (`name`) with document
    /// `doc` of `schema`: every attribute's value after.
    pub(crate) fn created(
        &self,
        action: AuditAction,
        (rt, id, name): (ResourceType, &str, &str),
        doc: &Value,
        schema: &ResourceSchema,
    ) -> ChangeRecord {
        let created = LogOutcome::Created.as_str();
        let mut r = self.action(action, rt.as_str(), Some(id), Some(name), created);
        r.changes = diff(&Value::Null, doc, schema);
        r
    }

    /// A side effect of `rule` on a resource: actor type `rule`, the rule as the cause.
    pub(crate) fn rule(
        &self,
        rule: Rule,
        resource_type: ResourceType,
        id: &str,
        name: &str,
        outcome: LogOutcome,
    ) -> ChangeRecord {
        let mut r = self.about(resource_type, id, name, outcome);
        r.actor = Actor::new(ActorType::Rule, rule.name());
        r.cause = Cause::Rule(rule.name().to_string());
        r
    }

    /// Records the membership changes `members` of group `id` (`name`) made by the request
    /// whose record is `request`: one record each, with the request's actor and cause.
    pub(crate) async fn members(
        &self,
        tx: &mut dyn Tx,
        request: &ChangeRecord,
        group: (&str, &str),
        members: &[MemberChange],
    ) -> StoreResult<()> {
        if members.is_empty() {
            return Ok(());
        }
        let mut base = request.clone();
        base.resource_type = Some(ResourceType::Group.as_str().to_string());
        base.resource_id = Some(group.0.to_string());
        base.resource_name = Some(group.1.to_string());
        base.log = false;
        base.audit = false;
        base.action = None;
        base.changes = Vec::new();
        base.warnings = Vec::new();
        base.detail = None;
        tx.insert_member_records(&base, members).await
    }
}

impl Directory {
    /// The privacy rule of a permanent delete: every record about user `id` of the tenant
    /// keeps the fact that it existed (time, actor, cause, outcome, which attributes) but
    /// loses the person's values: the resource name becomes a pseudonym
    /// (`deleted-user-<random>`), each change's values are removed (`redacted`), and an error
    /// detail is replaced. Run in the delete's transaction.
    pub(crate) async fn redact_person(
        &self,
        tx: &mut dyn Tx,
        tenant: &str,
        id: &str,
    ) -> StoreResult<u64> {
        const PAGE: u64 = 500;
        let pseudonym = format!(
            "deleted-user-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let mut q = RecordQuery {
            view: RecordView::Resource(id.to_string()),
            limit: PAGE,
            ..RecordQuery::default()
        };
        let mut redacted = 0;
        loop {
            let (_, page) = tx.query_records(tenant, &q).await?;
            let n = page.len() as u64;
            for mut r in page {
                // Per-member records of groups that had the user as a member name the
                // group; the member is only an id.
                if r.resource_id.as_deref() != Some(id) {
                    continue;
                }
                r.resource_name = Some(pseudonym.clone());
                if r.detail.is_some() {
                    r.detail = Some("(removed: the user was deleted permanently)".into());
                }
                for c in &mut r.changes {
                    if c.before.is_some() || c.after.is_some() {
                        c.before = None;
                        c.after = None;
                        c.redacted = true;
                    }
                }
                tx.rewrite_record(&r).await?;
                redacted += 1;
            }
            if n < PAGE {
                return Ok(redacted);
            }
            q.offset += PAGE;
        }
    }
}

/// Longest username a failed sign-in record keeps, in characters (the rest is cut: the
/// username is what an unauthenticated client typed).
pub const SIGNIN_USERNAME_CHARS: usize = 32;

/// Distinct (address, username) failed sign-in records per tenant and minute; failures
/// beyond them are counted on one record of the minute (username and address `*`). With
/// retention, this bounds the rows a spray of failed sign-ins can add: at most
/// `SIGNIN_FAILURE_KEYS + 1` a minute.
pub const SIGNIN_FAILURE_KEYS: usize = 20;

/// A username as a failed sign-in record keeps it: control characters replaced by `?`, at
/// most [`SIGNIN_USERNAME_CHARS`] characters.
pub fn capped_username(username: &str) -> String {
    username
        .trim()
        .chars()
        .take(SIGNIN_USERNAME_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Ends a write whose one change record is `r` (most administrative actions, a user's soft
/// delete): inserts it and commits `tx`.
pub(crate) async fn commit_recorded(mut tx: Box<dyn Tx>, r: &ChangeRecord) -> StoreResult<()> {
    tx.insert_record(r).await?;
    tx.commit().await
}

/// Records an administrative `action` on the administrator `admin` under `by`, with an
/// optional `detail` (`administrator.create`, `.reset-password`, `.change-password`,
/// `.unlock`); never a password or hash.
pub(crate) async fn record_admin(
    tx: &mut dyn Tx,
    by: &Origin,
    admin: &AdminRow,
    action: AuditAction,
    detail: Option<String>,
) -> StoreResult<()> {
    let recorder = Recorder::new(by);
    let (id, name) = (Some(admin.id.as_str()), Some(admin.username.as_str()));
    let mut r = recorder.action(action, target::ADMINISTRATOR, id, name, SUCCEEDED);
    r.detail = detail;
    tx.insert_record(&r).await?;
    Ok(())
}

/// Records a portal sign-in from `client`, posted to `path`, in `tx`: with `admin`, a successful one (audit
/// action `signin`, actor the administrator); without, a failed attempt for `username`
/// (action `signin.failure`), coalesced: one record per tenant, minute, address and
/// username (cut to [`SIGNIN_USERNAME_CHARS`]) with a `count`, at most
/// [`SIGNIN_FAILURE_KEYS`] of them a minute, then one record of the minute for the rest.
pub(crate) async fn record_signin(
    tx: &mut dyn Tx,
    tenant: &str,
    username: &str,
    (client, path): (&str, &str),
    admin: Option<&AdminRow>,
) -> StoreResult<()> {
    let request = RequestInfo {
        method: "POST".into(),
        path: path.into(),
        address: Some(client.to_string()),
    };
    if let Some(a) = admin {
        let origin = Origin::portal(tenant, &a.username, request);
        let recorder = Recorder::new(&origin);
        let (id, name) = (Some(a.id.as_str()), Some(a.username.as_str()));
        let r = recorder.action(
            AuditAction::SignIn,
            target::ADMINISTRATOR,
            id,
            name,
            SUCCEEDED,
        );
        tx.insert_record(&r).await?;
        return Ok(());
    }
    let capped = capped_username(username);
    let origin = Origin::portal(tenant, &capped, request);
    let recorder = Recorder::new(&origin);
    let minute = recorder
        .at
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]"
        ))
        .unwrap_or_default();
    let prefix = format!("{}|{minute}|", AuditAction::SignInFailure.as_str());
    let mut key = format!("{prefix}{client}|{}", scim_proto::filter::fold(&capped));
    let keys = tx.coalesced_keys(tenant, &prefix).await?;
    let action = AuditAction::SignInFailure;
    let mut r = recorder.action(action, target::ADMINISTRATOR, None, Some(&capped), FAILED);
    let distinct = keys.iter().filter(|k| !k.ends_with("|*")).count();
    if !keys.contains(&key) && distinct >= SIGNIN_FAILURE_KEYS {
        key = format!("{prefix}*");
        r.actor.name = "*".into();
        r.resource_name = Some("*".into());
        r.address = None;
        r.detail = Some(format!(
            "failed sign-ins of this minute beyond the first {SIGNIN_FAILURE_KEYS} addresses and usernames"
        ));
    }
    tx.coalesce_record(&r, &key).await
}

impl Directory {
    /// Records a failed sign-in ([`record_signin`]) in a transaction of its own.
    pub(crate) async fn record_signin_failure(
        &self,
        tenant: &str,
        username: &str,
        from: (&str, &str),
    ) -> StoreResult<()> {
        let mut tx = self.store().write().await?;
        record_signin(tx.as_mut(), tenant, username, from, None).await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(d: MemberDelta) -> Vec<(String, bool)> {
        d.into_changes()
            .into_iter()
            .map(|m| (m.id, m.added))
            .collect()
    }

    #[test]
    fn member_deltas_net_out() {
        let u = |s: &str| (s.to_string(), MemberKind::User);
        let mut d = MemberDelta::default();
        d.added(vec![u("a"), u("b")]);
        d.removed(vec![u("a"), u("c")]);
        d.added(vec![u("c"), u("d")]);
        assert_eq!(
            ids(d),
            vec![("b".to_string(), true), ("d".to_string(), true)]
        );
        let mut d = MemberDelta::default();
        d.removed(vec![u("a")]);
        d.added(vec![u("a")]);
        d.removed(vec![u("a")]);
        assert_eq!(ids(d), vec![("a".to_string(), false)]);
    }

    #[test]
    fn rules_and_actions_round_trip() {
        for r in Rule::ALL {
            assert_eq!(Rule::parse(r.name()), Some(r));
        }
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(&a.as_str().to_uppercase()), Some(a));
        }
        assert_eq!(AuditAction::parse("nope"), None);
    }

    #[test]
    fn summaries() {
        assert_eq!(members_summary(&[]), None);
        let m = |added| MemberChange {
            id: "x".into(),
            kind: MemberKind::User,
            added,
        };
        let s = members_summary(&[m(true), m(true), m(false)]).unwrap();
        assert_eq!((s.added, s.removed), (Some(2), Some(1)));
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"attribute": "members", "added": 2, "removed": 1})
        );
    }
}
