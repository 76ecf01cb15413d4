use super::*;
use crate::schema::*;
use serde_json::json;
use std::sync::Arc;

const ENT: &str = ENTERPRISE_USER_SCHEMA;

fn users() -> ResourceSchema {
    user_resource_schema(vec![])
}

fn norm(body: Value) -> Normalized {
    normalize_resource(&users(), &body).unwrap()
}

fn err(rs: &ResourceSchema, body: Value) -> ScimError {
    normalize_resource(rs, &body).unwrap_err()
}

#[test]
fn entra_create_user() {
    let n = norm(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
        "externalId": "ext-1",
        "userName": "Test_User_ab6490ee@contoso.com",
        "active": "True",
        "displayName": "Test User",
        "emails": [{"primary": true, "type": "work", "value": "Test_User@contoso.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "given family", "familyName": "family", "givenName": "given"},
        "roles": [{"primary": "False", "type": "WindowsAzureActiveDirectoryRole", "value": "[{\"x\":1}]"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "mgr-id",
        "password": "hunter2"
    }));
    assert_eq!(
        n.doc,
        json!({
            "externalId": "ext-1",
            "userName": "Test_User_ab6490ee@contoso.com",
            "name": {"formatted": "given family", "familyName": "family", "givenName": "given"},
            "displayName": "Test User",
            "active": true,
            "emails": [{"value": "Test_User@contoso.com", "type": "work", "primary": true}],
            "roles": [{"value": "[{\"x\":1}]", "type": "WindowsAzureActiveDirectoryRole", "primary": false}],
            ENT: {"department": "Sales", "manager": {"value": "mgr-id"}}
        })
    );
    assert!(n.blanks.is_empty() && n.warnings.is_empty(), "{n:?}");
    assert_eq!(n.members, None);
    assert!(!format!("{n:?}").contains("hunter2"));
}

#[test]
fn canonical_key_order_is_schema_order() {
    let a =
        norm(json!({"title": "t", "userName": "u", "name": {"givenName": "g", "familyName": "f"}}));
    let b =
        norm(json!({"NAME": {"FamilyName": "f", "givenname": "g"}, "Title": "t", "USERNAME": "u"}));
    assert_eq!(
        serde_json::to_string(&a.doc).unwrap(),
        serde_json::to_string(&b.doc).unwrap()
    );
    assert_eq!(
        serde_json::to_string(&a.doc).unwrap(),
        r#"{"userName":"u","name":{"familyName":"f","givenName":"g"},"title":"t"}"#
    );
}

#[test]
fn enterprise_object_without_urn_in_schemas() {
    let n = norm(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "u",
        "urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:user": {
            "Department": "R&D", "employeeNumber": "42",
            "manager": {"value": "m1", "$ref": "../Users/m1", "displayName": "Boss"},
            "shoeSize": "9"
        }
    }));
    assert_eq!(
        n.doc[ENT],
        json!({"employeeNumber": "42", "department": "R&D", "manager": {"value": "m1"}})
    );
    assert_eq!(
        n.warnings,
        [format!("ignored unknown attribute '{ENT}:shoeSize'")]
    );
}

#[test]
fn full_urn_keys() {
    let n = norm(json!({
        "urn:ietf:params:scim:schemas:core:2.0:User:userName": "u",
        "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName": "G",
        "urn:ietf:params:scim:schemas:core:2.0:User:externalId": "e",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value": "m",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter": "",
        "urn:example:unknown:1.0:User:foo": "ignored",
        "urn:example:unknown:1.0:User": {"foo": "ignored"}
    }));
    assert_eq!(
        n.doc,
        json!({"externalId": "e", "userName": "u", "name": {"givenName": "G"}, ENT: {"manager": {"value": "m"}}})
    );
    assert_eq!(n.blanks, [format!("{ENT}:costCenter")]);
    // Issue 14: values under an unknown schema URN are no longer dropped without a trace
    // (both spellings give the same warning, recorded once).
    assert_eq!(
        n.warnings,
        ["ignored attribute 'foo' of unknown schema 'urn:example:unknown:1.0:User'"]
    );
}

