//! The product's provisioning rules (issue 3, `docs/provisioning-rules.md`), driven over HTTP
//! against a running scimd the way Microsoft Entra ID provisions, and checked through both
//! SCIM (`/scim/v2`) and the admin API (`/api/v1`).
//!
//! - One test (or more) per numbered rule 1–12, the built-in All Users group, custom
//!   attributes (registration, discovery, every value shape, wrong types, unregistered
//!   values, the custom schema URN setting, deletion), the enterprise extension, and the
//!   provisioning log (fields, outcomes, filters, paging, CSV / JSON Lines, no passwords).
//! - Tests that only read and write their own uniquely named users and groups share one
//!   server. Tests that change tenant settings, register custom attributes, count users of
//!   the tenant or count log entries start a server of their own.

mod common;

use common::*;
use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

/// Default URN of the tenant's custom-attribute extension.
const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:scimd:2.0:User";
/// The URN tenants migrating from an existing deployment already map in Entra ID.
const IVANTI: &str = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User";
/// A password that must never show up in the provisioning log or its exports.
const PASSWORD: &str = "S3cret-Value!";

// ------------------------------------------------------------------------- harness

/// Creates a token on the server's database with the CLI and returns its secret.
fn create_token(srv: &Server, name: &str, scope: &str) -> String {
    let out = srv.cli(&["token", "create", "--name", name, "--scope", scope]);
    assert!(
        out.status.success(),
        "scimd token create --name {name} --scope {scope}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        secret.len() == 70 && secret.starts_with("scimd_"),
        "token create prints the secret, scimd_ and 64 hex characters: {secret:?}"
    );
    secret
}

/// A client of the admin API `/api/v1` (JSON bodies sent as `application/json`).
struct Admin {
    c: Client,
}

impl Admin {
    fn new(srv: &Server, token: &str) -> Admin {
        Admin {
            c: Client::new(&format!("{}/api/v1", srv.base), Some(token)),
        }
    }

    async fn get(&self, path: &str) -> Resp {
        self.c.get(path).await
    }

    async fn delete(&self, path: &str) -> Resp {
        self.c.delete(path).await
    }

    async fn send_json(&self, m: Method, path: &str, body: &Value) -> Resp {
        let rb = self
            .c
            .req(m, path)
            .header(CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(body).unwrap());
        self.c.send(rb).await
    }

    async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send_json(Method::POST, path, body).await
    }

    async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send_json(Method::PATCH, path, body).await
    }

    /// `GET /api/v1/users/{id}`: 200 and the user object.
    async fn user(&self, id: &str) -> Value {
        let r = self.get(&format!("/users/{id}")).await;
        assert_eq!(r.status, 200, "GET /api/v1/users/{id}: {}", r.text);
        r.body.unwrap()
    }

    /// `GET /api/v1/users?<query>` → (total, users).
    async fn users(&self, query: &str) -> (u64, Vec<Value>) {
        let r = self.get(&format!("/users?{query}")).await;
        assert_eq!(r.status, 200, "GET /api/v1/users?{query}: {}", r.text);
        (total(r.json()), items(r.json()))
    }

    /// `GET /api/v1/groups/{id}`: 200 and the group object (with its members).
    async fn group(&self, id: &str) -> Value {
        let r = self.get(&format!("/groups/{id}?count=500")).await;
        assert_eq!(r.status, 200, "GET /api/v1/groups/{id}: {}", r.text);
        r.body.unwrap()
    }

    /// `GET /api/v1/groups` → the groups, in the order listed.
    async fn groups(&self) -> Vec<Value> {
        let r = self.get("/groups?count=500").await;
        assert_eq!(r.status, 200, "GET /api/v1/groups: {}", r.text);
        items(r.json())
    }

    /// Creates a local user through `POST /api/v1/users` (201).
    async fn create_user(&self, user_name: &str, extra: Value) -> Value {
        let mut body = json!({
            "userName": user_name,
            "name": {"givenName": "Local", "familyName": "Person"},
            "emails": [{"value": format!("{}@example.com", user_name.to_ascii_lowercase()), "type": "work", "primary": true}],
        });
        merge(&mut body, extra);
        let r = self.post("/users", &body).await;
        assert_eq!(r.status, 201, "POST /api/v1/users {user_name}: {}", r.text);
        r.body.unwrap()
    }

    /// Creates a local group through `POST /api/v1/groups` (201).
    async fn create_group(&self, display_name: &str) -> Value {
        let r = self
            .post("/groups", &json!({"displayName": display_name}))
            .await;
        assert_eq!(
            r.status, 201,
            "POST /api/v1/groups {display_name}: {}",
            r.text
        );
        r.body.unwrap()
    }

    /// `PATCH /api/v1/settings` (200) → the settings after the change.
    async fn settings(&self, patch: Value) -> Value {
        let r = self.patch("/settings", &patch).await;
        assert_eq!(r.status, 200, "PATCH /api/v1/settings {patch}: {}", r.text);
        r.body.unwrap()
    }

    /// Registers a custom attribute (201).
    async fn create_attribute(&self, name: &str, ty: Option<&str>) -> Value {
        let body = match ty {
            Some(t) => json!({"name": name, "type": t}),
            None => json!({"name": name}),
        };
        let r = self.post("/attributes", &body).await;
        assert_eq!(r.status, 201, "POST /api/v1/attributes {body}: {}", r.text);
        r.body.unwrap()
    }

    /// `GET /api/v1/provisioning-log?<query>` → (total, entries newest first).
    async fn log(&self, query: &str) -> (u64, Vec<Value>) {
        let r = self.get(&format!("/provisioning-log?{query}")).await;
        assert_eq!(
            r.status, 200,
            "GET /api/v1/provisioning-log?{query}: {}",
            r.text
        );
        (total(r.json()), items(r.json()))
    }

    /// The newest provisioning-log entry that mentions `id`.
    async fn latest(&self, id: &str) -> Value {
        let (_, entries) = self.log(&format!("text={}", enc(id))).await;
        entries.into_iter().next().expect("a log entry")
    }
}

/// The array of an admin listing (a bare array, or the array under the listing's key).
fn items(v: &Value) -> Vec<Value> {
    if let Some(a) = v.as_array() {
        return a.clone();
    }
    for k in [
        "Resources",
        "items",
        "users",
        "groups",
        "attributes",
        "entries",
        "members",
        "data",
        "results",
    ] {
        if let Some(a) = v.get(k).and_then(Value::as_array) {
            return a.clone();
        }
    }
    panic!("no list in admin response: {v}");
}

/// The total of an admin listing.
fn total(v: &Value) -> u64 {
    v.get("totalResults")
        .or_else(|| v.get("total"))
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no totalResults in admin listing: {v}"))
}

/// Asserts an admin API error `{"error": {"status": .., "message": ..}}`; returns the message.
#[track_caller]
fn admin_error(r: &Resp, status: u16) -> String {
    assert_eq!(r.status, status, "unexpected status; body: {}", r.text);
    let e = &r.json()["error"];
    let st = e["status"]
        .as_u64()
        .or_else(|| e["status"].as_str().and_then(|s| s.parse().ok()));
    assert_eq!(st, Some(status as u64), "error.status: {}", r.text);
    let m = e["message"].as_str().unwrap_or_default().to_string();
    assert!(
        !m.trim().is_empty(),
        "error.message must say what to do: {}",
        r.text
    );
    m
}

/// One server, its SCIM client (bootstrap token) and an admin client.
struct Env {
    own: Option<Server>,
    scim: Client,
    admin: Admin,
}

impl Env {
    fn srv(&self) -> &Server {
        self.own.as_ref().unwrap_or_else(|| Server::shared())
    }

    /// How many users the admin API finds searching for `name` (`?search=`).
    async fn users_named(&self, name: &str) -> u64 {
        self.users_matching(name, "").await
    }

    /// How many users the admin API finds searching for `name` with the further query
    /// parameters `filters` (`&`-prefixed, such as `&source=local`).
    async fn users_matching(&self, name: &str, filters: &str) -> u64 {
        self.admin
            .users(&format!("search={}{filters}", enc(name)))
            .await
            .0
    }

    /// The provisioning-log entries that mention `id`, newest first.
    async fn log_of(&self, id: &str) -> Vec<Value> {
        self.admin.log(&format!("text={}", enc(id))).await.1
    }

    /// Asserts that no user is named `name`, over SCIM (`userName eq`) nor for
    /// administrators (a search): what a refused POST leaves.
    async fn assert_no_user_named(&self, name: &str) {
        let filter = format!("userName eq \"{name}\"");
        assert!(self.scim.filter_users(&filter).await.is_empty(), "{filter}");
        assert_eq!(
            self.users_named(name).await,
            0,
            "a refused POST creates no user"
        );
    }

    /// Asserts that user `id`'s custom-attribute values are `want`, over SCIM and for
    /// administrators.
    async fn assert_custom_values(&self, id: &str, want: Value) {
        assert_eq!(scim_user(&self.scim, id).await[CUSTOM], want, "over SCIM");
        assert_eq!(self.admin.user(id).await[CUSTOM], want, "admin API");
    }

    /// Asserts that user `id` has two provisioning-log entries, the newest a PATCH with a
    /// warning about `about`.
    async fn assert_patch_warned(&self, id: &str, about: &str) {
        let entries = self.log_of(id).await;
        assert_eq!(entries.len(), 2, "{entries:?}");
        assert_eq!(
            entries[0]["method"],
            json!("PATCH"),
            "newest first: {entries:?}"
        );
        assert_warns(&entries[0], about, "the newest entry");
    }

    /// Asserts that `GET /api/v1/settings` answers 200 with the tenant setting `key` at
    /// `want` (`why` says why it must be).
    async fn assert_setting(&self, key: &str, want: Value, why: &str) {
        let r = self.admin.get("/settings").await;
        assert_eq!(r.status, 200, "GET /api/v1/settings: {}", r.text);
        assert_eq!(r.json()[key], want, "{key}: {why}: {}", r.text);
    }

    /// Sets the tenant setting `key` to `value`; asserts that the PATCH answers with it and
    /// that `GET /settings` shows it afterwards.
    async fn change_setting(&self, key: &str, value: Value) {
        let st = self.admin.settings(json!({key: value})).await;
        assert_eq!(st[key], value, "{st}");
        self.assert_setting(key, value, "after the change").await;
    }

    /// Asserts that setting `key` to `bad` is refused (400, with a message) and that the
    /// setting is still `kept`.
    async fn assert_setting_refused(&self, key: &str, bad: Value, kept: Value) {
        let r = self.admin.patch("/settings", &json!({key: bad})).await;
        admin_error(&r, 400);
        let why = format!("after refusing {bad}");
        self.assert_setting(key, kept, &why).await;
    }
}

/// The server shared by the tests of this file (never has its settings changed nor custom
/// attributes registered).
fn shared() -> Env {
    static ADMIN: OnceLock<String> = OnceLock::new();
    let srv = Server::shared();
    let token = ADMIN.get_or_init(|| create_token(srv, "admin", "admin"));
    Env {
        own: None,
        scim: srv.client(),
        admin: Admin::new(srv, token),
    }
}

/// A server of the test's own, with an admin token named `admin`.
fn own() -> Env {
    let srv = Server::start();
    let token = create_token(&srv, "admin", "admin");
    let scim = srv.client();
    let admin = Admin::new(&srv, &token);
    Env {
        own: Some(srv),
        scim,
        admin,
    }
}

/// Asserts the refusal the rules give, 400 `invalidValue` (RFC 7644 §3.12); the response.
#[track_caller]
fn invalid(r: Resp) -> Resp {
    r.expect_error(400, Some("invalidValue"));
    r
}

/// Asserts that the detail of the error `r` mentions `word`, ignoring case (`why` says what
/// it must tell the client).
#[track_caller]
fn assert_detail_mentions(r: &Resp, word: &str, why: &str) {
    let detail = r.string("detail");
    assert!(detail.to_lowercase().contains(word), "{why}: {}", r.text);
}

/// Asserts that the provisioning-log `entry`'s warnings mention `about`.
#[track_caller]
fn assert_warns(entry: &Value, about: &str, why: &str) {
    assert!(
        entry["warnings"].to_string().contains(about),
        "{why}: no warning about {about} in {entry}"
    );
}

/// `PATCH path` with one `Replace` of `attr` by `value`, as Entra sends a change; asserts
/// 200 and returns the response.
async fn replace_ok(c: &Client, path: &str, attr: &str, value: Value) -> Resp {
    let r = c.patch_op(path, "Replace", attr, value).await;
    r.expect(200);
    r
}

/// `PATCH path` with these operations, asserting 200; the response.
async fn patch_ok(c: &Client, path: &str, ops: Value) -> Resp {
    let r = c.patch_ops(path, ops).await;
    r.expect(200);
    r
}

/// `POST /Users` of `body`, asserting 201 Created; the response.
async fn post_created(c: &Client, body: &Value) -> Resp {
    let r = c.post("/Users", body).await;
    r.expect(201);
    r
}

/// The body Entra ID posts for a user: work email, given and family name, active.
fn user_body(user_name: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"value": format!("{}@example.com", user_name.to_ascii_lowercase()), "type": "work", "primary": true}],
        "active": true,
    })
}

/// Creates a manager and a user named `unique(prefix)` reporting to it, with the values the
/// blank-value tests blank (title, nickName, displayName, the enterprise department) and
/// `more` merged over them; (userName, the user's id, the manager's id).
async fn managed_user(c: &Client, prefix: &str, more: Value) -> (String, String, String) {
    let boss = c
        .create_user_id(&unique(&format!("{prefix}boss")), json!({}))
        .await;
    let name = unique(prefix);
    let mut body = json!({
        "schemas": [USER, ENTERPRISE],
        "title": "Engineer",
        "nickName": "Nick",
        "displayName": "Display",
        ENTERPRISE: {"department": "Platform", "manager": {"value": boss}}
    });
    merge(&mut body, more);
    let id = c.create_user_id(&name, body).await;
    (name, id, boss)
}

/// `POST /Users` of a user named `user_name` with `values` under the extension `urn`,
/// asserting 201 Created; the response.
async fn post_with(c: &Client, user_name: &str, urn: &str, values: Value) -> Resp {
    let mut body = user_body(user_name);
    body[urn] = values;
    post_created(c, &body).await
}

/// `POST /Users` of `body` for the user `existing` (deprovisioned, or local): asserts 201
/// Created with that same user, its `id` and `meta.created` (`why` says how it comes back);
/// the response.
async fn post_same_user(c: &Client, body: &Value, existing: &Value, why: &str) -> Resp {
    let r = post_created(c, body).await;
    assert_eq!(r.id(), id_of(existing), "{why}");
    assert_eq!(
        r.json()["meta"]["created"],
        existing["meta"]["created"],
        "{why}: {}",
        r.text
    );
    r
}

