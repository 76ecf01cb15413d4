//! The product's provisioning rules on user documents (docs/provisioning-rules.md, rules 1–3).

use crate::settings::TenantSettings;
use scim_proto::{ScimError, ScimResult};
use serde_json::Value;

/// Which write a rule is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write<'a> {
    /// POST /Users (and an administrator's create).
    Create,
    /// PUT /Users/{id}.
    Replace,
    /// PATCH /Users/{id}, over the stored document `before`.
    Patch {
        /// The stored document the PATCH started from.
        before: &'a Value,
    },
}

fn non_blank(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty())
}

/// Whether a user document has at least one email with a non-blank `value`.
fn has_email(doc: &Value) -> bool {
    doc.get("emails")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|e| non_blank(e.get("value"))))
}

/// Checks a user document as it would be stored after the write (callers check it also as
/// it would be if the request's blank values cleared what they name, so that rules 1 and 2
/// hold whatever the tenant's `blankValuePolicy` says):
///
/// - rule 1: a POST or PUT must carry at least one email with a non-blank `value`, and a
///   PATCH must not leave a user that had one without (400 invalidValue);
/// - rule 2: every write must leave `name.givenName` and `name.familyName` present and not
///   empty or whitespace-only (400 invalidValue naming the sub-attribute);
/// - rule 3: a POST with `active` false is refused (400 invalidValue) when the tenant's
///   `refuseInactiveCreate` is on.
pub fn check_user(doc: &Value, settings: &TenantSettings, write: Write<'_>) -> ScimResult<()> {
    let email_required = match write {
        Write::Create | Write::Replace => true,
        Write::Patch { before } => has_email(before),
    };
    if email_required && !has_email(doc) {
        let detail = match write {
            Write::Patch { .. } => "an email address is required: this request would leave the user without one; keep at least one entry in 'emails' with a non-empty 'value'",
            _ => "an email address is required: send at least one entry in 'emails' with a non-empty 'value' (map the user's mail attribute to emails[type eq \"work\"].value)",
        };
        return Err(ScimError::invalid_value(detail));
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
            "{} must not be missing, empty or blank: every user needs a given name and a family name",
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
    fn email_required_on_create_and_replace_and_kept_by_patch() {
        let mut d = ok_doc();
        d.as_object_mut().unwrap().remove("emails");
        let s = TenantSettings::default();
        assert_eq!(check_user(&d, &s, Write::Create).unwrap_err().status, 400);
        assert_eq!(check_user(&d, &s, Write::Replace).unwrap_err().status, 400);
        let had = ok_doc();
        let e = check_user(&d, &s, Write::Patch { before: &had }).unwrap_err();
        assert!(
            e.detail.contains("would leave the user without one"),
            "{}",
            e.detail
        );
        // A PATCH of a user that had no email does not make it worse.
        assert!(check_user(&d, &s, Write::Patch { before: &d }).is_ok());
        d["emails"] = json!([{"value": "  "}]);
        assert!(check_user(&d, &s, Write::Create).is_err());
    }

    #[test]
    fn names_required_everywhere() {
        let s = TenantSettings::default();
        let before = ok_doc();
        for w in [
            Write::Create,
            Write::Replace,
            Write::Patch { before: &before },
        ] {
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
        assert!(check_user(&d, &s, Write::Patch { before: &d }).is_ok());
        s.refuse_inactive_create = false;
        assert!(check_user(&d, &s, Write::Create).is_ok());
    }
}
