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
use scim_proto::limits::Limits;
use scim_proto::normalize::{self, normalize_resource};
use scim_proto::patch::{apply, BlankPolicy, MemberOp, PatchOptions, PatchOutcome, PatchRequest};
use scim_proto::schema::{
    group_resource_schema, user_resource_schema, ResourceSchema, ENTERPRISE_USER_SCHEMA,
};
use scim_proto::{ScimResult, ScimType};
use serde_json::{json, Value};

const ENT: &str = ENTERPRISE_USER_SCHEMA;
const MANAGER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

fn patch_with(
    doc: &mut Value,
    schema: &ResourceSchema,
    body: Value,
    policy: BlankPolicy,
) -> ScimResult<PatchOutcome> {
    let req = PatchRequest::parse(&body)?;
    // The caller's atomicity: work on a copy, keep it only on success.
    let mut work = doc.clone();
    let out = apply(
        &mut work,
        &req,
        schema,
        &PatchOptions {
            blank_policy: policy,
            ..Default::default()
        },
    )?;
    *doc = work;
    Ok(out)
}

fn patch(doc: &mut Value, schema: &ResourceSchema, body: Value) -> PatchOutcome {
    patch_with(doc, schema, body, BlankPolicy::Ignore).expect("PATCH failed")
}

fn ops(operations: Value) -> Value {
    json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations })
}

/// The User Entra creates (its POST body), normalised as the server stores it.
fn entra_user() -> Value {
    let body = json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
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
    normalize_resource(&user_resource_schema(vec![]), &body)
        .expect("create")
        .doc
}

/// The Group Entra creates, normalised.
fn entra_group() -> Value {
    let body = json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
        ],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": { "resourceType": "Group" }
    });
    normalize_resource(&group_resource_schema(), &body)
        .expect("create")
        .doc
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ------------------------------------------------------------------------------------
// Users, default dialect (no aadOptscim062020)
// ------------------------------------------------------------------------------------

#[test]
fn user_default_dialect_update_multi_valued_and_single_valued() {
    let schema = user_resource_schema(vec![]);
    let mut doc = entra_user();
    let out = patch(
        &mut doc,
        &schema,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com" },
                { "op": "Replace", "path": "name.familyName", "value": "updatedFamilyName" }
            ]
        }),
    );
    assert_eq!(
        doc["emails"],
        json!([{ "value": "updatedEmail@microsoft.com", "type": "work", "primary": true }])
    );
    assert_eq!(doc["name"]["familyName"], "updatedFamilyName");
    assert_eq!(doc["name"]["givenName"], "givenName");
    assert_eq!(out.changed, ["emails", "name"]);

    let out = patch(
        &mut doc,
        &schema,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "Replace",
                "path": "userName",
                "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
            }]
        }),
    );
    assert_eq!(
        doc["userName"],
        "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    );
    assert_eq!(out.changed, ["userName"]);
}

#[test]
fn user_default_dialect_disable_with_string_boolean() {
    let schema = user_resource_schema(vec![]);
    let mut doc = entra_user();
    let out = patch(
        &mut doc,
        &schema,
        ops(json!([{ "op": "Replace", "path": "active", "value": "False" }])),
    );
    assert_eq!(doc["active"], false);
    assert_eq!(out.changed, ["active"]);
    // Entra re-sends the same state: not a change.
    let out = patch(
        &mut doc,
        &schema,
        ops(json!([{ "op": "Replace", "path": "active", "value": "false" }])),
    );
    assert!(out.changed.is_empty());
    patch(
        &mut doc,
        &schema,
        ops(json!([{ "op": "Replace", "path": "active", "value": "True" }])),
    );
    assert_eq!(doc["active"], true);
}

