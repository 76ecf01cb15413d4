//! Operators (issue 15): operator tokens (`scimd token create --scope operator`, belonging to
//! no tenant) and the operator API at the root, `/api/v1/tenants` (create, list, show,
//! disable, enable, delete tenants), recorded in the audit record; refused everywhere else.
//! Against real `scimd serve` processes, on SQLite and (with SCIMD_TEST_DATABASE_URL)
//! PostgreSQL.

mod common;

use common::{eventually, strings_at, Client, Server};
use serde_json::{json, Value};
use std::time::Duration;

/// `scimd token create --scope operator --name NAME`: the secret.
fn operator_token(s: &Server, name: &str) -> String {
    let out = s.cli(&["token", "create", "--scope", "operator", "--name", name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A client of the operator API with `token`.
fn operator(s: &Server, token: Option<&str>) -> Client {
    Client::new(&format!("{}/api/v1", s.base), token)
}

/// The message of an admin API error of `status`.
fn error_of(r: &common::Resp, status: u16) -> String {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.json()["error"]["status"], json!(status), "{}", r.text);
    r.json()["error"]["message"].as_str().unwrap().to_string()
}

/// Whether SCIM client `c` answers `GET /Users` with `status` within 3 seconds (the server
/// sees a tenant's new state within a second or so).
async fn answers_soon(c: &Client, status: u16) -> bool {
    eventually(Duration::from_secs(3), async || {
        c.get("/Users").await.status == status
    })
    .await
}

#[tokio::test]
async fn operator_tokens_belong_to_no_tenant() {
    let s = Server::start();
    // Not with --tenant; a tenant's token cannot have the scope.
    let out = s.cli(&[
        "--tenant", "default", "token", "create", "--scope", "operator", "--name", "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("belong to no tenant"));
    let secret = operator_token(&s, "ops-1");
    assert!(
        secret.starts_with("scimd_") && secret.len() == 70,
        "{secret}"
    );

    // Listed with --operator, never among the tenant's.
    let out = s.cli(&["token", "list", "--operator", "--json"]);
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["tokens"][0]["name"], json!("ops-1"), "{listed}");
    assert_eq!(listed["tokens"][0]["scope"], json!("operator"));
    let out = s.cli(&["token", "list", "--json"]);
    let tenant: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        tenant["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["scope"] != json!("operator")),
        "{tenant}"
    );
    // The operator realm is no tenant: not listed, not a --tenant, not served on /t/.
    let out = s.cli(&["tenant", "list", "--json"]);
    let tenants: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(tenants.as_array().unwrap().len(), 1, "{tenants}");
    let out = s.cli(&["--tenant", "operator", "token", "list"]);
    assert!(!out.status.success());
    let out = s.cli(&["tenant", "disable", "operator"]);
    assert!(!out.status.success());

    // On every tenant's paths an operator token is refused (401), saying where it works.
    let root_scim = Client::new(&s.scim, Some(&secret));
    root_scim.get("/Users").await.expect(401);
    let r = operator(&s, Some(&secret)).get("/users").await;
    let m = error_of(&r, 401);
    assert!(
        m.contains("an operator token") && m.contains("/api/v1/tenants"),
        "{m}"
    );
    // And the operator API refuses a tenant's tokens (403 insufficient_scope) and none.
    let admin = s.admin();
    let r = admin.get("/tenants").await;
    let m = error_of(&r, 403);
    assert!(m.contains("--scope operator"), "{m}");
    assert!(
        r.header("www-authenticate").contains("insufficient_scope"),
        "{}",
        r.header("www-authenticate")
    );
    // (The SCIM token first start made.)
    error_of(&operator(&s, Some(&s.token)).get("/tenants").await, 403);
    error_of(&operator(&s, None).get("/tenants").await, 401);

    // Revoked from the command line: refused.
    let ops = operator(&s, Some(&secret));
    ops.get("/tenants").await.expect(200);
    let out = s.cli(&["token", "revoke", "--operator", "ops-1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // (Within a second: the running server sees another process's revocation by its poll.)
    let r = common::answers_within(&ops, "/tenants", 401).await;
    error_of(&r, 401);
    assert!(r.header("www-authenticate").contains("revoked"));
    // (Without --operator, a tenant's token of that name is looked for.)
    let out = s.cli(&["token", "revoke", "ops-1"]);
    assert!(!out.status.success());
}

#[tokio::test]
async fn the_operator_api_manages_tenants() {
    let s = Server::start();
    let ops_secret = operator_token(&s, "ops");
    let ops = operator(&s, Some(&ops_secret));

    // Create: the URLs and secrets to give the customer, once.
    let r = ops
        .post(
            "/tenants",
            &json!({"name": "Fabrikam Inc", "slug": "fabrikam"}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.header("location"), "/api/v1/tenants/fabrikam");
    assert_eq!(r.header("cache-control"), "no-store");
    let made = r.json().clone();
    let prefix = format!("{}/t/fabrikam", s.base);
    assert_eq!(made["slug"], json!("fabrikam"));
    assert_eq!(made["name"], json!("Fabrikam Inc"));
    assert_eq!(made["scimUrl"], json!(format!("{prefix}/scim/v2")));
    assert_eq!(made["tokenUrl"], json!(format!("{prefix}/oauth/token")));
    assert_eq!(made["portalUrl"], json!(format!("{prefix}/")));
    assert_eq!(made["adminUsername"], json!("admin"));
    let scim = Client::new(
        made["scimUrl"].as_str().unwrap(),
        made["scimToken"].as_str(),
    );
    scim.get("/Users").await.expect(200);

    // A slug derived from the name; clashes and bad input are errors that say why.
    let r = ops
        .post("/tenants", &json!({"name": "Tail Spin Toys"}))
        .await;
    r.expect(201);
    assert_eq!(r.json()["slug"], json!("tail-spin-toys"));
    for (body, status, says) in [
        (json!({"name": "Fabrikam Inc"}), 409, "name 'Fabrikam Inc'"),
        (json!({"name": "X", "slug": "operator"}), 400, "reserved"),
        (json!({"slug": "y"}), 400, "name"),
        (json!({"name": "Z", "colour": "red"}), 400, "colour"),
    ] {
        let m = error_of(&ops.post("/tenants", &body).await, status);
        assert!(m.contains(says), "{body}: {m}");
    }

    // List and show: the tenants, never the operator realm.
    let r = ops.get("/tenants").await;
    r.expect(200);
    let slugs = strings_at(&r.json()["Resources"], "slug");
    assert_eq!(
        slugs,
        ["default", "fabrikam", "tail-spin-toys"],
        "{}",
        r.text
    );
    assert_eq!(r.json()["totalResults"], json!(3));
    let r = ops.get("/tenants/fabrikam").await;
    r.expect(200);
    assert_eq!(r.json()["state"], json!("active"));
    assert_eq!(r.json()["users"], json!(0));
    // The SCIM request above is noted in the background (at most a write a minute).
    let noted = eventually(Duration::from_secs(5), async || {
        ops.get("/tenants/fabrikam").await.json()["lastScimRequest"].is_string()
    })
    .await;
    assert!(noted, "lastScimRequest never set");
    error_of(&ops.get("/tenants/operator").await, 404);
    error_of(&ops.get("/tenants/nobody").await, 404);

    // Disable: the tenant's SCIM answers 403, nothing is lost; enable serves it again.
    let r = ops
        .patch("/tenants/fabrikam", &json!({"state": "disabled"}))
        .await;
    r.expect(200);
    assert_eq!(r.json()["state"], json!("disabled"));
    assert!(
        answers_soon(&scim, 403).await,
        "the tenant's SCIM answers 403"
    );
    for bad in [
        json!({"state": "deleting"}),
        json!({"state": 1}),
        json!({"name": "x"}),
        json!([]),
    ] {
        error_of(&ops.patch("/tenants/fabrikam", &bad).await, 400);
    }
    let r = ops
        .patch("/tenants/fabrikam", &json!({"state": "active"}))
        .await;
    assert_eq!(r.json()["state"], json!("active"), "{}", r.text);
    assert!(
        answers_soon(&scim, 200).await,
        "the tenant's SCIM answers 200"
    );

    // The tenant's administrators see what the operator did, under the token's name.
    let admin_token = s
        .cli(&[
            "--tenant", "fabrikam", "token", "create", "--name", "a", "--scope", "admin",
        ])
        .stdout;
    let admin_token = String::from_utf8(admin_token).unwrap().trim().to_string();
    let tenant_admin = Client::new(&format!("{prefix}/api/v1"), Some(&admin_token));
    let r = tenant_admin.get("/audit?count=100").await;
    r.expect(200);
    let actions: Vec<(String, String)> = r.json()["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_string(),
                e["actor"]["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for action in ["tenant.create", "tenant.disable", "tenant.enable"] {
        assert!(
            actions.contains(&(action.to_string(), "ops".to_string())),
            "{action} by ops in {actions:?}"
        );
    }

    // Not on a tenant's paths.
    let on_tenant = Client::new(&format!("{prefix}/api/v1"), Some(&ops_secret));
    let m = error_of(&on_tenant.get("/tenants").await, 404);
    assert!(m.contains("only at the root"), "{m}");

    // Delete: 404 at once on its paths, then its rows go; the slug stays taken; the root
    // tenant cannot be deleted.
    scim.post(
        "/Users",
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "u1",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "u1@example.com", "primary": true}]}),
    )
    .await
    .expect(201);
    let m = error_of(&ops.delete("/tenants/default").await, 409);
    assert!(m.contains("root tenant"), "{m}");
    let r = ops.delete("/tenants/fabrikam").await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json()["state"], json!("deleting"));
    assert_eq!(r.json()["users"], json!(1));
    scim.get("/Users").await.expect(404);
    let gone = eventually(Duration::from_secs(10), async || {
        s.query("SELECT count(*) FROM users WHERE tenant_id = (SELECT id FROM tenants WHERE slug = 'fabrikam')") == "0"
    })
    .await;
    assert!(gone, "the deleted tenant's users are purged");
    let r = ops.get("/tenants/fabrikam").await;
    assert_eq!(r.json()["state"], json!("deleting"), "{}", r.text);
    error_of(
        &ops.post("/tenants", &json!({"name": "Again", "slug": "fabrikam"}))
            .await,
        409,
    );
    // The default tenant was never touched.
    s.client().get("/Users").await.expect(200);
}

#[tokio::test]
async fn the_operator_api_is_served_without_a_root_tenant() {
    let s = Server::start_args(&["--root-tenant", "none"]);
    s.client().get("/Users").await.expect(404);
    let out = s.cli(&[
        "--tenant", "default", "token", "create", "--scope", "operator", "--name", "o",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let ops = operator(&s, Some(&operator_token(&s, "ops")));
    let r = ops.post("/tenants", &json!({"name": "Northwind"})).await;
    r.expect(201);
    let scim = Client::new(
        r.json()["scimUrl"].as_str().unwrap(),
        r.json()["scimToken"].as_str(),
    );
    scim.get("/Users").await.expect(200);
    ops.get("/tenants/northwind").await.expect(200);
}
