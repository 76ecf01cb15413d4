//! The administrative portal over HTTP, without a browser (the browser tests in
//! `browser-tests/` drive the same pages in Chromium): first-start administrator, sign-in
//! with its cookies, throttling, CSRF refusal, security headers, a token's secret shown
//! once, password resets that end sessions. On SQLite, or on a fresh PostgreSQL database
//! when `SCIMD_TEST_DATABASE_URL` is a `postgres://` URL (see `common`).

mod common;

use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};

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
        ..Default::default()
    };
    let running = scimd::start(&config).await.unwrap();
    let b = running.bootstrap.clone().expect("first start");
    assert_eq!(b.admin_username, "admin");
    assert_eq!(b.admin_password.len(), 20);
    let banner = scimd::server::bootstrap_banner(&running.scim_base, &b);
    assert!(
        banner.contains(&format!("Password: {}\n", b.admin_password)),
        "{banner}"
    );
    assert!(banner.contains("Administrator: admin\n"), "{banner}");
    Portal {
        base: running.public_url.clone(),
        password: b.admin_password,
        running: Some(running),
        client: Client::builder().redirect(Policy::none()).build().unwrap(),
        pg,
        _dir: TempDir(dir),
    }
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
        assert_eq!(r.headers()["location"], "/users");
        let (id, full) = set_cookie(&r, "scimd_session").expect("session cookie");
        assert!(full.contains("HttpOnly"), "{full}");
        assert!(full.contains("SameSite=Strict"), "{full}");
        assert!(full.contains("Path=/"), "{full}");
        assert!(!full.contains("Secure"), "plain HTTP: {full}");
        Ok(format!("scimd_session={id}"))
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
    let ops = d.create_admin(&tenant, "ops").await.unwrap();
    assert!(
        d.create_admin(&tenant, "OPS").await.is_err(),
        "unique ignoring case"
    );
    assert!(d.create_admin(&tenant, "two words").await.is_err());
    assert!(p.sign_in("ops", &ops).await.is_ok());
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
    let r = p
        .post(
            "/admin/provisioning/tokens",
            &cookie,
            &[("csrf", &csrf), ("name", "entra"), ("scope", "scim")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    let at = html.find("id=\"new-secret\">").unwrap() + 16;
    let secret = html[at..at + 64].to_string();
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()), "{secret}");
    let d = &p.running.as_ref().unwrap().directory;
    assert!(d.authenticate(&secret).await.unwrap().is_some());
    for path in ["/admin/provisioning", "/dashboard", "/log", "/users"] {
        let html = p.page_text(path, &cookie).await;
        assert!(!html.contains(&secret), "{path} shows the secret");
    }
    // Password reset: the sessions end, the old password stops working.
    let tenant = d.default_tenant_id().await.unwrap();
    let new = d.reset_admin_password(&tenant, "admin").await.unwrap();
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
    assert!(d.reset_admin_password(&tenant, "nobody").await.is_err());
    p.stop().await;
}

#[tokio::test]
async fn permanent_delete_is_logged_and_refused_for_active_users() {
    let p = start().await;
    let cookie = p.sign_in("admin", &p.password).await.unwrap();
    let csrf = csrf_of(&p.page_text("/users/new", &cookie).await);
    let r = p
        .post(
            "/users",
            &cookie,
            &[
                ("csrf", &csrf),
                ("userName", "local.one@example.com"),
                ("givenName", "Local"),
                ("familyName", "One"),
                ("email", "local.one@example.com"),
            ],
        )
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

/// POSTs the new-token form (`/admin/provisioning/tokens`) with `form` in the session
/// `cookie`, asserts it is refused with 403 Forbidden and returns the page's text.
async fn new_token_form_is_forbidden(p: &Portal, cookie: &str, form: &[(&str, &str)]) -> String {
    let r = p.post("/admin/provisioning/tokens", cookie, form).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "{form:?}");
    r.text().await.unwrap()
}
