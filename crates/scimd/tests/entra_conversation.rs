//! Replays what Microsoft Entra ID sends when it provisions into a SCIM endpoint: the
//! connection test, user and group creation, the PATCH shapes of both the default dialect
//! and the `aadOptscim062020` dialect, disable/enable, manager, userName change, members in
//! every form, rename, deletes and paging. Request bodies and query strings follow what
//! Entra sends (Microsoft's "Develop and plan provisioning for a SCIM endpoint" request
//! examples and "Known issues and resolutions with SCIM 2.0 protocol compliance").
//!
//! All tests share one server (started lazily) and use unique userNames / displayNames. Each
//! conversation runs twice: on the root paths (`root_paths::`), and on a second tenant's
//! own paths, `/t/entra-b/scim/v2` (`tenant_paths::`, issue 15), so that what Entra sees is
//! the same on every tenant.

mod common;

use common::*;
use serde_json::{json, Value};

/// The Group schema URN Entra ID puts beside the core one on group creation.
const MS_ADSCIM_GROUP: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

thread_local! {
    /// Whether this test's conversation is on the second tenant's paths.
    static ON_TENANT_PATHS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The shared server's second tenant (created once, by `scimd tenant create`): its SCIM
/// Tenant URL and secret token.
fn second_tenant() -> &'static (String, String) {
    static TENANT: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    TENANT.get_or_init(|| {
        let srv = Server::shared();
        let out = srv.cli(&[
            "tenant", "create", "--name", "Entra B", "--slug", "entra-b", "--json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let t: Value = serde_json::from_slice(&out.stdout).unwrap();
        let url = t["scimUrl"].as_str().unwrap().to_string();
        (url, t["scimToken"].as_str().unwrap().to_string())
    })
}

/// A client of the conversation's paths: the root tenant's, or the second tenant's.
fn client() -> Client {
    if ON_TENANT_PATHS.with(|t| t.get()) {
        let (url, token) = second_tenant();
        Client::new(url, Some(token))
    } else {
        Server::shared().client()
    }
}

/// Each conversation as a test on the root paths and as one on the second tenant's paths.
macro_rules! on_both_paths {
    ($($name:ident),* $(,)?) => {
        mod root_paths {
            $(#[tokio::test]
            async fn $name() {
                super::$name().await
            })*
        }
        mod tenant_paths {
            $(#[tokio::test]
            async fn $name() {
                super::ON_TENANT_PATHS.with(|t| t.set(true));
                assert!(super::client().base.ends_with("/t/entra-b/scim/v2"));
                super::$name().await
            })*
        }
    };
}

on_both_paths!(
    connection_test_filters_on_a_random_guid,
    user_create_keeps_every_attribute_entra_sends,
    user_lifecycle_default_dialect,
    user_lifecycle_aadoptscim062020_dialect,
    pathless_add_and_replace_take_paths_and_urn_keys,
    filtered_multivalue_paths_create_the_element_once,
    add_on_a_single_valued_attribute_replaces_it,
    manager_set_replace_and_remove_in_every_shape,
    roles_sent_as_json_encoded_strings_are_kept_as_sent,
    group_lifecycle,
    add_and_remove_of_the_same_member_apply_in_order,
    one_op_carries_1500_members,
    members_of_unknown_ids_are_refused_and_nothing_changes,
    duplicate_create_is_a_conflict_entra_can_recover_from,
);

/// The body Entra ID posts for a new user (shape of Microsoft's "Create User" example,
/// plus the attributes a typical attribute mapping sends).
fn entra_user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "displayName": "Barbara Jensen",
        "title": "Tour Guide",
        "preferredLanguage": "en-US",
        "emails": [{
            "primary": true,
            "type": "work",
            "value": format!("{}@testuser.com", external_id)
        }],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": "Barbara Jensen",
            "familyName": "Jensen",
            "givenName": "Barbara"
        },
        "addresses": [{
            "type": "work",
            "formatted": "1 Main St\nSpringfield, IL 62701 US",
            "streetAddress": "1 Main St",
            "locality": "Springfield",
            "region": "IL",
            "postalCode": "62701",
            "country": "US",
            "primary": false
        }],
        "phoneNumbers": [
            {"type": "work", "value": "+1 555 0100"},
            {"type": "mobile", "value": "+1 555 0101"},
            {"type": "fax", "value": "+1 555 0102"}
        ],
        "roles": [],
        ENTERPRISE: {
            "employeeNumber": "701984",
            "costCenter": "4130",
            "organization": "Universal Studios",
            "division": "Theme Park",
            "department": "Tour Operations"
        }
    })
}

fn ent(u: &Value) -> &Value {
    &u[ENTERPRISE]
}

/// The elements of a multi-valued attribute whose `type` is `ty`.
fn of_type<'a>(u: &'a Value, attr: &str, ty: &str) -> Vec<&'a Value> {
    u[attr]
        .as_array()
        .map(|a| a.iter().filter(|e| e["type"] == json!(ty)).collect())
        .unwrap_or_default()
}

async fn get_user(c: &Client, id: &str) -> Value {
    let r = c.get_ok(&format!("/Users/{id}")).await;
    r.json().clone()
}

