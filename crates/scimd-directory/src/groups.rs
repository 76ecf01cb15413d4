//! SCIM operations on Groups (RFC 7644 §3.3–§3.6). Membership is rows in the store; a
//! PATCH of members touches only the rows it names.

use crate::changes::{diff, members_summary, property, MemberDelta, Recorder, Rule};
use crate::directory::{Caller, Directory, GroupReply, Rendered, Target, WriteStatus, Written};
use crate::error::{list_error, not_found};
use crate::render;
use crate::store::{
    Change, ChangeRecord, GroupRecord, ListPage, ListQuery, Listing, MemberChange, MemberEdit,
    MemberKind, MemberRow, Source, StoreResult, Tx, UserState,
};
use crate::vocabulary::{LogOutcome, ResourceType};
use crate::write::{check_if_match, required_text, text};
use scim_proto::list::ListParams;
use scim_proto::normalize::{canonical_document, fold_document, normalize_resource_with};
use scim_proto::patch::{self, MemberOp, PatchOptions, PatchRequest};
use scim_proto::schema::ResourceSchema;
use scim_proto::{ScimError, ScimResult};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

pub(crate) fn refresh(g: &mut GroupRecord, schema: &ResourceSchema) -> ScimResult<()> {
    g.doc = canonical_document(&g.doc, schema);
    g.display_name = required_text(&g.doc, "displayName")?;
    g.external_id = text(&g.doc, "externalId");
    g.doc_folded = fold_document(&g.doc, schema);
    Ok(())
}

/// A new group record of `tenant` (a fresh id, version 1, created now) holding `doc`, its
/// lookup columns still to be filled by [`refresh`].
pub(crate) fn new_group(tenant: &str, source: Source, doc: Value) -> GroupRecord {
    let now = render::now();
    GroupRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant.to_string(),
        display_name: String::new(),
        external_id: None,
        source,
        builtin: false,
        version: 1,
        created: now,
        last_modified: now,
        doc,
        doc_folded: Value::Null,
    }
}

/// 409 uniqueness: the displayName is taken by `other` (names are unique per tenant
/// ignoring case, across sources).
fn name_taken(other: &GroupRecord) -> ScimError {
    ScimError::uniqueness(format!(
        "a group named '{}' already exists in this tenant ({} group {})",
        other.display_name,
        other.source.as_str(),
        other.id
    ))
}

/// Inserts the change records of a group write: the request's record `r`, then one per
/// member of `members`.
async fn record_group_write(
    tx: &mut dyn Tx,
    recorder: &Recorder<'_>,
    r: &ChangeRecord,
    members: &[MemberChange],
    g: &GroupRecord,
) -> StoreResult<()> {
    tx.insert_record(r).await?;
    recorder
        .members(tx, r, (&g.id, &g.display_name), members)
        .await
}

impl Directory {
    /// Deletes group `g` (its membership rows, its memberships in other groups) and records
    /// it: the record `r` (its changes: every attribute's value before, and the `members`
    /// summary), one per member removed, and one per group it was a member of. In `tx`.
    pub(crate) async fn delete_group_recorded(
        &self,
        tx: &mut dyn Tx,
        recorder: &Recorder<'_>,
        mut r: ChangeRecord,
        g: &GroupRecord,
    ) -> StoreResult<()> {
        let t = &g.tenant_id;
        let removed: Vec<MemberChange> = tx
            .edit_members(t, &g.id, MemberEdit::Clear)
            .await?
            .into_iter()
            .map(|(id, kind)| MemberChange {
                id,
                kind,
                added: false,
            })
            .collect();
        let parents = tx.groups_of_users(t, std::slice::from_ref(&g.id)).await?;
        tx.delete_resource(t, MemberKind::Group, &g.id).await?;
        r.changes = diff(&g.doc, &Value::Null, &self.group_schema());
        r.changes.extend(members_summary(&removed));
        record_group_write(tx, recorder, &r, &removed, g).await?;
        let me = [MemberChange {
            id: g.id.clone(),
            kind: MemberKind::Group,
            added: false,
        }];
        for (_, pid, pname) in parents {
            recorder.members(tx, &r, (&pid, &pname), &me).await?;
        }
        Ok(())
    }

