//! Each tenant's own portal at `/t/SLUG/` (issue 15), against real `scimd serve` processes
//! over HTTP: sign-in checks only that tenant's administrators, its cookies are named for it
//! (one browser holds sessions of several tenants at once), a session of another tenant is
//! signed out there, every page shows that tenant's data only and every link, form action
//! and redirect stays under its prefix; a disabled tenant's portal answers 403, an unknown
//! one 404, and `--root-tenant none` takes the root portal away. On SQLite and (with
//! SCIMD_TEST_DATABASE_URL) PostgreSQL.

mod common;

use common::site::{Page, Site};
use common::{unique, Client, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// `scimd tenant create --name NAME --slug SLUG --json`, parsed.
fn create_tenant(s: &Server, slug: &str) -> Value {
    let name = unique(&format!("Org {slug}"));
    let out = s.cli(&[
        "tenant", "create", "--name", &name, "--slug", slug, "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

impl Site {
    /// Signs in with a generated password and changes it to `new`: the `Cookie` header of
    /// the session.
    async fn sign_in_first_time(&self, username: &str, password: &str, new: &str) -> String {
        let r = self.attempt(username, password).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        // A generated password is changed first; the redirect stays on this portal.
        assert_eq!(
            r.location,
            format!("{}/account/password?next=%2Fdashboard", self.prefix)
        );
        let name = self.cookie_name("scimd_session");
        let id = r
            .cookie(&name)
            .unwrap_or_else(|| panic!("sign-in sets {name}: {:?}", r.set_cookies));
        let set = r.set_cookies.iter().find(|c| c.starts_with(&name)).unwrap();
        assert!(
            set.contains("Path=/;") && set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        assert_eq!(set.contains("Secure"), self.host, "{set}");
        // Only this portal's cookies are set.
        for c in &r.set_cookies {
            let n = c.split('=').next().unwrap();
            assert!(n.ends_with(&self.suffix), "{n} set on {}", self.prefix);
        }
        let cookies = self.session(&id);
        let form = self.get("/account/password", &cookies).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.text);
        // The page says where this portal's generated password came from.
        let (said, not) = if self.prefix.is_empty() {
            ("first-start-secrets.txt", "scimd tenant create")
        } else {
            ("scimd tenant create", "first-start-secrets.txt")
        };
        assert!(form.text.contains(said), "{}", form.text);
        assert!(!form.text.contains(not), "{}", form.text);
        let r = self
            .post(
                "/account/password",
                &cookies,
                &[
                    ("csrf", &form.csrf()),
                    ("next", "/dashboard"),
                    ("current", password),
                    ("new", new),
                    ("confirm", new),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        assert_eq!(r.location, format!("{}/dashboard", self.prefix));
        cookies
    }

    /// Signs in with `password` (no change needed): the `Cookie` header of the session.
    async fn sign_in(&self, username: &str, password: &str) -> String {
        let r = self.attempt(username, password).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        assert_eq!(r.location, format!("{}/dashboard", self.prefix));
        self.session(&r.cookie(&self.cookie_name("scimd_session")).unwrap())
    }
}

/// The URLs of a page's links, form actions, htmx requests and resources.
fn urls(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href", "action", "formaction", "hx-get", "hx-post", "src"] {
        let needle = format!(" {attr}=\"");
        let mut rest = html;
        while let Some(at) = rest.find(&needle) {
            rest = &rest[at + needle.len()..];
            let end = rest.find('"').unwrap();
            out.push(rest[..end].replace("&#x2f;", "/").replace("&#47;", "/"));
            rest = &rest[end..];
        }
    }
    out
}

/// Asserts that every URL of `html` (the page `what`) is a page of the portal under
/// `prefix`, a fragment of the page, or one of the assets every portal shares.
fn assert_links_stay(what: &str, html: &str, prefix: &str) {
    let found = urls(html);
    assert!(!found.is_empty(), "{what}: no links found");
    for u in found {
        let ok = u.starts_with(&format!("{prefix}/"))
            || u.starts_with('#')
            || u.starts_with("/assets/")
            || u == "/favicon.ico";
        assert!(ok, "{what} links to {u}, outside {prefix}/");
    }
}

/// A user of SCIM client `c` named `name`; its id.
async fn scim_user(c: &Client, name: &str) -> String {
    let r = c
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
                "name": {"givenName": "G", "familyName": "F"},
                "emails": [{"value": format!("{name}@example.com"), "primary": true}]}),
        )
        .await;
    r.expect(201);
    r.id()
}

/// GETs `path` of `site` until it answers `status`, for up to 5 seconds (the server sees
/// what the CLI changed within a second or so); that answer, if it came.
async fn answering(site: &Site, path: &str, status: StatusCode) -> Option<Page> {
    for _ in 0..50 {
        let r = site.get(path, "").await;
        if r.status == status {
            return Some(r);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// How many groups SCIM client `c` finds named `name`.
async fn groups_named(c: &Client, name: &str) -> u64 {
    let filter = format!("/Groups?filter=displayName%20eq%20%22{name}%22");
    c.get(&filter).await.total()
}

/// The id in a redirect to `prefix` followed by the id (and maybe a query string); panics
/// when `location` is not under `prefix`.
fn id_in(location: &str, prefix: &str) -> String {
    let rest = location
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{location} is not under {prefix}"));
    rest.split('?').next().unwrap().to_string()
}

#[tokio::test]
async fn each_tenant_signs_in_to_its_own_portal_and_sees_only_its_own_data() {
    let s = Server::start();
    let ta = create_tenant(&s, "a");
    let tb = create_tenant(&s, "b");
    assert_eq!(tb["portalUrl"], json!(format!("{}/t/b/", s.base)));
    let (a, b, root) = (Site::tenant(&s, "a"), Site::tenant(&s, "b"), Site::root(&s));
    let scim = |t: &Value| Client::new(t["scimUrl"].as_str().unwrap(), t["scimToken"].as_str());
    // The same userName in both tenants, and one of each only.
    let shared = unique("shared");
    let (only_a, only_b) = (unique("only-a"), unique("only-b"));
    let _ = scim_user(&scim(&ta), &shared).await;
    let a_user = scim_user(&scim(&ta), &only_a).await;
    let b_shared = scim_user(&scim(&tb), &shared).await;
    let b_user = scim_user(&scim(&tb), &only_b).await;

    // Before sign-in: B's portal sends to B's sign-in page, which comes back to the page.
    assert_eq!(b.redirect("/", "").await, "/t/b/signin");
    let to = b.redirect("/users?q=x", "").await;
    assert_eq!(to, "/t/b/signin?next=%2Fusers%3Fq%3Dx");
    let form = b.get("/signin", "").await;
    assert_links_stay("B's sign-in page", &form.text, "/t/b");
    // It names the tenant, and the command that resets one of its passwords.
    let name_b = tb["name"].as_str().unwrap();
    assert!(
        form.text.contains(&format!("Sign in to {name_b}")),
        "{}",
        form.text
    );
    assert!(
        form.text.contains("reset-password --tenant b "),
        "{}",
        form.text
    );

    // Both tenants' first administrators are named "admin": on B, only B's password works
    // (A's admin cannot sign in there), and the refusal sets no session.
    let (user_a, pass_a) = (
        ta["adminUsername"].as_str().unwrap(),
        ta["adminPassword"].as_str().unwrap(),
    );
    let (user_b, pass_b) = (
        tb["adminUsername"].as_str().unwrap(),
        tb["adminPassword"].as_str().unwrap(),
    );
    assert_eq!(user_a, user_b);
    let r = b.attempt(user_a, pass_a).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(r.cookie("scimd_session_b").is_none());
    assert_links_stay("B's refused sign-in", &r.text, "/t/b");
    let new_a = format!("{}-A!", unique("pw-a-long-enough"));
    let new_b = format!("{}-B!", unique("pw-b-long-enough"));
    let cookie_b = b.sign_in_first_time(user_b, pass_b, &new_b).await;
    let cookie_a = a.sign_in_first_time(user_a, pass_a, &new_a).await;
    // A's new password is A's only.
    let r = b.attempt(user_a, &new_a).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);

    // One browser, two sessions: both cookies are sent everywhere, each portal takes its own.
    let both = format!("{cookie_a}; {cookie_b}");
    let home = b.get("/", &both).await;
    assert_eq!(home.location, "/t/b/dashboard");
    let dash_b = b.get("/dashboard", &both).await;
    let dash_a = a.get("/dashboard", &both).await;
    assert_eq!(dash_b.status, StatusCode::OK, "{}", dash_b.text);
    assert_eq!(dash_a.status, StatusCode::OK, "{}", dash_a.text);
    assert!(dash_b.text.contains(&format!("{}/t/b/scim/v2", s.base)));
    assert!(dash_a.text.contains(&format!("{}/t/a/scim/v2", s.base)));
    assert!(!dash_b.text.contains("/t/a/"), "{}", dash_b.text);
    // Each tab says which tenant it is.
    assert!(dash_b.text.contains(&format!("<small>{name_b}</small>")));
    let name_a = ta["name"].as_str().unwrap();
    assert!(dash_a.text.contains(&format!("<small>{name_a}</small>")));
    // The root portal holds neither session.
    let r = root.get("/dashboard", &both).await;
    assert_eq!(r.location, "/signin?next=%2Fdashboard");

    // B's pages show B's data only.
    let users = b.get("/users", &cookie_b).await;
    assert_eq!(users.status, StatusCode::OK);
    assert!(users.text.contains(&only_b) && users.text.contains(&shared));
    assert!(!users.text.contains(&only_a), "{}", users.text);
    let r = b.get(&format!("/users/{a_user}"), &cookie_b).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = b.get(&format!("/users/{b_user}"), &cookie_b).await;
    assert!(r.status == StatusCode::OK && r.text.contains(&only_b));

    // A form on B's portal: the redirect stays on it, the change is B's.
    let groups = b.get("/groups", &cookie_b).await;
    let csrf_b = groups.csrf();
    // Sends a form of B's portal with B's session and its CSRF token, asserting 303; where
    // it sends the browser.
    let submit_b = async |path: &str, fields: &[(&str, &str)]| {
        let mut form = vec![("csrf", csrf_b.as_str())];
        form.extend_from_slice(fields);
        let r = b.post(path, &cookie_b, &form).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}: {}", r.text);
        r.location
    };
    let group = unique("grp");
    let to = submit_b("/groups", &[("displayName", &group)]).await;
    let gid = id_in(&to, "/t/b/groups/");
    assert_eq!(groups_named(&scim(&tb), &group).await, 1);
    assert_eq!(groups_named(&scim(&ta), &group).await, 0);
    let to = submit_b(&format!("/groups/{gid}/members"), &[("member", &only_b)]).await;
    assert!(to.starts_with(&format!("/t/b/groups/{gid}")), "{to}");

    // A local user made through B's portal (deletable there: disabled first).
    let local = unique("local");
    let email = format!("{local}@example.com");
    let fields = [
        ("userName", local.as_str()),
        ("givenName", "L"),
        ("familyName", "U"),
        ("email", &email),
        ("displayName", "L U"),
    ];
    let local_id = id_in(&submit_b("/users", &fields).await, "/t/b/users/");
    let to = submit_b(&format!("/users/{local_id}/active"), &[("active", "false")]).await;
    assert!(to.starts_with(&format!("/t/b/users/{local_id}")), "{to}");

    // Every link, form action and htmx request of B's pages stays under /t/b/.
    let pages = [
        "/dashboard".to_string(),
        "/admin/provisioning".into(),
        "/admin/provisioning/settings".into(),
        "/admin/attributes".into(),
        "/users".into(),
        "/users/new".into(),
        format!("/users/{b_user}"),
        format!("/users/{b_user}/attributes"),
        format!("/users/{b_user}/groups"),
        format!("/users/{b_user}/history"),
        format!("/users/{b_shared}"),
        format!("/users/{local_id}/delete"),
        format!("/users/{local_id}/soft-delete"),
        "/groups".into(),
        format!("/groups/{gid}"),
        format!("/groups/{gid}/history"),
        format!("/groups/{gid}/delete"),
        "/log".into(),
        "/audit".into(),
        "/account/password".into(),
        "/no-such-page".into(),
    ];
    for p in &pages {
        let r = b.get(p, &cookie_b).await;
        if p == "/no-such-page" {
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{p}");
            continue;
        }
        assert_eq!(r.status, StatusCode::OK, "{p}: {}", r.text);
        assert_links_stay(&format!("B's {p}"), &r.text, "/t/b");
        assert!(!r.text.contains(&only_a), "B's {p} shows A's user");
    }
    // B's audit record keeps the sign-in with the path the browser posted to.
    let signins = b
        .get("/audit/export?format=jsonl&action=signin", &cookie_b)
        .await;
    assert_eq!(signins.status, StatusCode::OK, "{}", signins.text);
    let paths: Vec<Value> = signins
        .text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["cause"]["path"].clone())
        .collect();
    assert!(
        !paths.is_empty() && paths.iter().all(|p| p == "/t/b/signin"),
        "{}",
        signins.text
    );
    // The User Provisioning page gives B's own URLs to its identity provider.
    let prov = b.get("/admin/provisioning", &cookie_b).await;
    assert!(prov.text.contains(&format!("{}/t/b/scim/v2<", s.base)));
    assert!(prov.text.contains(&format!("{}/t/b/oauth/token<", s.base)));

    // A's session on B's portal (under B's cookie name) is signed out there: a page goes
    // to the sign-in page, a form is refused and changes nothing.
    let a_id = cookie_a.split_once('=').unwrap().1;
    let stolen = b.session(a_id);
    let r = b.get("/", &stolen).await;
    assert_eq!(r.location, "/t/b/signin");
    let r = b.get("/dashboard", &stolen).await;
    assert_eq!(r.location, "/t/b/signin?next=%2Fdashboard");
    let a_groups = a.get("/groups", &cookie_a).await;
    let sneaky = unique("sneaky");
    let r = b
        .post(
            "/groups",
            &stolen,
            &[("csrf", &a_groups.csrf()), ("displayName", &sneaky)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_links_stay("B's signed-out page", &r.text, "/t/b");
    assert_eq!(groups_named(&scim(&tb), &sneaky).await, 0);
    assert_eq!(groups_named(&scim(&ta), &sneaky).await, 0);
    // ... and on the root portal under its name.
    let r = root.get("/dashboard", &root.session(a_id)).await;
    assert_eq!(r.location, "/signin?next=%2Fdashboard");

    // Signing out of B ends B's session only.
    let r = b.post("/signout", &both, &[("csrf", &dash_b.csrf())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location, "/t/b/signin");
    assert!(r
        .set_cookies
        .iter()
        .any(|c| c.starts_with("scimd_session_b=;")));
    let r = b.get("/dashboard", &both).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = a.get("/dashboard", &both).await;
    assert_eq!(r.status, StatusCode::OK);
    // B signs in again with its new password (no change asked).
    let again = b.sign_in(user_b, &new_b).await;
    assert_eq!(b.get("/dashboard", &again).await.status, StatusCode::OK);

    // The root portal is unchanged: its own cookie names, its own prefix-less links.
    let root_cookie = root
        .sign_in_first_time("admin", &s.admin_password, &new_a)
        .await;
    assert!(root_cookie.starts_with("scimd_session="));
    let r = root.get("/users", &root_cookie).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text.contains(&only_b) && !r.text.contains(&only_a));
    assert!(!r.text.contains("/t/"), "{}", r.text);
    assert!(r.text.contains("<small>directory</small>"));
}

/// `scimd --tenant SLUG admin ARGS` (with `--tenant` only when `slug` is given), asserting
/// its exit status: (stdout, stderr).
fn admin_cli(s: &Server, slug: Option<&str>, args: &[&str], ok: bool) -> (String, String) {
    let mut all = vec!["admin"];
    all.extend_from_slice(args);
    if let Some(slug) = slug {
        all.extend_from_slice(&["--tenant", slug]);
    }
    let out = s.cli(&all);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert_eq!(out.status.success(), ok, "scimd {all:?}: {stdout}{stderr}");
    (stdout, stderr)
}

/// The usernames `scimd admin list --json` lists for the tenant `slug` (the root's: None).
fn admins_of(s: &Server, slug: Option<&str>) -> Vec<String> {
    let (stdout, _) = admin_cli(s, slug, &["list", "--json"], true);
    assert!(!stdout.contains("argon2"), "no password hash: {stdout}");
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    listed["administrators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_administrator_removed_from_the_command_line_is_signed_out_at_once_in_its_tenant_only() {
    let s = Server::start();
    create_tenant(&s, "rm-b");
    let b = Site::tenant(&s, "rm-b");
    // An administrator named "ops" in the root tenant and in B.
    let ops = unique("ops");
    let (root_password, _) = admin_cli(&s, None, &["create", "--username", &ops], true);
    // (Every admin subcommand takes the username either way, never both.)
    let (b_password, _) = admin_cli(&s, Some("rm-b"), &["create", &ops], true);
    let both = s.cli(&[
        "admin",
        "create",
        "x",
        "--username",
        "y",
        "--tenant",
        "rm-b",
    ]);
    assert_eq!(both.status.code(), Some(2));
    assert_ne!(root_password, b_password);
    assert_eq!(admins_of(&s, Some("rm-b")), ["admin", ops.as_str()]);
    let (table, _) = admin_cli(&s, Some("rm-b"), &["list"], true);
    let header: Vec<&str> = table.lines().next().unwrap().split("  ").collect();
    let header: Vec<&str> = header
        .iter()
        .map(|h| h.trim())
        .filter(|h| !h.is_empty())
        .collect();
    let columns = [
        "USERNAME",
        "CREATED",
        "PASSWORD CHANGED",
        "MUST CHANGE PASSWORD",
    ];
    assert_eq!(header, columns, "{table}");
    let row = table.lines().find(|l| l.starts_with(&ops)).unwrap();
    assert!(
        row.ends_with("  yes"),
        "a new one must change its password: {table}"
    );
    let session = b
        .sign_in_first_time(&ops, b_password.trim(), "a new password for ops")
        .await;
    assert_eq!(b.get("/dashboard", &session).await.status, StatusCode::OK);

    // Removed (by any case of its name): its session ends at once, it no longer signs in,
    // and the root tenant's "ops" is untouched.
    let (_, stderr) = admin_cli(&s, Some("rm-b"), &["remove", &ops.to_uppercase()], true);
    assert!(
        stderr.contains(&format!(
            "removed administrator '{ops}': 1 session(s) ended"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("is left"), "{stderr}");
    let r = b.get("/dashboard", &session).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "the session ended");
    assert!(r.location.starts_with("/t/rm-b/signin"), "{}", r.location);
    let r = b.attempt(&ops, "a new password for ops").await;
    assert_ne!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(admins_of(&s, Some("rm-b")), ["admin"]);
    assert!(
        admins_of(&s, None).contains(&ops),
        "the root tenant's ops stays"
    );
    let (_, stderr) = admin_cli(&s, Some("rm-b"), &["remove", &ops], false);
    assert!(
        stderr.contains(&format!("no administrator named '{ops}'")),
        "{stderr}"
    );

    // In B's audit record, with what it ended; not in the root tenant's.
    let audit = |slug: Option<&str>| {
        let mut args = vec![
            "token",
            "create",
            "--name",
            "audit-reader",
            "--scope",
            "admin",
        ];
        if let Some(slug) = slug {
            args.extend_from_slice(&["--tenant", slug]);
        }
        let out = s.cli(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
        let prefix = slug.map(|t| format!("/t/{t}")).unwrap_or_default();
        Client::new(&format!("{}{prefix}/api/v1", s.base), Some(&secret))
    };
    let removals = audit(Some("rm-b"))
        .get("/audit?action=administrator.remove")
        .await;
    assert_eq!(removals.status, 200, "{}", removals.text);
    let records = removals.json()["Resources"].as_array().unwrap().clone();
    assert_eq!(records.len(), 1, "{}", removals.text);
    assert_eq!(records[0]["source"], "cli");
    assert_eq!(records[0]["target"]["name"], json!(ops));
    assert_eq!(
        records[0]["detail"],
        "1 session(s) ended; 1 administrator(s) left"
    );
    let root = audit(None).get("/audit?action=administrator.remove").await;
    assert_eq!(root.json()["totalResults"], 0, "{}", root.text);

    // The last administrator may be removed too; the command says none is left.
    let (_, stderr) = admin_cli(&s, Some("rm-b"), &["remove", "admin"], true);
    assert!(stderr.contains("no administrator is left"), "{stderr}");
    assert!(admins_of(&s, Some("rm-b")).is_empty());
}

#[tokio::test]
async fn tenant_create_prints_the_portal_url_in_its_text_form_too() {
    let s = Server::start();
    let out = s.cli(&[
        "tenant",
        "create",
        "--name",
        &unique("Text form"),
        "--slug",
        "txt",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("Portal:"))
        .unwrap_or_else(|| panic!("no Portal line: {text}"));
    let url = line.trim_start().trim_start_matches("Portal:").trim();
    assert_eq!(url, format!("{}/t/txt/", s.base));
    // It is the portal: it answers with the tenant's sign-in page.
    let r = s.http().get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.url().path() == "/t/txt/signin", "{}", r.url());
}

#[tokio::test]
async fn disabled_and_unknown_tenants_have_no_portal() {
    let s = Server::start();
    let tc = create_tenant(&s, "c");
    let c = Site::tenant(&s, "c");
    assert_eq!(c.get("/signin", "").await.status, StatusCode::OK);
    let out = s.cli(&["tenant", "disable", "c"]);
    assert!(out.status.success());
    let user = tc["adminUsername"].as_str().unwrap();
    let pass = tc["adminPassword"].as_str().unwrap();
    // The CLI changed the file: the server sees it within a second or so.
    let r = answering(&c, "/signin", StatusCode::FORBIDDEN)
        .await
        .expect("a disabled tenant's portal answers 403");
    assert!(r.text.contains("disabled"), "{}", r.text);
    assert!(r.text.contains("<html"), "an HTML page: {}", r.text);
    for p in ["/", "/dashboard", "/users"] {
        let r = c.get(p, "").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{p}");
        assert!(r.text.contains("disabled"), "{p}: {}", r.text);
    }
    let r = c
        .post("/signin", "", &[("username", user), ("password", pass)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.cookie("scimd_session_c").is_none());
    // Unknown slugs, and paths that are not a tenant's portal: 404.
    let nope = Site::tenant(&s, "no-such-tenant");
    for p in ["/", "/signin", "/dashboard"] {
        assert_eq!(nope.get(p, "").await.status, StatusCode::NOT_FOUND, "{p}");
    }
    let r = nope.get("/signin", "").await;
    assert!(r.text.contains("no tenant"), "{}", r.text);
    // Those pages are rendered outside the portal's router, with its security headers.
    for (path, status) in [("/t/no-such-tenant/signin", 404), ("/t/c/signin", 403)] {
        let r = s
            .http()
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
    }
    let b = Site::tenant(&s, "c");
    for p in ["/assets/portal.css", "/favicon.ico", "/healthz"] {
        assert_eq!(b.get(p, "").await.status, StatusCode::NOT_FOUND, "{p}");
    }
    // Enabled again, it answers; being deleted, 404.
    assert!(s.cli(&["tenant", "enable", "c"]).status.success());
    let ok = answering(&c, "/signin", StatusCode::OK).await;
    assert!(ok.is_some(), "enabled again");
    assert!(s
        .cli(&["tenant", "delete", "c", "--confirm"])
        .status
        .success());
    let gone = answering(&c, "/signin", StatusCode::NOT_FOUND).await;
    assert!(gone.is_some(), "a deleted tenant's portal answers 404");
}

#[tokio::test]
async fn without_a_root_tenant_only_the_tenants_paths_have_a_portal() {
    let s = Server::start_args(&["--root-tenant", "none"]);
    let root = Site::root(&s);
    for p in ["/", "/signin", "/dashboard", "/users"] {
        let r = root.get(p, "").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{p}");
    }
    // The assets every portal links stay served at the root.
    for p in ["/assets/portal.css", "/assets/htmx.min.js", "/favicon.ico"] {
        assert_eq!(root.get(p, "").await.status, StatusCode::OK, "{p}");
    }
    // The first start's tenant is on its own path, portal included.
    let d = Site::tenant(&s, "default");
    let cookie = d
        .sign_in_first_time("admin", &s.admin_password, "a-password-of-my-own-1")
        .await;
    let dash = d.get("/dashboard", &cookie).await;
    assert_eq!(dash.status, StatusCode::OK);
    assert_links_stay("default's dashboard", &dash.text, "/t/default");
}

#[tokio::test]
async fn the_sign_in_slow_down_of_a_username_counts_per_tenant() {
    let s = Server::start();
    let ta = create_tenant(&s, "a");
    let _tb = create_tenant(&s, "b");
    let (a, b) = (Site::tenant(&s, "a"), Site::tenant(&s, "b"));
    // Both tenants have an administrator `admin`: B's is slowed down by failures on B ...
    for i in 0..5 {
        let r = b.attempt("admin", &format!("wrong password {i}")).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "attempt {i}: {}",
            r.text
        );
    }
    let r = b.attempt("admin", "wrong password again").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(r.text.contains("for this username"), "{}", r.text);
    assert_links_stay("B's throttled sign-in", &r.text, "/t/b");
    // ... and A's, the same username on another tenant, is not.
    let r = a
        .attempt("admin", ta["adminPassword"].as_str().unwrap())
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert!(r.cookie("scimd_session_a").is_some());
}

#[tokio::test]
async fn behind_https_a_tenants_cookies_are_host_cookies_of_its_own() {
    // The public URL is HTTPS (a TLS proxy in front): cookies get `__Host-` and `Secure`.
    let s = Server::start_args(&["--public-url", "https://scim.example.test/"]);
    let tb = create_tenant(&s, "b");
    assert_eq!(tb["portalUrl"], json!("https://scim.example.test/t/b/"));
    let mut b = Site::tenant(&s, "b");
    b.host = true;
    let mut root = Site::root(&s);
    root.host = true;
    let user = tb["adminUsername"].as_str().unwrap();
    let cookie_b = b
        .sign_in_first_time(
            user,
            tb["adminPassword"].as_str().unwrap(),
            "b-password-of-its-own",
        )
        .await;
    assert!(
        cookie_b.starts_with("__Host-scimd_session_b="),
        "{cookie_b}"
    );
    let cookie_root = root
        .sign_in_first_time("admin", &s.admin_password, "root-password-of-its-own")
        .await;
    assert!(
        cookie_root.starts_with("__Host-scimd_session="),
        "{cookie_root}"
    );
    let both = format!("{cookie_root}; {cookie_b}");
    let dash = b.get("/dashboard", &both).await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(dash.text.contains("https://scim.example.test/t/b/scim/v2<"));
    assert_links_stay("B's dashboard", &dash.text, "/t/b");
    assert_eq!(root.get("/dashboard", &both).await.status, StatusCode::OK);
    // B's session under the root portal's name is not the root's.
    let b_id = cookie_b.split_once('=').unwrap().1;
    let r = root.get("/dashboard", &root.session(b_id)).await;
    assert_eq!(r.location, "/signin?next=%2Fdashboard");
}
