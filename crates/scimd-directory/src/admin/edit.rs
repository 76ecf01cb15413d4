//! What an administrator's edit of a local user may name: the body of
//! `PATCH /api/v1/users/{id}` (and the portal's edit form) is a JSON object of SCIM
//! attribute names to set, checked here strictly, before anything is applied. Unlike a
//! SCIM PATCH from an identity provider (which ignores unknown and readOnly attributes
//! with a warning, because Entra ID sends them at every cycle), an administrator's edit
//! refuses them: a value the administrator typed is never silently dropped.

use scim_proto::path::AttrPath;
use scim_proto::schema::{AttrType, AttributeDef, Mutability, ResourceSchema};
use scim_proto::{ScimError, ScimResult};
use serde_json::{Map, Value};

/// Checks the keys of an edit body against the User resource type `schema`:
///
/// - each top-level key is a core attribute name (any case; `externalId` included), an
///   attribute path such as `name.givenName` or `urn:…:enterprise:2.0:User:department`,
///   or a registered extension schema URN whose value is an object of that extension's
///   attribute names;
/// - complex values (objects, and the objects of multi-valued attributes) name only their
///   sub-attributes.
///
/// Errors (400, nothing changed): `invalidValue` for a body that is not an object, for
/// `schemas` (derived from the attributes set) and `password` (scimd stores no
/// passwords); `invalidPath` for an unknown attribute, sub-attribute or schema URN;
/// `mutability` for a readOnly attribute (`id`, `meta`, `groups`, `manager.displayName`,
/// `manager.$ref`). Types are checked when the values are applied.
pub fn check_edit(body: &Value, schema: &ResourceSchema) -> ScimResult<()> {
    let obj = body.as_object().ok_or_else(|| {
        ScimError::invalid_value(
            "the body must be a JSON object of SCIM attribute names to set, e.g. {\"displayName\": \"Ada Lovelace\", \"active\": false}",
        )
    })?;
    if obj.is_empty() {
        return Err(ScimError::invalid_value(
            "the body names no attribute: give the SCIM attributes to set, e.g. {\"active\": false}",
        ));
    }
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            return Err(ScimError::invalid_value(
                "'schemas' cannot be set: it follows from the attributes the user has",
            ));
        }
        if key.eq_ignore_ascii_case("password") {
            return Err(ScimError::invalid_value(
                "'password' cannot be set: scimd stores no passwords (users sign in through the identity provider)",
            ));
        }
        if let Some(ext) = schema.extension(key) {
            let Some(inner) = value.as_object() else {
                return Err(ScimError::invalid_value(format!(
                    "the value of '{key}' must be an object of that schema's attributes"
                )));
            };
            for (name, v) in inner {
                let attr = ext.schema.attr(name).ok_or_else(|| {
                    ScimError::invalid_path(format!(
                        "unknown attribute '{name}' of schema {key}: its attributes are {}",
                        names(&ext.schema.attributes)
                    ))
                })?;
                check_attr(&format!("{key}:{}", attr.name), attr, v)?;
            }
            continue;
        }
        let path = AttrPath::parse(key).map_err(|_| unknown(key))?;
        let r = schema.resolve_any(&path).ok_or_else(|| unknown(key))?;
        let shown = match r.sub {
            Some(s) => format!("{}.{}", r.attr.name, s.name),
            None => r.attr.name.clone(),
        };
        match r.sub {
            Some(sub) => check_attr(&shown, sub, value)?,
            None => check_attr(&shown, r.attr, value)?,
        }
    }
    Ok(())
}

/// Checks the body of an administrator's create (`POST /api/v1/users`, the portal's new-user
/// form) as strictly as an edit ([`check_edit`]), and answers it without `schemas`: a body
/// copied from a SCIM User may keep its `schemas`, provided that every URN it lists is the
/// core User schema or an extension of the tenant (they follow from the attributes given).
///
/// Errors (400, nothing created): those of [`check_edit`]; `invalidValue` for a `schemas`
/// that is not an array of strings or lists another URN.
pub fn check_create(body: &Value, schema: &ResourceSchema) -> ScimResult<Value> {
    let mut body = body.clone();
    let Some(obj) = body.as_object_mut() else {
        return check_edit(&body, schema).map(|()| body);
    };
    if let Some(key) = obj
        .keys()
        .find(|k| k.eq_ignore_ascii_case("schemas"))
        .cloned()
    {
        let listed = obj.remove(&key).unwrap_or_default();
        let known: Vec<&str> = schema.schemas().map(|s| s.id.as_str()).collect();
        let urns = listed.as_array().filter(|a| a.iter().all(Value::is_string));
        let Some(urns) = urns else {
            return Err(ScimError::invalid_value(format!(
                "'schemas' must be an array of schema URNs (it may be left out), got {listed}"
            )));
        };
        for u in urns.iter().filter_map(Value::as_str) {
            if !known.iter().any(|k| k.eq_ignore_ascii_case(u)) {
                return Err(ScimError::invalid_value(format!(
                    "'schemas' lists {u}, which is not a schema of this tenant's users: give {} (or leave 'schemas' out)",
                    known.join(", ")
                )));
            }
        }
    }
    // An empty body is refused by the validation that follows, for its missing userName.
    if !body.as_object().is_some_and(Map::is_empty) {
        check_edit(&body, schema)?;
    }
    Ok(body)
}

