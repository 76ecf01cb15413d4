//! Tenants (issue 15): `scimd tenant create|list|show|disable|enable`, each tenant on its
//! own paths (`/t/SLUG/scim/v2`, `/t/SLUG/api/v1`, `/t/SLUG/oauth/token`) with its own
//! tokens and data, the root paths serving the root tenant (`--root-tenant`), and
//! `--tenant SLUG` on the tenant-scoped commands. Against real `scimd serve` processes, on
//! SQLite and (with SCIMD_TEST_DATABASE_URL) PostgreSQL.

mod common;

use common::{eventually, strings_at, unique, Client, Opts, Server};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Runs `scimd ARGS`, asserting failure; its stderr.
fn cli_err(s: &Server, args: &[&str]) -> String {
    let out = s.cli(args);
    assert!(
        !out.status.success(),
        "scimd {args:?} succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// `scimd tenant create --name NAME [--slug SLUG] --json`, parsed.
fn create_tenant(s: &Server, name: &str, slug: Option<&str>) -> Value {
    let mut args = vec!["tenant", "create", "--name", name, "--json"];
    if let Some(slug) = slug {
        args.extend(["--slug", slug]);
    }
    serde_json::from_str(&s.cli_ok(&args).0).unwrap()
}

/// A client of tenant `slug`'s admin API (`/t/SLUG/api/v1`) with a new admin token named
/// `name`, made by `scimd token create --tenant SLUG`, or with `--tenant SLUG` before
/// `token` when `tenant_first` (the option is taken in both places).
fn tenant_admin(s: &Server, slug: &str, name: &str, tenant_first: bool) -> Client {
    let mut args = vec!["token", "create", "--name", name, "--scope", "admin"];
    let at = if tenant_first { 0 } else { 2 };
    args.splice(at..at, ["--tenant", slug]);
    let secret = s.cli_ok(&args).0;
    Client::new(&format!("{}/t/{slug}/api/v1", s.base), Some(secret.trim()))
}

/// A client-credentials grant at the token endpoint `token_url` for the OAuth client
/// `client` (as `scimd client create --json` prints it); the response.
async fn token_grant(s: &Server, token_url: &str, client: &Value) -> reqwest::Response {
    s.http()
        .post(token_url)
        .basic_auth(
            client["clientId"].as_str().unwrap(),
            client["clientSecret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn tenants_are_created_and_served_on_their_own_paths() {
    let s = Server::start();
    let t = create_tenant(&s, "Contoso Ltd", None);
    // The slug is derived from the name; the URLs use the public URL serve recorded.
    assert_eq!(t["slug"], json!("contoso-ltd"), "{t}");
    assert_eq!(t["name"], json!("Contoso Ltd"));
    let scim_url = format!("{}/t/contoso-ltd/scim/v2", s.base);
    assert_eq!(t["scimUrl"], json!(scim_url));
    assert_eq!(
        t["tokenUrl"],
        json!(format!("{}/t/contoso-ltd/oauth/token", s.base))
    );
    assert_eq!(t["adminUsername"], json!("admin"));
    assert_eq!(
        t["portalUrl"],
        json!(format!("{}/t/contoso-ltd/", s.base)),
        "{t}"
    );
    let token = t["scimToken"].as_str().unwrap();
    assert!(token.starts_with("scimd_"), "{t}");
    assert!(t["adminPassword"].as_str().unwrap().len() >= 16, "{t}");

    // Clashes are errors, never a silent suffix; slugs are checked.
    let e = cli_err(&s, &["tenant", "create", "--name", "Contoso Ltd"]);
    assert!(e.contains("another tenant has"), "{e}");
    let e = cli_err(
        &s,
        &["tenant", "create", "--name", "Contoso Ltd", "--slug", "c2"],
    );
    assert!(e.contains("name 'Contoso Ltd'"), "{e}");
    let e = cli_err(
        &s,
        &[
            "tenant",
            "create",
            "--name",
            "Other",
            "--slug",
            "contoso-ltd",
        ],
    );
    assert!(e.contains("slug 'contoso-ltd'"), "{e}");
    for bad in ["api", "Bad_Slug", "x-", "t"] {
        let slug = format!("--slug={bad}");
        let e = cli_err(&s, &["tenant", "create", "--name", &unique("n"), &slug]);
        assert!(e.contains("slug"), "{bad}: {e}");
    }

    // The same userName in both tenants: two users, each seen only on its tenant's paths.
    let root = s.client();
    let b = Client::new(&scim_url, Some(token));
    let name = unique("alice");
    let root_id = root.create_user_id(&name, json!({})).await;
    let r = b
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
                "name": {"givenName": "A", "familyName": "B"},
                "emails": [{"value": "a@example.com", "primary": true}]}),
        )
        .await;
    r.expect(201);
    let b_id = r.id();
    assert_ne!(b_id, root_id);
    let loc = format!("{scim_url}/Users/{b_id}");
    assert_eq!(r.header("location"), loc);
    assert_eq!(r.json()["meta"]["location"], json!(loc));
    // Each tenant's token on its own paths only: 401 on the other's.
    let r = Client::new(&scim_url, Some(&s.token)).get("/Users").await;
    r.expect(401);
    assert!(
        r.header("www-authenticate").contains("invalid_token"),
        "{:?}",
        r.headers
    );
    assert!(r.text.contains("another tenant"), "{}", r.text);
    Client::new(&s.scim, Some(token))
        .get("/Users")
        .await
        .expect(401);
    // Ids do not cross either.
    root.get(&format!("/Users/{b_id}")).await.expect(404);
    b.get(&format!("/Users/{root_id}")).await.expect(404);
    let found = b
        .get(&format!("/Users?filter=userName%20eq%20%22{name}%22"))
        .await;
    assert_eq!(found.json()["totalResults"], json!(1));
    assert_eq!(found.json()["Resources"][0]["id"], json!(b_id));
    // Discovery on the tenant's path describes it, located there.
    let spc = Client::new(&scim_url, None)
        .get("/ServiceProviderConfig")
        .await;
    spc.expect(200);
    assert!(
        spc.json()["meta"]["location"]
            .as_str()
            .unwrap()
            .starts_with(&scim_url),
        "{}",
        spc.text
    );
    // Unknown and malformed slugs: 404.
    let none = Client::new(&format!("{}/t/nope/scim/v2", s.base), Some(token));
    none.get("/Users").await.expect(404);
    let bad = Client::new(&format!("{}/t/No_pe/scim/v2", s.base), Some(token));
    bad.get("/Users").await.expect(404);

    // The admin API of the tenant, with an admin token made with --tenant.
    let admin = tenant_admin(&s, "contoso-ltd", "ops", false);
    let users = admin.get("/users").await;
    users.expect(200);
    let ids = strings_at(&users.json()["Resources"], "id");
    assert_eq!(ids, vec![b_id.as_str()], "{}", users.text);
    let g = admin
        .post("/groups", &json!({"displayName": "Field engineers"}))
        .await;
    g.expect(201);
    assert_eq!(
        g.header("location"),
        format!(
            "/t/contoso-ltd/api/v1/groups/{}",
            g.json()["id"].as_str().unwrap()
        )
    );
    let doc = admin.get("/openapi.json").await;
    assert_eq!(
        doc.json()["servers"][0]["url"],
        json!(format!("{}/t/contoso-ltd", s.base)),
        "the tenant's admin API document names its own paths"
    );
    // The root tenant's admin API does not see it.
    let root_admin = s.admin();
    let root_users = root_admin.get(&format!("/users/{b_id}")).await;
    root_users.expect(404);
    Client::new(
        &format!("{}/t/contoso-ltd/api/v1", s.base),
        Some(&s.admin_token()),
    )
    .get("/users")
    .await
    .expect(401);

    // OAuth clients of the tenant get tokens from its own token endpoint.
    let c: Value = serde_json::from_str(
        &s.cli_ok(&[
            "client",
            "create",
            "--tenant",
            "contoso-ltd",
            "--name",
            "entra",
            "--json",
        ])
        .0,
    )
    .unwrap();
    assert_eq!(c["tokenUrl"], t["tokenUrl"]);
    // The tenant's admin API names its own URLs, not the root tenant's.
    let api = tenant_admin(&s, "contoso-ltd", "a", true);
    let clients = api.get("/clients").await;
    assert_eq!(
        clients.json()["tokenUrl"],
        t["tokenUrl"],
        "{}",
        clients.text
    );
    let dash = api.get("/dashboard").await;
    assert_eq!(
        dash.json()["scimTenantUrl"],
        json!(scim_url),
        "{}",
        dash.text
    );
    let issued = token_grant(&s, c["tokenUrl"].as_str().unwrap(), &c).await;
    assert_eq!(issued.status(), 200);
    let access: Value = issued.json().await.unwrap();
    let access = access["access_token"].as_str().unwrap();
    Client::new(&scim_url, Some(access))
        .get("/Users")
        .await
        .expect(200);
    Client::new(&s.scim, Some(access))
        .get("/Users")
        .await
        .expect(401);
    // The root tenant's token endpoint does not know the client.
    let at_root = token_grant(&s, &format!("{}/oauth/token", s.base), &c).await;
    assert_eq!(at_root.status(), 401);

    // list and show, with counts and the last SCIM request (written in the background).
    let listed = eventually(Duration::from_secs(10), async || {
        let all: Value = serde_json::from_str(&s.cli_ok(&["tenant", "list", "--json"]).0).unwrap();
        let b = all
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["slug"] == json!("contoso-ltd"))
            .cloned()
            .unwrap();
        b["users"] == json!(1) && b["groups"] == json!(1) && b["lastScimRequest"].is_string()
    })
    .await;
    assert!(listed, "{}", s.cli_ok(&["tenant", "list"]).0);
    let all: Value = serde_json::from_str(&s.cli_ok(&["tenant", "list", "--json"]).0).unwrap();
    let slugs: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, vec!["default", "contoso-ltd"], "oldest first: {all}");
    let shown: Value =
        serde_json::from_str(&s.cli_ok(&["tenant", "show", "contoso-ltd", "--json"]).0).unwrap();
    assert_eq!(shown["state"], json!("active"));
    assert!(cli_err(&s, &["tenant", "show", "nope"]).contains("no tenant has the slug 'nope'"));
    assert!(cli_err(&s, &["token", "list", "--tenant", "nope"]).contains("'nope'"));
    let serve = s.cli(&["serve", "--tenant", "contoso-ltd"]);
    assert_eq!(serve.status.code(), Some(2));

    // Disabled: 403 on its paths within a second or so, nothing lost; the root tenant is
    // untouched; enabled again, the same data.
    let d: Value =
        serde_json::from_str(&s.cli_ok(&["tenant", "disable", "contoso-ltd", "--json"]).0).unwrap();
    assert_eq!(d["state"], json!("disabled"));
    let refused = eventually(Duration::from_secs(3), async || {
        b.get("/Users").await.status == 403
    })
    .await;
    assert!(refused, "a disabled tenant's SCIM answers 403");
    let r = b.get("/Users").await;
    r.expect_error(403, None);
    assert!(r.text.contains("disabled"), "{}", r.text);
    admin.get("/users").await.expect(403);
    root.get(&format!("/Users/{root_id}")).await.expect(200);
    s.cli_ok(&["tenant", "enable", "contoso-ltd"]);
    let back = eventually(Duration::from_secs(3), async || {
        b.get(&format!("/Users/{b_id}")).await.status == 200
    })
    .await;
    assert!(back, "an enabled tenant is served again with its data");
    // The operator's actions are in the tenant's audit record.
    for action in ["tenant.create", "tenant.disable", "tenant.enable"] {
        let a = admin.get(&format!("/audit?action={action}")).await;
        a.expect(200);
        assert_eq!(a.json()["totalResults"], json!(1), "{action}: {}", a.text);
        assert_eq!(
            a.json()["Resources"][0]["actor"]["type"],
            json!("cli"),
            "{}",
            a.text
        );
    }
    // The change records keep the path the client sent.
    let log = admin.get(&format!("/provisioning-log?text={b_id}")).await;
    assert_eq!(
        log.json()["Resources"][0]["path"],
        json!("/t/contoso-ltd/scim/v2/Users"),
        "{}",
        log.text
    );
}

