use super::*;
use crate::error::ScimType;
use crate::schema::{
    group_resource_schema, user_resource_schema, Mutability, Schema, ENTERPRISE_USER_SCHEMA,
};
use serde_json::json;
use std::sync::Arc;

const ENT: &str = ENTERPRISE_USER_SCHEMA;

fn user() -> ResourceSchema {
    user_resource_schema(vec![])
}

fn run_with(
    doc: &mut Value,
    schema: &ResourceSchema,
    ops: Value,
    policy: BlankPolicy,
) -> ScimResult<PatchOutcome> {
    let body =
        json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops });
    let req = PatchRequest::parse(&body)?;
    apply(
        doc,
        &req,
        schema,
        &PatchOptions {
            blank_policy: policy,
            ..Default::default()
        },
    )
}

fn run(doc: &mut Value, ops: Value) -> ScimResult<PatchOutcome> {
    run_with(doc, &user(), ops, BlankPolicy::Ignore)
}

fn bob() -> Value {
    json!({
        "externalId": "ext-1",
        "userName": "bob@contoso.com",
        "name": { "familyName": "Jensen", "givenName": "Bob" },
        "active": true,
        "emails": [ { "value": "bob@contoso.com", "type": "work", "primary": true } ],
        ENT: { "department": "Sales", "manager": { "value": "m-1" } }
    })
}

fn err_type(r: ScimResult<PatchOutcome>) -> (u16, Option<ScimType>, String) {
    let e = r.expect_err("expected an error");
    (e.status, e.scim_type, e.detail)
}

/// Applies `ops` to [`bob`]; asserts that he stays as he was and that no change is reported.
fn bob_unchanged_by(ops: Value) -> PatchOutcome {
    let mut doc = bob();
    let out = doc.patch(ops);
    assert_eq!(doc, bob());
    assert!(out.changed.is_empty(), "{:?}", out.changed);
    out
}

/// PATCH of a stored User in place, as [`run`] applies it (User schema, blanks ignored).
trait Patch {
    /// Applies `ops`; panics when the PATCH is refused.
    fn patch(&mut self, ops: Value) -> PatchOutcome;
    /// The refusal of `ops`: status, scimType, detail; panics when the PATCH applies.
    fn refusal(&mut self, ops: Value) -> (u16, Option<ScimType>, String);
}

impl Patch for Value {
    fn patch(&mut self, ops: Value) -> PatchOutcome {
        run(self, ops).expect("the PATCH applies")
    }
    fn refusal(&mut self, ops: Value) -> (u16, Option<ScimType>, String) {
        err_type(run(self, ops))
    }
}

// ---- parse ----

#[test]
fn parse_accepts_any_case_keys_and_ops() {
    let req = PatchRequest::parse(&json!({
        "OPERATIONS": [
            { "OP": "Add", "PATH": "title", "VALUE": "x" },
            { "op": "REPLACE", "Path": "name.givenName", "Value": "y" },
            { "Op": "remove", "path": "nickName" }
        ]
    }))
    .unwrap();
    let kinds: Vec<_> = req.operations.iter().map(|o| o.op).collect();
    assert_eq!(
        kinds,
        [PatchOpKind::Add, PatchOpKind::Replace, PatchOpKind::Remove]
    );
    assert_eq!(req.operations[0].value, Some(json!("x")));
    assert!(req.operations[2].value.is_none());
    assert_eq!(
        req.operations[1]
            .path
            .as_ref()
            .unwrap()
            .attr
            .sub_attr
            .as_deref(),
        Some("givenName")
    );
}

#[test]
fn parse_errors() {
    let e = PatchRequest::parse(&json!({ "Operations": [] })).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    let e = PatchRequest::parse(&json!({ "schemas": [] })).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    let e = PatchRequest::parse(&json!([1])).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    let e = PatchRequest::parse(&json!({ "Operations": [ { "op": "move", "path": "a" } ] }))
        .unwrap_err();
    assert_eq!(
        (e.status, e.scim_type),
        (400, Some(ScimType::InvalidSyntax))
    );
    assert!(e.detail.contains("\"move\""), "{}", e.detail);
    let e = PatchRequest::parse(&json!({ "Operations": [ { "op": "add", "path": "title" } ] }))
        .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    let e = PatchRequest::parse(&json!({ "Operations": [ { "path": "title", "value": 1 } ] }))
        .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    let e = PatchRequest::parse(
        &json!({ "Operations": [ { "op": "add", "path": "emails[type eq", "value": 1 } ] }),
    )
    .unwrap_err();
    assert!(matches!(
        e.scim_type,
        Some(ScimType::InvalidPath | ScimType::InvalidFilter)
    ));
    assert!(e.detail.starts_with("operation 1: "), "{}", e.detail);
}