fn unknown(key: &str) -> ScimError {
    ScimError::invalid_path(format!(
        "unknown attribute '{key}': give SCIM User attribute names (userName, name, displayName, emails, active, ...) or an extension schema URN with an object of its attributes"
    ))
}

fn names(attrs: &[AttributeDef]) -> String {
    let v: Vec<&str> = attrs.iter().map(|a| a.name.as_str()).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// Checks that `attr` (shown as `shown`) may be set, and that a complex `value` names only
/// sub-attributes that may be set.
fn check_attr(shown: &str, attr: &AttributeDef, value: &Value) -> ScimResult<()> {
    if attr.mutability == Mutability::ReadOnly {
        return Err(ScimError::mutability(format!(
            "'{shown}' is readOnly: the server sets it"
        )));
    }
    if attr.ty != AttrType::Complex {
        return Ok(());
    }
    let elements: Vec<&Map<String, Value>> = match value {
        Value::Object(o) => vec![o],
        Value::Array(a) => a.iter().filter_map(Value::as_object).collect(),
        _ => vec![],
    };
    for o in elements {
        for k in o.keys() {
            let sub = attr.sub(k).ok_or_else(|| {
                ScimError::invalid_path(format!(
                    "unknown sub-attribute '{shown}.{k}': its sub-attributes are {}",
                    names(&attr.sub_attributes)
                ))
            })?;
            if sub.mutability == Mutability::ReadOnly {
                return Err(ScimError::mutability(format!(
                    "'{shown}.{}' is readOnly: the server sets it",
                    sub.name
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_proto::schema::{user_resource_schema, ENTERPRISE_USER_SCHEMA};
    use scim_proto::ScimType;
    use serde_json::json;

    fn kind(body: Value) -> Option<ScimType> {
        let s = user_resource_schema(vec![]);
        check_edit(&body, &s).err().map(|e| e.scim_type.unwrap())
    }

    #[test]
    fn settable_attributes_pass() {
        assert_eq!(kind(json!({"displayName": "A", "ACTIVE": false})), None);
        assert_eq!(kind(json!({"name": {"givenName": "A"}})), None);
        assert_eq!(kind(json!({"name.familyName": "B"})), None);
        assert_eq!(
            kind(json!({"emails": [{"value": "a@x", "type": "work"}]})),
            None
        );
        assert_eq!(kind(json!({"externalId": "e", "userName": "u"})), None);
        assert_eq!(
            kind(json!({ENTERPRISE_USER_SCHEMA: {"department": "D", "manager": {"value": "x"}}})),
            None
        );
        assert_eq!(
            kind(json!({format!("{ENTERPRISE_USER_SCHEMA}:department"): "D"})),
            None
        );
    }

    #[test]
    fn refused_keys() {
        assert_eq!(kind(json!([])), Some(ScimType::InvalidValue));
        assert_eq!(kind(json!({})), Some(ScimType::InvalidValue));
        assert_eq!(kind(json!({"schemas": []})), Some(ScimType::InvalidValue));
        assert_eq!(kind(json!({"password": "x"})), Some(ScimType::InvalidValue));
        assert_eq!(kind(json!({"nope": 1})), Some(ScimType::InvalidPath));
        assert_eq!(
            kind(json!({"name": {"middle": "x"}})),
            Some(ScimType::InvalidPath)
        );
        assert_eq!(
            kind(json!({"emails": [{"valu": "x"}]})),
            Some(ScimType::InvalidPath)
        );
        assert_eq!(
            kind(json!({"urn:example:unknown:2.0:User": {"a": 1}})),
            Some(ScimType::InvalidPath)
        );
        assert_eq!(
            kind(json!({ENTERPRISE_USER_SCHEMA: {"dept": "D"}})),
            Some(ScimType::InvalidPath)
        );
        for ro in [
            json!({"id": "x"}),
            json!({"meta": {}}),
            json!({"groups": []}),
        ] {
            assert_eq!(kind(ro), Some(ScimType::Mutability));
        }
        assert_eq!(
            kind(json!({ENTERPRISE_USER_SCHEMA: {"manager": {"displayName": "x"}}})),
            Some(ScimType::Mutability)
        );
        let s = user_resource_schema(vec![]);
        let e = check_edit(&json!({"nope": 1}), &s).unwrap_err();
        assert!(e.detail.contains("'nope'"), "{}", e.detail);
    }
}
