//! The product's provisioning rules on user documents (docs/provisioning-rules.md, rules 1–3).

use crate::settings::TenantSettings;
use scim_proto::{ScimError, ScimResult};
use serde_json::Value;

/// Which write a rule is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// POST /Users.
    Create,
    /// PUT /Users/{id}.
    Replace,
    /// PATCH /Users/{id}.
    Patch,
}

fn non_blank(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty())
}

/// Checks a user document as it would be stored after the write:
///
/// - rule 1: a POST or PUT must carry at least one email with a non-blank `value`
///   (400 invalidValue);
/// - rule 2: every write must leave `name.givenName` and `name.familyName` non-blank
///   (400 invalidValue);
/// - rule 3: a POST with `active` false is refused (400 invalidValue) when the tenant's
///   `refuseInactiveCreate` is on.
pub fn check_user(doc: &Value, settings: &TenantSettings, write: Write) -> ScimResult<()> {
    if matches!(write, Write::Create | Write::Replace) {
        let has_email = doc
            .get("emails")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|e| non_blank(e.get("value"))));
        if !has_email {
            return Err(ScimError::invalid_value(
                "an email address is required: send at least one entry in 'emails' with a non-empty 'value' (map the user's mail attribute to emails[type eq \"work\"].value)",
            ));
        }
    }
    let name = doc.get("name");
    let mut missing = vec![];
    if !non_blank(name.and_then(|n| n.get("givenName"))) {
        missing.push("name.givenName");
    }
    if !non_blank(name.and_then(|n| n.get("familyName"))) {
        missing.push("name.familyName");
    }
    if !missing.is_empty() {
        return Err(ScimError::invalid_value(format!(
            "{} must not be blank: every user needs a given name and a family name",
            missing.join(" and ")
        )));
    }
    if write == Write::Create
        && settings.refuse_inactive_create
        && doc.get("active").and_then(Value::as_bool) == Some(false)
    {
        return Err(ScimError::invalid_value(
            "inactive users cannot be provisioned: this tenant refuses a POST with active false (setting refuseInactiveCreate); create the user active, or turn the setting off",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok_doc() -> Value {
        json!({"userName": "a", "name": {"givenName": "A", "familyName": "B"}, "emails": [{"value": "a@x"}], "active": true})
    }

    #[test]
    fn complete_user_passes() {
        assert!(check_user(&ok_doc(), &TenantSettings::default(), Write::Create).is_ok());
    }

    #[test]
    fn email_required_on_create_and_replace_only() {
        let mut d = ok_doc();
        d.as_object_mut().unwrap().remove("emails");
        let s = TenantSettings::default();
        assert_eq!(check_user(&d, &s, Write::Create).unwrap_err().status, 400);
        assert_eq!(check_user(&d, &s, Write::Replace).unwrap_err().status, 400);
        assert!(check_user(&d, &s, Write::Patch).is_ok());
        d["emails"] = json!([{"value": "  "}]);
        assert!(check_user(&d, &s, Write::Create).is_err());
    }

    #[test]
    fn names_required_everywhere() {
        let s = TenantSettings::default();
        for w in [Write::Create, Write::Replace, Write::Patch] {
            let mut d = ok_doc();
            d["name"]["familyName"] = json!("");
            let e = check_user(&d, &s, w).unwrap_err();
            assert!(e.detail.contains("name.familyName"), "{}", e.detail);
        }
    }

    #[test]
    fn inactive_create_follows_setting() {
        let mut d = ok_doc();
        d["active"] = json!(false);
        let mut s = TenantSettings::default();
        assert!(check_user(&d, &s, Write::Create)
            .unwrap_err()
            .detail
            .contains("inactive"));
        assert!(check_user(&d, &s, Write::Patch).is_ok());
        s.refuse_inactive_create = false;
        assert!(check_user(&d, &s, Write::Create).is_ok());
    }
}
