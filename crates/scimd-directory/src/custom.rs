//! A tenant's custom user attributes: one extension schema per tenant, whose URN is a
//! tenant setting (default `urn:ietf:params:scim:schemas:extension:scimd:2.0:User`).

use scim_proto::schema::{AttrType, AttributeDef, Schema};
use std::sync::Arc;

/// The data type of a custom attribute: a closed set of RFC 7643 §2.3 types, all
/// single-valued (`complex`, `binary` and `reference` are not offered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomType {
    /// `string`.
    String,
    /// `boolean`.
    Boolean,
    /// `integer`.
    Integer,
    /// `decimal`.
    Decimal,
    /// `dateTime` (RFC 3339).
    DateTime,
}

impl CustomType {
    /// Every type, in the order forms and messages list them.
    pub const ALL: [CustomType; 5] = [
        CustomType::String,
        CustomType::Boolean,
        CustomType::Integer,
        CustomType::Decimal,
        CustomType::DateTime,
    ];

    /// The type's RFC 7643 name: `string`, `boolean`, `integer`, `decimal`, `dateTime` (also
    /// how it is stored).
    pub fn as_str(self) -> &'static str {
        self.attr_type().as_str()
    }

    /// Parses a type name, ignoring case.
    pub fn parse(s: &str) -> Option<CustomType> {
        CustomType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }

    /// The SCIM attribute type.
    pub fn attr_type(self) -> AttrType {
        match self {
            CustomType::String => AttrType::String,
            CustomType::Boolean => AttrType::Boolean,
            CustomType::Integer => AttrType::Integer,
            CustomType::Decimal => AttrType::Decimal,
            CustomType::DateTime => AttrType::DateTime,
        }
    }

    /// The names of every type, for messages (`string, boolean, ...`).
    pub fn names() -> String {
        CustomType::ALL.map(CustomType::as_str).join(", ")
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
pub fn custom_schema(urn: &str, attrs: &[(String, CustomType)]) -> Arc<Schema> {
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
                    t.attr_type(),
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
        // An ATTRNAME (RFC 7643 §2.1) of at most 64 characters.
        for name in ["costCode", "cost_code-2"] {
            assert!(check_name(name).is_ok(), "{name:?} is accepted");
        }
        for name in ["2cost", "cost code", "", "coût", "a".repeat(65).as_str()] {
            assert!(check_name(name).is_err(), "{name:?} is refused");
        }
    }

    #[test]
    fn types() {
        assert_eq!(CustomType::parse("dateTime"), Some(CustomType::DateTime));
        assert_eq!(CustomType::parse("STRING"), Some(CustomType::String));
        assert_eq!(CustomType::parse("complex"), None);
        assert_eq!(CustomType::DateTime.as_str(), "dateTime");
        assert_eq!(
            CustomType::names(),
            "string, boolean, integer, decimal, dateTime"
        );
    }
}
