//! PATCH conversations as Microsoft Entra ID's provisioning service has them with a SCIM
//! endpoint, with the request bodies it sends, in both of its dialects:
//!
//! - with the `aadOptscim062020` feature flag (RFC-compliant): lower-case `op`, real
//!   booleans, members removed with `members[value eq "id"]`;
//! - without it (the default of the `scim` job): `Add`/`Replace`/`Remove`, booleans as the
//!   strings `"True"`/`"False"`, members removed with `path: members` and a `value` array.
//!
//! Resources are created the way the server does it ([`normalize::normalize_resource`] of
//! Entra's POST body), then patched with the real schemas. Ends with a property test that
//! `parse` + `apply` never panic.

use proptest::prelude::*;
use scim_proto::error::ScimError;
use scim_proto::limits::Limits;
use scim_proto::normalize::{self, normalize_resource};
use scim_proto::patch::{apply, BlankPolicy, MemberOp, PatchOptions, PatchOutcome, PatchRequest};
use scim_proto::schema::{
    group_resource_schema, user_resource_schema, ResourceSchema, ENTERPRISE_USER_SCHEMA,
    USER_SCHEMA,
};
use scim_proto::{ScimResult, ScimType};
use serde_json::{json, Value};

const ENT: &str = ENTERPRISE_USER_SCHEMA;
const MANAGER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

/// The PatchOp request Entra sends with these operations.
fn ops(operations: Value) -> Value {
    json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations })
}

/// A resource as the server stores it, and the schema its PATCH requests are applied with.
struct Stored {
    schema: ResourceSchema,
    doc: Value,
}

impl Stored {
    /// The User Entra creates (its POST body), normalised as the server stores it.
    fn entra_user() -> Stored {
        let body = json!({
            "schemas": [USER_SCHEMA, ENT],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
            "active": true,
            "emails": [{
                "primary": true,
                "type": "work",
                "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"
            }],
            "meta": { "resourceType": "User" },
            "name": {
                "formatted": "givenName familyName",
                "familyName": "familyName",
                "givenName": "givenName"
            },
            "roles": []
        });
        Stored::created(user_resource_schema(vec![]), body)
    }

    /// The Group Entra creates, normalised.
    fn entra_group() -> Stored {
        let body = json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:Group",
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
            ],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
            "meta": { "resourceType": "Group" }
        });
        Stored::created(group_resource_schema(), body)
    }

    /// The resource a POST of `body` creates with `schema`.
    fn created(schema: ResourceSchema, body: Value) -> Stored {
        let doc = normalize_resource(&schema, &body).expect("create").doc;
        Stored { schema, doc }
    }

    /// Applies the PATCH request `body` with `options`, with the caller's atomicity: on a
    /// copy, kept only on success.
    fn try_patch_with(&mut self, body: Value, options: &PatchOptions) -> ScimResult<PatchOutcome> {
        let req = PatchRequest::parse(&body)?;
        let mut work = self.doc.clone();
        let out = apply(&mut work, &req, &self.schema, options)?;
        self.doc = work;
        Ok(out)
    }

    /// Applies the PATCH request `body` with this blank-value policy.
    fn try_patch(&mut self, body: Value, policy: BlankPolicy) -> ScimResult<PatchOutcome> {
        let options = PatchOptions {
            blank_policy: policy,
            ..Default::default()
        };
        self.try_patch_with(body, &options)
    }

    /// Applies the PATCH request of these `operations` (blanks ignored); panics when refused.
    fn patch(&mut self, operations: Value) -> PatchOutcome {
        self.try_patch(ops(operations), BlankPolicy::Ignore)
            .expect("PATCH failed")
    }

    /// The error the PATCH request of these `operations` (blanks ignored) is refused with;
    /// panics when it applies, and asserts that the refused request left the resource as it
    /// was.
    fn refused(&mut self, operations: Value) -> ScimError {
        let before = self.doc.clone();
        let err = self
            .try_patch(ops(operations), BlankPolicy::Ignore)
            .expect_err("PATCH applied");
        assert_eq!(self.doc, before, "a refused PATCH changed the resource");
        err
    }
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ------------------------------------------------------------------------------------
// Users, default dialect (no aadOptscim062020)
// ------------------------------------------------------------------------------------