#[test]
fn user_default_dialect_adds_new_attributes_one_op_each() {
    let schema = user_resource_schema(vec![]);
    let mut doc = entra_user();
    let out = patch(
        &mut doc,
        &schema,
        ops(json!([
            { "op": "Add", "path": "title", "value": "Engineer" },
            { "op": "Add", "path": "displayName", "value": "Test User" },
            { "op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0100" },
            { "op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0199" },
            { "op": "Add", "path": "phoneNumbers[type eq \"fax\"].value", "value": "+1 555 0111" },
            { "op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Microsoft Way" },
            { "op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Redmond" },
            { "op": "Add", "path": "addresses[type eq \"work\"].region", "value": "WA" },
            { "op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "98052" },
            { "op": "Add", "path": "addresses[type eq \"work\"].country", "value": "US" },
            { "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "1234" },
            { "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D" },
            { "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "2819c223-7f76-453a-919d-413861904646" },
            { "op": "Add", "path": "roles[primary eq \"True\"].value", "value": "Reader" }
        ])),
    );
    assert_eq!(doc["title"], "Engineer");
    assert_eq!(
        doc["phoneNumbers"],
        json!([
            { "value": "+1 555 0100", "type": "work" },
            { "value": "+1 555 0199", "type": "mobile" },
            { "value": "+1 555 0111", "type": "fax" }
        ])
    );
    assert_eq!(
        doc["addresses"],
        json!([{
            "streetAddress": "1 Microsoft Way",
            "locality": "Redmond",
            "region": "WA",
            "postalCode": "98052",
            "country": "US",
            "type": "work"
        }])
    );
    assert_eq!(
        doc[ENT],
        json!({ "employeeNumber": "1234", "department": "R&D", "manager": { "value": "2819c223-7f76-453a-919d-413861904646" } })
    );
    assert_eq!(
        doc["roles"],
        json!([{ "value": "Reader", "primary": true }])
    );
    let ent = |a: &str| format!("{ENT}:{a}");
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
    patch(
        &mut doc,
        &schema,
        ops(
            json!([{ "op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0200" }]),
        ),
    );
    assert_eq!(doc["phoneNumbers"].as_array().unwrap().len(), 3);
    assert_eq!(doc["phoneNumbers"][1]["value"], "+1 555 0200");
    patch(
        &mut doc,
        &schema,
        ops(
            json!([{ "op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "Writer" }]),
        ),
    );
    assert_eq!(
        doc["roles"],
        json!([{ "value": "Writer", "primary": true }])
    );
}

#[test]
fn user_default_dialect_manager_array_shape_and_removal() {
    let schema = user_resource_schema(vec![]);
    let mut doc = entra_user();
    patch(
        &mut doc,
        &schema,
        ops(
            json!([{ "op": "Add", "path": MANAGER, "value": [{ "$ref": null, "value": "Kqbgwm" }] }]),
        ),
    );
    assert_eq!(doc[ENT]["manager"], json!({ "value": "Kqbgwm" }));
    // Entra clears the manager with an empty value: removed whatever the blank policy.
    let out = patch(
        &mut doc,
        &schema,
        ops(json!([{ "op": "Replace", "path": MANAGER, "value": "" }])),
    );
    assert!(doc.get(ENT).is_none(), "{doc}");
    assert_eq!(out.changed, [MANAGER]);

    patch(
        &mut doc,
        &schema,
        ops(json!([{ "op": "Replace", "path": MANAGER, "value": { "value": "m-2" } }])),
    );
    patch(
        &mut doc,
        &schema,
        ops(json!([{ "op": "Remove", "path": MANAGER, "value": [{ "value": "m-2" }] }])),
    );
    assert!(doc.get(ENT).is_none());

    patch(
        &mut doc,
        &schema,
        ops(json!([{ "op": "Replace", "path": format!("{MANAGER}.value"), "value": "m-3" }])),
    );
    assert_eq!(doc[ENT]["manager"], json!({ "value": "m-3" }));
    patch(
        &mut doc,
        &schema,
        ops(json!([{ "op": "Replace", "path": MANAGER, "value": { "value": "" } }])),
    );
    assert!(doc.get(ENT).is_none());
    patch(
        &mut doc,
        &schema,
        ops(json!([{ "op": "Replace", "path": MANAGER, "value": "m-4" }])),
    );
    patch(
        &mut doc,
        &schema,
        ops(json!([{ "op": "Replace", "path": MANAGER, "value": null }])),
    );
    assert!(doc.get(ENT).is_none());
}

// ------------------------------------------------------------------------------------
// Users, aadOptscim062020 dialect
// ------------------------------------------------------------------------------------

#[test]
fn user_flag_dialect_disable_with_real_boolean() {
    let schema = user_resource_schema(vec![]);
    let mut doc = entra_user();
    let out = patch(
        &mut doc,
        &schema,
        json!({
            "Operations": [{ "op": "replace", "path": "active", "value": false }],
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]
        }),
    );
    assert_eq!(doc["active"], false);
    assert_eq!(out.changed, ["active"]);
}

#[test]
fn user_flag_dialect_add_ops_with_paths() {
    let schema = user_resource_schema(vec![]);
    let mut doc = entra_user();
    patch(
        &mut doc,
        &schema,
        ops(json!([
            { "op": "add", "path": "nickName", "value": "Babs" },
            { "op": "add", "path": "name.givenName", "value": "John" },
            { "op": "add", "path": "name.familyName", "value": "Doe" },
            { "op": "add", "path": "emails[type eq \"work\"].value", "value": "someone@contoso.com" },
            { "op": "add", "path": MANAGER, "value": "2819c223" }
        ])),
    );
    assert_eq!(doc["nickName"], "Babs");
    assert_eq!(
        doc["name"],
        json!({ "formatted": "givenName familyName", "familyName": "Doe", "givenName": "John" })
    );
    assert_eq!(
        doc["emails"],
        json!([{ "value": "someone@contoso.com", "type": "work", "primary": true }])
    );
    assert_eq!(doc[ENT]["manager"], json!({ "value": "2819c223" }));
}

// ------------------------------------------------------------------------------------
// Path-less operations (an object of attributes, keys as paths)
// ------------------------------------------------------------------------------------

#[test]
fn pathless_add_with_dotted_and_value_path_keys() {
    let schema = user_resource_schema(vec![]);
    let mut doc = json!({ "userName": "u@contoso.com" });
    let out = patch(
        &mut doc,
        &schema,
        ops(json!([{
            "op": "Add",
            "value": {
                "name.givenName": "John",
                "name.familyName": "Doe",
                "emails[type eq \"work\"].value": "someone@contoso.com"
            }
        }])),
    );
    assert_eq!(
        doc["name"],
        json!({ "familyName": "Doe", "givenName": "John" })
    );
    assert_eq!(
        doc["emails"],
        json!([{ "value": "someone@contoso.com", "type": "work" }])
    );
    assert_eq!(out.changed, ["name", "emails"]);
}

#[test]
fn pathless_replace_of_many_attributes() {
    let schema = user_resource_schema(vec![]);
    let mut doc = entra_user();
    patch(
        &mut doc,
        &schema,
        ops(json!([{
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
        }])),
    );
    assert_eq!(doc["displayName"], "Pvsvdbcl");
    assert_eq!(doc["emails"][0]["value"], "TestBcwqnm@test.microsoft.com");
    assert_eq!(doc["emails"].as_array().unwrap().len(), 1);
    assert_eq!(doc["name"]["givenName"], "Fgtnqj");
    assert_eq!(doc["externalId"], "Eqpj");
    assert_eq!(
        doc[ENT],
        json!({ "employeeNumber": "Kxwcbu", "manager": { "value": "m-1" } })
    );
    assert_eq!(doc["active"], false);
}

#[test]
fn pathless_nested_extension_object_merges() {
    let schema = user_resource_schema(vec![]);
    let mut doc = entra_user();
    patch(
        &mut doc,
        &schema,
        ops(json!([{ "op": "add", "value": { ENT: { "department": "A", "division": "B" } } }])),
    );
    patch(
        &mut doc,
        &schema,
        ops(
            json!([{ "op": "replace", "value": { ENT: { "department": "X", "manager": { "value": "m" } } } }]),
        ),
    );
    assert_eq!(
        doc[ENT],
        json!({ "division": "B", "department": "X", "manager": { "value": "m" } })
    );
}

#[test]
fn pathless_replace_active_only() {
    let schema = user_resource_schema(vec![]);
    let mut doc = entra_user();
    patch(
        &mut doc,
        &schema,
        ops(json!([{ "op": "Replace", "value": { "active": "False" } }])),
    );
    assert_eq!(doc["active"], false);
}

// ------------------------------------------------------------------------------------
// Things Entra sends that must not fail
// ------------------------------------------------------------------------------------

#[test]
fn unregistered_custom_extension_attributes_are_ignored_with_warnings() {
    let schema = user_resource_schema(vec![]);
    let mut doc = entra_user();
    let before = doc.clone();
    let out = patch(
        &mut doc,
        &schema,
        ops(json!([
            { "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:CustomAttribute", "value": "x" },
            { "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCentre", "value": "y" },
            { "op": "Replace", "path": "id", "value": "z" },
            { "op": "Replace", "path": "password", "value": "P@ssw0rd!" },
            { "op": "Add", "path": "groups", "value": [{ "value": "g" }] }
        ])),
    );
    assert_eq!(doc, before);
    assert!(out.changed.is_empty());
    assert_eq!(out.warnings.len(), 5, "{:?}", out.warnings);
    assert!(out.warnings.iter().all(|w| !w.contains("P@ssw0rd!")));
}

#[test]
fn removes_are_idempotent() {
    let schema = user_resource_schema(vec![]);
    let mut doc = entra_user();
    for _ in 0..2 {
        patch(
            &mut doc,
            &schema,
            ops(json!([
                { "op": "Remove", "path": "emails[type eq \"home\"].value" },
                { "op": "Remove", "path": "phoneNumbers[type eq \"mobile\"]" },
                { "op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager" },
                { "op": "Remove", "path": "title" }
            ])),
        );
    }
}

#[test]
fn failed_request_leaves_the_resource_as_it_was() {
    let schema = user_resource_schema(vec![]);
    let mut doc = entra_user();
    let before = doc.clone();
    let err = patch_with(
        &mut doc,
        &schema,
        ops(json!([
            { "op": "Replace", "path": "title", "value": "Boss" },
            { "op": "Replace", "path": "active", "value": "sometimes" }
        ])),
        BlankPolicy::Ignore,
    )
    .unwrap_err();
    assert_eq!(
        (err.status, err.scim_type),
        (400, Some(ScimType::InvalidValue))
    );
    assert!(err.detail.starts_with("operation 2:"), "{}", err.detail);
    assert_eq!(doc, before);
}

#[test]
fn blank_values_follow_the_policy() {
    let schema = user_resource_schema(vec![]);
    let body = ops(json!([
        { "op": "Replace", "path": "name.givenName", "value": "" },
        { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "" },
        { "op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": null }
    ]));
    let mut doc = entra_user();
    patch(
        &mut doc,
        &schema,
        ops(
            json!([{ "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "D" }]),
        ),
    );
    let start = doc.clone();
    let out = patch_with(&mut doc, &schema, body.clone(), BlankPolicy::Ignore).unwrap();
    assert_eq!(doc, start);
    assert!(out.changed.is_empty());
    let out = patch_with(&mut doc, &schema, body, BlankPolicy::Clear).unwrap();
    assert!(doc["name"].get("givenName").is_none());
    assert!(doc.get("emails").is_none());
    assert!(doc.get(ENT).is_none());
    assert_eq!(out.changed.len(), 3);
}

#[test]
fn patched_document_is_byte_identical_to_a_put_of_the_same_content() {
    let schema = user_resource_schema(vec![]);
    let mut doc = entra_user();
    patch(
        &mut doc,
        &schema,
        ops(json!([
            { "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D" },
            { "op": "Add", "path": "title", "value": "T" },
            { "op": "Add", "path": "addresses[type eq \"work\"].country", "value": "US" }
        ])),
    );
    let put = normalize_resource(&schema, &doc).unwrap().doc;
    assert_eq!(
        serde_json::to_string(&doc).unwrap(),
        serde_json::to_string(&put).unwrap()
    );
}

// ------------------------------------------------------------------------------------
// Groups
// ------------------------------------------------------------------------------------

#[test]
fn group_default_dialect() {
    let schema = group_resource_schema();
    let mut doc = entra_group();
    let out = patch(
        &mut doc,
        &schema,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "Replace",
                "path": "displayName",
                "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
            }]
        }),
    );
    assert_eq!(
        doc["displayName"],
        "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    );
    assert_eq!(out.changed, ["displayName"]);
    assert!(out.member_ops.is_empty());

    let out = patch(
        &mut doc,
        &schema,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "Add", "path": "members", "value": [{ "$ref": null, "value": "f648f8d5ea4e4cd38e9c" }] }]
        }),
    );
    assert_eq!(
        out.member_ops,
        [MemberOp::Add(ids(&["f648f8d5ea4e4cd38e9c"]))]
    );
    assert!(out.changed.is_empty());

    let out = patch(
        &mut doc,
        &schema,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "Remove", "path": "members", "value": [{ "$ref": null, "value": "f648f8d5ea4e4cd38e9c" }] }]
        }),
    );
    assert_eq!(
        out.member_ops,
        [MemberOp::Remove(ids(&["f648f8d5ea4e4cd38e9c"]))]
    );
    assert!(doc.get("members").is_none());
}