#[test]
fn blanks_are_listed_not_stored() {
    let n = norm(json!({
        "userName": "u",
        "title": "",
        "nickName": null,
        "name": {"givenName": "", "familyName": "F"},
        "externalId": null,
        "emails": [{"value": "", "type": "work"}],
        "phoneNumbers": null,
        "addresses": [{"type": "work", "country": ""}, null],
        ENT: {"department": null, "manager": {"value": ""}, "division": ""}
    }));
    assert_eq!(n.doc, json!({"userName": "u", "name": {"familyName": "F"}}));
    assert_eq!(
        n.blanks,
        [
            "title".to_string(),
            "nickName".into(),
            "name.givenName".into(),
            "externalId".into(),
            "emails".into(),
            "phoneNumbers".into(),
            "addresses".into(),
            format!("{ENT}:department"),
            format!("{ENT}:manager"),
            format!("{ENT}:division"),
        ]
    );
}

#[test]
fn empty_complex_object_is_blank_but_all_blank_subs_are_listed_per_sub() {
    let n = norm(json!({"userName": "u", "name": {}}));
    assert_eq!(n.blanks, ["name"]);
    let n = norm(json!({"userName": "u", "name": {"givenName": "", "familyName": null}}));
    assert_eq!(n.blanks, ["name.givenName", "name.familyName"]);
    assert!(n.doc.get("name").is_none());
}

#[test]
fn manager_shapes() {
    for (input, expected) in [
        (json!("m1"), json!({"value": "m1"})),
        (
            json!([{"value": "m1", "$ref": "https://x/Users/m1"}]),
            json!({"value": "m1"}),
        ),
        (json!({"VALUE": "m1"}), json!({"value": "m1"})),
        (json!({"value": ""}), Value::Null),
        (json!(""), Value::Null),
        (json!([]), Value::Null),
        (json!({}), Value::Null),
    ] {
        let n = norm(json!({"userName": "u", ENT: {"manager": input.clone()}}));
        match expected {
            Value::Null => {
                assert!(n.doc.get(ENT).is_none(), "{input}");
                assert_eq!(n.blanks, [format!("{ENT}:manager")], "{input}");
            }
            e => assert_eq!(n.doc[ENT]["manager"], e, "{input}"),
        }
    }
    assert_eq!(
        err(&users(), json!({"userName": "u", ENT: {"manager": 5}})).status,
        400
    );
}

#[test]
fn readonly_and_unknown_are_ignored_with_warnings() {
    let n = norm(json!({
        "id": "abc", "userName": "u", "groups": [{"value": "g1"}], "foo": 1,
        "name": {"givenName": "G", "nick": "x"},
        "emails": [{"value": "a@b.c", "label": "x"}]
    }));
    assert_eq!(
        n.doc,
        json!({"userName": "u", "name": {"givenName": "G"}, "emails": [{"value": "a@b.c"}]})
    );
    assert_eq!(
        n.warnings,
        [
            "ignored readOnly attribute 'groups'",
            "ignored unknown attribute 'foo'",
            "ignored unknown attribute 'name.nick'",
            "ignored unknown attribute 'emails.label'"
        ]
    );
}

#[test]
fn password_is_dropped_silently() {
    let n = norm(json!({"userName": "u", "PASSWORD": "s3cret!"}));
    assert_eq!(n.doc, json!({"userName": "u"}));
    assert!(n.warnings.is_empty() && n.blanks.is_empty());
}

#[test]
fn nul_characters_are_400_invalid_value() {
    let schema = user_resource_schema(vec![]);
    for body in [
        json!({"userName": "a\u{0}b"}),
        json!({"userName": "ab", "emails": [{"value": "x\u{0}@y"}]}),
        json!({"userName": "ab", "urn:x:ext:2.0:User": {"k\u{0}": "v"}}),
    ] {
        let e = normalize_resource(&schema, &body).unwrap_err();
        assert_eq!(e.status, 400, "{body}");
        assert!(e.detail.contains("NUL"), "{}", e.detail);
    }
}