/// The users Entra's lookup finds: `GET /Users?filter=userName+eq+"x"` with form encoding.
async fn entra_lookup(c: &Client, user_name: &str) -> Resp {
    let r = c
        .get_ok(&format!(
            "/Users?filter={}&aadOptscim062020",
            form_enc(&format!("userName eq \"{user_name}\""))
        ))
        .await;
    assert_eq!(r.json()["schemas"], json!([LIST]));
    r
}

/// [`entra_lookup`] that must find exactly one user: that user.
async fn entra_lookup_one(c: &Client, user_name: &str) -> Value {
    let l = entra_lookup(c, user_name).await;
    assert_eq!(l.total(), 1, "lookup of {user_name}: {}", l.text);
    l.resources()[0].clone()
}

#[track_caller]
fn assert_empty_list(r: &Resp) {
    r.expect(200);
    let b = r.json();
    assert_eq!(b["schemas"], json!([LIST]), "{b}");
    assert_eq!(b["totalResults"], json!(0), "{b}");
    assert_eq!(b["startIndex"], json!(1), "{b}");
    if let Some(res) = b.get("Resources") {
        assert_eq!(res, &json!([]), "{b}");
    }
    if let Some(n) = b.get("itemsPerPage") {
        assert_eq!(n, &json!(0), "{b}");
    }
}

async fn connection_test_filters_on_a_random_guid() {
    let c = client();
    // What "Test Connection" sends: a user and a group lookup on values that cannot exist.
    for q in [
        format!("/Users?filter=userName+eq+%22{}%22", guid()),
        format!("/Users?filter=userName%20eq%20%22{}%22", guid()),
        format!("/Users?filter=userName eq \"{}\"", guid()),
        format!(
            "/Users?filter={}&aadOptscim062020",
            form_enc(&format!("userName eq \"{}\"", guid()))
        ),
        format!(
            "/Users?aadOptscim062020&filter={}",
            form_enc(&format!("userName eq \"{}\"", guid()))
        ),
        format!(
            "/Groups?excludedAttributes=members&filter=displayName+eq+%22{}%22",
            guid()
        ),
        format!(
            "/Groups?filter={}&aadOptscim062020",
            form_enc(&format!("displayName eq \"{}\"", guid()))
        ),
        format!("/Users?filter=externalId+eq+%22{}%22", guid()),
        format!(
            "/Groups?filter=externalId+eq+%22{}%22&excludedAttributes=members",
            guid()
        ),
    ] {
        let r = c.get(&q).await;
        assert_empty_list(&r);
    }
}

async fn user_create_keeps_every_attribute_entra_sends() {
    let c = client();
    let user_name = format!("{}@contoso.example", unique("Test_User"));
    let external_id = guid();
    let body = entra_user(&user_name, &external_id);
    let r = c.post("/Users?aadOptscim062020", &body).await;
    r.expect(201);
    let u = r.json().clone();
    let id = r.id();
    assert!(!id.is_empty());
    assert_eq!(u["userName"], json!(user_name));
    assert_eq!(u["externalId"], json!(external_id));
    assert_eq!(u["active"], json!(true));
    assert_eq!(u["displayName"], json!("Barbara Jensen"));
    assert_eq!(u["title"], json!("Tour Guide"));
    assert_eq!(u["preferredLanguage"], json!("en-US"));
    assert_eq!(u["name"]["givenName"], json!("Barbara"));
    assert_eq!(u["name"]["familyName"], json!("Jensen"));
    assert_eq!(u["name"]["formatted"], json!("Barbara Jensen"));
    assert_eq!(u["emails"], body["emails"]);
    let addr = &u["addresses"][0];
    for k in ["type".to_string()].into_iter().chain(address_parts()) {
        assert_eq!(
            addr[&k], body["addresses"][0][&k],
            "addresses[0].{k} in {u}"
        );
    }
    assert_eq!(u["phoneNumbers"].as_array().map(Vec::len), Some(3), "{u}");
    for (ty, v) in [
        ("work", "+1 555 0100"),
        ("mobile", "+1 555 0101"),
        ("fax", "+1 555 0102"),
    ] {
        let e = of_type(&u, "phoneNumbers", ty);
        assert_eq!(e.len(), 1, "{u}");
        assert_eq!(e[0]["value"], json!(v));
    }
    for k in enterprise_strings() {
        assert_eq!(ent(&u)[&k], body[ENTERPRISE][&k], "{k} in {u}");
    }
    let schemas = u["schemas"].as_array().unwrap();
    assert!(
        schemas.contains(&json!(USER)) && schemas.contains(&json!(ENTERPRISE)),
        "{u}"
    );
    // meta is server-made; the client's meta.resourceType is not echoed blindly.
    assert_eq!(u["meta"]["resourceType"], json!("User"));
    assert!(
        u["meta"]["created"].is_string() && u["meta"]["lastModified"].is_string(),
        "{u}"
    );
    let location = u["meta"]["location"].as_str().unwrap().to_string();
    assert!(
        location.ends_with(&format!("/scim/v2/Users/{id}")),
        "{location}"
    );
    assert_eq!(
        r.header("location"),
        location,
        "Location header must equal meta.location"
    );
    assert_eq!(
        r.header("etag"),
        u["meta"]["version"].as_str().unwrap(),
        "ETag must equal meta.version"
    );

    // GET by id returns the same representation.
    let again = get_user(&c, &id).await;
    assert_eq!(again, u);
    // And Entra's lookup finds it.
    assert_eq!(entra_lookup_one(&c, &user_name).await["id"], json!(id));
    // externalId lookup too.
    let l = c
        .filter_users(&format!("externalId eq \"{external_id}\""))
        .await;
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["id"], json!(id));
}

