//! Administrator operations on groups: both sources and the built-in All Users group,
//! local groups and their members.

use super::model::{
    AdminGroup, AdminGroupPage, AdminMember, ReadOnly, ADMIN_MAX_PAGE, ALL_USERS_GROUP,
};
use crate::changes::{commit_recorded, diff, members_summary, AuditAction, MemberDelta, Recorder};
use crate::directory::{Directory, Origin};
use crate::error::{not_found, DirectoryError, DirectoryResult};
use crate::groups::{new_group, refresh};
use crate::render;
use crate::store::{
    AdminUserFilter, ChangeRecord, GroupRecord, MemberChange, MemberEdit, MemberKind, Source,
    StoreResult, Tx,
};
use crate::vocabulary::{LogOutcome, ResourceType};
use scim_proto::normalize::normalize_resource_with;
use serde_json::Value;

impl Directory {
    /// How many members a group has; the built-in group has every user.
    async fn member_count(
        &self,
        tx: &mut dyn Tx,
        tenant: &str,
        g: &GroupRecord,
    ) -> StoreResult<u64> {
        if g.builtin {
            let counts = tx.user_counts(tenant).await?;
            Ok(counts.iter().map(|c| c.2).sum())
        } else {
            tx.count_members(tenant, &g.id).await
        }
    }

    /// Groups (the built-in All Users group first) whose displayName contains `search`
    /// ignoring case, paged (`start_index` 1-based, `count` at most [`ADMIN_MAX_PAGE`]), with
    /// the total matching.
    pub async fn admin_list_groups(
        &self,
        tenant: &str,
        search: Option<&str>,
        start_index: u64,
        count: u64,
    ) -> DirectoryResult<(u64, Vec<AdminGroup>)> {
        let mut tx = self.store().read().await?;
        let (total, groups) = tx
            .admin_list_groups(
                tenant,
                search,
                start_index.max(1) - 1,
                count.min(ADMIN_MAX_PAGE),
            )
            .await?;
        let mut out = Vec::with_capacity(groups.len());
        for g in &groups {
            let n = self.member_count(tx.as_mut(), tenant, g).await?;
            out.push(AdminGroup::new(g, n));
        }
        Ok((total, out))
    }

    /// The tenant's built-in All Users group (found by its built-in flag).
    pub async fn all_users_group(&self, tenant: &str) -> DirectoryResult<AdminGroup> {
        let mut tx = self.store().read().await?;
        let g = tx
            .group_by_display_name(tenant, ALL_USERS_GROUP)
            .await?
            .filter(|g| g.builtin)
            .ok_or_else(|| {
                DirectoryError::NotFound(format!(
                    "the tenant has no built-in group '{ALL_USERS_GROUP}'"
                ))
            })?;
        let n = self.member_count(tx.as_mut(), tenant, &g).await?;
        Ok(AdminGroup::new(&g, n))
    }

    /// One group with a page of its members (`start_index` 1-based, `count` at most
    /// [`ADMIN_MAX_PAGE`]); the All Users group lists every user. Errors: 404 when absent.
    pub async fn admin_get_group(
        &self,
        tenant: &str,
        id: &str,
        start_index: u64,
        count: u64,
    ) -> DirectoryResult<AdminGroupPage> {
        let mut tx = self.store().read().await?;
        let g = tx
            .get_group(tenant, id)
            .await?
            .ok_or_else(|| not_found("Group", id))?;
        let total = self.member_count(tx.as_mut(), tenant, &g).await?;
        let offset = start_index.max(1) - 1;
        let limit = count.min(ADMIN_MAX_PAGE);
        let members: Vec<AdminMember> = if g.builtin {
            let (_, users) = tx
                .admin_list_users(tenant, &AdminUserFilter::default(), offset, limit)
                .await?;
            users
                .into_iter()
                .map(|u| AdminMember {
                    display: Some(u.display_name.unwrap_or(u.user_name)),
                    id: u.id,
                    kind: MemberKind::User,
                    state: Some(u.state),
                })
                .collect()
        } else {
            tx.group_members(tenant, id, offset, Some(limit))
                .await?
                .into_iter()
                .map(|m| AdminMember {
                    display: m.display.or(m.user_name),
                    id: m.id,
                    kind: m.kind,
                    state: m.state,
                })
                .collect()
        };
        Ok(AdminGroupPage {
            group: AdminGroup::new(&g, total),
            members,
            start_index: offset + 1,
        })
    }

