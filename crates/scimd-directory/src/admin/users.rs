//! Administrator operations on users: every state, local users, permanent deletes.

use super::model::{may_delete_permanently, AdminUser, GroupRef, ADMIN_MAX_PAGE};
use crate::changes::{answered, diff, AuditAction, Recorder};
use crate::directory::{Directory, Origin, WriteStatus};
use crate::error::{not_found, DirectoryError, DirectoryResult};
use crate::policy::{self, Write};
use crate::render;
use crate::settings::TenantSettings;
use crate::store::{
    AdminUserFilter, MemberChange, MemberKind, Source, StoreResult, Tx, UserRecord,
};
use crate::users::{default_active, new_user, refresh, state_of};
use crate::vocabulary::{LogOutcome, ResourceType};
use scim_proto::normalize::normalize_resource_with;
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
        Ok(users
            .into_iter()
            .map(|u| {
                let g = groups.remove(&u.id).unwrap_or_default();
                AdminUser {
                    resource: render::user(&u, &schema, self.base_url(), &g, &names),
                    groups: g
                        .into_iter()
                        .map(|(id, display_name)| GroupRef { id, display_name })
                        .collect(),
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
    /// `emails`, ...), active unless the body says otherwise. The product rules on emails and
    /// names apply (rules 1, 2; an inactive user may be created). Errors: 400 for a body SCIM
    /// validation or those rules refuse; 409 when the userName exists (ignoring case) in any
    /// state.
    ///
    /// Recorded as audit action `user.create` under `by` (the user's history starts with it).
    pub async fn admin_create_user(&self, by: &Origin, body: &Value) -> DirectoryResult<AdminUser> {
        let tenant = by.tenant_id.as_str();
        let mut tx = self.store().write().await?;
        let (settings, schema) = self.user_context(tx.as_mut(), tenant).await?;
        let mut n = normalize_resource_with(&schema, body, self.limits())?;
        let relaxed = TenantSettings {
            refuse_inactive_create: false,
            ..settings
        };
        policy::check_user(&n.doc, &relaxed, Write::Create)?;
        default_active(&mut n.doc);
        let mut u = new_user(tenant, state_of(&n.doc), Source::Local, n.doc);
        refresh(&mut u, &schema)?;
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
            return Err(DirectoryError::Conflict(format!(
                "user '{}' is active: only inactive or deprovisioned users can be deleted permanently (disable it in the identity provider first)",
                u.user_name
            )));
        }
        let (_, schema) = self.user_context(tx.as_mut(), tenant).await?;
        let groups = tx
            .groups_of_users(tenant, std::slice::from_ref(&u.id))
            .await?;
        tx.delete_user(tenant, id).await?;
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
}