#[test]
fn wrong_types_are_400_invalid_value() {
    let rs = users();
    for body in [
        json!({"userName": 5}),
        json!({"userName": "u", "title": true}),
        json!({"userName": "u", "active": "yes"}),
        json!({"userName": "u", "active": 1}),
        json!({"userName": "u", "name": "Bob"}),
        json!({"userName": "u", "name": {"givenName": 3}}),
        json!({"userName": "u", "emails": [[1]]}),
        json!({"userName": "u", "emails": [{"primary": "maybe", "value": "x"}]}),
        json!({"userName": "u", "externalId": 12}),
        json!({"userName": "u", ENT: "Sales"}),
    ] {
        let e = err(&rs, body.clone());
        assert_eq!(
            (e.status, e.scim_type),
            (400, Some(crate::ScimType::InvalidValue)),
            "{body}"
        );
    }
    let e = err(&rs, json!({"userName": "u", "title": 7}));
    assert_eq!(e.detail, "attribute 'title' must be a string, got a number");
    let e = err(&rs, json!([1]));
    assert_eq!(
        (e.status, e.scim_type),
        (400, Some(crate::ScimType::InvalidSyntax))
    );
}

#[test]
fn required_attributes() {
    for body in [
        json!({}),
        json!({"userName": ""}),
        json!({"userName": null}),
        json!({"displayName": "x"}),
    ] {
        let e = err(&users(), body);
        assert_eq!((e.status, e.detail.as_str()), (400, "userName is required"));
    }
    let e = err(&group_resource_schema(), json!({"members": []}));
    assert_eq!(e.detail, "displayName is required");
    // emails / name are published as required but not enforced here.
    assert!(normalize_resource(&users(), &json!({"userName": "u"})).is_ok());
}

#[test]
fn multi_valued_shapes() {
    let n = norm(json!({
        "userName": "u",
        "emails": {"value": "a@b.c", "type": "work"},
        "phoneNumbers": [null, {"value": "+1", "primary": true}, {"value": "+2", "primary": true}],
        "entitlements": ["e1", ""],
        "addresses": [{"type": "home", "locality": "Oslo", "primary": "true"}]
    }));
    assert_eq!(n.doc["emails"], json!([{"value": "a@b.c", "type": "work"}]));
    // Issue 14 (RFC 7643 §2.4): the first primary value is kept, the others cleared.
    assert_eq!(
        n.doc["phoneNumbers"],
        json!([{"value": "+1", "primary": true}, {"value": "+2", "primary": false}])
    );
    let primary_warnings = n
        .warnings
        .iter()
        .filter(|w| w.starts_with("'phoneNumbers': 2 values had \"primary\": true"));
    assert_eq!(primary_warnings.count(), 1, "{:?}", n.warnings);
    assert_eq!(n.doc["entitlements"], json!([{"value": "e1"}]));
    assert_eq!(
        n.doc["addresses"],
        json!([{"locality": "Oslo", "type": "home", "primary": true}])
    );
}

#[test]
fn group_members() {
    let rs = group_resource_schema();
    let n = normalize_resource(
            &rs,
            &json!({
                "schemas": [GROUP_SCHEMA], "displayName": "Eng", "externalId": "g-ext",
                "Members": [{"value": "u1", "display": "U1"}, {"value": "u2", "$ref": "x", "type": "User"}, {"value": "u1"}]
            }),
        )
        .unwrap();
    assert_eq!(n.doc, json!({"externalId": "g-ext", "displayName": "Eng"}));
    assert_eq!(n.members, Some(vec!["u1".to_string(), "u2".into()]));
    let n = normalize_resource(&rs, &json!({"displayName": "Eng", "members": []})).unwrap();
    assert_eq!(n.members, Some(vec![]));
    let n = normalize_resource(&rs, &json!({"displayName": "Eng"})).unwrap();
    assert_eq!(n.members, None);
    let n = normalize_resource(&rs, &json!({"displayName": "Eng", "members": null})).unwrap();
    assert_eq!((n.members, n.blanks), (None, vec!["members".to_string()]));
    for bad in [
        json!([{"display": "x"}]),
        json!([{"value": ""}]),
        json!([{"value": null}]),
        json!([{"value": true}]),
    ] {
        let e = err(&rs, json!({"displayName": "Eng", "members": bad}));
        assert_eq!(
            (e.status, e.scim_type),
            (400, Some(crate::ScimType::InvalidValue))
        );
    }
}