#[test]
fn user_default_dialect_update_multi_valued_and_single_valued() {
    let mut u = Stored::entra_user();
    let out = u.patch(json!([
        { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com" },
        { "op": "Replace", "path": "name.familyName", "value": "updatedFamilyName" }
    ]));
    assert_eq!(
        u.doc["emails"],
        json!([{ "value": "updatedEmail@microsoft.com", "type": "work", "primary": true }])
    );
    assert_eq!(u.doc["name"]["familyName"], "updatedFamilyName");
    assert_eq!(u.doc["name"]["givenName"], "givenName");
    assert_eq!(out.changed, ["emails", "name"]);

    let new_name = "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com";
    let out = u.patch(json!([{ "op": "Replace", "path": "userName", "value": new_name }]));
    assert_eq!(u.doc["userName"], new_name);
    assert_eq!(out.changed, ["userName"]);
}

#[test]
fn user_default_dialect_disable_with_string_boolean() {
    let mut u = Stored::entra_user();
    let out = u.patch(json!([{ "op": "Replace", "path": "active", "value": "False" }]));
    assert_eq!(u.doc["active"], false);
    assert_eq!(out.changed, ["active"]);
    // Entra re-sends the same state: not a change.
    let out = u.patch(json!([{ "op": "Replace", "path": "active", "value": "false" }]));
    assert!(out.changed.is_empty());
    u.patch(json!([{ "op": "Replace", "path": "active", "value": "True" }]));
    assert_eq!(u.doc["active"], true);
}

#[test]
fn user_default_dialect_adds_new_attributes_one_op_each() {
    let mut u = Stored::entra_user();
    let phone = |ty: &str| format!("phoneNumbers[type eq \"{ty}\"].value");
    let ent = |a: &str| format!("{ENT}:{a}");
    let phones = [
        ("work", "+1 555 0100"),
        ("mobile", "+1 555 0199"),
        ("fax", "+1 555 0111"),
    ];
    let address = [
        ("streetAddress", "1 Microsoft Way"),
        ("locality", "Redmond"),
        ("region", "WA"),
        ("postalCode", "98052"),
        ("country", "US"),
    ];
    let manager = "2819c223-7f76-453a-919d-413861904646";
    // One `Add` an attribute, in the order Entra sends them: (path, value).
    let mut adds = vec![
        ("title".to_string(), "Engineer"),
        ("displayName".to_string(), "Test User"),
    ];
    adds.extend(phones.map(|(ty, number)| (phone(ty), number)));
    adds.extend(address.map(|(part, v)| (format!("addresses[type eq \"work\"].{part}"), v)));
    adds.extend([
        (ent("employeeNumber"), "1234"),
        (ent("department"), "R&D"),
        (ent("manager"), manager),
    ]);
    adds.push(("roles[primary eq \"True\"].value".to_string(), "Reader"));
    let out = u.patch(
        adds.iter()
            .map(|(path, value)| json!({ "op": "Add", "path": path, "value": value }))
            .collect(),
    );
    assert_eq!(u.doc["title"], "Engineer");
    let numbers: Vec<Value> = phones
        .iter()
        .map(|(ty, n)| json!({ "value": n, "type": ty }))
        .collect();
    assert_eq!(u.doc["phoneNumbers"], json!(numbers));
    let mut work_address: serde_json::Map<String, Value> = address
        .iter()
        .map(|(part, v)| (part.to_string(), json!(v)))
        .collect();
    work_address.insert("type".into(), json!("work"));
    assert_eq!(u.doc["addresses"], json!([work_address]));
    assert_eq!(
        u.doc[ENT],
        json!({ "employeeNumber": "1234", "department": "R&D", "manager": { "value": manager } })
    );
    assert_eq!(
        u.doc["roles"],
        json!([{ "value": "Reader", "primary": true }])
    );
    assert_eq!(
        out.changed,
        [
            "title".to_string(),
            "displayName".to_string(),
            "phoneNumbers".to_string(),
            "addresses".to_string(),
            ent("employeeNumber"),
            ent("department"),
            ent("manager"),
            "roles".to_string()
        ]
    );
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);

    // The next sync changes one of them: the element is found, not duplicated.
    u.patch(json!([{ "op": "Replace", "path": phone("mobile"), "value": "+1 555 0200" }]));
    assert_eq!(u.doc["phoneNumbers"].as_array().unwrap().len(), 3);
    assert_eq!(u.doc["phoneNumbers"][1]["value"], "+1 555 0200");
    u.patch(
        json!([{ "op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "Writer" }]),
    );
    assert_eq!(
        u.doc["roles"],
        json!([{ "value": "Writer", "primary": true }])
    );
}

#[test]
fn user_default_dialect_manager_array_shape_and_removal() {
    let mut u = Stored::entra_user();
    u.patch(
        json!([{ "op": "Add", "path": MANAGER, "value": [{ "$ref": null, "value": "Kqbgwm" }] }]),
    );
    assert_eq!(u.doc[ENT]["manager"], json!({ "value": "Kqbgwm" }));
    // Entra clears the manager with an empty value: removed whatever the blank policy.
    let out = u.patch(json!([{ "op": "Replace", "path": MANAGER, "value": "" }]));
    assert!(u.doc.get(ENT).is_none(), "{}", u.doc);
    assert_eq!(out.changed, [MANAGER]);
    // Set (the manager it then has), then taken away by each way Entra has of removing it.
    let sub_value = format!("{MANAGER}.value");
    for (set, manager, remove) in [
        (
            json!({ "op": "Replace", "path": MANAGER, "value": { "value": "m-2" } }),
            "m-2",
            json!({ "op": "Remove", "path": MANAGER, "value": [{ "value": "m-2" }] }),
        ),
        (
            json!({ "op": "Replace", "path": sub_value, "value": "m-3" }),
            "m-3",
            json!({ "op": "Replace", "path": MANAGER, "value": { "value": "" } }),
        ),
        (
            json!({ "op": "Replace", "path": MANAGER, "value": "m-4" }),
            "m-4",
            json!({ "op": "Replace", "path": MANAGER, "value": null }),
        ),
    ] {
        u.patch(json!([set]));
        assert_eq!(u.doc[ENT]["manager"], json!({ "value": manager }), "{set}");
        u.patch(json!([remove]));
        assert!(u.doc.get(ENT).is_none(), "{remove}");
    }
}

// ------------------------------------------------------------------------------------
// Users, aadOptscim062020 dialect
// ------------------------------------------------------------------------------------

#[test]
fn user_flag_dialect_disable_with_real_boolean() {
    let mut u = Stored::entra_user();
    // The body as Entra sends it in this dialect: `Operations` first.
    let out = u
        .try_patch(
            json!({
                "Operations": [{ "op": "replace", "path": "active", "value": false }],
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]
            }),
            BlankPolicy::Ignore,
        )
        .expect("PATCH failed");
    assert_eq!(u.doc["active"], false);
    assert_eq!(out.changed, ["active"]);
}

#[test]
fn user_flag_dialect_add_ops_with_paths() {
    let mut u = Stored::entra_user();
    u.patch(json!([
        { "op": "add", "path": "nickName", "value": "Babs" },
        { "op": "add", "path": "name.givenName", "value": "John" },
        { "op": "add", "path": "name.familyName", "value": "Doe" },
        { "op": "add", "path": "emails[type eq \"work\"].value", "value": "someone@contoso.com" },
        { "op": "add", "path": MANAGER, "value": "2819c223" }
    ]));
    assert_eq!(u.doc["nickName"], "Babs");
    assert_eq!(
        u.doc["name"],
        json!({ "formatted": "givenName familyName", "familyName": "Doe", "givenName": "John" })
    );
    assert_eq!(
        u.doc["emails"],
        json!([{ "value": "someone@contoso.com", "type": "work", "primary": true }])
    );
    assert_eq!(u.doc[ENT]["manager"], json!({ "value": "2819c223" }));
}

// ------------------------------------------------------------------------------------
// Path-less operations (an object of attributes, keys as paths)
// ------------------------------------------------------------------------------------

#[test]
fn pathless_add_with_dotted_and_value_path_keys() {
    let mut u = Stored {
        schema: user_resource_schema(vec![]),
        doc: json!({ "userName": "u@contoso.com" }),
    };
    let out = u.patch(json!([{
        "op": "Add",
        "value": {
            "name.givenName": "John",
            "name.familyName": "Doe",
            "emails[type eq \"work\"].value": "someone@contoso.com"
        }
    }]));
    assert_eq!(
        u.doc["name"],
        json!({ "familyName": "Doe", "givenName": "John" })
    );
    assert_eq!(
        u.doc["emails"],
        json!([{ "value": "someone@contoso.com", "type": "work" }])
    );
    assert_eq!(out.changed, ["name", "emails"]);
}

#[test]
fn pathless_replace_of_many_attributes() {
    let mut u = Stored::entra_user();
    u.patch(json!([{
        "op": "replace",
        "value": {
            "displayName": "Pvsvdbcl",
            "emails[type eq \"work\"].value": "TestBcwqnm@test.microsoft.com",
            "name.givenName": "Fgtnqj",
            "name.familyName": "Evjmxg",
            "externalId": "Eqpj",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Kxwcbu",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "m-1",
            "active": "False"
        }
    }]));
    assert_eq!(u.doc["displayName"], "Pvsvdbcl");
    assert_eq!(u.doc["emails"][0]["value"], "TestBcwqnm@test.microsoft.com");
    assert_eq!(u.doc["emails"].as_array().unwrap().len(), 1);
    assert_eq!(u.doc["name"]["givenName"], "Fgtnqj");
    assert_eq!(u.doc["externalId"], "Eqpj");
    assert_eq!(
        u.doc[ENT],
        json!({ "employeeNumber": "Kxwcbu", "manager": { "value": "m-1" } })
    );
    assert_eq!(u.doc["active"], false);
}

#[test]
fn pathless_nested_extension_object_merges() {
    let mut u = Stored::entra_user();
    u.patch(json!([{ "op": "add", "value": { ENT: { "department": "A", "division": "B" } } }]));
    u.patch(json!([{ "op": "replace", "value": { ENT: { "department": "X", "manager": { "value": "m" } } } }]));
    assert_eq!(
        u.doc[ENT],
        json!({ "division": "B", "department": "X", "manager": { "value": "m" } })
    );
}

#[test]
fn pathless_replace_active_only() {
    let mut u = Stored::entra_user();
    u.patch(json!([{ "op": "Replace", "value": { "active": "False" } }]));
    assert_eq!(u.doc["active"], false);
}

// ------------------------------------------------------------------------------------
// Things Entra sends that must not fail
// ------------------------------------------------------------------------------------

#[test]
fn unregistered_custom_extension_attributes_are_ignored_with_warnings() {
    let mut u = Stored::entra_user();
    let before = u.doc.clone();
    let out = u.patch(json!([
        { "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:CustomAttribute", "value": "x" },
        { "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCentre", "value": "y" },
        { "op": "Replace", "path": "id", "value": "z" },
        { "op": "Replace", "path": "password", "value": "P@ssw0rd!" },
        { "op": "Add", "path": "groups", "value": [{ "value": "g" }] }
    ]));
    assert_eq!(u.doc, before);
    assert!(out.changed.is_empty());
    assert_eq!(out.warnings.len(), 5, "{:?}", out.warnings);
    assert!(out.warnings.iter().all(|w| !w.contains("P@ssw0rd!")));
}

#[test]
fn removes_are_idempotent() {
    let mut u = Stored::entra_user();
    for _ in 0..2 {
        u.patch(json!([
            { "op": "Remove", "path": "emails[type eq \"home\"].value" },
            { "op": "Remove", "path": "phoneNumbers[type eq \"mobile\"]" },
            { "op": "Remove", "path": MANAGER },
            { "op": "Remove", "path": "title" }
        ]));
    }
}

#[test]
fn failed_request_leaves_the_resource_as_it_was() {
    // `refused` also asserts that the resource is as it was.
    let err = Stored::entra_user().refused(json!([
        { "op": "Replace", "path": "title", "value": "Boss" },
        { "op": "Replace", "path": "active", "value": "sometimes" }
    ]));
    assert_eq!(
        (err.status, err.scim_type),
        (400, Some(ScimType::InvalidValue))
    );
    assert!(err.detail.starts_with("operation 2:"), "{}", err.detail);
}

#[test]
fn blank_values_follow_the_policy() {
    let department = format!("{ENT}:department");
    let body = ops(json!([
        { "op": "Replace", "path": "name.givenName", "value": "" },
        { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "" },
        { "op": "Replace", "path": department, "value": null }
    ]));
    let mut u = Stored::entra_user();
    u.patch(json!([{ "op": "Add", "path": department, "value": "D" }]));
    let start = u.doc.clone();
    let out = u.try_patch(body.clone(), BlankPolicy::Ignore).unwrap();
    assert_eq!(u.doc, start);
    assert!(out.changed.is_empty());
    let out = u.try_patch(body, BlankPolicy::Clear).unwrap();
    assert!(u.doc["name"].get("givenName").is_none());
    assert!(u.doc.get("emails").is_none());
    assert!(u.doc.get(ENT).is_none());
    assert_eq!(out.changed.len(), 3);
}

#[test]
fn patched_document_is_byte_identical_to_a_put_of_the_same_content() {
    let department = format!("{ENT}:department");
    let mut u = Stored::entra_user();
    u.patch(json!([
        { "op": "Add", "path": department, "value": "R&D" },
        { "op": "Add", "path": "title", "value": "T" },
        { "op": "Add", "path": "addresses[type eq \"work\"].country", "value": "US" }
    ]));
    let put = normalize_resource(&u.schema, &u.doc).unwrap().doc;
    assert_eq!(
        serde_json::to_string(&u.doc).unwrap(),
        serde_json::to_string(&put).unwrap()
    );
}

// ------------------------------------------------------------------------------------
// Groups
// ------------------------------------------------------------------------------------

#[test]
fn group_default_dialect() {
    let mut g = Stored::entra_group();
    let new_name = "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName";
    let out = g.patch(json!([{ "op": "Replace", "path": "displayName", "value": new_name }]));
    assert_eq!(g.doc["displayName"], new_name);
    assert_eq!(out.changed, ["displayName"]);
    assert!(out.member_ops.is_empty());

    // Members added and removed with `path: members` and a `value` array.
    let member = json!([{ "$ref": null, "value": "f648f8d5ea4e4cd38e9c" }]);
    let out = g.patch(json!([{ "op": "Add", "path": "members", "value": member }]));
    assert_eq!(
        out.member_ops,
        [MemberOp::Add(ids(&["f648f8d5ea4e4cd38e9c"]))]
    );
    assert!(out.changed.is_empty());
    let out = g.patch(json!([{ "op": "Remove", "path": "members", "value": member }]));
    assert_eq!(
        out.member_ops,
        [MemberOp::Remove(ids(&["f648f8d5ea4e4cd38e9c"]))]
    );
    assert!(g.doc.get("members").is_none());
}

#[test]
fn group_flag_dialect() {
    let mut g = Stored::entra_group();
    let out = g.patch(json!([
        { "op": "add", "path": "members", "value": [{ "value": "u-1" }, { "value": "u-2" }] },
        { "op": "remove", "path": "members[value eq \"16b083c0-f1e8-4544-b6ee-27a28dc98761\"]" },
        { "op": "replace", "path": "externalId", "value": "new-ext" }
    ]));
    assert_eq!(
        out.member_ops,
        [
            MemberOp::Add(ids(&["u-1", "u-2"])),
            MemberOp::Remove(ids(&["16b083c0-f1e8-4544-b6ee-27a28dc98761"]))
        ]
    );
    assert_eq!(g.doc["externalId"], "new-ext");
    assert_eq!(out.changed, ["externalId"]);
}

#[test]
fn group_replace_members_and_remove_all() {
    let mut g = Stored::entra_group();
    let out = g.patch(json!([
        { "op": "replace", "path": "members", "value": [{ "value": "a" }, { "value": "b" }] },
        { "op": "replace", "value": { "members": [] } },
        { "op": "remove", "path": "members" }
    ]));
    assert_eq!(
        out.member_ops,
        [
            MemberOp::Replace(ids(&["a", "b"])),
            MemberOp::Replace(vec![]),
            MemberOp::RemoveAll
        ]
    );
}

#[test]
fn group_thousands_of_members_in_one_operation() {
    let mut g = Stored::entra_group();
    let members: Vec<Value> = (0..50_000)
        .map(|i| json!({ "value": format!("user-{i:06}") }))
        .collect();
    // A server configured for 50,000 members per request (the default is lower).
    let opts = PatchOptions {
        limits: Limits {
            max_members: 50_000,
            ..Limits::default()
        },
        ..Default::default()
    };
    let mut run = |operations: Value| {
        g.try_patch_with(ops(operations), &opts)
            .expect("PATCH failed")
    };
    let started = std::time::Instant::now();
    let out = run(json!([{ "op": "Add", "path": "members", "value": members.clone() }]));
    let out2 = run(json!([{ "op": "Remove", "path": "members", "value": members }]));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(matches!(&out.member_ops[0], MemberOp::Add(v) if v.len() == 50_000));
    assert!(matches!(&out2.member_ops[0], MemberOp::Remove(v) if v.len() == 50_000));
}

#[test]
fn members_per_request_are_capped() {
    let mut g = Stored::entra_group();
    let n = Limits::default().max_members;
    let ids = |from: usize, count: usize| -> Vec<Value> {
        (from..from + count)
            .map(|i| json!({ "value": format!("user-{i:06}") }))
            .collect()
    };
    // At the limit, in two operations: accepted.
    let half = n / 2;
    g.patch(json!([
        { "op": "add", "path": "members", "value": ids(0, half) },
        { "op": "remove", "path": "members", "value": ids(0, n - half) }
    ]));
    // One more, over the operations of one request: refused, naming the limit.
    let err = g.refused(json!([
        { "op": "add", "path": "members", "value": ids(0, half) },
        { "op": "replace", "path": "members", "value": ids(0, n - half + 1) }
    ]));
    assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
    assert!(
        err.detail.contains(&format!("names {} members", n + 1))
            && err.detail.contains(&format!("the limit is {n}")),
        "{}",
        err.detail
    );
}

#[test]
fn group_replace_of_one_member_is_refused() {
    let mut g = Stored::entra_group();
    let err = g.refused(
        json!([{ "op": "replace", "path": "members[value eq \"a\"]", "value": { "value": "b" } }]),
    );
    assert_eq!(err.scim_type, Some(ScimType::InvalidPath));
}

// ------------------------------------------------------------------------------------
// Property: parse + apply never panic, and keep the document canonical-shaped
// ------------------------------------------------------------------------------------

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        Just(json!(1.5)),
        prop_oneof![
            Just(""),
            Just("True"),
            Just("false"),
            Just("work"),
            Just("x@y.org"),
            Just("2020-01-01T00:00:00Z"),
            Just("{\"id\":1}")
        ]
        .prop_map(|s| json!(s)),
        "[a-zA-Z0-9 ]{0,8}".prop_map(Value::String),
    ]
}

