//! Administrator operations on users: every state, local users, permanent deletes.

use super::edit::{check_create, check_edit};
use super::model::{
    may_delete_permanently, AdminUser, GroupRef, ReadOnly, ADMIN_MAX_PAGE, ALL_USERS_GROUP,
};
use crate::changes::{answered, commit_recorded, diff, property, AuditAction, Recorder};
use crate::directory::{Directory, Origin, WriteStatus};
use crate::error::{not_found, DirectoryError, DirectoryResult};
use crate::policy::{self, Write};
use crate::render;
use crate::settings::TenantSettings;
use crate::store::{
    AdminUserFilter, MemberChange, MemberKind, Source, StoreResult, Tx, UserRecord, UserState,
};
use crate::users::{default_active, deprovision, new_user, refresh, state_of};
use crate::vocabulary::{LogOutcome, ResourceType};
use scim_proto::normalize::normalize_resource_with;
use scim_proto::patch::{
    self, BlankPolicy, PatchOpKind, PatchOperation, PatchOptions, PatchRequest,
};
use scim_proto::ScimError;
use serde_json::Value;

impl Directory {
    /// The administrator's view of stored users: each rendered (with its groups and its
    /// manager's name, in two batched queries), with its state, source and groups.
    async fn admin_users(
        &self,
        tx: &mut dyn Tx,
        tenant: &str,
        users: Vec<UserRecord>,
    ) -> StoreResult<Vec<AdminUser>> {
        let (_, schema) = self.user_context(tx, tenant).await?;
        let (mut groups, names) = self.relations(tx, tenant, &users).await?;
        // Every user is in the built-in group; administrators see it among the groups.
        let all_users = tx
            .group_by_display_name(tenant, ALL_USERS_GROUP)
            .await?
            .filter(|g| g.builtin)
            .map(|g| GroupRef {
                id: g.id,
                display_name: g.display_name,
                builtin: true,
            });
        let base = self.scim_base();
        Ok(users
            .into_iter()
            .map(|u| {
                let g = groups.remove(&u.id).unwrap_or_default();
                let others = g.iter().map(|(id, display_name)| GroupRef {
                    id: id.clone(),
                    display_name: display_name.clone(),
                    builtin: false,
                });
                AdminUser {
                    resource: render::user(&u, &schema, &base, &g, &names),
                    groups: all_users.clone().into_iter().chain(others).collect(),
                    id: u.id,
                    user_name: u.user_name,
                    state: u.state,
                    source: u.source,
                }
            })
            .collect())
    }

    async fn admin_user(&self, tx: &mut dyn Tx, u: UserRecord) -> StoreResult<AdminUser> {
        let tenant = u.tenant_id.clone();
        let mut v = self.admin_users(tx, &tenant, vec![u]).await?;
        Ok(v.pop().expect("one user"))
    }

    /// Users in every state matching `f`, paged (`start_index` 1-based, `count` at most
    /// [`ADMIN_MAX_PAGE`]), with the total matching.
    pub async fn admin_list_users(
        &self,
        tenant: &str,
        f: &AdminUserFilter,
        start_index: u64,
        count: u64,
    ) -> DirectoryResult<(u64, Vec<AdminUser>)> {
        let mut tx = self.store().read().await?;
        let (total, users) = tx
            .admin_list_users(tenant, f, start_index.max(1) - 1, count.min(ADMIN_MAX_PAGE))
            .await?;
        let users = self.admin_users(tx.as_mut(), tenant, users).await?;
        Ok((total, users))
    }

    /// One user in any state. Errors: 404 when absent.
    pub async fn admin_get_user(&self, tenant: &str, id: &str) -> DirectoryResult<AdminUser> {
        let mut tx = self.store().read().await?;
        let u = tx
            .get_user(tenant, id)
            .await?
            .ok_or_else(|| not_found("User", id))?;
        Ok(self.admin_user(tx.as_mut(), u).await?)
    }