/// [`replace_ok`] of the user `id`.
async fn replace_user(c: &Client, id: &str, attr: &str, value: Value) -> Resp {
    replace_ok(c, &format!("/Users/{id}"), attr, value).await
}

/// Creates a user named `unique(prefix)` for each of `prefixes`, one after the other (as
/// [`Client::create_user`]); their ids.
async fn new_users<const N: usize>(c: &Client, prefixes: [&str; N]) -> [String; N] {
    let mut ids = Vec::with_capacity(N);
    for p in prefixes {
        ids.push(c.create_user_id(&unique(p), json!({})).await);
    }
    ids.try_into().unwrap()
}

/// Creates a group named `name` whose members are the users `members`; its id.
async fn group_of(c: &Client, name: &str, members: &[&str]) -> String {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    id_of(&c.create_group(name, json!({"members": members})).await)
}

/// Renames group `gid` over SCIM, to `names[0]` by a PATCH operation `op` (its name is
/// case-insensitive) and to `names[1]` by a PUT: asserts that both are refused with 409
/// uniqueness, the PATCH's error naming the local group `local`.
async fn assert_group_rename_refused(
    c: &Client,
    gid: &str,
    op: &str,
    names: [&str; 2],
    local: &str,
) {
    let path = format!("/Groups/{gid}");
    let r = c.patch_op(&path, op, "displayName", json!(names[0])).await;
    r.expect_error(409, Some("uniqueness"));
    assert!(r.text.contains(local), "{}", r.text);
    let r = c
        .put(&path, &json!({"schemas": [GROUP], "displayName": names[1]}))
        .await;
    r.expect_error(409, Some("uniqueness"));
}

fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {v}"))
        .to_string()
}

/// `GET /scim/v2/Users/{id}`: 200 and the user.
async fn scim_user(c: &Client, id: &str) -> Value {
    let r = c.get(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 200, "GET /Users/{id}: {}", r.text);
    r.body.unwrap()
}

/// The ids of an admin user object's `groups` other than the built-in All Users group,
/// which every user's list starts with (issue 17).
fn admin_group_ids(u: &Value) -> BTreeSet<String> {
    let groups = u["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("admin user object must carry `groups` (an array): {u}"));
    assert_eq!(
        (&groups[0]["displayName"], &groups[0]["builtin"]),
        (&json!("All Users"), &json!(true)),
        "All Users comes first: {u}"
    );
    groups[1..]
        .iter()
        .map(|g| {
            assert!(
                g["displayName"].is_string() && g["builtin"] == json!(false),
                "groups entries are {{id, displayName, builtin}}: {u}"
            );
            g["id"].as_str().unwrap().to_string()
        })
        .collect()
}

/// The member ids of an admin group object.
fn admin_member_ids(g: &Value) -> BTreeSet<String> {
    g["members"]
        .as_array()
        .unwrap_or_else(|| panic!("admin group object must list `members`: {g}"))
        .iter()
        .map(|m| {
            m.get("id")
                .or_else(|| m.get("value"))
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("member without id: {g}"))
                .to_string()
        })
        .collect()
}

fn set_of(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// A resource without `meta` (which every write changes), for before/after comparisons.
fn without(v: &Value, keys: &[&str]) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        for k in keys {
            o.remove(*k);
        }
    }
    v
}

/// The schema `urn` in `/Schemas` as `c` sees it, if listed.
async fn published_schema(c: &Client, urn: &str) -> Option<Value> {
    let r = c.get_ok("/Schemas").await;
    r.resources().into_iter().find(|s| s["id"] == json!(urn))
}

