//! Administrator operations on a tenant's custom attributes (one extension schema per
//! tenant, see [`crate::custom`]).

use super::model::{CustomAttribute, CustomSchema};
use crate::changes::{commit_recorded, target, AuditAction, Recorder, Rule, SUCCEEDED};
use crate::custom::{self, CustomType};
use crate::directory::{Directory, Origin};
use crate::error::{not_found, on_conflict, DirectoryError, DirectoryResult};
use crate::render;
use crate::settings::TenantSettings;
use crate::store::{
    AttributeRow, Change, ConflictTarget, ExtensionEdit, StoreError, StoreResult, Tx,
};
use crate::vocabulary::{LogOutcome, ResourceType};
use serde_json::Value;

/// The view of a stored attribute definition under `urn`, with `users_with_value` when
/// counted. Errors: a stored type outside the vocabulary.
fn custom_attribute(
    a: &AttributeRow,
    urn: &str,
    users_with_value: Option<u64>,
) -> StoreResult<CustomAttribute> {
    let ty = CustomType::parse(&a.ty).ok_or_else(|| {
        StoreError::Backend(format!(
            "custom attribute '{}' has an unknown type '{}'",
            a.name, a.ty
        ))
    })?;
    Ok(CustomAttribute {
        name: a.name.clone(),
        ty,
        schema_urn: urn.to_string(),
        created: a.created,
        users_with_value,
    })
}

impl Directory {
    /// The tenant's settings (its custom schema URN among them) and its custom attribute
    /// definitions in registration order, read in `tx`.
    pub(crate) async fn attribute_rows(
        &self,
        tx: &mut dyn Tx,
        tenant: &str,
    ) -> StoreResult<(TenantSettings, Vec<AttributeRow>)> {
        let settings = self.tenant_settings(tx, tenant).await?;
        Ok((settings, tx.list_attributes(tenant).await?))
    }