#[test]
fn custom_extension_types() {
    let ext = Arc::new(Schema {
        id: "urn:example:custom:2.0:User".into(),
        name: "Custom".into(),
        description: "Custom".into(),
        attributes: vec![
            AttributeDef::new("hired", AttrType::DateTime, "d"),
            AttributeDef::new("level", AttrType::Integer, "i"),
            AttributeDef::new("score", AttrType::Decimal, "d"),
            AttributeDef::new("tags", AttrType::String, "t").with_multi_valued(),
        ],
    });
    let rs = user_resource_schema(vec![ext]);
    let n = normalize_resource(
            &rs,
            &json!({
                "userName": "u",
                "urn:example:custom:2.0:User": {"hired": "2024-03-01T10:00:00.500+02:00", "level": "7", "score": 1.5, "tags": "a"}
            }),
        )
        .unwrap();
    assert_eq!(
        n.doc["urn:example:custom:2.0:User"],
        json!({"hired": "2024-03-01T08:00:00.5Z", "level": 7, "score": 1.5, "tags": ["a"]})
    );
    for bad in [
        json!({"hired": "yesterday"}),
        json!({"level": 1.5}),
        json!({"level": "x"}),
        json!({"score": "abc"}),
        json!({"hired": 5}),
    ] {
        let e = err(
            &rs,
            json!({"userName": "u", "urn:example:custom:2.0:User": bad.clone()}),
        );
        assert_eq!(e.status, 400, "{bad}");
    }
}

#[test]
fn date_times() {
    for (input, normalized) in [
        ("2015-09-01T12:00:00Z", Some("2015-09-01T12:00:00Z")),
        ("2015-09-01T12:00:00-05:30", Some("2015-09-01T17:30:00Z")),
        ("2015-09-01T12:00:00.120Z", Some("2015-09-01T12:00:00.12Z")),
        ("2015-09-01T12:00:00", Some("2015-09-01T12:00:00Z")),
        ("2015-09-01", None),
        ("not a date", None),
    ] {
        assert_eq!(normalize_date_time(input).as_deref(), normalized, "{input}");
    }
    // As strings the local forms sort the wrong way; normalised, string order is time order.
    assert!(
        normalize_date_time("2015-09-02T00:30:00+01:00")
            < normalize_date_time("2015-09-01T23:59:59Z")
    );
}

#[test]
fn coerce_value_directly() {
    let u = user_schema();
    assert_eq!(
        coerce_value(u.attr("active").unwrap(), &json!("FALSE")).unwrap(),
        json!(false)
    );
    assert_eq!(
        coerce_value(u.attr("title").unwrap(), &json!("")).unwrap(),
        Value::Null
    );
    assert_eq!(
        coerce_value(u.attr("emails").unwrap(), &json!({"Value": "x@y"})).unwrap(),
        json!([{"value": "x@y"}])
    );
    let e = enterprise_user_schema();
    assert_eq!(
        coerce_value(e.attr("manager").unwrap(), &json!("m")).unwrap(),
        json!({"value": "m"})
    );
    assert_eq!(
        coerce_value(e.attr("manager").unwrap(), &json!([{"value": ""}])).unwrap(),
        Value::Null
    );
    let sub = u.attr("name").unwrap().sub("givenName").unwrap();
    assert_eq!(coerce_value(sub, &json!("G")).unwrap(), json!("G"));
    assert!(coerce_value(sub, &json!(1)).is_err());
}

