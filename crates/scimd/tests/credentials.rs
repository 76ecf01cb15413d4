//! Credentials identity providers use (issue 16), over HTTP against a real scimd, on the
//! storage backend the environment names (SQLite, or PostgreSQL with
//! `SCIMD_TEST_DATABASE_URL`):
//!
//! - failures that explain themselves (RFC 6750 §3): the challenge of each refusal, on SCIM
//!   and on the admin API;
//! - refused authentications counted per reason and hour, the last 100 kept, unknown paths
//!   never recorded, nothing of a secret stored;
//! - static tokens with a lifecycle: `--expires-in` / `expiresIn`, `expires` in responses,
//!   rotation with two active tokens, last use, a token that expires;
//! - the OAuth 2.0 token endpoint (client credentials, RFC 6749 §4.4): success with
//!   client_secret_basic and client_secret_post, each §5.2 error, the per-address limit;
//!   clients through the CLI and the admin API; an access token used until it expires; a
//!   revoked client's token refused at once, on every instance (PostgreSQL, two instances).

mod common;

use common::*;
use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// `WWW-Authenticate` of a response.
fn challenge(r: &Resp) -> String {
    r.header("www-authenticate")
}

/// `POST /oauth/token` with `form` (already encoded) and an optional Basic `(id, secret)`.
async fn token_request(srv: &Server, form: &str, basic: Option<(&str, &str)>) -> Resp {
    let c = Client::new(&srv.base, None);
    let mut rb = c
        .req(Method::POST, "/oauth/token")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form.to_string());
    if let Some((id, secret)) = basic {
        rb = rb.basic_auth(form_enc(id), Some(form_enc(secret)));
    }
    c.send(rb).await
}

/// Asserts that `GET /scim/v2/Users?count=1` with the bearer token `secret` answers `status`.
async fn scim_answers(srv: &Server, secret: &str, status: u16) {
    srv.client_with(Some(secret))
        .get("/Users?count=1")
        .await
        .expect(status);
}

/// A new OAuth client made with `scimd client create --json` (the CLI told the server's
/// public URL as an operator would, `SCIMD_PUBLIC_URL`): `(clientId, clientSecret)`.
fn new_client(srv: &Server, name: &str) -> (String, String) {
    let out = std::process::Command::new(SCIMD)
        .args(["client", "create", "--name", name, "--json", "--database"])
        .arg(&srv.database_url)
        .env("SCIMD_PUBLIC_URL", &srv.base)
        .env_remove("SCIMD_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "client create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("client create --json prints JSON");
    assert_eq!(v["tokenUrl"], json!(format!("{}/oauth/token", srv.base)));
    let id = v["clientId"].as_str().unwrap().to_string();
    let secret = v["clientSecret"].as_str().unwrap().to_string();
    assert!(id.starts_with("scimd_client_"), "{id}");
    assert!(
        secret.starts_with("scimd_cs_") && secret.len() == 73,
        "{secret}"
    );
    (id, secret)
}

/// An access token for the client (client_secret_post).
async fn access_token(srv: &Server, (id, secret): (&str, &str)) -> String {
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        form_enc(id),
        form_enc(secret)
    );
    let r = token_request(srv, &form, None).await;
    r.expect(200);
    r.string("access_token")
}

