//! Issuers' JWT access tokens on /scim/v2 (Entra workload identity federation and any OIDC
//! issuer), over HTTP against a real scimd and a real local issuer the test starts: an
//! HTTP server serving OpenID Provider Metadata and a JWKS the test changes, with RSA keys
//! generated for this run. No internet; runs on SQLite and PostgreSQL like the rest.
//!
//! The local issuer is plain http on 127.0.0.1, so the servers that fetch from it run with
//! `--allow-private-outbound`; `outbound_address_rule` checks what happens without it.

mod common;

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use common::{unique, Opts, Server, USER};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// An RSA signing key of the local issuer, and its public JWK.
struct Key {
    kid: String,
    enc: EncodingKey,
    jwk: Value,
    /// The public key's modulus bytes (an HMAC secret for the confusion attack).
    public: Vec<u8>,
}

/// Three keys, generated once per test run (in parallel: RSA key generation takes a while).
fn keys() -> &'static [Key; 3] {
    static KEYS: OnceLock<[Key; 3]> = OnceLock::new();
    KEYS.get_or_init(|| {
        let gen = |kid: &'static str| {
            std::thread::spawn(move || {
                use rsa::pkcs1::EncodeRsaPrivateKey;
                use rsa::Generate;
                let private = rsa::PrivateKey::generate();
                let der = private.to_pkcs1_der().expect("PKCS#1 DER");
                let enc = EncodingKey::from_rsa_der(der.as_bytes());
                let mut jwk =
                    serde_json::to_value(Jwk::from_encoding_key(&enc, Algorithm::RS256).unwrap())
                        .unwrap();
                jwk["kid"] = json!(kid);
                jwk["use"] = json!("sig");
                let n = jwk["n"].as_str().unwrap().to_string();
                let public = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(n)
                    .unwrap();
                Key {
                    kid: kid.to_string(),
                    enc,
                    jwk,
                    public,
                }
            })
        };
        let (a, b, c) = (gen("key-a"), gen("key-b"), gen("key-c"));
        [a.join().unwrap(), b.join().unwrap(), c.join().unwrap()]
    })
}

/// The local issuer: `GET <issuer>/.well-known/openid-configuration` and `GET /discovery/keys`.
struct LocalIssuer {
    /// `http://127.0.0.1:PORT` + the issuer's path.
    iss: String,
    state: Arc<IssuerState>,
}

struct IssuerState {
    iss: String,
    base: String,
    jwks: Mutex<Value>,
    metadata_hits: AtomicU64,
    key_hits: AtomicU64,
}

async fn issuer_routes(State(s): State<Arc<IssuerState>>, uri: Uri) -> Response {
    let meta = format!(
        "{}/.well-known/openid-configuration",
        s.iss.trim_end_matches('/')
    );
    let url = format!("{}{}", s.base, uri.path());
    if url == meta {
        s.metadata_hits.fetch_add(1, Ordering::SeqCst);
        let body = json!({"issuer": s.iss, "jwks_uri": format!("{}/discovery/keys", s.base)});
        return axum::Json(body).into_response();
    }
    if uri.path() == "/discovery/keys" {
        s.key_hits.fetch_add(1, Ordering::SeqCst);
        let body = s.jwks.lock().unwrap().clone();
        return axum::Json(body).into_response();
    }
    axum::http::StatusCode::NOT_FOUND.into_response()
}

