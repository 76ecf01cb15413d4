//! The admin API (`/api/v1`) over HTTP against a real `scimd serve`: authentication and
//! scopes, every route, error shapes, paging, the provisioning log and its CSV / JSON Lines
//! downloads, settings, custom attributes, tokens, the OpenAPI document (checked against the
//! routes the server actually serves), the `settings` CLI and log retention.
//!
//! Tests share one server per binary ([`Server::shared`]) and keep apart with unique names;
//! tests that change tenant-wide state (settings) or count log entries start their own.

mod common;

use common::*;
use reqwest::header::{ACCEPT, CONTENT_DISPOSITION, WWW_AUTHENTICATE};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const CUSTOM_URN: &str = "urn:ietf:params:scim:schemas:extension:scimd:2.0:User";

/// A client of `<server>/api/v1` with an admin token.
fn admin(srv: &Server) -> Client {
    srv.admin()
}

/// A client of `<server>/api/v1` with another token (or none).
fn admin_with(srv: &Server, token: Option<&str>) -> Client {
    Client::new(&format!("{}/api/v1", srv.base), token)
}

/// The shared server and an admin client for it (one admin token per test).
fn shared() -> (&'static Server, Client) {
    let srv = Server::shared();
    (srv, admin(srv))
}

/// Asserts an admin error: this status, `application/json`,
/// `{"error": {"status": <status>, "message": "<non-empty>"}}`. Returns the message.
#[track_caller]
fn expect_admin_error(r: &Resp, status: u16) -> String {
    assert_eq!(r.status, status, "unexpected status; body: {}", r.text);
    assert!(
        r.header("content-type").starts_with("application/json"),
        "error Content-Type {:?}; body {}",
        r.header("content-type"),
        r.text
    );
    let b = r.json();
    assert_eq!(b["error"]["status"], json!(status), "error body: {b}");
    let m = b["error"]["message"].as_str().unwrap_or("").to_string();
    assert!(!m.trim().is_empty(), "error message: {b}");
    assert_eq!(
        b.as_object().unwrap().len(),
        1,
        "only `error` at the top level: {b}"
    );
    m
}

/// A user body with the product's required attributes.
fn user_body(user_name: &str) -> Value {
    json!({
        "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": format!("{}@example.com", user_name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_")), "type": "work", "primary": true}],
    })
}

async fn create_local_user(a: &Client, user_name: &str) -> Value {
    let r = a.post("/users", &user_body(user_name)).await;
    r.expect(201);
    r.body.unwrap()
}

/// Every page of a paged list, following `startIndex` with page size `count`.
async fn all_pages(a: &Client, path_and_query: &str, count: u64) -> (u64, Vec<Value>) {
    let mut out = vec![];
    let mut start = 1;
    let sep = if path_and_query.contains('?') {
        '&'
    } else {
        '?'
    };
    loop {
        let r = a
            .get_ok(&format!(
                "{path_and_query}{sep}startIndex={start}&count={count}"
            ))
            .await;
        let page = r.resources();
        assert_eq!(r.json()["startIndex"], json!(start));
        assert_eq!(r.json()["itemsPerPage"], json!(page.len()));
        let total = r.total();
        out.extend(page.iter().cloned());
        if page.is_empty() || out.len() as u64 >= total {
            return (total, out);
        }
        start += page.len() as u64;
    }
}

/// A minimal RFC 4180 parser: rows of cells (quoted cells may hold `,`, `"` doubled, CR, LF).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = vec![];
    let mut row = vec![];
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => quoted = false,
                c => cell.push(c),
            }
            continue;
        }
        match c {
            '"' if cell.is_empty() => quoted = true,
            ',' => row.push(std::mem::take(&mut cell)),
            '\r' if chars.peek() == Some(&'\n') => {
                chars.next();
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            '\n' => panic!("bare LF outside quotes: CSV lines must end with CRLF"),
            c => cell.push(c),
        }
    }
    assert!(cell.is_empty() && row.is_empty(), "CSV must end with CRLF");
    rows
}

/// The log download's CSV header row as it goes over the wire (the documented column order).
const CSV_HEADER: &str = "seq,time,tokenName,method,path,resourceType,resourceId,resourceName,\
    outcome,status,detail,changedAttributes,warnings,txn,actor,cause,changes";

/// The columns of `CSV_HEADER`, in order.
fn csv_columns() -> Vec<&'static str> {
    CSV_HEADER.split(',').collect()
}

// ---------------------------------------------------------------- authentication

#[tokio::test]
async fn authentication_and_scopes() {
    let (srv, a) = shared();
    // No token: 401 with a Bearer challenge.
    let r = admin_with(srv, None).get("/users").await;
    let m = expect_admin_error(&r, 401);
    assert!(m.contains("Bearer"), "{m}");
    assert!(
        r.header("www-authenticate").starts_with("Bearer"),
        "{:?}",
        r.headers
    );
    // Unknown token, other scheme: 401.
    let r = admin_with(srv, Some(&"0".repeat(64))).get("/users").await;
    expect_admin_error(&r, 401);
    assert!(r.headers.contains_key(WWW_AUTHENTICATE));
    let r = admin_with(srv, None)
        .send(
            admin_with(srv, None)
                .req(Method::GET, "/users")
                .header("authorization", "Basic YTpi"),
        )
        .await;
    expect_admin_error(&r, 401);
    // A SCIM token: 403, saying which scope is needed.
    let r = admin_with(srv, Some(&srv.token)).get("/users").await;
    let m = expect_admin_error(&r, 403);
    assert!(m.contains("admin"), "{m}");
    // ... and the admin token is refused on /scim/v2.
    let admin_secret = srv.admin_token();
    srv.client_with(Some(&admin_secret))
        .get("/Users")
        .await
        .expect_error(403, None);
    // The admin token works here.
    admin_with(srv, Some(&admin_secret))
        .get("/users")
        .await
        .expect(200);
    a.get("/dashboard").await.expect(200);
}

// ---------------------------------------------------------------- OpenAPI and routing

/// The routes outside tools rely on (issue 3, "Admin API"; the PATCHes of issue 17): each
/// must be documented.
const FIXED_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/{id}"),
    ("PATCH", "/api/v1/users/{id}"),
    ("DELETE", "/api/v1/users/{id}"),
    ("GET", "/api/v1/users/{id}/history"),
    ("GET", "/api/v1/groups"),
    ("POST", "/api/v1/groups"),
    ("GET", "/api/v1/groups/{id}"),
    ("PATCH", "/api/v1/groups/{id}"),
    ("DELETE", "/api/v1/groups/{id}"),
    ("GET", "/api/v1/groups/{id}/history"),
    ("POST", "/api/v1/groups/{id}/members"),
    ("DELETE", "/api/v1/groups/{id}/members/{userId}"),
    ("GET", "/api/v1/attributes"),
    ("POST", "/api/v1/attributes"),
    ("GET", "/api/v1/attributes/{name}"),
    ("DELETE", "/api/v1/attributes/{name}"),
    ("GET", "/api/v1/settings"),
    ("PATCH", "/api/v1/settings"),
    ("GET", "/api/v1/tokens"),
    ("POST", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{name}"),
    ("GET", "/api/v1/issuers"),
    ("POST", "/api/v1/issuers"),
    ("DELETE", "/api/v1/issuers/{issuer}"),
    ("GET", "/api/v1/clients"),
    ("POST", "/api/v1/clients"),
    ("DELETE", "/api/v1/clients/{clientId}"),
    ("GET", "/api/v1/auth-refusals"),
    ("GET", "/api/v1/provisioning-log"),
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/dashboard"),
    ("GET", "/api/v1/openapi.json"),
    // The operator API (operator tokens, only at the root).
    ("GET", "/api/v1/tenants"),
    ("POST", "/api/v1/tenants"),
    ("GET", "/api/v1/tenants/{slug}"),
    ("PATCH", "/api/v1/tenants/{slug}"),
    ("DELETE", "/api/v1/tenants/{slug}"),
];