    /// The user whose id is `key`, else whose userName equals `key` ignoring case, in any
    /// state; `None` when there is neither.
    pub async fn admin_find_user(
        &self,
        tenant: &str,
        key: &str,
    ) -> DirectoryResult<Option<AdminUser>> {
        let mut tx = self.store().read().await?;
        let u = match tx.get_user(tenant, key).await? {
            Some(u) => Some(u),
            None => tx.user_by_user_name(tenant, key).await?,
        };
        Ok(match u {
            Some(u) => Some(self.admin_user(tx.as_mut(), u).await?),
            None => None,
        })
    }

    /// Creates a local user from a body with SCIM attribute names (`userName`, `name`,
    /// `emails`, ...), active unless the body says otherwise. The body is checked as strictly
    /// as an edit ([`check_create`]): an unknown or readOnly attribute, sub-attribute or
    /// schema URN is refused, never dropped. The product rules on emails and names apply
    /// (rules 1, 2; an inactive user may be created), and a `manager` must be a user of the
    /// tenant. Errors: 400 for a body that check, SCIM validation or those rules refuse
    /// (invalidPath, mutability, invalidValue); 409 when the userName exists (ignoring case)
    /// in any state.
    ///
    /// Recorded as audit action `user.create` under `by` (the user's history starts with it).
    pub async fn admin_create_user(&self, by: &Origin, body: &Value) -> DirectoryResult<AdminUser> {
        let tenant = by.tenant_id.as_str();
        let mut tx = self.store().write().await?;
        let (settings, schema) = self.user_context(tx.as_mut(), tenant).await?;
        let body = check_create(body, &schema)?;
        let mut n = normalize_resource_with(&schema, &body, self.limits())?;
        if !n.warnings.is_empty() {
            return Err(ScimError::invalid_value(format!(
                "refused, nothing created: {}",
                n.warnings.join("; ")
            ))
            .into());
        }
        let relaxed = TenantSettings {
            refuse_inactive_create: false,
            ..settings
        };
        policy::check_user(&n.doc, &relaxed, Write::Create)?;
        default_active(&mut n.doc);
        let mut u = new_user(tenant, state_of(&n.doc), Source::Local, n.doc);
        refresh(&mut u, &schema)?;
        self.check_manager(tx.as_mut(), tenant, &u.id, &u.doc)
            .await?;
        if let Some(other) = tx.user_by_user_name(tenant, &u.user_name).await? {
            return Err(DirectoryError::Conflict(format!(
                "userName '{}' is already used by user {} ({})",
                other.user_name,
                other.id,
                other.state.as_str()
            )));
        }
        tx.insert_user(&u).await?;
        let user = (ResourceType::User, u.id.as_str(), u.user_name.as_str());
        let r = Recorder::new(by).created(AuditAction::UserCreate, user, &u.doc, &schema);
        tx.insert_record(&r).await?;
        let u = self.admin_user(tx.as_mut(), u).await?;
        tx.commit().await?;
        Ok(u)
    }

    /// Deletes a user permanently (rule 6): only users that are inactive or deprovisioned
    /// ([`AdminUser::deletable`]). Its memberships go with it. Recorded under `by` as audit
    /// action `user.delete` and as the provisioning-log entry `deleted` (status 204), with
    /// one record per group it leaves; then every record about the user is pseudonymised
    /// ([`Directory::redact_person`]), in the same transaction. Errors: 404 when absent, 409
    /// for an active user.
    pub async fn admin_delete_user(&self, by: &Origin, id: &str) -> DirectoryResult<()> {
        let tenant = by.tenant_id.as_str();
        let mut tx = self.store().write().await?;
        let u = tx
            .get_user(tenant, id)
            .await?
            .ok_or_else(|| not_found("User", id))?;
        if !may_delete_permanently(u.state) {
            let how = match u.source {
                Source::Local => "disable it first (PATCH /api/v1/users/{id} with {\"active\": false}, or Disable on its page in the portal), or soft delete it",
                Source::Scim => "it is provisioned by the identity provider: disable or unassign it in Entra ID first",
            };
            return Err(DirectoryError::Conflict(format!(
                "user '{}' is active: only inactive or deprovisioned users can be deleted permanently; {}",
                u.user_name,
                how.replace("{id}", &u.id)
            )));
        }
        let (_, schema) = self.user_context(tx.as_mut(), tenant).await?;
        let groups = tx
            .groups_of_users(tenant, std::slice::from_ref(&u.id))
            .await?;
        tx.delete_resource(tenant, MemberKind::User, id).await?;
        let recorder = Recorder::new(by);
        let (uid, name) = (Some(u.id.as_str()), Some(u.user_name.as_str()));
        let deleted = LogOutcome::Deleted.as_str();
        let mut r = recorder.action(AuditAction::UserDelete, "User", uid, name, deleted);
        r.log = true;
        answered(&mut r, WriteStatus::NoContent.code());
        r.changes = diff(&u.doc, &Value::Null, &schema);
        tx.insert_record(&r).await?;
        let me = [MemberChange {
            id: u.id.clone(),
            kind: MemberKind::User,
            added: false,
        }];
        for (_, gid, gname) in &groups {
            recorder.members(tx.as_mut(), &r, (gid, gname), &me).await?;
        }
        self.redact_person(tx.as_mut(), tenant, id).await?;
        Ok(tx.commit().await?)
    }

