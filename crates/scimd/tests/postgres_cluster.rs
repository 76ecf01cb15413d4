//! Several scimd instances on one PostgreSQL database, and moving a deployment from SQLite
//! to PostgreSQL with `scimd copy`.
//!
//! Runs when `SCIMD_TEST_DATABASE_URL` is a `postgres://` URL (as `.ci/run` sets it);
//! otherwise each test prints a note and passes.
//!
//! - `two_instances_share_one_database`: two `scimd serve` processes on one database
//!   receive interleaved Entra-style traffic: concurrent POSTs of one userName give exactly
//!   one 201 and 409 for the rest; concurrent member adds to one group from both instances
//!   all land; stale If-Match versions are 412 whichever instance answers; reads from
//!   either instance agree.
//! - `signin_attempts_are_counted_once_across_instances`: 100 wrong passwords for one
//!   administrator, sent at once through both instances, get at most five passwords
//!   checked (the check-and-count is one statement in the shared database); the rest are
//!   throttled (429) or find the hashing queue full (503).
//! - `copy_from_sqlite_keeps_the_scim_view`: a SQLite deployment populated over SCIM is
//!   copied into an empty PostgreSQL database with `scimd copy`; a server on the copy
//!   answers every user and group exactly as the SQLite one did (the same token works),
//!   `meta.location`'s host aside.

mod common;

use common::*;
use serde_json::{json, Value};
use std::process::Command;

fn skip() -> bool {
    if postgres_admin_url().is_none() {
        eprintln!(
            "SCIMD_TEST_DATABASE_URL is not a postgres:// URL: PostgreSQL cluster test skipped"
        );
        return true;
    }
    false
}

/// `resource` with the server's base URL replaced by `to` in `meta.location` and in every
/// `$ref` (the URLs of resources, which name the server answering; nothing else does).
fn rebase(mut resource: Value, from: &str, to: &str) -> Value {
    fn walk(v: &mut Value, from: &str, to: &str) {
        match v {
            Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    match x {
                        Value::String(s) if k == "$ref" || k == "location" => {
                            *s = s.replacen(from, to, 1);
                        }
                        _ => walk(x, from, to),
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, from, to)),
            _ => {}
        }
    }
    walk(&mut resource, from, to);
    resource
}

/// JSON pointers where `a` and `b` differ (for readable assertion messages).
fn diff(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                diff(va, vb, &format!("{at}/{k}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                diff(va, vb, &format!("{at}/{i}"), out);
            }
        }
        _ if a != b => out.push(format!("{at}: {a} != {b}")),
        _ => {}
    }
}

/// The provisioning log, the audit record and the history of user `uid` as the admin API
/// serves them, without the sequence numbers (a copy keeps the order, not the numbers).
async fn record_views(s: &Server, admin_token: &str, uid: &str) -> Vec<Value> {
    let a = Client::new(&format!("{}/api/v1", s.base), Some(admin_token));
    let mut out = vec![];
    for path in [
        "/provisioning-log?count=500".to_string(),
        "/audit?count=500".to_string(),
        format!("/users/{uid}/history?count=500"),
    ] {
        let r = a.get(&path).await;
        r.expect(200);
        for mut v in r.resources() {
            v.as_object_mut().unwrap().remove("seq");
            out.push(v);
        }
    }
    assert!(out.len() > 40, "{out:#?}");
    out
}

fn assert_same_view(left: &[(String, u16, Value)], right: &[(String, u16, Value)], what: &str) {
    assert_eq!(
        left.len(),
        right.len(),
        "{what}: different numbers of resources"
    );
    for (x, y) in left.iter().zip(right) {
        let mut d = Vec::new();
        diff(&x.2, &y.2, "", &mut d);
        assert!(
            x.0 == y.0 && x.1 == y.1 && d.is_empty(),
            "{what}: {} ({}) vs {} ({}) differ at:\n{}",
            x.0,
            x.1,
            y.0,
            y.1,
            d.join("\n")
        );
    }
}