/// `(name, type)` of a published schema's attributes, sorted.
fn attr_types(schema: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = schema["attributes"]
        .as_array()
        .unwrap_or_else(|| panic!("schema without attributes: {schema}"))
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The schema extensions of the User resource type in `/ResourceTypes`.
async fn user_extensions(c: &Client) -> Vec<Value> {
    let r = c.get_ok("/ResourceTypes").await;
    let user = r
        .resources()
        .into_iter()
        .find(|t| t["name"] == json!("User"))
        .unwrap_or_else(|| panic!("no User resource type: {}", r.text));
    user["schemaExtensions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn ext_urns(exts: &[Value]) -> BTreeSet<String> {
    exts.iter()
        .map(|e| e["schema"].as_str().unwrap().to_string())
        .collect()
}

// ------------------------------------------------------------------------- rule 1

#[tokio::test]
async fn rule1_email_is_mandatory_on_post() {
    let e = shared();
    let c = &e.scim;
    let name = unique("r1post");
    let mut body = user_body(&name);
    body.as_object_mut().unwrap().remove("emails");
    let r = invalid(c.post("/Users", &body).await);
    assert_detail_mentions(&r, "email", "the detail says an email is needed");
    // An email entry without a value, or an empty list, is no email either.
    body["emails"] = json!([{"value": "", "type": "work", "primary": true}]);
    invalid(c.post("/Users", &body).await);
    body["emails"] = json!([]);
    invalid(c.post("/Users", &body).await);
    // Nothing was created: not over SCIM, not for administrators.
    e.assert_no_user_named(&name).await;
}

#[tokio::test]
async fn rule1_email_is_mandatory_on_put() {
    let e = shared();
    let c = &e.scim;
    let name = unique("r1put");
    let u = c.create_user(&name, json!({"title": "Engineer"})).await;
    let id = id_of(&u);
    let mut body = user_body(&name);
    body.as_object_mut().unwrap().remove("emails");
    body["title"] = json!("Changed");
    invalid(c.put(&format!("/Users/{id}"), &body).await);
    // Nothing changed.
    let now = scim_user(c, &id).await;
    assert_eq!(now["title"], json!("Engineer"));
    assert_eq!(now["emails"], u["emails"]);
    assert_eq!(now["meta"]["version"], u["meta"]["version"]);
    let a = e.admin.user(&id).await;
    assert_eq!(a["title"], json!("Engineer"));
    assert_eq!(a["emails"], u["emails"]);
}

// ------------------------------------------------------------------------- rule 2

#[tokio::test]
async fn rule2_names_are_mandatory_on_post() {
    let e = shared();
    let c = &e.scim;
    let name = unique("r2post");
    let mut body = user_body(&name);
    body["name"] = json!({"familyName": "Family"});
    let r = invalid(c.post("/Users", &body).await);
    assert!(
        r.text.contains("givenName"),
        "the detail names givenName: {}",
        r.text
    );
    body["name"] = json!({"givenName": "Given", "familyName": "   "});
    let r = invalid(c.post("/Users", &body).await);
    assert!(
        r.text.contains("familyName"),
        "the detail names familyName: {}",
        r.text
    );
    body.as_object_mut().unwrap().remove("name");
    invalid(c.post("/Users", &body).await);
    e.assert_no_user_named(&name).await;
}

#[tokio::test]
async fn rule2_names_are_mandatory_on_put_and_patch_and_nothing_changes() {
    let e = shared();
    let c = &e.scim;
    let name = unique("r2upd");
    let u = c
        .create_user(&name, json!({"title": "Engineer", "displayName": "Before"}))
        .await;
    let id = id_of(&u);
    let path = format!("/Users/{id}");

    // PUT without a given name.
    let mut body = user_body(&name);
    body["name"] = json!({"familyName": "Family"});
    body["title"] = json!("Changed");
    invalid(c.put(&path, &body).await);

    // PATCHes: removing the family name, together with another change (all or nothing);
    // setting the given name to spaces only (not blank JSON, but a blank name); removing
    // the whole name.
    for ops in [
        json!([
            {"op": "Replace", "path": "title", "value": "Changed"},
            {"op": "Remove", "path": "name.familyName"}
        ]),
        json!([
            {"op": "Replace", "path": "displayName", "value": "After"},
            {"op": "Replace", "path": "name.givenName", "value": "   "}
        ]),
        json!([{"op": "Remove", "path": "name"}]),
    ] {
        invalid(c.patch_ops(&path, ops).await);
    }

    let now = scim_user(c, &id).await;
    assert_eq!(now["title"], json!("Engineer"));
    assert_eq!(now["displayName"], json!("Before"));
    assert_eq!(now["name"]["givenName"], json!("Given"));
    assert_eq!(now["name"]["familyName"], json!("Family"));
    assert_eq!(
        now["meta"]["version"], u["meta"]["version"],
        "nothing was written"
    );
    let a = e.admin.user(&id).await;
    assert_eq!(a["title"], json!("Engineer"));
    assert_eq!(a["name"]["familyName"], json!("Family"));
}

// ------------------------------------------------------------------------- rule 3

#[tokio::test]
async fn rule3_inactive_users_cannot_be_provisioned_unless_the_setting_is_off() {
    let e = own();
    let c = &e.scim;
    e.assert_setting("refuseInactiveCreate", json!(true), "on by default")
        .await;

    let name = unique("r3");
    let mut body = user_body(&name);
    body["active"] = json!(false);
    let r = invalid(c.post("/Users", &body).await);
    assert_detail_mentions(
        &r,
        "inactive",
        "the detail says inactive users cannot be provisioned",
    );
    // Entra's default dialect sends booleans as strings.
    body["active"] = json!("False");
    invalid(c.post("/Users", &body).await);
    e.assert_no_user_named(&name).await;

    // Turned off: the same POST creates an inactive user.
    e.change_setting("refuseInactiveCreate", json!(false)).await;
    let r = post_created(c, &body).await;
    assert_eq!(r.json()["active"], json!(false));
    let id = r.id();
    assert_eq!(scim_user(c, &id).await["active"], json!(false));
    let a = e.admin.user(&id).await;
    assert_eq!(a["state"], json!("inactive"));
    assert_eq!(a["source"], json!("scim"));

    // And on again.
    e.admin
        .settings(json!({"refuseInactiveCreate": true}))
        .await;
    let mut other = user_body(&unique("r3b"));
    other["active"] = json!(false);
    invalid(c.post("/Users", &other).await);
    // The rule is about creation: a PUT (or PATCH) may still disable an existing user.
    let other_name = unique("r3c");
    let oid = id_of(&c.create_user(&other_name, json!({})).await);
    let mut put = user_body(&other_name);
    put["active"] = json!(false);
    let r = c.put(&format!("/Users/{oid}"), &put).await;
    r.expect(200);
    assert_eq!(r.json()["active"], json!(false));
    assert_eq!(e.admin.user(&oid).await["state"], json!("inactive"));
    // A value of the wrong type is refused, and changes nothing.
    e.assert_setting_refused("refuseInactiveCreate", json!("maybe"), json!(true))
        .await;
}

// ------------------------------------------------------------------------- rule 4

#[tokio::test]
async fn rule4_blank_values_are_ignored_by_default() {
    let e = shared();
    let c = &e.scim;
    let (name, id, boss) = managed_user(c, "r4ign", json!({})).await;
    let path = format!("/Users/{id}");
    e.assert_setting("blankValuePolicy", json!("ignore"), "default policy")
        .await;

    let r = replace_ok(c, &path, "title", json!("")).await;
    assert_eq!(r.json()["title"], json!("Engineer"));
    let r = patch_ok(
        c,
        &path,
        json!([{"op": "Replace", "value": {"nickName": null, "displayName": ""}}]),
    )
    .await;
    assert_eq!(r.json()["nickName"], json!("Nick"));
    assert_eq!(r.json()["displayName"], json!("Display"));
    let r = replace_ok(c, &path, &format!("{ENTERPRISE}:department"), json!("")).await;
    assert_eq!(r.json()[ENTERPRISE]["department"], json!("Platform"));
    // A blank given name is not ignored: rule 2 holds whatever the policy (issue 14), so
    // the request is refused and changes nothing.
    let before = scim_user(c, &id).await;
    c.patch_ops(
        &path,
        json!([{"op": "Replace", "path": "name.givenName", "value": ""}]),
    )
    .await
    .expect_error(400, Some("invalidValue"));
    assert_eq!(scim_user(c, &id).await, before);

    // PUT with blanks keeps the stored values.
    let mut put = user_body(&name);
    put["schemas"] = json!([USER, ENTERPRISE]);
    put["title"] = json!("");
    put["nickName"] = json!(null);
    put["displayName"] = json!("Display");
    put[ENTERPRISE] = json!({"department": "", "manager": {"value": boss}});
    let r = c.put(&path, &put).await;
    r.expect(200);
    assert_eq!(r.json()["title"], json!("Engineer"));
    assert_eq!(r.json()["nickName"], json!("Nick"));
    assert_eq!(r.json()[ENTERPRISE]["department"], json!("Platform"));

    // An explicit remove takes effect.
    let r = patch_ok(c, &path, json!([{"op": "Remove", "path": "title"}])).await;
    assert!(r.json().get("title").is_none(), "{}", r.text);
    // So does an empty manager (how Entra ID unsets a manager).
    let r = replace_ok(c, &path, &format!("{ENTERPRISE}:manager"), json!("")).await;
    assert!(r.json()[ENTERPRISE].get("manager").is_none(), "{}", r.text);
    assert_eq!(r.json()[ENTERPRISE]["department"], json!("Platform"));

    let now = scim_user(c, &id).await;
    assert!(now.get("title").is_none());
    assert_eq!(now["nickName"], json!("Nick"));
    assert!(now[ENTERPRISE].get("manager").is_none());
    let a = e.admin.user(&id).await;
    assert!(a.get("title").is_none(), "{a}");
    assert_eq!(a["nickName"], json!("Nick"));
    assert_eq!(a[ENTERPRISE]["department"], json!("Platform"));
    assert!(a[ENTERPRISE].get("manager").is_none(), "{a}");
}

#[tokio::test]
async fn rule4_empty_manager_value_removes_the_manager_in_patch_and_put() {
    let e = shared();
    let c = &e.scim;
    let boss = c.create_user(&unique("r4mboss"), json!({})).await;
    let mgr = json!({"value": id_of(&boss)});
    let name = unique("r4mgr");
    let u = c
        .create_user(
            &name,
            json!({"schemas": [USER, ENTERPRISE], ENTERPRISE: {"department": "D", "manager": mgr}}),
        )
        .await;
    let id = id_of(&u);
    let path = format!("/Users/{id}");
    // PATCH with {"value": ""}.
    let r = replace_ok(
        c,
        &path,
        &format!("{ENTERPRISE}:manager"),
        json!({"value": ""}),
    )
    .await;
    assert!(r.json()[ENTERPRISE].get("manager").is_none(), "{}", r.text);
    // The other shapes of an empty manager, and an explicit remove, each after setting it again.
    for op in [
        json!({"op": "Replace", "path": format!("{ENTERPRISE}:manager"), "value": null}),
        json!({"op": "Replace", "value": {ENTERPRISE: {"manager": ""}}}),
        json!({"op": "Replace", "value": {format!("{ENTERPRISE}:manager"): {"value": ""}}}),
        json!({"op": "Remove", "path": format!("{ENTERPRISE}:manager")}),
    ] {
        let r = c
            .patch_op(
                &path,
                "Replace",
                &format!("{ENTERPRISE}:manager"),
                json!(id_of(&boss)),
            )
            .await;
        assert_eq!(
            r.json()[ENTERPRISE]["manager"]["value"],
            json!(id_of(&boss)),
            "{}",
            r.text
        );
        let r = patch_ok(c, &path, json!([op.clone()])).await;
        assert!(
            r.json()[ENTERPRISE].get("manager").is_none(),
            "{op} removes the manager: {}",
            r.text
        );
        assert_eq!(
            r.json()[ENTERPRISE]["department"],
            json!("D"),
            "{op}: {}",
            r.text
        );
    }
    // Back again, then a PUT whose manager is empty (ignore policy: other blanks are kept,
    // an empty manager is not).
    let r = replace_ok(
        c,
        &path,
        &format!("{ENTERPRISE}:manager"),
        json!(id_of(&boss)),
    )
    .await;
    assert_eq!(
        r.json()[ENTERPRISE]["manager"]["value"],
        json!(id_of(&boss))
    );
    let mut put = user_body(&name);
    put["schemas"] = json!([USER, ENTERPRISE]);
    put[ENTERPRISE] = json!({"department": "D", "manager": {"value": ""}});
    let r = c.put(&path, &put).await;
    r.expect(200);
    assert!(
        r.json()[ENTERPRISE].get("manager").is_none(),
        "an empty manager in a PUT removes the manager, whatever the blank-value policy: {}",
        r.text
    );
    assert!(e.admin.user(&id).await[ENTERPRISE].get("manager").is_none());
}

#[tokio::test]
async fn rule4_clear_policy_clears_blanks_but_rule2_wins() {
    let e = own();
    let c = &e.scim;
    e.change_setting("blankValuePolicy", json!("clear")).await;
    e.assert_setting_refused("blankValuePolicy", json!("sometimes"), json!("clear"))
        .await;

    let more = json!({"preferredLanguage": "en-US", ENTERPRISE: {"division": "Cloud"}});
    let (name, id, boss) = managed_user(c, "r4clr", more).await;
    let path = format!("/Users/{id}");

    let r = replace_ok(c, &path, "title", json!("")).await;
    assert!(
        r.json().get("title").is_none(),
        "clear: a blank clears: {}",
        r.text
    );
    let r = patch_ok(
        c,
        &path,
        json!([{"op": "Replace", "value": {"nickName": null}}]),
    )
    .await;
    assert!(r.json().get("nickName").is_none(), "{}", r.text);
    assert_eq!(r.json()["displayName"], json!("Display"));

    // Rule 2 wins: a blank given name is a 400, and the whole request changes nothing.
    let before = scim_user(c, &id).await;
    for ops in [
        json!([
            {"op": "Replace", "path": "displayName", "value": "Other"},
            {"op": "Replace", "path": "name.givenName", "value": ""}
        ]),
        json!([{"op": "Replace", "value": {"name": {"familyName": null}}}]),
    ] {
        invalid(c.patch_ops(&path, ops).await);
    }
    let mut put = user_body(&name);
    put["name"]["familyName"] = json!("");
    put["displayName"] = json!("Other");
    invalid(c.put(&path, &put).await);
    let after = scim_user(c, &id).await;
    assert_eq!(after, before, "refused writes change nothing");
    let a = e.admin.user(&id).await;
    assert_eq!(a["name"]["givenName"], json!("Given"));
    assert_eq!(a["displayName"], json!("Display"));

    // A PUT with blanks clears them.
    let mut put = user_body(&name);
    put["schemas"] = json!([USER, ENTERPRISE]);
    put["displayName"] = json!("Display");
    put["preferredLanguage"] = json!("");
    put[ENTERPRISE] = json!({"department": "", "division": "Cloud", "manager": {"value": boss}});
    let r = c.put(&path, &put).await;
    r.expect(200);
    assert!(r.json().get("preferredLanguage").is_none(), "{}", r.text);
    assert!(
        r.json()[ENTERPRISE].get("department").is_none(),
        "{}",
        r.text
    );
    assert_eq!(r.json()[ENTERPRISE]["division"], json!("Cloud"));

    // Explicit remove, empty manager.
    let r = patch_ok(c, &path, json!([{"op": "Remove", "path": "displayName"}])).await;
    assert!(r.json().get("displayName").is_none(), "{}", r.text);
    let r = replace_ok(c, &path, &format!("{ENTERPRISE}:manager"), json!("")).await;
    assert!(r.json()[ENTERPRISE].get("manager").is_none(), "{}", r.text);

    let a = e.admin.user(&id).await;
    for k in ["title", "nickName", "preferredLanguage", "displayName"] {
        assert!(a.get(k).is_none(), "{k} cleared: {a}");
    }
    assert!(a[ENTERPRISE].get("department").is_none(), "{a}");
    assert!(a[ENTERPRISE].get("manager").is_none(), "{a}");
    assert_eq!(a[ENTERPRISE]["division"], json!("Cloud"));
    assert_eq!(a["name"]["givenName"], json!("Given"));
}

// ------------------------------------------------------------------------- rule 5

#[tokio::test]
async fn rule5_attributes_not_sent_are_untouched() {
    let e = shared();
    let c = &e.scim;
    let name = unique("r5");
    let u = c
        .create_user(
            &name,
            json!({
                "schemas": [USER, ENTERPRISE],
                "externalId": unique("ext"),
                "title": "Engineer",
                "displayName": "Pat Doe",
                "nickName": "Pat",
                "preferredLanguage": "en-US",
                "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}, {"type": "mobile", "value": "+1 555 0101"}],
                "addresses": [{"type": "work", "locality": "Springfield", "country": "US"}],
                ENTERPRISE: {"department": "Platform", "employeeNumber": "42", "costCenter": "CC1", "division": "Cloud", "organization": "Contoso"}
            }),
        )
        .await;
    let id = id_of(&u);
    let path = format!("/Users/{id}");
    // Entra's PATCH naming only title (the other mappings were removed from its config).
    let r = replace_ok(c, &path, "title", json!("Architect")).await;
    assert_eq!(r.json()["title"], json!("Architect"));
    let now = scim_user(c, &id).await;
    assert_eq!(
        without(&now, &["meta", "title"]),
        without(&u, &["meta", "title"]),
        "a PATCH naming only title changes only title"
    );
    // Only department of the enterprise extension.
    let r = replace_ok(
        c,
        &path,
        &format!("{ENTERPRISE}:department"),
        json!("Research"),
    )
    .await;
    let ent = &r.json()[ENTERPRISE];
    assert_eq!(ent["department"], json!("Research"));
    for (k, v) in [
        ("employeeNumber", "42"),
        ("costCenter", "CC1"),
        ("division", "Cloud"),
        ("organization", "Contoso"),
    ] {
        assert_eq!(ent[k], json!(v), "{k} untouched: {}", r.text);
    }
    // A path-less replace naming one attribute.
    patch_ok(
        c,
        &path,
        json!([{"op": "Replace", "value": {"displayName": "Pat D."}}]),
    )
    .await;
    let now = scim_user(c, &id).await;
    assert_eq!(now["displayName"], json!("Pat D."));
    assert_eq!(now["phoneNumbers"], u["phoneNumbers"]);
    assert_eq!(now["addresses"], u["addresses"]);
    assert_eq!(now["nickName"], json!("Pat"));
    assert_eq!(now["preferredLanguage"], json!("en-US"));
    assert_eq!(now["externalId"], u["externalId"]);
    assert_eq!(now["emails"], u["emails"]);
    assert_eq!(now["name"], u["name"]);
    let a = e.admin.user(&id).await;
    assert_eq!(a["title"], json!("Architect"));
    assert_eq!(a["phoneNumbers"], u["phoneNumbers"]);
    assert_eq!(a[ENTERPRISE]["employeeNumber"], json!("42"));
    assert_eq!(a[ENTERPRISE]["department"], json!("Research"));
}

// ------------------------------------------------------------------------- rule 6

#[tokio::test]
async fn rule6_delete_is_a_soft_delete() {
    let e = shared();
    let c = &e.scim;
    let name = unique("r6");
    let ext = unique("r6ext");
    let u = c.create_user(&name, json!({"externalId": ext})).await;
    let id = id_of(&u);
    let gname = unique("r6grp");
    let g = c
        .create_group(&gname, json!({"members": [{"value": id}]}))
        .await;
    let gid = id_of(&g);

    let r = c.delete(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    // Gone from SCIM.
    c.get(&format!("/Users/{id}")).await.expect_error(404, None);
    assert!(c
        .filter_users(&format!("userName eq \"{name}\""))
        .await
        .is_empty());
    assert!(c
        .filter_users(&format!("externalId eq \"{ext}\""))
        .await
        .is_empty());
    assert!(c
        .filter_users(&format!("userName sw \"{name}\""))
        .await
        .is_empty());
    c.delete(&format!("/Users/{id}"))
        .await
        .expect_error(404, None);
    c.patch_op(&format!("/Users/{id}"), "Replace", "title", json!("x"))
        .await
        .expect_error(404, None);
    c.put(&format!("/Users/{id}"), &user_body(&name))
        .await
        .expect_error(404, None);
    // Still in the directory for administrators, memberships kept.
    let a = e.admin.user(&id).await;
    assert_eq!(a["id"], json!(id), "admin ids are SCIM ids");
    assert_eq!(a["userName"], json!(name));
    assert_eq!(a["state"], json!("deprovisioned"));
    assert_eq!(a["source"], json!("scim"));
    assert_eq!(admin_group_ids(&a), set_of(&[&gid]));
    let gname_in_user = a["groups"][1]["displayName"].clone();
    assert_eq!(gname_in_user, json!(gname));
    let (n, list) = e
        .admin
        .users(&format!("search={}&state=deprovisioned", enc(&name)))
        .await;
    assert_eq!(n, 1, "{list:?}");
    assert_eq!(list[0]["id"], json!(id));

    // Permanent delete: refused for an active user...
    let active = c.create_user(&unique("r6act"), json!({})).await;
    let aid = id_of(&active);
    let r = e.admin.delete(&format!("/users/{aid}")).await;
    admin_error(&r, 409);
    assert_eq!(e.admin.user(&aid).await["state"], json!("active"));
    scim_user(c, &aid).await;
    // ...and for an active local user.
    let local = e.admin.create_user(&unique("r6loc"), json!({})).await;
    admin_error(
        &e.admin.delete(&format!("/users/{}", id_of(&local))).await,
        409,
    );
    // Allowed for a deprovisioned one: gone for administrators too, and from its group.
    let r = e.admin.delete(&format!("/users/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    admin_error(&e.admin.get(&format!("/users/{id}")).await, 404);
    assert!(!admin_member_ids(&e.admin.group(&gid).await).contains(&id));
    assert!(c.member_ids(&gid).await.is_empty());
    // The userName is free again: a POST creates a new user.
    let again = c.create_user(&name, json!({})).await;
    assert_ne!(id_of(&again), id);
}

#[tokio::test]
async fn rule6_inactive_users_can_be_deleted_permanently() {
    let e = shared();
    let c = &e.scim;
    let u = c.create_user(&unique("r6ina"), json!({})).await;
    let id = id_of(&u);
    c.patch_op(&format!("/Users/{id}"), "Replace", "active", json!(false))
        .await
        .expect(200);
    assert_eq!(e.admin.user(&id).await["state"], json!("inactive"));
    let r = e.admin.delete(&format!("/users/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    admin_error(&e.admin.get(&format!("/users/{id}")).await, 404);
    c.get(&format!("/Users/{id}")).await.expect_error(404, None);
    admin_error(&e.admin.delete(&format!("/users/{id}")).await, 404);
}

// ------------------------------------------------------------------------- rule 7

#[tokio::test]
async fn rule7_post_revives_a_deprovisioned_user() {
    let e = shared();
    let c = &e.scim;
    let name = unique("r7");
    let u = c
        .create_user(&name, json!({"title": "Old", "nickName": "Old"}))
        .await;
    let id = id_of(&u);
    let g = c
        .create_group(&unique("r7grp"), json!({"members": [{"value": id}]}))
        .await;
    let gid = id_of(&g);
    assert_eq!(c.delete(&format!("/Users/{id}")).await.status, 204);
    assert_eq!(e.admin.user(&id).await["state"], json!("deprovisioned"));

    let mut body = user_body(&name);
    body["title"] = json!("New");
    body["name"] = json!({"givenName": "Newgiven", "familyName": "Newfamily"});
    let r = post_same_user(c, &body, &u, "the same user comes back").await;
    assert_eq!(r.json()["active"], json!(true));
    assert_eq!(r.json()["title"], json!("New"));
    assert_eq!(r.json()["name"]["givenName"], json!("Newgiven"));
    assert!(
        r.header("location").ends_with(&format!("/Users/{id}")),
        "{:?}",
        r.headers
    );

    let now = scim_user(c, &id).await;
    assert_eq!(now["active"], json!(true));
    assert_eq!(now["title"], json!("New"));
    let found = c.filter_users(&format!("userName eq \"{name}\"")).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], json!(id));
    let a = e.admin.user(&id).await;
    assert_eq!(a["state"], json!("active"));
    assert_eq!(a["source"], json!("scim"));
    assert_eq!(
        admin_group_ids(&a),
        set_of(&[&gid]),
        "memberships kept through the soft delete"
    );
    assert_eq!(e.users_named(&name).await, 1, "no second user");
}

// ------------------------------------------------------------------------- rule 8

#[tokio::test]
async fn rule8_patch_active_disables_and_enables() {
    let e = shared();
    let c = &e.scim;
    let name = unique("r8");
    let u = c.create_user(&name, json!({})).await;
    let id = id_of(&u);
    let path = format!("/Users/{id}");
    let g = c
        .create_group(&unique("r8grp"), json!({"members": [{"value": id}]}))
        .await;
    let gid = id_of(&g);

    // Entra's default dialect: a string.
    let r = replace_ok(c, &path, "active", json!("False")).await;
    assert_eq!(r.json()["active"], json!(false));
    let now = scim_user(c, &id).await;
    assert_eq!(now["active"], json!(false), "still visible over SCIM");
    let found = c.filter_users(&format!("userName eq \"{name}\"")).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["active"], json!(false));
    assert_eq!(
        c.filter_users(&format!("userName eq \"{name}\" and active eq false"))
            .await
            .len(),
        1
    );
    let a = e.admin.user(&id).await;
    assert_eq!(a["state"], json!("inactive"));
    assert_eq!(admin_group_ids(&a), set_of(&[&gid]));
    assert_eq!(c.member_ids(&gid).await, vec![id.clone()]);

    let r = replace_ok(c, &path, "active", json!("True")).await;
    assert_eq!(r.json()["active"], json!(true));
    assert_eq!(scim_user(c, &id).await["active"], json!(true));
    let a = e.admin.user(&id).await;
    assert_eq!(a["state"], json!("active"));
    assert_eq!(admin_group_ids(&a), set_of(&[&gid]));
    // The path-less form of the aadOptscim062020 dialect.
    patch_ok(
        c,
        &path,
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .await;
    assert_eq!(e.admin.user(&id).await["state"], json!("inactive"));
}

// ------------------------------------------------------------------------- rule 9

#[tokio::test]
async fn rule9_deleting_a_group_disables_members_in_no_other_group() {
    let e = own();
    let c = &e.scim;
    let [a, b, d, outsider] = new_users(c, ["r9a", "r9b", "r9d", "r9o"]).await;
    let g1 = group_of(c, &unique("r9g1"), &[&a, &b, &d]).await;
    let g2name = unique("r9g2");
    let g2 = group_of(c, &g2name, &[&b]).await;
    // d was deleted by the identity provider while a member of g1.
    assert_eq!(c.delete(&format!("/Users/{d}")).await.status, 204);

    let r = c.delete(&format!("/Groups/{g1}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    c.get(&format!("/Groups/{g1}"))
        .await
        .expect_error(404, None);
    admin_error(&e.admin.get(&format!("/groups/{g1}")).await, 404);

    // a: in no other group → disabled, still over SCIM, still in All Users.
    let ua = scim_user(c, &a).await;
    assert_eq!(ua["active"], json!(false));
    let aa = e.admin.user(&a).await;
    assert_eq!(aa["state"], json!("inactive"));
    assert!(admin_group_ids(&aa).is_empty(), "{aa}");
    assert_eq!(
        aa["groups"].as_array().map(Vec::len),
        Some(1),
        "only All Users: {aa}"
    );
    // b: in g2 → unchanged.
    assert_eq!(scim_user(c, &b).await["active"], json!(true));
    let ab = e.admin.user(&b).await;
    assert_eq!(ab["state"], json!("active"));
    assert_eq!(admin_group_ids(&ab), set_of(&[&g2]));
    assert_eq!(ab["groups"][1]["displayName"], json!(g2name));
    // d: stays deprovisioned (not brought back to SCIM as inactive).
    assert_eq!(e.admin.user(&d).await["state"], json!("deprovisioned"));
    c.get(&format!("/Users/{d}")).await.expect_error(404, None);
    // A user of no group is not touched.
    assert_eq!(e.admin.user(&outsider).await["state"], json!("active"));

    let groups = e.admin.groups().await;
    let all = groups
        .iter()
        .find(|g| g["displayName"] == json!("All Users"))
        .unwrap_or_else(|| panic!("no All Users group: {groups:?}"));
    let members = admin_member_ids(&e.admin.group(&id_of(all)).await);
    assert_eq!(
        members,
        set_of(&[&a, &b, &d, &outsider]),
        "All Users holds every user"
    );
    assert_eq!(c.member_ids(&g2).await, vec![b.clone()]);
}

// ------------------------------------------------------------------------- rule 10

#[tokio::test]
async fn rule10_deprovisioned_member_stays_associated_with_its_groups() {
    let e = shared();
    let c = &e.scim;
    let [u, other] = new_users(c, ["r10", "r10o"]).await;
    let g1n = unique("r10g1");
    let g1 = group_of(c, &g1n, &[&u, &other]).await;
    let g2 = group_of(c, &unique("r10g2"), &[&u]).await;
    assert_eq!(c.delete(&format!("/Users/{u}")).await.status, 204);

    let a = e.admin.user(&u).await;
    assert_eq!(a["state"], json!("deprovisioned"));
    assert_eq!(admin_group_ids(&a), set_of(&[&g1, &g2]));
    let ga = e.admin.group(&g1).await;
    assert_eq!(admin_member_ids(&ga), set_of(&[&u, &other]));
    assert_eq!(ga["memberCount"], json!(2));
    assert!(admin_member_ids(&e.admin.group(&g2).await).contains(&u));
    // Later membership changes by the identity provider leave the association alone.
    let r = c
        .patch_ops(
            &format!("/Groups/{g1}"),
            json!([{"op": "Remove", "path": format!("members[value eq \"{other}\"]")}]),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(admin_member_ids(&e.admin.group(&g1).await), set_of(&[&u]));
    let r = c
        .patch_op(
            &format!("/Groups/{g1}"),
            "Replace",
            "displayName",
            json!(format!("{g1n}-renamed")),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let a = e.admin.user(&u).await;
    assert_eq!(admin_group_ids(&a), set_of(&[&g1, &g2]));
}

// ------------------------------------------------------------------------- rule 11

#[tokio::test]
async fn rule11_patch_adopts_a_local_user_found_by_filter() {
    let e = shared();
    let c = &e.scim;
    let name = format!("Local-{}", unique("r11p"));
    let l = e
        .admin
        .create_user(&name, json!({"title": "Local title"}))
        .await;
    let id = id_of(&l);
    assert_eq!(l["source"], json!("local"));
    assert_eq!(l["state"], json!("active"));
    // Entra's lookup, with the userName in another case.
    let found = c
        .filter_users(&format!("userName eq \"{}\"", name.to_ascii_lowercase()))
        .await;
    assert_eq!(found.len(), 1, "GET filters see local users: {found:?}");
    assert_eq!(found[0]["id"], json!(id));
    let r = patch_ok(
        c,
        &format!("/Users/{id}"),
        json!([
            {"op": "Replace", "path": "title", "value": "From Entra"},
            {"op": "Replace", "path": "externalId", "value": "entra-object-id"}
        ]),
    )
    .await;
    assert_eq!(r.json()["title"], json!("From Entra"));
    let a = e.admin.user(&id).await;
    assert_eq!(a["source"], json!("scim"));
    assert_eq!(a["state"], json!("active"));
    assert_eq!(a["title"], json!("From Entra"));
    assert_eq!(a["externalId"], json!("entra-object-id"));

    // A PATCH whose values the local user already has adopts it too.
    let name2 = format!("Local-{}", unique("r11q"));
    let l2 = id_of(&e.admin.create_user(&name2, json!({"title": "Same"})).await);
    replace_ok(c, &format!("/Users/{l2}"), "title", json!("Same")).await;
    assert_eq!(e.admin.user(&l2).await["source"], json!("scim"));
}

#[tokio::test]
async fn rule11_post_adopts_a_local_user_with_201() {
    let e = shared();
    let c = &e.scim;
    let name = format!("Local-{}", unique("r11c"));
    let l = e
        .admin
        .create_user(&name, json!({"title": "Local title", "nickName": "Loc"}))
        .await;
    let id = id_of(&l);
    assert_eq!(l["source"], json!("local"));
    let lower = name.to_ascii_lowercase();
    assert_eq!(
        c.filter_users(&format!("userName eq \"{lower}\""))
            .await
            .len(),
        1
    );
    assert_eq!(e.users_matching(&name, "&source=local").await, 1);
    assert_eq!(e.users_matching(&name, "&source=scim").await, 0);
    let mut body = user_body(&lower);
    body["title"] = json!("From Entra");
    body["externalId"] = json!("entra-object-id-2");
    let r = post_same_user(
        c,
        &body,
        &l,
        "the POST answers with the local user, adopted",
    )
    .await;
    assert_eq!(r.json()["title"], json!("From Entra"));
    assert_eq!(
        r.json()["userName"],
        json!(lower),
        "the request's values apply"
    );
    let a = e.admin.user(&id).await;
    assert_eq!(a["source"], json!("scim"));
    assert_eq!(a["state"], json!("active"));
    assert_eq!(a["title"], json!("From Entra"));
    let (n, list) = e.admin.users(&format!("search={}", enc(&lower))).await;
    assert_eq!(n, 1, "one user, not two: {list:?}");
    assert_eq!(e.users_matching(&name, "&source=local").await, 0);
    assert_eq!(e.users_matching(&name, "&source=scim").await, 1);
    // A second POST of the same userName (now a provisioned user) is a conflict.
    c.post("/Users", &body)
        .await
        .expect_error(409, Some("uniqueness"));
}

// ------------------------------------------------------------------------- rule 12

#[tokio::test]
async fn rule12_group_names_are_unique_across_sources() {
    let e = shared();
    let c = &e.scim;
    let name = format!("Sales-{}", unique("r12"));
    let local = e.admin.create_group(&name).await;
    assert_eq!(local["source"], json!("local"));
    let lid = id_of(&local);
    let lower = name.to_ascii_lowercase();
    let r = c
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": lower}),
        )
        .await;
    r.expect_error(409, Some("uniqueness"));
    assert!(
        r.json()["detail"].as_str().unwrap().contains(&name),
        "the detail names the existing group '{name}': {}",
        r.text
    );
    // A provisioned group renamed onto the local group's name: refused the same way.
    let g = c.create_group(&unique("r12scim"), json!({})).await;
    let gid = id_of(&g);
    let names = [lower.as_str(), &name.to_uppercase()];
    assert_group_rename_refused(c, &gid, "Replace", names, &name).await;
    // Nothing changed.
    let groups = e.admin.groups().await;
    let same: Vec<&Value> = groups
        .iter()
        .filter(|g| {
            g["displayName"]
                .as_str()
                .is_some_and(|d| d.eq_ignore_ascii_case(&name))
        })
        .collect();
    assert_eq!(same.len(), 1, "{same:?}");
    assert_eq!(same[0]["id"], json!(lid));
    assert_eq!(same[0]["source"], json!("local"));
    assert_eq!(
        c.get(&format!("/Groups/{gid}")).await.json()["displayName"],
        g["displayName"]
    );
    // The administrator side refuses the reverse as well.
    admin_error(
        &e.admin
            .post(
                "/groups",
                &json!({"displayName": g["displayName"].as_str().unwrap().to_uppercase()}),
            )
            .await,
        409,
    );
    // A local group can be deleted by an administrator.
    let r = e.admin.delete(&format!("/groups/{lid}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    admin_error(&e.admin.get(&format!("/groups/{lid}")).await, 404);
    c.post(
        "/Groups",
        &json!({"schemas": [GROUP], "displayName": lower}),
    )
    .await
    .expect(201);
}

// ------------------------------------------------------------------------- All Users

#[tokio::test]
async fn all_users_group_holds_everyone_and_is_hidden_from_scim() {
    let e = own();
    let c = &e.scim;
    let [a, b] = new_users(c, ["au-a", "au-b"]).await;
    c.patch_op(&format!("/Users/{b}"), "Replace", "active", json!(false))
        .await
        .expect(200);
    let d = id_of(&c.create_user(&unique("au-d"), json!({})).await);
    assert_eq!(c.delete(&format!("/Users/{d}")).await.status, 204);
    let l = id_of(&e.admin.create_user(&unique("au-l"), json!({})).await);
    // Groups whose names sort before and after "All Users".
    c.create_group("AAA first", json!({"members": [{"value": a}]}))
        .await;
    e.admin.create_group("Zulu local").await;

    let groups = e.admin.groups().await;
    assert_eq!(
        groups[0]["displayName"],
        json!("All Users"),
        "listed first: {groups:?}"
    );
    assert_eq!(
        groups[0]["memberCount"],
        json!(4),
        "every user, whatever its state or source"
    );
    assert_eq!(groups.len(), 3, "{groups:?}");
    let all = id_of(&groups[0]);
    let g = e.admin.group(&all).await;
    assert_eq!(admin_member_ids(&g), set_of(&[&a, &b, &d, &l]));
    assert_eq!(g["memberCount"], json!(4));

    // Never over SCIM.
    let r = c.get_ok("/Groups?count=100").await;
    assert!(
        r.resources()
            .iter()
            .any(|g| g["displayName"] == json!("AAA first")),
        "{}",
        r.text
    );
    assert!(
        r.resources()
            .iter()
            .all(|g| g["displayName"] != json!("All Users") && g["id"] != json!(all)),
        "{}",
        r.text
    );
    assert_eq!(r.total() as usize, r.resources().len(), "{}", r.text);
    let r = c
        .get_filtered("/Groups", "displayName eq \"All Users\"")
        .await;
    r.expect(200);
    assert_eq!(r.total(), 0, "{}", r.text);
    let r = c.get_filtered("/Groups", "displayName co \"users\"").await;
    r.expect(200);
    assert_eq!(r.total(), 0, "{}", r.text);
    let r = c
        .post(
            "/.search",
            &json!({"schemas": [SEARCH], "filter": "displayName eq \"All Users\""}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.total(), 0, "{}", r.text);
    // Users over SCIM: the local one and the inactive one, not the deprovisioned one.
    let r = c.get_ok("/Users?count=100").await;
    let ids: BTreeSet<String> = r.resources().iter().map(id_of).collect();
    assert_eq!(ids, set_of(&[&a, &b, &l]), "{}", r.text);
    assert_eq!(r.total(), 3);
    c.get(&format!("/Groups/{all}"))
        .await
        .expect_error(404, None);
    c.add_member(&all, &a).await.expect_error(404, None);
    c.delete(&format!("/Groups/{all}"))
        .await
        .expect_error(404, None);
    let ua = scim_user(c, &a).await;
    let user_groups: Vec<Value> = ua["groups"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        user_groups.len(),
        1,
        "a user's SCIM groups do not include All Users: {ua}"
    );
    assert_ne!(user_groups[0]["value"], json!(all));

    // Cannot be deleted by an administrator.
    admin_error(&e.admin.delete(&format!("/groups/{all}")).await, 409);
    let groups = e.admin.groups().await;
    assert_eq!(groups[0]["id"], json!(all));
    assert_eq!(groups[0]["memberCount"], json!(4));
    // A user created afterwards is in it at once.
    let n = id_of(&c.create_user(&unique("au-n"), json!({})).await);
    assert!(admin_member_ids(&e.admin.group(&all).await).contains(&n));
    assert_eq!(e.admin.groups().await[0]["memberCount"], json!(5));
    // A user deleted permanently leaves it.
    assert_eq!(e.admin.delete(&format!("/users/{d}")).await.status, 204);
    assert_eq!(e.admin.groups().await[0]["memberCount"], json!(4));
    assert!(!admin_member_ids(&e.admin.group(&all).await).contains(&d));
}

// ------------------------------------------------------------------------- custom attributes

#[tokio::test]
async fn custom_attributes_are_registered_and_published_live() {
    let e = own();
    let c = &e.scim;
    let anon = e.srv().client_with(None);
    let a = e.admin.create_attribute("costCode", None).await;
    assert_eq!(a["name"], json!("costCode"));
    assert_eq!(a["type"], json!("string"), "string by default: {a}");
    let b = e.admin.create_attribute("badge", Some("integer")).await;
    assert_eq!(b["type"], json!("integer"));
    let r = e.admin.get("/attributes").await;
    r.expect(200);
    let list = items(r.json());
    let names: Vec<&str> = list.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["costCode", "badge"]);
    for a in &list {
        assert!(
            a.as_object().unwrap().values().any(|v| v == &json!("IDP")),
            "custom attributes are listed with the type IDP: {a}"
        );
    }
    // Names: unique ignoring case, RFC 7643 ATTRNAME; types: the five allowed.
    for (body, status) in [
        (json!({"name": "COSTCODE"}), 409),
        (json!({"name": "2cost"}), 400),
        (json!({"name": "cost code"}), 400),
        (json!({"name": "x", "type": "complex"}), 400),
    ] {
        let r = e.admin.post("/attributes", &body).await;
        assert_eq!(r.status, status, "POST /attributes {body}: {}", r.text);
        admin_error(&r, status);
    }
    assert_eq!(items(e.admin.get("/attributes").await.json()).len(), 2);
    // Attributes cannot be renamed.
    let r = e
        .admin
        .patch("/attributes/costCode", &json!({"name": "costCenterCode"}))
        .await;
    admin_error(&r, 405);
    let r = e
        .admin
        .send_json(
            Method::PUT,
            "/attributes/costCode",
            &json!({"name": "costCenterCode"}),
        )
        .await;
    admin_error(&r, 405);

    for client in [c, &anon] {
        let s = published_schema(client, CUSTOM)
            .await
            .unwrap_or_else(|| panic!("{CUSTOM} not in /Schemas"));
        assert_eq!(
            attr_types(&s),
            vec![
                ("badge".to_string(), "integer".to_string()),
                ("costCode".to_string(), "string".to_string())
            ]
        );
        for at in s["attributes"].as_array().unwrap() {
            assert_eq!(at["multiValued"], json!(false), "{at}");
            assert_eq!(at["mutability"], json!("readWrite"), "{at}");
        }
        let exts = user_extensions(client).await;
        let custom: Vec<&Value> = exts
            .iter()
            .filter(|x| x["schema"] == json!(CUSTOM))
            .collect();
        assert_eq!(custom.len(), 1, "{exts:?}");
        assert_eq!(custom[0]["required"], json!(false));
        assert!(ext_urns(&exts).contains(ENTERPRISE));
    }
    let r = c.get_ok(&format!("/Schemas/{CUSTOM}")).await;
    assert_eq!(attr_types(r.json()).len(), 2);
    let r = c.get_ok("/ResourceTypes/User").await;
    let exts = r.json()["schemaExtensions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(ext_urns(&exts).contains(CUSTOM), "{}", r.text);

    // Registering another: published at once.
    e.admin.create_attribute("hireDate", Some("dateTime")).await;
    let s = published_schema(c, CUSTOM).await.unwrap();
    assert!(
        attr_types(&s).contains(&("hireDate".to_string(), "dateTime".to_string())),
        "{s}"
    );
    let s = published_schema(&anon, CUSTOM).await.unwrap();
    assert_eq!(attr_types(&s).len(), 3);
    // Deleting one: gone at once.
    let r = e.admin.delete("/attributes/badge").await;
    assert_eq!(r.status, 204, "{}", r.text);
    let s = published_schema(c, CUSTOM).await.unwrap();
    assert_eq!(
        attr_types(&s),
        vec![
            ("costCode".to_string(), "string".to_string()),
            ("hireDate".to_string(), "dateTime".to_string())
        ]
    );
    let r = c.get(&format!("/Schemas/{CUSTOM}")).await;
    assert_eq!(attr_types(r.json()).len(), 2);
    admin_error(&e.admin.delete("/attributes/badge").await, 404);
    let names: Vec<String> = items(e.admin.get("/attributes").await.json())
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["costCode", "hireDate"]);
    // The value of a deleted attribute is now unknown: a badge value is ignored.
    let u = c
        .create_user(
            &unique("cpub"),
            json!({CUSTOM: {"costCode": "X", "badge": 3}}),
        )
        .await;
    assert_eq!(u[CUSTOM], json!({"costCode": "X"}));
    // Registered again with another type: published and enforced with that type at once.
    e.admin.create_attribute("badge", Some("string")).await;
    let s = published_schema(c, CUSTOM).await.unwrap();
    assert!(
        attr_types(&s).contains(&("badge".to_string(), "string".to_string())),
        "{s}"
    );
    let u = c
        .create_user(&unique("cpub2"), json!({CUSTOM: {"badge": "B-12"}}))
        .await;
    assert_eq!(u[CUSTOM], json!({"badge": "B-12"}));
}

#[tokio::test]
async fn custom_attribute_values_in_every_shape_entra_sends() {
    let e = own();
    let c = &e.scim;
    e.admin.create_attribute("costCode", None).await;
    e.admin.create_attribute("badge", Some("integer")).await;

    // Nested under the URN key, without the URN in `schemas`.
    let name = unique("cval");
    let r = post_with(c, &name, CUSTOM, json!({"costCode": "CC-1", "badge": 7})).await;
    let id = r.id();
    assert_eq!(r.json()[CUSTOM], json!({"costCode": "CC-1", "badge": 7}));
    assert!(lists_schema(r.json(), CUSTOM), "{}", r.text);
    e.assert_custom_values(&id, json!({"costCode": "CC-1", "badge": 7}))
        .await;
    let path = format!("/Users/{id}");

    // A full-URN PATCH path (how Entra maps `<urn>:costCode`).
    let r = replace_ok(c, &path, &format!("{CUSTOM}:costCode"), json!("CC-2")).await;
    assert_eq!(r.json()[CUSTOM], json!({"costCode": "CC-2", "badge": 7}));
    let (_, log) = e.admin.log(&format!("text={}", enc(&id))).await;
    let changed = log[0]["changedAttributes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(changed.len(), 1, "{}", log[0]);
    assert!(
        changed[0].as_str().unwrap().ends_with("costCode"),
        "{}",
        log[0]
    );
    // A full-URN key in a path-less PATCH value.
    let r = patch_ok(
        c,
        &path,
        json!([{"op": "Replace", "value": {format!("{CUSTOM}:badge"): 9}}]),
    )
    .await;
    assert_eq!(r.json()[CUSTOM], json!({"costCode": "CC-2", "badge": 9}));
    // The URN key in a path-less PATCH value: only what it names changes.
    let r = patch_ok(
        c,
        &path,
        json!([{"op": "Add", "value": {CUSTOM: {"costCode": "CC-3"}}}]),
    )
    .await;
    assert_eq!(r.json()[CUSTOM], json!({"costCode": "CC-3", "badge": 9}));
    e.assert_custom_values(&id, json!({"costCode": "CC-3", "badge": 9}))
        .await;

    // A full-URN key in a POST body.
    let mut body2 = user_body(&unique("cval2"));
    body2[format!("{CUSTOM}:costCode")] = json!("CC-9");
    let r = post_created(c, &body2).await;
    assert_eq!(r.json()[CUSTOM], json!({"costCode": "CC-9"}));

    // Wrong type: 400 invalidValue, nothing created or changed.
    let bad = unique("cbad");
    let mut body3 = user_body(&bad);
    body3[CUSTOM] = json!({"costCode": "CC-5", "badge": "abc"});
    invalid(c.post("/Users", &body3).await);
    assert!(c
        .filter_users(&format!("userName eq \"{bad}\""))
        .await
        .is_empty());
    let before = scim_user(c, &id).await;
    for ops in [
        json!([
            {"op": "Replace", "path": format!("{CUSTOM}:costCode"), "value": "CC-4"},
            {"op": "Replace", "path": format!("{CUSTOM}:badge"), "value": "abc"}
        ]),
        json!([{"op": "Replace", "value": {format!("{CUSTOM}:badge"): "abc"}}]),
    ] {
        invalid(c.patch_ops(&path, ops).await);
    }
    let mut put = user_body(&name);
    put[CUSTOM] = json!({"costCode": "CC-6", "badge": "abc"});
    invalid(c.put(&path, &put).await);
    assert_eq!(
        scim_user(c, &id).await,
        before,
        "refused writes change nothing"
    );
    assert_eq!(
        e.admin.user(&id).await[CUSTOM],
        json!({"costCode": "CC-3", "badge": 9})
    );
}

#[tokio::test]
async fn custom_attribute_not_registered_is_ignored_with_a_logged_warning() {
    let e = own();
    let c = &e.scim;
    e.admin.create_attribute("costCode", None).await;
    let values = json!({"costCode": "A", "shoeSize": "44"});
    let r = post_with(c, &unique("cwarn"), CUSTOM, values).await;
    let id = r.id();
    assert_eq!(r.json()[CUSTOM], json!({"costCode": "A"}));
    assert_eq!(e.admin.user(&id).await[CUSTOM], json!({"costCode": "A"}));
    let entries = e.log_of(&id).await;
    let created: Vec<&Value> = entries
        .iter()
        .filter(|x| x["outcome"] == json!("created"))
        .collect();
    assert_eq!(created.len(), 1, "{entries:?}");
    assert_warns(
        created[0],
        "shoeSize",
        "the ignored attribute is a warning in the log",
    );

    let r = replace_user(c, &id, &format!("{CUSTOM}:shoeSize"), json!("45")).await;
    assert_eq!(r.json()[CUSTOM], json!({"costCode": "A"}));
    e.assert_patch_warned(&id, "shoeSize").await;
}

#[tokio::test]
async fn custom_attribute_value_posted_on_a_tenant_without_registered_attributes_is_a_logged_warning(
) {
    let e = own();
    let c = &e.scim;
    let r = post_with(c, &unique("cnone"), CUSTOM, json!({"costCode": "A"})).await;
    let id = r.id();
    assert!(r.json().get(CUSTOM).is_none(), "{}", r.text);
    let entries = e.log_of(&id).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_warns(
        &entries[0],
        "costCode",
        "a value for an attribute that is not registered is recorded as a warning",
    );
}

#[tokio::test]
async fn custom_attribute_value_patched_on_a_tenant_without_registered_attributes_is_a_logged_warning(
) {
    let e = own();
    let c = &e.scim;
    let id = id_of(&c.create_user(&unique("cnonep"), json!({})).await);
    let r = replace_user(c, &id, &format!("{CUSTOM}:costCode"), json!("B")).await;
    assert!(r.json().get(CUSTOM).is_none(), "{}", r.text);
    e.assert_patch_warned(&id, "costCode").await;
}

#[tokio::test]
async fn custom_attributes_of_every_type() {
    let e = own();
    let c = &e.scim;
    let t = e
        .admin
        .create_attribute("isContractor", Some("Boolean"))
        .await;
    assert_eq!(t["type"], json!("boolean"), "{t}");
    e.admin.create_attribute("ratio", Some("decimal")).await;
    e.admin.create_attribute("hired", Some("dateTime")).await;
    e.admin.create_attribute("level", Some("integer")).await;
    let s = published_schema(c, CUSTOM).await.unwrap();
    assert_eq!(
        attr_types(&s),
        vec![
            ("hired".to_string(), "dateTime".to_string()),
            ("isContractor".to_string(), "boolean".to_string()),
            ("level".to_string(), "integer".to_string()),
            ("ratio".to_string(), "decimal".to_string()),
        ]
    );
    let mut body = user_body(&unique("ctypes"));
    // Entra's default dialect sends booleans as strings; names match ignoring case.
    body[CUSTOM] = json!({"ISCONTRACTOR": "True", "ratio": 1.5, "hired": "2024-01-02T03:04:05+02:00", "level": 3});
    let r = post_created(c, &body).await;
    let id = r.id();
    let want =
        json!({"isContractor": true, "ratio": 1.5, "hired": "2024-01-02T01:04:05Z", "level": 3});
    assert_eq!(r.json()[CUSTOM], want);
    assert_eq!(e.admin.user(&id).await[CUSTOM], want);
    let path = format!("/Users/{id}");
    let r = replace_ok(c, &path, &format!("{CUSTOM}:IsContractor"), json!("False")).await;
    assert_eq!(r.json()[CUSTOM]["isContractor"], json!(false));
    let before = scim_user(c, &id).await;
    for (k, v) in [
        ("isContractor", json!("perhaps")),
        ("ratio", json!("abc")),
        ("hired", json!("not a date")),
        ("level", json!(7.5)),
        ("level", json!({"value": 1})),
    ] {
        let r = c
            .patch_op(&path, "Replace", &format!("{CUSTOM}:{k}"), json!(v))
            .await;
        assert_eq!(r.status, 400, "{k} = {v}: {}", r.text);
        r.expect_error(400, Some("invalidValue"));
    }
    assert_eq!(scim_user(c, &id).await, before);
}

#[tokio::test]
async fn custom_schema_urn_can_be_the_ivanti_urn_end_to_end() {
    let e = own();
    let c = &e.scim;
    e.assert_setting("customSchemaUrn", json!(CUSTOM), "default URN")
        .await;
    e.admin.create_attribute("costCode", None).await;
    let u1 = post_with(c, &unique("urn1"), CUSTOM, json!({"costCode": "CC-1"}))
        .await
        .id();
    // A user deprovisioned with a value: its value moves too.
    let u0 = post_with(c, &unique("urn0"), CUSTOM, json!({"costCode": "CC-0"}))
        .await
        .id();
    assert_eq!(c.delete(&format!("/Users/{u0}")).await.status, 204);

    // Not a usable URN: refused, nothing changes.
    for bad in [json!("not a urn"), json!(USER)] {
        e.assert_setting_refused("customSchemaUrn", bad, json!(CUSTOM))
            .await;
    }

    e.change_setting("customSchemaUrn", json!(IVANTI)).await;

    // Discovery.
    let s = published_schema(c, IVANTI)
        .await
        .unwrap_or_else(|| panic!("{IVANTI} not published"));
    assert_eq!(
        attr_types(&s),
        vec![("costCode".to_string(), "string".to_string())]
    );
    assert!(
        published_schema(c, CUSTOM).await.is_none(),
        "the old URN is no longer published"
    );
    let exts = ext_urns(&user_extensions(c).await);
    assert!(exts.contains(IVANTI) && !exts.contains(CUSTOM), "{exts:?}");
    // Existing values moved.
    let now = scim_user(c, &u1).await;
    assert_eq!(now[IVANTI], json!({"costCode": "CC-1"}), "{now}");
    assert!(now.get(CUSTOM).is_none(), "{now}");
    assert!(lists_schema(&now, IVANTI), "{now}");
    assert_eq!(e.admin.user(&u1).await[IVANTI], json!({"costCode": "CC-1"}));
    assert_eq!(e.admin.user(&u0).await[IVANTI], json!({"costCode": "CC-0"}));
    // New values under the new URN, in every shape.
    let r = post_with(c, &unique("urn2"), IVANTI, json!({"costCode": "CC-2"})).await;
    assert_eq!(r.json()[IVANTI], json!({"costCode": "CC-2"}));
    let u2 = r.id();
    let r = replace_user(c, &u2, &format!("{IVANTI}:costCode"), json!("CC-3")).await;
    assert_eq!(r.json()[IVANTI], json!({"costCode": "CC-3"}));
    let r = patch_ok(
        c,
        &format!("/Users/{u2}"),
        json!([{"op": "Replace", "value": {format!("{IVANTI}:costCode"): "CC-4"}}]),
    )
    .await;
    assert_eq!(r.json()[IVANTI], json!({"costCode": "CC-4"}));
    assert_eq!(e.admin.user(&u2).await[IVANTI], json!({"costCode": "CC-4"}));
    // The attribute list shows where Entra must map it.
    let attrs = items(e.admin.get("/attributes").await.json());
    assert!(attrs[0].to_string().contains(IVANTI), "{attrs:?}");
}

#[tokio::test]
async fn deleting_a_custom_attribute_removes_its_values_from_every_user() {
    let e = own();
    let c = &e.scim;
    e.admin.create_attribute("costCode", None).await;
    e.admin.create_attribute("badge", Some("integer")).await;
    let one = json!({"costCode": "CC-1", "badge": 1});
    let u1 = post_with(c, &unique("cdel1"), CUSTOM, one).await.id();
    let two = json!({"costCode": "CC-2"});
    let u2 = post_with(c, &unique("cdel2"), CUSTOM, two).await.id();
    assert_eq!(c.delete(&format!("/Users/{u2}")).await.status, 204);

    let r = e.admin.delete("/attributes/costCode").await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(scim_user(c, &u1).await[CUSTOM], json!({"badge": 1}));
    assert_eq!(e.admin.user(&u1).await[CUSTOM], json!({"badge": 1}));
    let a2 = e.admin.user(&u2).await;
    assert!(
        a2.get(CUSTOM).is_none_or(|x| x.get("costCode").is_none()),
        "a deprovisioned user's value is removed too: {a2}"
    );
    // Registering the name again does not bring old values back.
    e.admin.create_attribute("costCode", None).await;
    let now = scim_user(c, &u1).await;
    assert_eq!(now[CUSTOM], json!({"badge": 1}), "{now}");
    let a2 = e.admin.user(&u2).await;
    assert!(
        a2.get(CUSTOM).is_none_or(|x| x.get("costCode").is_none()),
        "{a2}"
    );
    // Deleting the last valued attribute removes the extension from the user.
    assert_eq!(e.admin.delete("/attributes/badge").await.status, 204);
    let now = scim_user(c, &u1).await;
    assert!(now.get(CUSTOM).is_none(), "{now}");
    assert!(!lists_schema(&now, CUSTOM), "{now}");
}

// ------------------------------------------------------------------------- enterprise

#[tokio::test]
async fn enterprise_extension_is_complete_and_manager_reads_back_with_its_name() {
    let e = shared();
    let c = &e.scim;
    let m1 = c
        .create_user_id(&unique("ent-m1"), json!({"displayName": "Morgan Manager"}))
        .await;
    let m2 = c
        .create_user_id(&unique("ent-m2"), json!({"displayName": "Avery Boss"}))
        .await;
    let name = unique("ent");
    let ent = json!({
        "employeeNumber": "701",
        "costCenter": "CC-42",
        "organization": "Contoso",
        "division": "Cloud",
        "department": "Platform",
        "manager": {"value": m1}
    });
    let mut body = user_body(&name);
    body["schemas"] = json!([USER, ENTERPRISE]);
    body[ENTERPRISE] = ent.clone();
    let r = post_created(c, &body).await;
    let id = r.id();
    let check = |v: &Value, mid: &str, mname: &str| {
        let x = &v[ENTERPRISE];
        for k in enterprise_strings() {
            assert_eq!(x[&k], ent[&k], "{k}: {v}");
        }
        assert_eq!(x["manager"]["value"], json!(mid), "{v}");
        assert_eq!(x["manager"]["displayName"], json!(mname), "{v}");
        assert!(lists_schema(v, ENTERPRISE), "{v}");
    };
    check(r.json(), &m1, "Morgan Manager");
    check(&scim_user(c, &id).await, &m1, "Morgan Manager");
    check(&e.admin.user(&id).await, &m1, "Morgan Manager");
    // Entra's PATCH of the manager: a bare id under the full-URN path.
    let path = format!("/Users/{id}");
    let r = replace_ok(c, &path, &format!("{ENTERPRISE}:manager"), json!(m2)).await;
    check(r.json(), &m2, "Avery Boss");
    check(&e.admin.user(&id).await, &m2, "Avery Boss");
    // Each attribute through its full-URN path.
    let r = patch_ok(
        c,
        &path,
        json!([
            {"op": "Replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "702"},
            {"op": "Replace", "path": format!("{ENTERPRISE}:costCenter"), "value": "CC-43"},
            {"op": "Replace", "path": format!("{ENTERPRISE}:organization"), "value": "Fabrikam"},
            {"op": "Replace", "path": format!("{ENTERPRISE}:division"), "value": "Edge"},
            {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Research"}
        ]),
    )
    .await;
    let want = json!({"employeeNumber": "702", "costCenter": "CC-43", "organization": "Fabrikam", "division": "Edge", "department": "Research"});
    for k in enterprise_strings() {
        assert_eq!(r.json()[ENTERPRISE][&k], want[&k], "{k}");
        assert_eq!(e.admin.user(&id).await[ENTERPRISE][&k], want[&k], "{k}");
    }
    assert_eq!(r.json()[ENTERPRISE]["manager"]["value"], json!(m2));
    // The manager's name is read when rendering: renaming the manager shows at once.
    c.patch_op(
        &format!("/Users/{m2}"),
        "Replace",
        "displayName",
        json!("Avery B."),
    )
    .await
    .expect(200);
    for v in [scim_user(c, &id).await, e.admin.user(&id).await] {
        assert_eq!(v[ENTERPRISE]["manager"]["value"], json!(m2), "{v}");
        assert_eq!(
            v[ENTERPRISE]["manager"]["displayName"],
            json!("Avery B."),
            "{v}"
        );
    }

    // A manager that is not a user of the tenant: 400, nothing created or changed.
    let before = scim_user(c, &id).await;
    let stranger = guid();
    let bad = unique("ent-bad");
    let mut body = user_body(&bad);
    body[ENTERPRISE] = json!({"manager": {"value": stranger}});
    invalid(c.post("/Users", &body).await);
    assert!(c
        .filter_users(&format!("userName eq \"{bad}\""))
        .await
        .is_empty());
    c.patch_op(
        &path,
        "Replace",
        &format!("{ENTERPRISE}:manager"),
        json!(stranger),
    )
    .await
    .expect_error(400, Some("invalidValue"));
    let grp = id_of(&c.create_group(&unique("ent-grp"), json!({})).await);
    c.patch_op(
        &path,
        "Replace",
        &format!("{ENTERPRISE}:manager"),
        json!({"value": grp}),
    )
    .await
    .expect_error(400, Some("invalidValue"));
    assert_eq!(scim_user(c, &id).await, before);
    assert_eq!(
        e.admin.user(&id).await[ENTERPRISE]["manager"]["value"],
        json!(m2)
    );
}

// ------------------------------------------------------------------------- generic clients

#[tokio::test]
async fn schema_marks_the_rules_required_attributes() {
    let e = shared();
    let r = e.scim.get_ok(&format!("/Schemas/{USER}")).await;
    let attrs = r.json()["attributes"].as_array().unwrap().clone();
    let attr = |n: &str| -> Value {
        attrs
            .iter()
            .find(|a| a["name"] == json!(n))
            .cloned()
            .unwrap_or_else(|| panic!("no {n}"))
    };
    assert_eq!(attr("userName")["required"], json!(true));
    assert_eq!(attr("emails")["required"], json!(true), "rule 1");
    let name = attr("name");
    assert_eq!(name["required"], json!(true), "rule 2");
    let sub = |n: &str| -> Value {
        name["subAttributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == json!(n))
            .cloned()
            .unwrap_or_else(|| panic!("no name.{n}"))
    };
    assert_eq!(sub("givenName")["required"], json!(true));
    assert_eq!(sub("familyName")["required"], json!(true));
}

// ------------------------------------------------------------------------- admin API access

#[tokio::test]
async fn admin_api_requires_an_admin_token() {
    let e = shared();
    let srv = e.srv();
    let base = format!("{}/api/v1", srv.base);
    let r = Client::new(&base, None).get("/users").await;
    assert_eq!(r.status, 401, "{}", r.text);
    admin_error(&r, 401);
    let r = Client::new(&base, Some(&srv.token)).get("/users").await;
    admin_error(&r, 403);
    e.admin.get("/users").await.expect(200);
    e.admin.get("/settings").await.expect(200);
    admin_error(&e.admin.get(&format!("/users/{}", guid())).await, 404);
}

// ------------------------------------------------------------------------- provisioning log

/// What one log entry must say.
struct Want<'a> {
    method: &'a str,
    path: String,
    rtype: &'a str,
    id: Option<String>,
    name: Option<String>,
    outcome: &'a str,
    status: u16,
}

impl<'a> Want<'a> {
    /// `method path` on a `rtype` that came to `outcome`, answered `status`.
    fn of(method: &'a str, path: &str, rtype: &'a str, outcome: &'a str, status: u16) -> Self {
        Want {
            method,
            path: path.to_string(),
            rtype,
            id: None,
            name: None,
            outcome,
            status,
        }
    }

    /// The same, about resource `id` named `name` (when known).
    fn on(self, id: Option<&str>, name: Option<&str>) -> Self {
        Want {
            id: id.map(str::to_string),
            name: name.map(str::to_string),
            ..self
        }
    }
}

#[tokio::test]
async fn provisioning_log_records_every_scim_write() {
    let e = own();
    let srv = e.srv();
    let tok = create_token(srv, "entra-prod", "scim");
    let c = srv.client_with(Some(&tok));
    let mut want: Vec<Want> = vec![];
    let users = "/scim/v2/Users".to_string();
    let groups = "/scim/v2/Groups".to_string();

    // 1 created (with a password)
    let un = unique("log-u");
    let mut body = user_body(&un);
    body["password"] = json!(PASSWORD);
    let r = post_created(&c, &body).await;
    let uid = r.id();
    let upath = format!("/scim/v2/Users/{uid}");
    want.push(Want::of("POST", &users, "User", "created", 201).on(Some(&uid), Some(&un)));
    // reads are not logged (a POST /.search is a read)
    c.get(&format!("/Users/{uid}")).await.expect(200);
    c.post(
        "/Users/.search",
        &json!({"schemas": [SEARCH], "filter": format!("userName eq \"{un}\"")}),
    )
    .await
    .expect(200);
    c.filter_users(&format!("userName eq \"{un}\"")).await;
    // 2 updated (title)
    c.patch_op(&format!("/Users/{uid}"), "Replace", "title", json!("T1"))
        .await
        .expect(200);
    want.push(Want::of("PATCH", &upath, "User", "updated", 200).on(Some(&uid), Some(&un)));
    // 3 disabled, 4 enabled
    c.patch_op(
        &format!("/Users/{uid}"),
        "Replace",
        "active",
        json!("False"),
    )
    .await
    .expect(200);
    want.push(Want::of("PATCH", &upath, "User", "disabled", 200).on(Some(&uid), Some(&un)));
    c.patch_op(&format!("/Users/{uid}"), "Replace", "active", json!("True"))
        .await
        .expect(200);
    want.push(Want::of("PATCH", &upath, "User", "enabled", 200).on(Some(&uid), Some(&un)));
    // 5 updated by PUT (with a password)
    let mut put = user_body(&un);
    put["title"] = json!("T1");
    put["nickName"] = json!("Nick");
    put["password"] = json!(PASSWORD);
    c.put(&format!("/Users/{uid}"), &put).await.expect(200);
    want.push(Want::of("PUT", &upath, "User", "updated", 200).on(Some(&uid), Some(&un)));
    // 6 password-only PATCH
    c.patch_op(
        &format!("/Users/{uid}"),
        "Replace",
        "password",
        json!(PASSWORD),
    )
    .await
    .expect(200);
    want.push(Want::of("PATCH", &upath, "User", "updated", 200).on(Some(&uid), Some(&un)));
    // 7 rejected (no email, with a password)
    let bad = unique("log-bad");
    let mut b = user_body(&bad);
    b.as_object_mut().unwrap().remove("emails");
    b["password"] = json!(PASSWORD);
    invalid(c.post("/Users", &b).await);
    want.push(Want::of("POST", &users, "User", "rejected", 400).on(None, Some(&bad)));
    // 8 group created
    let gn = unique("log-g");
    let r = c
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": gn, "members": [{"value": uid}]}),
        )
        .await;
    r.expect(201);
    let gid = r.id();
    let gpath = format!("/scim/v2/Groups/{gid}");
    want.push(Want::of("POST", &groups, "Group", "created", 201).on(Some(&gid), Some(&gn)));
    // 9 group updated (204)
    let gn2 = format!("{gn}-renamed");
    let r = c
        .patch_op(
            &format!("/Groups/{gid}"),
            "Replace",
            "displayName",
            json!(gn2),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    want.push(Want::of("PATCH", &gpath, "Group", "updated", 204).on(Some(&gid), Some(&gn2)));
    // 10 deprovisioned
    assert_eq!(c.delete(&format!("/Users/{uid}")).await.status, 204);
    want.push(Want::of("DELETE", &upath, "User", "deprovisioned", 204).on(Some(&uid), Some(&un)));
    // 11 revived (with a password)
    c.post("/Users", &body).await.expect(201);
    want.push(Want::of("POST", &users, "User", "revived", 201).on(Some(&uid), Some(&un)));
    // 12 adopted
    let ln = unique("log-local");
    let lid = id_of(&e.admin.create_user(&ln, json!({})).await);
    let r = c.post("/Users", &user_body(&ln)).await;
    r.expect(201);
    assert_eq!(r.id(), lid);
    want.push(Want::of("POST", &users, "User", "adopted", 201).on(Some(&lid), Some(&ln)));
    // 13 group deleted
    assert_eq!(c.delete(&format!("/Groups/{gid}")).await.status, 204);
    want.push(Want::of("DELETE", &gpath, "Group", "group deleted", 204).on(Some(&gid), Some(&gn2)));
    // 14 rejected: unknown user
    let ghost = guid();
    c.patch_op(&format!("/Users/{ghost}"), "Replace", "title", json!("x"))
        .await
        .expect_error(404, None);
    want.push(
        Want::of(
            "PATCH",
            &format!("/scim/v2/Users/{ghost}"),
            "User",
            "rejected",
            404,
        )
        .on(Some(&ghost), None),
    );
    // 15 rejected: a local group's name
    let lg = unique("log-lgroup");
    e.admin.create_group(&lg).await;
    c.post(
        "/Groups",
        &json!({"schemas": [GROUP], "displayName": lg.to_uppercase()}),
    )
    .await
    .expect_error(409, Some("uniqueness"));
    want.push(
        Want::of("POST", &groups, "Group", "rejected", 409).on(None, Some(&lg.to_uppercase())),
    );

    let r = e.admin.get("/provisioning-log?count=100").await;

    r.expect(200);
    let log_text = r.text.clone();
    let (n, mut entries) = (total(r.json()), items(r.json()));
    assert_eq!(
        n as usize,
        want.len(),
        "one entry per SCIM write, none for reads or admin writes: {entries:#?}"
    );
    assert_eq!(entries.len(), want.len());
    entries.reverse(); // oldest first
    for (i, (x, w)) in entries.iter().zip(&want).enumerate() {
        let ctx = format!("entry {} ({} {}): {x}", i + 1, w.method, w.outcome);
        assert_eq!(x["tokenName"], json!("entra-prod"), "{ctx}");
        assert_eq!(x["method"], json!(w.method), "{ctx}");
        assert_eq!(x["path"], json!(w.path), "{ctx}");
        assert_eq!(x["resourceType"], json!(w.rtype), "{ctx}");
        if let Some(id) = &w.id {
            assert_eq!(x["resourceId"], json!(id), "{ctx}");
        }
        if let Some(nm) = &w.name {
            assert_eq!(x["resourceName"], json!(nm), "{ctx}");
        }
        assert_eq!(x["outcome"], json!(w.outcome), "{ctx}");
        assert_eq!(x["status"].as_u64(), Some(w.status as u64), "{ctx}");
        if w.outcome == "rejected" {
            assert!(
                x["detail"].as_str().is_some_and(|d| !d.trim().is_empty()),
                "{ctx}"
            );
        } else {
            assert!(x["detail"].is_null() || x["detail"] == json!(""), "{ctx}");
        }
        let t = x["time"]
            .as_str()
            .unwrap_or_else(|| panic!("no time: {ctx}"));
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("time is not RFC 3339 ({e}): {ctx}"));
    }
    // Attribute names changed.
    let changed = |i: usize| -> Vec<String> {
        entries[i]["changedAttributes"]
            .as_array()
            .unwrap_or_else(|| panic!("changedAttributes: {}", entries[i]))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    // (entry, attribute, whether the entry names it among others)
    for (i, attr, named) in [
        (0, "userName", true),
        (0, "emails", true),
        (4, "nickName", true),
        (4, "emails", false),
        (8, "displayName", true),
    ] {
        let c = changed(i);
        assert_eq!(
            c.contains(&attr.to_string()),
            named,
            "entry {i}, {attr}: {c:?}"
        );
    }
    assert_eq!(changed(1), ["title"]);
    assert_eq!(changed(2), ["active"]);
    for (i, c) in (0..entries.len()).map(|i| (i, changed(i))) {
        assert!(
            !c.iter().any(|a| a.to_lowercase().contains("password")),
            "entry {i}: {c:?}"
        );
    }
    // Group deletion says what happened to members (the user was in no other group).
    assert!(
        !entries[12]["warnings"].as_array().unwrap().is_empty(),
        "{}",
        entries[12]
    );

    // Passwords never appear anywhere: JSON, CSV, JSON Lines, the server's own logs.
    assert!(
        !log_text.contains(PASSWORD) && !log_text.contains("S3cret"),
        "{log_text}"
    );
    let csv = e.admin.get("/provisioning-log?format=csv").await;
    csv.expect_typed(200, "text/csv");
    assert!(!csv.text.contains("S3cret"), "{}", csv.text);
    let jl = e.admin.get("/provisioning-log?format=jsonl").await;
    jl.expect(200);
    assert!(!jl.text.contains("S3cret"), "{}", jl.text);
    let lines: Vec<&str> = jl.text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), want.len(), "{}", jl.text);
    let csv_lines: Vec<&str> = csv.text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        csv_lines.len(),
        want.len() + 1,
        "a header and one line per entry: {}",
        csv.text
    );
    assert!(!srv.stderr().contains("S3cret"), "{}", srv.logs());
    let a = e.admin.get(&format!("/users/{uid}")).await;
    assert!(
        !a.text.contains("S3cret") && a.json().get("password").is_none(),
        "{}",
        a.text
    );
    assert!(!c
        .get(&format!("/Users/{uid}"))
        .await
        .text
        .contains("S3cret"));
    assert!(!srv.stdout_now().contains("S3cret"), "{}", srv.logs());
}

#[tokio::test]
async fn provisioning_log_filters_paging_and_downloads() {
    let e = own();
    let c = &e.scim;
    // Batch 1.
    let a1 = unique("flt-a1");
    let a1id = id_of(&c.create_user(&a1, json!({})).await);
    c.create_user(&unique("flt-a2"), json!({})).await;
    let bad = unique("flt-bad");
    let mut b = user_body(&bad);
    b.as_object_mut().unwrap().remove("emails");
    invalid(c.post("/Users", &b).await);
    c.create_group(&unique("flt-ga"), json!({})).await;
    // A whole second between the batches, its boundary `mid`.
    let now = time::OffsetDateTime::now_utc();
    let mid = now.replace_nanosecond(0).unwrap() + time::Duration::seconds(1);
    let wait = (mid - now).unsigned_abs() + Duration::from_millis(200);
    tokio::time::sleep(wait).await;
    let mid_s = mid
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    // Batch 2.
    let b1id = id_of(&c.create_user(&unique("flt-b1"), json!({})).await);
    c.patch_op(&format!("/Users/{b1id}"), "Replace", "title", json!("T"))
        .await
        .expect(200);
    let gb = id_of(&c.create_group(&unique("flt-gb"), json!({})).await);
    assert_eq!(c.delete(&format!("/Groups/{gb}")).await.status, 204);

    let (n, all) = e.admin.log("count=100").await;
    assert_eq!(n, 8, "{all:#?}");
    let outcomes = |v: &[Value]| -> Vec<String> {
        v.iter()
            .map(|x| x["outcome"].as_str().unwrap().to_string())
            .collect()
    };

    let (n, v) = e.admin.log("outcome=rejected").await;
    assert_eq!(n, 1);
    assert_eq!(v[0]["resourceName"], json!(bad));
    let (n, v) = e.admin.log("outcome=created").await;
    assert_eq!(n, 5, "{v:#?}");
    assert!(outcomes(&v).iter().all(|o| o == "created"));
    let (n, v) = e
        .admin
        .log(&format!("outcome={}", form_enc("group deleted")))
        .await;
    assert_eq!(n, 1, "{v:#?}");
    assert_eq!(v[0]["resourceId"], json!(gb));
    let (n, v) = e.admin.log("resourceType=Group").await;
    assert_eq!(n, 3, "{v:#?}");
    assert!(v.iter().all(|x| x["resourceType"] == json!("Group")));
    let (n, _) = e.admin.log("resourceType=Group&outcome=created").await;
    assert_eq!(n, 2);
    // Text: a userName (any case), an id.
    let (n, v) = e
        .admin
        .log(&format!("text={}", enc(&a1.to_uppercase())))
        .await;
    assert_eq!(n, 1, "{v:#?}");
    assert_eq!(v[0]["resourceId"], json!(a1id));
    let (n, v) = e.admin.log(&format!("text={}", enc(&b1id))).await;
    assert_eq!(n, 2, "{v:#?}");
    assert_eq!(outcomes(&v), ["updated", "created"], "newest first");
    // Time range.
    let (n, v) = e.admin.log(&format!("since={}", enc(&mid_s))).await;
    assert_eq!(n, 4, "since {mid_s}: {v:#?}");
    assert_eq!(
        outcomes(&v),
        ["group deleted", "created", "updated", "created"]
    );
    let (n, v) = e.admin.log(&format!("until={}", enc(&mid_s))).await;
    assert_eq!(n, 4, "until {mid_s}: {v:#?}");
    assert_eq!(outcomes(&v), ["created", "rejected", "created", "created"]);
    let (n, _) = e
        .admin
        .log(&format!("since={}&outcome=created", enc(&mid_s)))
        .await;
    assert_eq!(n, 2);
    // Paging: newest first, pages concatenate to the whole.
    let (n, p1) = e.admin.log("count=3").await;
    assert_eq!((n, p1.len()), (8, 3));
    let (_, p2) = e.admin.log("startIndex=4&count=3").await;
    let (_, p3) = e.admin.log("startIndex=7&count=3").await;
    assert_eq!((p2.len(), p3.len()), (3, 2));
    let joined: Vec<Value> = p1.into_iter().chain(p2).chain(p3).collect();
    assert_eq!(joined, all);
    // Downloads honour the filters.
    let csv = e
        .admin
        .get("/provisioning-log?format=csv&outcome=created")
        .await;
    csv.expect_typed(200, "text/csv");
    let lines: Vec<&str> = csv.text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 6, "header + 5 rows: {}", csv.text);
    assert!(lines[0].to_lowercase().contains("outcome"), "{}", lines[0]);
    assert!(
        lines[1..].iter().all(|l| l.contains("created")),
        "{}",
        csv.text
    );
    assert!(csv.text.contains(&a1), "{}", csv.text);
    let jl = e
        .admin
        .get("/provisioning-log?format=jsonl&resourceType=Group")
        .await;
    jl.expect(200);
    let rows: Vec<Value> = jl
        .text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("JSON Lines row {l:?}: {e}")))
        .collect();
    assert_eq!(rows.len(), 3, "{}", jl.text);
    assert!(
        rows.iter().all(|x| x["resourceType"] == json!("Group")),
        "{}",
        jl.text
    );
    // Bad parameters are refused with a message.
    admin_error(&e.admin.get("/provisioning-log?since=yesterday").await, 400);
    admin_error(&e.admin.get("/provisioning-log?format=xml").await, 400);
}

#[tokio::test]
async fn provisioning_log_names_the_user_of_a_rejected_write() {
    let e = shared();
    let c = &e.scim;
    let name = unique("lrej");
    let id = id_of(&c.create_user(&name, json!({})).await);
    c.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "Remove", "path": "name.familyName"}]),
    )
    .await
    .expect_error(400, Some("invalidValue"));
    let mut put = user_body(&name);
    put.as_object_mut().unwrap().remove("emails");
    invalid(c.put(&format!("/Users/{id}"), &put).await);
    let (n, v) = e
        .admin
        .log(&format!("text={}&outcome=rejected", enc(&id)))
        .await;
    assert_eq!(n, 2, "{v:#?}");
    for x in &v {
        assert_eq!(x["resourceId"], json!(id), "{x}");
        assert_eq!(
            x["resourceName"],
            json!(name),
            "a rejected write on a known user records its userName: {x}"
        );
        assert_eq!(x["status"], json!(400), "{x}");
        assert!(
            x["detail"]
                .as_str()
                .is_some_and(|d| d.contains("familyName") || d.contains("email")),
            "{x}"
        );
    }
    // An administrator searching the log by userName finds the rejections too.
    let (n, v) = e
        .admin
        .log(&format!("text={}&outcome=rejected", enc(&name)))
        .await;
    assert_eq!(n, 2, "{v:#?}");
}

#[tokio::test]
async fn provisioning_log_records_group_membership_changes() {
    let e = shared();
    let c = &e.scim;
    let [u1, u2] = new_users(c, ["lmem1", "lmem2"]).await;
    let gname = unique("lmem-g");
    let gid = group_of(c, &gname, &[&u1]).await;
    let r = c.add_member(&gid, &u2).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = c
        .patch_op(
            &format!("/Groups/{gid}"),
            "Remove",
            "members",
            json!([{"value": u1}]),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let (n, v) = e.admin.log(&format!("text={}", enc(&gid))).await;
    assert_eq!(n, 3, "{v:#?}");
    for x in &v[..2] {
        assert_eq!(x["method"], json!("PATCH"), "{x}");
        assert_eq!(x["outcome"], json!("updated"), "{x}");
        assert_eq!(x["resourceType"], json!("Group"), "{x}");
        assert_eq!(x["resourceName"], json!(gname), "{x}");
        assert_eq!(x["changedAttributes"], json!(["members"]), "{x}");
        assert_eq!(x["status"], json!(204), "{x}");
    }
    assert_eq!(v[2]["outcome"], json!("created"));
}

/// The provisioning log records the status the client was answered: a group PATCH answers
/// 204 without `attributes`/`excludedAttributes`, and 200 with the group when either is
/// given, even when `members` is excluded.
#[tokio::test]
async fn provisioning_log_records_the_status_a_group_patch_answered() {
    let e = shared();
    let c = &e.scim;
    let u = id_of(&c.create_user(&unique("lst"), json!({})).await);
    let gid = id_of(&c.create_group(&unique("lst-g"), json!({})).await);
    let add = json!([{"op": "Add", "path": "members", "value": [{"value": u}]}]);
    let remove = json!([{"op": "Remove", "path": "members", "value": [{"value": u}]}]);
    let sent: Vec<u16> = vec![
        c.patch_ops(&format!("/Groups/{gid}"), add.clone())
            .await
            .status,
        c.patch_ops(&format!("/Groups/{gid}?excludedAttributes=members"), remove)
            .await
            .status,
        c.patch_ops(&format!("/Groups/{gid}?attributes=members"), add)
            .await
            .status,
    ];
    assert_eq!(sent, vec![204, 200, 200]);
    let (n, mut v) = e.admin.log(&format!("text={}", enc(&gid))).await;
    assert_eq!(n, 4, "the POST and three PATCHes: {v:#?}");
    v.reverse(); // oldest first
    let logged: Vec<u64> = v[1..]
        .iter()
        .map(|x| x["status"].as_u64().unwrap())
        .collect();
    let sent: Vec<u64> = sent.into_iter().map(u64::from).collect();
    assert_eq!(logged, sent, "logged as answered: {v:#?}");
}

/// "Every SCIM write is recorded": also the writes that turn out to change nothing (Entra
/// re-sends values and re-adds existing members), so an administrator can see them.
#[tokio::test]
async fn provisioning_log_records_writes_that_change_nothing() {
    let e = shared();
    let c = &e.scim;
    let id = id_of(
        &c.create_user(&unique("lnoop"), json!({"title": "Same"}))
            .await,
    );
    c.patch_op(&format!("/Users/{id}"), "Replace", "title", json!("Same"))
        .await
        .expect(200);
    let gid = group_of(c, &unique("lnoop-g"), &[&id]).await;
    let r = c.add_member(&gid, &id).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let (n, v) = e
        .admin
        .log(&format!("text={}&resourceType=User", enc(&id)))
        .await;
    assert_eq!(n, 2, "the POST and the PATCH of the user: {v:#?}");
    assert_eq!(v[0]["method"], json!("PATCH"));
    assert_eq!(v[0]["status"], json!(200));
    let (n, v) = e.admin.log(&format!("text={}", enc(&gid))).await;
    assert_eq!(n, 2, "the POST and the PATCH of the group: {v:#?}");
    assert_eq!(v[0]["method"], json!("PATCH"));
}

#[tokio::test]
async fn rule6_deprovisioned_user_is_not_listed_among_scim_group_members() {
    let e = shared();
    let c = &e.scim;
    let [u, v] = new_users(c, ["r6m", "r6m2"]).await;
    let g = group_of(c, &unique("r6m-g"), &[&u, &v]).await;
    assert_eq!(c.delete(&format!("/Users/{u}")).await.status, 204);
    // Over SCIM the user is gone (404): a group does not list it as a member ...
    assert_eq!(
        c.member_ids(&g).await,
        vec![v.clone()],
        "a deprovisioned user disappears from SCIM"
    );
    let r = c
        .get_filtered("/Groups", &format!("members.value eq \"{u}\""))
        .await;
    r.expect(200);
    assert_eq!(r.total(), 0, "{}", r.text);
    // ... while administrators still see the association (rule 10).
    assert_eq!(
        admin_member_ids(&e.admin.group(&g).await),
        set_of(&[&u, &v])
    );
}

#[tokio::test]
async fn rule7_revival_matches_the_user_name_ignoring_case() {
    let e = shared();
    let c = &e.scim;
    let name = format!("Rev-{}", unique("r7c"));
    let id = id_of(&c.create_user(&name, json!({})).await);
    assert_eq!(c.delete(&format!("/Users/{id}")).await.status, 204);
    let upper = name.to_uppercase();
    let r = c.post("/Users", &user_body(&upper)).await;
    r.expect(201);
    assert_eq!(r.id(), id);
    assert_eq!(r.json()["userName"], json!(upper));
    let a = e.admin.user(&id).await;
    assert_eq!(a["state"], json!("active"));
    assert_eq!(e.users_named(&name).await, 1);
}

/// Rule 12 seen from the other side: a local group is visible over SCIM but provisioning
/// cannot rename, replace or delete it (409 naming it), and nothing changes.
#[tokio::test]
async fn rule12_scim_cannot_change_or_delete_a_local_group() {
    let e = shared();
    let c = &e.scim;
    let name = format!("Local-{}", unique("r12l"));
    let local = e.admin.create_group(&name).await;
    let lid = id_of(&local);
    assert_group_rename_refused(c, &lid, "replace", ["renamed"; 2], &name).await;
    c.delete(&format!("/Groups/{lid}"))
        .await
        .expect_error(409, Some("uniqueness"));
    let g = e.admin.group(&lid).await;
    assert_eq!(g["displayName"], json!(name));
    assert_eq!(g["source"], json!("local"));
}

/// A body with thousands of unknown attributes is accepted, and its log entry keeps a
/// bounded number of warnings (50 and a "further warnings omitted").
#[tokio::test]
async fn thousands_of_unknown_attributes_give_bounded_warnings() {
    let e = shared();
    let c = &e.scim;
    let user_name = unique("many-unknown");
    let mut body = json!({
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Many", "familyName": "Keys"},
        "emails": [{"value": format!("{user_name}@example.com"), "type": "work"}],
    });
    for i in 0..20_000 {
        body[format!("unknownKey{i}")] = json!(i);
    }
    let r = post_created(c, &body).await;
    let id = r.id();
    let log = e
        .admin
        .get(&format!("/provisioning-log?text={id}&outcome=created"))
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    let entries = items(log.json());
    assert_eq!(entries.len(), 1, "{}", log.text);
    let warnings = entries[0]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 51, "{warnings:?}");
    assert_eq!(warnings[50], json!("further warnings omitted"));
}

/// A user created without `active` is active, returns `active: true` and matches
/// `active eq true`.
#[tokio::test]
async fn a_user_created_without_active_is_active_and_found_as_such() {
    let e = shared();
    let c = &e.scim;
    let user_name = unique("no-active");
    let r = c
        .post(
            "/Users",
            &json!({
                "schemas": [USER],
                "userName": user_name,
                "name": {"givenName": "No", "familyName": "Active"},
                "emails": [{"value": format!("{user_name}@example.com")}],
            }),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json()["active"], json!(true));
    let f = filter_q(&format!("userName eq \"{user_name}\" and active eq true"));
    assert_eq!(c.get(&format!("/Users?{f}")).await.total(), 1);
}

// ------------------------------------------------------------------------- issue 14, item 5

/// Sends `req` (a PUT body or PATCH operations) to user `id`; asserts 400 invalidValue with
/// a detail containing `names`, and that the user is unchanged.
async fn refused_unchanged(c: &Client, id: &str, req: &Value, names: &str) {
    let path = format!("/Users/{id}");
    let before = scim_user(c, id).await;
    let r = if req.is_array() {
        c.patch_ops(&path, req.clone()).await
    } else {
        c.put(&path, req).await
    };
    r.expect_error(400, Some("invalidValue"));
    let detail = r.string("detail");
    assert!(
        detail.contains(names),
        "{req}: the detail names {names}: {detail}"
    );
    assert_eq!(scim_user(c, id).await, before, "{req} changed nothing");
}

#[tokio::test]
async fn rules1_and_2_hold_on_every_write_whatever_the_blank_policy() {
    let e = own();
    let c = &e.scim;
    for policy in ["ignore", "clear"] {
        e.admin.settings(json!({"blankValuePolicy": policy})).await;
        let name = unique(&format!("r12{policy}"));
        let u = c
            .create_user(
                &name,
                json!({"title": "Engineer", "emails": [
                    {"value": format!("{name}@example.com"), "type": "work", "primary": true}
                ]}),
            )
            .await;
        let id = id_of(&u);
        let title = json!({"op": "replace", "path": "title", "value": "Changed"});
        // Names: PUT without them or with blanks; PATCH add/replace with "", null or
        // whitespace (with a path, path-less, as a dotted key); PATCH remove.
        for (sub, blank) in [
            ("givenName", json!("")),
            ("familyName", json!(null)),
            ("givenName", json!("  ")),
        ] {
            let mut put = user_body(&name);
            put["name"][sub] = blank.clone();
            refused_unchanged(c, &id, &put, &format!("name.{sub}")).await;
            for op in ["add", "replace"] {
                let shapes = [
                    json!({"op": op, "path": format!("name.{sub}"), "value": blank}),
                    json!({"op": op, "value": {"name": {sub: blank}}}),
                    json!({"op": op, "value": {format!("name.{sub}"): blank}}),
                ];
                for shape in shapes {
                    refused_unchanged(c, &id, &json!([title, shape]), &format!("name.{sub}")).await;
                }
            }
        }
        let mut put = user_body(&name);
        put["name"] = json!({"familyName": "Family"});
        refused_unchanged(c, &id, &put, "name.givenName").await;
        for path in ["name.givenName", "name.familyName", "name"] {
            let op = json!({"op": "remove", "path": path});
            refused_unchanged(c, &id, &json!([title, op]), "name.").await;
        }
        refused_unchanged(
            c,
            &id,
            &json!([{"op": "replace", "path": "name", "value": null}]),
            "name.givenName",
        )
        .await;
        // Emails: a write may not leave the user without one.
        for op in [
            json!({"op": "remove", "path": "emails"}),
            json!({"op": "remove", "path": "emails[type eq \"work\"]"}),
            json!({"op": "replace", "path": "emails", "value": []}),
            json!({"op": "replace", "path": "emails", "value": [{"value": "", "type": "work"}]}),
            json!({"op": "replace", "path": "emails", "value": null}),
            json!({"op": "replace", "path": "emails[type eq \"work\"].value", "value": ""}),
            json!({"op": "replace", "value": {"emails": [{"value": null}]}}),
        ] {
            refused_unchanged(c, &id, &json!([title, op]), "email").await;
        }
        let mut put = user_body(&name);
        put["emails"] = json!([{"value": "", "type": "work"}]);
        refused_unchanged(c, &id, &put, "email").await;
        // Removing one email of two is fine.
        let r = patch_ok(c, &format!("/Users/{id}"), json!([
                    {"op": "add", "path": "emails", "value": [{"value": format!("home-{name}@example.com"), "type": "home"}]},
                    {"op": "remove", "path": "emails[type eq \"home\"]"},
                    title
                ])).await;
        assert_eq!(
            r.json()["emails"].as_array().unwrap().len(),
            1,
            "{}",
            r.text
        );
        assert_eq!(r.json()["title"], json!("Changed"));
    }
}

#[tokio::test]
async fn first_primary_value_is_kept_with_a_warning_in_the_log() {
    let e = own();
    let c = &e.scim;
    let name = unique("prim");
    let mut body = user_body(&name);
    body["emails"] = json!([
        {"value": format!("a-{name}@example.com"), "type": "work", "primary": true},
        {"value": format!("b-{name}@example.com"), "type": "home", "primary": true}
    ]);
    let r = post_created(c, &body).await;
    let id = r.id();
    let primary = |u: &Value| -> Vec<String> {
        u["emails"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["primary"] == json!(true))
            .map(|m| m["value"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(primary(r.json()), [format!("a-{name}@example.com")]);
    assert_eq!(r.json()["emails"][1]["primary"], json!(false), "{}", r.text);
    let warned = |entry: &Value| {
        entry["warnings"].as_array().unwrap().iter().any(|w| {
            w.as_str()
                .unwrap()
                .contains("'emails': 2 values had \"primary\": true")
        })
    };
    let entry = e.admin.latest(&id).await;
    assert!(warned(&entry), "{}", entry);

    // PUT: the same.
    let r = c.put(&format!("/Users/{id}"), &body).await;
    r.expect(200);
    assert_eq!(primary(r.json()), [format!("a-{name}@example.com")]);
    let entry = e.admin.latest(&id).await;
    assert_eq!(entry["method"], json!("PUT"));
    assert!(warned(&entry), "{}", entry);

    // PATCH with two primary values in one value array: the first is kept, with a warning.
    let r = patch_ok(
        c,
        &format!("/Users/{id}"),
        json!([{"op": "add", "path": "emails", "value": [
            {"value": format!("c-{name}@example.com"), "type": "other", "primary": true},
            {"value": format!("d-{name}@example.com"), "type": "other", "primary": true}
        ]}]),
    )
    .await;
    assert_eq!(primary(r.json()), [format!("c-{name}@example.com")]);
    let entry = e.admin.latest(&id).await;
    assert!(warned(&entry), "{}", entry);

    // PATCH setting primary on one value clears it on the others, without a warning.
    let r = patch_ok(
        c,
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
    )
    .await;
    assert_eq!(primary(r.json()), [format!("b-{name}@example.com")]);
    let entry = e.admin.latest(&id).await;
    assert_eq!(entry["warnings"], json!([]), "{}", entry);
}

#[tokio::test]
async fn values_under_an_unknown_extension_urn_are_a_logged_warning() {
    let e = own();
    let c = &e.scim;
    e.admin.create_attribute("costCode", None).await;
    let name = unique("urnw");
    let mut body = user_body(&name);
    body["schemas"] = json!([USER, IVANTI]);
    body[IVANTI] = json!({"costCode": "A1", "badge": "7"});
    let r = post_created(c, &body).await;
    let id = r.id();
    assert!(r.json().get(IVANTI).is_none(), "{}", r.text);
    let expected = format!("ignored attributes 'costCode', 'badge' of unknown schema '{IVANTI}'");
    let entry = e.admin.latest(&id).await;
    assert_eq!(entry["outcome"], json!("created"));
    assert_eq!(entry["warnings"], json!([expected]), "{}", entry);

    // PATCH: path-less with the URN object, and a full-URN path.
    patch_ok(
        c,
        &format!("/Users/{id}"),
        json!([
            {"op": "add", "value": {IVANTI: {"costCode": "A2", "badge": "8"}}},
            {"op": "replace", "path": format!("{IVANTI}:costCode"), "value": "A3"}
        ]),
    )
    .await;
    let entry = e.admin.latest(&id).await;
    assert_eq!(
        entry["warnings"],
        json!([
            expected,
            format!("ignored attribute 'costCode' of unknown schema '{IVANTI}'")
        ]),
        "{}",
        entry
    );
}

#[tokio::test]
async fn a_user_may_be_its_own_manager() {
    let e = shared();
    let c = &e.scim;
    let name = unique("selfmgr");
    let u = c
        .create_user(&name, json!({"displayName": "Top Of Tree"}))
        .await;
    let id = id_of(&u);
    patch_ok(
        c,
        &format!("/Users/{id}"),
        json!([{"op": "add", "path": format!("{ENTERPRISE}:manager"), "value": id}]),
    )
    .await;
    let now = scim_user(c, &id).await;
    assert_eq!(now[ENTERPRISE]["manager"]["value"], json!(id), "{now}");
    assert_eq!(
        now[ENTERPRISE]["manager"]["displayName"],
        json!("Top Of Tree")
    );
    // PUT with itself as manager, too.
    let mut put = user_body(&name);
    put["schemas"] = json!([USER, ENTERPRISE]);
    put[ENTERPRISE] = json!({"manager": {"value": id}});
    c.put(&format!("/Users/{id}"), &put).await.expect(200);
    assert_eq!(
        scim_user(c, &id).await[ENTERPRISE]["manager"]["value"],
        json!(id)
    );
    assert_eq!(
        e.admin.user(&id).await[ENTERPRISE]["manager"]["value"],
        json!(id)
    );
}
