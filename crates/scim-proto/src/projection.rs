//! `attributes` and `excludedAttributes` (RFC 7644 §3.9) applied to rendered resources.
//!
//! Entries name attributes in standard attribute notation (RFC 7644 §3.10):
//! `emails`, `emails.value`, `name.givenName`, `urn:...:enterprise:2.0:User:department`, or
//! a bare extension URN (`urn:...:enterprise:2.0:User`, which parses as uri
//! `urn:...:enterprise:2.0`, attr `User`) meaning the whole extension. Names match
//! case-insensitively; unqualified names refer to the core schema (or, when neither the core
//! schema nor the common attributes have the name, to the first extension that does);
//! names of unknown schemas are ignored. Characteristics (RFC 7643 §7 `returned`) come from
//! the schemas and, for `id`, `externalId` and `meta`, from
//! [`crate::schema::common_attribute`].

use crate::path::AttrPath;
use crate::schema::{common_attribute, AttributeDef, ResourceSchema, Returned, Schema};
use serde_json::{Map, Value};

/// One `attributes`/`excludedAttributes` entry resolved against the resource type, names
/// lower-cased.
#[derive(Debug, PartialEq)]
enum Target {
    /// A whole extension (lower-cased URN).
    Whole(String),
    /// An attribute: `ns` is `None` for core/common attributes, else the extension URN.
    Attr {
        ns: Option<String>,
        attr: String,
        sub: Option<String>,
    },
}

fn target(p: &AttrPath, rs: &ResourceSchema) -> Option<Target> {
    let attr = p.attr.to_lowercase();
    let sub = p.sub_attr.as_ref().map(|s| s.to_lowercase());
    match &p.uri {
        Some(u) => {
            if p.sub_attr.is_none() {
                if let Some(ext) = rs.extension(&format!("{u}:{}", p.attr)) {
                    return Some(Target::Whole(ext.schema.id.to_lowercase()));
                }
            }
            if u.eq_ignore_ascii_case(&rs.core.id) {
                return Some(Target::Attr {
                    ns: None,
                    attr,
                    sub,
                });
            }
            let ext = rs.extension(u)?;
            Some(Target::Attr {
                ns: Some(ext.schema.id.to_lowercase()),
                attr,
                sub,
            })
        }
        None => {
            if rs.core.attr(&p.attr).is_none() && common_attribute(&p.attr).is_none() {
                if let Some(ext) = rs
                    .extensions
                    .iter()
                    .find(|e| e.schema.attr(&p.attr).is_some())
                {
                    return Some(Target::Attr {
                        ns: Some(ext.schema.id.to_lowercase()),
                        attr,
                        sub,
                    });
                }
            }
            Some(Target::Attr {
                ns: None,
                attr,
                sub,
            })
        }
    }
}

fn targets(paths: &[AttrPath], rs: &ResourceSchema) -> Vec<Target> {
    paths.iter().filter_map(|p| target(p, rs)).collect()
}

/// What the targets say about one top-level attribute.
struct Named {
    /// Named as a whole (or its whole extension is).
    whole: bool,
    /// Sub-attributes named (lower-cased).
    subs: Vec<String>,
}

fn named(ts: &[Target], ns: Option<&str>, attr: &str) -> Named {
    let ns = ns.map(str::to_lowercase);
    let attr = attr.to_lowercase();
    let mut n = Named {
        whole: false,
        subs: Vec::new(),
    };
    for t in ts {
        match t {
            Target::Whole(urn) => {
                if ns.as_deref() == Some(urn.as_str()) {
                    n.whole = true;
                }
            }
            Target::Attr {
                ns: tns,
                attr: ta,
                sub,
            } => {
                if *tns == ns && *ta == attr {
                    match sub {
                        None => n.whole = true,
                        Some(s) => n.subs.push(s.clone()),
                    }
                }
            }
        }
    }
    n
}