fn concrete(path: &str) -> String {
    path.replace("{id}", &guid())
        .replace("{userId}", &guid())
        .replace("{name}", "no-such-name")
        .replace("{issuer}", "no-such-issuer")
        .replace("{clientId}", "scimd_client_none")
        .replace("{slug}", "no-such-tenant")
}

/// Every operation of the OpenAPI document is served by the server (an unauthenticated
/// request reaches it: 401, not the router's 404/405), and every other method on a
/// documented path is a JSON 405; the document lists exactly the fixed routes.
#[tokio::test]
async fn openapi_document_matches_the_routes_served() {
    let srv = Server::shared();
    let anon = admin_with(srv, None);
    let r = anon.get_ok("/openapi.json").await;
    assert!(r.header("content-type").starts_with("application/json"));
    let doc = r.json().clone();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], json!(srv.base));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
    let methods = ["get", "post", "put", "patch", "delete"];
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in methods {
            if item.get(m).is_some() {
                documented.insert((m.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    let fixed: BTreeSet<(String, String)> = FIXED_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented, fixed,
        "documented operations vs. the admin API's routes"
    );

    let http = reqwest::Client::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let url = format!("{}{}", srv.base, concrete(path));
        for m in methods {
            let method = Method::from_bytes(m.to_ascii_uppercase().as_bytes()).unwrap();
            let r = anon.send(http.request(method.clone(), &url)).await;
            let op = item.get(m);
            match op {
                Some(op) if op.get("security") == Some(&json!([])) => {
                    assert_eq!(r.status, 200, "{m} {path} is public: {}", r.text)
                }
                Some(op) => {
                    expect_admin_error(&r, 401);
                    // Every documented authenticated operation documents its 401 and 403.
                    assert!(
                        op["responses"].get("401").is_some()
                            && op["responses"].get("403").is_some(),
                        "{m} {path}"
                    );
                }
                None => {
                    let msg = expect_admin_error(&r, 405);
                    assert!(msg.contains("allowed"), "{msg}");
                    assert!(
                        !r.header("allow").is_empty(),
                        "405 without Allow for {m} {path}"
                    );
                }
            }
        }
    }
    // Anything else under /api/v1 is a JSON 404, whatever the method and the token.
    let a = admin(srv);
    for p in [
        "",
        "/",
        "/nope",
        "/users/x/y",
        "/groups/x/members/y/z",
        "/Users",
    ] {
        let r = a.get(p).await;
        let m = expect_admin_error(&r, 404);
        assert!(m.contains("openapi.json"), "{m}");
        expect_admin_error(&anon.delete(p).await, 404);
    }
}

// ---------------------------------------------------------------- users

#[tokio::test]
async fn users_create_get_and_permanent_delete() {
    let (srv, a) = shared();
    let scim = srv.client();
    let name = unique("local-user");
    let r = a.post("/users", &user_body(&name)).await;
    r.expect(201);
    let u = r.json().clone();
    let id = r.id();
    assert_eq!(r.header("location"), format!("/api/v1/users/{id}"));
    assert_eq!(u["userName"], json!(name));
    assert_eq!(u["state"], "active");
    assert_eq!(u["source"], "local");
    // Every user is in the built-in All Users group, listed first (issue 17).
    assert_eq!(strings_at(&u["groups"], "displayName"), vec!["All Users"]);
    assert_eq!(u["groups"][0]["builtin"], true);
    assert_eq!(u["name"]["givenName"], "Ada");
    assert_eq!(u["active"], true);
    // The same id over SCIM.
    let s = scim.get_ok(&format!("/Users/{id}")).await;
    assert_eq!(s.json()["userName"], json!(name));
    // GET
    let g = a.get_ok(&format!("/users/{id}")).await;
    assert_eq!(g.json()["id"], json!(id));
    assert_eq!(g.json()["source"], "local");

    // Duplicate userName, ignoring case: 409 naming the conflict.
    let m = expect_admin_error(
        &a.post("/users", &user_body(&name.to_uppercase())).await,
        409,
    );
    assert!(m.contains(&name), "{m}");
    // The product's rules: no email, no family name.
    let mut no_email = user_body(&unique("no-email"));
    no_email.as_object_mut().unwrap().remove("emails");
    expect_admin_error(&a.post("/users", &no_email).await, 400);
    let mut no_family = user_body(&unique("no-family"));
    no_family["name"] = json!({"givenName": "Ada"});
    expect_admin_error(&a.post("/users", &no_family).await, 400);
    // Bodies that are not JSON objects.
    let bad = a
        .send_raw(
            Method::POST,
            "/users",
            "application/json",
            "{\"userName\": ",
        )
        .await;
    let m = expect_admin_error(&bad, 400);
    assert!(m.contains("JSON"), "{m}");
    expect_admin_error(&a.send(a.req(Method::POST, "/users")).await, 400);
    expect_admin_error(&a.post("/users", &json!(["x"])).await, 400);

    // An active user cannot be deleted permanently.
    let m = expect_admin_error(&a.delete(&format!("/users/{id}")).await, 409);
    assert!(m.contains("active"), "{m}");
    // Disabled through SCIM, it can.
    scim.patch_op(&format!("/Users/{id}"), "replace", "active", json!(false))
        .await
        .expect(200);
    assert_eq!(
        a.get(&format!("/users/{id}")).await.json()["state"],
        "inactive"
    );
    let d = a.delete(&format!("/users/{id}")).await;
    d.expect(204);
    assert!(d.text.is_empty());
    expect_admin_error(&a.get(&format!("/users/{id}")).await, 404);
    expect_admin_error(&a.delete(&format!("/users/{id}")).await, 404);
    scim.get(&format!("/Users/{id}"))
        .await
        .expect_error(404, None);

    // A user deleted by the identity provider stays for administrators, deprovisioned,
    // with its groups, until deleted permanently.
    let su = scim.create_user(&unique("idp-user"), json!({})).await;
    let sid = su["id"].as_str().unwrap().to_string();
    let grp = scim
        .create_group(&unique("idp-group"), json!({"members": [{"value": sid}]}))
        .await;
    scim.delete(&format!("/Users/{sid}")).await.expect(204);
    let g = a.get_ok(&format!("/users/{sid}")).await;
    assert_eq!(g.json()["state"], "deprovisioned");
    assert_eq!(g.json()["source"], "scim");
    assert_eq!(
        json!(g.json()["groups"].as_array().unwrap()[1..]),
        json!([{"id": grp["id"], "displayName": grp["displayName"], "builtin": false}])
    );
    a.delete(&format!("/users/{sid}")).await.expect(204);
    expect_admin_error(&a.get(&format!("/users/{sid}")).await, 404);
}

/// A create is as strict as an edit: whatever it cannot store is refused (400, nothing
/// created), never dropped.
#[tokio::test]
async fn creates_refuse_what_they_cannot_store() {
    let (_srv, a) = shared();
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let with = |extra: Value| {
        let name = unique("strict");
        let mut b = user_body(&name);
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        (name, b)
    };
    for (extra, needle) in [
        (json!({"nope": 1}), "unknown attribute 'nope'"),
        (json!({"id": "abc"}), "'id' is readOnly"),
        (json!({"groups": [{"value": "x"}]}), "'groups' is readOnly"),
        (
            json!({"meta": {"resourceType": "User"}}),
            "'meta' is readOnly",
        ),
        (json!({"password": "secret"}), "'password' cannot be set"),
        (json!({"schemas": ["urn:foo"]}), "'schemas' lists urn:foo"),
        (json!({"schemas": "x"}), "'schemas' must be an array"),
        (
            json!({"urn:example:other:2.0:User": {"x": 1}}),
            "unknown attribute",
        ),
        (
            json!({enterprise: {"nope": "x"}}),
            "unknown attribute 'nope'",
        ),
        (
            json!({"name": {"givenName": "A", "familyName": "B", "nope": 1}}),
            "name.nope",
        ),
        (
            json!({"emails": [{"value": "a@example.com", "bogus": 1}]}),
            "emails.bogus",
        ),
        (
            json!({enterprise: {"manager": {"value": "no-such-user"}}}),
            "not a user of this tenant",
        ),
        (
            json!({enterprise: {"manager": {"value": "x", "displayName": "X"}}}),
            "readOnly",
        ),
    ] {
        let (name, body) = with(extra.clone());
        let m = expect_admin_error(&a.post("/users", &body).await, 400);
        assert!(m.contains(needle), "{extra}: {m}");
        let r = a.get(&format!("/users?search={name}")).await;
        assert_eq!(r.json()["totalResults"], 0, "{extra} created a user");
    }
    // A SCIM User's own `schemas` may come along, and a manager that is a user is kept.
    let boss = create_local_user(&a, &unique("boss")).await;
    let (_, body) = with(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", enterprise],
        enterprise: {"manager": {"value": boss["id"]}},
    }));
    let r = a.post("/users", &body).await;
    r.expect(201);
    assert_eq!(r.json()[enterprise]["manager"]["value"], boss["id"]);

    // Groups: displayName alone; members are added under /members, whose body is
    // {"members": [...]} alone.
    for (body, needle) in [
        (
            json!({"displayName": unique("g"), "members": [{"value": "x"}]}),
            "unknown key 'members'",
        ),
        (
            json!({"displayName": unique("g"), "id": "abc"}),
            "unknown key 'id'",
        ),
    ] {
        let m = expect_admin_error(&a.post("/groups", &body).await, 400);
        assert!(m.contains(needle), "{body}: {m}");
        let name = body["displayName"].as_str().unwrap();
        let r = a.get(&format!("/groups?search={name}")).await;
        assert_eq!(r.json()["totalResults"], 0, "{body} created a group");
    }
    let g = a
        .post(
            "/groups",
            &json!({"displayName": unique("g"), "externalId": "ext-1"}),
        )
        .await;
    g.expect(201);
    let got = a.get(&format!("/groups/{}", g.id())).await;
    assert_eq!(got.json()["externalId"], "ext-1", "{}", got.text);
    let members = format!("/groups/{}/members", g.id());
    let uid = boss["id"].as_str().unwrap();
    for (body, needle) in [
        (json!({"members": [uid], "x": 1}), "unknown key 'x'"),
        (json!({"members": uid}), "must be an array"),
        (json!({}), "'members' is required"),
    ] {
        let m = expect_admin_error(&a.post(&members, &body).await, 400);
        assert!(m.contains(needle), "{body}: {m}");
    }
    let r = a.get(&format!("/groups/{}", g.id())).await;
    assert_eq!(r.json()["memberCount"], 0);
}