impl LocalIssuer {
    /// Starts an issuer whose URL is `http://127.0.0.1:PORT` + `path` publishing `keys`.
    async fn start(path: &str, keys: &[&Key]) -> LocalIssuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(IssuerState {
            iss: format!("{base}{path}"),
            base,
            jwks: Mutex::new(Value::Null),
            metadata_hits: AtomicU64::new(0),
            key_hits: AtomicU64::new(0),
        });
        let issuer = LocalIssuer {
            iss: state.iss.clone(),
            state: state.clone(),
        };
        issuer.publish(keys);
        let app = axum::Router::new()
            .fallback(issuer_routes)
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        issuer
    }

    /// Replaces the published JWKS.
    fn publish(&self, keys: &[&Key]) {
        let set: Vec<Value> = keys.iter().map(|k| k.jwk.clone()).collect();
        *self.state.jwks.lock().unwrap() = json!({ "keys": set });
    }

    fn key_hits(&self) -> u64 {
        self.state.key_hits.load(Ordering::SeqCst)
    }

    fn hits(&self) -> u64 {
        self.key_hits() + self.state.metadata_hits.load(Ordering::SeqCst)
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The claims of an Entra v1 application token.
fn app_claims(iss: &str, aud: &str, app: &str) -> Value {
    let t = now();
    json!({
        "aud": aud, "iss": iss, "iat": t - 10, "nbf": t - 10, "exp": t + 3600,
        "appid": app, "idtyp": "app", "oid": "6b8a0d4b-7f3e-4a5c-9a52-2f7b1f1d6e01",
        "sub": "6b8a0d4b-7f3e-4a5c-9a52-2f7b1f1d6e01", "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "ver": "1.0"
    })
}

fn sign(key: &Key, claims: &Value) -> String {
    signed(Algorithm::RS256, &key.kid, &key.enc, claims)
}

/// A token of `claims` with header `{alg, kid}`, signed with `enc`.
fn signed(alg: Algorithm, kid: &str, enc: &EncodingKey, claims: &Value) -> String {
    let mut h = Header::new(alg);
    h.kid = Some(kid.to_string());
    encode(&h, claims, enc).unwrap()
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

/// A SCIM GET with `token`: the status and the `WWW-Authenticate` header.
async fn scim_get(srv: &Server, token: &str) -> (u16, String, String) {
    let r = srv.client_with(Some(token)).get("/Users?count=1").await;
    (r.status, r.header("www-authenticate"), r.text)
}

/// Asserts a 401 whose RFC 6750 challenge is `invalid_token` with a description containing
/// `reason`, and that neither the header nor the body echoes the token.
#[track_caller]
fn refused(got: (u16, String, String), reason: &str, token: &str) {
    let (status, challenge, body) = got;
    assert_eq!(status, 401, "{body}");
    assert!(
        challenge
            .starts_with("Bearer realm=\"scimd\", error=\"invalid_token\", error_description=\""),
        "{challenge}"
    );
    assert!(
        challenge.contains(reason),
        "{challenge:?} should say {reason:?}"
    );
    assert!(body.contains(reason), "{body}");
    let sig = token.rsplit('.').next().unwrap_or_default();
    assert!(!challenge.contains(token) && !body.contains(token));
    assert!(sig.is_empty() || !body.contains(sig));
}

fn start_server(extra: &[&str]) -> Server {
    let mut args: Vec<String> = vec![
        "--allow-private-outbound".into(),
        "--jwks-refetch-interval-secs".into(),
        "2".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Server::start_opts(Opts {
        args,
        ..Default::default()
    })
}

/// The arguments of `scimd issuer add` of `iss`, `aud` and `apps`, then `more`.
fn add_args(iss: &str, aud: &str, apps: &str, more: &[&str]) -> Vec<String> {
    let args = [
        "issuer",
        "add",
        "--issuer",
        iss,
        "--audience",
        aud,
        "--app-id",
        apps,
    ];
    args.iter().chain(more).map(|a| a.to_string()).collect()
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// `scimd issuer add --allow-private-outbound` of `iss`, `aud` and `apps`; its stdout and
/// stderr.
#[track_caller]
fn add_allowed(srv: &Server, iss: &str, aud: &str, apps: &str) -> (String, String) {
    let args = add_args(iss, aud, apps, &["--allow-private-outbound"]);
    srv.cli_ok(&refs(&args))
}

/// Runs `scimd ARGS` and asserts failure; its stderr.
#[track_caller]
fn cli_fails(srv: &Server, args: &[&str]) -> String {
    let out = srv.cli(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "scimd {args:?} should fail: {err}");
    err
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_accepted_only_as_configured() {
    let [a, b, _] = keys();
    let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    // Entra's v1 issuer form, trailing slash included.
    let issuer = LocalIssuer::start(&format!("/{tenant}/"), &[a]).await;
    let srv = start_server(&[]);
    let app = "11111111-2222-3333-4444-555555555555";
    let other_app = "99999999-2222-3333-4444-555555555555";
    let aud = "api://scimd-test";
    let apps = format!("{app},00000000-0000-0000-0000-00000000000a");
    let (_, out) = add_allowed(&srv, &issuer.iss, aud, &apps);
    assert!(out.contains("added issuer"), "{out}");

    // Accepted: read and write, recorded as the application of the issuer.
    let good = sign(a, &app_claims(&issuer.iss, aud, app));
    let (status, _, body) = scim_get(&srv, &good).await;
    assert_eq!(status, 200, "{body}");
    let name = unique("fed") + "@example.com";
    let created = srv.client_with(Some(&good)).post("/Users", &json!({"schemas": [USER], "userName": name, "name": {"givenName": "Fed", "familyName": "Erated"}, "emails": [{"value": name, "type": "work", "primary": true}]})).await;
    created.expect(201);
    let log = srv
        .admin()
        .get(&format!("/provisioning-log?text={}", common::enc(&name)))
        .await;
    let entry = &log.json()["Resources"][0];
    assert_eq!(
        entry["actor"],
        json!({"type": "client", "name": format!("{app}@{}", issuer.iss)}),
        "{entry}"
    );
    // Entra v2 names the application in azp instead of appid.
    let mut v2 = app_claims(&issuer.iss, aud, app);
    v2.as_object_mut().unwrap().remove("appid");
    v2["azp"] = json!(app);
    assert_eq!(scim_get(&srv, &sign(a, &v2)).await.0, 200);
    // RFC 9068 names it client_id.
    v2.as_object_mut().unwrap().remove("azp");
    v2["client_id"] = json!(app);
    assert_eq!(scim_get(&srv, &sign(a, &v2)).await.0, 200);

    // Refused, each with its reason.
    let edited = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut c = app_claims(&issuer.iss, aud, app);
        edit(c.as_object_mut().unwrap());
        c
    };
    let claims = app_claims(&issuer.iss, aud, app);
    let hmac = |secret: &[u8]| EncodingKey::from_secret(secret).unwrap();
    let cases: Vec<(&str, &str, String)> = vec![
        (
            "another audience",
            "wrong aud",
            sign(a, &app_claims(&issuer.iss, "api://someone-else", app)),
        ),
        (
            "application is not allowed",
            "other app",
            sign(a, &app_claims(&issuer.iss, aud, other_app)),
        ),
        (
            "unknown issuer",
            "other iss",
            sign(
                a,
                &app_claims(
                    "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
                    aud,
                    app,
                ),
            ),
        ),
        (
            "has expired",
            "expired",
            sign(
                a,
                &edited(&|c| {
                    c.insert("exp".into(), json!(now() - 120));
                }),
            ),
        ),
        (
            "not valid yet",
            "nbf ahead",
            sign(
                a,
                &edited(&|c| {
                    c.insert("nbf".into(), json!(now() + 600));
                }),
            ),
        ),
        (
            "delegated user token",
            "scp",
            sign(
                a,
                &edited(&|c| {
                    c.insert("scp".into(), json!("User.Read"));
                }),
            ),
        ),
        (
            "delegated user token",
            "idtyp user",
            sign(
                a,
                &edited(&|c| {
                    c.insert("idtyp".into(), json!("user"));
                }),
            ),
        ),
        (
            "lacks a required claim",
            "no exp",
            sign(
                a,
                &edited(&|c| {
                    c.remove("exp");
                }),
            ),
        ),
        (
            "lacks a required claim",
            "no appid",
            sign(
                a,
                &edited(&|c| {
                    c.remove("appid");
                }),
            ),
        ),
        // Signed by another key under the published kid.
        (
            "signature is not valid",
            "forged",
            signed(Algorithm::RS256, &a.kid, &b.enc, &claims),
        ),
        // The classic confusion: HS256 with the issuer's public key as the HMAC secret.
        (
            "algorithm that is not allowed",
            "HS256 modulus",
            signed(Algorithm::HS256, &a.kid, &hmac(&a.public), &claims),
        ),
        (
            "algorithm that is not allowed",
            "HS256 JWK",
            signed(
                Algorithm::HS256,
                &a.kid,
                &hmac(a.jwk.to_string().as_bytes()),
                &claims,
            ),
        ),
        // alg none, unsigned.
        (
            "algorithm that is not allowed",
            "none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT", "kid": a.kid})),
                b64(&claims)
            ),
        ),
        // RS384 is not in the default allow-list even when correctly signed.
        (
            "algorithm that is not allowed",
            "RS384",
            signed(Algorithm::RS384, &a.kid, &a.enc, &claims),
        ),
        (
            "not a well-formed JWT",
            "payload not JSON",
            "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln".into(),
        ),
    ];
    for (reason, case, token) in &cases {
        let got = scim_get(&srv, token).await;
        assert_eq!(got.0, 401, "{case}: {}", got.2);
        refused(got, reason, token);
    }
    // Within the clock skew (60 s), an expired token is still accepted.
    let skewed = sign(
        a,
        &edited(&|c| {
            c.insert("exp".into(), json!(now() - 20));
        }),
    );
    assert_eq!(scim_get(&srv, &skewed).await.0, 200);

    // The static token still works; an issuer token is a valid credential of scope scim, so
    // the admin API refuses it as the wrong scope (RFC 6750 §3.1: 403 insufficient_scope).
    srv.client().get("/Users?count=1").await.expect(200);
    let api = common::Client::new(&format!("{}/api/v1", srv.base), Some(&good));
    let wrong = api.get("/users").await;
    wrong.expect(403);
    assert!(
        wrong.text.contains("the issuer token of") && wrong.text.contains("scope admin"),
        "{}",
        wrong.text
    );
    assert!(
        wrong
            .header("www-authenticate")
            .contains("insufficient_scope"),
        "{:?}",
        wrong.headers
    );

    // Listed by the CLI and the API; removal is effective within a second.
    let (listed, _) = srv.cli_ok(&["issuer", "list", "--json"]);
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed[0]["issuer"], json!(issuer.iss));
    assert_eq!(
        listed[0]["appIds"],
        json!([app, "00000000-0000-0000-0000-00000000000a"])
    );
    assert_eq!(
        listed[0]["metadataUrl"],
        json!(format!(
            "{}/{tenant}/.well-known/openid-configuration",
            issuer.state.base
        ))
    );
    let (table, _) = srv.cli_ok(&["issuer", "list"]);
    assert!(
        table.starts_with("ISSUER") && table.contains(&issuer.iss),
        "{table}"
    );
    let admin = srv.admin();
    let api_list = admin.get("/issuers").await;
    api_list.expect(200);
    assert_eq!(api_list.json()["Resources"][0]["id"], listed[0]["id"]);
    let (_, out) = srv.cli_ok(&["issuer", "remove", &issuer.iss]);
    assert!(out.contains("removed issuer"), "{out}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    refused(scim_get(&srv, &good).await, "unknown issuer", &good);
    let again = cli_fails(&srv, &["issuer", "remove", &issuer.iss]);
    assert!(again.contains("no issuer"), "{again}");
    // Both recorded in the audit record.
    let audit = admin.get("/audit?action=issuer.add").await;
    assert_eq!(
        audit.json()["Resources"][0]["target"]["name"],
        json!(issuer.iss),
        "{}",
        audit.text
    );
    let audit = admin.get("/audit?action=issuer.remove").await;
    assert_eq!(audit.json()["totalResults"], json!(1), "{}", audit.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn key_rotation_refetch_limit_and_single_flight() {
    let [a, b, c] = keys();
    // Entra's v2 issuer form.
    let issuer = LocalIssuer::start("/b9419818-09af-49c2-b0c3-653adc1f376e/v2.0", &[a]).await;
    let srv = start_server(&[]);
    let (app, aud) = (
        "22222222-2222-3333-4444-555555555555",
        "00000000-aaaa-bbbb-cccc-000000000001",
    );
    let admin = srv.admin();
    let added = admin
        .post(
            "/issuers",
            &json!({"issuer": issuer.iss, "audience": aud, "appIds": [app]}),
        )
        .await;
    added.expect(201);
    assert!(
        added
            .header("location")
            .ends_with(added.json()["id"].as_str().unwrap()),
        "{:?}",
        added.headers
    );
    let claims = app_claims(&issuer.iss, aud, app);
    assert_eq!(scim_get(&srv, &sign(a, &claims)).await.0, 200);
    assert_eq!(issuer.key_hits(), 1);
    // Cached: no fetch per request.
    assert_eq!(scim_get(&srv, &sign(a, &claims)).await.0, 200);
    assert_eq!(issuer.key_hits(), 1);

    // The issuer rotates to key B. Within the refetch interval (2 s here) an unknown kid
    // fetches nothing, however many tokens name one.
    issuer.publish(&[b]);
    let tok_b = sign(b, &claims);
    refused(
        scim_get(&srv, &tok_b).await,
        "key its issuer does not publish",
        &tok_b,
    );
    for i in 0..5 {
        let made_up = signed(Algorithm::RS256, &format!("made-up-{i}"), &c.enc, &claims);
        refused(
            scim_get(&srv, &made_up).await,
            "key its issuer does not publish",
            &made_up,
        );
    }
    assert!(
        issuer.key_hits() <= 2,
        "refetches not limited: {}",
        issuer.key_hits()
    );
    // After the interval, the unknown kid is picked up ...
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let before = issuer.key_hits();
    assert_eq!(scim_get(&srv, &tok_b).await.0, 200);
    assert_eq!(issuer.key_hits(), before + 1);
    // ... and key A, gone from the set, is refused.
    let tok_a = sign(a, &claims);
    refused(
        scim_get(&srv, &tok_a).await,
        "key its issuer does not publish",
        &tok_a,
    );

    // Single-flight: concurrent requests with a new kid wait on one fetch.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    issuer.publish(&[b, c]);
    let tok_c = sign(c, &claims);
    let before = issuer.key_hits();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = srv.client_with(Some(&tok_c));
        tasks.push(tokio::spawn(async move {
            client.get("/Users?count=1").await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(
        issuer.key_hits(),
        before + 1,
        "one fetch for concurrent requests"
    );

    // Removed through the API (by its URL, percent-encoded).
    let gone = admin
        .delete(&format!("/issuers/{}", common::enc(&issuer.iss)))
        .await;
    gone.expect(204);
    admin
        .delete(&format!("/issuers/{}", common::enc(&issuer.iss)))
        .await
        .expect(404);
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_address_rule() {
    let [a, _, _] = keys();
    let issuer = LocalIssuer::start("/tenant/v2.0", &[a]).await;
    // This server keeps the rule: no --allow-private-outbound.
    let srv = Server::start_opts(Opts::default());
    let (app, aud) = ("33333333-2222-3333-4444-555555555555", "api://scimd-rule");
    let add = |iss: &str, meta: Option<&str>| match meta {
        Some(m) => add_args(iss, aud, app, &["--metadata-url", m]),
        None => add_args(iss, aud, app, &[]),
    };
    let run = |args: Vec<String>| cli_fails(&srv, &refs(&args));
    // http is refused, and so are loopback, link-local (cloud metadata) and private
    // addresses, by IP or by a name that resolves to one.
    let err = run(add(&issuer.iss, None));
    assert!(
        err.contains("not https") && err.contains("--allow-private-outbound"),
        "{err}"
    );
    let port = issuer.state.base.rsplit(':').next().unwrap().to_string();
    for (url, why) in [
        (format!("https://127.0.0.1:{port}/tenant/v2.0"), "loopback"),
        (format!("https://localhost:{port}/tenant/v2.0"), "loopback"),
        (
            "https://169.254.169.254/latest/meta-data".to_string(),
            "link-local",
        ),
        ("https://[fd00:ec2::254]/latest".to_string(), "unique-local"),
        ("https://10.0.0.8/x".to_string(), "private"),
        ("https://100.64.1.1/x".to_string(), "CGNAT"),
    ] {
        let err = run(add(
            "https://login.microsoftonline.com/tenant/v2.0",
            Some(&url),
        ));
        assert!(
            err.contains("metadata URL is refused") && err.contains(why),
            "{url}: {err}"
        );
    }
    // The default metadata URL is checked too (an issuer on a loopback address).
    let err = run(add(&format!("https://127.0.0.1:{port}/tenant/v2.0"), None));
    assert!(err.contains("loopback"), "{err}");
    // The admin API applies the server's rule.
    let admin = srv.admin();
    let r = admin.post("/issuers", &json!({"issuer": "https://login.microsoftonline.com/t/v2.0", "audience": aud, "appIds": [app], "metadataUrl": format!("https://127.0.0.1:{port}/m")})).await;
    r.expect(400);
    assert!(r.text.contains("loopback"), "{}", r.text);
    assert_eq!(admin.get("/issuers").await.json()["totalResults"], json!(0));

    // Added by a command allowed to (another instance, or a mistake), the issuer's keys are
    // still not fetched by this server: its tokens are refused and the issuer sees no request.
    add_allowed(&srv, &issuer.iss, aud, app);
    let tok = sign(a, &app_claims(&issuer.iss, aud, app));
    refused(scim_get(&srv, &tok).await, "cannot be fetched now", &tok);
    assert_eq!(issuer.hits(), 0);
    let logs = srv.stderr();
    assert!(
        logs.contains("cannot fetch the issuer's signing keys") && logs.contains("not https"),
        "{}",
        srv.logs()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn jwks_file_read_again_when_it_changes() {
    let [a, b, _] = keys();
    let srv = start_server(&[]);
    let file = srv.dir.join("issuer-jwks.json");
    let write = |k: &Key, secs: u64| {
        std::fs::write(&file, json!({"keys": [k.jwk]}).to_string()).unwrap();
        let f = std::fs::File::options().write(true).open(&file).unwrap();
        f.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs))
            .unwrap();
    };
    write(a, 0);
    let iss = "https://login.microsoftonline.com/4d2c1f4e-0000-4000-8000-000000000000/v2.0";
    let (app, aud) = ("44444444-2222-3333-4444-555555555555", "api://scimd-file");
    let file_arg = file.to_str().unwrap();
    // A relative path or an unreadable file is refused at once.
    let with_file = |path: &str| add_args(iss, aud, app, &["--jwks-file", path]);
    let run = |args: Vec<String>, ok: bool| match ok {
        true => srv.cli_ok(&refs(&args)).1,
        false => cli_fails(&srv, &refs(&args)),
    };
    let err = run(with_file("jwks.json"), false);
    assert!(err.contains("absolute path"), "{err}");
    let missing = srv.dir.join("missing.json");
    let err = run(with_file(missing.to_str().unwrap()), false);
    assert!(err.contains("cannot read the JWKS file"), "{err}");
    run(with_file(file_arg), true);
    let claims = app_claims(iss, aud, app);
    assert_eq!(scim_get(&srv, &sign(a, &claims)).await.0, 200);
    let tok_b = sign(b, &claims);
    refused(
        scim_get(&srv, &tok_b).await,
        "key its issuer does not publish",
        &tok_b,
    );
    write(b, 1);
    assert_eq!(scim_get(&srv, &tok_b).await.0, 200);
    let tok_a = sign(a, &claims);
    refused(
        scim_get(&srv, &tok_a).await,
        "key its issuer does not publish",
        &tok_a,
    );
    // The issuer appears with its file and no metadata URL.
    let listed = srv.admin().get("/issuers").await;
    assert_eq!(listed.json()["Resources"][0]["jwksFile"], json!(file_arg));
    assert_eq!(listed.json()["Resources"][0]["metadataUrl"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn algorithm_allow_list_is_configuration() {
    let [a, _, _] = keys();
    let issuer = LocalIssuer::start("/tenant-ps/v2.0", &[a]).await;
    let srv = start_server(&["--jwt-algorithms", "PS256"]);
    let (app, aud) = ("55555555-2222-3333-4444-555555555555", "api://scimd-ps");
    add_allowed(&srv, &issuer.iss, aud, app);
    let claims = app_claims(&issuer.iss, aud, app);
    let rs = sign(a, &claims);
    refused(
        scim_get(&srv, &rs).await,
        "algorithm that is not allowed",
        &rs,
    );
    // The published key names RS256: a PS256 token under it is refused too (a key's alg binds).
    let ps = signed(Algorithm::PS256, &a.kid, &a.enc, &claims);
    refused(
        scim_get(&srv, &ps).await,
        "algorithm that is not allowed",
        &ps,
    );
    // The same key published without an alg, under a new kid (fetched after the interval).
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let mut jwk_b = a.jwk.clone();
    jwk_b.as_object_mut().unwrap().remove("alg");
    jwk_b["kid"] = json!("key-a-ps");
    *issuer.state.jwks.lock().unwrap() = json!({"keys": [jwk_b]});
    let ps = signed(Algorithm::PS256, "key-a-ps", &a.enc, &claims);
    assert_eq!(scim_get(&srv, &ps).await.0, 200);
    // A bad --jwt-algorithms stops the server with a message.
    let out = std::process::Command::new(common::SCIMD)
        .args([
            "serve",
            "--jwt-algorithms",
            "HS256",
            "--database",
            "sqlite:///nonexistent/x.db",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("HS256"),
        "{out:?}"
    );
}
