//! Local users and groups managed through the admin API, over HTTP against a real
//! `scimd serve` (SQLite, or PostgreSQL when `SCIMD_TEST_DATABASE_URL` names a server):
//! `PATCH /api/v1/users/{id}` (a merge of SCIM attributes, enable and disable, the product
//! rules, strict refusal of unknown and readOnly attributes), `DELETE
//! /api/v1/users/{id}?mode=soft`, `PATCH /api/v1/groups/{id}` (rename), provisioned users
//! and groups read-only, every change in the audit record and the history with its values
//! before and after, and the built-in All Users group among a user's groups in the admin
//! API but never over SCIM.

mod common;

use common::*;
use serde_json::{json, Value};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Asserts an admin error of this status; returns its message.
#[track_caller]
fn refused(r: &Resp, status: u16) -> String {
    assert_eq!(r.status, status, "unexpected status; body: {}", r.text);
    let b = r.json();
    assert_eq!(b["error"]["status"], json!(status), "{b}");
    let m = b["error"]["message"].as_str().unwrap_or("").to_string();
    assert!(!m.trim().is_empty(), "{b}");
    m
}

fn user_body(user_name: &str) -> Value {
    json!({
        "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": format!("{user_name}@example.com"), "type": "work", "primary": true}],
    })
}

/// Every audit record of `action` about resource `id`, newest first.
async fn audit_of(a: &Client, action: &str, id: &str) -> Vec<Value> {
    let r = a.get(&format!("/audit?count=500&action={action}")).await;
    r.expect(200);
    r.resources()
        .into_iter()
        .filter(|e| e["target"]["id"] == json!(id))
        .collect()
}

/// `(before, after)` of `attribute` in a record's changes (nulls when absent).
fn before_after(r: &Value, attribute: &str) -> (Value, Value) {
    r["changes"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["attribute"] == json!(attribute)))
        .map(|c| (c["before"].clone(), c["after"].clone()))
        .unwrap_or_else(|| panic!("no change of {attribute} in {r}"))
}

/// On the shared server: an admin API client, a SCIM client, and a new local user's
/// userName (starting with `prefix`) and id.
async fn local_user(prefix: &str) -> (Client, Client, String, String) {
    let srv = Server::shared();
    let a = srv.admin();
    let name = unique(prefix);
    let id = a.post("/users", &user_body(&name)).await.id();
    (a, srv.client(), name, id)
}