#[tokio::test]
async fn user_list_filters_and_paging() {
    let (srv, a) = shared();
    let scim = srv.client();
    let tag = unique("lst");
    let mut local = vec![];
    for i in 0..3 {
        local.push(create_local_user_id(&a, &format!("{tag}-local-{i}")).await);
    }
    let s1 = scim.create_user(&format!("{tag}-scim-1"), json!({})).await;
    let s2 = scim.create_user(&format!("{tag}-scim-2"), json!({})).await;
    let s2id = s2["id"].as_str().unwrap();
    scim.delete(&format!("/Users/{s2id}")).await.expect(204);
    let q = enc(&tag);

    let r = a.get_ok(&format!("/users?search={q}")).await;
    assert_eq!(r.total(), 5);
    let body = r.json();
    assert_eq!(body["startIndex"], 1);
    assert_eq!(body["itemsPerPage"], 5);
    // Creation order, every user with state, source and groups.
    let names: Vec<String> = r
        .resources()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect();
    let want: Vec<String> = ["local-0", "local-1", "local-2", "scim-1", "scim-2"]
        .iter()
        .map(|s| format!("{tag}-{s}"))
        .collect();
    assert_eq!(names, want);
    for u in r.resources() {
        assert!(
            u["state"].is_string() && u["source"].is_string() && u["groups"].is_array(),
            "{u}"
        );
    }
    // Search ignores case and matches emails.
    assert_eq!(
        a.get(&format!("/users?search={}", enc(&tag.to_uppercase())))
            .await
            .total(),
        5
    );
    let r = a
        .get(&format!("/users?search={}", enc(&format!("{tag}-scim-1@"))))
        .await;
    assert_eq!(r.total(), 1, "search by email: {}", r.text);
    assert_eq!(r.resources()[0]["id"], s1["id"]);

    // state and source filters.
    let r = a
        .get(&format!("/users?search={q}&state=deprovisioned"))
        .await;
    assert_eq!(r.total(), 1);
    assert_eq!(r.resources()[0]["id"], json!(s2id));
    for (query, total) in [
        ("state=active", 4),
        ("state=inactive", 0),
        ("source=scim", 2),
        ("source=SCIM", 2),
    ] {
        let r = a.get(&format!("/users?search={q}&{query}")).await;
        assert_eq!(r.total(), total, "{query}");
    }
    let r = a.get(&format!("/users?search={q}&source=local")).await;
    assert_eq!(r.total(), 3);
    assert!(r.resources().iter().all(|u| u["source"] == "local"));
    assert_eq!(
        a.get(&format!("/users?search={q}&source=scim&state=active"))
            .await
            .total(),
        1
    );
    let m = expect_admin_error(&a.get("/users?state=gone").await, 400);
    assert!(m.contains("deprovisioned"), "{m}");
    expect_admin_error(&a.get("/users?source=ldap").await, 400);
    // A mistyped parameter is refused, not ignored (which would answer every user).
    let m = expect_admin_error(&a.get("/users?stat=inactive").await, 400);
    assert!(m.contains("unknown query parameter 'stat'"), "{m}");
    for path in [
        "/groups?serach=x",
        "/provisioning-log?outcom=rejected",
        "/audit?actions=user.create",
        "/auth-refusals?hour=2",
    ] {
        let m = expect_admin_error(&a.get(path).await, 400);
        assert!(m.contains("unknown query parameter"), "{path}: {m}");
    }

    // Paging: pages of 2 cover every user once.
    let (total, all) = all_pages(&a, &format!("/users?search={q}"), 2).await;
    assert_eq!(total, 5);
    let ids: BTreeSet<String> = all
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 5);
    let r = a
        .get(&format!("/users?search={q}&startIndex=5&count=2"))
        .await;
    assert_eq!(r.resources().len(), 1);
    assert_eq!(r.json()["startIndex"], 5);
    let r = a.get(&format!("/users?search={q}&startIndex=9")).await;
    assert_eq!((r.total(), r.resources().len()), (5, 0));
    let r = a.get(&format!("/users?search={q}&count=0")).await;
    assert_eq!((r.total(), r.resources().len()), (5, 0));
    // startIndex below 1 counts as 1, a huge count is capped, non-integers are refused.
    let r = a
        .get(&format!("/users?search={q}&startIndex=0&count=100000"))
        .await;
    assert_eq!(
        (r.json()["startIndex"].as_u64(), r.resources().len()),
        (Some(1), 5)
    );
    expect_admin_error(&a.get("/users?startIndex=two").await, 400);
    expect_admin_error(&a.get("/users?count=10.5").await, 400);
    // Default page size is 50, at most 500 per page.
    let r = a.get("/users?count=501").await;
    assert!(r.resources().len() <= 500);
    let r = a.get("/users").await;
    assert!(r.resources().len() <= 50);
}

// ---------------------------------------------------------------- groups