/// Every user and group a server shows: the list pages (in order) and each resource by id,
/// with `meta.location` rebased onto `base`.
async fn scim_view(s: &Server, token: &str, base: &str) -> Vec<(String, u16, Value)> {
    let c = s.client_with(Some(token));
    let mut out = Vec::new();
    for (kind, q) in [
        ("Users", "count=1000"),
        ("Users", "count=1000&sortBy=userName&sortOrder=descending"),
        ("Groups", "count=1000"),
    ] {
        let r = c.get_ok(&format!("/{kind}?{q}")).await;
        let mut list = r.json().clone();
        if let Some(items) = list.get_mut("Resources").and_then(Value::as_array_mut) {
            for item in items.iter_mut() {
                *item = rebase(item.take(), &s.base, base);
            }
        }
        let ids: Vec<String> = r
            .resources()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect();
        out.push((format!("/{kind}?{q}"), r.status, list));
        for id in ids {
            let path = format!("/{kind}/{id}");
            let r = c.get(&path).await;
            out.push((
                path,
                r.status,
                rebase(r.body.unwrap_or(Value::Null), &s.base, base),
            ));
        }
    }
    out
}

fn entra_user(user_name: &str, i: usize) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": format!("ext-{i}"),
        "userName": user_name,
        "active": true,
        "displayName": format!("Person {i}"),
        "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{}", i % 3), "formatted": format!("Given{i} Family")},
        "emails": [{"primary": true, "type": "work", "value": format!("{}@example.com", user_name.replace('@', "_"))}],
        "title": if i.is_multiple_of(2) { json!("Engineer") } else { json!("Manager") },
        ENTERPRISE: {"department": format!("Dept {}", i % 4), "employeeNumber": format!("{}", 1000 + i)},
    })
}

/// Two servers on one fresh database; the second does not bootstrap it again.
fn two_instances() -> (Server, Server) {
    let a = Server::start();
    let b = Server::start_opts(Opts {
        database_url: Some(a.database_url.clone()),
        ..Default::default()
    });
    assert!(
        b.token.is_empty(),
        "the second instance must not bootstrap again"
    );
    (a, b)
}