    /// Creates a local group from `{"displayName": ...}`, recorded under `by` (audit action
    /// `group.create`). Errors: 400 for a body SCIM validation refuses; 409 when the name is
    /// taken ignoring case by any group, the built-in one included.
    pub async fn admin_create_group(
        &self,
        by: &Origin,
        body: &Value,
    ) -> DirectoryResult<AdminGroup> {
        let tenant = by.tenant_id.as_str();
        let schema = self.group_schema();
        let n = normalize_resource_with(&schema, body, self.limits())?;
        let mut g = new_group(tenant, Source::Local, n.doc);
        refresh(&mut g, &schema)?;
        let mut tx = self.store().write().await?;
        if let Some(other) = tx.group_by_display_name(tenant, &g.display_name).await? {
            return Err(DirectoryError::Conflict(format!(
                "a group named '{}' already exists ({} group {})",
                other.display_name,
                other.source.as_str(),
                other.id
            )));
        }
        tx.insert_group(&g).await?;
        let group = (ResourceType::Group, g.id.as_str(), g.display_name.as_str());
        let r = Recorder::new(by).created(AuditAction::GroupCreate, group, &g.doc, &schema);
        commit_recorded(tx, &r).await?;
        Ok(AdminGroup::new(&g, 0))
    }

    /// The group `id` if administrators may change it ([`ReadOnly::of`]). Errors: 404 when
    /// absent; 409 for the built-in group and provisioned groups (`what`: `deleted`,
    /// `changed`).
    async fn local_group(
        &self,
        tx: &mut dyn Tx,
        tenant: &str,
        id: &str,
        what: &str,
    ) -> DirectoryResult<GroupRecord> {
        let g = tx
            .get_group(tenant, id)
            .await?
            .ok_or_else(|| not_found("Group", id))?;
        let of = ReadOnly::of(g.builtin, g.source);
        ReadOnly::refuse(of, ("group", &g.display_name), what)?;
        Ok(g)
    }

    /// Renames a local group to `display_name` (as given; its lookup key is the NFC
    /// case-folded form). Its members and id stay. Recorded under `by` as audit action
    /// `group.rename` (outcome `updated`, `displayName` before and after); the same name
    /// again changes and records nothing. Errors: 400 for a blank name or one SCIM
    /// validation refuses (control characters, over the size limit); 404 when absent; 409
    /// for the built-in group, a provisioned group, or a name another group has (ignoring
    /// case, rule 12).
    pub async fn admin_rename_group(
        &self,
        by: &Origin,
        id: &str,
        display_name: &str,
    ) -> DirectoryResult<AdminGroup> {
        if display_name.trim().is_empty() {
            return Err(DirectoryError::Invalid(
                "'displayName' must not be blank: give the group's new name".into(),
            ));
        }
        let tenant = by.tenant_id.as_str();
        let schema = self.group_schema();
        let mut tx = self.store().write().await?;
        let g = self.local_group(tx.as_mut(), tenant, id, "renamed").await?;
        let mut body = g.doc.clone();
        body["displayName"] = Value::String(display_name.to_string());
        let n = normalize_resource_with(&schema, &body, self.limits())?;
        let mut after = g.clone();
        after.doc = n.doc;
        refresh(&mut after, &schema)?;
        let members = self.member_count(tx.as_mut(), tenant, &g).await?;
        if after.display_name == g.display_name {
            return Ok(AdminGroup::new(&g, members));
        }
        if let Some(other) = tx
            .group_by_display_name(tenant, &after.display_name)
            .await?
        {
            if other.id != g.id {
                return Err(DirectoryError::Conflict(format!(
                    "a group named '{}' already exists ({} group {})",
                    other.display_name,
                    other.source.as_str(),
                    other.id
                )));
            }
        }
        let recorder = Recorder::new(by);
        let rename = AuditAction::GroupRename;
        let mut r = new_version(tx.as_mut(), &recorder, rename, &mut after).await?;
        r.changes = diff(&g.doc, &after.doc, &schema);
        commit_recorded(tx, &r).await?;
        Ok(AdminGroup::new(&after, members))
    }

