//! The audit record over HTTP against a real `scimd serve` (SQLite, or PostgreSQL when
//! `SCIMD_TEST_DATABASE_URL` names a server): administrative actions through the admin API
//! and the command line (settings, custom attributes, tokens, administrators, local users
//! and groups), `GET /api/v1/audit` with its filters and downloads, and no secret in any
//! of it. Portal sign-ins are in `portal.rs`.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Every audit record matching `query`, newest first.
async fn audit(a: &Client, query: &str) -> Vec<Value> {
    let r = a.get(&format!("/audit?count=500&{query}")).await;
    r.expect(200);
    assert_eq!(
        r.total() as usize,
        r.resources().len(),
        "one page: {}",
        r.text
    );
    r.resources()
}

/// Runs a command of the CLI on the server's database; its stdout.
fn cli(srv: &Server, args: &[&str]) -> String {
    let out = srv.cli(args);
    assert!(
        out.status.success(),
        "scimd {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn administrative_actions_are_audit_records() {
    let srv = Server::start();
    let a = srv.admin();
    let tokens = a.get("/tokens").await;
    let admin_name = tokens.resources()[1]["name"].as_str().unwrap().to_string();
    // Through the admin API.
    let r = a
        .patch("/settings", &json!({"blankValuePolicy": "clear"}))
        .await;
    r.expect(200);
    a.post("/attributes", &json!({"name": "badge", "type": "integer"}))
        .await
        .expect(201);
    assert_eq!(a.delete("/attributes/badge").await.status, 204);
    let r = a.create_api_token(&json!({"name": "entra-2"})).await;
    let secret = r.string("secret");
    assert_eq!(a.delete("/tokens/entra-2").await.status, 204);
    let user = json!({"userName": "local@example.com", "name": {"givenName": "L", "familyName": "U"},
                      "emails": [{"value": "local@example.com", "type": "work"}]});
    let uid = a.post("/users", &user).await.id();
    let gid = a
        .post("/groups", &json!({"displayName": "Locals"}))
        .await
        .id();
    let members = json!({"members": [uid]});
    a.post(&format!("/groups/{gid}/members"), &members)
        .await
        .expect(200);
    let r = a.delete(&format!("/groups/{gid}/members/{uid}")).await;
    assert_eq!(r.status, 204);
    assert_eq!(a.delete(&format!("/groups/{gid}")).await.status, 204);
    // Through the command line.
    cli(&srv, &["settings", "set", "refuseInactiveCreate", "false"]);
    let password = cli(&srv, &["admin", "create", "--username", "ops"]);
    let reset = cli(&srv, &["admin", "reset-password", "--username", "ops"]);

    let all = audit(&a, "").await;
    let mut by_action: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for r in &all {
        by_action
            .entry(r["action"].as_str().unwrap().to_string())
            .or_default()
            .push(r);
    }
    let counts: BTreeMap<&str, usize> = by_action
        .iter()
        .map(|(k, v)| (k.as_str(), v.len()))
        .collect();
    assert_eq!(
        counts,
        BTreeMap::from([
            ("administrator.create", 2),
            ("administrator.reset-password", 1),
            ("attribute.create", 1),
            ("attribute.delete", 1),
            ("group.add-members", 1),
            ("group.create", 1),
            ("group.delete", 1),
            ("group.remove-members", 1),
            ("settings.update", 2),
            ("tenant.create", 1),
            ("token.create", 3),
            ("token.revoke", 1),
            ("user.create", 1),
        ]),
        "first start (tenant, token, administrator), the CLI's admin token, then every action: {all:#?}"
    );
    // The admin API: the token's name, the client's address, the request.
    let api = |action: &str| -> &Value {
        by_action[action]
            .iter()
            .find(|r| r["source"] == "api")
            .unwrap_or_else(|| panic!("{action} through the API"))
    };
    let s = api("settings.update");
    assert_eq!(s["actor"], json!({"type": "admin", "name": admin_name}));
    assert_eq!(s["address"], "127.0.0.1");
    assert_eq!(s["cause"]["method"], "PATCH");
    assert_eq!(s["cause"]["path"], "/api/v1/settings");
    assert_eq!(s["target"]["type"], "Settings");
    let policy = s["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["attribute"] == "blankValuePolicy")
        .unwrap();
    assert_eq!(
        (&policy["before"], &policy["after"]),
        (&json!("ignore"), &json!("clear"))
    );
    assert_eq!(api("token.create")["target"]["name"], "entra-2");
    assert_eq!(api("token.revoke")["target"]["name"], "entra-2");
    assert_eq!(api("attribute.delete")["target"]["name"], "badge");
    assert_eq!(api("user.create")["target"]["id"], json!(uid));
    let add = api("group.add-members");
    assert_eq!(add["changes"][0]["added"], 1);
    // The command line: the operating-system user, the command, no address.
    let cli_settings = by_action["settings.update"]
        .iter()
        .find(|r| r["source"] == "cli")
        .unwrap();
    assert_eq!(cli_settings["actor"]["type"], "cli");
    assert_eq!(
        cli_settings["cause"],
        json!({"type": "command", "command": "scimd settings set"})
    );
    assert!(cli_settings["address"].is_null());
    let first_start = by_action["administrator.create"]
        .iter()
        .find(|r| r["target"]["name"] == "admin")
        .unwrap();
    assert_eq!(first_start["cause"]["command"], "scimd serve (first start)");
    // Never a secret, a password or a hash, in a page or a download.
    let page = serde_json::to_string(&all).unwrap();
    let csv = a.get("/audit?format=csv").await;
    let jsonl = a.get("/audit?format=jsonl").await;
    for text in [&page, &csv.text, &jsonl.text] {
        for s in [&secret, &password, &reset, &"$argon2".to_string()] {
            assert!(!text.contains(s.as_str()), "{s} in {text}");
        }
    }
    // Downloads: every record, the JSON keys as the CSV header.
    csv.expect(200);
    assert_eq!(
        csv.text.lines().next().unwrap(),
        "seq,time,txn,actor,source,address,action,target,outcome,detail,changes,count,cause"
    );
    assert_eq!(csv.text.lines().count(), all.len() + 1);
    assert!(csv
        .header("content-disposition")
        .contains("filename=\"audit-"));
    let lines = jsonl.json_lines();
    assert_eq!(lines, all);

    // Filters.
    assert_eq!(audit(&a, "action=TOKEN.CREATE").await.len(), 3);
    let cli_made = audit(&a, "source=cli").await;
    assert_eq!(
        cli_made.len(),
        7,
        "first start (3: tenant, token, administrator), then 4 commands: {cli_made:#?}"
    );
    assert!(cli_made.iter().all(|r| r["actor"]["type"] == "cli"));
    let mine = audit(&a, &format!("actor={admin_name}")).await;
    assert_eq!(mine.len(), 10, "{mine:#?}");
    let badge = audit(&a, "text=BADGE").await;
    assert_eq!(badge.len(), 2);
    let txn = s["txn"].as_str().unwrap();
    assert_eq!(audit(&a, &format!("txn={txn}")).await, vec![s.clone()]);
    assert!(audit(&a, "since=2999-01-01T00:00:00Z").await.is_empty());
    assert_eq!(
        audit(&a, "until=2000-01-01T00:00:00Z&action=signin")
            .await
            .len(),
        0
    );
    for bad in ["action=nope", "source=scim", "since=yesterday"] {
        let r = a.get(&format!("/audit?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
    // The local user's history starts with the administrator's action, and has the
    // membership changes of the local group.
    let h = a.get(&format!("/users/{uid}/history")).await;
    h.expect(200);
    let records = h.resources();
    let outcomes: Vec<&str> = records
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .map(|s| if s.starts_with("member") { s } else { "other" })
        .collect();
    assert_eq!(
        outcomes,
        ["member removed", "member added", "other"],
        "{}",
        h.text
    );
    let created = &records[2];
    assert_eq!(created["action"], "user.create");
    assert_eq!(created["source"], "api");
}
