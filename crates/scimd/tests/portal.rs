//! The administrative portal over HTTP, without a browser (the browser tests in
//! `browser-tests/` drive the same pages in Chromium): first-start administrator, sign-in
//! with its cookies, throttling, CSRF refusal, security headers, a token's secret shown
//! once, password resets that end sessions, generated passwords changed first, local users
//! and groups changed through the forms, Edit Settings keeping every edit. On SQLite, or on a fresh PostgreSQL database
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

/// The header `name` of `r` as text; panics when it is absent or not visible ASCII.
fn header<'a>(r: &'a Response, name: &str) -> &'a str {
    r.headers()[name].to_str().unwrap()
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
        let to = header(&r, "location");
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
        assert!(header(&r, "content-security-policy").starts_with("default-src 'self'"));
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
    assert!(header(&js, "cache-control").contains("max-age=31536000"));
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

/// A path no route serves: a browser gets a page that says so; a SCIM client (or anything
/// not asking for HTML) the SCIM error body.
#[tokio::test]
async fn an_unknown_path_is_a_page_for_a_browser_and_a_scim_error_otherwise() {
    let p = start().await;
    let get = |accept: &'static str| {
        p.client
            .get(format!("{}/no-such-page", p.base))
            .header("accept", accept)
            .send()
    };
    let r = get("text/html,application/xhtml+xml,*/*;q=0.8")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
    let html = r.text().await.unwrap();
    assert!(html.contains("no page at /no-such-page"), "{html}");
    let r = get("application/scim+json").await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&r, "content-type"), "application/scim+json");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], "404");
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
    let loc = header(&r, "location").to_string();
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

/// The change of `attribute` in a record, as `(before, after)`.
fn change_of(
    r: &AuditEntry,
    attribute: &str,
) -> (Option<serde_json::Value>, Option<serde_json::Value>) {
    let c = r
        .record
        .changes
        .iter()
        .find(|c| c.attribute == attribute)
        .unwrap_or_else(|| panic!("no change of {attribute}: {r:?}"));
    (c.before.clone(), c.after.clone())
}