async fn user_lifecycle_default_dialect() {
    let c = client();
    let user_name = format!("{}@contoso.example", unique("Dflt"));
    // 1. Entra looks the user up before creating it.
    assert_eq!(entra_lookup(&c, &user_name).await.total(), 0);
    // 2. Create.
    let r = c.post("/Users", &entra_user(&user_name, &guid())).await;
    r.expect(201);
    let id = r.id();

    // 3. Disable, as Entra sends it without aadOptscim062020: "Replace" and a string boolean.
    let r = c
        .patch_op(&format!("/Users/{id}"), "Replace", "active", json!("False"))
        .await;
    r.expect(200);
    assert_eq!(r.json()["active"], json!(false), "{}", r.text);
    assert_eq!(r.json()["id"], json!(id));
    // A disabled user stays visible to GET and to filters.
    assert_eq!(get_user(&c, &id).await["active"], json!(false));
    let found = entra_lookup_one(&c, &user_name).await;
    assert_eq!(found["active"], json!(false));
    let inactive = c
        .filter_users(&format!("userName eq \"{user_name}\" and active eq false"))
        .await;
    assert_eq!(inactive.len(), 1);

    // 4. Re-enable.
    let r = c
        .patch_op(&format!("/Users/{id}"), "Replace", "active", json!("True"))
        .await;
    r.expect(200);
    assert_eq!(r.json()["active"], json!(true));
    assert_eq!(
        c.filter_users(&format!("userName eq \"{user_name}\" and active eq true"))
            .await
            .len(),
        1
    );

    // 5. Microsoft's "Update User [Multi-valued properties]" example, body verbatim.
    let update_multi_valued = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
        ]
    });
    let r = c.patch(&format!("/Users/{id}"), &update_multi_valued).await;
    r.expect(200);
    let u = r.json();
    let work = of_type(u, "emails", "work");
    assert_eq!(work.len(), 1, "{u}");
    assert_eq!(work[0]["value"], json!("updatedEmail@microsoft.com"));
    assert_eq!(
        work[0]["primary"],
        json!(true),
        "untouched sub-attributes stay: {u}"
    );
    assert_eq!(u["name"]["familyName"], json!("updatedFamilyName"));
    assert_eq!(
        u["name"]["givenName"],
        json!("Barbara"),
        "other name parts stay: {u}"
    );

    // 6. Path-less Add whose keys are attribute paths (default dialect).
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "Add", "value": {
                "name.givenName": "Babs",
                "title": "Chief Guide",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Marketing",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42"
            }}]),
        )
        .await;
    r.expect(200);
    let u = r.json();
    // The untouched extension attribute (costCenter) stays.
    assert_includes(
        u,
        &json!({
            "name": {"givenName": "Babs", "familyName": "updatedFamilyName"},
            "title": "Chief Guide",
            ENTERPRISE: {"department": "Marketing", "employeeNumber": "42", "costCenter": "4130"},
        }),
    );

    // 7. Microsoft's "Update User [Single-valued properties]": userName change.
    let new_name = format!("{}@contoso.example", unique("Renamed"));
    let r = c
        .patch_op(
            &format!("/Users/{id}"),
            "Replace",
            "userName",
            json!(new_name),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["userName"], json!(new_name));
    assert_eq!(
        entra_lookup(&c, &user_name).await.total(),
        0,
        "the old userName no longer matches"
    );
    assert_eq!(entra_lookup_one(&c, &new_name).await["id"], json!(id));

    // 8. Delete.
    c.delete(&format!("/Users/{id}")).await.expect(204);
    c.get(&format!("/Users/{id}")).await.expect_error(404, None);
    assert_eq!(entra_lookup(&c, &new_name).await.total(), 0);
    c.patch_op(&format!("/Users/{id}"), "Replace", "active", json!("False"))
        .await
        .expect_error(404, None);
    c.delete(&format!("/Users/{id}"))
        .await
        .expect_error(404, None);
}

