//! Rendering stored records as SCIM resources (RFC 7643 §3.1 common attributes, `meta`).

use crate::store::{GroupRecord, MemberRow, UserRecord, UserState};
use crate::vocabulary::ResourceType;
use scim_proto::schema::{ResourceSchema, GROUP_SCHEMA, USER_SCHEMA};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// RFC 3339 text of a timestamp, in UTC.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// The current time, truncated to the microsecond the stores keep, so a resource reads back
/// with the timestamps its write answered.
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000)
        .unwrap_or(t)
}

/// The weak entity tag of a version: `W/"<version>"` (RFC 7644 §3.14).
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// Whether an `If-Match` header value (`*`, or a comma-separated list of entity tags,
/// weak or strong) matches `version`.
pub fn if_match_ok(header: &str, version: i64) -> bool {
    let want = version.to_string();
    header.split(',').map(str::trim).any(|t| {
        if t == "*" {
            return true;
        }
        let t = t
            .strip_prefix("W/")
            .or_else(|| t.strip_prefix("w/"))
            .unwrap_or(t);
        t.trim_matches('"') == want
    })
}

/// Starts a rendered resource: `schemas` (the core URN, then every extension URN whose key
/// holds a non-empty object), `id`, then the canonical document's attributes.
fn start(core_urn: &str, id: &str, doc: &Value, schema: &ResourceSchema) -> Map<String, Value> {
    let mut schemas = vec![Value::String(core_urn.to_string())];
    let mut attrs = Map::new();
    if let Some(obj) = doc.as_object() {
        for (k, v) in obj {
            if let Some(ext) = schema.extension(k) {
                if v.as_object().is_some_and(|o| !o.is_empty()) {
                    schemas.push(Value::String(ext.schema.id.clone()));
                    attrs.insert(ext.schema.id.clone(), v.clone());
                }
                continue;
            }
            attrs.insert(k.clone(), v.clone());
        }
    }
    let mut out = Map::new();
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::String(id.to_string()));
    out.extend(attrs);
    out
}

/// The rendered resource `out` ended with its `meta` (RFC 7643 §3.1): the resource `id`,
/// located at `{base_url}/{endpoint}/{id}`.
fn with_meta(
    mut out: Map<String, Value>,
    resource_type: ResourceType,
    (base_url, id): (&str, &str),
    (created, modified): (OffsetDateTime, OffsetDateTime),
    version: i64,
) -> Value {
    let meta = json!({
        "resourceType": resource_type.as_str(),
        "created": rfc3339(created),
        "lastModified": rfc3339(modified),
        "location": format!("{base_url}/{}/{id}", resource_type.endpoint()),
        "version": etag(version),
    });
    out.insert("meta".into(), meta);
    Value::Object(out)
}

/// Renders a user: schemas, id, the document, `active` from its state, `groups`
/// (`(group id, displayName)`), the enterprise `manager` completed with `$ref` and
/// `displayName` from `names` (user id → display name), and `meta`.
pub fn user(
    u: &UserRecord,
    schema: &ResourceSchema,
    base_url: &str,
    groups: &[(String, String)],
    names: &HashMap<String, String>,
) -> Value {
    let mut out = start(USER_SCHEMA, &u.id, &u.doc, schema);
    // `active` follows the state; a user whose `active` was never set (or was removed) and
    // who is active shows it unassigned, as RFC 7644 §3.5.2.2 has it after a remove.
    if u.doc.get("active").is_some() || u.state != UserState::Active {
        out.insert("active".into(), Value::Bool(u.state == UserState::Active));
    }
    if let Some(m) = out
        .get_mut(scim_proto::schema::ENTERPRISE_USER_SCHEMA)
        .and_then(|e| e.get_mut("manager"))
        .and_then(Value::as_object_mut)
    {
        if let Some(id) = m.get("value").and_then(Value::as_str).map(str::to_string) {
            m.insert(
                "$ref".into(),
                Value::String(format!("{base_url}/Users/{id}")),
            );
            if let Some(n) = names.get(&id) {
                m.insert("displayName".into(), Value::String(n.clone()));
            }
        }
    }
    if !groups.is_empty() {
        let gs: Vec<Value> = groups
            .iter()
            .map(|(id, name)| json!({"value": id, "$ref": format!("{base_url}/Groups/{id}"), "display": name, "type": "direct"}))
            .collect();
        out.insert("groups".into(), Value::Array(gs));
    }
    let times = (u.created, u.last_modified);
    with_meta(out, ResourceType::User, (base_url, &u.id), times, u.version)
}

/// Renders a group: schemas, id, the document, `members` when given, and `meta`.
pub fn group(
    g: &GroupRecord,
    schema: &ResourceSchema,
    base_url: &str,
    members: Option<&[MemberRow]>,
) -> Value {
    let mut out = start(GROUP_SCHEMA, &g.id, &g.doc, schema);
    if let Some(ms) = members {
        let v: Vec<Value> = ms
            .iter()
            .map(|m| {
                let ty = ResourceType::from(m.kind);
                let (coll, kind) = (ty.endpoint(), ty.as_str());
                let mut o = json!({"value": m.id, "$ref": format!("{base_url}/{coll}/{}", m.id), "type": kind});
                if let Some(d) = &m.display {
                    o["display"] = Value::String(d.clone());
                }
                o
            })
            .collect();
        out.insert("members".into(), Value::Array(v));
    }
    let times = (g.created, g.last_modified);
    with_meta(
        out,
        ResourceType::Group,
        (base_url, &g.id),
        times,
        g.version,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_forms() {
        assert!(if_match_ok("*", 3));
        assert!(if_match_ok("W/\"3\"", 3));
        assert!(if_match_ok("\"3\"", 3));
        assert!(if_match_ok("W/\"1\", W/\"3\"", 3));
        assert!(!if_match_ok("W/\"2\"", 3));
        assert!(!if_match_ok("", 3));
    }
}