#[test]
fn group_flag_dialect() {
    let schema = group_resource_schema();
    let mut doc = entra_group();
    let out = patch(
        &mut doc,
        &schema,
        ops(json!([
            { "op": "add", "path": "members", "value": [{ "value": "u-1" }, { "value": "u-2" }] },
            { "op": "remove", "path": "members[value eq \"16b083c0-f1e8-4544-b6ee-27a28dc98761\"]" },
            { "op": "replace", "path": "externalId", "value": "new-ext" }
        ])),
    );
    assert_eq!(
        out.member_ops,
        [
            MemberOp::Add(ids(&["u-1", "u-2"])),
            MemberOp::Remove(ids(&["16b083c0-f1e8-4544-b6ee-27a28dc98761"]))
        ]
    );
    assert_eq!(doc["externalId"], "new-ext");
    assert_eq!(out.changed, ["externalId"]);
}

#[test]
fn group_replace_members_and_remove_all() {
    let schema = group_resource_schema();
    let mut doc = entra_group();
    let out = patch(
        &mut doc,
        &schema,
        ops(json!([
            { "op": "replace", "path": "members", "value": [{ "value": "a" }, { "value": "b" }] },
            { "op": "replace", "value": { "members": [] } },
            { "op": "remove", "path": "members" }
        ])),
    );
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
    let schema = group_resource_schema();
    let mut doc = entra_group();
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
    let mut run = |body: Value| {
        let req = PatchRequest::parse(&body).unwrap();
        apply(&mut doc, &req, &schema, &opts).expect("PATCH failed")
    };
    let started = std::time::Instant::now();
    let out = run(ops(
        json!([{ "op": "Add", "path": "members", "value": members.clone() }]),
    ));
    let out2 = run(ops(
        json!([{ "op": "Remove", "path": "members", "value": members }]),
    ));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(matches!(&out.member_ops[0], MemberOp::Add(v) if v.len() == 50_000));
    assert!(matches!(&out2.member_ops[0], MemberOp::Remove(v) if v.len() == 50_000));
}