#[tokio::test]
async fn local_users_are_edited_disabled_and_enabled_under_the_rules() {
    let (a, scim, name, id) = local_user("edit").await;
    let path = format!("/users/{id}");

    // A merge: what the body names changes, the rest stays.
    let r = a
        .patch(
            &path,
            &json!({"displayName": "Ada King", "name": {"givenName": "Augusta"},
                    ENTERPRISE: {"department": "Engines"}}),
        )
        .await;
    r.expect(200);
    let u = r.json();
    assert_eq!(u["displayName"], "Ada King");
    assert_eq!(u["name"]["givenName"], "Augusta");
    assert_eq!(u["name"]["familyName"], "Lovelace", "not named, kept");
    assert_eq!(
        u["emails"][0]["value"],
        json!(format!("{name}@example.com"))
    );
    assert_eq!(u[ENTERPRISE]["department"], "Engines");
    assert_eq!(
        (&u["state"], &u["source"]),
        (&json!("active"), &json!("local"))
    );
    // SCIM sees the same values.
    let s = scim.get_ok(&format!("/Users/{id}")).await;
    assert_eq!(s.json()["displayName"], "Ada King");
    // The audit record and the history: actor the admin token, values before and after.
    let recs = audit_of(&a, "user.update", &id).await;
    assert_eq!(recs.len(), 1, "{recs:?}");
    let rec = &recs[0];
    assert_eq!(rec["actor"]["type"], "admin");
    assert_eq!(rec["outcome"], "updated");
    assert_eq!(rec["cause"]["method"], "PATCH");
    assert_eq!(
        before_after(rec, "displayName"),
        (Value::Null, json!("Ada King"))
    );
    let (b, af) = before_after(rec, "name");
    assert_eq!(
        (&b["givenName"], &af["givenName"]),
        (&json!("Ada"), &json!("Augusta"))
    );
    assert_eq!(
        before_after(rec, &format!("{ENTERPRISE}:department")),
        (Value::Null, json!("Engines"))
    );
    let h = a.get(&format!("{path}/history")).await;
    h.expect(200);
    assert!(
        h.resources().iter().any(|r| r["txn"] == rec["txn"]),
        "the history has the edit: {}",
        h.text
    );

    // Disable, enable: the state follows `active`, the outcome says which.
    let r = a.patch(&path, &json!({"active": false})).await;
    r.expect(200);
    assert_eq!(
        (&r.json()["state"], &r.json()["active"]),
        (&json!("inactive"), &json!(false))
    );
    assert_eq!(
        scim.get_ok(&format!("/Users/{id}")).await.json()["active"],
        false
    );
    let r = a.patch(&path, &json!({"active": true})).await;
    r.expect(200);
    assert_eq!(r.json()["state"], "active");
    let outcomes: Vec<Value> = audit_of(&a, "user.update", &id)
        .await
        .iter()
        .map(|r| r["outcome"].clone())
        .collect();
    assert_eq!(
        outcomes,
        vec![json!("enabled"), json!("disabled"), json!("updated")]
    );
    let disabled = &audit_of(&a, "user.update", &id).await[1];
    assert_eq!(
        before_after(disabled, "active"),
        (json!(true), json!(false))
    );

    // The same values again change nothing and record nothing.
    a.patch(&path, &json!({"displayName": "Ada King"}))
        .await
        .expect(200);
    assert_eq!(audit_of(&a, "user.update", &id).await.len(), 3);

    // Refused with a SCIM detail, nothing changed.
    let before = a.get_ok(&path).await.json().clone();
    for (body, scim_type, needle) in [
        (json!({"nickName": "x", "nope": 1}), "invalidPath", "'nope'"),
        (json!({"id": "other"}), "mutability", "readOnly"),
        (
            json!({"meta": {"created": "2020-01-01T00:00:00Z"}}),
            "mutability",
            "readOnly",
        ),
        (
            json!({"groups": [{"value": "x"}]}),
            "mutability",
            "readOnly",
        ),
        (json!({"schemas": []}), "invalidValue", "schemas"),
        (json!({"password": "secret"}), "invalidValue", "password"),
        (
            json!({"name": {"middle": "x"}}),
            "invalidPath",
            "name.middle",
        ),
        (json!({ENTERPRISE: {"dept": "x"}}), "invalidPath", "dept"),
        (json!({"active": "maybe"}), "invalidValue", "active"),
        (
            json!({"name": {"givenName": ""}}),
            "invalidValue",
            "name.givenName",
        ),
        (
            json!({"name": {"familyName": null}}),
            "invalidValue",
            "name.familyName",
        ),
        (json!({"emails": []}), "invalidValue", "email"),
        (
            json!({ENTERPRISE: {"manager": {"value": guid()}}}),
            "invalidValue",
            "manager",
        ),
        (json!({}), "invalidValue", "no attribute"),
    ] {
        let r = a.patch(&path, &body).await;
        let m = refused(&r, 400);
        assert!(m.contains(needle), "{body}: {m}");
        assert_eq!(
            r.json()["error"]["scimType"],
            scim_type,
            "{body}: {}",
            r.text
        );
    }
    let m = refused(&a.patch(&path, &json!(["active"])).await, 400);
    assert!(m.contains("JSON object"), "{m}");
    assert_eq!(a.get_ok(&path).await.json(), &before, "nothing changed");
    assert_eq!(audit_of(&a, "user.update", &id).await.len(), 3);

    // userName may change, unique ignoring case.
    let other = unique("edit-other");
    a.post("/users", &user_body(&other)).await.expect(201);
    let m = refused(
        &a.patch(&path, &json!({"userName": other.to_uppercase()}))
            .await,
        409,
    );
    assert!(m.contains(&other), "{m}");
    let renamed = unique("edit-renamed");
    let r = a.patch(&path, &json!({"userName": renamed})).await;
    r.expect(200);
    assert_eq!(r.json()["userName"], json!(renamed));
    assert_eq!(
        scim.filter_user_names(&format!("userName eq \"{renamed}\""))
            .await,
        vec![renamed.clone()]
    );
    // Unknown users: 404.
    refused(
        &a.patch(&format!("/users/{}", guid()), &json!({"active": false}))
            .await,
        404,
    );
}

