//! Administrator operations behind the admin API (`/api/v1`) and the portal: users in every
//! state, local users and groups, permanent deletes, custom attributes, tenant settings,
//! the provisioning log.
//!
//! Errors are `ScimError`s (status + detail); the HTTP layer renders them as admin JSON.

use crate::custom;
use crate::directory::Directory;
use crate::policy::{self, Write};
use crate::render;
use crate::settings::TenantSettings;
use crate::store::{
    AdminUserFilter, AttributeRow, ConflictTarget, GroupRecord, LogEntry, LogQuery, MemberKind,
    Source, StoreError, UserRecord, UserState,
};
use crate::users::{not_found, store_err};
use scim_proto::normalize::{canonical_document, fold_document, normalize_resource};
use scim_proto::patch::BlankPolicy;
use scim_proto::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use scim_proto::{ScimError, ScimResult};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Display name of the built-in group that holds every user of a tenant.
pub const ALL_USERS_GROUP: &str = "All Users";

/// Largest page the admin listings serve.
pub const ADMIN_MAX_PAGE: u64 = 500;

fn conflict(detail: impl Into<String>) -> ScimError {
    ScimError::new(409, None, detail)
}

fn user_json(
    d: &Directory,
    u: &UserRecord,
    schema: &scim_proto::schema::ResourceSchema,
    groups: &[(String, String)],
    names: &HashMap<String, String>,
) -> Value {
    let mut v = render::user(u, schema, d.base_url(), groups, names);
    v["state"] = json!(u.state.as_str());
    v["source"] = json!(u.source.as_str());
    v["groups"] = Value::Array(
        groups
            .iter()
            .map(|(id, name)| json!({"id": id, "displayName": name}))
            .collect(),
    );
    v
}

fn log_json(e: &LogEntry) -> Value {
    json!({
        "seq": e.seq,
        "time": render::rfc3339(e.at),
        "tokenName": e.token_name,
        "method": e.method,
        "path": e.path,
        "resourceType": e.resource_type,
        "resourceId": e.resource_id,
        "resourceName": e.resource_name,
        "outcome": e.outcome,
        "status": e.status,
        "detail": e.detail,
        "changedAttributes": e.changed,
        "warnings": e.warnings,
    })
}

impl Directory {
    fn group_json(&self, g: &GroupRecord, member_count: u64) -> Value {
        json!({
            "id": g.id,
            "displayName": g.display_name,
            "externalId": g.external_id,
            "source": g.source.as_str(),
            "builtin": g.builtin,
            "memberCount": member_count,
            "created": render::rfc3339(g.created),
            "lastModified": render::rfc3339(g.last_modified),
        })
    }

    async fn admin_users_json(
        &self,
        tx: &mut dyn crate::Tx,
        tenant: &str,
        users: &[UserRecord],
    ) -> ScimResult<Vec<Value>> {
        let (_, schema) = self.user_context(tx, tenant).await?;
        let (groups, names) = self.relations(tx, tenant, users).await?;
        Ok(users
            .iter()
            .map(|u| {
                user_json(
                    self,
                    u,
                    &schema,
                    groups.get(&u.id).map(Vec::as_slice).unwrap_or(&[]),
                    &names,
                )
            })
            .collect())
    }

    /// Users in every state matching `f`, with `state`, `source` and `groups`
    /// (`{id, displayName}`), paged (`start_index` 1-based, `count` ≤ [`ADMIN_MAX_PAGE`]).
    pub async fn admin_list_users(
        &self,
        tenant: &str,
        f: &AdminUserFilter,
        start_index: u64,
        count: u64,
    ) -> ScimResult<(u64, Vec<Value>)> {
        let mut tx = self.store().read().await.map_err(store_err)?;
        let (total, users) = tx
            .admin_list_users(tenant, f, start_index.max(1) - 1, count.min(ADMIN_MAX_PAGE))
            .await
            .map_err(store_err)?;
        let v = self.admin_users_json(tx.as_mut(), tenant, &users).await?;
        Ok((total, v))
    }