#[tokio::test]
async fn refusals_explain_themselves() {
    let srv = Server::start();
    let anon = srv.client_with(None);
    // No credential: 401, the challenge without an error code, a SCIM error with a detail.
    let r = anon.get("/Users").await;
    r.expect_error(401, None);
    assert_eq!(challenge(&r), "Bearer realm=\"scimd\"");
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("Authorization: Bearer"));
    // Another scheme is no bearer credential either: no error code.
    let r = anon
        .send(
            anon.req(Method::GET, "/Users")
                .header("authorization", "Basic eDp5"),
        )
        .await;
    r.expect_error(401, None);
    assert_eq!(challenge(&r), "Bearer realm=\"scimd\"");
    // An unknown token: invalid_token, described, the secret nowhere in the answer.
    let bogus = "scimd_0000000000000000000000000000000000000000000000000000000000000000";
    let r = srv.client_with(Some(bogus)).get("/Users").await;
    r.expect_error(401, None);
    assert_eq!(
        challenge(&r),
        "Bearer realm=\"scimd\", error=\"invalid_token\", error_description=\"the token is not known\""
    );
    assert!(!r.text.contains(bogus) && !challenge(&r).contains(bogus));
    // A revoked token: invalid_token, revoked.
    let name = unique("gone");
    let out = srv.cli(&["token", "create", "--name", &name]);
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
    srv.client_with(Some(&secret))
        .get("/Users")
        .await
        .expect(200);
    assert!(srv.cli(&["token", "revoke", &name]).status.success());
    // (The running server sees a revocation by another process within a second.)
    let r = common::answers_within(&srv.client_with(Some(&secret)), "/Users", 401).await;
    r.expect_error(401, None);
    assert!(challenge(&r)
        .contains("error=\"invalid_token\", error_description=\"the token was revoked\""));
    assert!(r.json()["detail"].as_str().unwrap().contains(&name));
    // The wrong scope: 403 insufficient_scope, naming the scope needed, on both surfaces.
    let admin = srv.admin_token();
    let r = srv.client_with(Some(&admin)).get("/Users").await;
    r.expect_error(403, None);
    assert!(
        challenge(&r).starts_with("Bearer realm=\"scimd\", error=\"insufficient_scope\"")
            && challenge(&r).ends_with("scope=\"scim\""),
        "{}",
        challenge(&r)
    );
    let api = |t: Option<&str>| Client::new(&format!("{}/api/v1", srv.base), t);
    let r = api(Some(&srv.token)).get("/users").await;
    r.expect(403);
    assert!(
        challenge(&r).contains("error=\"insufficient_scope\"")
            && challenge(&r).ends_with("scope=\"admin\"")
    );
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("scope admin"));
    let r = api(None).get("/users").await;
    r.expect(401);
    assert_eq!(challenge(&r), "Bearer realm=\"scimd\"");
    let r = api(Some(bogus)).get("/users").await;
    r.expect(401);
    assert!(challenge(&r).contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn refusals_are_counted_and_bounded() {
    let srv = Server::start();
    let bad = srv.client_with(Some("0123456789abcdef-not-a-token"));
    let expired = srv.client_with(Some("scimd_at_ffff"));
    concurrent((0..150).collect(), 16, |i| {
        let (bad, expired) = (bad.clone(), expired.clone());
        async move {
            let c = if i % 3 == 0 { expired } else { bad };
            c.get(&format!("/Users/{i}")).await.expect(401);
        }
    })
    .await;
    // Unknown paths are never recorded (whatever they present).
    for i in 0..20 {
        bad.get(&format!("/NoSuchThing/{i}")).await.expect(404);
    }
    srv.client_with(None).get("/Groups").await.expect(401);
    let admin = srv.admin();
    // Written within a second (coalesced); read back with what is pending merged in.
    let mut body = Value::Null;
    for _ in 0..40 {
        let r = admin.get("/auth-refusals").await;
        r.expect(200);
        body = r.json().clone();
        let n: u64 = body["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["count"].as_u64().unwrap())
            .sum();
        if n >= 151 && srv.query("SELECT COUNT(*) FROM auth_refusals") == "100" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let count = |reason: &str| -> u64 {
        body["counts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["reason"] == reason)
            .map(|c| c["count"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(count("unknown"), 150, "{body}");
    assert_eq!(count("missing"), 1, "{body}");
    let recent = body["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 100, "the last 100 are kept");
    assert_eq!(
        recent[0]["reason"], "missing",
        "newest first: {}",
        recent[0]
    );
    assert_eq!(recent[0]["path"], "/scim/v2/Groups");
    let text = body.to_string();
    assert!(
        !text.contains("NoSuchThing"),
        "an unknown path was recorded"
    );
    assert!(!text.contains("not-a-token") && !text.contains("scimd_at_ffff"));
    let kinds: Vec<&str> = recent
        .iter()
        .filter_map(|r| r["credential"].as_str())
        .collect();
    assert!(
        kinds.contains(&"unknown access token (scimd_at_)"),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"unknown secret (no scimd prefix)"),
        "{kinds:?}"
    );
    // What is stored stays bounded: 100 refusals, one count per hour and reason.
    assert_eq!(srv.query("SELECT COUNT(*) FROM auth_refusals"), "100");
    let rows: u64 = srv
        .query("SELECT COUNT(*) FROM auth_refusal_counts")
        .parse()
        .unwrap();
    assert!(rows <= 4, "{rows} count rows");
    admin.get("/auth-refusals?hours=0").await.expect(400);
}

#[tokio::test]
async fn static_tokens_have_a_lifecycle() {
    let srv = Server::shared();
    let admin = srv.admin();
    // A bad lifetime is refused, clearly, on the CLI and the API, and nothing is created.
    let name = unique("bad-life");
    let out = srv.cli(&["token", "create", "--name", &name, "--expires-in", "90w"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("m (minutes), h (hours), d (days)"), "{err}");
    let r = admin
        .post("/tokens", &json!({"name": name, "expiresIn": "soon"}))
        .await;
    r.expect(400);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("expiresIn"));
    let listed = admin.get("/tokens").await;
    assert!(!listed.text.contains(&name));
    // --expires-in: the list shows the expiry; an existing token keeps none.
    let name = unique("ninety");
    let out = srv.cli(&["token", "create", "--name", &name, "--expires-in", "90d"]);
    assert!(out.status.success());
    let listed = admin.get("/tokens").await;
    let tokens = listed.json()["Resources"].as_array().unwrap().clone();
    let t = tokens.iter().find(|t| t["name"] == json!(name)).unwrap();
    let expires = time::OffsetDateTime::parse(
        t["expires"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let days = (expires - time::OffsetDateTime::now_utc()).whole_hours();
    assert!((89 * 24..=90 * 24).contains(&days), "{t}");
    let initial = tokens.iter().find(|t| t["name"] == "initial").unwrap();
    assert_eq!(initial["expires"], Value::Null);
    let table = String::from_utf8(srv.cli(&["token", "list"]).stdout).unwrap();
    assert!(
        table.lines().next().unwrap().ends_with("EXPIRES"),
        "{table}"
    );

    // Rotation without downtime: two active SCIM tokens, both work; the old one revoked,
    // the new one keeps working.
    let (old, new) = (unique("old"), unique("new"));
    let mut secrets = Vec::new();
    for n in [&old, &new] {
        let r = admin
            .create_api_token(&json!({"name": n, "scope": "scim"}))
            .await;
        secrets.push(r.string("secret"));
    }
    let (old_secret, new_secret) = (&secrets[0], &secrets[1]);
    scim_answers(srv, old_secret, 200).await;
    scim_answers(srv, new_secret, 200).await;
    admin.delete(&format!("/tokens/{old}")).await.expect(204);
    scim_answers(srv, new_secret, 200).await;
    scim_answers(srv, old_secret, 401).await;
    // Last use is recorded.
    let listed = admin.get("/tokens").await;
    let t = listed.resource_with("name", &new);
    assert!(t["lastUsed"].is_string(), "{t}");

    // A token that expires: accepted until then, 401 invalid_token "expired" after.
    let name = unique("minute");
    let r = admin
        .create_api_token(&json!({"name": name, "expiresIn": "1m"}))
        .await;
    let secret = r.string("secret");
    let expires = time::OffsetDateTime::parse(
        r.json()["expires"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let c = srv.client_with(Some(&secret));
    c.get("/Users?count=1").await.expect(200);
    let wait = expires - time::OffsetDateTime::now_utc() + time::Duration::milliseconds(300);
    tokio::time::sleep(Duration::from_millis(
        wait.whole_milliseconds().max(0) as u64
    ))
    .await;
    let r = c.get("/Users?count=1").await;
    r.expect_error(401, None);
    assert!(
        challenge(&r).contains("error=\"invalid_token\", error_description=\"the token expired\""),
        "{}",
        challenge(&r)
    );
    assert!(r.json()["detail"].as_str().unwrap().contains(&name));
}

#[tokio::test]
async fn token_endpoint_issues_and_refuses() {
    let srv = Server::shared();
    let (id, secret) = new_client(srv, &unique("entra"));
    // client_secret_basic.
    let r = token_request(srv, "grant_type=client_credentials", Some((&id, &secret))).await;
    r.expect(200);
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.header("pragma"), "no-cache");
    assert!(r.header("content-type").starts_with("application/json"));
    let b = r.json();
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 3600);
    assert_eq!(b["scope"], "scim");
    let basic_token = b["access_token"].as_str().unwrap().to_string();
    assert!(basic_token.starts_with("scimd_at_"));
    // client_secret_post, with unknown scope and resource parameters ignored (as Entra sends).
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope={}&resource={}",
        form_enc(&id),
        form_enc(&secret),
        form_enc("api://scimd/.default openid"),
        form_enc("https://scim.example.com")
    );
    token_request(srv, &form, None).await.expect(200);
    // The access tokens work on SCIM, not on the admin API.
    let scim = srv.client_with(Some(&basic_token));
    scim.get("/Users?count=1").await.expect(200);
    let created = scim.create_user(&unique("oauth"), json!({})).await;
    assert!(created["id"].is_string());
    // The provisioning log names the client as the actor.
    let log = srv
        .admin()
        .get(&format!(
            "/provisioning-log?text={}",
            created["id"].as_str().unwrap()
        ))
        .await;
    let entry = log.json()["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resourceId"] == created["id"])
        .unwrap()
        .clone();
    assert_eq!(entry["actor"]["type"], "client", "{entry}");
    let api = Client::new(&format!("{}/api/v1", srv.base), Some(&basic_token));
    let r = api.get("/users").await;
    r.expect(403);
    assert!(challenge(&r).contains("insufficient_scope"));

    // An OAuth error (RFC 6749 §5.2): this status and `error` code, a description, not cached.
    let err = |case: &str, r: &Resp, status: u16, code: &str| {
        assert_eq!(r.status, status, "{case}: {}", r.text);
        assert_eq!(r.json()["error"], code, "{case}: {}", r.text);
        assert!(
            r.json()["error_description"].is_string(),
            "{case}: {}",
            r.text
        );
        assert_eq!(r.header("cache-control"), "no-store", "{case}");
    };
    // invalid_client: a wrong secret with Basic answers a Basic challenge, in the body none.
    let r = token_request(
        srv,
        "grant_type=client_credentials",
        Some((&id, "scimd_cs_wrong")),
    )
    .await;
    err("wrong secret, Basic", &r, 401, "invalid_client");
    assert!(
        challenge(&r).starts_with("Basic realm=\"scimd\""),
        "{}",
        challenge(&r)
    );
    assert!(!r.text.contains("scimd_cs_wrong"));
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret=nope",
        form_enc(&id)
    );
    let r = token_request(srv, &form, None).await;
    err("wrong secret, in the body", &r, 401, "invalid_client");
    assert_eq!(challenge(&r), "");
    let c = Client::new(&srv.base, None);
    let r = c
        .send(c.json_req(
            Method::POST,
            "/oauth/token",
            &json!({"grant_type": "client_credentials"}),
        ))
        .await;
    err("not a form", &r, 400, "invalid_request");
    // The refusals that need no more than their status and code: (case, form, Basic
    // credentials, status, error).
    let both = format!(
        "grant_type=client_credentials&client_secret={}",
        form_enc(&secret)
    );
    let big = format!("grant_type=client_credentials&pad={}", "x".repeat(20_000));
    let ours = Some((id.as_str(), secret.as_str()));
    let grant = "grant_type=client_credentials";
    let twice = format!("{grant}&{grant}");
    let cases = [
        (
            "unknown client",
            grant,
            Some(("scimd_client_nobody", secret.as_str())),
            401,
            "invalid_client",
        ),
        ("no credentials", grant, None, 401, "invalid_client"),
        ("no grant_type", "", ours, 400, "invalid_request"),
        (
            "grant_type twice",
            twice.as_str(),
            ours,
            400,
            "invalid_request",
        ),
        (
            "two authentication methods",
            both.as_str(),
            ours,
            400,
            "invalid_request",
        ),
        (
            "a body over the bound",
            big.as_str(),
            ours,
            400,
            "invalid_request",
        ),
        (
            "password grant",
            "grant_type=password&username=a&password=b",
            ours,
            400,
            "unsupported_grant_type",
        ),
        (
            "admin scope",
            "grant_type=client_credentials&scope=admin",
            ours,
            400,
            "invalid_scope",
        ),
        (
            "a scope that is no scope-token",
            "grant_type=client_credentials&scope=a%22b",
            ours,
            400,
            "invalid_scope",
        ),
    ];
    for (case, form, basic, status, code) in cases {
        err(case, &token_request(srv, form, basic).await, status, code);
    }
    // Only POST.
    let r = c.send(c.req(Method::GET, "/oauth/token")).await;
    r.expect(405);

    // Clients through the admin API: list (no secrets), create (secret once), revoke.
    let admin = srv.admin();
    let r = admin
        .post("/clients", &json!({"name": unique("okta-test")}))
        .await;
    r.expect(201);
    assert_eq!(r.header("cache-control"), "no-store");
    let made = r.json().clone();
    assert_eq!(made["tokenUrl"], json!(format!("{}/oauth/token", srv.base)));
    let (id2, secret2) = (
        made["clientId"].as_str().unwrap().to_string(),
        made["clientSecret"].as_str().unwrap().to_string(),
    );
    let dup = admin.post("/clients", &json!({"name": made["name"]})).await;
    dup.expect(409);
    admin
        .post("/clients", &json!({"name": " "}))
        .await
        .expect(400);
    admin
        .post("/clients", &json!({"name": "x", "secret": "y"}))
        .await
        .expect(400);
    let token2 = access_token(srv, (&id2, &secret2)).await;
    srv.client_with(Some(&token2))
        .get("/Groups")
        .await
        .expect(200);
    let listed = admin.get("/clients").await;
    listed.expect(200);
    assert!(!listed.text.contains(&secret2) && !listed.text.contains(&secret));
    assert_eq!(listed.json()["tokenUrl"], made["tokenUrl"]);
    let row = listed.resource_with("clientId", &id2);
    assert!(
        row["lastUsed"].is_string() && row["revoked"].is_null(),
        "{row}"
    );
    admin.delete(&format!("/clients/{id2}")).await.expect(204);
    admin.delete(&format!("/clients/{id2}")).await.expect(404);
    // Revoked: its unexpired token is refused at once, and it gets no new one.
    let r = srv.client_with(Some(&token2)).get("/Groups").await;
    r.expect_error(401, None);
    assert!(challenge(&r).contains("error_description=\"the token was revoked\""));
    let r = token_request(srv, "grant_type=client_credentials", Some((&id2, &secret2))).await;
    err("revoked client", &r, 401, "invalid_client");
    // The CLI lists both, the revoked one marked; the audit record has both actions.
    let out = srv.cli(&["client", "list", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let revoked = v["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["clientId"] == json!(id2))
        .unwrap();
    assert!(revoked["revoked"].is_string());
    let audit = admin.get("/audit?count=500").await;
    for action in ["client.create", "client.revoke"] {
        assert!(
            audit.json()["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == action && e["target"]["id"] == json!(id2)),
            "{action} not in the audit record"
        );
    }
    // `scimd client revoke` of the first client: its tokens stop working too.
    assert!(srv.cli(&["client", "revoke", &id]).status.success());
    assert!(!srv.cli(&["client", "revoke", &id]).status.success());
    // (Seen by the running server within a second.)
    common::answers_within(&scim, "/Users?count=1", 401).await;
}

#[tokio::test]
async fn an_access_token_works_until_it_expires() {
    let srv = Server::start_opts(Opts {
        args: vec!["--access-token-ttl".into(), "2s".into()],
        ..Default::default()
    });
    let (id, secret) = new_client(&srv, "entra");
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        form_enc(&id),
        form_enc(&secret)
    );
    let r = token_request(&srv, &form, None).await;
    r.expect(200);
    assert_eq!(r.json()["expires_in"], 2);
    let token = r.string("access_token");
    let c = srv.client_with(Some(&token));
    let start = Instant::now();
    let mut served = 0;
    let refused = loop {
        let r = c.get("/Users?count=1").await;
        if r.status == 200 {
            served += 1;
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "accepted after it expired"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        break r;
    };
    assert!(served >= 2, "the token was used before it expired");
    assert!(
        start.elapsed() >= Duration::from_millis(1500),
        "refused early"
    );
    refused.expect_error(401, None);
    assert!(
        challenge(&refused)
            .contains("error=\"invalid_token\", error_description=\"the token expired\""),
        "{}",
        challenge(&refused)
    );
}

#[tokio::test]
async fn the_token_endpoint_is_under_the_address_limit() {
    let srv = Server::start_opts(Opts {
        args: [
            "--rate-limit-unauthenticated-per-minute",
            "60",
            "--rate-limit-unauthenticated-burst",
            "3",
        ]
        .map(String::from)
        .to_vec(),
        rate_limited: true,
        ..Default::default()
    });
    let (id, secret) = new_client(&srv, "entra");
    // A token issued is not counted against the address.
    for _ in 0..5 {
        let r = token_request(&srv, "grant_type=client_credentials", Some((&id, &secret))).await;
        r.expect(200);
    }
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = token_request(&srv, "grant_type=client_credentials", Some((&id, "wrong"))).await;
        statuses.push(r.status);
        if r.status == 429 {
            assert_eq!(r.json()["error"], "too_many_requests");
            assert!(!r.header("retry-after").is_empty());
        }
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
}

#[tokio::test]
async fn a_revoked_client_is_refused_on_every_instance() {
    if postgres_admin_url().is_none() {
        eprintln!("SCIMD_TEST_DATABASE_URL is not a postgres:// URL: two-instance test skipped");
        return;
    }
    let a = Server::start();
    let b = Server::start_opts(Opts {
        database_url: Some(a.database_url.clone()),
        ..Default::default()
    });
    let (id, secret) = new_client(&a, "entra");
    // Issued by one instance, accepted by both.
    let token = access_token(&a, (&id, &secret)).await;
    let on = |s: &Server| s.client_with(Some(&token));
    on(&a).get("/Users?count=1").await.expect(200);
    on(&b).get("/Users?count=1").await.expect(200);
    let token_b = access_token(&b, (&id, &secret)).await;
    a.client_with(Some(&token_b))
        .get("/Groups")
        .await
        .expect(200);
    // Revoked through instance b: refused on both within a second.
    Client::new(&format!("{}/api/v1", b.base), Some(&b.admin_token()))
        .delete(&format!("/clients/{id}"))
        .await
        .expect(204);
    let revoked_at = Instant::now();
    for s in [&a, &b] {
        loop {
            let r = on(s).get("/Users?count=1").await;
            if r.status == 401 {
                assert!(challenge(&r).contains("the token was revoked"));
                break;
            }
            assert!(
                revoked_at.elapsed() < Duration::from_secs(1),
                "{} still accepts a revoked client's token",
                s.base
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(revoked_at.elapsed() < Duration::from_secs(1));
}

/// `scimd client create|list` print the token URL of the public URL `scimd serve` started
/// with (recorded in the database at start) when the command is given none; `--public-url`
/// wins; a bad one is refused before anything is created. (A newcomer's walk: the CLI printed
/// `http://127.0.0.1:8080/oauth/token` for a server started with other flags.)
#[tokio::test]
async fn the_cli_prints_the_token_url_serve_recorded() {
    let srv = Server::start_opts(Opts {
        args: vec![
            "--public-url".into(),
            "https://scim.example.test:8443/".into(),
        ],
        ..Default::default()
    });
    let run = |args: &[&str]| {
        let out = srv.cli(args);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        (out.status.success(), stdout, stderr)
    };
    let (ok, out, err) = run(&["client", "create", "--name", "recorded", "--json"]);
    assert!(ok, "{err}");
    let made: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        made["tokenUrl"],
        json!("https://scim.example.test:8443/oauth/token")
    );
    let (ok, out, err) = run(&["client", "list", "--json"]);
    assert!(ok, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["tokenUrl"], made["tokenUrl"]);
    // Given on the command line: it wins (normalised like serve's: no trailing /scim/v2).
    let given = ["--public-url", "https://other.example.test/scim/v2/"];
    let (ok, out, err) = run(&[&["client", "list", "--json"][..], &given].concat());
    assert!(ok, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        listed["tokenUrl"],
        json!("https://other.example.test/oauth/token")
    );
    // A bad one is refused, and no client is created.
    let bad = ["--public-url", "ftp://scim.example.test"];
    let (ok, _, err) = run(&[&["client", "create", "--name", "bad-url"][..], &bad].concat());
    assert!(!ok);
    assert!(err.contains("http:// or https://"), "{err}");
    let (_, out, _) = run(&["client", "list", "--json"]);
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        listed["clients"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
}
