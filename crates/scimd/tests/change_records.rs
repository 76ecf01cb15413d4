//! The change records over HTTP against a real `scimd serve` (SQLite, or PostgreSQL when
//! `SCIMD_TEST_DATABASE_URL` names a server): an Entra-style conversation and the history
//! it leaves on the user and the group (every value before and after, membership, the
//! side effects of the product rules under the request's `txn`), the provisioning log's
//! new keys, the per-member bound of a large group write, and the privacy rule of a
//! permanent delete.
//!
//! Each test starts its own server: they count records.

mod common;

use common::*;
use serde_json::{json, Value};

const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:scimd:2.0:User";

/// Every item of a paged `/api/v1` list at `path` (pages of 500, newest first).
async fn all(a: &Client, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out: Vec<Value> = vec![];
    loop {
        let r = a
            .get(&format!(
                "{path}{sep}startIndex={}&count=500",
                out.len() + 1
            ))
            .await;
        r.expect(200);
        let page = r.resources();
        let total = r.total() as usize;
        out.extend(page.iter().cloned());
        if page.is_empty() || out.len() >= total {
            assert_eq!(out.len(), total, "{path}");
            return out;
        }
    }
}

/// The records of `list` that satisfy `f`.
fn having(list: &[Value], f: impl Fn(&Value) -> bool) -> Vec<&Value> {
    list.iter().filter(|r| f(r)).collect()
}

/// The one record of `list` that satisfies `f` (`what` names it in the message).
fn one<'a>(list: &'a [Value], what: &str, f: impl Fn(&Value) -> bool) -> &'a Value {
    let found = having(list, f);
    assert_eq!(found.len(), 1, "one {what} in {list:#?}");
    found[0]
}

/// The change of `attribute` in record `r`.
fn change<'a>(r: &'a Value, attribute: &str) -> &'a Value {
    r["changes"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["attribute"] == attribute))
        .unwrap_or_else(|| panic!("no change of {attribute} in {r:#}"))
}

/// `(before, after)` of `attribute` in record `r`.
fn before_after(r: &Value, attribute: &str) -> (Value, Value) {
    let c = change(r, attribute);
    (c["before"].clone(), c["after"].clone())
}

fn is_request(r: &Value, method: &str, status: u64) -> bool {
    r["cause"]["type"] == "request"
        && r["cause"]["method"] == method
        && r["cause"]["status"] == json!(status)
}

/// The provisioning-log entry of outcome `outcome` whose text matches `id`.
async fn log_entry(a: &Client, id: &str, outcome: &str) -> Value {
    let entries = all(
        a,
        &format!(
            "/provisioning-log?text={}&outcome={}",
            enc(id),
            form_enc(outcome)
        ),
    )
    .await;
    assert_eq!(entries.len(), 1, "{outcome} of {id}: {entries:#?}");
    entries[0].clone()
}