    /// Deletes a local group (its members stay), recorded under `by` (audit action
    /// `group.delete`, one record per member removed). Errors: 404 when absent; 409 for the
    /// built-in group and for provisioned groups.
    pub async fn admin_delete_group(&self, by: &Origin, id: &str) -> DirectoryResult<()> {
        let tenant = by.tenant_id.as_str();
        let mut tx = self.store().write().await?;
        let g = self.local_group(tx.as_mut(), tenant, id, "deleted").await?;
        let recorder = Recorder::new(by);
        let (gid, name) = (Some(g.id.as_str()), Some(g.display_name.as_str()));
        let deleted = LogOutcome::GroupDeleted.as_str();
        let r = recorder.action(AuditAction::GroupDelete, "Group", gid, name, deleted);
        self.delete_group_recorded(tx.as_mut(), &recorder, r, &g)
            .await?;
        Ok(tx.commit().await?)
    }

    /// Changes the members of a local group: [`LocalMembers::Add`] adds users (returns how
    /// many were not members yet; audit action `group.add-members`),
    /// [`LocalMembers::Remove`] removes members (absent ids are ignored; returns how many
    /// were removed; `group.remove-members`), in one transaction with one record per member
    /// changed, under `by`. Errors: 400 for ids to add that are not users of the tenant;
    /// 404, 409 as [`Directory::admin_delete_group`].
    pub async fn admin_edit_members(
        &self,
        by: &Origin,
        id: &str,
        edit: LocalMembers<'_>,
    ) -> DirectoryResult<u64> {
        let tenant = by.tenant_id.as_str();
        let mut tx = self.store().write().await?;
        let g = self.local_group(tx.as_mut(), tenant, id, "changed").await?;
        let mut delta = MemberDelta::default();
        let action = match edit {
            LocalMembers::Add(user_ids) => {
                let found: Vec<String> = tx
                    .user_names(tenant, user_ids)
                    .await?
                    .into_iter()
                    .map(|x| x.0)
                    .collect();
                if let Some(missing) = user_ids.iter().find(|u| !found.contains(u)) {
                    return Err(DirectoryError::Invalid(format!(
                        "{missing} is not a user of this tenant"
                    )));
                }
                let ms: Vec<(String, MemberKind)> =
                    found.into_iter().map(|u| (u, MemberKind::User)).collect();
                delta.added(tx.edit_members(tenant, id, MemberEdit::Add(&ms)).await?);
                AuditAction::GroupMembersAdd
            }
            LocalMembers::Remove(ids) => {
                delta.removed(tx.edit_members(tenant, id, MemberEdit::Remove(ids)).await?);
                AuditAction::GroupMembersRemove
            }
        };
        self.members_changed(tx, (by, action), g, delta.into_changes())
            .await
    }

    /// Ends a membership change of `members`: a new version of the group when any changed,
    /// its records (the action's, one per member), then the commit. Returns how many
    /// changed.
    async fn members_changed(
        &self,
        mut tx: Box<dyn Tx>,
        (by, action): (&Origin, AuditAction),
        mut g: GroupRecord,
        members: Vec<MemberChange>,
    ) -> DirectoryResult<u64> {
        if !members.is_empty() {
            let recorder = Recorder::new(by);
            let mut r = new_version(tx.as_mut(), &recorder, action, &mut g).await?;
            r.changes.extend(members_summary(&members));
            tx.insert_record(&r).await?;
            let group = (g.id.as_str(), g.display_name.as_str());
            recorder.members(tx.as_mut(), &r, group, &members).await?;
        }
        tx.commit().await?;
        Ok(members.len() as u64)
    }
}

/// Stores a new version of group `g` (changed now) and returns the audit record of
/// `action` on it, outcome `updated`, by `recorder` (for the caller to complete and insert).
async fn new_version(
    tx: &mut dyn Tx,
    recorder: &Recorder<'_>,
    action: AuditAction,
    g: &mut GroupRecord,
) -> StoreResult<ChangeRecord> {
    g.version += 1;
    g.last_modified = render::now();
    tx.update_group(g).await?;
    let (id, name) = (Some(g.id.as_str()), Some(g.display_name.as_str()));
    let updated = LogOutcome::Updated.as_str();
    Ok(recorder.action(action, "Group", id, name, updated))
}

/// A membership edit of a local group by an administrator
/// ([`Directory::admin_edit_members`]).
#[derive(Debug, Clone, Copy)]
pub enum LocalMembers<'a> {
    /// User ids to add; each must be a user of the tenant.
    Add(&'a [String]),
    /// Member ids to remove; ids that are not members are ignored.
    Remove(&'a [String]),
}
