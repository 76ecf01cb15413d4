//! The guarantee the single canonicaliser (`scim_proto::canonical`) exists for: a PATCH
//! that sets some content leaves exactly the document a PUT of that content stores, byte for
//! byte, whatever order and key case the client wrote, and in either of the dialects
//! Entra ID sends (path-less `add` of the whole object; one `replace` per attribute, ops in
//! any case, booleans as `"True"`/`"False"`, extension attributes as full-URN paths).

use proptest::prelude::*;
use scim_proto::normalize::normalize_resource;
use scim_proto::patch::{apply, BlankPolicy, PatchOptions, PatchRequest};
use scim_proto::schema::{user_resource_schema, ResourceSchema, ENTERPRISE_USER_SCHEMA};
use serde_json::{json, Map, Value};

/// Non-blank text: ASCII words, a little Unicode, never leading/trailing-only spaces.
fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z][A-Za-z0-9 ._-]{0,12}",
        "[a-zäöüßéÅ][a-z0-9äöüÅ]{0,6}",
    ]
}

/// A JSON boolean, or (Entra's default dialect) the string "True"/"False" in any case.
fn arb_bool(entra: bool) -> BoxedStrategy<Value> {
    if entra {
        prop_oneof![
            Just(json!("True")),
            Just(json!("False")),
            Just(json!("true")),
            Just(json!("FALSE")),
            any::<bool>().prop_map(Value::Bool),
        ]
        .boxed()
    } else {
        any::<bool>().prop_map(Value::Bool).boxed()
    }
}

/// Spells `name` in another case now and then (attribute names are case-insensitive).
fn arb_spelling(name: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(name.to_string()),
        1 => Just(name.to_ascii_lowercase()),
        1 => Just(name.to_ascii_uppercase()),
    ]
}

/// A multi-valued complex attribute's elements with distinct `value`s (a PUT keeps
/// duplicates; an `add` of an equal value does not add it again, RFC 7644 §3.5.2.1), at most
/// one of them primary (RFC 7643 §2.4).
fn arb_elements(types: &'static [&'static str], entra: bool) -> impl Strategy<Value = Vec<Value>> {
    (
        prop::collection::btree_set("[a-z]{1,6}@[a-z]{1,5}\\.(com|org)", 1..4),
        prop::collection::vec(prop::sample::select(types), 3),
        prop::option::of(0usize..3),
        arb_bool(entra),
        any::<bool>(),
    )
        .prop_map(move |(values, tys, primary, truthy, with_display)| {
            values
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let mut e = Map::new();
                    e.insert("value".into(), json!(v));
                    e.insert("type".into(), json!(tys[i]));
                    if primary == Some(i) {
                        e.insert("primary".into(), truthy.clone());
                    }
                    if with_display {
                        e.insert("display".into(), json!(format!("{v} ({})", tys[i])));
                    }
                    Value::Object(e)
                })
                .collect()
        })
}

/// One generated User: `(key, value)` pairs in the order the client wrote them. Extension
/// attributes are either one object under the URN key or full-URN keys, as Entra sends them.
fn arb_user(entra: bool) -> impl Strategy<Value = Vec<(String, Value)>> {
    let core = (
        (arb_spelling("userName"), arb_text()),
        prop::option::of((arb_spelling("displayName"), arb_text())),
        prop::option::of((arb_spelling("title"), arb_text())),
        prop::option::of((arb_spelling("active"), arb_bool(entra))),
        prop::option::of((
            arb_spelling("name"),
            prop::option::of(arb_text()),
            prop::option::of(arb_text()),
            prop::option::of(arb_text()),
        )),
        prop::option::of((
            arb_spelling("emails"),
            arb_elements(&["work", "home", "other"], entra),
        )),
        prop::option::of((
            arb_spelling("phoneNumbers"),
            arb_elements(&["work", "mobile", "fax"], entra),
        )),
        prop::option::of("[a-f0-9-]{4,12}"),
    );
    let ext = (
        prop::option::of(arb_text()),
        prop::option::of("[0-9]{1,6}"),
        prop::option::of("[a-f0-9]{8}"),
        any::<bool>(),
    );
    (core, ext, any::<prop::sample::Index>()).prop_map(
        move |(
            (user_name, display, title, active, name, emails, phones, external_id),
            (department, employee_number, manager, as_urn_keys),
            shuffle,
        )| {
            let mut pairs: Vec<(String, Value)> = vec![(user_name.0, json!(user_name.1))];
            for (k, v) in [display, title].into_iter().flatten() {
                pairs.push((k, json!(v)));
            }
            if let Some((k, v)) = active {
                pairs.push((k, v));
            }
            if let Some((k, formatted, given, family)) = name {
                let mut n = Map::new();
                // Sub-attributes out of schema order on purpose.
                if let Some(f) = family {
                    n.insert("familyName".into(), json!(f));
                }
                if let Some(g) = given {
                    n.insert("givenName".into(), json!(g));
                }
                if let Some(f) = formatted {
                    n.insert("formatted".into(), json!(f));
                }
                if !n.is_empty() {
                    pairs.push((k, Value::Object(n)));
                }
            }
            for (k, v) in [emails, phones].into_iter().flatten() {
                pairs.push((k, Value::Array(v)));
            }
            if let Some(x) = external_id {
                pairs.push(("externalId".into(), json!(x)));
            }
            let mut ext = Vec::new();
            if let Some(d) = department {
                ext.push(("department", json!(d)));
            }
            if let Some(n) = employee_number {
                ext.push(("employeeNumber", json!(n)));
            }
            if let Some(m) = manager {
                ext.push(("manager", json!({ "value": m })));
            }
            if as_urn_keys {
                for (k, v) in ext {
                    pairs.push((format!("{ENTERPRISE_USER_SCHEMA}:{k}"), v));
                }
            } else if !ext.is_empty() {
                let obj: Map<String, Value> =
                    ext.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                pairs.push((ENTERPRISE_USER_SCHEMA.to_string(), Value::Object(obj)));
            }
            // Any client order: rotate by a generated amount, then reverse half the time.
            let n = pairs.len();
            let i = shuffle.index(n);
            pairs.rotate_left(i);
            if i % 2 == 1 {
                pairs.reverse();
            }
            pairs
        },
    )
}