async fn user_lifecycle_aadoptscim062020_dialect() {
    let c = client();
    let user_name = format!("{}@contoso.example", unique("Opt"));
    assert_eq!(entra_lookup(&c, &user_name).await.total(), 0);
    let r = c
        .post("/Users?aadOptscim062020", &entra_user(&user_name, &guid()))
        .await;
    r.expect(201);
    let id = r.id();
    let path = format!("/Users/{id}?aadOptscim062020");

    // Disable / enable with proper booleans and lower-case ops.
    let r = c.patch_op(&path, "replace", "active", json!(false)).await;
    r.expect(200);
    assert_eq!(r.json()["active"], json!(false));
    assert_eq!(get_user(&c, &id).await["active"], json!(false));
    let r = c.patch_op(&path, "replace", "active", json!(true)).await;
    r.expect(200);
    assert_eq!(r.json()["active"], json!(true));

    // Attributes with paths, as the flag makes Entra send them.
    let r = c
        .patch_ops(
            &path,
            json!([
                {"op": "add", "path": "nickName", "value": "Babs"},
                {"op": "replace", "path": "displayName", "value": "Babs Jensen"},
                {"op": "replace", "path": "name.givenName", "value": "Barb"},
                {"op": "replace", "path": format!("{ENTERPRISE}:division"), "value": "Parks"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "barb@contoso.example"},
                {"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0199"},
                {"op": "replace", "path": "addresses[type eq \"work\"].locality", "value": "Shelbyville"}
            ]),
        )
        .await;
    r.expect(200);
    let u = r.json();
    assert_includes(
        u,
        &json!({
            "nickName": "Babs",
            "displayName": "Babs Jensen",
            "name": {"givenName": "Barb", "familyName": "Jensen"},
            ENTERPRISE: {"division": "Parks", "department": "Tour Operations"},
        }),
    );
    let work = of_type(u, "emails", "work");
    assert_eq!(work.len(), 1, "{u}");
    assert_eq!(work[0]["value"], json!("barb@contoso.example"));
    let mobile = of_type(u, "phoneNumbers", "mobile");
    assert_eq!(mobile.len(), 1, "{u}");
    assert_eq!(mobile[0]["value"], json!("+1 555 0199"));
    assert_eq!(
        of_type(u, "phoneNumbers", "work")[0]["value"],
        json!("+1 555 0100"),
        "{u}"
    );
    let addr = of_type(u, "addresses", "work");
    assert_eq!(addr.len(), 1, "{u}");
    assert_eq!(addr[0]["locality"], json!("Shelbyville"));
    assert_eq!(addr[0]["streetAddress"], json!("1 Main St"), "{u}");
    // The new work email is found by the work-email lookup.
    let l = c
        .filter_users("emails[type eq \"work\"].value eq \"barb@contoso.example\"")
        .await;
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["id"], json!(id));

    // Remove an attribute by path.
    let r = c
        .patch_ops(&path, json!([{"op": "remove", "path": "nickName"}]))
        .await;
    r.expect(200);
    assert!(r.json().get("nickName").is_none(), "{}", r.text);

    c.delete(&path).await.expect(204);
    c.get(&path).await.expect_error(404, None);
}

async fn pathless_add_and_replace_take_paths_and_urn_keys() {
    let c = client();
    let u = c.create_user(&unique("pathless"), json!({})).await;
    let id = u["id"].as_str().unwrap();
    let p = format!("/Users/{id}");

    let replacement = json!({
        "name.familyName": "Doe",
        "NAME.GIVENNAME": "Jane",
        "displayName": "Jane Doe",
        "active": "True",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter": "CC-1"
    });
    let r = c
        .patch_ops(&p, json!([{"op": "Replace", "value": replacement}]))
        .await;
    r.expect(200);
    let v = r.json();
    let want = json!({
        "name": {"familyName": "Doe", "givenName": "Jane"},
        "displayName": "Jane Doe",
        "active": true,
        ENTERPRISE: {"costCenter": "CC-1"},
    });
    assert_includes(v, &want);
    assert!(lists_schema(v, ENTERPRISE), "{v}");

    // A nested extension object as the value of a path-less op merges into the extension.
    let r = c
        .patch_ops(
            &p,
            json!([{"op": "add", "value": {
                ENTERPRISE: {"organization": "Contoso", "division": "R&D"}
            }}]),
        )
        .await;
    r.expect(200);
    let v = r.json();
    // Merged, not replaced: costCenter stays.
    let merged = json!({"organization": "Contoso", "division": "R&D", "costCenter": "CC-1"});
    assert_includes(ent(v), &merged);

    // The full-URN path form.
    let r = c
        .patch_op(
            &p,
            "Add",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            json!("Sales"),
        )
        .await;
    r.expect(200);
    assert_eq!(ent(r.json())["department"], json!("Sales"));
    // The same through a read.
    let v = get_user(&c, id).await;
    assert_eq!(ent(&v)["department"], json!("Sales"));
    assert_eq!(ent(&v)["organization"], json!("Contoso"));
}