#[tokio::test]
async fn local_users_are_soft_deleted_and_deleted_permanently() {
    let (a, scim, _, id) = local_user("soft").await;
    let path = format!("/users/{id}");
    let gid = a
        .post("/groups", &json!({"displayName": unique("soft-group")}))
        .await
        .id();
    a.post(&format!("/groups/{gid}/members"), &json!({"members": [id]}))
        .await
        .expect(200);

    // An active local user: the permanent delete says what to do here, not in an IdP.
    let m = refused(&a.delete(&path).await, 409);
    assert!(
        m.contains("disable it first") && m.contains("soft delete"),
        "{m}"
    );
    assert!(!m.contains("identity provider"), "{m}");
    // A bad mode: 400 naming the modes, nothing changed.
    let m = refused(&a.delete(&format!("{path}?mode=hard")).await, 400);
    assert!(
        m.contains("soft") && m.contains("permanent") && m.contains("'hard'"),
        "{m}"
    );
    assert_eq!(a.get_ok(&path).await.json()["state"], "active");

    // Soft delete: deprovisioned, hidden from SCIM, memberships kept.
    let d = a.delete(&format!("{path}?mode=soft")).await;
    d.expect(204);
    assert!(d.text.is_empty());
    let u = a.get_ok(&path).await.json().clone();
    assert_eq!(
        (&u["state"], &u["active"]),
        (&json!("deprovisioned"), &json!(false))
    );
    assert!(
        u["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == json!(gid)),
        "{u}"
    );
    scim.get(&format!("/Users/{id}"))
        .await
        .expect_error(404, None);
    let rec = &audit_of(&a, "user.soft-delete", &id).await[0];
    assert_eq!(rec["outcome"], "deprovisioned");
    assert_eq!(
        before_after(rec, "state"),
        (json!("active"), json!("deprovisioned"))
    );
    assert_eq!(before_after(rec, "active"), (json!(true), json!(false)));
    let m = refused(&a.delete(&format!("{path}?mode=soft")).await, 409);
    assert!(m.contains("already"), "{m}");

    // Enabled again: active, back over SCIM, the state change recorded.
    let r = a.patch(&path, &json!({"active": true})).await;
    r.expect(200);
    assert_eq!(r.json()["state"], "active");
    scim.get_ok(&format!("/Users/{id}")).await;
    let rec = &audit_of(&a, "user.update", &id).await[0];
    assert_eq!(rec["outcome"], "enabled");
    assert_eq!(
        before_after(rec, "state"),
        (json!("deprovisioned"), json!("active"))
    );

    // Soft-deleted again, then deleted permanently (mode=permanent is the default).
    a.delete(&format!("{path}?mode=SOFT")).await.expect(204);
    a.delete(&format!("{path}?mode=permanent"))
        .await
        .expect(204);
    refused(&a.get(&path).await, 404);
    refused(&a.delete(&format!("{path}?mode=soft")).await, 404);
    assert_eq!(
        a.get_ok(&format!("/groups/{gid}")).await.json()["memberCount"],
        0
    );
}

#[tokio::test]
async fn provisioned_users_and_groups_are_read_only() {
    let srv = Server::shared();
    let a = srv.admin();
    let scim = srv.client();
    let uid = scim.create_user_id(&unique("idp"), json!({})).await;
    let gid = scim.create_group(&unique("idp-group"), json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = a.get_ok(&format!("/users/{uid}")).await.json().clone();
    for r in [
        a.patch(&format!("/users/{uid}"), &json!({"displayName": "x"}))
            .await,
        a.patch(&format!("/users/{uid}"), &json!({"active": false}))
            .await,
        a.delete(&format!("/users/{uid}?mode=soft")).await,
    ] {
        let m = refused(&r, 409);
        assert!(m.contains("Entra ID is its source"), "{m}");
        assert!(r.json()["error"].get("scimType").is_none(), "{}", r.text);
    }
    assert_eq!(a.get_ok(&format!("/users/{uid}")).await.json(), &before);
    // The provisioned group, and the built-in group, are not renamed either.
    let all = a.get("/groups?search=All%20Users").await.resources()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (group, says) in [(&gid, "Entra ID is its source"), (&all, "built-in")] {
        let rename = json!({"displayName": unique("renamed")});
        let m = refused(&a.patch(&format!("/groups/{group}"), &rename).await, 409);
        assert!(m.contains(says), "{m}");
    }
    assert!(audit_of(&a, "user.update", &uid).await.is_empty());
}

#[tokio::test]
async fn local_groups_are_renamed() {
    let srv = Server::shared();
    let a = srv.admin();
    let scim = srv.client();
    let name = unique("rename");
    let gid = a.post("/groups", &json!({"displayName": name})).await.id();
    let path = format!("/groups/{gid}");
    let taken = unique("rename-taken");
    a.post("/groups", &json!({"displayName": taken}))
        .await
        .expect(201);

    let new_name = unique("renamed");
    let r = a.patch(&path, &json!({"displayName": new_name})).await;
    r.expect(200);
    assert_eq!(r.json()["displayName"], json!(new_name));
    assert_eq!(r.json()["id"], json!(gid));
    assert_eq!(
        scim.get_ok(&format!("/Groups/{gid}")).await.json()["displayName"],
        json!(new_name)
    );
    let recs = audit_of(&a, "group.rename", &gid).await;
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(
        before_after(&recs[0], "displayName"),
        (json!(name), json!(new_name))
    );
    assert_eq!(recs[0]["actor"]["type"], "admin");
    let h = a.get(&format!("{path}/history")).await;
    assert!(
        h.resources().iter().any(|r| r["txn"] == recs[0]["txn"]),
        "{}",
        h.text
    );

    // Refused, nothing changed.
    let m = refused(
        &a.patch(&path, &json!({"displayName": taken.to_uppercase()}))
            .await,
        409,
    );
    assert!(m.contains(&taken), "{m}");
    for (body, needle) in [
        (json!({"displayName": "  "}), "blank"),
        (json!({"displayName": 3}), "string"),
        (json!({}), "required"),
        (json!({"displayName": "x", "members": []}), "'members'"),
        (json!({"displayName": "a\u{0007}b"}), "U+0007"),
    ] {
        let m = refused(&a.patch(&path, &body).await, 400);
        assert!(m.contains(needle), "{body}: {m}");
    }
    refused(
        &a.patch(&format!("/groups/{}", guid()), &json!({"displayName": "x"}))
            .await,
        404,
    );
    assert_eq!(a.get_ok(&path).await.json()["displayName"], json!(new_name));
    // The same name again: 200, no record.
    a.patch(&path, &json!({"displayName": new_name}))
        .await
        .expect(200);
    assert_eq!(audit_of(&a, "group.rename", &gid).await.len(), 1);
}

#[tokio::test]
async fn all_users_is_among_a_users_groups_in_the_admin_api_never_over_scim() {
    let srv = Server::shared();
    let a = srv.admin();
    let scim = srv.client();
    let all = a.get("/groups?search=All%20Users").await.resources()[0].clone();
    assert_eq!(all["builtin"], true);
    let all_id = all["id"].as_str().unwrap().to_string();
    let uname = unique("everyone");
    let uid = scim.create_user_id(&uname, json!({})).await;
    let g = scim
        .create_group(&unique("team"), json!({"members": [{"value": uid}]}))
        .await;
    let lid = a
        .post("/users", &user_body(&unique("everyone-local")))
        .await
        .id();

    // Admin API: All Users first, then the other groups.
    let u = a.get_ok(&format!("/users/{uid}")).await.json().clone();
    assert_eq!(
        u["groups"],
        json!([
            {"id": all_id, "displayName": "All Users", "builtin": true},
            {"id": g["id"], "displayName": g["displayName"], "builtin": false},
        ])
    );
    let l = a.get_ok(&format!("/users/{lid}")).await.json().clone();
    assert_eq!(
        l["groups"],
        json!([{"id": all_id, "displayName": "All Users", "builtin": true}])
    );
    let listed = a.get(&format!("/users?search={uname}")).await.resources();
    assert_eq!(listed[0]["groups"], u["groups"]);

    // SCIM: unchanged, All Users is nowhere.
    let s = scim.get_ok(&format!("/Users/{uid}")).await.json().clone();
    assert_eq!(
        s["groups"]
            .as_array()
            .map(|gs| gs.iter().map(|x| x["value"].clone()).collect::<Vec<_>>()),
        Some(vec![g["id"].clone()]),
        "{s}"
    );
    assert!(!s.to_string().contains(&all_id), "{s}");
    let local = scim.get_ok(&format!("/Users/{lid}")).await.json().clone();
    assert!(
        local.get("groups").is_none_or(|gs| gs == &json!([])),
        "{local}"
    );
    for f in [
        format!("groups.value eq \"{all_id}\""),
        "groups.display eq \"All Users\"".to_string(),
    ] {
        let r = scim.get_filtered("/Users", &f).await;
        r.expect(200);
        assert_eq!(r.total(), 0, "{f}: {}", r.text);
    }
    let r = scim
        .get_filtered(
            "/Users",
            &format!("groups.value eq \"{}\"", g["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(r.total(), 1, "{}", r.text);
}