    /// One user in any state (404 when absent), as [`Directory::admin_list_users`] shows it.
    pub async fn admin_get_user(&self, tenant: &str, id: &str) -> ScimResult<Value> {
        let mut tx = self.store().read().await.map_err(store_err)?;
        let u = tx
            .get_user(tenant, id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| not_found("User", id))?;
        let mut v = self
            .admin_users_json(tx.as_mut(), tenant, std::slice::from_ref(&u))
            .await?;
        Ok(v.pop().unwrap_or(Value::Null))
    }

    /// Creates a local user from a body with SCIM attribute names (`userName`, `name`,
    /// `emails`, ...). The product rules on emails and names apply. 409 when the userName
    /// exists (ignoring case) in any state.
    pub async fn admin_create_user(&self, tenant: &str, body: &Value) -> ScimResult<Value> {
        let mut tx = self.store().write().await.map_err(store_err)?;
        let (settings, schema) = self.user_context(tx.as_mut(), tenant).await?;
        let n = normalize_resource(&schema, body)?;
        let relaxed = TenantSettings {
            refuse_inactive_create: false,
            ..settings
        };
        policy::check_user(&n.doc, &relaxed, Write::Create)?;
        let mut doc = canonical_document(&n.doc, &schema);
        if let Some(o) = doc.as_object_mut() {
            // A local user is active unless created otherwise.
            o.entry("active").or_insert(Value::Bool(true));
        }
        let user_name = doc
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some(u) = tx
            .user_by_user_name(tenant, &user_name)
            .await
            .map_err(store_err)?
        {
            return Err(conflict(format!(
                "userName '{}' is already used by user {} ({})",
                u.user_name,
                u.id,
                u.state.as_str()
            )));
        }
        let now = render::now();
        let active = doc.get("active").and_then(Value::as_bool).unwrap_or(true);
        let emails = doc
            .get("emails")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|e| {
                        Some(crate::store::EmailKey {
                            value_folded: scim_proto::filter::fold(e.get("value")?.as_str()?),
                            kind: e
                                .get("type")
                                .and_then(Value::as_str)
                                .map(scim_proto::filter::fold),
                            primary: e.get("primary").and_then(Value::as_bool).unwrap_or(false),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let u = UserRecord {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: tenant.to_string(),
            user_name,
            external_id: doc
                .get("externalId")
                .and_then(Value::as_str)
                .map(str::to_string),
            display_name: doc
                .get("displayName")
                .and_then(Value::as_str)
                .map(str::to_string),
            state: if active {
                UserState::Active
            } else {
                UserState::Inactive
            },
            source: Source::Local,
            version: 1,
            created: now,
            last_modified: now,
            doc_folded: fold_document(&doc, &schema),
            doc,
            emails,
        };
        tx.insert_user(&u).await.map_err(store_err)?;
        let mut v = self
            .admin_users_json(tx.as_mut(), tenant, std::slice::from_ref(&u))
            .await?;
        tx.commit().await.map_err(store_err)?;
        Ok(v.pop().unwrap_or(Value::Null))
    }

    /// Deletes a user permanently (rule 6): only users that are inactive or deprovisioned
    /// (409 otherwise). Its memberships go with it.
    pub async fn admin_delete_user(&self, tenant: &str, id: &str) -> ScimResult<()> {
        self.delete_user_permanently(tenant, id, None).await
    }

    /// [`Directory::admin_delete_user`], recorded in the provisioning log as outcome
    /// `deleted` under `by` (the portal records its deletions so: token name
    /// `portal:<administrator>`, with the request's method and path).
    pub async fn admin_delete_user_logged(
        &self,
        tenant: &str,
        id: &str,
        by: &crate::directory::Caller,
    ) -> ScimResult<()> {
        self.delete_user_permanently(tenant, id, Some(by)).await
    }

    async fn delete_user_permanently(
        &self,
        tenant: &str,
        id: &str,
        by: Option<&crate::directory::Caller>,
    ) -> ScimResult<()> {
        let mut tx = self.store().write().await.map_err(store_err)?;
        let u = tx
            .get_user(tenant, id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| not_found("User", id))?;
        if u.state == UserState::Active {
            return Err(conflict(format!(
                "user '{}' is active: only inactive or deprovisioned users can be deleted permanently (disable it in the identity provider first)",
                u.user_name
            )));
        }
        tx.delete_user(tenant, id).await.map_err(store_err)?;
        if let Some(c) = by {
            let audit = crate::audit::Audit {
                resource_type: "User",
                outcome: "deleted",
                status: 204,
                id: Some(u.id.clone()),
                name: Some(u.user_name.clone()),
                ..Default::default()
            };
            self.audit(tx.as_mut(), c, audit).await?;
        }
        tx.commit().await.map_err(store_err)
    }

    /// Groups (the built-in All Users group first) whose displayName contains `search`.
    pub async fn admin_list_groups(
        &self,
        tenant: &str,
        search: Option<&str>,
        start_index: u64,
        count: u64,
    ) -> ScimResult<(u64, Vec<Value>)> {
        let mut tx = self.store().read().await.map_err(store_err)?;
        let (total, groups) = tx
            .admin_list_groups(
                tenant,
                search,
                start_index.max(1) - 1,
                count.min(ADMIN_MAX_PAGE),
            )
            .await
            .map_err(store_err)?;
        let mut out = Vec::with_capacity(groups.len());
        for g in &groups {
            let n = self.member_count(tx.as_mut(), tenant, g).await?;
            out.push(self.group_json(g, n));
        }
        Ok((total, out))
    }

    async fn member_count(
        &self,
        tx: &mut dyn crate::Tx,
        tenant: &str,
        g: &GroupRecord,
    ) -> ScimResult<u64> {
        if g.builtin {
            let counts = tx.user_counts(tenant).await.map_err(store_err)?;
            Ok(counts.iter().map(|c| c.2).sum())
        } else {
            tx.count_members(tenant, &g.id).await.map_err(store_err)
        }
    }

    /// One group with a page of its members (`members`: `{id, type, display, userName,
    /// state}`); the All Users group lists every user.
    pub async fn admin_get_group(
        &self,
        tenant: &str,
        id: &str,
        start_index: u64,
        count: u64,
    ) -> ScimResult<Value> {
        let mut tx = self.store().read().await.map_err(store_err)?;
        let g = tx
            .get_group(tenant, id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| not_found("Group", id))?;
        let total = self.member_count(tx.as_mut(), tenant, &g).await?;
        let offset = start_index.max(1) - 1;
        let limit = count.min(ADMIN_MAX_PAGE);
        let members: Vec<Value> = if g.builtin {
            let (_, users) = tx
                .admin_list_users(tenant, &AdminUserFilter::default(), offset, limit)
                .await
                .map_err(store_err)?;
            users
                .iter()
                .map(|u| json!({"id": u.id, "type": "User", "display": u.display_name.clone().unwrap_or_else(|| u.user_name.clone()), "state": u.state.as_str()}))
                .collect()
        } else {
            tx.group_members(tenant, id, offset, Some(limit))
                .await
                .map_err(store_err)?
                .into_iter()
                .map(|m| {
                    let kind = if m.kind == MemberKind::User {
                        "User"
                    } else {
                        "Group"
                    };
                    let display = m.display.or(m.user_name);
                    let state = m.state.map(UserState::as_str);
                    json!({"id": m.id, "type": kind, "display": display, "state": state})
                })
                .collect()
        };
        let mut v = self.group_json(&g, total);
        v["members"] = Value::Array(members);
        v["membersStartIndex"] = json!(offset + 1);
        Ok(v)
    }

    /// Creates a local group (`{"displayName": ...}`). 409 when the name is taken ignoring
    /// case by any group, the built-in one included.
    pub async fn admin_create_group(&self, tenant: &str, body: &Value) -> ScimResult<Value> {
        let schema = self.group_schema();
        let n = normalize_resource(&schema, body)?;
        let doc = canonical_document(&n.doc, &schema);
        let name = doc
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut tx = self.store().write().await.map_err(store_err)?;
        if let Some(g) = tx
            .group_by_display_name(tenant, &name)
            .await
            .map_err(store_err)?
        {
            return Err(conflict(format!(
                "a group named '{}' already exists ({} group {})",
                g.display_name,
                g.source.as_str(),
                g.id
            )));
        }
        let now = render::now();
        let g = GroupRecord {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: tenant.to_string(),
            display_name: name,
            external_id: doc
                .get("externalId")
                .and_then(Value::as_str)
                .map(str::to_string),
            source: Source::Local,
            builtin: false,
            version: 1,
            created: now,
            last_modified: now,
            doc_folded: fold_document(&doc, &schema),
            doc,
        };
        tx.insert_group(&g).await.map_err(store_err)?;
        tx.commit().await.map_err(store_err)?;
        Ok(self.group_json(&g, 0))
    }

    async fn local_group(
        &self,
        tx: &mut dyn crate::Tx,
        tenant: &str,
        id: &str,
        what: &str,
    ) -> ScimResult<GroupRecord> {
        let g = tx
            .get_group(tenant, id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| not_found("Group", id))?;
        if g.builtin {
            return Err(conflict(format!(
                "the built-in group '{}' cannot be {what}",
                g.display_name
            )));
        }
        if g.source != Source::Local {
            return Err(conflict(format!(
                "group '{}' is provisioned by the identity provider and cannot be {what} here; change it in the identity provider",
                g.display_name
            )));
        }
        Ok(g)
    }

    /// Deletes a local group (409 for the built-in group and for provisioned groups).
    pub async fn admin_delete_group(&self, tenant: &str, id: &str) -> ScimResult<()> {
        let mut tx = self.store().write().await.map_err(store_err)?;
        self.local_group(tx.as_mut(), tenant, id, "deleted").await?;
        tx.delete_group(tenant, id).await.map_err(store_err)?;
        tx.commit().await.map_err(store_err)
    }

    /// Adds users to a local group (400 for ids that are not users of the tenant).
    pub async fn admin_add_members(
        &self,
        tenant: &str,
        id: &str,
        user_ids: &[String],
    ) -> ScimResult<u64> {
        let mut tx = self.store().write().await.map_err(store_err)?;
        let mut g = self.local_group(tx.as_mut(), tenant, id, "changed").await?;
        let found: Vec<String> = tx
            .user_names(tenant, user_ids)
            .await
            .map_err(store_err)?
            .into_iter()
            .map(|x| x.0)
            .collect();
        if let Some(missing) = user_ids.iter().find(|u| !found.contains(u)) {
            return Err(ScimError::invalid_value(format!(
                "{missing} is not a user of this tenant"
            )));
        }
        let ms: Vec<(String, MemberKind)> =
            found.into_iter().map(|u| (u, MemberKind::User)).collect();
        let n = tx.add_members(tenant, id, &ms).await.map_err(store_err)?;
        if n > 0 {
            g.version += 1;
            g.last_modified = render::now();
            tx.update_group(&g).await.map_err(store_err)?;
        }
        tx.commit().await.map_err(store_err)?;
        Ok(n)
    }

    /// Removes members from a local group (absent ids are ignored).
    pub async fn admin_remove_members(
        &self,
        tenant: &str,
        id: &str,
        ids: &[String],
    ) -> ScimResult<u64> {
        let mut tx = self.store().write().await.map_err(store_err)?;
        let mut g = self.local_group(tx.as_mut(), tenant, id, "changed").await?;
        let n = tx
            .remove_members(tenant, id, ids)
            .await
            .map_err(store_err)?;
        if n > 0 {
            g.version += 1;
            g.last_modified = render::now();
            tx.update_group(&g).await.map_err(store_err)?;
        }
        tx.commit().await.map_err(store_err)?;
        Ok(n)
    }

    fn attribute_json(a: &AttributeRow, urn: &str, values: Option<u64>) -> Value {
        let mut v = json!({
            "name": a.name,
            "type": a.ty,
            "category": "IDP",
            "schema": urn,
            "scimPath": format!("{urn}:{}", a.name),
            "created": render::rfc3339(a.created),
        });
        if let Some(n) = values {
            v["usersWithValue"] = json!(n);
        }
        v
    }

    /// The tenant's custom attributes (`{name, type, category: "IDP", schema, scimPath,
    /// created, usersWithValue}`), in registration order.
    pub async fn list_attributes(&self, tenant: &str) -> ScimResult<Vec<Value>> {
        let mut tx = self.store().read().await.map_err(store_err)?;
        let settings = self.tenant_settings(tx.as_mut(), tenant).await?;
        let attrs = tx.list_attributes(tenant).await.map_err(store_err)?;
        let mut out = vec![];
        for a in &attrs {
            let n = tx
                .count_extension_values(tenant, &settings.custom_schema_urn, &a.name)
                .await
                .map_err(store_err)?;
            out.push(Self::attribute_json(
                a,
                &settings.custom_schema_urn,
                Some(n),
            ));
        }
        Ok(out)
    }

    /// The tenant's custom schema URN and its custom attributes in registration order,
    /// without counting values (for listings that must stay fast on large tenants).
    pub async fn custom_attribute_defs(
        &self,
        tenant: &str,
    ) -> ScimResult<(String, Vec<AttributeRow>)> {
        let mut tx = self.store().read().await.map_err(store_err)?;
        let settings = self.tenant_settings(tx.as_mut(), tenant).await?;
        let attrs = tx.list_attributes(tenant).await.map_err(store_err)?;
        Ok((settings.custom_schema_urn, attrs))
    }

    /// Registers a custom attribute in the tenant's custom extension schema. 400 for a name
    /// that breaks RFC 7643 ATTRNAME or an unknown type; 409 for a duplicate (ignoring case).
    /// A name that a core or enterprise attribute also has is allowed: it lives under the
    /// custom schema URN, so the two never collide.
    pub async fn create_attribute(
        &self,
        tenant: &str,
        name: &str,
        ty: Option<&str>,
    ) -> ScimResult<Value> {
        let name = name.trim();
        custom::check_name(name).map_err(ScimError::invalid_value)?;
        let ty = ty.unwrap_or("string");
        let Some(t) = custom::parse_type(ty) else {
            return Err(ScimError::invalid_value(format!(
                "unknown attribute type '{ty}': use one of {}",
                custom::CUSTOM_TYPES.join(", ")
            )));
        };
        let canonical_ty = scim_proto::schema::AttrType::as_str(t).to_string();
        let mut tx = self.store().write().await.map_err(store_err)?;
        let settings = self.tenant_settings(tx.as_mut(), tenant).await?;
        let row = AttributeRow {
            tenant_id: tenant.to_string(),
            name: name.to_string(),
            ty: canonical_ty,
            created: render::now(),
        };
        match tx.insert_attribute(&row).await {
            Ok(()) => {}
            Err(StoreError::Conflict(ConflictTarget::AttributeName)) => return Err(conflict(format!("a custom attribute named '{name}' already exists (names are compared ignoring case)"))),
            Err(e) => return Err(store_err(e)),
        }
        tx.commit().await.map_err(store_err)?;
        Ok(Self::attribute_json(
            &row,
            &settings.custom_schema_urn,
            Some(0),
        ))
    }

    /// How many users hold a value for custom attribute `name`.
    pub async fn attribute_value_count(&self, tenant: &str, name: &str) -> ScimResult<u64> {
        let mut tx = self.store().read().await.map_err(store_err)?;
        let settings = self.tenant_settings(tx.as_mut(), tenant).await?;
        let attrs = tx.list_attributes(tenant).await.map_err(store_err)?;
        let a = attrs
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| not_found("custom attribute", name))?;
        tx.count_extension_values(tenant, &settings.custom_schema_urn, &a.name)
            .await
            .map_err(store_err)
    }

    /// Deletes a custom attribute and removes its values from every user; returns how many
    /// users held one. 404 when absent.
    pub async fn delete_attribute(&self, tenant: &str, name: &str) -> ScimResult<u64> {
        let mut tx = self.store().write().await.map_err(store_err)?;
        let settings = self.tenant_settings(tx.as_mut(), tenant).await?;
        let attrs = tx.list_attributes(tenant).await.map_err(store_err)?;
        let a = attrs
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| not_found("custom attribute", name))?;
        let n = tx
            .strip_extension_values(tenant, &settings.custom_schema_urn, &a.name)
            .await
            .map_err(store_err)?;
        tx.delete_attribute(tenant, &a.name)
            .await
            .map_err(store_err)?;
        tx.commit().await.map_err(store_err)?;
        Ok(n)
    }

    /// The tenant's settings as JSON (`customSchemaUrn`, `blankValuePolicy`, `refuseInactiveCreate`).
    pub async fn get_settings(&self, tenant: &str) -> ScimResult<TenantSettings> {
        let mut tx = self.store().read().await.map_err(store_err)?;
        self.tenant_settings(tx.as_mut(), tenant).await
    }

    /// Changes some settings (a JSON object with any of the keys). 400 for an unknown key,
    /// a value of the wrong type, a `blankValuePolicy` other than `ignore`/`clear`, or a
    /// `customSchemaUrn` that is not a URN or is a standard schema's. Changing the URN moves
    /// stored custom values to the new URN.
    pub async fn update_settings(&self, tenant: &str, patch: &Value) -> ScimResult<TenantSettings> {
        let obj = patch
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the settings body must be a JSON object"))?;
        let mut tx = self.store().write().await.map_err(store_err)?;
        let old = self.tenant_settings(tx.as_mut(), tenant).await?;
        let mut s = old.clone();
        for (k, v) in obj {
            match k.as_str() {
                "customSchemaUrn" => {
                    let u = v.as_str().ok_or_else(|| ScimError::invalid_value("customSchemaUrn must be a string"))?.trim();
                    let ok = u.len() > 4
                        && u.len() <= 200
                        && u[..4].eq_ignore_ascii_case("urn:")
                        && !u.contains(|c: char| c.is_whitespace() || c.is_control())
                        && !u.ends_with(':')
                        && ![USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA].iter().any(|x| x.eq_ignore_ascii_case(u));
                    if !ok {
                        return Err(ScimError::invalid_value(format!(
                            "customSchemaUrn '{u}' is not usable: give a URN such as urn:ietf:params:scim:schemas:extension:<company>:2.0:User, other than the core and enterprise schema URNs"
                        )));
                    }
                    s.custom_schema_urn = u.to_string();
                }
                "blankValuePolicy" => {
                    s.blank_value_policy = match v.as_str() {
                        Some("ignore") => BlankPolicy::Ignore,
                        Some("clear") => BlankPolicy::Clear,
                        _ => return Err(ScimError::invalid_value("blankValuePolicy must be \"ignore\" or \"clear\"")),
                    }
                }
                "refuseInactiveCreate" => {
                    s.refuse_inactive_create = v.as_bool().ok_or_else(|| ScimError::invalid_value("refuseInactiveCreate must be true or false"))?
                }
                other => {
                    return Err(ScimError::invalid_value(format!(
                        "unknown setting '{other}': the settings are customSchemaUrn, blankValuePolicy and refuseInactiveCreate"
                    )))
                }
            }
        }
        if s.custom_schema_urn != old.custom_schema_urn {
            tx.rename_extension_key(tenant, &old.custom_schema_urn, &s.custom_schema_urn)
                .await
                .map_err(store_err)?;
        }
        tx.update_tenant_settings(tenant, &s.to_json())
            .await
            .map_err(store_err)?;
        tx.commit().await.map_err(store_err)?;
        Ok(s)
    }

    /// Provisioning-log entries matching `q`, newest first, with the total matching.
    pub async fn query_log(&self, tenant: &str, q: &LogQuery) -> ScimResult<(u64, Vec<Value>)> {
        let mut tx = self.store().read().await.map_err(store_err)?;
        let (total, rows) = tx.query_log(tenant, q).await.map_err(store_err)?;
        Ok((total, rows.iter().map(log_json).collect()))
    }

    /// Counts for the dashboard: users by state and by source, and groups.
    pub async fn counts(&self, tenant: &str) -> ScimResult<Value> {
        let mut tx = self.store().read().await.map_err(store_err)?;
        let mut by_state: HashMap<&str, u64> = HashMap::new();
        let mut by_source: HashMap<&str, u64> = HashMap::new();
        let mut total = 0;
        for (st, src, n) in tx.user_counts(tenant).await.map_err(store_err)? {
            *by_state.entry(st.as_str()).or_default() += n;
            *by_source.entry(src.as_str()).or_default() += n;
            total += n;
        }
        let groups = tx.group_count(tenant).await.map_err(store_err)?;
        Ok(json!({
            "users": total,
            "usersByState": {
                "active": by_state.get("active").copied().unwrap_or(0),
                "inactive": by_state.get("inactive").copied().unwrap_or(0),
                "deprovisioned": by_state.get("deprovisioned").copied().unwrap_or(0),
            },
            "usersBySource": {
                "local": by_source.get("local").copied().unwrap_or(0),
                "scim": by_source.get("scim").copied().unwrap_or(0),
            },
            "groups": groups,
        }))
    }
}