#[tokio::test]
async fn without_a_root_tenant_the_root_paths_answer_404() {
    let s = Server::start_args(&["--root-tenant", "none"]);
    // First start still made the tenant `default`: it is on its own path only.
    s.client().get("/Users").await.expect(404);
    let own = Client::new(&format!("{}/t/default/scim/v2", s.base), Some(&s.token));
    own.get("/Users").await.expect(200);
    // What first start printed names those paths, not the root's that answer 404.
    for line in [
        format!("SCIM Tenant URL: {}/t/default/scim/v2\n", s.base),
        format!("Portal: {}/t/default/\n", s.base),
    ] {
        assert!(s.first_start.contains(&line), "{line}: {}", s.first_start);
    }
    // The deployment's own paths are served; the portal (the root tenant's) is not.
    for (path, want) in [("/healthz", 200), ("/signin", 404)] {
        let r = s.http().get(format!("{}{path}", s.base)).send().await;
        assert_eq!(r.unwrap().status(), want, "{path}");
    }
    // Commands need --tenant then (the configured root is none only for this server's
    // flags; the CLI's default is the root tenant `default`).
    s.cli_ok(&["token", "list", "--tenant", "default"]);
}

/// One request with reqwest: `(status, body text)`.
async fn raw(
    http: &reqwest::Client,
    (method, url): (&str, &str),
    token: Option<&str>,
) -> (u16, String) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = http.request(m.clone(), url);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if matches!(method, "POST" | "PUT" | "PATCH") {
        let ct = if url.contains("/scim/v2") {
            "application/scim+json"
        } else {
            "application/json"
        };
        rb = rb.header("content-type", ct).body("{}");
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Asserts that the answer `text` to `method path` holds none of `markers` (tenant B's ids
/// and names) but those the request named itself (an error may echo them).
fn assert_no_leak((method, path): (&str, &str), text: &str, markers: &[&str]) {
    for marker in markers.iter().filter(|x| !path.contains(**x)) {
        assert!(
            !text.contains(marker),
            "{method} {path} on A leaks {marker}: {text}"
        );
    }
}

/// What an administrator of tenant B can read of it: its users, groups, attributes,
/// settings, tokens, clients, issuers, provisioning log and audit record, and its SCIM view.
async fn snapshot(admin: &Client, scim: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for p in [
        "/users?count=100",
        "/groups?count=100",
        "/attributes",
        "/settings",
        "/tokens",
        "/clients",
        "/issuers",
        "/provisioning-log?count=100",
        "/audit?count=100",
    ] {
        let r = admin.get(p).await;
        r.expect(200);
        // Last-use times move with the snapshot's own requests.
        let mut v = r.json().clone();
        if let Some(rs) = v.get_mut("Resources").and_then(Value::as_array_mut) {
            for x in rs {
                if let Some(o) = x.as_object_mut() {
                    o.remove("lastUsed");
                }
            }
        }
        out.push(format!("{p}: {v}"));
    }
    for p in ["/Users?count=100", "/Groups?count=100"] {
        out.push(format!("{p}: {}", scim.get_ok(p).await.text));
    }
    out
}

/// Isolation by construction, proven: two tenants with the same userName, group name and
/// custom attribute name; tenant A's credentials on every route of tenant B's paths
/// (enumerated from the admin router's table, the OpenAPI document the server serves and
/// the SCIM route table, so a new route is covered without editing this test) are refused,
/// and on A's own paths with B's ids find nothing; nothing of B changes or leaks.
#[tokio::test]
async fn no_route_lets_one_tenant_reach_another() {
    let s = Server::start();
    let http = s.http();
    let b = create_tenant(&s, "Tenant B", Some("tenant-b"));
    let b_prefix = format!("{}/t/tenant-b", s.base);
    let b_token = b["scimToken"].as_str().unwrap().to_string();
    let a_scim = s.client();
    let b_scim = Client::new(&format!("{b_prefix}/scim/v2"), Some(&b_token));
    let a_admin_token = s.admin_token();
    let b_admin_name = unique("b-ops");
    let a_admin = Client::new(&format!("{}/api/v1", s.base), Some(&a_admin_token));
    let b_admin = tenant_admin(&s, "tenant-b", &b_admin_name, false);
    // The same names in both tenants.
    let mut ids = Vec::new();
    for (scim, admin) in [(&a_scim, &a_admin), (&b_scim, &b_admin)] {
        let u = scim.create_user_id("shared.user", json!({})).await;
        let g = scim
            .create_group("Shared group", json!({"members": [{"value": u}]}))
            .await;
        admin
            .post("/attributes", &json!({"name": "costCode"}))
            .await
            .expect(201);
        ids.push((u, g["id"].as_str().unwrap().to_string()));
    }
    let (b_user, b_group) = ids.pop().unwrap();
    // What only B has.
    b_admin
        .post("/attributes", &json!({"name": "bOnly"}))
        .await
        .expect(201);
    let client: Value = serde_json::from_str(
        &s.cli_ok(&[
            "client", "create", "--tenant", "tenant-b", "--name", "b-entra", "--json",
        ])
        .0,
    )
    .unwrap();
    let b_client = client["clientId"].as_str().unwrap().to_string();
    let markers = [
        b_user.as_str(),
        b_group.as_str(),
        b_client.as_str(),
        "bOnly",
        &b_admin_name,
    ];
    let before = snapshot(&b_admin, &b_scim).await;

    // Every admin route: from the router's table and from the served OpenAPI document.
    let mut routes: Vec<(String, String)> = scimd::admin::route_table()
        .into_iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let doc = a_admin.get_ok("/openapi.json").await;
    for (path, item) in doc.json()["paths"].as_object().unwrap() {
        for m in item.as_object().unwrap().keys() {
            let m = m.to_ascii_uppercase();
            if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()) {
                routes.push((m, path.clone()));
            }
        }
    }
    routes.sort();
    routes.dedup();
    assert!(routes.len() >= 30, "{routes:?}");
    let fill = |t: &str| {
        let id = if t.contains("/groups/") {
            &b_group
        } else {
            &b_user
        };
        t.replace("{id}", id)
            .replace("{userId}", &b_user)
            .replace("{clientId}", &b_client)
            .replace("{issuer}", "b-issuer")
            .replace("{slug}", b_prefix.trim_start_matches("/t/"))
            .replace(
                "{name}",
                if t.contains("/tokens/") {
                    &b_admin_name
                } else {
                    "bOnly"
                },
            )
    };
    for (m, template) in &routes {
        let path = fill(template);
        let public = template.ends_with("/openapi.json");
        // The operator API is only at the root: no such route on B's paths.
        let operator = template.starts_with("/api/v1/tenants");
        for token in [Some(a_admin_token.as_str()), None] {
            let (status, text) = raw(&http, (m, &format!("{b_prefix}{path}")), token).await;
            let want = match (public, operator) {
                (true, _) => 200,
                (_, true) => 404,
                _ => 401,
            };
            assert_eq!(status, want, "{m} {b_prefix}{path} with {token:?}: {text}");
        }
        // A's own paths with B's ids and names: nothing of B.
        let (status, text) = raw(
            &http,
            (m, &format!("{}{path}", s.base)),
            Some(&a_admin_token),
        )
        .await;
        assert_no_leak((m, &path), &text, &markers);
        if template.contains('{') {
            assert!(
                (400..=409).contains(&status),
                "{m} {path} on A: {status} {text}"
            );
        }
    }

    // Every SCIM route, with A's SCIM token and B's ids.
    for (m, template) in scimd::scim_routes::route_table() {
        let id = if template.contains("/Groups/") {
            &b_group
        } else {
            &b_user
        };
        let path = template.replace("{id}", id).replace("{name}", "User");
        let (status, text) = raw(&http, (m, &format!("{b_prefix}{path}")), Some(&s.token)).await;
        let me_or_bulk = path.ends_with("/Me") || path.ends_with("/Bulk");
        if me_or_bulk {
            assert_eq!(status, 501, "{m} {path}: {text}");
        } else {
            assert_eq!(status, 401, "{m} {b_prefix}{path}: {text}");
        }
        let (status, text) = raw(&http, (m, &format!("{}{path}", s.base)), Some(&s.token)).await;
        assert_no_leak((m, &path), &text, &markers);
        if template.contains("{id}") {
            assert!(
                (400..=409).contains(&status),
                "{m} {path} on A: {status} {text}"
            );
        }
    }
    // B's OAuth client gets no token from A's endpoint.
    let at_a = token_grant(&s, &format!("{}/oauth/token", s.base), &client).await;
    assert_eq!(at_a.status(), 401);

    assert_eq!(
        snapshot(&b_admin, &b_scim).await,
        before,
        "tenant B changed"
    );
}

/// A tenant is deleted while another is being provisioned and while its own identity
/// provider keeps writing: its paths answer 404 within a second, every row of it goes (in
/// small transactions; none written after the mark survives), its slug stays reserved, and
/// nothing of the other tenants is touched; an interrupted deletion resumes (by the command
/// run again, and by `serve` at start).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_is_deleted_under_load_and_nothing_else_is_touched() {
    let s = Server::start();
    let b = create_tenant(&s, "Doomed", Some("doomed"));
    let c = create_tenant(&s, "Kept", Some("kept"));
    let b_scim = Client::new(b["scimUrl"].as_str().unwrap(), b["scimToken"].as_str());
    let c_scim = Client::new(c["scimUrl"].as_str().unwrap(), c["scimToken"].as_str());
    let b_users = b_scim
        .create_users((0..120).map(|i| format!("doomed{i}")).collect())
        .await;
    let members: Vec<Value> = b_users.iter().map(|u| json!({"value": u})).collect();
    b_scim
        .create_group("Everyone", json!({"members": members}))
        .await;
    let root_before = s.client().get_ok("/Users?count=1").await.json()["totalResults"].clone();
    let b_id = s.query("SELECT id FROM tenants WHERE slug = 'doomed'");
    assert!(!b_id.is_empty());

    // Refused without --confirm (exit 2), and for the root tenant.
    let out = s.cli(&["tenant", "delete", "doomed"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--confirm"));
    let e = cli_err(&s, &["tenant", "delete", "default", "--confirm"]);
    assert!(e.contains("root tenant"), "{e}");

    // Provisioning into `kept` while `doomed` is deleted.
    let load = {
        let c_scim = c_scim.clone();
        tokio::spawn(async move {
            c_scim
                .create_users((0..60).map(|i| format!("kept{i}")).collect())
                .await
        })
    };
    // And `doomed`'s own identity provider keeps writing while it is deleted (the server
    // learns of the command's mark within a second): whatever it writes is refused or
    // purged, never left behind.
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (b_scim, stop) = (b_scim.clone(), stop.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let body = json!({
                        "schemas": [common::USER],
                        "userName": format!("late{w}-{i}"),
                        "name": {"givenName": "Late", "familyName": "Writer"},
                        "emails": [{"value": format!("late{w}-{i}@example.com"), "primary": true}],
                    });
                    statuses.push(b_scim.post("/Users", &body).await.status);
                }
                statuses
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let db = s.database_url.clone();
    // (The command blocks this worker thread; the load runs on the other.)
    let deleted = s.cli(&["tenant", "delete", "doomed", "--confirm"]);
    assert!(
        deleted.status.success(),
        "{}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    assert!(String::from_utf8_lossy(&deleted.stdout).contains("slug stays reserved"));
    let kept_ids = load.await.unwrap();
    assert_eq!(kept_ids.len(), 60);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut statuses = Vec::new();
    for w in writers {
        statuses.extend(w.await.unwrap());
    }
    assert!(
        statuses.contains(&201) && statuses.contains(&404),
        "the writers ran before and after the mark: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 404),
        "a write to a tenant being deleted is created or 404, never an error: {statuses:?}"
    );

    // Gone: its paths, every row of every table but its `tenants` row.
    let gone = eventually(Duration::from_secs(3), async || {
        b_scim.get("/Users").await.status == 404
    })
    .await;
    assert!(gone, "a deleted tenant's paths answer 404");
    for table in [
        "users",
        "user_emails",
        "groups",
        "group_members",
        "changes",
        "tokens",
        "admins",
        "attributes",
    ] {
        let n = common::query_db(
            &db,
            &format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = '{b_id}'"),
        );
        assert_eq!(n, "0", "{table} still holds rows of the deleted tenant");
    }
    let shown: Value =
        serde_json::from_str(&s.cli_ok(&["tenant", "show", "doomed", "--json"]).0).unwrap();
    assert_eq!(
        (&shown["state"], &shown["users"], &shown["groups"]),
        (&json!("deleting"), &json!(0), &json!(0))
    );
    let e = cli_err(
        &s,
        &[
            "tenant",
            "create",
            "--name",
            "Doomed again",
            "--slug",
            "doomed",
        ],
    );
    assert!(e.contains("slug 'doomed'"), "the slug stays reserved: {e}");
    // The others: all there.
    let kept = c_scim.get_ok("/Users?count=1").await;
    assert_eq!(kept.json()["totalResults"], json!(60));
    let root_after = s.client().get_ok("/Users?count=1").await.json()["totalResults"].clone();
    assert_eq!(root_after, root_before);

    // Interrupted deletions resume: one marked `deleting` (as a command killed right after
    // marking leaves it) is finished by the command run again...
    let d = create_tenant(&s, "Half", Some("half"));
    let d_scim = Client::new(d["scimUrl"].as_str().unwrap(), d["scimToken"].as_str());
    d_scim
        .create_users((0..5).map(|i| format!("half{i}")).collect())
        .await;
    common::exec_db(
        &db,
        "UPDATE tenants SET state = 'deleting' WHERE slug = 'half'",
    );
    s.cli_ok(&["tenant", "delete", "half", "--confirm"]);
    let d_id = s.query("SELECT id FROM tenants WHERE slug = 'half'");
    let n = common::query_db(
        &db,
        &format!("SELECT COUNT(*) FROM users WHERE tenant_id = '{d_id}'"),
    );
    assert_eq!(n, "0");
    // ... and by `serve` when it starts.
    let e = create_tenant(&s, "Later", Some("later"));
    let e_scim = Client::new(e["scimUrl"].as_str().unwrap(), e["scimToken"].as_str());
    e_scim
        .create_users((0..5).map(|i| format!("later{i}")).collect())
        .await;
    let e_id = s.query("SELECT id FROM tenants WHERE slug = 'later'");
    common::exec_db(
        &db,
        "UPDATE tenants SET state = 'deleting' WHERE slug = 'later'",
    );
    let again = Server::start_opts(Opts {
        database_url: Some(db.clone()),
        ..Default::default()
    });
    let resumed = eventually(Duration::from_secs(10), async || {
        common::query_db(
            &db,
            &format!("SELECT COUNT(*) FROM users WHERE tenant_id = '{e_id}'"),
        ) == "0"
    })
    .await;
    assert!(
        resumed,
        "serve finishes an unfinished deletion at start: {}",
        again.logs()
    );
}

/// `scimd copy --tenant SLUG` moves one tenant, with its tokens, users, groups and records,
/// into another deployment that serves tenants of its own; the copy refuses to overwrite.
#[tokio::test]
async fn one_tenant_is_copied_into_another_deployment() {
    let from = Server::start();
    let to = Server::start();
    let t = create_tenant(&from, "Moving Co", Some("moving"));
    let scim = Client::new(t["scimUrl"].as_str().unwrap(), t["scimToken"].as_str());
    let ids = scim
        .create_users((0..25).map(|i| format!("mover{i}")).collect())
        .await;
    let members: Vec<Value> = ids.iter().map(|u| json!({"value": u})).collect();
    let g = scim
        .create_group("Movers", json!({"members": members}))
        .await;
    let copy = |slug: &str| {
        from.cli(&[
            "copy",
            "--from",
            &from.database_url,
            "--to",
            &to.database_url,
            "--tenant",
            slug,
        ])
    };
    let out = copy("moving");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(report.contains("users"), "{report}");
    // On the other deployment: the same tenant, token, ids and memberships; its own
    // tenant untouched.
    let there = Client::new(
        &format!("{}/t/moving/scim/v2", to.base),
        t["scimToken"].as_str(),
    );
    let eventually_there = eventually(Duration::from_secs(3), async || {
        there.get("/Users?count=1").await.status == 200
    })
    .await;
    assert!(eventually_there);
    assert_eq!(
        there.get_ok("/Users?count=1").await.json()["totalResults"],
        json!(25)
    );
    let gid = g["id"].as_str().unwrap();
    let copied = there.get_ok(&format!("/Groups/{gid}")).await;
    assert_eq!(copied.json()["members"].as_array().unwrap().len(), 25);
    to.client().get_ok("/Users?count=1").await;
    let listed: Value = serde_json::from_str(&to.cli_ok(&["tenant", "list", "--json"]).0).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    // Never over an existing tenant; an unknown slug says so.
    let again = copy("moving");
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("slug 'moving'"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let nope = copy("nope");
    assert!(String::from_utf8_lossy(&nope.stderr).contains("no tenant with the slug 'nope'"));
}
