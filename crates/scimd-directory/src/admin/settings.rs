//! Administrator operations on a tenant's settings ([`TenantSettings`]).

use crate::changes::{commit_recorded, diff_plain, target, AuditAction, Recorder, SUCCEEDED};
use crate::directory::{Directory, Origin};
use crate::error::{DirectoryError, DirectoryResult};
use crate::settings::{parse_blank_policy, TenantSettings};
use crate::store::ExtensionEdit;
use scim_proto::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use serde_json::Value;

impl Directory {
    /// The tenant's settings.
    pub async fn get_settings(&self, tenant: &str) -> DirectoryResult<TenantSettings> {
        let mut tx = self.store().read().await?;
        Ok(self.tenant_settings(tx.as_mut(), tenant).await?)
    }

    /// Changes some settings (a JSON object with any of the keys). 400 for an unknown key,
    /// a value of the wrong type, a `blankValuePolicy` other than `ignore`/`clear`, or a
    /// `customSchemaUrn` that is not a URN or is a standard schema's. Changing the URN moves
    /// stored custom values to the new URN. Recorded under `by` (audit action
    /// `settings.update`, the settings before and after).
    pub async fn update_settings(
        &self,
        by: &Origin,
        patch: &Value,
    ) -> DirectoryResult<TenantSettings> {
        let tenant = by.tenant_id.as_str();
        let obj = patch.as_object().ok_or_else(|| {
            DirectoryError::Invalid("the settings body must be a JSON object".into())
        })?;
        let mut tx = self.store().write().await?;
        // Locked until the commit: a concurrent update starts from this one's result.
        let old = TenantSettings::of_tenant(tx.tenant_for_update(tenant).await?.as_ref());
        let mut s = old.clone();
        for (k, v) in obj {
            match k.as_str() {
                "customSchemaUrn" => {
                    let u = v.as_str().ok_or_else(|| DirectoryError::Invalid("customSchemaUrn must be a string".into()))?.trim();
                    let ok = u.len() > 4
                        && u.len() <= 200
                        && u.as_bytes()[..4].eq_ignore_ascii_case(b"urn:")
                        && !u.contains(|c: char| c.is_whitespace() || c.is_control())
                        && !u.ends_with(':')
                        && ![USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA].iter().any(|x| x.eq_ignore_ascii_case(u));
                    if !ok {
                        let n = u.chars().count();
                        let mut shown: String = u.chars().take(80).collect();
                        if n > 80 {
                            shown.push('…');
                        }
                        return Err(DirectoryError::Invalid(format!(
                            "customSchemaUrn '{shown}' ({n} characters) is not usable: give a URN of at most 200 characters such as urn:ietf:params:scim:schemas:extension:<company>:2.0:User, without spaces or control characters, not ending with ':', other than the core and enterprise schema URNs"
                        )));
                    }
                    s.custom_schema_urn = u.to_string();
                }
                "blankValuePolicy" => {
                    s.blank_value_policy = v.as_str().and_then(parse_blank_policy).ok_or_else(|| {
                        DirectoryError::Invalid("blankValuePolicy must be \"ignore\" or \"clear\"".into())
                    })?
                }
                "refuseInactiveCreate" => {
                    s.refuse_inactive_create = v.as_bool().ok_or_else(|| DirectoryError::Invalid("refuseInactiveCreate must be true or false".into()))?
                }
                other => {
                    return Err(DirectoryError::Invalid(format!(
                        "unknown setting '{other}': the settings are customSchemaUrn, blankValuePolicy and refuseInactiveCreate"
                    )))
                }
            }
        }
        // The tenant's row before its other rows: its lock (taken by the read above) comes
        // before the share lock the store takes when this transaction changes the tenant's
        // other rows, so two settings updates wait for each other, never deadlock.
        tx.update_tenant_settings(tenant, &s.to_json()).await?;
        if s.custom_schema_urn != old.custom_schema_urn {
            let (old, new) = (&old.custom_schema_urn, &s.custom_schema_urn);
            tx.edit_extension_values(tenant, ExtensionEdit::Rename { old, new })
                .await?;
        }
        let recorder = Recorder::new(by);
        let action = AuditAction::SettingsUpdate;
        let mut r = recorder.action(action, target::SETTINGS, None, None, SUCCEEDED);
        r.changes = diff_plain(&old.to_json(), &s.to_json());
        commit_recorded(tx, &r).await?;
        Ok(s)
    }
}