    /// The Group resource type.
    pub fn group_schema(&self) -> Arc<ResourceSchema> {
        self.schemas().group()
    }

    /// Resolves member ids to `(id, kind)`; 400 invalidValue naming ids that are neither a
    /// user nor a group of the tenant.
    async fn resolve_members(
        &self,
        tx: &mut dyn Tx,
        tenant: &str,
        group_id: &str,
        ids: &[String],
    ) -> ScimResult<Vec<(String, MemberKind)>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let users: HashSet<String> = tx
            .user_names(tenant, ids)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let rest: Vec<String> = ids
            .iter()
            .filter(|i| !users.contains(*i))
            .cloned()
            .collect();
        let groups: HashSet<String> = if rest.is_empty() {
            HashSet::new()
        } else {
            tx.group_ids_existing(tenant, &rest)
                .await?
                .into_iter()
                .collect()
        };
        let mut out = Vec::with_capacity(ids.len());
        let mut unknown = vec![];
        for id in ids {
            if users.contains(id) {
                out.push((id.clone(), MemberKind::User));
            } else if groups.contains(id) && id != group_id {
                out.push((id.clone(), MemberKind::Group));
            } else {
                unknown.push(id.as_str());
            }
        }
        if !unknown.is_empty() {
            let shown: Vec<&str> = unknown.iter().take(5).copied().collect();
            let more = if unknown.len() > 5 {
                format!(" and {} more", unknown.len() - 5)
            } else {
                String::new()
            };
            return Err(ScimError::invalid_value(format!(
                "members must be ids of users or groups of this tenant; unknown: {}{more}",
                shown.join(", ")
            )));
        }
        Ok(out)
    }

    async fn load_group(&self, tx: &mut dyn Tx, tenant: &str, id: &str) -> ScimResult<GroupRecord> {
        match tx.get_group(tenant, id).await? {
            Some(g) if !g.builtin => Ok(g),
            _ => Err(not_found("Group", id).into()),
        }
    }

    /// A group SCIM may change: not a local group, which administrators manage (rule 12
    /// keeps provisioning and local groups apart): 409 naming it; at the version `if_match`
    /// names if any (412 otherwise).
    async fn load_provisioned_group(
        &self,
        tx: &mut dyn Tx,
        tenant: &str,
        Target { id, if_match }: Target<'_>,
    ) -> ScimResult<GroupRecord> {
        let g = self.load_group(tx, tenant, id).await?;
        if g.source == Source::Local {
            return Err(ScimError::uniqueness(format!(
                "group '{}' ({}) was created by an administrator (source local) and is not managed by provisioning; provision a group with another name, or delete the local group first",
                g.display_name, g.id
            )));
        }
        check_if_match(if_match, g.version)?;
        Ok(g)
    }

    async fn render_groups(
        &self,
        tx: &mut dyn Tx,
        tenant: &str,
        schema: &Arc<ResourceSchema>,
        groups: &[GroupRecord],
        with_members: bool,
    ) -> ScimResult<Vec<Rendered>> {
        let mut members: HashMap<String, Vec<MemberRow>> = HashMap::new();
        if with_members && !groups.is_empty() {
            let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
            for (gid, m) in tx.members_of_groups(tenant, &ids).await? {
                // Deprovisioned users are gone from SCIM (rule 6); their rows stay (rule 10).
                if m.state != Some(UserState::Deprovisioned) {
                    members.entry(gid).or_default().push(m);
                }
            }
        }
        let base = self.scim_base();
        Ok(groups
            .iter()
            .map(|g| {
                let ms = if with_members {
                    Some(members.remove(&g.id).unwrap_or_default())
                } else {
                    None
                };
                Rendered {
                    resource: render::group(g, schema, &base, ms.as_deref()),
                    etag: render::etag(g.version),
                    location: format!("{base}/Groups/{}", g.id),
                    schema: schema.clone(),
                }
            })
            .collect())
    }

    async fn render_one_group(
        &self,
        tx: &mut dyn Tx,
        g: &GroupRecord,
        with_members: bool,
    ) -> ScimResult<Rendered> {
        let schema = self.group_schema();
        let mut v = self
            .render_groups(
                tx,
                &g.tenant_id,
                &schema,
                std::slice::from_ref(g),
                with_members,
            )
            .await?;
        Ok(v.pop().expect("one group rendered"))
    }

    /// GET /Groups/{id}; `with_members` false never reads membership rows.
    pub async fn get_group(
        &self,
        c: &Caller,
        id: &str,
        with_members: bool,
    ) -> ScimResult<Rendered> {
        let mut tx = self.store().read().await?;
        let g = self.load_group(tx.as_mut(), &c.tenant_id, id).await?;
        self.render_one_group(tx.as_mut(), &g, with_members).await
    }

    /// GET /Groups: filter, sort and page in the database, under the page byte budget (see
    /// [`Directory::list_users`]; a group's `members` are not counted in it). Errors: as
    /// `list_users`.
    pub async fn list_groups(
        &self,
        c: &Caller,
        p: &ListParams,
        with_members: bool,
    ) -> ScimResult<(u64, Vec<Rendered>)> {
        let schema = self.group_schema();
        if let Some(f) = &p.filter {
            scim_proto::filter::validate(f, &schema)?;
        }
        let q = ListQuery::scim(p, &schema, self.limits().max_page_bytes);
        let mut tx = self
            .store()
            .read_list(Listing::Groups, p.filter.as_ref(), q.offset)
            .await?;
        let mut groups = Vec::new();
        let total = tx
            .list_resources(&c.tenant_id, &q, ListPage::Groups(&mut groups))
            .await
            .map_err(|e| list_error(e, p.filter.is_some()))?;
        let page = self
            .render_groups(tx.as_mut(), &c.tenant_id, &schema, &groups, with_members)
            .await?;
        Ok((total, page))
    }

    /// Ends a successful group write: inserts the request's change record `r` and one per
    /// member of `members` (with the request's `txn`, actor and cause), renders the group
    /// (with its members when `with_members`) and commits, in `tx`.
    async fn group_written(
        &self,
        mut tx: Box<dyn Tx>,
        (recorder, r, status): (&Recorder<'_>, ChangeRecord, WriteStatus),
        members: &[MemberChange],
        g: &GroupRecord,
        with_members: bool,
    ) -> ScimResult<Written> {
        record_group_write(tx.as_mut(), recorder, &r, members, g).await?;
        let resource = self.render_one_group(tx.as_mut(), g, with_members).await?;
        tx.commit().await?;
        Ok(Written { status, resource })
    }

    /// POST /Groups. 409 uniqueness when the displayName (ignoring case) is taken by any
    /// group of the tenant, whatever its source.
    pub async fn create_group(&self, c: &Caller, body: &Value) -> ScimResult<Written> {
        let logged_as = (ResourceType::Group, None, Some(body));
        self.write_logged(c, logged_as, async |recorder: &Recorder<'_>| {
            let schema = self.group_schema();
            let n = normalize_resource_with(&schema, body, self.limits())?;
            let mut tx = self.store().write().await?;
            let name = required_text(&n.doc, "displayName")?;
            if let Some(existing) = tx.group_by_display_name(&c.tenant_id, &name).await? {
                return Err(name_taken(&existing));
            }
            let mut g = new_group(&c.tenant_id, Source::Scim, n.doc);
            refresh(&mut g, &schema)?;
            tx.insert_group(&g).await?;
            let mut delta = MemberDelta::default();
            if let Some(ids) = &n.members {
                let ms = self
                    .resolve_members(tx.as_mut(), &c.tenant_id, &g.id, ids)
                    .await?;
                delta.added(
                    tx.edit_members(&c.tenant_id, &g.id, MemberEdit::Add(&ms))
                        .await?,
                );
            }
            let members = delta.into_changes();
            let (id, name) = (&g.id, &g.display_name);
            let status = WriteStatus::Created;
            let mut r = recorder.write(ResourceType::Group, id, name, LogOutcome::Created, status);
            r.changes = diff(&Value::Null, &g.doc, &schema);
            r.changes.extend(members_summary(&members));
            r.warnings = n.warnings;
            self.group_written(tx, (recorder, r, status), &members, &g, true)
                .await
        })
        .await
    }

    /// PUT /Groups/{id}: replaces displayName/externalId and, when `members` is given, the
    /// member set (a PUT without `members` keeps the members).
    pub async fn replace_group(
        &self,
        c: &Caller,
        t: Target<'_>,
        body: &Value,
    ) -> ScimResult<Written> {
        let id = t.id;
        let logged_as = (ResourceType::Group, Some(id), Some(body));
        self.write_logged(c, logged_as, async |recorder: &Recorder<'_>| {
            let schema = self.group_schema();
            let n = normalize_resource_with(&schema, body, self.limits())?;
            let mut tx = self.store().write().await?;
            let mut g = self
                .load_provisioned_group(tx.as_mut(), &c.tenant_id, t)
                .await?;
            let before = g.doc.clone();
            g.doc = n.doc;
            self.save_group(tx.as_mut(), &schema, &mut g).await?;
            let mut delta = MemberDelta::default();
            if let Some(ids) = &n.members {
                let ms = self
                    .resolve_members(tx.as_mut(), &c.tenant_id, id, ids)
                    .await?;
                delta.removed(tx.edit_members(&c.tenant_id, id, MemberEdit::Clear).await?);
                delta.added(
                    tx.edit_members(&c.tenant_id, id, MemberEdit::Add(&ms))
                        .await?,
                );
            }
            let members = delta.into_changes();
            let (gid, name) = (&g.id, &g.display_name);
            let status = WriteStatus::Ok;
            let mut r = recorder.write(ResourceType::Group, gid, name, LogOutcome::Updated, status);
            r.changes = diff(&before, &g.doc, &schema);
            r.changes.extend(members_summary(&members));
            r.warnings = n.warnings;
            self.group_written(tx, (recorder, r, status), &members, &g, true)
                .await
        })
        .await
    }

    async fn save_group(
        &self,
        tx: &mut dyn Tx,
        schema: &ResourceSchema,
        g: &mut GroupRecord,
    ) -> ScimResult<()> {
        refresh(g, schema)?;
        if let Some(other) = tx
            .group_by_display_name(&g.tenant_id, &g.display_name)
            .await?
        {
            if other.id != g.id {
                return Err(name_taken(&other));
            }
        }
        g.version += 1;
        g.last_modified = render::now();
        Ok(tx.update_group(g).await?)
    }

    /// Applies the membership operations of a PATCH to group `id`, in order; returns how many
    /// member rows changed and the net membership changes. Errors: 400 for ids that are not
    /// users or groups of the tenant.
    async fn apply_member_ops(
        &self,
        tx: &mut dyn Tx,
        tenant: &str,
        id: &str,
        ops: &[MemberOp],
        schema: &ResourceSchema,
    ) -> ScimResult<(u64, Vec<MemberChange>)> {
        let mut rows = 0u64;
        let mut delta = MemberDelta::default();
        for op in ops {
            let (removed, added) = match op {
                MemberOp::Add(ids) => {
                    let ms = self.resolve_members(tx, tenant, id, ids).await?;
                    (
                        vec![],
                        tx.edit_members(tenant, id, MemberEdit::Add(&ms)).await?,
                    )
                }
                MemberOp::Remove(ids) => (
                    tx.edit_members(tenant, id, MemberEdit::Remove(ids)).await?,
                    vec![],
                ),
                MemberOp::RemoveAll => (
                    tx.edit_members(tenant, id, MemberEdit::Clear).await?,
                    vec![],
                ),
                MemberOp::Replace(ids) => {
                    let ms = self.resolve_members(tx, tenant, id, ids).await?;
                    let removed = tx.edit_members(tenant, id, MemberEdit::Clear).await?;
                    (
                        removed,
                        tx.edit_members(tenant, id, MemberEdit::Add(&ms)).await?,
                    )
                }
                MemberOp::RemoveWhere(filter) => {
                    let members = tx.group_members(tenant, id, 0, None).await?;
                    let attr = schema.core.attr("members").ok_or_else(|| {
                        ScimError::internal("Group schema has no members attribute")
                    })?;
                    let doomed: Vec<String> = members
                        .into_iter()
                        .filter(|m| {
                            let kind = ResourceType::from(m.kind).as_str();
                            let el = json!({"value": m.id, "display": m.display, "type": kind});
                            scim_proto::filter::matches_element(filter, &el, attr)
                        })
                        .map(|m| m.id)
                        .collect();
                    (
                        tx.edit_members(tenant, id, MemberEdit::Remove(&doomed))
                            .await?,
                        vec![],
                    )
                }
            };
            rows += (removed.len() + added.len()) as u64;
            delta.removed(removed);
            delta.added(added);
        }
        Ok((rows, delta.into_changes()))
    }

    /// PATCH /Groups/{id}: document operations and membership operations, in request order,
    /// in one transaction. Returns the group (with members when `reply` asks for them) and
    /// the status `reply` answers, which is also the one logged.
    pub async fn patch_group(
        &self,
        c: &Caller,
        t: Target<'_>,
        body: &Value,
        reply: GroupReply,
    ) -> ScimResult<Written> {
        let id = t.id;
        let logged_as = (ResourceType::Group, Some(id), None);
        self.write_logged(c, logged_as, async |recorder: &Recorder<'_>| {
            let schema = self.group_schema();
            let req = PatchRequest::parse(body)?;
            let mut tx = self.store().write().await?;
            let settings = self.tenant_settings(tx.as_mut(), &c.tenant_id).await?;
            let mut g = self
                .load_provisioned_group(tx.as_mut(), &c.tenant_id, t)
                .await?;
            let mut doc = g.doc.clone();
            let opts = PatchOptions {
                blank_policy: settings.blank_value_policy,
                limits: *self.limits(),
            };
            let outcome = patch::apply(&mut doc, &req, &schema, &opts)?;
            let (rows, members) = self
                .apply_member_ops(tx.as_mut(), &c.tenant_id, id, &outcome.member_ops, &schema)
                .await?;
            let before = g.doc.clone();
            if !outcome.changed.is_empty() || rows > 0 {
                g.doc = doc;
                self.save_group(tx.as_mut(), &schema, &mut g).await?;
            }
            let (gid, name) = (&g.id, &g.display_name);
            let status = reply.status();
            let mut r = recorder.write(ResourceType::Group, gid, name, LogOutcome::Updated, status);
            r.changes = diff(&before, &g.doc, &schema);
            r.changes.extend(members_summary(&members));
            r.warnings = outcome.warnings;
            self.group_written(
                tx,
                (recorder, r, status),
                &members,
                &g,
                reply.with_members(),
            )
            .await
        })
        .await
    }

    /// DELETE /Groups/{id}: deletes the group and its membership rows. Rule 9: the group's
    /// user members that belong to no other group are disabled (they stay in All Users); the
    /// others are unchanged.
    pub async fn delete_group(&self, c: &Caller, t: Target<'_>) -> ScimResult<WriteStatus> {
        let id = t.id;
        let logged_as = (ResourceType::Group, Some(id), None);
        self.write_logged(c, logged_as, async |recorder: &Recorder<'_>| {
            let mut tx = self.store().write().await?;
            let g = self
                .load_provisioned_group(tx.as_mut(), &c.tenant_id, t)
                .await?;
            let orphans = tx.members_in_no_other_group(&c.tenant_id, id).await?;
            let (from, to) = (UserState::Active, UserState::Inactive);
            let now = render::now();
            let disabled = tx
                .set_users_state(&c.tenant_id, &orphans, from, to, now)
                .await?;
            let status = WriteStatus::NoContent;
            let mut r = recorder.write(
                ResourceType::Group,
                &g.id,
                &g.display_name,
                LogOutcome::GroupDeleted,
                status,
            );
            if !disabled.is_empty() {
                r.warnings.push(format!(
                    "{} member(s) that belonged to no other group were disabled",
                    disabled.len()
                ));
            }
            self.delete_group_recorded(tx.as_mut(), recorder, r, &g)
                .await?;
            for u in disabled {
                let mut d = recorder.rule(
                    Rule::GroupDeleteDisablesMembers,
                    ResourceType::User,
                    &u.id,
                    &u.user_name,
                    LogOutcome::Disabled,
                );
                d.changes
                    .push(Change::new("active", u.before, Some(Value::Bool(false))));
                d.changes
                    .push(property("state", from.as_str(), to.as_str()));
                tx.insert_record(&d).await?;
            }
            tx.commit().await?;
            Ok(WriteStatus::NoContent)
        })
        .await
    }
}