#[tokio::test]
async fn groups_create_members_and_delete() {
    let (srv, a) = shared();
    let scim = srv.client();
    let name = unique("Field Team");
    let r = a.post("/groups", &json!({"displayName": name})).await;
    r.expect(201);
    let gid = r.id();
    assert_eq!(r.header("location"), format!("/api/v1/groups/{gid}"));
    assert_eq!(r.json()["source"], "local");
    assert_eq!(r.json()["builtin"], false);
    assert_eq!(r.json()["memberCount"], 0);
    // Names are unique ignoring case, across sources.
    expect_admin_error(
        &a.post("/groups", &json!({"displayName": name.to_lowercase()}))
            .await,
        409,
    );
    scim.post("/Groups", &json!({"schemas": [GROUP], "displayName": name}))
        .await
        .expect_error(409, Some("uniqueness"));
    expect_admin_error(&a.post("/groups", &json!({"displayName": "  "})).await, 400);
    expect_admin_error(&a.post("/groups", &json!({})).await, 400);
    expect_admin_error(&a.post("/groups", &json!({"displayName": 5})).await, 400);

    // List with search; the All Users group is there, first.
    let r = a
        .get(&format!("/groups?search={}", enc(&name.to_uppercase())))
        .await;
    assert_eq!(r.total(), 1);
    assert_eq!(r.resources()[0]["id"], json!(gid));
    let r = a.get("/groups?count=1").await;
    assert_eq!(r.resources()[0]["displayName"], "All Users");
    assert_eq!(r.resources()[0]["builtin"], true);
    let all_users = r.resources()[0]["id"].as_str().unwrap().to_string();

    // Members: add five users, page through them, remove one.
    let tag = unique("mem");
    let mut uids = vec![];
    for i in 0..5 {
        uids.push(create_local_user_id(&a, &format!("{tag}-{i}")).await);
    }
    let r = a
        .post(&format!("/groups/{gid}/members"), &json!({"members": uids}))
        .await;
    r.expect(200);
    assert_eq!(r.json(), &json!({"added": 5, "memberCount": 5}));
    let r = a
        .post(
            &format!("/groups/{gid}/members"),
            &json!({"members": [uids[0]]}),
        )
        .await;
    assert_eq!(r.json(), &json!({"added": 0, "memberCount": 5}));
    let g = a
        .get_ok(&format!("/groups/{gid}?startIndex=2&count=2"))
        .await;
    assert_eq!(g.json()["memberCount"], 5);
    assert_eq!(g.json()["membersStartIndex"], 2);
    let page = strings_at(&g.json()["members"], "id");
    assert_eq!(page, vec![uids[1].as_str(), uids[2].as_str()]);
    assert!(g.json()["members"][0]["display"].is_string());
    let g = a.get(&format!("/groups/{gid}")).await;
    assert_eq!(g.json()["members"].as_array().unwrap().len(), 5);
    // The users show the group.
    let u = a.get(&format!("/users/{}", uids[3])).await;
    assert_eq!(
        json!(u.json()["groups"].as_array().unwrap()[1..]),
        json!([{"id": gid, "displayName": name, "builtin": false}])
    );
    assert_eq!(u.json()["groups"][0]["displayName"], "All Users");
    // ... and SCIM sees the membership.
    assert_eq!(scim.member_ids(&gid).await.len(), 5);
    // Remove one; removing it again is a 404.
    a.delete(&format!("/groups/{gid}/members/{}", uids[4]))
        .await
        .expect(204);
    let m = expect_admin_error(
        &a.delete(&format!("/groups/{gid}/members/{}", uids[4]))
            .await,
        404,
    );
    assert!(m.contains("not a member"), "{m}");
    assert_eq!(
        a.get(&format!("/groups/{gid}")).await.json()["memberCount"],
        4
    );
    // Bad member lists.
    expect_admin_error(
        &a.post(
            &format!("/groups/{gid}/members"),
            &json!({"members": [guid()]}),
        )
        .await,
        400,
    );
    expect_admin_error(
        &a.post(&format!("/groups/{gid}/members"), &json!({"members": []}))
            .await,
        400,
    );
    expect_admin_error(
        &a.post(&format!("/groups/{gid}/members"), &json!({"users": uids}))
            .await,
        400,
    );
    expect_admin_error(
        &a.post(
            &format!("/groups/{}/members", guid()),
            &json!({"members": [uids[0]]}),
        )
        .await,
        404,
    );
    expect_admin_error(
        &a.post(&format!("/groups/{gid}/members"), &json!({"members": [7]}))
            .await,
        400,
    );
    let b = a
        .send(
            a.req(Method::POST, &format!("/groups/{gid}/members"))
                .body("members"),
        )
        .await;
    expect_admin_error(&b, 400);

    // The built-in group: readable with every user, never changed or deleted.
    let g = a.get_ok(&format!("/groups/{all_users}?count=3")).await;
    assert!(g.json()["memberCount"].as_u64().unwrap() >= 5);
    assert!(g.json()["members"].as_array().unwrap().len() <= 3);
    let m = group_and_members_are_read_only(&a, &all_users, &uids[0]).await;
    assert!(m.contains("built-in"), "{m}");
    expect_admin_error(
        &a.delete(&format!("/groups/{all_users}/members/{}", uids[0]))
            .await,
        409,
    );

    // A provisioned group belongs to the identity provider.
    let sg = scim.create_group(&unique("idp-owned"), json!({})).await;
    let sgid = sg["id"].as_str().unwrap();
    assert_eq!(
        a.get(&format!("/groups/{sgid}")).await.json()["source"],
        "scim"
    );
    let m = group_and_members_are_read_only(&a, sgid, &uids[0]).await;
    assert!(m.contains("identity provider"), "{m}");

    // Delete the local group: the users stay.
    a.delete(&format!("/groups/{gid}")).await.expect(204);
    expect_admin_error(&a.get(&format!("/groups/{gid}")).await, 404);
    expect_admin_error(&a.delete(&format!("/groups/{gid}")).await, 404);
    assert_eq!(
        strings_at(
            &a.get(&format!("/users/{}", uids[0])).await.json()["groups"],
            "displayName"
        ),
        vec!["All Users"]
    );
    // Paging of the group list.
    let (total, all) = all_pages(&a, "/groups", 3).await;
    assert_eq!(all.len() as u64, total);
    expect_admin_error(&a.get("/groups?startIndex=x").await, 400);
}

// ---------------------------------------------------------------- custom attributes

#[tokio::test]
async fn custom_attributes() {
    let (srv, a) = shared();
    let scim = srv.client();
    let name = format!("cost{}", &guid().replace('-', "")[..10]);
    let r = a.post("/attributes", &json!({"name": name})).await;
    r.expect(201);
    assert_eq!(r.json()["name"], json!(name));
    assert_eq!(r.json()["type"], "string");
    assert_eq!(r.json()["category"], "IDP");
    assert_eq!(r.json()["schema"], CUSTOM_URN);
    assert_eq!(r.json()["scimPath"], json!(format!("{CUSTOM_URN}:{name}")));
    assert_eq!(r.json()["usersWithValue"], 0);
    assert_eq!(r.header("location"), format!("/api/v1/attributes/{name}"));
    // Duplicates ignoring case: 409.
    let m = expect_admin_error(
        &a.post("/attributes", &json!({"name": name.to_uppercase()}))
            .await,
        409,
    );
    assert!(m.contains("already exists"), "{m}");
    // Invalid names and types: 400.
    for bad in ["2cost", "cost code", "coût", "", "a.b", &"a".repeat(65)] {
        let m = expect_admin_error(&a.post("/attributes", &json!({"name": bad})).await, 400);
        assert!(!m.is_empty());
    }
    expect_admin_error(
        &a.post(
            "/attributes",
            &json!({"name": format!("{name}x"), "type": "complex"}),
        )
        .await,
        400,
    );
    expect_admin_error(
        &a.post("/attributes", &json!({"type": "string"})).await,
        400,
    );
    expect_admin_error(
        &a.post(
            "/attributes",
            &json!({"name": format!("{name}y"), "multiValued": true}),
        )
        .await,
        400,
    );
    expect_admin_error(&a.post("/attributes", &json!({"name": 3})).await, 400);
    // Typed attribute.
    let flag = format!("flag{}", &guid().replace('-', "")[..10]);
    let r = a
        .post("/attributes", &json!({"name": flag, "type": "boolean"}))
        .await;
    r.expect(201);
    assert_eq!(r.json()["type"], "boolean");

    // Listed, in registration order.
    let r = a.get_ok("/attributes").await;
    let names: Vec<String> = r
        .resources()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect();
    let (i, j) = (
        names.iter().position(|n| *n == name).unwrap(),
        names.iter().position(|n| *n == flag).unwrap(),
    );
    assert!(i < j);
    assert_eq!(r.total(), names.len() as u64);

    // A user provisioned with a value; GET shows usersWithValue (name ignoring case).
    let u = scim
        .create_user(
            &unique("attr-user"),
            json!({CUSTOM_URN: {name.clone(): "CC-42"}}),
        )
        .await;
    let uid = u["id"].as_str().unwrap();
    let g = a
        .get_ok(&format!("/attributes/{}", name.to_uppercase()))
        .await;
    assert_eq!(g.json()["name"], json!(name));
    assert_eq!(g.json()["usersWithValue"], 1);
    assert_eq!(
        a.get(&format!("/users/{uid}")).await.json()[CUSTOM_URN][&name],
        "CC-42"
    );

    // Delete: 204 without a body, the count of removed values in a header; the value is gone.
    let d = a.delete(&format!("/attributes/{name}")).await;
    d.expect(204);
    assert!(d.text.is_empty());
    assert_eq!(d.header("scimd-removed-values"), "1");
    expect_admin_error(&a.get(&format!("/attributes/{name}")).await, 404);
    expect_admin_error(&a.delete(&format!("/attributes/{name}")).await, 404);
    let after = a.get(&format!("/users/{uid}")).await;
    assert!(
        after
            .json()
            .get(CUSTOM_URN)
            .and_then(|e| e.get(&name))
            .is_none(),
        "{}",
        after.text
    );
    let d = a.delete(&format!("/attributes/{flag}")).await;
    d.expect(204);
    assert_eq!(d.header("scimd-removed-values"), "0");
}

