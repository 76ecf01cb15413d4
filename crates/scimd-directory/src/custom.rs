//! A tenant's custom user attributes: one extension schema per tenant, whose URN is a
//! tenant setting (default `urn:ietf:params:scim:schemas:extension:scimd:2.0:User`).

use scim_proto::schema::{AttrType, AttributeDef, Schema};
use std::sync::Arc;

/// Data types a custom attribute may have.
pub const CUSTOM_TYPES: &[&str] = &["string", "boolean", "integer", "decimal", "dateTime"];

/// Maps a type name (case-insensitive) to its SCIM type.
pub fn parse_type(s: &str) -> Option<AttrType> {
    match s.to_ascii_lowercase().as_str() {
        "string" => Some(AttrType::String),
        "boolean" => Some(AttrType::Boolean),
        "integer" => Some(AttrType::Integer),
        "decimal" => Some(AttrType::Decimal),
        "datetime" => Some(AttrType::DateTime),
        _ => None,
    }
}

/// Checks a name against RFC 7643 §2.1 `ATTRNAME = ALPHA *(nameChar)`,
/// `nameChar = "-" / "_" / DIGIT / ALPHA`, at most 64 characters.
/// Returns a message a person can act on when it does not conform.
pub fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("an attribute name is required".into()),
        Some(c) if !c.is_ascii_alphabetic() => {
            return Err(format!(
                "attribute name '{name}' must start with a letter (A-Z, a-z)"
            ))
        }
        _ => {}
    }
    if let Some(bad) = chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        return Err(format!(
            "attribute name '{name}' contains '{bad}': use only letters, digits, '-' and '_' (RFC 7643 ATTRNAME)"
        ));
    }
    if name.len() > 64 {
        return Err(format!(
            "attribute name '{name}' is longer than 64 characters"
        ));
    }
    Ok(())
}

/// The tenant's custom extension schema at `urn` with `(name, type)` attributes, all
/// single-valued, readWrite, not caseExact.
pub fn custom_schema(urn: &str, attrs: &[(String, AttrType)]) -> Arc<Schema> {
    Arc::new(Schema {
        id: urn.to_string(),
        name: "CustomUser".to_string(),
        description: "Custom user attributes registered by this tenant's administrators"
            .to_string(),
        attributes: attrs
            .iter()
            .map(|(n, t)| {
                AttributeDef::new(
                    n.clone(),
                    *t,
                    format!("Custom attribute {n} (registered by an administrator)"),
                )
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attrname_rules() {
        assert!(check_name("costCode").is_ok());
        assert!(check_name("cost_code-2").is_ok());
        assert!(check_name("2cost").is_err());
        assert!(check_name("cost code").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("coût").is_err());
        assert!(check_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn types() {
        assert_eq!(parse_type("dateTime"), Some(AttrType::DateTime));
        assert_eq!(parse_type("STRING"), Some(AttrType::String));
        assert_eq!(parse_type("complex"), None);
    }
}
