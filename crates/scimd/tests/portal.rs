//! The administrative portal over HTTP, without a browser (the browser tests in
//! `browser-tests/` drive the same pages in Chromium): first-start administrator, sign-in
//! with its cookies, throttling, CSRF refusal, security headers, a token's secret shown
//! once, password resets that end sessions, generated passwords changed first. On SQLite, or on a fresh PostgreSQL database
//! when `SCIMD_TEST_DATABASE_URL` is a `postgres://` URL (see `common`).

mod common;

use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use scimd_directory::admin::{AuditEntry, AuditFilter};
use scimd_directory::changes::AuditAction;
use scimd_directory::directory::Origin;
use scimd_directory::store::{ActorType, Cause, Channel, TokenScope};

struct Portal {
    running: Option<scimd::Running>,
    base: String,
    password: String,
    client: Client,
    pg: Option<String>,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start() -> Portal {
    start_with(|_| {}).await
}

/// [`start`] with the configuration changed by `change` first.
async fn start_with(change: impl FnOnce(&mut scimd::Config)) -> Portal {
    let dir = std::env::temp_dir().join(format!(
        "scimd-portal-test-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let pg = common::fresh_postgres_database(&format!(
        "portal_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ));
    let config = scimd::Config {
        listen: "127.0.0.1:0".into(),
        database: pg
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/scimd.db", dir.display())),
        log_retention_days: 0,
        data_dir: Some(dir.clone()),
        ..Default::default()
    };
    let mut config = config;
    change(&mut config);
    let running = scimd::start(&config).await.unwrap();
    let file = std::fs::read_to_string(dir.join("first-start-secrets.txt")).unwrap();
    let b = running.bootstrap.clone().expect("first start");
    assert_eq!(b.admin_username, "admin");
    assert_eq!(b.admin_password.len(), 20);
    let banner = scimd::server::bootstrap_banner(&running.scim_base, &b);
    assert_eq!(
        file, banner,
        "the first start's secrets are in the data folder"
    );
    assert!(
        banner.contains(&format!("Password: {}\n", b.admin_password)),
        "{banner}"
    );
    assert!(banner.contains("Administrator: admin\n"), "{banner}");
    let mut p = Portal {
        base: running.public_url.clone(),
        password: b.admin_password,
        running: Some(running),
        client: Client::builder().redirect(Policy::none()).build().unwrap(),
        pg,
        _dir: TempDir(dir),
    };
    // The generated password is changed first (see `generated_passwords_are_changed_first`).
    let cookie = p.sign_in("admin", &p.password).await.unwrap();
    let chosen = "chosen by the administrator".to_string();
    let r = p.change_password(&cookie, &p.password, &chosen).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    p.password = chosen;
    p
}

/// The value of cookie `name` set by a response.
fn set_cookie(r: &Response, name: &str) -> Option<(String, String)> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            let value = v[name.len() + 1..].split(';').next().unwrap().to_string();
            (value, v.to_string())
        })
}

/// The CSRF token of the first form of a page.
fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a csrf field")
        + 19;
    html[at..at + 64].to_string()
}