// ---------------------------------------------------------------- settings

#[tokio::test]
async fn settings_read_change_and_validation() {
    let srv = Server::start();
    let a = admin(&srv);
    let r = a.get_ok("/settings").await;
    assert_eq!(
        r.json(),
        &json!({"customSchemaUrn": CUSTOM_URN, "blankValuePolicy": "ignore", "refuseInactiveCreate": true})
    );
    // Invalid changes: 400 with a message, nothing changed.
    for (body, needle) in [
        (json!({"customSchemaUrn": "not a urn"}), "customSchemaUrn"),
        (
            json!({"customSchemaUrn": "urn:ietf:params:scim:schemas:core:2.0:User"}),
            "customSchemaUrn",
        ),
        (json!({"customSchemaUrn": 5}), "customSchemaUrn"),
        // Too long: the message says the limit, and shows the start of the value only.
        (
            json!({"customSchemaUrn": format!("urn:{}", "x".repeat(20_000))}),
            "(20004 characters) is not usable: give a URN of at most 200 characters",
        ),
        // A character of several bytes across the "urn:" prefix (it once panicked).
        (
            json!({"customSchemaUrn": "\u{1}\u{b34c0}"}),
            "customSchemaUrn",
        ),
        (json!({"customSchemaUrn": "ürn:x:y"}), "customSchemaUrn"),
        (json!({"blankValuePolicy": "sometimes"}), "blankValuePolicy"),
        (
            json!({"refuseInactiveCreate": "no"}),
            "refuseInactiveCreate",
        ),
        (json!({"retention": 3}), "unknown setting"),
        (
            json!({"blankValuePolicy": "clear", "colour": "red"}),
            "unknown setting",
        ),
    ] {
        let m = expect_admin_error(&a.patch("/settings", &body).await, 400);
        assert!(m.contains(needle), "{body}: {m}");
    }
    expect_admin_error(
        &a.patch("/settings", &json!(["blankValuePolicy"])).await,
        400,
    );
    let bad = a.send(a.req(Method::PATCH, "/settings").body("{")).await;
    expect_admin_error(&bad, 400);
    assert_eq!(
        a.get("/settings").await.json()["blankValuePolicy"],
        "ignore"
    );
    // A partial change answers every setting.
    let r = a
        .patch("/settings", &json!({"blankValuePolicy": "clear"}))
        .await;
    r.expect(200);
    assert_eq!(
        r.json(),
        &json!({"customSchemaUrn": CUSTOM_URN, "blankValuePolicy": "clear", "refuseInactiveCreate": true})
    );
    let ivanti = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User";
    let r = a
        .patch(
            "/settings",
            &json!({"customSchemaUrn": ivanti, "refuseInactiveCreate": false}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["customSchemaUrn"], ivanti);
    assert_eq!(r.json()["refuseInactiveCreate"], false);
    assert_eq!(a.get("/settings").await.json()["customSchemaUrn"], ivanti);
    // The empty patch changes nothing.
    assert_eq!(
        a.patch("/settings", &json!({})).await.json()["customSchemaUrn"],
        ivanti
    );
    // Attributes follow the URN.
    a.post("/attributes", &json!({"name": "costCenterCode"}))
        .await
        .expect(201);
    assert_eq!(
        a.get("/attributes/costCenterCode").await.json()["scimPath"],
        json!(format!("{ivanti}:costCenterCode"))
    );
    // Wrong methods.
    expect_admin_error(&a.put("/settings", &json!({})).await, 405);
    expect_admin_error(&a.post("/settings", &json!({})).await, 405);

    // The CLI acts on the same settings.
    let out = srv.cli(&["settings", "show"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown, a.get("/settings").await.json().clone());
    let out = srv.cli(&["settings", "set", "refuseInactiveCreate", "true"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let set: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(set["refuseInactiveCreate"], true);
    assert_eq!(
        a.get("/settings").await.json()["refuseInactiveCreate"],
        true
    );
    let out = srv.cli(&["settings", "set", "blankValuePolicy", "ignore"]);
    assert!(out.status.success());
    assert_eq!(
        a.get("/settings").await.json()["blankValuePolicy"],
        "ignore"
    );
    let out = srv.cli(&["settings", "set", "colour", "red"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown setting"));
    let out = srv.cli(&["settings", "set", "blankValuePolicy", "maybe"]);
    assert!(!out.status.success());
}

// ---------------------------------------------------------------- tokens

#[tokio::test]
async fn tokens_list_create_revoke() {
    let (srv, a) = shared();
    // A SCIM token created here works on /scim/v2 at once.
    let name = unique("entra");
    let r = a
        .create_api_token(&json!({"name": name, "scope": "scim"}))
        .await;
    assert_eq!(r.json()["name"], json!(name));
    assert_eq!(r.json()["scope"], "scim");
    let secret = r.string("secret");
    assert!(
        secret.len() == 70 && secret.starts_with("scimd_"),
        "{secret}"
    );
    assert!(r.json()["created"].is_string());
    assert_eq!(
        r.json()["expires"],
        Value::Null,
        "no expiresIn: never expires"
    );
    srv.client_with(Some(&secret))
        .get("/Users?count=1")
        .await
        .expect(200);
    expect_admin_error(&admin_with(srv, Some(&secret)).get("/users").await, 403);
    // An admin token (scope case-insensitive) works here.
    let aname = unique("ops");
    let r = a
        .create_api_token(&json!({"name": aname, "scope": "ADMIN"}))
        .await;
    let asecret = r.string("secret");
    let a2 = admin_with(srv, Some(&asecret));
    a2.get("/tokens").await.expect(200);
    // Default scope is scim.
    let dname = unique("default-scope");
    let r = a.create_api_token(&json!({"name": dname})).await;
    assert_eq!(r.json()["scope"], "scim");

    // Duplicate active name: 409; bad bodies: 400.
    let m = expect_admin_error(&a.post("/tokens", &json!({"name": name})).await, 409);
    assert!(m.contains(&name), "{m}");
    expect_admin_error(
        &a.post("/tokens", &json!({"name": unique("x"), "scope": "root"}))
            .await,
        400,
    );
    expect_admin_error(&a.post("/tokens", &json!({"scope": "scim"})).await, 400);
    let m = expect_admin_error(&a.post("/tokens", &json!({"name": "   "})).await, 400);
    assert!(m.contains("must not be empty or blank"), "{m}");
    let long = "n".repeat(101);
    let m = expect_admin_error(&a.post("/tokens", &json!({"name": long})).await, 400);
    assert!(m.contains("this one has 101"), "{m}");
    expect_admin_error(
        &a.post("/tokens", &json!({"name": "x".repeat(101)})).await,
        400,
    );
    expect_admin_error(
        &a.post("/tokens", &json!({"name": unique("y"), "secret": "mine"}))
            .await,
        400,
    );

    // The list: names, scopes, times; never a secret or a hash.
    let r = a.get_ok("/tokens").await;
    assert!(!r.text.contains(&secret) && !r.text.contains(&asecret));
    for t in r.resources() {
        let keys: BTreeSet<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["name", "scope", "created", "lastUsed", "revoked", "expires"]),
            "{t}"
        );
        for v in t.as_object().unwrap().values() {
            if let Some(s) = v.as_str() {
                assert!(
                    !(s.len() >= 64 && s.chars().all(|c| c.is_ascii_hexdigit())),
                    "a secret or hash in the list: {t}"
                );
            }
        }
    }
    let mine = r
        .resources()
        .into_iter()
        .find(|t| t["name"] == json!(name))
        .unwrap();
    assert_eq!(mine["scope"], "scim");
    assert!(mine["lastUsed"].is_string(), "used once: {mine}");
    assert!(mine["revoked"].is_null());
    let bootstrap = r
        .resources()
        .into_iter()
        .find(|t| t["name"] == "initial")
        .unwrap();
    assert_eq!(bootstrap["scope"], "scim");

    // Revoke: 204, the token stops working, a second revoke is a 404.
    a.delete(&format!("/tokens/{name}")).await.expect(204);
    srv.client_with(Some(&secret))
        .get("/Users")
        .await
        .expect_error(401, None);
    let m = expect_admin_error(&a.delete(&format!("/tokens/{name}")).await, 404);
    assert!(m.contains(&name), "{m}");
    expect_admin_error(&a.delete("/tokens/never-existed").await, 404);
    let r = a.get("/tokens").await;
    let revoked = r
        .resources()
        .into_iter()
        .find(|t| t["name"] == json!(name))
        .unwrap();
    assert!(revoked["revoked"].is_string(), "{revoked}");
    // The name can be reused once revoked.
    a.create_api_token(&json!({"name": name})).await;
    // An admin token can be revoked over the API; it then gets 401 here.
    a.delete(&format!("/tokens/{aname}")).await.expect(204);
    expect_admin_error(&a2.get("/tokens").await, 401);
    // A name with a space, through the path.
    let spaced = format!("{} prod", unique("entra"));
    a.create_api_token(&json!({"name": spaced})).await;
    a.delete(&format!("/tokens/{}", enc(&spaced)))
        .await
        .expect(204);
}

// ---------------------------------------------------------------- provisioning log

/// Provisions a few users whose log entries carry `tag` and characters that CSV must
/// quote or neutralise; returns (created id, rejected userName).
async fn provision_tricky(srv: &Server, tag: &str) -> (String, String) {
    let scim = srv.client();
    // userName with a leading '=' (formula), a comma and quotes.
    let tricky = format!("=HYPERLINK(\"http://x\"),{tag}");
    let u = scim
        .create_user(
            &tricky,
            json!({"emails": [{"value": format!("{tag}@example.com"), "type": "work"}]}),
        )
        .await;
    let id = u["id"].as_str().unwrap().to_string();
    // An update changing several attributes.
    scim.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "displayName", "value": "Dee"}, {"op": "replace", "path": "title", "value": "+Boss"}]),
    )
    .await
    .expect(200);
    // A rejected request (no email), userName starting with '@' and holding a newline.
    let rejected = format!("@{tag}\nsecond line");
    let r = scim
        .post("/Users", &json!({"schemas": [USER], "userName": rejected, "name": {"givenName": "A", "familyName": "B"}}))
        .await;
    r.expect_error(400, None);
    (id, rejected)
}