/// Keeps the sub-attributes of an object, or of each object of an array, for which `keep`
/// holds. Objects left empty are dropped; `None` when nothing is left. Scalars are kept when
/// `scalars` is set, dropped otherwise.
fn filter_subs(
    def: Option<&AttributeDef>,
    v: &Value,
    scalars: bool,
    keep: &dyn Fn(Option<&AttributeDef>, &str) -> bool,
) -> Option<Value> {
    match v {
        Value::Object(o) => {
            let m: Map<String, Value> = o
                .iter()
                .filter(|(k, _)| keep(def.and_then(|d| d.sub(k)), k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (!m.is_empty() || o.is_empty() && scalars).then_some(Value::Object(m))
        }
        Value::Array(a) => {
            let items: Vec<Value> = a
                .iter()
                .filter_map(|e| filter_subs(def, e, scalars, keep))
                .collect();
            (!items.is_empty() || a.is_empty() && scalars).then_some(Value::Array(items))
        }
        other => scalars.then(|| other.clone()),
    }
}

fn sub_returned(sub: Option<&AttributeDef>) -> Returned {
    sub.map(|s| s.returned).unwrap_or(Returned::Default)
}

/// Projects one top-level attribute; `None` when it is not returned.
fn project_attr(
    def: Option<&AttributeDef>,
    v: &Value,
    inc: Option<&Named>,
    exc: &Named,
) -> Option<Value> {
    let returned = def.map(|d| d.returned).unwrap_or(Returned::Default);
    let not_never = |s: Option<&AttributeDef>, _: &str| sub_returned(s) != Returned::Never;
    match returned {
        Returned::Never => return None,
        Returned::Always => return filter_subs(def, v, true, &not_never),
        _ => {}
    }
    match inc {
        Some(n) if n.whole => filter_subs(def, v, true, &not_never),
        Some(n) if !n.subs.is_empty() => {
            filter_subs(def, v, false, &|s, k| match sub_returned(s) {
                Returned::Never => false,
                Returned::Always => true,
                _ => n.subs.iter().any(|x| x.eq_ignore_ascii_case(k)),
            })
        }
        Some(_) => None,
        None => {
            if returned == Returned::Request || exc.whole {
                return None;
            }
            filter_subs(def, v, true, &|s, k| match sub_returned(s) {
                Returned::Never | Returned::Request => false,
                Returned::Always => true,
                Returned::Default => !exc.subs.iter().any(|x| x.eq_ignore_ascii_case(k)),
            })
        }
    }
}

/// Projects the attributes of extension object `o` of extension `schema`.
fn project_extension(
    o: &Map<String, Value>,
    schema: &Schema,
    inc: Option<&[Target]>,
    exc: &[Target],
) -> Map<String, Value> {
    let ns = Some(schema.id.as_str());
    let mut out = Map::new();
    for (k, v) in o {
        let def = schema.attr(k);
        let inc_n = inc.map(|ts| named(ts, ns, k));
        let exc_n = named(exc, ns, k);
        if let Some(pv) = project_attr(def, v, inc_n.as_ref(), &exc_n) {
            out.insert(k.clone(), pv);
        }
    }
    out
}

/// Projects a rendered resource (with `id`, `schemas`, `meta`, and `members` or `groups`)
/// according to `attributes` (if non-empty: only those, plus `returned: always`) or else
/// `excluded` (everything returned by default except those). `id` and `schemas` are always
/// kept; `returned: never` attributes are always removed; `returned: request` attributes
/// appear only when named in `attributes`.
///
/// Sub-attribute entries select inside complex and multi-valued complex attributes
/// (`attributes=emails.value` leaves each email with only its `value`; elements left empty
/// are dropped). An extension object left empty is removed; `schemas` is left as it is.
/// Unknown names are ignored. A non-object `resource` is returned unchanged.
pub fn project(
    resource: &Value,
    schema: &ResourceSchema,
    attributes: &[AttrPath],
    excluded: &[AttrPath],
) -> Value {
    let Some(obj) = resource.as_object() else {
        return resource.clone();
    };
    let inc = (!attributes.is_empty()).then(|| targets(attributes, schema));
    let exc = if attributes.is_empty() {
        targets(excluded, schema)
    } else {
        Vec::new()
    };
    let mut out = Map::new();
    for (k, v) in obj {
        if k.eq_ignore_ascii_case("schemas") || k.eq_ignore_ascii_case("id") {
            out.insert(k.clone(), v.clone());
            continue;
        }
        if let (Some(ext), Value::Object(o)) = (schema.extension(k), v) {
            let m = project_extension(o, &ext.schema, inc.as_deref(), &exc);
            if !m.is_empty() {
                out.insert(k.clone(), Value::Object(m));
            }
            continue;
        }
        let def = schema.core.attr(k).or_else(|| common_attribute(k));
        let inc_n = inc.as_deref().map(|ts| named(ts, None, k));
        if let Some(pv) = project_attr(def, v, inc_n.as_ref(), &named(&exc, None, k)) {
            out.insert(k.clone(), pv);
        }
    }
    Value::Object(out)
}

/// Whether the projection would return (any part of) the top-level attribute `attr`
/// (e.g. `members`), so a caller can skip loading it.
///
/// `attr` is a core or common attribute name, or an extension attribute as
/// `URN:attr`; names match case-insensitively. Unknown names follow the `returned: default`
/// rules.
pub fn is_returned(
    schema: &ResourceSchema,
    attr: &str,
    attributes: &[AttrPath],
    excluded: &[AttrPath],
) -> bool {
    if attr.eq_ignore_ascii_case("id") || attr.eq_ignore_ascii_case("schemas") {
        return true;
    }
    let (ns, def): (Option<&str>, Option<&AttributeDef>) = match attr.rfind(':') {
        Some(i) => {
            let (urn, name) = (&attr[..i], &attr[i + 1..]);
            match schema.extension(urn) {
                Some(ext) => (Some(ext.schema.id.as_str()), ext.schema.attr(name)),
                None if urn.eq_ignore_ascii_case(&schema.core.id) => (
                    None,
                    schema.core.attr(name).or_else(|| common_attribute(name)),
                ),
                None => (Some(urn), None),
            }
        }
        None => (
            None,
            schema.core.attr(attr).or_else(|| common_attribute(attr)),
        ),
    };
    let name = match attr.rfind(':') {
        Some(i) => &attr[i + 1..],
        None => attr,
    };
    let returned = def.map(|d| d.returned).unwrap_or(Returned::Default);
    match returned {
        Returned::Never => return false,
        Returned::Always => return true,
        _ => {}
    }
    if !attributes.is_empty() {
        let n = named(&targets(attributes, schema), ns, name);
        return n.whole || !n.subs.is_empty();
    }
    if returned == Returned::Request {
        return false;
    }
    !named(&targets(excluded, schema), ns, name).whole
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::*;
    use serde_json::json;
    use std::sync::Arc;

    const ENT: &str = ENTERPRISE_USER_SCHEMA;

    fn p(s: &str) -> AttrPath {
        AttrPath::parse(s).unwrap()
    }

    fn ps(list: &[&str]) -> Vec<AttrPath> {
        list.iter().map(|s| p(s)).collect()
    }

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA, ENT],
            "id": "u1",
            "externalId": "e1",
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@x.com", "type": "work", "primary": true}, {"type": "home", "value": "b@y.com"}, {"type": "other"}],
            "groups": [{"value": "g1", "display": "Eng"}],
            ENT: {"department": "R&D", "manager": {"value": "m1", "displayName": "Boss"}},
            "meta": {"resourceType": "User", "version": "W/\"1\"", "location": "https://h/Users/u1"}
        })
    }

    fn proj(inc: &[&str], exc: &[&str]) -> Value {
        project(&user(), &user_resource_schema(vec![]), &ps(inc), &ps(exc))
    }

    #[test]
    fn no_parameters_returns_everything() {
        assert_eq!(proj(&[], &[]), user());
    }

    #[test]
    fn attributes_select_plus_always() {
        assert_eq!(
            proj(&["userName"], &[]),
            json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", "userName": "bjensen"})
        );
        assert_eq!(
            proj(&["USERNAME", "name.givenName", "meta.version"], &[]),
            json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", "userName": "bjensen", "name": {"givenName": "Barbara"}, "meta": {"version": "W/\"1\""}})
        );
    }

    #[test]
    fn sub_attribute_of_multi_valued() {
        assert_eq!(
            proj(&["emails.value"], &[])["emails"],
            json!([{"value": "b@x.com"}, {"value": "b@y.com"}])
        );
        let v = proj(&["emails.value", "emails.type"], &[]);
        assert_eq!(
            v["emails"],
            json!([{"value": "b@x.com", "type": "work"}, {"type": "home", "value": "b@y.com"}, {"type": "other"}])
        );
    }

    #[test]
    fn extension_selection() {
        let v = proj(&[&format!("{ENT}:department")], &[]);
        assert_eq!(v[ENT], json!({"department": "R&D"}));
        assert!(v.get("userName").is_none());
        let v = proj(&[ENT], &[]);
        assert_eq!(v[ENT], user()[ENT]);
        let v = proj(&[&format!("{ENT}:manager.value")], &[]);
        assert_eq!(v[ENT], json!({"manager": {"value": "m1"}}));
        // Unqualified extension attribute names fall back to the extension.
        assert_eq!(
            proj(&["department"], &[])[ENT],
            json!({"department": "R&D"})
        );
        // An extension left empty disappears; schemas stays as it is.
        let v = proj(&["userName"], &[]);
        assert!(v.get(ENT).is_none());
        assert_eq!(v["schemas"], json!([USER_SCHEMA, ENT]));
    }

    #[test]
    fn excluded_attributes() {
        let v = proj(
            &[],
            &["emails", "meta", "id", "schemas", &format!("{ENT}:manager")],
        );
        assert!(v.get("emails").is_none() && v.get("meta").is_none());
        assert_eq!(v["id"], "u1");
        assert!(v.get("schemas").is_some());
        assert_eq!(v[ENT], json!({"department": "R&D"}));
        let v = proj(&[], &[ENT, "name.givenName", "EMAILS.TYPE"]);
        assert!(v.get(ENT).is_none());
        assert_eq!(v["name"], json!({"familyName": "Jensen"}));
        assert_eq!(
            v["emails"],
            json!([{"value": "b@x.com", "primary": true}, {"value": "b@y.com"}])
        );
        // excludedAttributes is ignored when attributes is given (RFC 7644 §3.9 gives attributes precedence).
        assert_eq!(proj(&["userName"], &["userName"])["userName"], "bjensen");
    }

    #[test]
    fn unknown_names_are_ignored() {
        assert_eq!(proj(&[], &["nope", "urn:x:y:z", "name.nope"]), user());
        assert_eq!(
            proj(&["nope", "urn:x:y:z"], &[]),
            json!({"schemas": [USER_SCHEMA, ENT], "id": "u1"})
        );
    }

    #[test]
    fn returned_never_and_request() {
        let ext = Arc::new(Schema {
            id: "urn:example:c".into(),
            name: "C".into(),
            description: "C".into(),
            attributes: vec![
                AttributeDef::new("secret", AttrType::String, "s").with_returned(Returned::Never),
                AttributeDef::new("big", AttrType::String, "b").with_returned(Returned::Request),
                AttributeDef::new("always", AttrType::String, "a").with_returned(Returned::Always),
            ],
        });
        let rs = user_resource_schema(vec![ext]);
        let mut u = user();
        u["password"] = json!("pw");
        u["urn:example:c"] = json!({"secret": "s", "big": "b", "always": "a"});
        let v = project(&u, &rs, &[], &[]);
        assert!(v.get("password").is_none());
        assert_eq!(v["urn:example:c"], json!({"always": "a"}));
        let v = project(
            &u,
            &rs,
            &ps(&["urn:example:c:big", "password", "urn:example:c:secret"]),
            &[],
        );
        assert_eq!(
            v,
            json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", "urn:example:c": {"big": "b", "always": "a"}})
        );
        let v = project(&u, &rs, &[], &ps(&["urn:example:c:always"]));
        assert_eq!(v["urn:example:c"], json!({"always": "a"}));

        assert!(!is_returned(&rs, "password", &[], &[]));
        assert!(!is_returned(&rs, "urn:example:c:big", &[], &[]));
        assert!(is_returned(
            &rs,
            "urn:example:c:big",
            &ps(&["urn:example:c:big"]),
            &[]
        ));
        assert!(is_returned(
            &rs,
            "urn:example:c:always",
            &ps(&["userName"]),
            &ps(&[])
        ));
    }

    #[test]
    fn is_returned_members() {
        let g = group_resource_schema();
        assert!(is_returned(&g, "members", &[], &[]));
        assert!(!is_returned(&g, "members", &[], &ps(&["members"])));
        assert!(is_returned(&g, "members", &[], &ps(&["members.display"])));
        assert!(!is_returned(&g, "members", &ps(&["displayName"]), &[]));
        assert!(is_returned(&g, "members", &ps(&["members.value"]), &[]));
        assert!(is_returned(&g, "MEMBERS", &ps(&["Members"]), &[]));
        assert!(is_returned(&g, "id", &ps(&["displayName"]), &ps(&["id"])));
        let u = user_resource_schema(vec![]);
        assert!(!is_returned(&u, "groups", &[], &ps(&["groups"])));
        assert!(is_returned(&u, &format!("{ENT}:manager"), &ps(&[ENT]), &[]));
        assert!(!is_returned(
            &u,
            &format!("{ENT}:manager"),
            &[],
            &ps(&[ENT])
        ));
        assert!(is_returned(&u, "meta", &[], &[]));
        assert!(!is_returned(&u, "meta", &[], &ps(&["meta"])));
    }

    #[test]
    fn group_members_projection() {
        let g = json!({
            "schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Eng",
            "members": [{"value": "u1", "display": "A", "$ref": "https://h/Users/u1", "type": "User"}],
            "meta": {"resourceType": "Group"}
        });
        let v = project(&g, &group_resource_schema(), &ps(&["members.value"]), &[]);
        assert_eq!(
            v,
            json!({"schemas": [GROUP_SCHEMA], "id": "g1", "members": [{"value": "u1"}]})
        );
        let v = project(&g, &group_resource_schema(), &[], &ps(&["members"]));
        assert_eq!(
            v,
            json!({"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Eng", "meta": {"resourceType": "Group"}})
        );
    }
}