#[test]
fn members_per_request_are_capped() {
    let schema = group_resource_schema();
    let mut doc = entra_group();
    let n = Limits::default().max_members;
    let ids = |from: usize, count: usize| -> Vec<Value> {
        (from..from + count)
            .map(|i| json!({ "value": format!("user-{i:06}") }))
            .collect()
    };
    // At the limit, in two operations: accepted.
    let half = n / 2;
    patch(
        &mut doc,
        &schema,
        ops(json!([
            { "op": "add", "path": "members", "value": ids(0, half) },
            { "op": "remove", "path": "members", "value": ids(0, n - half) }
        ])),
    );
    // One more, over the operations of one request: refused, naming the limit.
    let err = patch_with(
        &mut doc,
        &schema,
        ops(json!([
            { "op": "add", "path": "members", "value": ids(0, half) },
            { "op": "replace", "path": "members", "value": ids(0, n - half + 1) }
        ])),
        BlankPolicy::Ignore,
    )
    .unwrap_err();
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
    let schema = group_resource_schema();
    let mut doc = entra_group();
    let err = patch_with(
        &mut doc,
        &schema,
        ops(json!([{ "op": "replace", "path": "members[value eq \"a\"]", "value": { "value": "b" } }])),
        BlankPolicy::Ignore,
    )
    .unwrap_err();
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
    prop_oneof![
        Just("value".to_string()),
        Just("type".to_string()),
        Just("primary".to_string()),
        Just("givenName".to_string()),
        Just("active".to_string()),
        Just("emails".to_string()),
        Just("name".to_string()),
        Just("members".to_string()),
        Just("manager".to_string()),
        Just("displayName".to_string()),
        Just("userName".to_string()),
        Just("name.givenName".to_string()),
        Just("emails[type eq \"work\"].value".to_string()),
        Just(ENT.to_string()),
        Just(MANAGER.to_string()),
        Just("schemas".to_string()),
        Just("password".to_string()),
        "[a-zA-Z.:\\[\\]\" ]{0,12}",
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
        let (schema, mut doc) = if group {
            (group_resource_schema(), entra_group())
        } else {
            (user_resource_schema(vec![]), entra_user())
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