    /// Changes a local user: `body` is a JSON object of SCIM attribute names to set (a
    /// merge: what it does not name is kept; `name` and the extensions merge their
    /// sub-attributes, multi-valued attributes such as `emails` are replaced whole; `null`
    /// or `""` clears an attribute). `"active": false` disables the user, `true` enables it
    /// (a soft-deleted user too); without `active` the state is kept. `userName` may be
    /// changed (unique ignoring case, as on create); `id`, `meta`, `groups`, `schemas` and
    /// `password` may not ([`check_edit`]). The product rules apply as to any update
    /// (rules 1, 2: given and family name and an email stay mandatory; a `manager` must be a
    /// user of the tenant). A body that changes nothing is answered with the user and
    /// records nothing.
    ///
    /// Recorded under `by` as audit action `user.update` (outcome `updated`, `disabled` or
    /// `enabled`), with every changed attribute's value before and after (and `state` when
    /// a soft-deleted user comes back), in the write's transaction. Errors: 400 (SCIM
    /// detail and scimType: invalidPath for an unknown attribute, mutability for a readOnly
    /// one, invalidValue for a wrong type or a product rule), 404 when absent, 409 for a
    /// provisioned user or a userName taken by another user.
    pub async fn admin_update_user(
        &self,
        by: &Origin,
        id: &str,
        body: &Value,
    ) -> DirectoryResult<AdminUser> {
        let tenant = by.tenant_id.as_str();
        let mut tx = self.store().write().await?;
        let rec = local_user(tx.as_mut(), (tenant, id), "changed").await?;
        let (settings, schema) = self.user_context(tx.as_mut(), tenant).await?;
        check_edit(body, &schema)?;
        let mut doc = rec.doc.clone();
        if let Some(o) = doc.as_object_mut() {
            o.insert("active".into(), Value::Bool(rec.state == UserState::Active));
        }
        let req = PatchRequest {
            operations: vec![PatchOperation {
                op: PatchOpKind::Replace,
                path: None,
                value: Some(body.clone()),
            }],
        };
        let opts = PatchOptions {
            blank_policy: BlankPolicy::Clear,
            limits: *self.limits(),
        };
        let outcome = patch::apply(&mut doc, &req, &schema, &opts).map_err(|e| ScimError {
            detail: e.detail.trim_start_matches("operation 1: ").to_string(),
            ..e
        })?;
        if !outcome.warnings.is_empty() {
            return Err(ScimError::invalid_value(format!(
                "refused, nothing changed: {}",
                outcome.warnings.join("; ")
            ))
            .into());
        }
        policy::check_user(&doc, &settings, Write::Patch { before: &rec.doc })?;
        self.check_manager(tx.as_mut(), tenant, &rec.id, &doc)
            .await?;
        let names_active = body
            .as_object()
            .is_some_and(|o| o.keys().any(|k| k.eq_ignore_ascii_case("active")));
        let state = if names_active {
            state_of(&doc)
        } else {
            rec.state
        };
        if let Some(o) = doc.as_object_mut() {
            o.insert("active".into(), Value::Bool(state == UserState::Active));
        }
        let mut after = rec.clone();
        after.doc = doc;
        after.state = state;
        refresh(&mut after, &schema)?;
        if after.doc == rec.doc && after.state == rec.state && after.user_name == rec.user_name {
            return Ok(self.admin_user(tx.as_mut(), rec).await?);
        }
        if let Some(other) = tx.user_by_user_name(tenant, &after.user_name).await? {
            if other.id != rec.id {
                return Err(DirectoryError::Conflict(format!(
                    "userName '{}' is already used by user {} ({})",
                    other.user_name,
                    other.id,
                    other.state.as_str()
                )));
            }
        }
        after.version += 1;
        after.last_modified = render::now();
        tx.update_user(&after).await?;
        let outcome = match (rec.state, after.state) {
            (a, b) if a == b => LogOutcome::Updated,
            (_, UserState::Active) => LogOutcome::Enabled,
            (_, UserState::Inactive) => LogOutcome::Disabled,
            _ => LogOutcome::Updated,
        };
        let recorder = Recorder::new(by);
        let (uid, name) = (Some(after.id.as_str()), Some(after.user_name.as_str()));
        let mut r = recorder.action(AuditAction::UserUpdate, "User", uid, name, outcome.as_str());
        r.changes = diff(&rec.doc, &after.doc, &schema);
        if rec.state == UserState::Deprovisioned && after.state != rec.state {
            r.changes
                .push(property("state", rec.state.as_str(), after.state.as_str()));
        }
        tx.insert_record(&r).await?;
        let u = self.admin_user(tx.as_mut(), after).await?;
        tx.commit().await?;
        Ok(u)
    }