async fn filtered_multivalue_paths_create_the_element_once() {
    let c = client();
    let name = unique("mv");
    // A user with only a home email (rule-proof: it has an email).
    let home_email_only =
        json!({"emails": [{"type": "home", "value": format!("{name}@home.example")}]});
    let id = &c.create_user_id(&name, home_email_only).await;
    let p = format!("/Users/{id}");
    // Add on emails[type eq "work"].value when no work email exists creates one with type work;
    // a second op on the same filter touches that same element.
    let r = c
        .patch_ops(
            &p,
            json!([
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": format!("{name}@work.example")},
                {"op": "Add", "path": "emails[type eq \"work\"].primary", "value": "True"}
            ]),
        )
        .await;
    r.expect(200);
    let v = r.json();
    let emails = v["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 2, "{v}");
    let work = of_type(v, "emails", "work");
    assert_eq!(work.len(), 1, "{v}");
    assert_eq!(work[0]["value"], json!(format!("{name}@work.example")));
    assert_eq!(
        work[0]["primary"],
        json!(true),
        "\"True\" is a boolean: {v}"
    );
    let home = of_type(v, "emails", "home");
    assert_eq!(home.len(), 1, "{v}");
    assert_eq!(home[0]["value"], json!(format!("{name}@home.example")));
    assert_ne!(home[0]["primary"], json!(true), "only one primary: {v}");

    // Addresses: several ops on one filter build one element.
    let work_address = [
        ("streetAddress", "1 Infinite Loop"),
        ("locality", "Cupertino"),
        ("region", "CA"),
        ("postalCode", "95014"),
        ("country", "US"),
    ];
    let mut ops: Vec<Value> = work_address
        .iter()
        .map(|(sub, value)| {
            json!({"op": "Add", "path": format!("addresses[type eq \"work\"].{sub}"), "value": value})
        })
        .collect();
    ops.push(json!({"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0000"}));
    ops.push(json!({"op": "Replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0001"}));
    let r = c.patch_ops(&p, json!(ops)).await;
    r.expect(200);
    let v = r.json();
    let addrs = v["addresses"].as_array().unwrap();
    assert_eq!(addrs.len(), 1, "{v}");
    let a = &addrs[0];
    assert_eq!(a["type"], json!("work"));
    for (sub, value) in work_address {
        assert_eq!(a[sub], json!(value), "addresses[0].{sub} in {v}");
    }
    assert_eq!(v["phoneNumbers"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(
        of_type(v, "phoneNumbers", "mobile")[0]["value"],
        json!("+1 555 0000")
    );
    assert_eq!(
        of_type(v, "phoneNumbers", "work")[0]["value"],
        json!("+1 555 0001")
    );

    // Repeating the request changes values in place, never duplicates elements.
    let r = c
        .patch_op(
            &p,
            "Replace",
            "phoneNumbers[type eq \"mobile\"].value",
            json!("+1 555 9999"),
        )
        .await;
    r.expect(200);
    let v = r.json();
    assert_eq!(v["phoneNumbers"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(
        of_type(v, "phoneNumbers", "mobile")[0]["value"],
        json!("+1 555 9999")
    );
    // The stored state is what the response said.
    assert_eq!(&get_user(&c, id).await, v);
}

async fn add_on_a_single_valued_attribute_replaces_it() {
    let c = client();
    let u = c
        .create_user(
            &unique("single"),
            json!({"nickName": "Old", "title": "Old title"}),
        )
        .await;
    let id = u["id"].as_str().unwrap();
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([
                {"op": "Add", "path": "nickName", "value": "New"},
                {"op": "Add", "value": {"title": "New title"}},
                {"op": "Add", "path": "name.givenName", "value": "NewGiven"}
            ]),
        )
        .await;
    r.expect(200);
    let v = r.json();
    let want = json!({
        "nickName": "New",
        "title": "New title",
        "name": {"givenName": "NewGiven", "familyName": "Family"},
    });
    assert_includes(v, &want);
}

async fn manager_set_replace_and_remove_in_every_shape() {
    let c = client();
    let manager = json!({"displayName": "Manager One"});
    let m1 = c.create_user_id(&unique("mgr1"), manager).await;
    let manager = json!({"displayName": "Manager Two"});
    let m2 = c.create_user_id(&unique("mgr2"), manager).await;
    let e = c.create_user_id(&unique("emp"), json!({})).await;
    let (m1, m2, e) = (m1.as_str(), m2.as_str(), e.as_str());
    let p = format!("/Users/{e}");
    let mpath = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

    #[track_caller]
    fn assert_manager(u: &Value, id: &str, display: &str) {
        let m = &u[ENTERPRISE]["manager"];
        assert!(
            m.is_object(),
            "manager must be an object under the enterprise key: {u}"
        );
        assert_eq!(m["value"], json!(id), "{u}");
        assert_eq!(m["displayName"], json!(display), "{u}");
        if let Some(r) = m.get("$ref") {
            assert!(
                r.as_str().unwrap().ends_with(&format!("/Users/{id}")),
                "{u}"
            );
        }
        assert!(lists_schema(u, ENTERPRISE), "{u}");
    }
    fn has_no_manager(u: &Value) -> bool {
        u.get(ENTERPRISE)
            .and_then(|x| x.get("manager"))
            .is_none_or(|m| m.is_null())
    }

    // 1. Bare id string (Entra's default dialect).
    let r = c.patch_op(&p, "Add", mpath, json!(m1)).await;
    r.expect(200);
    assert_manager(r.json(), m1, "Manager One");
    assert_manager(&get_user(&c, e).await, m1, "Manager One");
    // 2. Replace with {"value": id}.
    let r = c.patch_op(&p, "Replace", mpath, json!({"value": m2})).await;
    r.expect(200);
    assert_manager(r.json(), m2, "Manager Two");
    // 3. [{"value": id, "$ref": ...}].
    let r = c
        .patch_op(
            &p,
            "replace",
            mpath,
            json!([{"value": m1, "$ref": format!("../Users/{m1}")}]),
        )
        .await;
    r.expect(200);
    assert_manager(r.json(), m1, "Manager One");
    assert_manager(&get_user(&c, e).await, m1, "Manager One");
    // 4. Empty string removes it.
    let r = c.patch_op(&p, "Replace", mpath, json!("")).await;
    r.expect(200);
    assert!(has_no_manager(r.json()), "{}", r.text);
    assert!(has_no_manager(&get_user(&c, e).await));
    // 5. Set through a path-less value, then {"value": ""} removes it.
    let r = c
        .patch_ops(&p, json!([{"op": "Add", "value": {mpath: m2}}]))
        .await;
    r.expect(200);
    assert_manager(r.json(), m2, "Manager Two");
    let r = c.patch_op(&p, "replace", mpath, json!({"value": ""})).await;
    r.expect(200);
    assert!(has_no_manager(r.json()), "{}", r.text);
    // 6. Explicit remove.
    c.patch_op(&p, "Add", mpath, json!(m1)).await.expect(200);
    let r = c
        .patch_ops(&p, json!([{"op": "Remove", "path": mpath}]))
        .await;
    r.expect(200);
    assert!(has_no_manager(r.json()), "{}", r.text);
    // Removing an absent manager is not an error.
    c.patch_ops(&p, json!([{"op": "Remove", "path": mpath}]))
        .await
        .expect(200);
    // 7. Manager in the POST body as Entra maps it, read back as an object with displayName.
    let r = c
        .post(
            "/Users",
            &json!({
                "schemas": [USER, ENTERPRISE],
                "userName": unique("emp2"),
                "name": {"givenName": "E", "familyName": "Two"},
                "emails": [{"type": "work", "value": "emp2@example.com", "primary": true}],
                ENTERPRISE: {"manager": {"value": m2}}
            }),
        )
        .await;
    r.expect(201);
    assert_manager(r.json(), m2, "Manager Two");
}

async fn roles_sent_as_json_encoded_strings_are_kept_as_sent() {
    let c = client();
    let u = c.create_user(&unique("roles"), json!({})).await;
    let id = u["id"].as_str().unwrap();
    let role =
        r#"{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"25","displayName":"Role1234"}"#;
    let r = c
        .patch_op(
            &format!("/Users/{id}"),
            "Add",
            "roles",
            json!([{"value": role, "primary": "False", "type": "WindowsAzureActiveDirectoryRole"}]),
        )
        .await;
    r.expect(200);
    let roles = r.json()["roles"].as_array().cloned().unwrap_or_default();
    assert_eq!(roles.len(), 1, "{}", r.text);
    assert_eq!(
        roles[0]["value"],
        json!(role),
        "the JSON-encoded string is kept verbatim"
    );
    assert_eq!(roles[0]["primary"], json!(false));
    assert_eq!(get_user(&c, id).await["roles"][0]["value"], json!(role));
    // On create as well.
    let u = c
        .create_user(&unique("roles2"), json!({"roles": [{"value": role}]}))
        .await;
    assert_eq!(u["roles"][0]["value"], json!(role));
}

async fn group_lifecycle() {
    let c = client();
    let name = unique("Group");
    let users: Vec<String> = {
        let mut v = vec![];
        for i in 0..5 {
            v.push(
                c.create_user_id(&unique(&format!("gm{i}")), json!({}))
                    .await,
            );
        }
        v
    };
    let lookup = |n: &str| {
        format!(
            "/Groups?excludedAttributes=members&filter={}",
            form_enc(&format!("displayName eq \"{n}\""))
        )
    };
    // Entra looks the group up, then creates it (with its ADSCIM schema URN, which must be ignored).
    assert_empty_list(&c.get(&lookup(&name)).await);
    let r = c
        .post(
            "/Groups",
            &json!({
                "schemas": [GROUP, MS_ADSCIM_GROUP],
                "externalId": guid(),
                "displayName": name,
                "members": [],
                "meta": {"resourceType": "Group"}
            }),
        )
        .await;
    r.expect(201);
    let g = r.json().clone();
    let gid = r.id();
    assert_eq!(g["displayName"], json!(name));
    assert_eq!(
        g["schemas"],
        json!([GROUP]),
        "unknown schema URNs are not echoed: {g}"
    );
    assert_eq!(g["meta"]["resourceType"], json!("Group"));
    assert_eq!(
        r.header("location"),
        g["meta"]["location"].as_str().unwrap()
    );
    assert!(r
        .header("location")
        .ends_with(&format!("/scim/v2/Groups/{gid}")));
    assert_eq!(r.header("etag"), g["meta"]["version"].as_str().unwrap());
    if let Some(m) = g.get("members") {
        assert_eq!(m, &json!([]));
    }
    let l = c.get_ok(&lookup(&name)).await;
    assert_eq!(l.total(), 1);
    assert_eq!(l.resources()[0]["id"], json!(gid));
    assert!(
        l.resources()[0].get("members").is_none(),
        "excludedAttributes=members: {}",
        l.text
    );
    let r = c
        .get_ok(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert!(r.json().get("members").is_none());
    assert_eq!(r.json()["displayName"], json!(name));

    let gp = format!("/Groups/{gid}");
    // Add one member, Entra's shape ("$ref": null).
    let r = c
        .patch_op(
            &gp,
            "Add",
            "members",
            json!([{"$ref": null, "value": users[0]}]),
        )
        .await;
    r.expect(204);
    assert!(r.text.is_empty(), "204 has no body: {}", r.text);
    assert_eq!(c.member_ids(&gid).await, sorted(&users[..1]));
    let r = c.get(&gp).await;
    let m = &r.json()["members"][0];
    assert_eq!(m["value"], json!(users[0]));
    if let Some(t) = m.get("type") {
        assert_eq!(t, &json!("User"));
    }
    // The user shows the group.
    let u = get_user(&c, &users[0]).await;
    let groups = u["groups"].as_array().cloned().unwrap_or_default();
    assert!(
        groups.iter().any(|x| x["value"] == json!(gid)),
        "user.groups must list the group: {u}"
    );
    // Membership check filter.
    for (user, total) in [(&users[0], 1), (&users[1], 0)] {
        let member = format!("id eq \"{gid}\" and members[value eq \"{user}\"]");
        let q = format!(
            "/Groups?excludedAttributes=members&filter={}",
            form_enc(&member)
        );
        assert_eq!(c.get(&q).await.total(), total, "{member}");
    }

    // Add several in one op, including an existing member (not an error), lower-case op.
    let r = c
        .patch_ops(
            &gp,
            json!([{"op": "add", "path": "members", "value": [
                {"value": users[0]}, {"value": users[1]}, {"value": users[2]}, {"value": users[3]}
            ]}]),
        )
        .await;
    r.expect(204);
    assert_eq!(c.member_ids(&gid).await, sorted(&users[..4]));

    // Remove with a value array removes only those (default dialect).
    let removed = json!([{"$ref": null, "value": users[1]}]);
    let r = c.patch_op(&gp, "Remove", "members", removed).await;
    r.expect(204);
    assert_eq!(
        c.member_ids(&gid).await,
        sorted(&[&users[0], &users[2], &users[3]])
    );
    // Remove with members[value eq "id"] (aadOptscim062020 dialect).
    let r = c
        .patch_ops(
            &format!("{gp}?aadOptscim062020"),
            json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[2])}]),
        )
        .await;
    r.expect(204);
    assert_eq!(c.member_ids(&gid).await, sorted(&[&users[0], &users[3]]));
    // Removing an absent member is not an error, in either form.
    c.patch_op(&gp, "Remove", "members", json!([{"value": users[4]}]))
        .await
        .expect(204);
    c.patch_ops(
        &gp,
        json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[4])}]),
    )
    .await
    .expect(204);
    assert_eq!(c.member_ids(&gid).await, sorted(&[&users[0], &users[3]]));
    // Replace members replaces the set.
    let r = c
        .patch_op(
            &gp,
            "replace",
            "members",
            json!([{"value": users[1]}, {"value": users[4]}]),
        )
        .await;
    r.expect(204);
    assert_eq!(c.member_ids(&gid).await, sorted(&[&users[1], &users[4]]));

    // Rename (Microsoft's "Update Group [Non-member attributes]").
    let new_name = unique("Renamed Group");
    let r = c
        .patch_op(&gp, "Replace", "displayName", json!(new_name))
        .await;
    r.expect(204);
    let r = c.get(&format!("{gp}?excludedAttributes=members")).await;
    assert_eq!(r.json()["displayName"], json!(new_name));
    assert_empty_list(&c.get(&lookup(&name)).await);
    assert_eq!(c.get(&lookup(&new_name)).await.total(), 1);
    assert_eq!(
        c.member_ids(&gid).await,
        sorted(&[&users[1], &users[4]]),
        "rename keeps members"
    );

    // With `attributes`, a group PATCH answers 200 with the resource, projected.
    let projected = format!("{gp}?attributes=displayName");
    let r = c
        .patch_op(&projected, "replace", "externalId", json!("ext-1"))
        .await;
    r.expect(200);
    let b = r.json();
    assert_eq!(b["id"], json!(gid));
    assert_eq!(b["displayName"], json!(new_name));
    assert!(b["schemas"].is_array());
    assert!(
        b.get("members").is_none() && b.get("externalId").is_none(),
        "{b}"
    );

    // Delete.
    c.delete(&gp).await.expect(204);
    c.get(&gp).await.expect_error(404, None);
    assert_empty_list(&c.get(&lookup(&new_name)).await);
    c.patch_op(&gp, "Replace", "displayName", json!("x"))
        .await
        .expect_error(404, None);
    // Members are still there.
    get_user(&c, &users[1]).await;
}