/// POST and PUT refuse U+0000 in text (PostgreSQL cannot store it); PATCH did not, so a
/// value refused by PUT could be written by PATCH (found by tests/fuzz.rs).
#[test]
fn nul_in_a_value_is_refused_like_put_refuses_it() {
    for value in [
        json!("a\u{0}b"),
        json!({ "userName": "a\u{0}" }),
        json!([{ "value": "x@example.com\u{0}" }]),
        json!({ "a\u{0}": "x" }),
    ] {
        let body = json!({ "Operations": [
            { "op": "add", "path": "title", "value": "ok" },
            { "op": "Replace", "value": value },
        ] });
        let e = PatchRequest::parse(&body).unwrap_err();
        assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidValue)));
        assert_eq!(
            e.detail,
            "operation 2: text must not contain the NUL character (U+0000)"
        );
    }
    // A NUL in a remove's value is refused too; elsewhere it is only a filter literal.
    let body = json!({ "Operations": [{ "op": "remove", "path": "emails", "value": [{ "value": "\u{0}" }] }] });
    assert!(PatchRequest::parse(&body).is_err());
    let body =
        json!({ "Operations": [{ "op": "remove", "path": "emails[value eq \"\\u0000\"]" }] });
    assert!(PatchRequest::parse(&body).is_ok());
}

#[test]
fn parse_without_schemas_and_blank_path() {
    let req = PatchRequest::parse(
        &json!({ "Operations": [ { "op": "replace", "path": "", "value": { "title": "t" } } ] }),
    )
    .unwrap();
    assert!(req.operations[0].path.is_none());
    let req = PatchRequest::parse(
        &json!({ "Operations": [ { "op": "add", "path": null, "value": null } ] }),
    )
    .unwrap();
    assert_eq!(req.operations[0].value, Some(Value::Null));
}

// ---- single-valued, complex, multi-valued ----

#[test]
fn replace_and_add_single_valued() {
    let mut doc = bob();
    let out = doc.patch(json!([
        { "op": "replace", "path": "userName", "value": "robert@contoso.com" },
        { "op": "add", "path": "title", "value": "Boss" },
        { "op": "add", "path": "title", "value": "CEO" }
    ]));
    assert_eq!(doc["userName"], "robert@contoso.com");
    assert_eq!(doc["title"], "CEO");
    assert_eq!(out.changed, ["userName", "title"]);
}

#[test]
fn same_value_is_not_a_change() {
    bob_unchanged_by(json!([
        { "op": "replace", "path": "userName", "value": "bob@contoso.com" },
        { "op": "replace", "path": "active", "value": "True" },
        { "op": "add", "path": "emails", "value": [ { "value": "bob@contoso.com", "type": "work", "primary": true } ] },
        { "op": "remove", "path": "nickName" }
    ]));
}

#[test]
fn complex_merge_keeps_unlisted_sub_attributes() {
    let mut doc = bob();
    doc.patch(json!([ { "op": "replace", "path": "name", "value": { "givenName": "Rob", "middleName": "J" } } ]));
    assert_eq!(
        doc["name"],
        json!({ "familyName": "Jensen", "givenName": "Rob", "middleName": "J" })
    );
    doc.patch(json!([ { "op": "add", "path": "name.formatted", "value": "Rob J Jensen" } ]));
    assert_eq!(doc["name"]["formatted"], "Rob J Jensen");
    // canonical sub-attribute order
    let keys: Vec<_> = doc["name"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["formatted", "familyName", "givenName", "middleName"]);
}

#[test]
fn multi_valued_add_appends_and_skips_duplicates() {
    let mut doc = bob();
    doc.patch(json!([
        { "op": "add", "path": "emails", "value": [
            { "value": "bob@contoso.com", "type": "work", "primary": true },
            { "value": "bob@home.org", "type": "home" }
        ] },
        { "op": "add", "path": "phoneNumbers", "value": { "value": "555", "type": "work" } }
    ]));
    assert_eq!(doc["emails"].as_array().unwrap().len(), 2);
    assert_eq!(
        doc["phoneNumbers"],
        json!([ { "value": "555", "type": "work" } ])
    );
}

#[test]
fn multi_valued_replace_replaces_the_array_and_empty_clears() {
    let mut doc = bob();
    doc.patch(json!([ { "op": "replace", "path": "emails", "value": [ { "value": "new@x.org", "type": "other" } ] } ]));
    assert_eq!(
        doc["emails"],
        json!([ { "value": "new@x.org", "type": "other" } ])
    );
    let out = doc.patch(json!([ { "op": "replace", "path": "emails", "value": [] } ]));
    assert!(doc.get("emails").is_none());
    assert_eq!(out.changed, ["emails"]);
}