#[tokio::test]
async fn provisioning_log_filters_and_paging() {
    let (srv, a) = shared();
    let tag = unique("logf");
    let (id, rejected) = provision_tricky(srv, &tag).await;
    let q = enc(&tag);
    let r = a.get_ok(&format!("/provisioning-log?text={q}")).await;
    assert_eq!(r.total(), 3, "{}", r.text);
    let entries = r.resources();
    // Newest first.
    let outcomes: Vec<&str> = entries
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, vec!["rejected", "updated", "created"]);
    let rej = &entries[0];
    assert_eq!(rej["status"], 400);
    assert_eq!(rej["method"], "POST");
    assert_eq!(rej["path"], "/scim/v2/Users");
    assert_eq!(rej["resourceType"], "User");
    assert_eq!(rej["resourceName"], json!(rejected));
    assert_eq!(rej["tokenName"], "initial");
    assert!(rej["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(entries[2]["resourceId"], json!(id));
    assert_eq!(entries[2]["status"], 201);
    let changed = strings(&entries[1]["changedAttributes"]);
    assert!(
        changed.contains(&"displayName") && changed.contains(&"title"),
        "{changed:?}"
    );
    for e in &entries {
        assert!(
            e["seq"].is_i64() && e["time"].is_string() && e["warnings"].is_array(),
            "{e}"
        );
        assert!(!e.to_string().contains(&srv.token), "no secret in the log");
    }

    // Filters.
    let r = a
        .get(&format!("/provisioning-log?text={q}&outcome=rejected"))
        .await;
    assert_eq!(r.total(), 1);
    for (query, total) in [
        ("outcome=Created", 1),
        ("resourceType=user", 3),
        ("resourceType=Group", 0),
    ] {
        let r = a.get(&format!("/provisioning-log?text={q}&{query}")).await;
        assert_eq!(r.total(), total, "{query}");
    }
    let t0 = entries[2]["time"].as_str().unwrap();
    let t_last = entries[0]["time"].as_str().unwrap();
    // since is inclusive, until exclusive.
    assert_eq!(
        a.get(&format!("/provisioning-log?text={q}&since={}", enc(t0)))
            .await
            .total(),
        3
    );
    assert_eq!(
        a.get(&format!("/provisioning-log?text={q}&until={}", enc(t_last)))
            .await
            .total(),
        2
    );
    assert_eq!(
        a.get(&format!(
            "/provisioning-log?text={q}&since=2999-01-01T00:00:00Z"
        ))
        .await
        .total(),
        0
    );
    // An offset written with an unescaped '+' (decoded as a space) still parses.
    assert_eq!(
        a.get(&format!(
            "/provisioning-log?text={q}&since=2000-01-01T00:00:00+02:00"
        ))
        .await
        .total(),
        3
    );
    for bad in [
        "since=yesterday",
        "until=2026-13-01T00:00:00Z",
        "since=2026-01-01",
        "outcome=exploded",
        "resourceType=Device",
        "format=xml",
        "count=many",
        "since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
    ] {
        let m = expect_admin_error(&a.get(&format!("/provisioning-log?{bad}")).await, 400);
        assert!(!m.is_empty(), "{bad}");
    }
    // Paging.
    let r = a
        .get(&format!("/provisioning-log?text={q}&startIndex=2&count=1"))
        .await;
    assert_eq!(
        (
            r.total(),
            r.json()["startIndex"].as_u64(),
            r.json()["itemsPerPage"].as_u64()
        ),
        (3, Some(2), Some(1))
    );
    assert_eq!(r.resources()[0]["seq"], entries[1]["seq"]);
    let (total, all) = all_pages(&a, &format!("/provisioning-log?text={q}"), 2).await;
    assert_eq!(total, 3);
    assert_eq!(all, entries);
    // format=json is the page.
    assert_eq!(
        a.get(&format!("/provisioning-log?text={q}&format=json"))
            .await
            .resources(),
        entries
    );
}

#[tokio::test]
async fn provisioning_log_csv_and_jsonl_downloads() {
    let (srv, a) = shared();
    let tag = unique("logx");
    let q = enc(&tag);
    let (_, rejected) = provision_tricky(srv, &tag).await;
    let listing = a
        .get(&format!("/provisioning-log?text={q}"))
        .await
        .resources();
    assert_eq!(listing.len(), 3);

    // CSV by parameter.
    let r = a
        .get(&format!("/provisioning-log?text={q}&format=csv"))
        .await;
    r.expect_typed(200, "text/csv");
    let cd = r.header(CONTENT_DISPOSITION.as_str());
    assert!(
        cd.starts_with("attachment;")
            && cd.contains("filename=\"provisioning-log-")
            && cd.ends_with(".csv\""),
        "{cd}"
    );
    let rows = parse_csv(&r.text);
    assert_eq!(rows[0], csv_columns());
    assert_eq!(rows.len(), 4, "{}", r.text);
    for (row, e) in rows[1..].iter().zip(&listing) {
        assert_eq!(row.len(), csv_columns().len());
        assert_eq!(row[0], e["seq"].to_string());
        assert_eq!(row[1], e["time"].as_str().unwrap());
        assert_eq!(row[8], e["outcome"].as_str().unwrap());
        assert_eq!(row[9], e["status"].to_string());
    }
    let col = |k: &str| csv_columns().iter().position(|c| *c == k).unwrap();
    // Formula injection: the '=' and '@' names are neutralised with a leading quote; the
    // comma, the quotes and the newline survive RFC 4180 quoting.
    let created = &rows[3];
    assert_eq!(
        created[col("resourceName")],
        format!("'=HYPERLINK(\"http://x\"),{tag}")
    );
    let rej = &rows[1];
    assert_eq!(rej[col("resourceName")], format!("'{rejected}"));
    assert!(rej[col("detail")].len() > 3);
    assert!(
        r.text.contains("\"'=HYPERLINK(\"\"http://x\"\"),"),
        "raw quoting: {}",
        r.text
    );
    // List fields joined with "; ".
    let upd = &rows[2];
    let changed = &upd[col("changedAttributes")];
    let want = strings(&listing[1]["changedAttributes"]);
    assert_eq!(changed, &want.join("; "));
    assert!(changed.contains("; "), "{changed}");
    // No cell starts with a formula character.
    for row in &rows {
        for c in row {
            assert!(!c.starts_with(['=', '+', '-', '@']), "unguarded cell {c:?}");
        }
    }

    // CSV by Accept header, with the filters.
    let r = get_accepting(
        &a,
        &format!("/provisioning-log?text={q}&outcome=rejected"),
        "text/csv",
    )
    .await;
    r.expect(200);
    assert!(r.header("content-type").starts_with("text/csv"));
    assert_eq!(parse_csv(&r.text).len(), 2);

    // JSON Lines, by parameter and by Accept: the listing's entries, one per line.
    let r = a
        .get_ok(&format!("/provisioning-log?text={q}&format=jsonl"))
        .await;
    assert!(r.header("content-type").starts_with("application/x-ndjson"));
    assert!(r.header(CONTENT_DISPOSITION.as_str()).contains(".jsonl\""));
    assert!(r.text.ends_with('\n'));
    let lines = r.json_lines();
    assert_eq!(lines, listing);
    let r = get_accepting(
        &a,
        &format!("/provisioning-log?text={q}"),
        "application/x-ndjson",
    )
    .await;
    assert_eq!(r.text.lines().count(), 3);
    // format wins over Accept.
    let r = get_accepting(
        &a,
        &format!("/provisioning-log?text={q}&format=json"),
        "text/csv",
    )
    .await;
    assert_eq!(r.resources(), listing);
    // An empty download is just the header row.
    let r = a
        .get("/provisioning-log?text=nothing-matches-this-at-all&format=csv")
        .await;
    assert_eq!(r.text, format!("{CSV_HEADER}\r\n"));
    let r = a
        .get("/provisioning-log?text=nothing-matches-this-at-all&format=jsonl")
        .await;
    assert_eq!(r.text, "");
    // Bad filters are refused before any download starts.
    expect_admin_error(&a.get("/provisioning-log?format=csv&since=nope").await, 400);
}

/// More matching entries than one page of the export's internal paging (1000): every
/// entry appears exactly once, in order.
#[tokio::test]
async fn provisioning_log_download_spans_many_pages() {
    let srv = Server::start();
    let a = admin(&srv);
    let scim = srv.client();
    let tag = unique("bulk");
    let n = 1013;
    let items: Vec<usize> = (0..n).collect();
    let tag2 = tag.clone();
    concurrent(items, 8, move |i| {
        let scim = scim.clone();
        let body = json!({"schemas": [USER], "userName": format!("{tag2}-{i}"), "name": {"givenName": "A", "familyName": "B"}});
        async move {
            let r = scim.post("/Users", &body).await;
            assert_eq!(r.status, 400, "{}", r.text);
        }
    })
    .await;
    let q = enc(&tag);
    assert_eq!(
        a.get(&format!("/provisioning-log?text={q}&count=1"))
            .await
            .total(),
        n as u64
    );
    let r = a
        .get_ok(&format!("/provisioning-log?text={q}&format=jsonl"))
        .await;
    let seqs: Vec<i64> = r
        .text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["seq"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs.len(), n);
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
    let r = a
        .get(&format!("/provisioning-log?text={q}&format=csv"))
        .await;
    let rows = parse_csv(&r.text);
    assert_eq!(rows.len(), n + 1);
    let names: BTreeSet<String> = rows[1..].iter().map(|r| r[7].clone()).collect();
    assert_eq!(names.len(), n);
    // The dashboard shows the latest ten rejected requests.
    let d = a.get_ok("/dashboard").await;
    assert_eq!(d.json()["recentRejected"].as_array().unwrap().len(), 10);
    assert_eq!(d.json()["rejectedEntries"], n);
    assert!(d.json()["recentRejected"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["outcome"] == "rejected"));
}

// ---------------------------------------------------------------- dashboard

#[tokio::test]
async fn dashboard_counts_and_recent_entries() {
    let srv = Server::start();
    let a = admin(&srv);
    let scim = srv.client();
    let d = a.get_ok("/dashboard").await;
    let b = d.json();
    assert_eq!(b["scimTenantUrl"], json!(srv.scim));
    assert_eq!(b["counts"]["users"], 0);
    assert_eq!(b["counts"]["groups"], 0);
    assert_eq!(b["recentLog"], json!([]));
    assert_eq!(b["recentRejected"], json!([]));
    // Two SCIM users (one deprovisioned), one local user, a group, a rejected request.
    let u1 = scim.create_user(&unique("d1"), json!({})).await;
    let u2 = scim.create_user(&unique("d2"), json!({})).await;
    scim.delete(&format!("/Users/{}", u2["id"].as_str().unwrap()))
        .await
        .expect(204);
    create_local_user(&a, &unique("d3")).await;
    scim.create_group(&unique("dg"), json!({"members": [{"value": u1["id"]}]}))
        .await;
    scim.post(
        "/Users",
        &json!({"schemas": [USER], "userName": unique("d4")}),
    )
    .await
    .expect_error(400, None);
    let d = a.get("/dashboard").await;
    let b = d.json();
    assert_eq!(b["counts"]["users"], 3);
    assert_eq!(
        b["counts"]["usersByState"],
        json!({"active": 2, "inactive": 0, "deprovisioned": 1})
    );
    assert_eq!(b["counts"]["usersBySource"], json!({"local": 1, "scim": 2}));
    assert_eq!(b["counts"]["groups"], 1);
    assert_eq!(b["logEntries"], 5);
    assert_eq!(b["rejectedEntries"], 1);
    let recent = strings_at(&b["recentLog"], "outcome");
    assert_eq!(
        recent,
        vec!["rejected", "created", "deprovisioned", "created", "created"]
    );
    assert_eq!(b["recentRejected"].as_array().unwrap().len(), 1);
    // The same counts through the lists.
    assert_eq!(a.get("/users?count=0").await.total(), 3);
    assert_eq!(
        a.get("/groups?count=0").await.total(),
        2,
        "the group and All Users"
    );
}

// ---------------------------------------------------------------- log retention

/// `--log-retention-days`: entries older than the retention are deleted when the server
/// starts (and hourly); 0 keeps them. Runs a server in-process to date entries in the past.
#[tokio::test]
async fn log_retention_purges_old_entries_at_start() {
    use scimd_directory::admin::LogFilter;
    use scimd_directory::store::{
        Actor, ActorType, Cause, ChangeRecord, Channel, MemberChange, MemberKind, Table,
    };
    let dir = fresh_test_dir("retention");
    let mut cfg = scimd::Config {
        listen: "127.0.0.1:0".into(),
        database: format!("sqlite://{}/scimd.db", dir.display()),
        log_retention_days: 0,
        ..Default::default()
    };
    let r1 = scimd::start(&cfg).await.unwrap();
    let tenant = r1.bootstrap.as_ref().unwrap().tenant_id.clone();
    let entry = |days_ago: i64, name: &str| ChangeRecord {
        seq: 0,
        tenant_id: tenant.clone(),
        txn: unique("txn"),
        at: time::OffsetDateTime::now_utc() - time::Duration::days(days_ago),
        actor: Actor::new(ActorType::Token, "initial"),
        source: Channel::Scim,
        address: None,
        cause: Cause::Request {
            method: "POST".into(),
            path: "/scim/v2/Users".into(),
            status: Some(400),
        },
        resource_type: Some("User".into()),
        resource_id: None,
        resource_name: Some(name.into()),
        member: None,
        outcome: "rejected".into(),
        action: None,
        detail: Some("test".into()),
        changes: vec![],
        warnings: vec![],
        count: 1,
        log: true,
        audit: false,
    };
    {
        let mut tx = r1.directory.store().write().await.unwrap();
        tx.insert_record(&entry(40, "forty-days")).await.unwrap();
        tx.insert_record(&entry(3, "three-days")).await.unwrap();
        tx.insert_record(&entry(0, "today")).await.unwrap();
        // Every other kind of record, 40 days old and new: an audit record, a rule's side
        // effect, a per-member record.
        for days in [40, 0] {
            let mut action = entry(days, "action");
            (action.log, action.audit) = (false, true);
            action.action = Some("token.create".into());
            tx.insert_record(&action).await.unwrap();
            let mut rule = entry(days, "rule");
            rule.log = false;
            rule.actor = Actor::new(ActorType::Rule, "group-delete-disables-members");
            rule.cause = Cause::Rule("group-delete-disables-members".into());
            tx.insert_record(&rule).await.unwrap();
            let member = MemberChange {
                id: "u-1".into(),
                kind: MemberKind::User,
                added: true,
            };
            tx.insert_member_records(&rule, &[member]).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let records = |d: scimd_directory::Directory| async move {
        let mut tx = d.store().read().await.unwrap();
        let counts = tx.table_counts(None).await.unwrap();
        counts.iter().find(|(t, _)| *t == Table::Changes).unwrap().1
    };
    let names = |d: scimd_directory::Directory, t: String| async move {
        let (_, v) = d.records(&t, &LogFilter::default(), 0, 100).await.unwrap();
        v.iter()
            .map(|e| e.resource_name.clone().unwrap())
            .collect::<Vec<_>>()
    };
    // Retention 0 keeps everything: 3 log entries, 6 other records, and first start's 3
    // audit records (tenant, token, administrator).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(names(r1.directory.clone(), tenant.clone()).await.len(), 3);
    assert_eq!(records(r1.directory.clone()).await, 12);
    r1.shutdown().await.unwrap();

    // The default (30 days) removes the 40-day-old entry at start.
    cfg.log_retention_days = 30;
    let r2 = scimd::start(&cfg).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n = names(r2.directory.clone(), tenant.clone()).await;
        if n.len() == 2 {
            assert_eq!(n, vec!["today", "three-days"]);
            // Records of every kind are purged together.
            assert_eq!(records(r2.directory.clone()).await, 8);
            break;
        }
        assert!(Instant::now() < deadline, "old entry not purged: {n:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Shutdown stops the purge task too (returns promptly).
    tokio::time::timeout(Duration::from_secs(10), r2.shutdown())
        .await
        .unwrap()
        .unwrap();

    // 1 day: the 3-day-old entry goes as well.
    cfg.log_retention_days = 1;
    let r3 = scimd::start(&cfg).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while names(r3.directory.clone(), tenant.clone()).await != vec!["today"] {
        assert!(Instant::now() < deadline, "3-day-old entry not purged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    r3.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

/// The flag, the environment variable and the TOML key are accepted; bad values stop the
/// server with a message.
#[tokio::test]
async fn log_retention_configuration() {
    let srv = Server::start_opts(Opts {
        args: vec!["--log-retention-days".into(), "0".into()],
        ..Default::default()
    });
    admin(&srv).get("/dashboard").await.expect(200);
    drop(srv);
    let srv = Server::start_opts(Opts {
        env: vec![("SCIMD_LOG_RETENTION_DAYS".into(), "7".into())],
        ..Default::default()
    });
    admin(&srv).get("/dashboard").await.expect(200);
    // Invalid values: exit status 2 and a message naming the setting.
    let dir = fresh_test_dir("ret-bad");
    let db = format!("sqlite://{}/scimd.db", dir.display());
    let toml = dir.join("scimd.toml");
    std::fs::write(&toml, "log_retention_days = 99999999\n").unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(SCIMD);
        for k in [
            "SCIMD_CONFIG",
            "SCIMD_LISTEN",
            "SCIMD_DATABASE",
            "SCIMD_LOG_RETENTION_DAYS",
        ] {
            cmd.env_remove(k);
        }
        cmd.args(args)
            .args(["--database", &db])
            .envs(env.iter().copied());
        cmd.output().unwrap()
    };
    let out = run(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-retention-days",
            "soon",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("log-retention-days"));
    let out = run(
        &["serve", "--listen", "127.0.0.1:0"],
        &[("SCIMD_LOG_RETENTION_DAYS", "a month")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SCIMD_LOG_RETENTION_DAYS"));
    let out = run(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--config",
            toml.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("retention"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Control characters (NUL above all: PostgreSQL cannot store it) in a token name or the
/// custom schema URN are a 400 a person can act on, never a storage error, and change
/// nothing.
#[tokio::test]
async fn control_characters_in_names_are_refused() {
    let srv = Server::start();
    let a = admin(&srv);
    let before = a.get_ok("/tokens").await;
    let r = a
        .post("/tokens", &json!({"name": "bad\u{0}name", "scope": "scim"}))
        .await;
    let m = expect_admin_error(&r, 400);
    assert!(m.contains("control characters"), "{m}");
    let after = a.get("/tokens").await;
    assert_eq!(before.json(), after.json());
    let r = a
        .patch(
            "/settings",
            &json!({"customSchemaUrn": "urn:example:\u{0}:2.0:User"}),
        )
        .await;
    expect_admin_error(&r, 400);
    let s = a.get("/settings").await;
    assert_eq!(
        s.json()["customSchemaUrn"],
        json!("urn:ietf:params:scim:schemas:extension:scimd:2.0:User")
    );
}

/// [`create_local_user`], returning the new user's `id`.
async fn create_local_user_id(a: &Client, user_name: &str) -> String {
    let u = create_local_user(a, user_name).await;
    u["id"]
        .as_str()
        .unwrap_or_else(|| panic!("created user without an id: {u}"))
        .to_string()
}

/// Asserts that the administrators may neither delete the group `gid` nor add `uid` to it
/// (409 Conflict for both); returns the message of the refused delete.
async fn group_and_members_are_read_only(a: &Client, gid: &str, uid: &str) -> String {
    let m = expect_admin_error(&a.delete(&format!("/groups/{gid}")).await, 409);
    let add = a
        .post(
            &format!("/groups/{gid}/members"),
            &json!({"members": [uid]}),
        )
        .await;
    expect_admin_error(&add, 409);
    m
}

/// A GET of `path` with this `Accept` header.
async fn get_accepting(a: &Client, path: &str, accept: &str) -> Resp {
    a.send(a.req(Method::GET, path).header(ACCEPT, accept))
        .await
}

/// The strings of a JSON array of strings; panics on anything else.
fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap_or_else(|| panic!("not a string: {s}")))
        .collect()
}