impl Portal {
    async fn get(&self, path: &str, cookie: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Creates a token through the portal's form with CSRF token `csrf`; the response.
    async fn create_token(&self, cookie: &str, csrf: &str, name: &str, scope: &str) -> Response {
        let form = [("csrf", csrf), ("name", name), ("scope", scope)];
        self.post("/admin/provisioning/tokens", cookie, &form).await
    }

    /// Creates a local user through the portal's form (its email the userName); the
    /// response.
    async fn create_user(
        &self,
        cookie: &str,
        csrf: &str,
        user_name: &str,
        name: (&str, &str),
    ) -> Response {
        let form = [
            ("csrf", csrf),
            ("userName", user_name),
            ("givenName", name.0),
            ("familyName", name.1),
            ("email", user_name),
        ];
        self.post("/users", cookie, &form).await
    }

    /// GETs `path` in the session `cookie` and returns the page's text, whatever the status.
    async fn page_text(&self, path: &str, cookie: &str) -> String {
        self.get(path, cookie).await.text().await.unwrap()
    }

    /// Signs in; the session cookie (`scimd_session=...`) or the refusal's status.
    async fn sign_in(&self, username: &str, password: &str) -> Result<String, StatusCode> {
        let form = self.get("/signin", "").await;
        let (token, _) = set_cookie(&form, "scimd_signin").expect("sign-in CSRF cookie");
        let html = form.text().await.unwrap();
        assert_eq!(csrf_of(&html), token);
        let r = self
            .post(
                "/signin",
                &format!("scimd_signin={token}"),
                &[
                    ("csrf", token.as_str()),
                    ("username", username),
                    ("password", password),
                    ("next", "/users"),
                ],
            )
            .await;
        if r.status() != StatusCode::SEE_OTHER {
            return Err(r.status());
        }
        // Signed in: to `next`, or first to the password change of a generated password.
        let to = r.headers()["location"].to_str().unwrap();
        assert!(
            to == "/users" || to == "/account/password?next=%2Fusers",
            "{to}"
        );
        let (id, full) = set_cookie(&r, "scimd_session").expect("session cookie");
        assert!(full.contains("HttpOnly"), "{full}");
        assert!(full.contains("SameSite=Strict"), "{full}");
        assert!(full.contains("Path=/"), "{full}");
        assert!(!full.contains("Secure"), "plain HTTP: {full}");
        Ok(format!("scimd_session={id}"))
    }

    /// The HTML of a page.
    async fn html(&self, path: &str, cookie: &str) -> String {
        self.get(path, cookie).await.text().await.unwrap()
    }

    /// Submits the password change form.
    async fn change_password(&self, cookie: &str, current: &str, new: &str) -> Response {
        let csrf = csrf_of(&self.html("/account/password", cookie).await);
        self.post(
            "/account/password",
            cookie,
            &[
                ("csrf", csrf.as_str()),
                ("current", current),
                ("new", new),
                ("confirm", new),
                ("next", "/users"),
            ],
        )
        .await
    }

    async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.unwrap();
        }
        if let Some(url) = self.pg.take() {
            common::drop_postgres_database(&url);
        }
    }
}