fn arb_key() -> impl Strategy<Value = String> {
    let known = prop_oneof![
        Just("value"),
        Just("type"),
        Just("primary"),
        Just("givenName"),
        Just("active"),
        Just("emails"),
        Just("name"),
        Just("members"),
        Just("manager"),
        Just("displayName"),
        Just("userName"),
        Just("name.givenName"),
        Just("emails[type eq \"work\"].value"),
        Just(ENT),
        Just(MANAGER),
        Just("schemas"),
        Just("password"),
    ]
    .prop_map(str::to_string);
    // As likely as each known key before: 17 known keys to 1 pattern.
    prop_oneof![
        17 => known,
        1 => "[a-zA-Z.:\\[\\]\" ]{0,12}",
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    arb_scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((arb_key(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn arb_path() -> impl Strategy<Value = Option<String>> {
    let known = prop_oneof![
        Just("userName"),
        Just("active"),
        Just("name"),
        Just("name.givenName"),
        Just("emails"),
        Just("emails.value"),
        Just("emails[type eq \"work\"]"),
        Just("emails[type eq \"work\"].value"),
        Just("emails[primary eq \"True\"].primary"),
        Just("emails[value co \"x\" or type eq \"home\"].display"),
        Just("roles[primary eq \"True\"].value"),
        Just("addresses[type eq \"work\"].locality"),
        Just("members"),
        Just("members[value eq \"a\"]"),
        Just("members[value eq \"a\" or value eq \"b\"]"),
        Just("members[type eq \"User\"]"),
        Just("members.value"),
        Just("displayName"),
        Just("externalId"),
        Just("id"),
        Just("meta.created"),
        Just("groups"),
        Just("password"),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName"),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
        Just("urn:ietf:params:scim:schemas:core:2.0:User"),
        Just("urn:ietf:params:scim:schemas:core:2.0:User:title"),
        Just("urn:example:unknown:1.0:User:x"),
        Just("name[givenName eq \"x\"]"),
    ]
    .prop_map(str::to_string);
    prop_oneof![
        2 => Just(None),
        7 => known.prop_map(Some),
        1 => "[a-zA-Z.:\\[\\]\"= ]{0,16}".prop_map(Some),
    ]
}

fn arb_op() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        4 => Just("add"),
        4 => Just("Add"),
        4 => Just("replace"),
        4 => Just("Replace"),
        3 => Just("remove"),
        3 => Just("Remove"),
        1 => Just("move"),
    ];
    (kind, arb_path(), prop::option::weighted(0.9, arb_json())).prop_map(|(k, p, v)| {
        let mut o = serde_json::Map::new();
        o.insert("op".into(), json!(k));
        if let Some(p) = p {
            o.insert("path".into(), json!(p));
        }
        if let Some(v) = v {
            o.insert("value".into(), v);
        }
        Value::Object(o)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn apply_never_panics(
        operations in prop::collection::vec(arb_op(), 1..6),
        group in any::<bool>(),
        clear in any::<bool>(),
    ) {
        let Stored { schema, mut doc } = if group {
            Stored::entra_group()
        } else {
            Stored::entra_user()
        };
        let policy = if clear { BlankPolicy::Clear } else { BlankPolicy::Ignore };
        let body = json!({ "Operations": operations });
        if let Ok(req) = PatchRequest::parse(&body) {
            let res = apply(&mut doc, &req, &schema, &PatchOptions {
                    blank_policy: policy,
                    ..Default::default()
                });
            if let Ok(out) = res {
                let obj = doc.as_object().expect("still an object");
                for banned in ["password", "id", "meta", "schemas", "members", "groups"] {
                    prop_assert!(!obj.contains_key(banned), "{} in {}", banned, doc);
                }
                let mut seen = std::collections::HashSet::new();
                prop_assert!(out.changed.iter().all(|c| seen.insert(c)), "duplicate in {:?}", out.changed);
                for (k, v) in obj {
                    prop_assert!(!v.is_null(), "null at {}", k);
                    if let Some(o) = v.as_object() {
                        prop_assert!(!o.is_empty(), "empty object at {}", k);
                    }
                    if let Some(a) = v.as_array() {
                        prop_assert!(!a.is_empty(), "empty array at {}", k);
                    }
                }
                // A document PATCH produced is one a PUT accepts (userName / displayName
                // cannot be removed), and the patched values survive normalisation.
                let again = normalize::normalize_resource(&schema, &doc);
                prop_assert!(again.is_ok(), "{:?} for {}", again, doc);
                let again = serde_json::to_string(&again.unwrap().doc).unwrap();
                prop_assert_eq!(again, serde_json::to_string(&doc).unwrap());
            }
        }
    }
}