#[test]
fn fold_document_folds_non_case_exact_strings() {
    let ext = Arc::new(Schema {
        id: "urn:example:c".into(),
        name: "C".into(),
        description: "C".into(),
        attributes: vec![AttributeDef::new("code", AttrType::String, "c").with_case_exact()],
    });
    let rs = user_resource_schema(vec![ext]);
    let doc = json!({
        "externalId": "AbC", "userName": "Bob@Example.COM", "active": true,
        "name": {"givenName": "BOB"}, "emails": [{"value": "B@X.COM", "primary": true}],
        ENT: {"department": "R&D", "manager": {"value": "MGR"}},
        "urn:example:c": {"code": "XyZ"}, "unknown": "KeEp"
    });
    assert_eq!(
        fold_document(&doc, &rs),
        json!({
            "externalId": "AbC", "userName": "bob@example.com", "active": true,
            "name": {"givenName": "bob"}, "emails": [{"value": "b@x.com", "primary": true}],
            ENT: {"department": "r&d", "manager": {"value": "mgr"}},
            "urn:example:c": {"code": "XyZ"}, "unknown": "KeEp"
        })
    );
}

#[test]
fn get_and_set_paths() {
    let mut doc = json!({"userName": "u", "name": {"givenName": "G"}, ENT: {"department": "D", "manager": {"value": "m"}}});
    assert_eq!(get_path(&doc, "username"), Some(&json!("u")));
    assert_eq!(get_path(&doc, "name.givenName"), Some(&json!("G")));
    assert_eq!(
        get_path(&doc, &format!("{ENT}:department")),
        Some(&json!("D"))
    );
    assert_eq!(
        get_path(&doc, &format!("{ENT}:manager.value")),
        Some(&json!("m"))
    );
    assert_eq!(get_path(&doc, ENT).unwrap()["department"], "D");
    assert_eq!(get_path(&doc, "title"), None);
    assert_eq!(get_path(&doc, "name.familyName"), None);

    set_path(&mut doc, "title", json!("T"));
    set_path(&mut doc, "name.familyName", json!("F"));
    set_path(&mut doc, &format!("{ENT}:costCenter"), json!("C"));
    set_path(&mut doc, "urn:example:new:User:x.y", json!(1));
    assert_eq!(doc["title"], "T");
    assert_eq!(doc["name"], json!({"givenName": "G", "familyName": "F"}));
    assert_eq!(doc[ENT]["costCenter"], "C");
    assert_eq!(doc["urn:example:new:User"], json!({"x": {"y": 1}}));

    set_path(&mut doc, "urn:example:new:User:x.y", Value::Null);
    assert!(doc.get("urn:example:new:User").is_none());
    set_path(&mut doc, "name.givenName", Value::Null);
    set_path(&mut doc, "name.familyName", Value::Null);
    assert!(doc.get("name").is_none());
    set_path(&mut doc, &format!("{ENT}:manager"), Value::Null);
    assert!(doc[ENT].get("manager").is_none());
    set_path(&mut doc, ENT, Value::Null);
    assert!(doc.get(ENT).is_none());
    set_path(&mut doc, "nothing.here", Value::Null);
    assert_eq!(doc, json!({"userName": "u", "title": "T"}));
}

#[test]
fn canonical_document_reorders_deeply() {
    let rs = users();
    let doc = json!({
        ENT: {"manager": {"value": "m"}, "department": "D"},
        "emails": [{"primary": true, "value": "a@b"}],
        "name": {"givenName": "G", "familyName": "F"},
        "userName": "u",
        "externalId": "e",
        "x-unknown": 1,
        "urn:example:other": {}
    });
    let c = canonical_document(&doc, &rs);
    assert_eq!(
        serde_json::to_string(&c).unwrap(),
        format!(
            r#"{{"externalId":"e","userName":"u","name":{{"familyName":"F","givenName":"G"}},"emails":[{{"value":"a@b","primary":true}}],"{ENT}":{{"department":"D","manager":{{"value":"m"}}}},"x-unknown":1,"urn:example:other":{{}}}}"#
        )
    );
    assert_eq!(canonical_document(&json!(1), &rs), json!(1));
}

#[test]
fn blanks_round_trip_through_get_path() {
    let old = json!({"userName": "u", "title": "Old", "name": {"givenName": "G"}, ENT: {"department": "D"}});
    let n = norm(
        json!({"userName": "u", "title": "", "name": {"givenName": null}, ENT: {"department": ""}}),
    );
    let mut doc = n.doc.clone();
    for p in &n.blanks {
        if let Some(v) = get_path(&old, p) {
            set_path(&mut doc, p, v.clone());
        }
    }
    assert_eq!(doc, old);
}