#[tokio::test]
async fn sign_in_pages_and_headers() {
    let p = start().await;
    // Anonymous: the pages redirect to the sign-in page and come back after it.
    let r = p.get("/users?q=a", "").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/signin?next=%2Fusers%3Fq%3Da");
    let cookie = p.sign_in("ADMIN", &p.password).await.expect("signed in");
    for path in [
        "/dashboard",
        "/admin/provisioning",
        "/admin/provisioning/settings",
        "/admin/attributes",
        "/users",
        "/users/new",
        "/groups",
        "/log",
    ] {
        let r = p.get(path, &cookie).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let h = r.headers();
        assert!(h["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'self'"));
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(h["content-type"], "text/html; charset=utf-8");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("<title>") && html.contains(" · scimd</title>"),
            "{path}"
        );
        assert!(!html.contains("<script>"), "{path}: inline script");
    }
    let js = p.get("/assets/htmx.min.js", "").await;
    assert_eq!(js.status(), StatusCode::OK);
    assert!(js.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age=31536000"));
    // Signing out needs the CSRF token, and ends the session.
    let dash = p.page_text("/dashboard", &cookie).await;
    let csrf = csrf_of(&dash);
    assert_eq!(
        p.post("/signout", &cookie, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    let out = p.post("/signout", &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        p.get("/dashboard", &cookie).await.status(),
        StatusCode::SEE_OTHER
    );
    p.stop().await;
}

#[tokio::test]
async fn failures_are_throttled_per_username_and_client() {
    let p = start().await;
    assert_eq!(
        p.sign_in("admin", "wrong").await,
        Err(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        p.sign_in("nobody", "wrong").await,
        Err(StatusCode::UNAUTHORIZED)
    );
    for _ in 0..4 {
        assert_eq!(
            p.sign_in("admin", "wrong").await,
            Err(StatusCode::UNAUTHORIZED)
        );
    }
    // Five failures for admin from this address: even the right password is refused.
    assert_eq!(
        p.sign_in("admin", &p.password).await,
        Err(StatusCode::TOO_MANY_REQUESTS)
    );
    // Another administrator is not affected.
    let d = &p.running.as_ref().unwrap().directory;
    let tenant = d.default_tenant_id().await.unwrap();
    let by = Origin::cli(&tenant, "tester", "test");
    let ops = d.create_admin(&by, "ops").await.unwrap();
    assert!(
        d.create_admin(&by, "OPS").await.is_err(),
        "unique ignoring case"
    );
    assert!(d.create_admin(&by, "two words").await.is_err());
    assert!(p.sign_in("ops", &ops).await.is_ok());
    // Each sign-in is an audit record (actor the administrator, source portal, the
    // client's address); the failed ones too, a record per minute, address and username
    // with the count, the throttled attempt included.
    // (`start` signed in once as admin to change the generated password.)
    let ok = audit_of(&p, AuditAction::SignIn).await;
    assert_eq!(ok.len(), 2);
    let r = &ok[0].record;
    assert_eq!(
        (r.actor.kind, r.actor.name.as_str()),
        (ActorType::Admin, "ops")
    );
    assert_eq!(r.source, Channel::Portal);
    assert_eq!(r.address.as_deref(), Some("127.0.0.1"));
    assert_eq!(r.resource_type.as_deref(), Some("Administrator"));
    assert!(matches!(&r.cause, Cause::Request { method, path, .. }
        if method == "POST" && path == "/signin"));
    let failed = audit_of(&p, AuditAction::SignInFailure).await;
    let count = |name: &str| -> u64 {
        let of = failed.iter().filter(|e| e.record.actor.name == name);
        of.map(|e| e.record.count).sum()
    };
    assert_eq!(
        count("admin"),
        6,
        "five refused, one throttled: {failed:#?}"
    );
    assert_eq!(count("nobody"), 1, "{failed:#?}");
    for e in &failed {
        assert_eq!(e.record.outcome, "failed");
        assert_eq!(e.record.address.as_deref(), Some("127.0.0.1"));
    }
    // A sign-in POST without the double-submit cookie is refused.
    let r = p
        .post(
            "/signin",
            "",
            &[("csrf", "x"), ("username", "ops"), ("password", &ops)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    p.stop().await;
}

#[tokio::test]
async fn csrf_tokens_and_secrets_shown_once() {
    let p = start().await;
    let cookie = p.sign_in("admin", &p.password).await.unwrap();
    let page = p.page_text("/admin/provisioning", &cookie).await;
    let csrf = csrf_of(&page);
    // Without the token, and with a wrong one: 403, nothing created.
    new_token_form_is_forbidden(&p, &cookie, &[("name", "forged"), ("scope", "admin")]).await;
    let wrong = "0".repeat(64);
    let page = new_token_form_is_forbidden(
        &p,
        &cookie,
        &[("csrf", &wrong), ("name", "forged"), ("scope", "admin")],
    )
    .await;
    assert!(page.contains("security token"));
    // A token from another session does not work either.
    let other = p.sign_in("admin", &p.password).await.unwrap();
    let other_csrf = csrf_of(&p.page_text("/dashboard", &other).await);
    assert_ne!(other_csrf, csrf);
    new_token_form_is_forbidden(&p, &cookie, &[("csrf", &other_csrf), ("name", "forged")]).await;
    let list = p.page_text("/admin/provisioning", &cookie).await;
    assert!(!list.contains("forged"));

    // With the token: created, the secret shown on that response only.
    let r = p.create_token(&cookie, &csrf, "entra", "scim").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    let at = html.find("id=\"new-secret\">").unwrap() + 16;
    let secret = html[at..at + 70].to_string();
    assert!(secret.starts_with("scimd_"), "{secret}");
    assert!(
        secret[6..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{secret}"
    );
    let d = &p.running.as_ref().unwrap().directory;
    assert!(d.authenticate(&secret).await.unwrap().is_ok());
    for path in ["/admin/provisioning", "/dashboard", "/log", "/users"] {
        let html = p.page_text(path, &cookie).await;
        assert!(!html.contains(&secret), "{path} shows the secret");
    }
    // Password reset: the sessions end, the old password stops working.
    let tenant = d.default_tenant_id().await.unwrap();
    let by = Origin::cli(&tenant, "tester", "test");
    let new = d.reset_admin_password(&by, "admin").await.unwrap();
    assert_ne!(new, p.password);
    assert_eq!(
        p.get("/dashboard", &cookie).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        p.get("/dashboard", &other).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        p.sign_in("admin", &p.password).await,
        Err(StatusCode::UNAUTHORIZED)
    );
    assert!(p.sign_in("admin", &new).await.is_ok());
    assert!(d.reset_admin_password(&by, "nobody").await.is_err());
    p.stop().await;
}

#[tokio::test]
async fn permanent_delete_is_logged_and_refused_for_active_users() {
    let p = start().await;
    let cookie = p.sign_in("admin", &p.password).await.unwrap();
    let csrf = csrf_of(&p.page_text("/users/new", &cookie).await);
    let r = p
        .create_user(&cookie, &csrf, "local.one@example.com", ("Local", "One"))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let id = loc
        .trim_start_matches("/users/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    // Missing family name: the rule's message, the entered values kept.
    let r = p
        .post(
            "/users",
            &cookie,
            &[
                ("csrf", &csrf),
                ("userName", "x@example.com"),
                ("givenName", "X"),
                ("email", "x@example.com"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(html.contains("familyName"), "{html}");
    assert!(html.contains("value=\"x@example.com\""));
    // Active: no delete.
    let page = p.page_text(&format!("/users/{id}"), &cookie).await;
    assert!(!page.contains("Delete permanently"));
    assert_eq!(
        p.get(&format!("/users/{id}/delete"), &cookie)
            .await
            .status(),
        StatusCode::CONFLICT
    );
    let r = p
        .post(&format!("/users/{id}/delete"), &cookie, &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    p.stop().await;
}

/// The audit records of the tenant with `action` (every one), newest first.
async fn audit_of(p: &Portal, action: AuditAction) -> Vec<AuditEntry> {
    let d = &p.running.as_ref().unwrap().directory;
    let tenant = d.default_tenant_id().await.unwrap();
    let f = AuditFilter {
        action: Some(action),
        ..AuditFilter::default()
    };
    let (n, v) = d.query_audit(&tenant, &f, 0, 500).await.unwrap();
    assert_eq!(n as usize, v.len());
    v
}

/// A spray of failed sign-ins from one address with random (long) usernames adds a bounded
/// number of records: at most 21 a minute (20 address and username pairs, then one for
/// the rest of the minute), the usernames cut to 32 characters, every failure counted: the
/// ones refused (401) and the ones the per-address sign-in throttle stopped (429); the ones
/// beyond the hashing queue (503) are not attempts and are not counted. (The
/// per-address rate limit, which would answer most of the spray before the sign-in runs,
/// is off here so that every attempt reaches it.)
#[tokio::test]
async fn a_spray_of_failed_sign_ins_adds_a_bounded_number_of_records() {
    const SPRAY: usize = 300;
    let p = start_with(|c| c.rate_limits.unauthenticated_per_minute = 0).await;
    let p = std::sync::Arc::new(p);
    let started = time::OffsetDateTime::now_utc();
    let mut tasks = tokio::task::JoinSet::new();
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(24));
    for i in 0..SPRAY {
        let (p, sem) = (p.clone(), sem.clone());
        tasks.spawn(async move {
            let _turn = sem.acquire().await.unwrap();
            let user = format!("{i:04}-{}", "x".repeat(60));
            p.sign_in(&user, "wrong").await
        });
    }
    let (mut refused, mut throttled) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Err(StatusCode::UNAUTHORIZED) => refused += 1,
            Err(StatusCode::TOO_MANY_REQUESTS) => throttled += 1,
            // Beyond the password-hashing queue: refused before anything is counted.
            Err(StatusCode::SERVICE_UNAVAILABLE) => {}
            other => panic!("a wrong password: {other:?}"),
        }
    }
    let ended = time::OffsetDateTime::now_utc();
    let minutes = (ended.unix_timestamp() / 60 - started.unix_timestamp() / 60 + 1) as usize;
    let failed = audit_of(&p, AuditAction::SignInFailure).await;
    assert!(refused > 0);
    assert!(
        failed.len() <= 21 * minutes,
        "{} records over {minutes} minute(s)",
        failed.len()
    );
    let counted: u64 = failed.iter().map(|e| e.record.count).sum();
    assert_eq!(
        counted,
        (refused + throttled) as u64,
        "every failure is counted once"
    );
    assert!(failed
        .iter()
        .any(|e| e.record.actor.name == "*" && e.record.count > 1));
    for e in &failed {
        let name = &e.record.actor.name;
        assert!(name.chars().count() <= 32, "{name}");
        assert_eq!(e.record.resource_name.as_ref(), Some(name));
    }
    match std::sync::Arc::try_unwrap(p) {
        Ok(p) => p.stop().await,
        Err(_) => panic!("the portal is still shared"),
    }
}

/// What an administrator does in the portal (sign-in, a token, a local user) is in the
/// audit record that `GET /api/v1/audit` serves: source `portal`, the administrator as the
/// actor, the client's address, the form's request as the cause; a failed sign-in too.
#[tokio::test]
async fn portal_actions_are_served_by_the_audit_api() {
    let p = start().await;
    let refused = p.sign_in("admin", "not the password").await;
    assert_eq!(refused, Err(StatusCode::UNAUTHORIZED));
    let cookie = p.sign_in("admin", &p.password).await.unwrap();
    let csrf = csrf_of(&p.get("/users/new", &cookie).await.text().await.unwrap());
    let r = p.create_token(&cookie, &csrf, "entra", "scim").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = p
        .create_user(
            &cookie,
            &csrf,
            "portal.made@example.com",
            ("Portal", "Made"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let d = &p.running.as_ref().unwrap().directory;
    let tenant = d.default_tenant_id().await.unwrap();
    let by = Origin::cli(&tenant, "tester", "test");
    let (secret, _) = d
        .create_token(&by, "auditor", TokenScope::Admin, None)
        .await
        .unwrap();
    let r = p
        .client
        .get(format!("{}/api/v1/audit?source=portal&count=100", p.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    let records = body["Resources"].as_array().unwrap();
    let actions: Vec<&str> = records
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user.create",
            "token.create",
            "signin",
            "signin.failure",
            // `start`: the generated password changed after the first sign-in.
            "administrator.change-password",
            "signin"
        ],
        "{body:#}"
    );
    for r in records {
        assert_eq!(r["source"], "portal", "{r}");
        assert_eq!(r["address"], "127.0.0.1", "{r}");
        assert!(r["seq"].is_i64() && r["time"].is_string(), "{r}");
        assert!(r.get("detail").is_some(), "{r}");
    }
    for r in &records[..3] {
        assert_eq!(
            r["actor"],
            serde_json::json!({"type": "admin", "name": "admin"}),
            "{r}"
        );
    }
    assert_eq!(records[0]["target"]["name"], "portal.made@example.com");
    assert_eq!(records[0]["cause"]["method"], "POST");
    assert_eq!(records[0]["cause"]["path"], "/users");
    assert_eq!(records[1]["target"]["name"], "entra");
    assert_eq!(records[1]["cause"]["path"], "/admin/provisioning/tokens");
    assert_eq!(records[3]["actor"]["name"], "admin");
    assert_eq!(records[3]["outcome"], "failed");
    let text = body.to_string();
    assert!(!text.contains(&p.password) && !text.contains("not the password"));
    p.stop().await;
}

#[tokio::test]
async fn generated_passwords_are_changed_first() {
    let p = start().await;
    let d = &p.running.as_ref().unwrap().directory;
    let tenant = d.default_tenant_id().await.unwrap();
    let by = Origin::cli(&tenant, "tester", "test");
    let generated = d.create_admin(&by, "ops").await.unwrap();
    let earlier = p.sign_in("ops", &generated).await.unwrap();
    let cookie = p.sign_in("ops", &generated).await.unwrap();
    // Every page leads to the password change; every other form is refused.
    let r = p.get("/dashboard", &cookie).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/account/password?next=%2Fdashboard"
    );
    let page = p.html("/account/password", &cookie).await;
    assert!(page.contains("generated by scimd"), "{page}");
    let csrf = csrf_of(&page);
    let form = [("csrf", csrf.as_str()), ("userName", "sneaky@example.com")];
    let refused = p.post("/users", &cookie, &form).await.status();
    assert_eq!(refused, StatusCode::FORBIDDEN);
    // Wrong current password, two different new ones, one too short: 400, nothing changed.
    for (current, new, confirm, says) in [
        (
            "wrong password",
            "a good new password",
            "a good new password",
            "current password is wrong",
        ),
        (
            generated.as_str(),
            "a good new password",
            "another new password",
            "differ",
        ),
        (
            generated.as_str(),
            "short",
            "short",
            "at least 12 characters",
        ),
        (
            generated.as_str(),
            generated.as_str(),
            generated.as_str(),
            "must differ",
        ),
    ] {
        let r = p
            .post(
                "/account/password",
                &cookie,
                &[
                    ("csrf", csrf.as_str()),
                    ("current", current),
                    ("new", new),
                    ("confirm", confirm),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let html = r.text().await.unwrap();
        assert!(html.contains(says), "{says}: {html}");
    }
    let r = p
        .change_password(&cookie, &generated, "a good new password")
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/users");
    // This session goes on; the other one ended; only the new password works.
    assert_eq!(p.get("/dashboard", &cookie).await.status(), StatusCode::OK);
    assert_eq!(
        p.get("/dashboard", &earlier).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        p.sign_in("ops", &generated).await,
        Err(StatusCode::UNAUTHORIZED)
    );
    let again = p.sign_in("ops", "a good new password").await.unwrap();
    assert_eq!(p.get("/dashboard", &again).await.status(), StatusCode::OK);
    // A password set explicitly needs no change.
    d.create_admin_with_password(&by, "chosen", "picked by an operator")
        .await
        .unwrap();
    let c = p.sign_in("chosen", "picked by an operator").await.unwrap();
    assert_eq!(p.get("/dashboard", &c).await.status(), StatusCode::OK);
    p.stop().await;
}

/// POSTs the new-token form (`/admin/provisioning/tokens`) with `form` in the session
/// `cookie`, asserts it is refused with 403 Forbidden and returns the page's text.
async fn new_token_form_is_forbidden(p: &Portal, cookie: &str, form: &[(&str, &str)]) -> String {
    let r = p.post("/admin/provisioning/tokens", cookie, form).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "{form:?}");
    r.text().await.unwrap()
}

/// The OAuth clients of User Provisioning (the token URL beside the Tenant URL; a client's
/// secret shown once; revoked), a token's lifetime from the form, and the dashboard's
/// warning for tokens near their expiry (`--token-expiry-warning-days`).
#[tokio::test]
async fn oauth_clients_and_expiring_tokens() {
    let p = start_with(|c| c.credentials.token_expiry_warning_days = 30).await;
    let cookie = p.sign_in("admin", &p.password).await.unwrap();
    let page = p.page_text("/admin/provisioning", &cookie).await;
    let token_url = format!("{}/oauth/token", p.base);
    assert!(
        page.contains(&format!("<code id=\"token-url\">{token_url}</code>")),
        "{page}"
    );
    let csrf = csrf_of(&page);
    let form = [("csrf", csrf.as_str()), ("name", "entra-prod")];
    let r = p.post("/admin/provisioning/clients", &cookie, &form).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    let shown = |id: &str, len: usize| {
        let at = html.find(&format!("id=\"{id}\">")).unwrap() + id.len() + 6;
        html[at..at + len].to_string()
    };
    let client_id = shown("new-client-id", 45);
    let secret = shown("new-client-secret", 73);
    assert!(client_id.starts_with("scimd_client_"), "{client_id}");
    assert!(secret.starts_with("scimd_cs_"), "{secret}");
    let ask = || {
        p.client
            .post(&token_url)
            .basic_auth(&client_id, Some(&secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    assert_eq!(ask().await.unwrap().status(), StatusCode::OK);
    let page = p.page_text("/admin/provisioning", &cookie).await;
    assert!(page.contains(&client_id) && !page.contains(&secret));
    // A duplicate name is refused on the page, the name kept.
    let r = p.post("/admin/provisioning/clients", &cookie, &form).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("id=\"client-error\""));
    // Revoked: listed as such, and the token endpoint refuses it.
    let form = [("csrf", csrf.as_str()), ("client_id", client_id.as_str())];
    let r = p
        .post("/admin/provisioning/clients/revoke", &cookie, &form)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = p.page_text("/admin/provisioning", &cookie).await;
    assert!(page.contains("b-revoked"));
    assert_eq!(ask().await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Token lifetimes from the form: a bad one is refused, nothing created.
    let token = |name: &'static str, life: &'static str| {
        let form = [
            ("csrf", csrf.clone()),
            ("name", name.to_string()),
            ("scope", "scim".to_string()),
            ("expires_in", life.to_string()),
        ];
        let (client, base, cookie) = (p.client.clone(), p.base.clone(), cookie.clone());
        async move {
            client
                .post(format!("{base}/admin/provisioning/tokens"))
                .header("cookie", cookie)
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let r = token("soon", "ten days").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("Expires in: expected"));
    assert_eq!(token("soon", "10d").await.status(), StatusCode::CREATED);
    assert_eq!(token("later", "60d").await.status(), StatusCode::CREATED);
    assert_eq!(token("forever", "").await.status(), StatusCode::CREATED);
    // The dashboard warns of the one within 30 days only.
    let dash = p.page_text("/dashboard", &cookie).await;
    assert!(dash.contains("id=\"token-expiry\""), "{dash}");
    assert!(dash.contains("“soon” expires in 9 days"), "{dash}");
    assert!(!dash.contains("“later”") && !dash.contains("“forever”"));
}