/// Entra ID provisions a user (manager, enterprise and custom attributes), changes it,
/// disables it, deletes it and provisions it again; puts it in a group, changes the
/// members, deletes the group. The user's history then shows every value before and after
/// each write, the revival as a rule's side effect, and the group delete's side effects
/// (membership, the user disabled by rule 9) under the group delete's `txn`; the group's
/// history stays readable after the delete.
#[tokio::test]
async fn an_entra_conversation_leaves_every_value_in_the_history() {
    let srv = Server::start();
    let a = srv.admin();
    a.post("/attributes", &json!({"name": "costCode"}))
        .await
        .expect(201);
    let c = srv.client();
    let mgr = c.create_user("boss@example.com", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({
        "schemas": [USER, ENTERPRISE, CUSTOM],
        "userName": "ada@example.com",
        "externalId": "e-1815",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "displayName": "Ada Lovelace",
        "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
        "title": "Analyst",
        "active": true,
        ENTERPRISE: {"department": "Engines", "employeeNumber": "1815"},
        CUSTOM: {"costCode": "CC-1"},
    });
    let r = c.post("/Users", &body).await;
    r.expect(201);
    let uid = r.id();
    let upath = format!("/Users/{uid}");
    let ops = json!([
        {"op": "Replace", "path": "title", "value": "Engineer"},
        {"op": "Replace", "path": "name.familyName", "value": "King"},
        {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Analytical Engines"},
        {"op": "Replace", "path": format!("{ENTERPRISE}:manager"), "value": mgr},
        {"op": "Replace", "path": format!("{CUSTOM}:costCode"), "value": "CC-2"},
    ]);
    c.patch_ops(&upath, ops).await.expect(200);
    // A PUT: the whole user again, with a new title, display name and phone number, and
    // without the manager.
    let mut put = body.clone();
    put["displayName"] = json!("Ada King");
    put["title"] = json!("Director");
    put["name"]["familyName"] = json!("King");
    put["phoneNumbers"] = json!([{"value": "+44 20 7946 0018", "type": "work"}]);
    put[ENTERPRISE]["department"] = json!("Analytical Engines");
    put[CUSTOM]["costCode"] = json!("CC-2");
    c.put(&upath, &put).await.expect(200);
    let off = json!([{"op": "Replace", "path": "active", "value": "False"}]);
    c.patch_ops(&upath, off).await.expect(200);
    assert_eq!(c.delete(&upath).await.status, 204);
    c.post("/Users", &body).await.expect(201);
    let u3 = c.create_user("third@example.com", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let members = json!({"members": [{"value": mgr}]});
    let gid = c.create_group("Analysts", members).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let gpath = format!("/Groups/{gid}");
    let add = json!([{"op": "Add", "path": "members", "value": [{"value": uid}, {"value": u3}]}]);
    assert_eq!(c.patch_ops(&gpath, add).await.status, 204);
    let remove = json!([{"op": "Remove", "path": "members", "value": [{"value": mgr}]}]);
    assert_eq!(c.patch_ops(&gpath, remove).await.status, 204);
    assert_eq!(c.delete(&gpath).await.status, 204);

    let h = all(&a, &format!("/users/{uid}/history")).await;
    let seqs: Vec<i64> = h.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    for r in &h {
        assert!(r["txn"].as_str().is_some_and(|t| t.len() == 36), "{r}");
        assert!(r["time"].is_string(), "{r}");
        assert!(!r.to_string().to_lowercase().contains("password"), "{r}");
    }
    let token = |r: &Value| r["actor"] == json!({"type": "token", "name": "initial"});
    // Created: every value after, nothing before.
    let created = one(&h, "creation", |r| r["outcome"] == "created");
    assert!(
        token(created) && is_request(created, "POST", 201),
        "{created}"
    );
    assert_eq!(created["source"], "scim");
    assert_eq!(
        before_after(created, "userName"),
        (Value::Null, json!("ada@example.com"))
    );
    assert_eq!(
        before_after(created, "emails").1[0]["value"],
        "ada@example.com"
    );
    assert_eq!(
        before_after(created, &format!("{ENTERPRISE}:department")),
        (Value::Null, json!("Engines"))
    );
    assert_eq!(
        before_after(created, &format!("{CUSTOM}:costCode")),
        (Value::Null, json!("CC-1"))
    );
    // The PATCH: each attribute before and after, extension attributes by their full name.
    let patched = one(&h, "PATCH of five attributes", |r| {
        r["outcome"] == "updated" && is_request(r, "PATCH", 200)
    });
    assert_eq!(
        before_after(patched, "title"),
        (json!("Analyst"), json!("Engineer"))
    );
    let (b, af) = before_after(patched, "name");
    assert_eq!(
        (&b["familyName"], &af["familyName"]),
        (&json!("Lovelace"), &json!("King"))
    );
    assert_eq!(af["givenName"], "Ada", "name is recorded whole: {af}");
    assert_eq!(
        before_after(patched, &format!("{ENTERPRISE}:department")),
        (json!("Engines"), json!("Analytical Engines"))
    );
    assert_eq!(
        before_after(patched, &format!("{ENTERPRISE}:manager")),
        (Value::Null, json!({"value": mgr}))
    );
    assert_eq!(
        before_after(patched, &format!("{CUSTOM}:costCode")),
        (json!("CC-1"), json!("CC-2"))
    );
    assert_eq!(patched["changes"].as_array().unwrap().len(), 5, "{patched}");
    // The PUT: what it changed, and only that.
    let replaced = one(&h, "PUT", |r| is_request(r, "PUT", 200));
    assert_eq!(replaced["outcome"], "updated");
    assert_eq!(
        before_after(replaced, "title"),
        (json!("Engineer"), json!("Director"))
    );
    assert_eq!(
        before_after(replaced, "displayName"),
        (json!("Ada Lovelace"), json!("Ada King"))
    );
    let (b, af) = before_after(replaced, "phoneNumbers");
    assert_eq!(b, Value::Null);
    assert_eq!(af[0]["value"], "+44 20 7946 0018");
    assert_eq!(
        before_after(replaced, &format!("{ENTERPRISE}:manager")),
        (json!({"value": mgr}), Value::Null)
    );
    assert_eq!(
        replaced["changes"].as_array().unwrap().len(),
        4,
        "{replaced}"
    );
    // Disabled, then deprovisioned (a soft delete: the state, active already false).
    let disabled = one(&h, "disable", |r| r["outcome"] == "disabled" && token(r));
    assert_eq!(
        before_after(disabled, "active"),
        (json!(true), json!(false))
    );
    let gone = one(&h, "soft delete", |r| r["outcome"] == "deprovisioned");
    assert!(is_request(gone, "DELETE", 204), "{gone}");
    assert_eq!(
        before_after(gone, "state"),
        (json!("inactive"), json!("deprovisioned"))
    );
    // Revived: the request's record, and rule 7's side effect in the same transaction.
    let revived = one(&h, "revival request", |r| {
        r["outcome"] == "revived" && token(r)
    });
    assert!(is_request(revived, "POST", 201), "{revived}");
    assert_eq!(before_after(revived, "active"), (json!(false), json!(true)));
    let rule7 = one(&h, "revival rule", |r| {
        r["outcome"] == "revived" && r["actor"]["type"] == "rule"
    });
    assert_eq!(rule7["txn"], revived["txn"]);
    assert_eq!(rule7["actor"]["name"], "post-revives-deprovisioned-user");
    assert_eq!(rule7["cause"]["rule"], "post-revives-deprovisioned-user");
    assert!(rule7["cause"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("rule 7")));
    assert_eq!(
        before_after(rule7, "state"),
        (json!("deprovisioned"), json!("active"))
    );
    // Membership: added by the group PATCH, removed by the group's delete.
    let group_patches = all(&a, &format!("/groups/{gid}/history")).await;
    let group_add = one(&group_patches, "PATCH add", |r| {
        is_request(r, "PATCH", 204) && change(r, "members")["added"] == 2
    });
    let joined = one(&h, "membership added", |r| r["outcome"] == "member added");
    assert_eq!(joined["txn"], group_add["txn"]);
    assert_eq!(joined["resourceId"], json!(gid));
    assert_eq!(joined["member"], json!({"value": uid, "type": "User"}));
    assert_eq!(
        before_after(joined, "members"),
        (Value::Null, json!({"value": uid, "type": "User"}))
    );
    // The group delete: the log entry's txn is the txn of its side effects on the user.
    let deleted = log_entry(&a, &gid, "group deleted").await;
    let txn = deleted["txn"].as_str().unwrap();
    assert_eq!(
        deleted["actor"],
        json!({"type": "token", "name": "initial"})
    );
    assert_eq!(deleted["cause"]["status"], 204);
    let left = one(&h, "membership removed", |r| {
        r["outcome"] == "member removed"
    });
    assert_eq!(left["txn"], json!(txn));
    let rule9 = one(&h, "rule 9", |r| {
        r["outcome"] == "disabled" && r["actor"]["type"] == "rule"
    });
    assert_eq!(rule9["txn"], json!(txn));
    assert_eq!(rule9["actor"]["name"], "group-delete-disables-members");
    assert_eq!(rule9["cause"]["type"], "rule");
    assert!(rule9["cause"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("group delete disabled independent members")));
    assert_eq!(before_after(rule9, "active"), (json!(true), json!(false)));
    assert_eq!(
        before_after(rule9, "state"),
        (json!("active"), json!("inactive"))
    );
    // u3 was disabled by the same delete; the manager, removed before, was not.
    let t = all(&a, &format!("/users/{u3}/history?txn={txn}")).await;
    assert_eq!(t.len(), 2, "member removed and disabled: {t:#?}");
    let m = all(&a, &format!("/users/{mgr}/history?txn={txn}")).await;
    assert!(m.is_empty(), "{m:#?}");
    assert_eq!(h.len(), 10, "{h:#?}");

    // The group's history, readable after its delete.
    let g = all(&a, &format!("/groups/{gid}/history")).await;
    let gdel = one(&g, "group delete", |r| r["outcome"] == "group deleted");
    assert_eq!(gdel["txn"], json!(txn));
    assert_eq!(
        before_after(gdel, "displayName"),
        (json!("Analysts"), Value::Null)
    );
    assert_eq!(change(gdel, "members")["removed"], 2);
    let gadd = one(&g, "PATCH add", |r| {
        r["outcome"] == "updated" && change(r, "members")["added"] == 2
    });
    assert_eq!(change(gadd, "members")["removed"], 0);
    let added: Vec<&Value> = having(&g, |r| {
        r["outcome"] == "member added" && r["txn"] == gadd["txn"]
    });
    let added: Vec<&str> = added
        .iter()
        .map(|r| r["member"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(sorted(&added), sorted(&[&uid, &u3]));
    let removed_mgr = having(&g, |r| {
        r["outcome"] == "member removed" && r["member"]["value"] == json!(mgr)
    });
    assert_eq!(removed_mgr.len(), 1, "{g:#?}");
    assert_eq!(
        having(&g, |r| r["outcome"] == "member removed"
            && r["txn"] == json!(txn))
        .len(),
        2
    );
    assert_eq!(g.len(), 10, "{g:#?}");
    // The rule's side effects are not provisioning-log entries: one entry per write.
    let log = all(&a, &format!("/provisioning-log?txn={txn}")).await;
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(
        log[0]["changedAttributes"],
        json!(["displayName", "members"])
    );

    // Unknown ids, and ids of the other type, are 404.
    for p in [
        format!("/users/{}/history", guid()),
        format!("/groups/{}/history", guid()),
        format!("/groups/{uid}/history"),
        format!("/users/{gid}/history"),
    ] {
        let r = a.get(&p).await;
        assert_eq!(r.status, 404, "{p}: {}", r.text);
    }
    // The built-in All Users group has no history of its own, and the 404 says why.
    let groups = a.get("/groups?search=All%20Users").await;
    let builtin = groups.json()["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["builtin"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = a.get(&format!("/groups/{builtin}/history")).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert!(r.text.contains("has no history"), "{}", r.text);
}

/// Every provisioning-log entry carries `txn`, `actor`, `cause` and `changes`, and its
/// `changedAttributes` are the attributes of `changes`; its CSV and JSON Lines downloads
/// carry them too.
#[tokio::test]
async fn log_entries_carry_txn_actor_cause_and_changes() {
    let srv = Server::start();
    let a = srv.admin();
    let c = srv.client();
    let id = c
        .create_user("log.keys@example.com", json!({"title": "A"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ops = json!([{"op": "Replace", "path": "title", "value": "=B"}]);
    c.patch_ops(&format!("/Users/{id}"), ops).await.expect(200);
    let entries = all(&a, "/provisioning-log").await;
    assert_eq!(entries.len(), 2, "{entries:#?}");
    for e in &entries {
        let names: Vec<Value> = e["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["attribute"].clone())
            .collect();
        assert_eq!(e["changedAttributes"], Value::Array(names), "{e}");
        assert_eq!(e["actor"], json!({"type": "token", "name": "initial"}));
        assert_eq!(e["cause"]["method"], e["method"]);
        assert_eq!(e["cause"]["path"], e["path"]);
        assert_eq!(e["cause"]["status"], e["status"]);
        assert!(e["txn"].is_string());
    }
    assert_eq!(
        before_after(&entries[0], "title"),
        (json!("A"), json!("=B"))
    );
    let jl = a.get("/provisioning-log?format=jsonl").await;
    jl.expect(200);
    let lines = jl.json_lines();
    assert_eq!(lines, entries, "the download and the pages agree");
    let csv = a.get("/provisioning-log?format=csv").await;
    csv.expect(200);
    let header = csv.text.lines().next().unwrap();
    assert!(header.ends_with(",txn,actor,cause,changes"), "{header}");
    assert!(
        csv.text.contains(entries[0]["txn"].as_str().unwrap()),
        "{}",
        csv.text
    );
    // An object cell is its JSON text; the value `=B` inside it is not a formula.
    assert!(
        csv.text
            .contains(r#""[{""attribute"":""title"",""before"":""A"",""after"":""=B""}]""#),
        "{}",
        csv.text
    );
}

/// A large group write is bounded per record: the request's record says how many members
/// it added, and each member has a small record of its own; a later PUT changing one
/// member writes two member records, not thousands. Both pages and totals stay exact.
#[tokio::test]
async fn a_large_group_write_records_one_small_record_per_member() {
    const N: usize = 2000;
    let srv = Server::start();
    let a = srv.admin();
    let c = srv.client();
    let names: Vec<String> = (0..=N).map(|i| format!("bulk{i:05}@example.com")).collect();
    let ids = c.create_users(names).await;
    let gid = c.create_group("Everyone", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let put = |ids: &[String]| {
        let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
        json!({"schemas": [GROUP], "displayName": "Everyone", "members": members})
    };
    c.put(&format!("/Groups/{gid}"), &put(&ids[..N]))
        .await
        .expect(200);
    let entry = log_entry(&a, &gid, "updated").await;
    assert_eq!(
        entry["changes"],
        json!([{"attribute": "members", "before": null, "after": null, "added": N, "removed": 0}])
    );
    assert!(
        entry.to_string().len() < 1500,
        "the request's record does not grow with the group: {} bytes",
        entry.to_string().len()
    );
    let r = a.get(&format!("/groups/{gid}/history?count=500")).await;
    r.expect(200);
    assert_eq!(
        r.total() as usize,
        N + 2,
        "created, the PUT, one per member"
    );
    let page = r.resources();
    assert_eq!(page.len(), 500);
    for m in page.iter().filter(|m| m["outcome"] == "member added") {
        assert_eq!(m["txn"], entry["txn"]);
        assert_eq!(m["changes"].as_array().unwrap().len(), 1, "{m}");
        assert!(m.to_string().len() < 900, "{m}");
    }
    // One member out, one in: two member records.
    let mut next = ids[1..].to_vec();
    next.truncate(N);
    c.put(&format!("/Groups/{gid}"), &put(&next))
        .await
        .expect(200);
    let r = a.get(&format!("/groups/{gid}/history?count=3")).await;
    assert_eq!(r.total() as usize, N + 5, "{}", r.text);
    let newest = r.resources();
    let outcomes: Vec<&str> = newest
        .iter()
        .map(|x| x["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        sorted(&outcomes[..2]),
        ["member added", "member removed"],
        "{newest:#?}"
    );
    assert_eq!(change(&newest[2], "members")["added"], 1);
    assert_eq!(change(&newest[2], "members")["removed"], 1);
    let first = all(&a, &format!("/users/{}/history", ids[0])).await;
    assert_eq!(
        first
            .iter()
            .map(|r| r["outcome"].clone())
            .collect::<Vec<_>>(),
        [
            json!("member removed"),
            json!("member added"),
            json!("created")
        ]
    );
}

/// A permanent delete (admin API) pseudonymises the person in every record about them, in
/// its transaction: their history is gone (404), the log keeps that the writes happened
/// (outcomes, attributes, actors) but not the values or the name, in pages and downloads;
/// the delete itself is a provisioning-log entry and an audit record.
#[tokio::test]
async fn a_permanent_delete_pseudonymises_the_person() {
    let srv = Server::start();
    let a = srv.admin();
    let c = srv.client();
    let body = json!({"title": "Secret Title", "displayName": "Grace Hopper",
                      "emails": [{"value": "grace.hopper@example.com", "type": "work", "primary": true}]});
    let id = c.create_user("grace.hopper@example.com", body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ops = json!([{"op": "Replace", "path": "title", "value": "Rear Admiral"}]);
    c.patch_ops(&format!("/Users/{id}"), ops).await.expect(200);
    let gid = c
        .create_group("Navy", json!({"members": [{"value": id}]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(c.delete(&format!("/Users/{id}")).await.status, 204);
    a.get(&format!("/users/{id}/history")).await.expect(200);
    let r = a.delete(&format!("/users/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.text);

    let r = a.get(&format!("/users/{id}/history")).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let log = all(&a, &format!("/provisioning-log?text={id}")).await;
    let outcomes: Vec<&str> = log.iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["deleted", "deprovisioned", "updated", "created"]);
    let name = log[0]["resourceName"].as_str().unwrap().to_string();
    assert!(name.starts_with("deleted-user-"), "{name}");
    for e in &log {
        assert_eq!(e["resourceName"], json!(name), "one pseudonym: {e}");
        for ch in e["changes"].as_array().unwrap() {
            assert!(ch["before"].is_null() && ch["after"].is_null(), "{ch}");
            assert_eq!(ch["redacted"], true, "{ch}");
        }
    }
    assert!(log[3]["changedAttributes"]
        .as_array()
        .unwrap()
        .contains(&json!("title")));
    let deleted = &log[0];
    assert!(is_request(deleted, "DELETE", 204), "{deleted}");
    assert_eq!(deleted["actor"]["type"], "admin");
    assert_eq!(deleted["tokenName"], deleted["actor"]["name"]);
    for download in ["csv", "jsonl"] {
        let r = a.get(&format!("/provisioning-log?format={download}")).await;
        r.expect(200);
        for secret in ["grace", "Hopper", "Secret Title", "Rear Admiral"] {
            assert!(
                !r.text.contains(secret),
                "{download} shows {secret}: {}",
                r.text
            );
        }
    }
    let audit = all(&a, "/audit?action=user.delete").await;
    assert_eq!(audit.len(), 1, "{audit:#?}");
    assert_eq!(audit[0]["target"]["id"], json!(id));
    assert_eq!(audit[0]["target"]["name"], json!(name));
    assert_eq!(audit[0]["txn"], deleted["txn"]);
    // The group's history keeps that the member left, by id only.
    let g = all(&a, &format!("/groups/{gid}/history")).await;
    let left = one(&g, "member removed", |r| r["outcome"] == "member removed");
    assert_eq!(left["member"], json!({"value": id, "type": "User"}));
    assert_eq!(left["txn"], deleted["txn"]);
    assert!(!serde_json::to_string(&g).unwrap().contains("grace"));
}
