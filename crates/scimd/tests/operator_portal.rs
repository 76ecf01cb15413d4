//! The operator portal at `/operator/` (issue 15), against a real `scimd serve` over HTTP:
//! `scimd operator create` makes an operator (never with `--tenant`), who signs in there
//! (its password changed first), lists, creates, disables, enables and deletes tenants
//! with the forms of the tenants page; its sessions and a tenant's are signed out on each
//! other's portals, and the tenants pages exist nowhere else; `scimd operator
//! reset-password` and `unlock` act on an operator from the command line. On SQLite and (with
//! SCIMD_TEST_DATABASE_URL) PostgreSQL.

mod common;

use common::site::Site;
use common::{unique, Client, Server};
use reqwest::StatusCode;
use std::time::Duration;

/// What only this test does on a portal.
trait FirstSignIn {
    async fn sign_in_first_time(&self, username: &str, password: &str) -> (String, String);
}

impl FirstSignIn for Site {
    /// Signs in with a generated password, changes it, and returns the session's `Cookie`
    /// header and where the password change sent the browser.
    async fn sign_in_first_time(&self, username: &str, password: &str) -> (String, String) {
        let r = self.attempt(username, password).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        assert!(
            r.location
                .starts_with(&format!("{}/account/password?next=", self.prefix)),
            "{}",
            r.location
        );
        // Where sign-in sent the browser (without the portal's prefix).
        let password_page = r.location[self.prefix.len()..].to_string();
        let name = self.cookie_name("scimd_session");
        let id = r
            .cookie(&name)
            .unwrap_or_else(|| panic!("sign-in sets {name}: {:?}", r.set_cookies));
        let cookies = self.session(&id);
        // Before the change, the tenants page (or any page) sends to the password page.
        let r = self.get("/", &cookies).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let form = self.get(&password_page, &cookies).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.text);
        // The page says where the generated password came from: for an operator, `scimd
        // operator create`; for a tenant's first administrator, `scimd tenant create`.
        let said = if self.prefix == "/operator" {
            "scimd operator create"
        } else {
            "scimd tenant create"
        };
        assert!(form.text.contains(said), "{}", form.text);
        assert!(
            !form.text.contains("first-start-secrets.txt"),
            "{}",
            form.text
        );
        let new = format!("{}-Pw!", unique("long-enough-password"));
        let r = self
            .post(
                "/account/password",
                &cookies,
                &[
                    ("csrf", &form.csrf()),
                    // What the form carries (where sign-in meant to go), as a browser sends.
                    ("next", &form.field("next")),
                    ("current", password),
                    ("new", &new),
                    ("confirm", &new),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        (cookies, r.location)
    }
}

/// `scimd operator create USERNAME`: (username, password, portal URL) from its output.
fn create_operator(s: &Server, username: &str) -> (String, String) {
    let out = s.cli(&["operator", "create", username]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |label: &str| {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} in {stdout}"))
            .trim()
            .to_string()
    };
    assert_eq!(field("Username:"), username);
    (field("Password:"), field("Operator portal:"))
}

/// Waits (at most 3 s: the server remembered that there was no operator realm) until the
/// operator portal `op` is served after `scimd operator create`.
async fn until_served(op: &Site) {
    let served = common::eventually(Duration::from_secs(3), async || {
        op.get("/", "").await.status != StatusCode::NOT_FOUND
    })
    .await;
    assert!(
        served,
        "the operator portal is served after operator create"
    );
}

/// The SCIM client of a tenant's SCIM URL and token.
fn scim(url: &str, token: &str) -> Client {
    Client::new(url, Some(token))
}

#[tokio::test]
async fn an_operator_signs_in_and_creates_disables_enables_and_deletes_tenants() {
    let s = Server::start();
    let op = Site::operator(&s);

    // Before any operator: the operator portal says how to make one.
    let r = op.get("/", "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert!(r.text.contains("scimd operator create"), "{}", r.text);

    // Operators belong to no tenant.
    let out = s.cli(&["operator", "create", "ops", "--tenant", "default"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tenant"));
    // A --public-url that is not one: refused before anything is made.
    let out = s.cli(&["operator", "create", "ops", "--public-url", "not a url"]);
    assert_eq!(out.status.code(), Some(1));
    let r = op.get("/signin", "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "nothing was created");
    let realms = s.query("SELECT COUNT(*) FROM tenants WHERE slug = 'operator'");
    assert_eq!(realms.trim(), "0");

    let name = unique("ops");
    let (password, url) = create_operator(&s, &name);
    assert_eq!(url, format!("{}/operator/", s.base));
    // The same name again (ignoring case): a clear error, nothing made.
    let out = s.cli(&["operator", "create", &name.to_uppercase()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It is an operator, not an administrator of the root tenant.
    let r = Site::root(&s).get("/signin", "").await;
    assert_eq!(r.status, StatusCode::OK);

    // Signed out: the operator portal sends to its sign-in page, which names it (within a
    // second: the server remembered that there was no operator realm).
    until_served(&op).await;
    assert_eq!(op.redirect("/", "").await, "/operator/signin");
    let to = op.redirect("/tenants", "").await;
    assert_eq!(to, "/operator/signin?next=%2Ftenants");
    let form = op.get("/signin", "").await;
    assert!(form.text.contains("Sign in to the operator portal"));
    assert!(form.text.contains("action=\"/operator/signin\""));

    let (ops, to) = op.sign_in_first_time(&name, &password).await;
    assert!(ops.starts_with("scimd_session_operator="), "{ops}");
    assert_eq!(to, "/operator/tenants");
    let r = op.get("/", &ops).await;
    assert_eq!(r.location, "/operator/tenants");

    // The tenants page: the root tenant, the operator navigation only.
    let list = op.get("/tenants", &ops).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(
        list.text.contains("<small>Operator</small>"),
        "{}",
        list.text
    );
    assert!(list.text.contains("data-tenant=\"default\""));
    assert!(list.text.contains("href=\"/operator/audit\""));
    assert!(!list.text.contains("User Provisioning"), "{}", list.text);
    assert!(!list.text.contains("/dashboard"), "{}", list.text);
    assert!(!list.text.contains("data-tenant=\"operator\""));
    // The root tenant cannot be deleted: no Delete button for it.
    assert!(!list.text.contains("aria-label=\"Delete tenant default\""));
    // Only the operator's pages are served under /operator.
    for path in [
        "/users",
        "/dashboard",
        "/groups",
        "/admin/provisioning",
        "/log",
    ] {
        let r = op.get(path, &ops).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "/operator{path}");
    }
    let audit = op.get("/audit", &ops).await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);

    // A form without its CSRF token changes nothing.
    let slug = unique("acme").to_lowercase().replace('_', "-");
    let r = op
        .post("/tenants", &ops, &[("name", "Acme"), ("slug", &slug)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A bad slug: the page again, with what is wrong and the form kept.
    let csrf = list.csrf();
    // The tenants page's form that creates a tenant, with the page's CSRF token.
    let create_tenant = async |name: &str, slug: &str| {
        let fields = [("csrf", csrf.as_str()), ("name", name), ("slug", slug)];
        op.post("/tenants", &ops, &fields).await
    };
    let tenant_name = unique("Acme Corp");
    let r = create_tenant(&tenant_name, "Bad Slug!").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("id=\"tenant-error\""), "{}", r.text);
    assert!(r.text.contains(&format!("value=\"{tenant_name}\"")));

    // Created: its URLs and secrets shown once, not cached.
    let made = create_tenant(&tenant_name, &slug).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert_eq!(made.cache_control, "no-store");
    let scim_url = made.code("new-scim-url");
    assert_eq!(scim_url, format!("{}/t/{slug}/scim/v2", s.base));
    assert_eq!(made.code("new-portal-url"), format!("{}/t/{slug}/", s.base));
    assert_eq!(
        made.code("new-token-url"),
        format!("{}/t/{slug}/oauth/token", s.base)
    );
    let token = made.code("new-scim-token");
    let c = scim(&scim_url, &token);
    c.get("/Users").await.expect(200);
    let (admin, admin_password) = (
        made.code("new-admin-username"),
        made.code("new-admin-password"),
    );
    // Its slug again: a clash, shown with the form kept.
    let r = create_tenant("Another", &slug).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.text.contains("id=\"tenant-error\""));
    assert!(r.text.contains("value=\"Another\""));
    let list = op.get("/tenants", &ops).await;
    assert!(list.text.contains(&format!("data-tenant=\"{slug}\"")));

    // Its administrator's session is signed out on the operator portal, and the operator's
    // on the tenant's portal, whatever name the cookie is sent under.
    let tenant = Site::tenant(&s, &slug);
    let (admin_cookie, _) = tenant.sign_in_first_time(&admin, &admin_password).await;
    let admin_id = admin_cookie.split('=').nth(1).unwrap();
    let ops_id = ops.split('=').nth(1).unwrap();
    let r = op
        .get("/tenants", &format!("scimd_session_operator={admin_id}"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location.starts_with("/operator/signin"), "{}", r.location);
    let r = op.get("/tenants", &admin_cookie).await;
    assert!(r.location.starts_with("/operator/signin"), "{}", r.location);
    let r = tenant
        .get("/dashboard", &format!("scimd_session_{slug}={ops_id}"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location.starts_with(&format!("/t/{slug}/signin")));
    let r = tenant.get("/dashboard", &admin_cookie).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The tenants pages exist only on the operator portal.
    let r = tenant.get("/tenants", &admin_cookie).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = Site::root(&s).get("/tenants", "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The forms of the tenant's row, `/tenants/SLUG/ACTION`, sent by the operator with one
    // field besides the page's CSRF token.
    let tenant_form = async |action: &str, field: &str, value: &str| {
        let path = format!("/tenants/{slug}/{action}");
        op.post(&path, &ops, &[("csrf", &csrf), (field, value)])
            .await
    };
    // Disable: its SCIM answers 403; enable: 200 again.
    let r = tenant_form("state", "state", "disabled").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert!(r
        .location
        .starts_with("/operator/tenants?ok=tenant-disabled"));
    c.get("/Users").await.expect(403);
    let list = op.get("/tenants", &ops).await;
    assert!(list.text.contains("disabled"));
    assert!(list
        .text
        .contains(&format!("aria-label=\"Enable tenant {slug}\"")));
    let r = tenant_form("state", "state", "active").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    c.get("/Users").await.expect(200);

    // Delete: the wrong slug typed changes nothing; the right one deletes it.
    let form = op.get(&format!("/tenants/{slug}/delete"), &ops).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text);
    assert!(form.text.contains("name=\"confirm\""));
    let r = tenant_form("delete", "confirm", "not-the-slug").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("id=\"delete-error\""));
    c.get("/Users").await.expect(200);
    let r = tenant_form("delete", "confirm", &slug).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert!(r
        .location
        .starts_with("/operator/tenants?ok=tenant-deleting"));
    c.get("/Users").await.expect(404);
    let r = tenant.get("/signin", "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The root tenant cannot be deleted, even by a forged form.
    let r = op.get("/tenants/default/delete", &ops).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("cannot be deleted"), "{}", r.text);
    assert!(!r.text.contains("name=\"confirm\""));
    let r = op
        .post(
            "/tenants/default/delete",
            &ops,
            &[("csrf", &csrf), ("confirm", "default")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    s.client().get("/Users").await.expect(200);

    // The operator's actions are in the realm's audit record, shown on its audit page.
    let audit = op.get("/audit", &ops).await;
    assert!(audit.text.contains(&slug), "{}", audit.text);
    // tenant.create, tenant.disable, tenant.enable, tenant.delete, by the operator in the
    // portal.
    let actions = s.query(&format!(
        "SELECT COUNT(*) FROM changes c JOIN tenants t ON t.id = c.tenant_id \
         WHERE t.slug = 'operator' AND c.resource_id = '{slug}' AND c.source = 'portal' \
         AND c.actor_name = '{name}'"
    ));
    assert_eq!(actions.trim(), "4", "{actions}");
    // The operator's creation is there too (administrator.create, from the command line).
    let made = s.query(&format!(
        "SELECT COUNT(*) FROM changes c JOIN tenants t ON t.id = c.tenant_id \
         WHERE t.slug = 'operator' AND c.action = 'administrator.create' AND c.source = 'cli' \
         AND c.resource_name = '{name}'"
    ));
    assert_eq!(made.trim(), "1", "{made}");

    // Signing out ends the operator's session.
    let r = op.post("/signout", &ops, &[("csrf", &csrf)]).await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/operator/signin")
    );
    let r = op.get("/tenants", &ops).await;
    assert!(r.location.starts_with("/operator/signin"));
}

#[tokio::test]
async fn an_operators_password_is_reset_its_slow_down_ended_and_it_is_removed_from_the_command_line(
) {
    let s = Server::start();
    let op = Site::operator(&s);
    let refused = |args: &[&str], what: &str| {
        let out = s.cli(args);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(what), "{args:?}: {stderr}");
    };
    // Before any operator (no realm yet), and after, an unknown one is named.
    refused(
        &["operator", "reset-password", "nobody"],
        "no operator named 'nobody'",
    );
    let name = unique("ops");
    let (password, _) = create_operator(&s, &name);
    refused(
        &["operator", "unlock", "nobody"],
        "scimd operator create nobody",
    );
    // A tenant's administrator of the same name is not an operator.
    refused(
        &["operator", "reset-password", "admin"],
        "no operator named",
    );
    until_served(&op).await;
    let (cookies, _) = op.sign_in_first_time(&name, &password).await;
    assert_eq!(op.get("/tenants", &cookies).await.status, StatusCode::OK);

    // Failed sign-ins, then unlock: its throttling records are forgotten.
    for _ in 0..2 {
        let r = op.attempt(&name, "not the password").await;
        assert_ne!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    }
    let (_, stderr) = s.cli_ok(&["operator", "unlock", &name]);
    assert!(
        stderr.contains(&format!("unlocked operator '{name}'")) && !stderr.contains(": 0 "),
        "{stderr}"
    );

    // reset-password: the new password alone on stdout; the session ends; the old password
    // no longer signs in; the new one does, and must be changed first.
    let (stdout, _) = s.cli_ok(&["operator", "reset-password", &name]);
    let new = stdout.trim();
    assert!(
        !new.is_empty() && !new.contains(char::is_whitespace),
        "{stdout:?}"
    );
    let r = op.get("/tenants", &cookies).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "the session was ended");
    let r = op.attempt(&name, &password).await;
    assert_ne!(
        r.status,
        StatusCode::SEE_OTHER,
        "the old password: {}",
        r.text
    );
    let (cookies, _) = op.sign_in_first_time(&name, new).await;

    // Both are in the operator realm's audit record.
    for action in ["administrator.unlock", "administrator.reset-password"] {
        let r = op
            .get(
                &format!("/audit/export?format=jsonl&action={action}"),
                &cookies,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.text.lines().count(), 1, "{action}: {}", r.text);
        assert!(r.text.contains(&name), "{action}: {}", r.text);
    }

    // `operator list`: both operators, no password hash; a tenant's administrator is none.
    let other = unique("ops2");
    let (other_password, _) = create_operator(&s, &other);
    let (stdout, _) = s.cli_ok(&["operator", "list", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let names: Vec<&str> = listed["operators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, [name.as_str(), other.as_str()], "{stdout}");
    assert!(
        !stdout.contains("argon2") && !stdout.contains("\"admin\""),
        "{stdout}"
    );
    let (table, _) = s.cli_ok(&["operator", "list"]);
    assert!(
        table.starts_with("USERNAME") && table.contains(&other),
        "{table}"
    );

    // `operator remove`: its session ends at once, it no longer signs in, and the removal
    // is in the realm's audit record, with the sessions it ended.
    let (_, stderr) = s.cli_ok(&["operator", "remove", &name]);
    assert!(
        stderr.contains(&format!("removed operator '{name}': 1 session(s) ended")),
        "{stderr}"
    );
    assert!(!stderr.contains("no operator is left"), "{stderr}");
    let r = op.get("/tenants", &cookies).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "the session was ended");
    assert_ne!(op.attempt(&name, new).await.status, StatusCode::SEE_OTHER);
    refused(&["operator", "remove", &name], "no operator named");
    let (stdout, _) = s.cli_ok(&["operator", "list", "--json"]);
    assert!(!stdout.contains(&format!("\"{name}\"")), "{stdout}");
    let (cookies, _) = op.sign_in_first_time(&other, &other_password).await;
    let r = op
        .get(
            "/audit/export?format=jsonl&action=administrator.remove",
            &cookies,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.text.lines().count(), 1, "{}", r.text);
    assert!(
        r.text.contains(&name)
            && r.text
                .contains("1 session(s) ended; 1 administrator(s) left"),
        "{}",
        r.text
    );
    // The last one may go too, and the command says that none is left.
    let (_, stderr) = s.cli_ok(&["operator", "remove", &other]);
    assert!(stderr.contains("no operator is left"), "{stderr}");
}