    /// Soft-deletes a local user (rule 6, as a SCIM DELETE does): it becomes
    /// `deprovisioned` and inactive, keeps its group memberships, disappears from SCIM, and
    /// stays for administrators (who may enable it again or delete it permanently).
    /// Recorded under `by` as audit action `user.soft-delete` (outcome `deprovisioned`,
    /// `active` and `state` before and after). Errors: 404 when absent; 409 for a
    /// provisioned user (the identity provider deletes it) or one already soft-deleted.
    pub async fn admin_soft_delete_user(&self, by: &Origin, id: &str) -> DirectoryResult<()> {
        let mut tx = self.store().write().await?;
        let mut rec = local_user(tx.as_mut(), (&by.tenant_id, id), "soft-deleted").await?;
        if rec.state == UserState::Deprovisioned {
            return Err(DirectoryError::Conflict(format!(
                "user '{}' is already soft-deleted (deprovisioned): enable it with {{\"active\": true}}, or delete it permanently",
                rec.user_name
            )));
        }
        let changes = deprovision(&mut rec);
        tx.update_user(&rec).await?;
        let recorder = Recorder::new(by);
        let (uid, name) = (Some(rec.id.as_str()), Some(rec.user_name.as_str()));
        let deprovisioned = LogOutcome::Deprovisioned.as_str();
        let mut r = recorder.action(
            AuditAction::UserSoftDelete,
            "User",
            uid,
            name,
            deprovisioned,
        );
        r.changes = changes;
        Ok(commit_recorded(tx, &r).await?)
    }
}

/// The user `id` if administrators may change it: a local user ([`AdminUser::read_only`]).
/// Errors: 404 when absent; 409 for a provisioned user (`what`: `changed`,
/// `soft-deleted`), whose source is the identity provider.
async fn local_user(
    tx: &mut dyn Tx,
    (tenant, id): (&str, &str),
    what: &str,
) -> DirectoryResult<UserRecord> {
    let Some(u) = tx.get_user(tenant, id).await? else {
        return Err(not_found("User", id));
    };
    ReadOnly::refuse(ReadOnly::of(false, u.source), ("user", &u.user_name), what)?;
    Ok(u)
}