#[tokio::test]
async fn two_instances_share_one_database() {
    if skip() {
        return;
    }
    let (a, b) = two_instances();
    let token = a.token.clone();
    let scims = [a.scim.clone(), b.scim.clone()];
    let client = |i: usize| Client::new(&scims[i % 2], Some(&token));

    // 1. Concurrent POSTs of one userName, alternating instances: one 201, the rest 409.
    let name = unique("dup") + "@example.com";
    let body = entra_user(&name, 0);
    let statuses = concurrent((0..16).collect(), 16, |i| {
        let (c, body) = (client(i), body.clone());
        async move {
            let r = c.post("/Users", &body).await;
            (r.status, r.body.map(|b| b["scimType"].clone()))
        }
    })
    .await;
    let created = statuses.iter().filter(|(s, _)| *s == 201).count();
    let conflicts: Vec<_> = statuses.iter().filter(|(s, _)| *s == 409).collect();
    assert_eq!(created, 1, "{statuses:?}");
    assert_eq!(
        conflicts.len(),
        15,
        "{statuses:?}\n{}\n{}",
        a.logs(),
        b.logs()
    );
    assert!(
        conflicts
            .iter()
            .all(|(_, t)| *t == Some(json!("uniqueness"))),
        "{statuses:?}"
    );
    for i in 0..2 {
        let found = client(i)
            .filter_users(&format!("userName eq \"{}\"", name.to_uppercase()))
            .await;
        assert_eq!(found.len(), 1);
    }

    // 2. Users created on both instances, interleaved; then every one added to one group
    //    by its own Entra-style PATCH, concurrently, half through each instance.
    let users = concurrent((0..40).collect(), 8, |i| {
        let c = client(i);
        async move {
            let r = c
                .post(
                    "/Users",
                    &entra_user(&(unique("member") + "@example.com"), i),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
            r.id()
        }
    })
    .await;
    let group = client(0)
        .create_group(&unique("Cluster Group"), json!({}))
        .await;
    let gid = group["id"].as_str().unwrap().to_string();
    let results = concurrent(
        users.iter().cloned().enumerate().collect(),
        40,
        |(i, uid)| {
            let (c, gid) = (client(i), gid.clone());
            async move {
                let r = c.add_member(&gid, &uid).await;
                (r.status, r.text)
            }
        },
    )
    .await;
    assert!(
        results.iter().all(|(s, _)| *s == 200 || *s == 204),
        "{results:?}"
    );
    let mut expected = users.clone();
    expected.sort();
    for i in 0..2 {
        assert_eq!(client(i).member_ids(&gid).await, expected, "instance {i}");
    }
    let r = client(1).get_ok(&format!("/Groups/{gid}")).await;
    assert_eq!(
        r.json()["meta"]["version"],
        json!(format!("W/\"{}\"", 1 + users.len())),
        "every add bumped the version once"
    );
    // Entra re-sends adds it already made: nothing changes, nothing fails.
    let r = client(1).add_member(&gid, &users[0]).await;
    assert!(r.status == 200 || r.status == 204, "{}", r.text);
    assert_eq!(client(0).member_ids(&gid).await, expected);

    // 3. If-Match: a version read on one instance and overtaken on the other is 412.
    let uid = users[0].clone();
    let path = format!("/Users/{uid}");
    let v1 = client(0).get(&path).await.header("etag");
    let r = replace_title_if_match(&client(1), &path, "Lead", &v1).await;
    r.expect(200);
    let v2 = r.header("etag");
    assert_ne!(v1, v2);
    let r = replace_title_if_match(&client(0), &path, "Stale", &v1).await;
    r.expect_error(412, None);
    // Concurrent writers holding one version: exactly one wins.
    let outcomes = concurrent((0..10).collect(), 10, |i| {
        let (c, path, v2) = (client(i), path.clone(), v2.clone());
        async move {
            replace_title_if_match(&c, &path, &format!("Writer {i}"), &v2)
                .await
                .status
        }
    })
    .await;
    assert_eq!(
        outcomes.iter().filter(|s| **s == 200).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|s| **s == 412).count(),
        9,
        "{outcomes:?}"
    );

    // Entra's disable and soft delete, through alternating instances.
    for (i, uid) in users.iter().enumerate().take(6) {
        let ops = json!([{"op": "Replace", "path": "active", "value": "False"}]);
        let r = client(i).patch_ops(&format!("/Users/{uid}"), ops).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = client(1).delete(&format!("/Users/{}", users[6])).await;
    assert_eq!(r.status, 204, "{}", r.text);
    client(0)
        .get(&format!("/Users/{}", users[6]))
        .await
        .expect(404);

    // 4. Both instances show the same directory.
    let view_a = scim_view(&a, &token, "http://scimd").await;
    let view_b = scim_view(&b, &token, "http://scimd").await;
    assert_same_view(&view_a, &view_b, "the two instances");
    drop(b);
}

#[tokio::test]
async fn signin_attempts_are_counted_once_across_instances() {
    if skip() {
        return;
    }
    let (a, b) = two_instances();
    let portals = [
        common::portal::Portal::new(&a.base),
        common::portal::Portal::new(&b.base),
    ];
    // The forms first (their CSRF cookies), so that the POSTs leave together.
    let tokens = concurrent((0..100).collect(), 100, |i: usize| {
        let p = portals[i % 2].clone();
        async move { (i, p.form_token().await) }
    })
    .await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(100));
    let statuses = concurrent(tokens, 100, |(i, token)| {
        let (p, barrier) = (portals[i % 2].clone(), barrier.clone());
        async move {
            barrier.wait().await;
            p.http
                .post(format!("{}/signin", p.base))
                .header("cookie", format!("scimd_signin={token}"))
                .form(&[
                    ("csrf", token.as_str()),
                    ("username", "admin"),
                    ("password", "not the password"),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    })
    .await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    let busy = statuses.iter().filter(|s| **s == 503).count();
    eprintln!(
        "100 parallel wrong passwords: {checked} checked, {throttled} throttled, {busy} busy"
    );
    assert_eq!(checked + throttled + busy, 100, "{statuses:?}");
    assert!(
        (1..=5).contains(&checked),
        "at most the 5 free attempts are checked: {statuses:?}\n{}\n{}",
        a.logs(),
        b.logs()
    );
    assert_eq!(
        a.query("SELECT attempts FROM signin_throttle WHERE username_folded = 'admin'"),
        checked.to_string(),
        "the attempts counted are the ones checked"
    );
    // Within the wait, the right password is not checked either, on either instance.
    for p in &portals {
        let r = p.attempt("admin", &a.admin_password, None).await;
        assert_eq!(
            r.status,
            reqwest::StatusCode::TOO_MANY_REQUESTS,
            "{}",
            r.text
        );
    }
}

#[tokio::test]
async fn copy_from_sqlite_keeps_the_scim_view() {
    if skip() {
        return;
    }
    // A SQLite deployment, populated over SCIM.
    let dir = std::env::temp_dir().join(unique("scimd-copy"));
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite_url = format!("sqlite://{}/scimd.db", dir.display());
    let s = Server::start_opts(Opts {
        database_url: Some(sqlite_url.clone()),
        dir: Some(dir.clone()),
        ..Default::default()
    });
    let token = s.token.clone();
    assert!(!token.is_empty(), "the first start's token: {}", s.logs());
    let c = s.client_with(Some(&token));
    let mut ids = Vec::new();
    for i in 0..24 {
        let r = c
            .post("/Users", &entra_user(&format!("person{i}@Example.com"), i))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        ids.push(r.id());
    }
    for i in 1..8 {
        let ops = json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": ids[0]}]);
        let r = c.patch_ops(&format!("/Users/{}", ids[i]), ops).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = c
        .patch_ops(
            &format!("/Users/{}", ids[9]),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(c.delete(&format!("/Users/{}", ids[10])).await.status, 204);
    let mut gids = Vec::new();
    for (g, name) in ["Engineering", "Sales", "Straße Team", "Everyone Else"]
        .iter()
        .enumerate()
    {
        let members: Vec<Value> = ids
            .iter()
            .skip(g)
            .step_by(3)
            .map(|id| json!({"value": id}))
            .collect();
        gids.push(
            c.create_group(
                name,
                json!({"members": members, "externalId": format!("g{g}")}),
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let r = c
        .patch_ops(
            &format!("/Groups/{}", gids[2]),
            json!([{"op": "Add", "path": "members", "value": [{"value": gids[0]}]}]),
        )
        .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.text);
    assert_eq!(c.delete(&format!("/Groups/{}", gids[3])).await.status, 204);
    let before = scim_view(&s, &token, "http://scimd").await;
    let admin_token = s.admin_token();
    let records_before = record_views(&s, &admin_token, &ids[1]).await;
    drop(s);

    // `scimd copy` into an empty PostgreSQL database.
    let pg = fresh_postgres_database(&unique("copy")).expect("PostgreSQL configured");
    let out = Command::new(SCIMD)
        .args(["copy", "--from", &sqlite_url, "--to", &pg])
        .env("NO_COLOR", "1")
        .output()
        .expect("run scimd copy");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "scimd copy failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("users") && stdout.contains("group_members"),
        "{stdout}"
    );
    let changes = stdout
        .lines()
        .find(|l| l.starts_with("changes "))
        .unwrap_or_else(|| panic!("no change records copied: {stdout}"));
    let counts: Vec<u64> = changes
        .split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(counts[0] > 60 && counts[0] == counts[1], "{changes}");
    if let Some(password) = pg
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('@').next())
        .and_then(|creds| creds.split(':').nth(1))
    {
        let shown = format!(":{password}@");
        assert!(
            !stderr.contains(&shown) && !stdout.contains(&shown),
            "password printed: {stderr}"
        );
    }
    // A second copy is refused: the target is no longer empty.
    let again = Command::new(SCIMD)
        .args(["copy", "--from", &sqlite_url, "--to", &pg])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    // A server on the copy: the same token, the same users and groups.
    let p = Server::start_opts(Opts {
        database_url: Some(pg.clone()),
        ..Default::default()
    });
    assert!(
        p.token.is_empty(),
        "the copied database is initialised already"
    );
    let after = scim_view(&p, &token, "http://scimd").await;
    assert_same_view(&before, &after, "SQLite and its PostgreSQL copy");
    let records_after = record_views(&p, &admin_token, &ids[1]).await;
    assert_eq!(
        records_before, records_after,
        "the change records were copied"
    );
    drop(p);
    drop_postgres_database(&pg);
    let _ = std::fs::remove_dir_all(&dir);
}

/// PATCH `path` (a User) replacing `title` with `title`, conditional on `If-Match: etag`
/// (RFC 7644 §3.14).
async fn replace_title_if_match(c: &Client, path: &str, title: &str, etag: &str) -> Resp {
    let body = json!({
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "path": "title", "value": title}],
    });
    c.send(
        c.json_req(reqwest::Method::PATCH, path, &body)
            .header("If-Match", etag),
    )
    .await
}
