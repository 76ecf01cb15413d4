//! SCIM operations on Users (RFC 7644 §3.3–§3.6) under the product's rules.

use crate::changes::{commit_recorded, diff, property, Recorder, Rule};
use crate::directory::{Caller, Directory, Rendered, Target, WriteStatus, Written};
use crate::error::{list_error, not_found};
use crate::policy::{self, Write};
use crate::render;
use crate::settings::TenantSettings;
use crate::store::{
    Change, ChangeRecord, EmailKey, ListPage, ListQuery, Listing, Source, StoreResult, Tx,
    UserRecord, UserState,
};
use crate::vocabulary::{LogOutcome, ResourceType};
use crate::write::{check_if_match, required_text, text};
use scim_proto::filter::fold;
use scim_proto::list::ListParams;
use scim_proto::normalize::{
    canonical_document, fold_document, get_path, normalize_resource_with, set_path,
};
use scim_proto::patch::{self, BlankPolicy, PatchOptions, PatchRequest};
use scim_proto::schema::{ResourceSchema, ENTERPRISE_USER_SCHEMA};
use scim_proto::{ScimError, ScimResult};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Canonicalises a record's document and fills the lookup columns it implies: userName,
/// externalId, displayName, emails and the case-folded copy.
pub(crate) fn refresh(rec: &mut UserRecord, schema: &ResourceSchema) -> ScimResult<()> {
    rec.doc = canonical_document(&rec.doc, schema);
    rec.user_name = required_text(&rec.doc, "userName")?;
    rec.external_id = text(&rec.doc, "externalId");
    rec.display_name = text(&rec.doc, "displayName");
    rec.emails = rec
        .doc
        .get("emails")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    let v = e.get("value").and_then(Value::as_str)?;
                    Some(EmailKey {
                        value_folded: fold(v),
                        kind: e.get("type").and_then(Value::as_str).map(fold),
                        primary: e.get("primary").and_then(Value::as_bool).unwrap_or(false),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    rec.doc_folded = fold_document(&rec.doc, schema);
    Ok(())
}

/// A user created or replaced without `active` is active, and says so: `active` is then
/// stored, so it is returned and matches `active eq true`.
pub(crate) fn default_active(doc: &mut Value) {
    if let Some(o) = doc.as_object_mut() {
        o.entry("active").or_insert(Value::Bool(true));
    }
}

/// The state a document asks for: active unless `active` is false.
pub(crate) fn state_of(doc: &Value) -> UserState {
    if doc.get("active").and_then(Value::as_bool).unwrap_or(true) {
        UserState::Active
    } else {
        UserState::Inactive
    }
}

/// A new user record of `tenant` (a fresh id, version 1, created now) holding `doc`, its
/// lookup columns still to be filled by [`refresh`].
pub(crate) fn new_user(tenant: &str, state: UserState, source: Source, doc: Value) -> UserRecord {
    let now = render::now();
    UserRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant.to_string(),
        user_name: String::new(),
        external_id: None,
        display_name: None,
        state,
        source,
        version: 1,
        created: now,
        last_modified: now,
        doc,
        doc_folded: Value::Null,
        emails: vec![],
    }
}

/// Soft-deletes `rec` (rule 6): `deprovisioned`, `active` false, at a new version. Returns
/// the changes to record: `active` (when it was not false already) and `state`.
pub(crate) fn deprovision(rec: &mut UserRecord) -> Vec<Change> {
    let mut changes = Vec::new();
    let was = rec.doc.get("active").cloned();
    if was != Some(Value::Bool(false)) {
        changes.push(Change::new("active", was, Some(Value::Bool(false))));
    }
    changes.push(property(
        "state",
        rec.state.as_str(),
        UserState::Deprovisioned.as_str(),
    ));
    rec.state = UserState::Deprovisioned;
    rec.version += 1;
    rec.last_modified = render::now();
    if let Some(o) = rec.doc.as_object_mut() {
        o.insert("active".into(), Value::Bool(false));
    }
    changes
}

/// What a user write did, for the provisioning log.
fn user_outcome(before: Option<&UserRecord>, after: &UserRecord) -> LogOutcome {
    match before {
        None => LogOutcome::Created,
        Some(b) if b.state == UserState::Deprovisioned => LogOutcome::Revived,
        Some(b) if b.source == Source::Local => LogOutcome::Adopted,
        Some(b) if b.state == UserState::Active && after.state == UserState::Inactive => {
            LogOutcome::Disabled
        }
        Some(b) if b.state == UserState::Inactive && after.state == UserState::Active => {
            LogOutcome::Enabled
        }
        Some(_) => LogOutcome::Updated,
    }
}

/// The records of a SCIM write of user `after` (`before`: the stored user it replaced, if
/// any) answered `status`: the request's record with the attribute changes and
/// `warnings`, and the side effects of the lifecycle rules (revival, adoption) as records
/// of their own.
fn user_records(
    rec: &Recorder<'_>,
    before: Option<&UserRecord>,
    after: &UserRecord,
    status: WriteStatus,
    schema: &ResourceSchema,
    warnings: Vec<String>,
) -> Vec<ChangeRecord> {
    let outcome = user_outcome(before, after);
    let mut r = rec.write(
        ResourceType::User,
        &after.id,
        &after.user_name,
        outcome,
        status,
    );
    let before_doc = before.map(|b| &b.doc).unwrap_or(&Value::Null);
    r.changes = diff(before_doc, &after.doc, schema);
    r.warnings = warnings;
    let mut out = vec![r];
    let Some(b) = before else { return out };
    let rule = |rule: Rule, outcome: LogOutcome| {
        rec.rule(
            rule,
            ResourceType::User,
            &after.id,
            &after.user_name,
            outcome,
        )
    };
    if b.state == UserState::Deprovisioned && after.state != UserState::Deprovisioned {
        let mut r = rule(Rule::PostRevivesUser, LogOutcome::Revived);
        r.changes
            .push(property("state", b.state.as_str(), after.state.as_str()));
        out.push(r);
    }
    if b.source == Source::Local && after.source == Source::Scim {
        let mut r = rule(Rule::AdoptsLocalUser, LogOutcome::Adopted);
        r.changes
            .push(property("source", b.source.as_str(), after.source.as_str()));
        out.push(r);
    }
    out
}

/// Each user's groups: user id → `[(group id, displayName)]`.
pub(crate) type Relations = HashMap<String, Vec<(String, String)>>;

impl Directory {
    /// The tenant's settings and User resource type (core User, enterprise extension, and
    /// the tenant's custom-attribute extension when it has registered attributes), read in
    /// `tx` so they are those in force for the request.
    pub(crate) async fn user_context(
        &self,
        tx: &mut dyn Tx,
        tenant: &str,
    ) -> StoreResult<(TenantSettings, Arc<ResourceSchema>)> {
        let (settings, attrs) = self.tenant_context(tx, tenant).await?;
        let schema = self.schemas().user(&settings.custom_schema_urn, &attrs);
        Ok((settings, schema))
    }

    /// The User resource type of the caller's tenant, as published in `/Schemas` and
    /// `/ResourceTypes` at the moment of the request.
    pub async fn user_schema(&self, c: &Caller) -> ScimResult<Arc<ResourceSchema>> {
        let mut tx = self.store().read().await?;
        let (_, schema) = self.user_context(tx.as_mut(), &c.tenant_id).await?;
        // A custom extension with no attribute registered is not published.
        let custom_is_empty = schema
            .extensions
            .iter()
            .any(|e| e.schema.id != ENTERPRISE_USER_SCHEMA && e.schema.attributes.is_empty());
        if custom_is_empty {
            return Ok(self.schemas().plain_user());
        }
        Ok(schema)
    }

    /// The tenant's settings and custom attribute definitions: from the cache
    /// ([`crate::cache`]) when it holds them, else read — in a transaction of its own when
    /// caching is on (its snapshot is then newer than the epoch the entry is kept under),
    /// else in `tx`.
    async fn tenant_context(
        &self,
        tx: &mut dyn Tx,
        tenant: &str,
    ) -> StoreResult<(TenantSettings, Vec<crate::store::AttributeRow>)> {
        if !crate::cache::enabled() {
            return self.attribute_rows(tx, tenant).await;
        }
        let found = self
            .caches()
            .contexts
            .get_or_load(tenant.to_string(), || async {
                let mut fresh = self.store().read().await?;
                Ok::<_, crate::StoreError>(Some(self.attribute_rows(fresh.as_mut(), tenant).await?))
            })
            .await?;
        Ok(found.unwrap_or_default())
    }

    pub(crate) async fn tenant_settings(
        &self,
        tx: &mut dyn Tx,
        tenant_id: &str,
    ) -> StoreResult<TenantSettings> {
        let t = tx.get_tenant(tenant_id).await?;
        Ok(TenantSettings::of_tenant(t.as_ref()))
    }

    /// What rendering users needs beyond their records, in two batched queries: each user's
    /// groups (`user id → [(group id, displayName)]`) and the displayName of each manager
    /// that has one (`manager id → displayName`).
    pub(crate) async fn relations(
        &self,
        tx: &mut dyn Tx,
        tenant: &str,
        users: &[UserRecord],
    ) -> StoreResult<(Relations, HashMap<String, String>)> {
        let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
        let mut groups: Relations = HashMap::new();
        if !ids.is_empty() {
            for (uid, gid, name) in tx.groups_of_users(tenant, &ids).await? {
                groups.entry(uid).or_default().push((gid, name));
            }
        }
        let managers: Vec<String> = users
            .iter()
            .filter_map(|u| {
                u.doc
                    .get(ENTERPRISE_USER_SCHEMA)?
                    .get("manager")?
                    .get("value")?
                    .as_str()
                    .map(str::to_string)
            })
            .collect();
        let names = if managers.is_empty() {
            HashMap::new()
        } else {
            tx.user_names(tenant, &managers)
                .await?
                .into_iter()
                .filter_map(|(id, name)| Some((id, name?)))
                .collect()
        };
        Ok((groups, names))
    }

    /// Renders users with their groups and managers' names, in two batched queries.
    pub(crate) async fn render_users(
        &self,
        tx: &mut dyn Tx,
        tenant: &str,
        schema: &Arc<ResourceSchema>,
        users: &[UserRecord],
    ) -> StoreResult<Vec<Rendered>> {
        let (mut groups, names) = self.relations(tx, tenant, users).await?;
        let base = self.scim_base();
        Ok(users
            .iter()
            .map(|u| {
                let g = groups.remove(&u.id).unwrap_or_default();
                let resource = render::user(u, schema, &base, &g, &names);
                Rendered {
                    resource,
                    etag: render::etag(u.version),
                    location: format!("{base}/Users/{}", u.id),
                    schema: schema.clone(),
                }
            })
            .collect())
    }

    pub(crate) async fn render_one_user(
        &self,
        tx: &mut dyn Tx,
        schema: &Arc<ResourceSchema>,
        u: &UserRecord,
    ) -> StoreResult<Rendered> {
        let mut v = self
            .render_users(tx, &u.tenant_id, schema, std::slice::from_ref(u))
            .await?;
        Ok(v.pop().expect("one user rendered"))
    }

    /// The user with `id`, as SCIM sees it (deprovisioned users are 404), at the version
    /// `if_match` names if any (412 otherwise).
    async fn load_visible_user(
        &self,
        tx: &mut dyn Tx,
        tenant: &str,
        Target { id, if_match }: Target<'_>,
    ) -> ScimResult<UserRecord> {
        match tx.get_user(tenant, id).await? {
            Some(u) if u.state != UserState::Deprovisioned => {
                check_if_match(if_match, u.version)?;
                Ok(u)
            }
            _ => Err(not_found("User", id).into()),
        }
    }

    /// Checks that a document's manager, if any, is a user of the tenant (400 invalidValue).
    /// A user may be its own manager: HR sources mark the top of a hierarchy so, and
    /// refusing it would fail that user at every provisioning cycle.
    pub(crate) async fn check_manager(
        &self,
        tx: &mut dyn Tx,
        tenant: &str,
        self_id: &str,
        doc: &Value,
    ) -> ScimResult<()> {
        let Some(m) = doc
            .get(ENTERPRISE_USER_SCHEMA)
            .and_then(|e| e.get("manager"))
            .and_then(|m| m.get("value"))
            .and_then(Value::as_str)
        else {
            return Ok(());
        };
        if m == self_id {
            return Ok(());
        }
        if tx.user_names(tenant, &[m.to_string()]).await?.is_empty() {
            return Err(ScimError::invalid_value(format!(
                "manager {m} is not a user of this tenant"
            )));
        }
        Ok(())
    }

    /// GET /Users/{id}. 404 for an unknown or deprovisioned user.
    pub async fn get_user(&self, c: &Caller, id: &str) -> ScimResult<Rendered> {
        let mut tx = self.store().read().await?;
        let (_, schema) = self.user_context(tx.as_mut(), &c.tenant_id).await?;
        let u = self
            .load_visible_user(tx.as_mut(), &c.tenant_id, Target { id, if_match: None })
            .await?;
        Ok(self.render_one_user(tx.as_mut(), &schema, &u).await?)
    }

    /// GET /Users (and /.search): filter, sort and page in the database; returns
    /// `(totalResults, page)`. Deprovisioned users are never listed. The page stops once
    /// its stored rows hold [`scim_proto::limits::Limits::max_page_bytes`] (at least one
    /// user), so it may hold fewer users than `count`. Errors: 400 invalidFilter for a
    /// filter naming unknown attributes or comparing in a way the attribute's type does not
    /// allow; 400 tooMany for a filter cancelled at the statement time limit.
    pub async fn list_users(&self, c: &Caller, p: &ListParams) -> ScimResult<(u64, Vec<Rendered>)> {
        let offset = p.start_index.saturating_sub(1);
        let mut tx = self
            .store()
            .read_list(Listing::Users, p.filter.as_ref(), offset)
            .await?;
        let (_, schema) = self.user_context(tx.as_mut(), &c.tenant_id).await?;
        if let Some(f) = &p.filter {
            scim_proto::filter::validate(f, &schema)?;
        }
        let q = ListQuery::scim(p, &schema, self.limits().max_page_bytes);
        let mut users = Vec::new();
        let total = tx
            .list_resources(&c.tenant_id, &q, ListPage::Users(&mut users))
            .await
            .map_err(|e| list_error(e, p.filter.is_some()))?;
        let page = self
            .render_users(tx.as_mut(), &c.tenant_id, &schema, &users)
            .await?;
        Ok((total, page))
    }

    /// Ends a successful user write answered `status`: inserts its change `records` and
    /// counts their warnings ([`crate::warnings`]), renders the user and commits, in `tx`.
    async fn user_written(
        &self,
        mut tx: Box<dyn Tx>,
        records: Vec<ChangeRecord>,
        status: WriteStatus,
        schema: &Arc<ResourceSchema>,
        rec: &UserRecord,
    ) -> ScimResult<Written> {
        for r in &records {
            tx.insert_record(r).await?;
        }
        crate::warnings::count(tx.as_mut(), &records).await?;
        let resource = self.render_one_user(tx.as_mut(), schema, rec).await?;
        tx.commit().await?;
        Ok(Written { status, resource })
    }

    /// POST /Users (rules 1–3, 7, 11): a userName held by a deprovisioned user revives that
    /// user; by a local user adopts it; by any other user is 409 uniqueness.
    pub async fn create_user(&self, c: &Caller, body: &Value) -> ScimResult<Written> {
        let logged_as = (ResourceType::User, None, Some(body));
        self.write_logged(c, logged_as, async |recorder: &Recorder<'_>| {
            let now = render::now();
            let mut tx = self.store().write().await?;
            let (settings, schema) = self.user_context(tx.as_mut(), &c.tenant_id).await?;
            let mut n = normalize_resource_with(&schema, body, self.limits())?;
            default_active(&mut n.doc);
            let user_name = required_text(&n.doc, "userName")?;
            policy::check_user(&n.doc, &settings, Write::Create)?;
            let state = state_of(&n.doc);
            let existing = tx.user_by_user_name(&c.tenant_id, &user_name).await?;
            let (before, rec) = match existing {
                Some(old)
                    if old.state == UserState::Deprovisioned || old.source == Source::Local =>
                {
                    let mut rec = old.clone();
                    self.check_manager(tx.as_mut(), &c.tenant_id, &rec.id, &n.doc)
                        .await?;
                    rec.doc = n.doc;
                    rec.state = state;
                    rec.source = Source::Scim;
                    rec.version += 1;
                    rec.last_modified = now;
                    refresh(&mut rec, &schema)?;
                    tx.update_user(&rec).await?;
                    (Some(old), rec)
                }
                Some(_) => {
                    return Err(ScimError::uniqueness(format!(
                        "userName '{user_name}' is already in use in this tenant"
                    )))
                }
                None => {
                    let mut rec = new_user(&c.tenant_id, state, Source::Scim, n.doc);
                    self.check_manager(tx.as_mut(), &c.tenant_id, &rec.id, &rec.doc)
                        .await?;
                    refresh(&mut rec, &schema)?;
                    tx.insert_user(&rec).await?;
                    (None, rec)
                }
            };
            let status = WriteStatus::Created;
            let records =
                user_records(recorder, before.as_ref(), &rec, status, &schema, n.warnings);
            self.user_written(tx, records, status, &schema, &rec).await
        })
        .await
    }

    /// PUT /Users/{id} (RFC 7644 §3.5.1; rules 1, 2, 4): replaces the client-writable
    /// attributes. Under the "ignore" blank-value policy, attributes sent blank keep their
    /// stored value; but rules 1 and 2 hold whatever the policy: a PUT that sends the given
    /// or family name blank, or no email with a value, is refused.
    pub async fn replace_user(
        &self,
        c: &Caller,
        t: Target<'_>,
        body: &Value,
    ) -> ScimResult<Written> {
        let id = t.id;
        let logged_as = (ResourceType::User, Some(id), Some(body));
        self.write_logged(c, logged_as, async |recorder: &Recorder<'_>| {
            let mut tx = self.store().write().await?;
            let (settings, schema) = self.user_context(tx.as_mut(), &c.tenant_id).await?;
            let mut n = normalize_resource_with(&schema, body, self.limits())?;
            let rec = self.load_visible_user(tx.as_mut(), &c.tenant_id, t).await?;
            // Rules 1 and 2 on the body as sent, blanks clearing what they name, so that no
            // blank-value policy keeps a blank name or a missing email from being refused.
            policy::check_user(&n.doc, &settings, Write::Replace)?;
            if settings.blank_value_policy == BlankPolicy::Ignore {
                // An empty manager always removes it (rule 4): it is how Entra ID unsets one.
                let manager = format!("{ENTERPRISE_USER_SCHEMA}:manager");
                for path in n.blanks.iter().filter(|p| !p.starts_with(&manager)) {
                    if let Some(old) = get_path(&rec.doc, path) {
                        set_path(&mut n.doc, path, old.clone());
                    }
                }
            }
            default_active(&mut n.doc);
            self.user_replaced(tx, recorder, &schema, rec, (n.doc, n.warnings))
                .await
        })
        .await
    }

    /// Ends a PUT or PATCH of `rec` that leaves the document `doc` (rule 4: its manager
    /// must be a user of the tenant): the user takes `doc` and the state its `active` says,
    /// becomes SCIM-provisioned (rule 11) at a new version, and the write is recorded,
    /// with `warnings`, and answered 200.
    async fn user_replaced(
        &self,
        mut tx: Box<dyn Tx>,
        recorder: &Recorder<'_>,
        schema: &Arc<ResourceSchema>,
        mut rec: UserRecord,
        (doc, warnings): (Value, Vec<String>),
    ) -> ScimResult<Written> {
        self.check_manager(tx.as_mut(), &rec.tenant_id, &rec.id, &doc)
            .await?;
        let before = rec.clone();
        rec.state = state_of(&doc);
        rec.doc = doc;
        rec.source = Source::Scim;
        rec.version += 1;
        rec.last_modified = render::now();
        refresh(&mut rec, schema)?;
        tx.update_user(&rec).await?;
        let status = WriteStatus::Ok;
        let records = user_records(recorder, Some(&before), &rec, status, schema, warnings);
        self.user_written(tx, records, status, schema, &rec).await
    }

    /// PATCH /Users/{id} (RFC 7644 §3.5.2; rules 1, 2, 4, 5, 8, 11), atomically: any failing
    /// operation changes nothing. Rules 1 and 2 hold whatever the blank-value policy: a
    /// PATCH that would leave the given or family name missing or blank, or a user that had
    /// an email without one, is refused, also when the "ignore" policy would have kept the
    /// stored value of what it blanked.
    pub async fn patch_user(&self, c: &Caller, t: Target<'_>, body: &Value) -> ScimResult<Written> {
        let id = t.id;
        let logged_as = (ResourceType::User, Some(id), None);
        self.write_logged(c, logged_as, async |recorder: &Recorder<'_>| {
            let req = PatchRequest::parse(body)?;
            let mut tx = self.store().write().await?;
            let (settings, schema) = self.user_context(tx.as_mut(), &c.tenant_id).await?;
            let rec = self.load_visible_user(tx.as_mut(), &c.tenant_id, t).await?;
            let mut doc = rec.doc.clone();
            // `active` lives in the state; put it in the document so PATCH sees the current
            // value.
            if let Some(o) = doc.as_object_mut() {
                if o.contains_key("active") || rec.state != UserState::Active {
                    o.insert("active".into(), Value::Bool(rec.state == UserState::Active));
                }
            }
            let opts = PatchOptions {
                blank_policy: settings.blank_value_policy,
                limits: *self.limits(),
            };
            let start = doc.clone();
            let outcome = patch::apply(&mut doc, &req, &schema, &opts)?;
            let status = WriteStatus::Ok;
            let rules = Write::Patch { before: &rec.doc };
            if opts.blank_policy == BlankPolicy::Ignore && !outcome.blanks.is_empty() {
                // What the request leaves when its blanks clear what they name: rules 1 and
                // 2 are checked on that too. (A request the clear policy would refuse for
                // another reason, e.g. a blank userName, was refused or not by the run above.)
                let mut cleared = start;
                let clear = PatchOptions {
                    blank_policy: BlankPolicy::Clear,
                    ..opts
                };
                if patch::apply(&mut cleared, &req, &schema, &clear).is_ok() {
                    policy::check_user(&cleared, &settings, rules)?;
                }
            }
            if outcome.changed.is_empty() && rec.source == Source::Scim {
                // Nothing changed: no new version, but the write is still recorded.
                let mut r = recorder.write(
                    ResourceType::User,
                    &rec.id,
                    &rec.user_name,
                    LogOutcome::Updated,
                    status,
                );
                r.warnings = outcome.warnings;
                return self.user_written(tx, vec![r], status, &schema, &rec).await;
            }
            policy::check_user(&doc, &settings, rules)?;
            self.user_replaced(tx, recorder, &schema, rec, (doc, outcome.warnings))
                .await
        })
        .await
    }

    /// DELETE /Users/{id} (rules 6, 10): a soft delete. The user becomes `deprovisioned`,
    /// keeps its group memberships and disappears from SCIM (404 afterwards).
    pub async fn delete_user(&self, c: &Caller, t: Target<'_>) -> ScimResult<WriteStatus> {
        let id = t.id;
        let logged_as = (ResourceType::User, Some(id), None);
        self.write_logged(c, logged_as, async |recorder: &Recorder<'_>| {
            let mut tx = self.store().write().await?;
            let mut rec = self.load_visible_user(tx.as_mut(), &c.tenant_id, t).await?;
            let changes = deprovision(&mut rec);
            tx.update_user(&rec).await?;
            let status = WriteStatus::NoContent;
            let (id, name) = (&rec.id, &rec.user_name);
            let mut r = recorder.write(
                ResourceType::User,
                id,
                name,
                LogOutcome::Deprovisioned,
                status,
            );
            r.changes = changes;
            commit_recorded(tx, &r).await?;
            Ok(WriteStatus::NoContent)
        })
        .await
    }
}