async fn add_and_remove_of_the_same_member_apply_in_order() {
    let c = client();
    let g = c.create_group(&unique("Order"), json!({})).await;
    let gid = g["id"].as_str().unwrap();
    let a = c.create_user_id(&unique("ord-a"), json!({})).await;
    let b = c.create_user_id(&unique("ord-b"), json!({})).await;
    let gp = format!("/Groups/{gid}");
    c.patch_op(&gp, "Add", "members", json!([{"value": b}]))
        .await
        .expect(204);
    let r = c
        .patch_ops(
            &gp,
            json!([
                {"op": "Add", "path": "members", "value": [{"value": a}]},
                {"op": "Remove", "path": "members", "value": [{"value": a}]},
                {"op": "Remove", "path": "members", "value": [{"value": b}]},
                {"op": "Add", "path": "members", "value": [{"value": b}]}
            ]),
        )
        .await;
    r.expect(204);
    assert_eq!(c.member_ids(gid).await, vec![b.clone()]);
    // A failing op rolls the whole request back.
    let r = c
        .patch_ops(
            &gp,
            json!([
                {"op": "Add", "path": "members", "value": [{"value": a}]},
                {"op": "frobnicate", "path": "displayName", "value": "x"}
            ]),
        )
        .await;
    r.expect_error(400, None);
    assert_eq!(
        c.member_ids(gid).await,
        vec![b.clone()],
        "a failed PATCH changes nothing"
    );
}

