//! Per-tenant settings of the provisioning policy.

use scim_proto::patch::BlankPolicy;
use serde_json::{json, Value};

/// Default URN of a tenant's custom-attribute extension schema.
pub const DEFAULT_CUSTOM_SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:extension:scimd:2.0:User";

/// Both blank-value policies.
pub const BLANK_POLICIES: [BlankPolicy; 2] = [BlankPolicy::Ignore, BlankPolicy::Clear];

/// The name of a blank-value policy: `ignore` or `clear`.
pub fn blank_policy_name(p: BlankPolicy) -> &'static str {
    match p {
        BlankPolicy::Ignore => "ignore",
        BlankPolicy::Clear => "clear",
    }
}

/// Parses the names of [`blank_policy_name`] (exactly: the settings' stored values).
pub fn parse_blank_policy(s: &str) -> Option<BlankPolicy> {
    BLANK_POLICIES
        .into_iter()
        .find(|p| blank_policy_name(*p) == s)
}

/// A tenant's settings, stored as a JSON object (`customSchemaUrn`, `blankValuePolicy`
/// `ignore`|`clear`, `refuseInactiveCreate`). Unknown or missing keys take defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantSettings {
    /// URN of the custom-attribute extension.
    pub custom_schema_urn: String,
    /// What a blank value in a PUT or PATCH does.
    pub blank_value_policy: BlankPolicy,
    /// Whether a POST of a user with `active` false is refused.
    pub refuse_inactive_create: bool,
}

impl Default for TenantSettings {
    fn default() -> Self {
        TenantSettings {
            custom_schema_urn: DEFAULT_CUSTOM_SCHEMA_URN.to_string(),
            blank_value_policy: BlankPolicy::Ignore,
            refuse_inactive_create: true,
        }
    }
}

impl TenantSettings {
    /// The settings of tenant `t` (its `settings` column); the defaults when there is none.
    pub fn of_tenant(t: Option<&crate::store::TenantRow>) -> TenantSettings {
        t.map(|t| TenantSettings::from_json(&t.settings))
            .unwrap_or_default()
    }

    /// Reads settings from their JSON object; missing or malformed keys take defaults.
    pub fn from_json(v: &Value) -> TenantSettings {
        let d = TenantSettings::default();
        TenantSettings {
            custom_schema_urn: v
                .get("customSchemaUrn")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or(d.custom_schema_urn),
            blank_value_policy: v
                .get("blankValuePolicy")
                .and_then(Value::as_str)
                .and_then(parse_blank_policy)
                .unwrap_or(d.blank_value_policy),
            refuse_inactive_create: v
                .get("refuseInactiveCreate")
                .and_then(Value::as_bool)
                .unwrap_or(d.refuse_inactive_create),
        }
    }

    /// The JSON object stored in `tenants.settings`.
    pub fn to_json(&self) -> Value {
        json!({
            "customSchemaUrn": self.custom_schema_urn,
            "blankValuePolicy": blank_policy_name(self.blank_value_policy),
            "refuseInactiveCreate": self.refuse_inactive_create,
        })
    }
}