#[test]
fn primary_true_unsets_the_others() {
    let mut doc = bob();
    doc.patch(json!([ { "op": "add", "path": "emails", "value": [ { "value": "b@home.org", "type": "home", "primary": "True" } ] } ]));
    assert_eq!(doc["emails"][0]["primary"], false);
    assert_eq!(doc["emails"][1]["primary"], true);
    doc.patch(
        json!([ { "op": "replace", "path": "emails[type eq \"work\"].primary", "value": true } ]),
    );
    assert_eq!(doc["emails"][0]["primary"], true);
    assert_eq!(doc["emails"][1]["primary"], false);
}

#[test]
fn booleans_as_strings() {
    let mut doc = bob();
    doc.patch(json!([ { "op": "Replace", "path": "active", "value": "False" } ]));
    assert_eq!(doc["active"], false);
    doc.patch(json!([ { "op": "replace", "value": { "active": "TRUE" } } ]));
    assert_eq!(doc["active"], true);
    let e = doc.refusal(json!([ { "op": "replace", "path": "active", "value": "maybe" } ]));
    assert_eq!(e.1, Some(ScimType::InvalidValue));
}

// ---- path-less ----

#[test]
fn pathless_keys_dotted_urn_and_nested_extension() {
    let mut doc = bob();
    let out = doc.patch(json!([ { "op": "Add", "value": {
            "name.givenName": "B",
            "NickName": "Babs",
            "emails[type eq \"home\"].value": "b@home.org",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Ops",
            ENT: { "costCenter": "42" },
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "m-2",
            "schemas": ["whatever"]
        } } ]));
    assert_eq!(doc["name"]["givenName"], "B");
    assert_eq!(doc["nickName"], "Babs");
    assert_eq!(
        doc["emails"][1],
        json!({ "value": "b@home.org", "type": "home" })
    );
    assert_eq!(
        doc[ENT],
        json!({ "costCenter": "42", "department": "Ops", "manager": { "value": "m-2" } })
    );
    let dept = format!("{ENT}:department");
    let cc = format!("{ENT}:costCenter");
    let mgr = format!("{ENT}:manager");
    assert_eq!(
        out.changed,
        vec![
            "name",
            "nickName",
            "emails",
            dept.as_str(),
            cc.as_str(),
            mgr.as_str()
        ]
    );
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn pathless_needs_an_object() {
    let mut doc = bob();
    let e = doc.refusal(json!([ { "op": "add", "value": "x" } ]));
    assert_eq!((e.0, e.1), (400, Some(ScimType::InvalidValue)));
    let e = doc.refusal(json!([ { "op": "remove" } ]));
    assert_eq!(e.1, Some(ScimType::NoTarget));
}

#[test]
fn extension_urn_as_path() {
    let mut doc = bob();
    doc.patch(json!([ { "op": "replace", "path": ENT, "value": { "division": "D" } } ]));
    assert_eq!(doc[ENT]["division"], "D");
    assert_eq!(doc[ENT]["department"], "Sales");
    let out = doc.patch(json!([ { "op": "remove", "path": ENT } ]));
    assert!(doc.get(ENT).is_none());
    assert_eq!(out.changed.len(), 3);
}

// ---- value filters ----

#[test]
fn filter_creates_element_with_equalities_and_reuses_it() {
    let mut doc = json!({ "userName": "u" });
    doc.patch(json!([
        { "op": "add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St" },
        { "op": "add", "path": "addresses[type eq \"work\"].locality", "value": "Springfield" },
        { "op": "add", "path": "addresses[type eq \"home\"].country", "value": "NL" }
    ]));
    assert_eq!(
        doc["addresses"],
        json!([
            { "streetAddress": "1 Main St", "locality": "Springfield", "type": "work" },
            { "country": "NL", "type": "home" }
        ])
    );
}

#[test]
fn filter_sets_on_every_match_and_bool_filters() {
    let mut doc = json!({ "userName": "u", "roles": [ { "value": "a", "primary": true }, { "value": "b" } ] });
    doc.patch(
        json!([ { "op": "Add", "path": "roles[primary eq \"True\"].value", "value": "Admin" } ]),
    );
    assert_eq!(
        doc["roles"],
        json!([ { "value": "Admin", "primary": true }, { "value": "b" } ])
    );
    let mut doc = json!({ "userName": "u" });
    doc.patch(
        json!([ { "op": "Add", "path": "roles[primary eq \"True\"].value", "value": "Admin" } ]),
    );
    assert_eq!(
        doc["roles"],
        json!([ { "value": "Admin", "primary": true } ])
    );
}

#[test]
fn filter_without_sub_attribute_merges_or_creates() {
    let mut doc = bob();
    // (type filtered on, value, the emails then, last the element it leaves): bob's work
    // email merged, a home email created.
    for (ty, value, count, element) in [
        (
            "work",
            json!({ "value": "w@x.org", "display": "W" }),
            1,
            json!({ "value": "w@x.org", "display": "W", "type": "work", "primary": true }),
        ),
        (
            "home",
            json!({ "value": "h@x.org" }),
            2,
            json!({ "value": "h@x.org", "type": "home" }),
        ),
    ] {
        let path = format!("emails[type eq \"{ty}\"]");
        doc.patch(json!([ { "op": "replace", "path": path, "value": value } ]));
        let emails = doc["emails"].as_array().unwrap();
        assert_eq!(emails.len(), count, "{ty}: {doc}");
        assert_eq!(emails[count - 1], element, "{ty}");
    }
}

#[test]
fn filter_that_cannot_create_is_no_target() {
    let mut doc = bob();
    let e = doc.refusal(
        json!([ { "op": "replace", "path": "emails[value co \"zzz\"].type", "value": "home" } ]),
    );
    assert_eq!(e.1, Some(ScimType::NoTarget));
    let e = doc.refusal(
        json!([ { "op": "replace", "path": "name[givenName eq \"x\"].familyName", "value": "y" } ]),
    );
    assert_eq!(e.1, Some(ScimType::InvalidPath));
}

#[test]
fn remove_with_filter() {
    let mut doc = bob();
    doc.patch(json!([ { "op": "add", "path": "emails", "value": [ { "value": "h@x.org", "type": "home" } ] } ]));
    let out = doc.patch(json!([ { "op": "remove", "path": "emails[type eq \"home\"]" } ]));
    assert_eq!(doc["emails"].as_array().unwrap().len(), 1);
    assert_eq!(out.changed, ["emails"]);
    // no match: idempotent
    let out = doc.patch(json!([ { "op": "remove", "path": "emails[type eq \"home\"]" } ]));
    assert!(out.changed.is_empty());
    // sub-attribute: the element is left without its value, so it goes
    doc.patch(json!([ { "op": "remove", "path": "emails[type eq \"work\"].value" } ]));
    assert!(doc.get("emails").is_none());
}

#[test]
fn remove_sub_attribute_keeps_element_with_value() {
    let mut doc = bob();
    doc.patch(json!([ { "op": "remove", "path": "emails[type eq \"work\"].primary" } ]));
    assert_eq!(
        doc["emails"],
        json!([ { "value": "bob@contoso.com", "type": "work" } ])
    );
}

#[test]
fn remove_multi_valued_with_value_removes_those() {
    let mut doc = json!({ "userName": "u", "roles": [ { "value": "A" }, { "value": "B" }, { "value": "C" } ] });
    doc.patch(json!([ { "op": "remove", "path": "roles", "value": [ { "value": "a" }, { "value": "C" } ] } ]));
    assert_eq!(doc["roles"], json!([ { "value": "B" } ]));
}

#[test]
fn remove_is_idempotent_and_needs_a_path() {
    let mut doc = bob();
    let out = doc.patch(json!([
        { "op": "remove", "path": "title" },
        { "op": "remove", "path": "name.middleName" },
        { "op": "remove", "path": "x509Certificates[value eq \"x\"]" }
    ]));
    assert!(out.changed.is_empty());
    let out = doc.patch(json!([ { "op": "remove", "path": "name.givenName" }, { "op": "remove", "path": "name.familyName" } ]));
    assert!(doc.get("name").is_none());
    assert_eq!(out.changed, ["name"]);
}

#[test]
fn remove_user_name_is_refused() {
    // A remove, and a blank value under the policy that clears blanks.
    for (ops, policy) in [
        (
            json!([ { "op": "remove", "path": "userName" } ]),
            BlankPolicy::Ignore,
        ),
        (
            json!([ { "op": "replace", "path": "userName", "value": "" } ]),
            BlankPolicy::Clear,
        ),
    ] {
        let e = err_type(run_with(&mut bob(), &user(), ops.clone(), policy));
        assert_eq!(e.1, Some(ScimType::InvalidValue), "{ops}");
    }
}

// ---- ignored input ----

#[test]
fn read_only_unknown_and_password_are_ignored_with_warnings() {
    let out = bob_unchanged_by(json!([
        { "op": "replace", "path": "id", "value": "hijack" },
        { "op": "replace", "path": "meta.lastModified", "value": "2020-01-01T00:00:00Z" },
        { "op": "add", "path": "groups", "value": [ { "value": "g1" } ] },
        { "op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName", "value": "Boss" },
        { "op": "replace", "path": "password", "value": "s3cret!" },
        { "op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:badge", "value": "7" },
        { "op": "add", "path": "urn:example:custom:2.0:User:shoeSize", "value": "44" },
        { "op": "add", "path": "favouriteColour", "value": "blue" },
        { "op": "add", "path": "name.nickname", "value": "x" },
        { "op": "add", "value": { "id": "x", "schemas": ["y"], "urn:example:custom:2.0:User": { "a": 1 }, "password": "p4ss" } }
    ]));
    let w = out.warnings.join("\n");
    for needle in [
        "'id'",
        "'meta'",
        "'groups'",
        "manager.displayName",
        "password",
        "badge",
        "shoeSize",
        "favouriteColour",
        "name.nickname",
    ] {
        assert!(w.contains(needle), "no warning about {needle}: {w}");
    }
    assert!(
        !w.contains("s3cret") && !w.contains("p4ss") && !w.contains("hijack"),
        "{w}"
    );
}

// ---- blanks and manager ----

#[test]
fn blank_policy_ignore_and_clear() {
    let ops = json!([
        { "op": "replace", "path": "name.givenName", "value": "" },
        { "op": "replace", "path": "active", "value": null },
        { "op": "replace", "value": { "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "" } },
        { "op": "replace", "path": "emails[type eq \"work\"].value", "value": "" }
    ]);
    let mut doc = bob();
    let out = run_with(&mut doc, &user(), ops.clone(), BlankPolicy::Ignore).unwrap();
    assert_eq!(doc, bob());
    assert!(out.changed.is_empty());
    let mut doc = bob();
    let out = run_with(&mut doc, &user(), ops, BlankPolicy::Clear).unwrap();
    assert_eq!(doc["name"], json!({ "familyName": "Jensen" }));
    assert!(doc.get("active").is_none());
    assert!(doc[ENT].get("department").is_none());
    assert!(doc.get("emails").is_none());
    assert_eq!(out.changed.len(), 4);
}

#[test]
fn explicit_remove_always_removes() {
    let mut doc = bob();
    doc.patch(json!([ { "op": "remove", "path": "active" } ]));
    assert!(doc.get("active").is_none());
}

#[test]
fn manager_shapes_set_it_and_blank_ones_remove_it() {
    let path = format!("{ENT}:manager");
    // (value replaced, the manager it leaves: None when it removes the manager, as a blank
    // manager does whatever the blank policy)
    for (v, manager) in [
        (json!("m-9"), Some("m-9")),
        (json!({ "value": "m-9" }), Some("m-9")),
        (
            json!([ { "value": "m-9", "$ref": "../Users/m-9" } ]),
            Some("m-9"),
        ),
        (
            json!({ "Value": "m-9", "displayName": "Boss" }),
            Some("m-9"),
        ),
        (json!(""), None),
        (json!({ "value": "" }), None),
        (Value::Null, None),
        (json!([ { "value": "" } ]), None),
    ] {
        let mut doc = bob();
        let out = doc.patch(json!([ { "op": "replace", "path": path, "value": v } ]));
        match manager {
            Some(m) => assert_eq!(doc[ENT]["manager"], json!({ "value": m }), "for {v}"),
            None => {
                assert!(doc[ENT].get("manager").is_none(), "for {v}");
                assert_eq!(out.changed, std::slice::from_ref(&path), "for {v}");
            }
        }
    }
    let mut doc = bob();
    doc.patch(json!([ { "op": "replace", "path": format!("{path}.value"), "value": "m-7" } ]));
    assert_eq!(doc[ENT]["manager"], json!({ "value": "m-7" }));
    let mut doc = bob();
    doc.patch(json!([ { "op": "add", "value": { ENT: { "manager": { "value": "m-8" } } } } ]));
    assert_eq!(doc[ENT]["manager"], json!({ "value": "m-8" }));
    let mut doc = bob();
    doc.patch(json!([ { "op": "replace", "path": format!("{path}.value"), "value": "" } ]));
    assert!(doc[ENT].get("manager").is_none());
    // the extension object goes when it is empty
    let mut doc = json!({ "userName": "u", ENT: { "manager": { "value": "m" } } });
    doc.patch(json!([ { "op": "replace", "value": { path.as_str(): "" } } ]));
    assert_eq!(doc, json!({ "userName": "u" }));
}

#[test]
fn roles_json_strings_kept_as_sent() {
    let raw = "{\"id\":\"8ce0d\",\"displayName\":\"Admin\"}";
    let mut doc = json!({ "userName": "u" });
    doc.patch(json!([ { "op": "add", "path": "roles", "value": [ { "value": raw, "primary": false } ] } ]));
    assert_eq!(doc["roles"][0]["value"], raw);
}

#[test]
fn immutable_attribute_can_be_set_once() {
    let custom = Schema {
        id: "urn:example:ext:1.0:User".into(),
        name: "Ext".into(),
        description: String::new(),
        attributes: vec![
            AttributeDef::new("badge", AttrType::String, "").with_mutability(Mutability::Immutable)
        ],
    };
    let schema = user_resource_schema(vec![Arc::new(custom)]);
    let add_badge = |doc: &mut Value, badge: &str| {
        let ops =
            json!([ { "op": "add", "path": "urn:example:ext:1.0:User:badge", "value": badge } ]);
        run_with(doc, &schema, ops, BlankPolicy::Ignore)
    };
    let mut doc = json!({ "userName": "u" });
    add_badge(&mut doc, "1").unwrap();
    assert_eq!(doc["urn:example:ext:1.0:User"]["badge"], "1");
    add_badge(&mut doc, "1").unwrap();
    let e = err_type(add_badge(&mut doc, "2"));
    assert_eq!(e.1, Some(ScimType::Mutability));
}

#[test]
fn errors_name_the_operation() {
    let mut doc = bob();
    let e = doc.refusal(json!([
        { "op": "replace", "path": "title", "value": "ok" },
        { "op": "replace", "path": "active", "value": [1] }
    ]));
    assert!(e.2.starts_with("operation 2: "), "{}", e.2);
}

#[test]
fn canonical_key_order_after_patch() {
    let mut doc = json!({ "userName": "u" });
    doc.patch(json!([ { "op": "add", "value": { ENT: { "department": "D" }, "title": "T", "externalId": "e", "name": { "givenName": "G", "familyName": "F" } } } ]));
    let keys: Vec<_> = doc.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["externalId", "userName", "name", "title", ENT]);
    let keys: Vec<_> = doc["name"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["familyName", "givenName"]);
}

// ---- groups ----

#[test]
fn group_member_ops() {
    let g = group_resource_schema();
    let mut doc = json!({ "displayName": "Eng" });
    let out = run_with(&mut doc, &g, json!([
            { "op": "add", "path": "members", "value": [ { "value": "u1" }, { "value": "u2" }, { "value": "u1" } ] },
            { "op": "Add", "value": { "members": [ { "value": "u3" } ], "displayName": "Engineering" } },
            { "op": "remove", "path": "members[value eq \"u2\"]" },
            { "op": "remove", "path": "members[value eq \"u4\" or value eq \"u5\"]" },
            { "op": "remove", "path": "members[type eq \"Group\"]" },
            { "op": "Remove", "path": "members", "value": [ { "value": "u1" } ] },
            { "op": "replace", "path": "members", "value": [ { "value": "u9" } ] },
            { "op": "replace", "path": "members", "value": [] },
            { "op": "remove", "path": "members" }
        ]), BlankPolicy::Ignore)
        .unwrap();
    assert_eq!(doc, json!({ "displayName": "Engineering" }));
    assert_eq!(out.changed, ["displayName"]);
    assert_eq!(out.member_ops.len(), 9);
    assert_eq!(
        out.member_ops[0],
        MemberOp::Add(vec!["u1".into(), "u2".into()])
    );
    assert_eq!(out.member_ops[1], MemberOp::Add(vec!["u3".into()]));
    assert_eq!(out.member_ops[2], MemberOp::Remove(vec!["u2".into()]));
    assert_eq!(
        out.member_ops[3],
        MemberOp::Remove(vec!["u4".into(), "u5".into()])
    );
    assert!(matches!(out.member_ops[4], MemberOp::RemoveWhere(_)));
    assert_eq!(out.member_ops[5], MemberOp::Remove(vec!["u1".into()]));
    assert_eq!(out.member_ops[6], MemberOp::Replace(vec!["u9".into()]));
    assert_eq!(out.member_ops[7], MemberOp::Replace(vec![]));
    assert_eq!(out.member_ops[8], MemberOp::RemoveAll);
}

#[test]
fn group_member_errors() {
    let g = group_resource_schema();
    let mut doc = json!({ "displayName": "Eng" });
    let e = err_type(run_with(
        &mut doc,
        &g,
        json!([ { "op": "replace", "path": "members[value eq \"x\"]", "value": { "value": "y" } } ]),
        BlankPolicy::Ignore,
    ));
    assert_eq!(e.1, Some(ScimType::InvalidPath));
    assert!(
        e.2.contains("replace of one member is not supported"),
        "{}",
        e.2
    );
    let e = err_type(run_with(
        &mut doc,
        &g,
        json!([ { "op": "add", "path": "members", "value": [ { "display": "x" } ] } ]),
        BlankPolicy::Ignore,
    ));
    assert_eq!(e.1, Some(ScimType::InvalidValue));
    let e = err_type(run_with(
        &mut doc,
        &g,
        json!([ { "op": "remove", "path": "displayName" } ]),
        BlankPolicy::Ignore,
    ));
    assert_eq!(e.1, Some(ScimType::InvalidValue));
}

#[test]
fn many_members_in_one_op() {
    let g = group_resource_schema();
    let members: Vec<Value> = (0..20_000)
        .map(|i| json!({ "value": format!("id-{i}") }))
        .collect();
    let mut doc = json!({ "displayName": "All" });
    let out = run_with(
        &mut doc,
        &g,
        json!([ { "op": "add", "path": "members", "value": members } ]),
        BlankPolicy::Ignore,
    )
    .unwrap();
    match &out.member_ops[0] {
        MemberOp::Add(ids) => assert_eq!(ids.len(), 20_000),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn members_on_a_user_is_unknown() {
    let mut doc = bob();
    let out =
        doc.patch(json!([ { "op": "add", "path": "members", "value": [ { "value": "x" } ] } ]));
    assert!(out.member_ops.is_empty());
    assert_eq!(out.warnings.len(), 1);
}

#[test]
fn hollow_element_left_at_the_end_is_dropped() {
    let mut doc = json!({ "userName": "u" });
    let out = doc.patch(
        json!([ { "op": "add", "path": "emails[type eq \"work\"].primary", "value": true } ]),
    );
    assert_eq!(doc, json!({ "userName": "u" }));
    assert!(out.changed.is_empty(), "{:?}", out.changed);
    // ...but kept between operations of the same request
    doc.patch(json!([
        { "op": "add", "path": "emails[type eq \"work\"].primary", "value": true },
        { "op": "add", "path": "emails[type eq \"work\"].value", "value": "w@x.org" }
    ]));
    assert_eq!(
        doc["emails"],
        json!([ { "value": "w@x.org", "type": "work", "primary": true } ])
    );
}

#[test]
fn set_and_set_back_is_not_a_change() {
    let mut doc = bob();
    let out = doc.patch(json!([
        { "op": "replace", "path": "title", "value": "x" },
        { "op": "remove", "path": "title" },
        { "op": "replace", "path": "userName", "value": "tmp" },
        { "op": "replace", "path": "userName", "value": "bob@contoso.com" }
    ]));
    assert!(out.changed.is_empty(), "{:?}", out.changed);
}

#[test]
fn manager_ref_and_display_name_are_server_rendered() {
    let mut doc = bob();
    let out = doc.patch(json!([
        { "op": "replace", "path": format!("{ENT}:manager.$ref"), "value": "https://x/Users/m-1" },
        { "op": "replace", "path": format!("{ENT}:manager.displayName"), "value": "Boss" }
    ]));
    assert_eq!(doc, bob());
    assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
}

#[test]
fn warnings_are_capped() {
    let keys: Map<String, Value> = (0..5_000)
        .map(|i| (format!("unknown{i}"), json!("v")))
        .collect();
    let mut doc = bob();
    let out = doc.patch(json!([ { "op": "add", "value": keys } ]));
    assert_eq!(out.warnings.len(), crate::warnings::MAX_WARNINGS + 1);
    assert_eq!(out.warnings.last().unwrap(), "further warnings omitted");
}

#[test]
fn remove_values_folds_case_only_where_the_schema_says() {
    let mut doc = json!({ "userName": "u", "emails": [
            { "value": "A@X.org", "type": "work" }, { "value": "b@x.org", "type": "home" }, { "value": "c@x.org", "type": "other" }
        ] });
    doc.patch(json!([ { "op": "remove", "path": "emails", "value": [ { "value": "a@x.org" }, { "value": "c@x.org", "type": "home" } ] } ]));
    // the first matches (emails.value is not caseExact); the third does not (type differs)
    assert_eq!(
        doc["emails"],
        json!([ { "value": "b@x.org", "type": "home" }, { "value": "c@x.org", "type": "other" } ])
    );
    let mut doc = json!({ "userName": "u", "externalId": "E" });
    doc.patch(json!([ { "op": "remove", "path": "externalId", "value": "e" } ]));
    assert!(doc.get("externalId").is_none());
}

// ---- issue 14: primary, blanks, unknown schemas, limits ----

#[test]
fn first_primary_of_a_value_array_wins_with_a_warning() {
    let mut doc = bob();
    let out = doc.patch(json!([{ "op": "add", "path": "emails", "value": [
            { "value": "a@x", "primary": true },
            { "value": "b@x", "primary": true }
        ] }]));
    let emails = doc["emails"].as_array().unwrap();
    let primaries: Vec<&str> = emails
        .iter()
        .filter(|e| e["primary"] == json!(true))
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(primaries, ["a@x"], "{doc}");
    assert!(
        out.warnings
            .iter()
            .any(|w| w.starts_with("'emails': 2 values had \"primary\": true")),
        "{:?}",
        out.warnings
    );
    // Setting primary on one value clears the others, without a warning.
    let out = doc.patch(
        json!([{ "op": "replace", "path": "emails[value eq \"b@x\"].primary", "value": true }]),
    );
    let primaries: Vec<&str> = doc["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["primary"] == json!(true))
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(primaries, ["b@x"]);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn blanks_are_listed_whatever_the_policy() {
    for policy in [BlankPolicy::Ignore, BlankPolicy::Clear] {
        for (ops, blank) in [
            (
                json!([{ "op": "replace", "path": "name.givenName", "value": "" }]),
                "name.givenName",
            ),
            (
                json!([{ "op": "replace", "value": { "name.familyName": null } }]),
                "name.familyName",
            ),
            (
                json!([{ "op": "add", "value": { "name": { "givenName": null } } }]),
                "name.givenName",
            ),
            (
                json!([{ "op": "replace", "path": "name", "value": null }]),
                "name",
            ),
            (
                json!([{ "op": "replace", "path": "emails", "value": [{ "value": "" }] }]),
                "emails",
            ),
            (
                json!([{ "op": "replace", "path": "emails[type eq \"work\"].value", "value": "" }]),
                "emails.value",
            ),
            (
                json!([{ "op": "replace", "path": format!("{ENT}:department"), "value": "" }]),
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            ),
        ] {
            let mut doc = bob();
            let out = run_with(&mut doc, &user(), ops.clone(), policy).unwrap();
            assert_eq!(out.blanks, [blank], "{ops} under {policy:?}");
        }
    }
    // A blank manager removes it and is not a blank.
    let mut doc = bob();
    let out =
        doc.patch(json!([{ "op": "replace", "path": format!("{ENT}:manager"), "value": "" }]));
    assert!(out.blanks.is_empty());
}

#[test]
fn unknown_schema_objects_are_named_in_a_warning() {
    let ivanti = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User";
    for ops in [
        json!([{ "op": "add", "value": { ivanti: { "costCode": "1", "badge": "2" } } }]),
        json!([{ "op": "add", "path": ivanti, "value": { "costCode": "1", "badge": "2" } }]),
    ] {
        let mut doc = bob();
        let out = doc.patch(ops);
        assert_eq!(
            out.warnings,
            [format!(
                "ignored attributes 'costCode', 'badge' of unknown schema '{ivanti}'"
            )]
        );
        assert_eq!(doc, bob());
    }
    let mut doc = bob();
    let out =
        doc.patch(json!([{ "op": "add", "path": format!("{ivanti}:costCode"), "value": "1" }]));
    assert_eq!(
        out.warnings,
        [format!(
            "ignored attribute 'costCode' of unknown schema '{ivanti}'"
        )]
    );
}

#[test]
fn limits_apply_to_what_a_patch_changes() {
    let limits = crate::limits::Limits {
        max_identifier_bytes: 20,
        max_string_bytes: 10,
        max_values: 2,
        max_members: 3,
        ..Default::default()
    };
    let apply_limited = |doc: &mut Value, schema: &ResourceSchema, ops: Value| {
        let body = json!({ "Operations": ops });
        let req = PatchRequest::parse(&body)?;
        let opts = PatchOptions {
            limits,
            ..Default::default()
        };
        apply(doc, &req, schema, &opts)
    };
    // The stored name.familyName is within, department ("Sales") too; a new title over.
    let mut doc = bob();
    let (status, t, detail) = err_type(apply_limited(
        &mut doc,
        &user(),
        json!([{ "op": "add", "path": "title", "value": "12345678901" }]),
    ));
    assert_eq!((status, t), (400, Some(ScimType::InvalidValue)));
    assert!(
        detail.contains("'title' is 11 bytes") && detail.contains("limit is 10"),
        "{detail}"
    );
    // A third email.
    let mut doc = bob();
    let (_, _, detail) = err_type(apply_limited(
        &mut doc,
        &user(),
        json!([{ "op": "add", "path": "emails", "value": [{ "value": "a@x" }, { "value": "b@x" }] }]),
    ));
    assert!(detail.contains("'emails' has 3 values"), "{detail}");
    // A stored value over the limit does not block changing something else.
    let mut doc = bob();
    doc["nickName"] = json!("a nickname longer than ten bytes");
    apply_limited(
        &mut doc,
        &user(),
        json!([{ "op": "replace", "path": "title", "value": "t" }]),
    )
    .unwrap();
    // userName: the identifier limit, and refused characters.
    let mut doc = bob();
    let (_, _, detail) = err_type(apply_limited(
        &mut doc,
        &user(),
        json!([{ "op": "replace", "path": "userName", "value": "bob\u{200b}@contoso.com" }]),
    ));
    assert!(
        detail.contains("U+200B") && detail.contains("character 4"),
        "{detail}"
    );
    // Members over the operations of one request.
    let mut g = json!({ "displayName": "G" });
    let (_, _, detail) = err_type(apply_limited(
        &mut g,
        &group_resource_schema(),
        json!([
            { "op": "add", "path": "members", "value": [{ "value": "a" }, { "value": "b" }] },
            { "op": "remove", "path": "members", "value": [{ "value": "c" }, { "value": "d" }] }
        ]),
    ));
    assert!(detail.contains("names 4 members"), "{detail}");
}