/// What a PUT of `content` stores.
fn put(schema: &ResourceSchema, content: &Map<String, Value>) -> Value {
    normalize_resource(schema, &Value::Object(content.clone()))
        .expect("generated content is a valid User")
        .doc
}

/// The document after PATCH `operations` of the stored User `start`.
fn patch(schema: &ResourceSchema, start: &Value, operations: Vec<Value>) -> Value {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations,
    });
    let req = PatchRequest::parse(&body).expect("generated PATCH parses");
    let mut doc = start.clone();
    apply(
        &mut doc,
        &req,
        schema,
        &PatchOptions {
            blank_policy: BlankPolicy::Ignore,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("PATCH {body} failed: {e:?}"));
    doc
}

/// The stored User a PATCH starts from: only a `userName`, which the content replaces.
fn minimal_user(schema: &ResourceSchema) -> Value {
    put(
        schema,
        json!({ "userName": "placeholder" }).as_object().unwrap(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// `add` without a path, the whole content as its value (RFC 7644 §3.5.2.1).
    #[test]
    fn pathless_add_stores_what_put_stores(
        pairs in arb_user(false),
        op in prop_oneof![Just("add"), Just("Add"), Just("replace"), Just("Replace")],
    ) {
        let schema = user_resource_schema(vec![]);
        let content: Map<String, Value> = pairs.into_iter().collect();
        let expected = put(&schema, &content);
        let got = patch(
            &schema,
            &minimal_user(&schema),
            vec![json!({ "op": op, "value": Value::Object(content.clone()) })],
        );
        prop_assert_eq!(
            serde_json::to_string(&got).unwrap(),
            serde_json::to_string(&expected).unwrap(),
            "content {}", Value::Object(content)
        );
    }

    /// One operation per attribute, as Entra's default dialect sends them: `Replace` (or
    /// `Add`) with the attribute's path, booleans as strings, extension attributes by
    /// full-URN path, in the client's order.
    #[test]
    fn one_op_per_attribute_stores_what_put_stores(
        pairs in arb_user(true),
        op in prop_oneof![Just("add"), Just("Add"), Just("replace"), Just("Replace")],
    ) {
        let schema = user_resource_schema(vec![]);
        let mut operations = Vec::new();
        for (k, v) in &pairs {
            if k == ENTERPRISE_USER_SCHEMA {
                for (sk, sv) in v.as_object().unwrap() {
                    operations.push(json!({
                        "op": op, "path": format!("{ENTERPRISE_USER_SCHEMA}:{sk}"), "value": sv,
                    }));
                }
            } else {
                operations.push(json!({ "op": op, "path": k, "value": v }));
            }
        }
        let content: Map<String, Value> = pairs.into_iter().collect();
        let expected = put(&schema, &content);
        let got = patch(&schema, &minimal_user(&schema), operations);
        prop_assert_eq!(
            serde_json::to_string(&got).unwrap(),
            serde_json::to_string(&expected).unwrap(),
            "content {}", Value::Object(content)
        );
    }
}