/// Local users and groups changed through the portal's forms (CSRF checked, the product
/// rules' messages shown with the values entered, audit records with the administrator as
/// actor and values before and after), and Edit Settings keeping a changed custom schema
/// URN when "+ Add Custom Attribute" posts the form.
#[tokio::test]
async fn local_users_groups_and_settings_are_changed_through_the_forms() {
    use serde_json::json;
    let p = start().await;
    let cookie = p.sign_in("admin", &p.password).await.unwrap();
    assert!(audit_of(&p, AuditAction::UserUpdate).await.is_empty());
    let csrf = csrf_of(&p.page_text("/users/new", &cookie).await);
    let r = p
        .create_user(&cookie, &csrf, "two@example.com", ("Local", "Two"))
        .await;
    let id = header(&r, "location")[7..43].to_string();
    let page = p.page_text(&format!("/users/{id}"), &cookie).await;
    assert!(
        page.contains("action=\"/users/{id}/edit\"".replace("{id}", &id).as_str()),
        "{page}"
    );
    let form = |given: &'static str, csrf: &str| -> Vec<(String, String)> {
        [
            ("csrf", csrf),
            ("userName", "two@example.com"),
            ("givenName", given),
            ("familyName", "Two"),
            ("email", "two@example.com"),
            ("displayName", "L. Two"),
            ("title", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    };
    let post = |path: String, f: Vec<(String, String)>| {
        let p = &p;
        let cookie = cookie.clone();
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            p.post(&path, &cookie, &f).await
        }
    };
    // No CSRF token: 403, nothing changed.
    let r = post(format!("/users/{id}/edit"), form("Changed", "wrong")).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A blank given name: the rule's message, the values entered kept.
    let r = post(format!("/users/{id}/edit"), form("  ", &csrf)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(html.contains("name.givenName"), "{html}");
    assert!(html.contains("value=\"L. Two\""), "{html}");
    assert!(audit_of(&p, AuditAction::UserUpdate).await.is_empty());
    // Saved.
    let r = post(format!("/users/{id}/edit"), form("Lena", &csrf)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        format!("/users/{id}?ok=user-updated").as_str()
    );
    let recs = audit_of(&p, AuditAction::UserUpdate).await;
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].record.actor.kind, ActorType::Admin);
    assert_eq!(recs[0].record.source, Channel::Portal);
    let (b, a) = change_of(&recs[0], "name");
    assert_eq!(
        (
            b.unwrap()["givenName"].clone(),
            a.unwrap()["givenName"].clone()
        ),
        (json!("Local"), json!("Lena"))
    );
    assert_eq!(
        change_of(&recs[0], "displayName"),
        (None, Some(json!("L. Two")))
    );
    // Disable (and a bad value), soft delete.
    let active = |v: &'static str| {
        vec![
            ("csrf".to_string(), csrf.clone()),
            ("active".to_string(), v.to_string()),
        ]
    };
    assert_eq!(
        post(format!("/users/{id}/active"), active("maybe"))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    let r = post(format!("/users/{id}/active"), active("false")).await;
    assert_eq!(
        r.headers()["location"],
        format!("/users/{id}?ok=user-disabled").as_str()
    );
    assert_eq!(
        audit_of(&p, AuditAction::UserUpdate).await[0]
            .record
            .outcome,
        "disabled"
    );
    let only_csrf = vec![("csrf".to_string(), csrf.clone())];
    let r = post(format!("/users/{id}/soft-delete"), only_csrf.clone()).await;
    assert_eq!(
        r.headers()["location"],
        format!("/users/{id}?ok=user-soft-deleted").as_str()
    );
    let d = &p.running.as_ref().unwrap().directory;
    let tenant = d.default_tenant_id().await.unwrap();
    assert_eq!(
        d.admin_get_user(&tenant, &id).await.unwrap().state.as_str(),
        "deprovisioned"
    );
    assert_eq!(audit_of(&p, AuditAction::UserSoftDelete).await.len(), 1);
    assert_eq!(
        post(format!("/users/{id}/soft-delete"), only_csrf)
            .await
            .status(),
        StatusCode::CONFLICT
    );

    // A local group renamed.
    let r = post(
        "/groups".into(),
        vec![
            ("csrf".into(), csrf.clone()),
            ("displayName".into(), "Early".into()),
        ],
    )
    .await;
    let gid = header(&r, "location")[8..44].to_string();
    let rename = |name: &str| {
        let form = vec![
            ("csrf".to_string(), csrf.clone()),
            ("displayName".to_string(), name.to_string()),
        ];
        post(format!("/groups/{gid}/rename"), form)
    };
    let r = rename("All users").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("value=\"All users\""));
    let r = rename("Late").await;
    assert_eq!(
        r.headers()["location"],
        format!("/groups/{gid}?ok=group-renamed").as_str()
    );
    let renamed = audit_of(&p, AuditAction::GroupRename).await;
    assert_eq!(
        change_of(&renamed[0], "displayName"),
        (Some(json!("Early")), Some(json!("Late")))
    );

    // Edit Settings: "Save Changes" of + Add Custom Attribute saves the changed URN too.
    let urn = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User";
    let settings = |name: &str, urn: &str| {
        vec![
            ("csrf".to_string(), csrf.clone()),
            ("customSchemaUrn".to_string(), urn.to_string()),
            ("blankValuePolicy".to_string(), "ignore".to_string()),
            ("refuseInactiveCreate".to_string(), "true".to_string()),
            ("name".to_string(), name.to_string()),
            ("type".to_string(), "string".to_string()),
        ]
    };
    let r = post(
        "/admin/provisioning/attributes".into(),
        settings("costCode", urn),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(header(&r, "location").contains("ok=settings-attribute"));
    assert_eq!(
        d.get_settings(&tenant).await.unwrap().custom_schema_urn,
        urn
    );
    let custom = d.custom_schema(&tenant).await.unwrap();
    assert_eq!(custom.attributes[0].scim_path(), format!("{urn}:costCode"));
    // Unchanged settings are not saved again by Save Changes.
    let before = audit_of(&p, AuditAction::SettingsUpdate).await.len();
    let r = post(
        "/admin/provisioning/attributes".into(),
        settings("badge", urn),
    )
    .await;
    assert!(header(&r, "location").contains("ok=attribute&"));
    assert_eq!(
        audit_of(&p, AuditAction::SettingsUpdate).await.len(),
        before
    );
    // A refused URN: nothing saved, the attribute typed kept.
    let r = post(
        "/admin/provisioning/attributes".into(),
        settings("office", "not a urn"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("value=\"office\"") && html.contains("value=\"not a urn\""),
        "{html}"
    );
    assert_eq!(d.custom_schema(&tenant).await.unwrap().attributes.len(), 2);
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
    let (n, v) = d.records(&tenant, &f, 0, 500).await.unwrap();
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
    // The failures past a minute's first 20 address and username pairs go to that minute's
    // one `*` record. Whether a minute had more than 21 depends on how the spray fell across
    // minutes and how many the hashing queue turned away (503, not counted); by pigeonhole,
    // more than 21 counted a minute on average means one minute had, and then a `*` record
    // counts several.
    let star = failed
        .iter()
        .any(|e| e.record.actor.name == "*" && e.record.count > 1);
    assert!(
        star || counted <= 21 * minutes as u64,
        "{counted} failures over {minutes} minute(s) ({refused} refused, {throttled} throttled) and no `*` record counts several: {:#?}",
        failed.iter().map(|e| (&e.record.actor.name, e.record.count)).collect::<Vec<_>>()
    );
    // Every minute's records: at most 20 pairs, then `*`.
    let mut per_minute: std::collections::BTreeMap<i64, Vec<&str>> = Default::default();
    for e in &failed {
        per_minute
            .entry(e.record.at.unix_timestamp() / 60)
            .or_default()
            .push(e.record.actor.name.as_str());
    }
    for names in per_minute.values() {
        let pairs = names.iter().filter(|n| **n != "*").count();
        assert!(pairs <= 20, "{names:?}");
    }
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

/// The schema URN the identity provider sends in the warnings test: unknown to the tenant.
const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

/// A request with bearer token `token`; the status and the JSON body (`Null` when none).
async fn call(
    p: &Portal,
    (method, path): (reqwest::Method, &str),
    token: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value) {
    let mut r = p
        .client
        .request(method, format!("{}{path}", p.base))
        .bearer_auth(token);
    if let Some(b) = body {
        r = r
            .header("content-type", "application/scim+json")
            .body(b.to_string());
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_default())
}

/// The dashboard's warning of `kind` about `subject`, from the admin API.
async fn warning(p: &Portal, admin: &str, kind: &str, subject: &str) -> serde_json::Value {
    let (status, d) = call(p, (reqwest::Method::GET, "/api/v1/dashboard"), admin, None).await;
    assert_eq!(status, StatusCode::OK);
    d["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["kind"] == kind && w["subject"] == subject)
        .cloned()
        .unwrap_or_default()
}

/// Signs the administrator in and makes a SCIM token (`entra`) and an admin token (`ops`)
/// from the command line: the session cookie and the two secrets.
async fn session_and_tokens(p: &Portal) -> (String, String, String) {
    let cookie = p.sign_in("admin", &p.password).await.unwrap();
    let d = &p.running.as_ref().unwrap().directory;
    let tenant = d.default_tenant_id().await.unwrap();
    let by = Origin::cli(&tenant, "tester", "test");
    let scim = d.create_token(&by, "entra", TokenScope::Scim, None);
    let admin = d.create_token(&by, "ops", TokenScope::Admin, None);
    (cookie, scim.await.unwrap().0, admin.await.unwrap().0)
}

#[tokio::test]
async fn warnings_are_counted_by_the_writes_and_shown_until_fixed() {
    use reqwest::Method;
    use serde_json::json;
    let p = start().await;
    let (cookie, scim, admin) = session_and_tokens(&p).await;
    let user = |name: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ACME],
            "userName": name,
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": name, "primary": true}],
            ACME: {"costCode": "CC-1"},
        })
    };
    let post = (Method::POST, "/scim/v2/Users");
    let (s, ann) = call(&p, post.clone(), &scim, Some(user("ann@x.test"))).await;
    assert_eq!(s, StatusCode::CREATED, "{ann}");
    let (s, _) = call(&p, post.clone(), &scim, Some(user("bob@x.test"))).await;
    assert_eq!(s, StatusCode::CREATED);
    // A PATCH naming an attribute of the URN: the same subject, the same user again.
    let path = format!("/scim/v2/Users/{}", ann["id"].as_str().unwrap());
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Add", "path": format!("{ACME}:costCode"), "value": "CC-2"}]});
    let (s, _) = call(&p, (Method::PATCH, &path), &scim, Some(patch)).await;
    assert_eq!(s, StatusCode::OK);
    // A rejected write changes nothing, so counts nothing.
    let mut refused = user("cy@x.test");
    refused["name"] = json!({"givenName": "C"});
    let (s, _) = call(&p, post.clone(), &scim, Some(refused)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Two primary emails: a normalised value.
    let mut two = user("dee@x.test");
    two["emails"] =
        json!([{"value": "dee@x.test", "primary": true}, {"value": "d@x.test", "primary": true}]);
    let (s, _) = call(&p, post, &scim, Some(two)).await;
    assert_eq!(s, StatusCode::CREATED);

    let w = warning(&p, &admin, "unknown-schema", ACME).await;
    assert_eq!(
        (w["users"].as_u64(), w["occurrences"].as_u64()),
        (Some(3), Some(4)),
        "{w}"
    );
    assert!(w["firstSeen"].as_str().unwrap() <= w["lastSeen"].as_str().unwrap());
    assert!(w["example"].as_str().unwrap().contains(ACME), "{w}");
    let n = warning(&p, &admin, "normalised", "emails").await;
    assert_eq!(
        (n["users"].as_u64(), n["occurrences"].as_u64()),
        (Some(1), Some(1)),
        "{n}"
    );
    for page in ["/dashboard", "/admin/provisioning"] {
        let html = p.page_text(page, &cookie).await;
        assert!(
            html.contains("id=\"warnings\" role=\"region\"")
                || html.contains("role=\"region\" aria-labelledby=\"h-warnings\""),
            "{page}"
        );
        assert!(
            html.contains(ACME) && html.contains("3 users, 4 writes"),
            "{page}: {html}"
        );
        assert!(html.contains("1 user, 1 write"), "{page}");
    }
    // The fix: the tenant's custom schema URN becomes the one sent. The warning goes.
    let settings = json!({"customSchemaUrn": ACME});
    let (s, body) = call(
        &p,
        (Method::PATCH, "/api/v1/settings"),
        &admin,
        Some(settings),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(warning(&p, &admin, "unknown-schema", ACME).await.is_null());
    assert!(!p
        .page_text("/dashboard", &cookie)
        .await
        .contains("3 users, 4 writes"));
    p.stop().await;
}

#[tokio::test]
async fn history_and_audit_pages_and_the_favicon() {
    use reqwest::Method;
    use serde_json::json;
    let p = start().await;
    let (cookie, scim, _) = session_and_tokens(&p).await;
    let d = &p.running.as_ref().unwrap().directory;
    let tenant = d.default_tenant_id().await.unwrap();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ann@x.test",
        "displayName": "<script>alert(1)</script>",
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": "ann@x.test", "primary": true}],
    });
    let (s, ann) = call(&p, (Method::POST, "/scim/v2/Users"), &scim, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED);
    let id = ann["id"].as_str().unwrap();
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Sales", "members": [{"value": id}]});
    let (s, g) = call(&p, (Method::POST, "/scim/v2/Groups"), &scim, Some(group)).await;
    assert_eq!(s, StatusCode::CREATED);
    let gid = g["id"].as_str().unwrap();

    // A user's History: every record, values escaped, a transaction alone.
    let r = p.get(&format!("/users/{id}/history"), &cookie).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    // Escaped (askama writes `<` as `&#60;`), never markup.
    let escaped = ["&lt;script&gt;alert(1)", "&#60;script&#62;alert(1)"];
    assert!(escaped.iter().any(|e| html.contains(e)) && !html.contains("<script>alert"));
    assert!(html.contains("aria-current=\"page\">History</a>"));
    assert!(html.contains("POST /scim/v2/Users → 201"), "{html}");
    assert!(
        html.contains("member added"),
        "the membership, from the user's side"
    );
    let records = d
        .history(
            &tenant,
            scimd_directory::audit::ResourceType::User,
            id,
            None,
            (0, 10),
        )
        .await
        .unwrap()
        .1;
    let txn = &records[0].txn;
    let one = p
        .page_text(&format!("/users/{id}/history?txn={txn}"), &cookie)
        .await;
    assert!(one.contains(&format!("Showing transaction <code>{txn}</code> only")));
    assert_eq!(
        p.get("/users/nope/history", &cookie).await.status(),
        StatusCode::NOT_FOUND
    );
    // A group's History, kept after the group is deleted.
    let html = p
        .page_text(&format!("/groups/{gid}/history"), &cookie)
        .await;
    assert!(html.contains("member added") && html.contains(&format!("/users/{id}")));
    let (s, _) = call(
        &p,
        (Method::DELETE, &format!("/scim/v2/Groups/{gid}")),
        &scim,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let r = p.get(&format!("/groups/{gid}/history"), &cookie).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("Deleted group") && html.contains("group deleted"));
    assert!(html.contains("group-delete-disables-members") || html.contains("member removed"));

    // The Audit page: filters and downloads.
    let html = p.page_text("/audit?action=token.create", &cookie).await;
    assert!(html.contains("<code>token.create</code>") && !html.contains("<code>signin</code>"));
    let html = p.page_text("/audit?action=nope", &cookie).await;
    assert!(html.contains("role=\"alert\">Unknown action"), "{html}");
    let r = p
        .get("/audit/export?format=csv&action=signin", &cookie)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header(&r, "content-type").starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    assert!(csv.starts_with("seq,time,txn,actor"), "{csv}");
    assert_eq!(
        csv.trim_end().split("\r\n").count(),
        3,
        "a header and 2 sign-ins: {csv}"
    );
    let r = p
        .get("/audit/export?format=jsonl&action=token.create", &cookie)
        .await;
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let lines = r.text().await.unwrap();
    assert!(lines
        .lines()
        .all(|l| l.contains("\"action\":\"token.create\"")));
    assert_eq!(
        lines.lines().count(),
        3,
        "the first start's token, entra and ops: {lines}"
    );
    // Signed out: to the sign-in page.
    for path in ["/audit", &format!("/users/{id}/history"), "/audit/export"] {
        let r = p.get(path, "").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
    }

    // The favicon: served to anyone, an ICO, linked from every page.
    let r = p.get("/favicon.ico", "").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/x-icon");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..4], &[0, 0, 1, 0]);
    assert!(p
        .page_text("/signin", "")
        .await
        .contains("<link rel=\"icon\" href=\"/favicon.ico\""));
    p.stop().await;
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
    // The refusal and the field's hint (its `title`, which the browser shows when the
    // `pattern` refuses a value) name the accepted form in the same words.
    let form =
        "expected a positive whole number followed by m (minutes), h (hours), d (days), e.g. 90d";
    let page = r.text().await.unwrap();
    assert!(page.contains(&format!("Expires in: {form}; got")), "{page}");
    assert!(
        page.contains(&format!("title=\"Expires in: {form};")),
        "{page}"
    );
    assert_eq!(token("soon", "10d").await.status(), StatusCode::CREATED);
    assert_eq!(token("later", "60d").await.status(), StatusCode::CREATED);
    assert_eq!(token("forever", "").await.status(), StatusCode::CREATED);
    // The dashboard and User Provisioning warn of the one within 30 days only.
    for path in ["/dashboard", "/admin/provisioning"] {
        let page = p.page_text(path, &cookie).await;
        assert!(page.contains("id=\"token-expiry\""), "{path}: {page}");
        assert!(page.contains("“soon” expires in 9 days"), "{path}: {page}");
        assert!(
            !page.contains("“later”") && !page.contains("“forever”"),
            "{path}"
        );
    }
}