    /// The tenant's custom schema URN and its attribute `name` (ignoring case), read in
    /// `tx`. Errors: 404 when there is none.
    async fn find_attribute(
        &self,
        tx: &mut dyn Tx,
        tenant: &str,
        name: &str,
    ) -> DirectoryResult<(String, AttributeRow)> {
        let (settings, attrs) = self.attribute_rows(tx, tenant).await?;
        let a = attrs
            .into_iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| not_found("custom attribute", name))?;
        Ok((settings.custom_schema_urn, a))
    }

    /// The tenant's custom attributes in registration order, each with how many users hold a
    /// value for it.
    pub async fn list_attributes(&self, tenant: &str) -> DirectoryResult<Vec<CustomAttribute>> {
        let mut tx = self.store().read().await?;
        let (settings, attrs) = self.attribute_rows(tx.as_mut(), tenant).await?;
        let urn = settings.custom_schema_urn;
        let mut out = Vec::with_capacity(attrs.len());
        for a in &attrs {
            let n = tx.count_extension_values(tenant, &urn, &a.name).await?;
            out.push(custom_attribute(a, &urn, Some(n))?);
        }
        Ok(out)
    }

    /// The tenant's custom schema URN and attributes in registration order, without
    /// counting values (for pages that must stay fast on large tenants).
    pub async fn custom_schema(&self, tenant: &str) -> DirectoryResult<CustomSchema> {
        let mut tx = self.store().read().await?;
        let (settings, attrs) = self.attribute_rows(tx.as_mut(), tenant).await?;
        let urn = settings.custom_schema_urn;
        let attributes = attrs
            .iter()
            .map(|a| custom_attribute(a, &urn, None))
            .collect::<StoreResult<_>>()?;
        Ok(CustomSchema { urn, attributes })
    }

    /// The custom attribute named `name` (ignoring case), with how many users hold a value
    /// for it. Errors: 404 when there is none.
    pub async fn custom_attribute(
        &self,
        tenant: &str,
        name: &str,
    ) -> DirectoryResult<CustomAttribute> {
        let mut tx = self.store().read().await?;
        let (urn, a) = self.find_attribute(tx.as_mut(), tenant, name).await?;
        let n = tx.count_extension_values(tenant, &urn, &a.name).await?;
        Ok(custom_attribute(&a, &urn, Some(n))?)
    }

    /// Registers a custom attribute of type `ty` (default `string`; case-insensitive) in
    /// the tenant's custom extension schema, recorded under `by` (audit action
    /// `attribute.create`). Errors: 400 for a name that breaks RFC 7643 ATTRNAME or an
    /// unknown type; 409 for a duplicate (ignoring case). A name that a core or enterprise
    /// attribute also has is allowed: it lives under the custom schema URN, so the two
    /// never collide.
    pub async fn create_attribute(
        &self,
        by: &Origin,
        name: &str,
        ty: Option<&str>,
    ) -> DirectoryResult<CustomAttribute> {
        let tenant = by.tenant_id.as_str();
        let name = name.trim();
        custom::check_name(name).map_err(DirectoryError::Invalid)?;
        let ty = ty.unwrap_or(CustomType::String.as_str());
        let Some(t) = CustomType::parse(ty) else {
            return Err(DirectoryError::Invalid(format!(
                "unknown attribute type '{ty}': use one of {}",
                CustomType::names()
            )));
        };
        let mut tx = self.store().write().await?;
        let settings = self.tenant_settings(tx.as_mut(), tenant).await?;
        let row = AttributeRow {
            tenant_id: tenant.to_string(),
            name: name.to_string(),
            ty: t.as_str().to_string(),
            created: render::now(),
        };
        let res = tx.insert_attribute(&row).await;
        on_conflict(res, ConflictTarget::AttributeName, || {
            DirectoryError::Conflict(format!(
                "a custom attribute named '{name}' already exists (names are compared ignoring case)"
            ))
        })?;
        let recorder = Recorder::new(by);
        let action = AuditAction::AttributeCreate;
        let mut r = recorder.action(action, target::ATTRIBUTE, None, Some(name), SUCCEEDED);
        let urn = Value::String(settings.custom_schema_urn.clone());
        r.changes = vec![
            Change::new("type", None, Some(Value::String(row.ty.clone()))),
            Change::new("schema", None, Some(urn)),
        ];
        commit_recorded(tx, &r).await?;
        Ok(custom_attribute(
            &row,
            &settings.custom_schema_urn,
            Some(0),
        )?)
    }

    /// Deletes a custom attribute and removes its values from every user; returns how many
    /// users held one. Recorded under `by`: audit action `attribute.delete`, and for each
    /// user that held a value a record of rule `attribute-delete-removes-values` with the
    /// value removed. Errors: 404 when absent.
    pub async fn delete_attribute(&self, by: &Origin, name: &str) -> DirectoryResult<u64> {
        let tenant = by.tenant_id.as_str();
        let mut tx = self.store().write().await?;
        let (urn, a) = self.find_attribute(tx.as_mut(), tenant, name).await?;
        let strip = ExtensionEdit::Strip {
            urn: &urn,
            name: &a.name,
        };
        let edited = tx.edit_extension_values(tenant, strip).await?;
        tx.delete_attribute(tenant, &a.name).await?;
        let recorder = Recorder::new(by);
        let action = AuditAction::AttributeDelete;
        let mut r = recorder.action(action, target::ATTRIBUTE, None, Some(&a.name), SUCCEEDED);
        r.changes = vec![Change::new("type", Some(Value::String(a.ty.clone())), None)];
        r.detail = Some(format!("removed its values from {} user(s)", edited.len()));
        tx.insert_record(&r).await?;
        let attribute = format!("{urn}:{}", a.name);
        for u in &edited {
            let rule = Rule::AttributeDeleteRemovesValues;
            let (user, id, name) = (ResourceType::User, &u.id, &u.user_name);
            let mut v = recorder.rule(rule, user, id, name, LogOutcome::Updated);
            v.changes = vec![Change::new(attribute.clone(), u.before.clone(), None)];
            tx.insert_record(&v).await?;
        }
        tx.commit().await?;
        Ok(edited.len() as u64)
    }
}