async fn one_op_carries_1500_members() {
    let c = client();
    let prefix = unique("big");
    let names: Vec<String> = (0..1500).map(|i| format!("{prefix}-{i:04}")).collect();
    let ids: Vec<String> = c.create_users(names).await;
    // A count above the published maximum is clamped to it (not an error, not ignored).
    let max = c.get("/ServiceProviderConfig").await.json()["filter"]["maxResults"]
        .as_u64()
        .unwrap();
    assert!(
        max < 1500,
        "maxResults {max}: this check needs more users than one page holds"
    );
    let all_of_them = format!("userName sw \"{prefix}-\"");
    let r = c
        .get_filtered_with("/Users", &all_of_them, "&count=100000")
        .await;
    r.expect(200);
    assert_eq!(r.total(), 1500);
    assert_eq!(r.resources().len() as u64, max);
    assert_eq!(r.json()["itemsPerPage"], json!(max));
    let g = c.create_group(&unique("Big Group"), json!({})).await;
    let gid = g["id"].as_str().unwrap();
    let value: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let r = c
        .patch_op(&format!("/Groups/{gid}"), "Add", "members", json!(value))
        .await;
    r.expect(204);
    assert_eq!(c.member_ids(gid).await, sorted(&ids));
    // Excluding members answers without them.
    let r = c
        .get_ok(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert!(r.json().get("members").is_none());
    // Remove 1,000 of them in one op.
    let gone: Vec<Value> = ids[..1000].iter().map(|id| json!({"value": id})).collect();
    c.patch_op(&format!("/Groups/{gid}"), "Remove", "members", json!(gone))
        .await
        .expect(204);
    assert_eq!(c.member_ids(gid).await, sorted(&ids[1000..]));
}

async fn members_of_unknown_ids_are_refused_and_nothing_changes() {
    let c = client();
    let a = c.create_user_id(&unique("known"), json!({})).await;
    let g = c.create_group(&unique("Unknown members"), json!({})).await;
    let gid = g["id"].as_str().unwrap();
    let r = c
        .patch_op(
            &format!("/Groups/{gid}"),
            "Add",
            "members",
            json!([{"value": a}, {"value": guid()}]),
        )
        .await;
    r.expect_error(400, Some("invalidValue"));
    assert!(c.member_ids(gid).await.is_empty());
}

#[tokio::test]
async fn paging_in_pages_of_five() {
    // Its own server: unfiltered paging must see exactly this test's users.
    let srv = Server::start();
    let c = srv.client();
    let prefix = unique("page");
    let mut all = vec![];
    for i in 0..23 {
        let n = format!("{prefix}-{i:02}");
        c.create_user(&n, json!({})).await;
        all.push(n);
    }
    let bases = [
        "/Users?".to_string(),
        format!(
            "/Users?filter={}&",
            form_enc(&format!("userName sw \"{prefix}\""))
        ),
    ];
    for base in &bases {
        let mut seen = vec![];
        let mut start = 1;
        loop {
            let r = c.get_ok(&format!("{base}startIndex={start}&count=5")).await;
            assert_eq!(
                r.total(),
                23,
                "totalResults constant across pages ({base}): {}",
                r.text
            );
            assert_eq!(r.json()["startIndex"], json!(start));
            let page = r.resources();
            let expected = std::cmp::min(5, 23 - (start - 1));
            assert_eq!(page.len() as u64, expected, "page at {start}: {}", r.text);
            assert_eq!(r.json()["itemsPerPage"], json!(expected));
            seen.extend(
                page.iter()
                    .map(|u| u["userName"].as_str().unwrap().to_string()),
            );
            start += 5;
            if start > 23 {
                break;
            }
        }
        let mut dedup = seen.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), seen.len(), "pages overlap: {seen:?}");
        assert_eq!(dedup, sorted(&all), "pages cover every user");
        // Past the end: an empty page, still the right total.
        let r = c.get_ok(&format!("{base}startIndex=26&count=5")).await;
        assert_eq!(r.total(), 23);
        assert!(r.resources().is_empty());
    }
}

async fn duplicate_create_is_a_conflict_entra_can_recover_from() {
    let c = client();
    let name = format!("{}@Contoso.Example", unique("Dup"));
    c.create_user(&name, json!({})).await;
    let r = c
        .post("/Users", &entra_user(&name.to_lowercase(), &guid()))
        .await;
    r.expect_error(409, Some("uniqueness"));
    // Entra then matches by userName, ignoring case.
    let l = entra_lookup(&c, &name.to_uppercase()).await;
    assert_eq!(l.total(), 1, "userName eq is case-insensitive");
    assert_eq!(l.resources()[0]["userName"], json!(name));
}
