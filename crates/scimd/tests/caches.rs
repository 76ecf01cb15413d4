//! Per-request lookups from memory (issue 15, `scimd_directory::cache`): a running server
//! keeps tokens, access tokens and each tenant's settings and custom attributes in memory,
//! and drops them when any process changes them — at once in its own process, within a
//! second when another process (the CLI, another instance) did, by the deployment fact
//! `config_version` every store transaction that changes them rewrites. Against real
//! `scimd serve` processes, on SQLite and (with SCIMD_TEST_DATABASE_URL) PostgreSQL,
//! including every database connection of the server killed (`pg_terminate_backend`).

mod common;

use common::{exec_db, Client, Server};
use serde_json::json;
use std::time::{Duration, Instant};

/// How long after a change made by another process the server must have seen it. The
/// design bound is one poll (250 ms) plus a read; the test allows for a loaded machine.
const WITHIN: Duration = Duration::from_secs(2);

/// Polls `path` with `c` until it answers `status`; how long that took, or `None` after
/// `within`.
async fn until_status(c: &Client, path: &str, status: u16, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if c.get(path).await.status == status {
            return Some(start.elapsed());
        }
        if start.elapsed() > within {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Revokes the newest SCIM token with the CLI (another process than the server); how long
/// until `c` (which presents it) is refused, `None` after [`WITHIN`].
async fn revoke_newest(s: &Server, c: &Client) -> Option<Duration> {
    let name = s.query("SELECT name FROM tokens WHERE scope = 'scim' ORDER BY seq DESC LIMIT 1");
    let out = s.cli(&["token", "revoke", &name]);
    assert!(out.status.success());
    until_status(c, "/Users", 401, WITHIN).await
}

/// A token is looked up from memory: deleted from the database behind the server's back
/// (without the version fact changing), it still works; once the fact changes, it is
/// refused within a second. What the store's own changes do is the next test.
#[tokio::test]
async fn a_cached_token_is_dropped_when_the_configuration_version_changes() {
    let s = Server::start();
    let secret = s.new_token("scim");
    // The token's creation (by the CLI) drops the server's caches when its watcher sees it:
    // let it see it before the token is cached.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let c = Client::new(&s.scim, Some(&secret));
    c.get("/Users").await.expect(200);
    // The server has cached it now.
    let name = s.query("SELECT name FROM tokens WHERE scope = 'scim' ORDER BY seq DESC LIMIT 1");
    exec_db(
        &s.database_url,
        &format!("DELETE FROM tokens WHERE name = '{name}'"),
    );
    // Still served from memory: the deletion did not go through the store.
    tokio::time::sleep(Duration::from_millis(700)).await;
    c.get("/Users").await.expect(200);
    // A change of the version fact (as any store transaction changing tokens writes it):
    // dropped within a second.
    exec_db(
        &s.database_url,
        "UPDATE deployment SET value = 'changed-by-test' WHERE name = 'config_version'",
    );
    let took = until_status(&c, "/Users", 401, WITHIN).await;
    assert!(
        took.is_some(),
        "the deleted token still works after {WITHIN:?}"
    );
    eprintln!("token dropped {took:?} after the version changed");
}

/// A token revoked from the command line (another process) stops working on the running
/// server within a second; one revoked through the server itself at once.
#[tokio::test]
async fn revocations_reach_the_running_server() {
    let s = Server::start();
    let secret = s.new_token("scim");
    let c = Client::new(&s.scim, Some(&secret));
    for _ in 0..3 {
        c.get("/Users").await.expect(200);
    }
    let took = revoke_newest(&s, &c).await;
    assert!(
        took.is_some(),
        "a token revoked from the CLI still works after {WITHIN:?}"
    );
    eprintln!("CLI revocation seen after {took:?}");

    // Through the server's own admin API: at once.
    let admin = s.admin();
    let r = admin
        .post("/tokens", &json!({"name": "via-api", "scope": "scim"}))
        .await;
    r.expect(201);
    let via_api = Client::new(&s.scim, r.json()["secret"].as_str());
    via_api.get("/Users").await.expect(200);
    admin.delete("/tokens/via-api").await.expect(204);
    via_api.get("/Users").await.expect(401);

    // Settings and custom attributes changed from the CLI are seen as well: a custom
    // attribute defined through the admin API is published at once, a settings change from
    // the command line within a second.
    let urn = "urn:ietf:params:scim:schemas:extension:cachetest:2.0:User";
    let out = s.cli(&["settings", "set", "customSchemaUrn", urn]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    admin
        .post("/attributes", &json!({"name": "badge"}))
        .await
        .expect(201);
    let scim = s.client();
    let start = Instant::now();
    loop {
        let r = scim.get("/Schemas").await;
        if r.text.contains(urn) && r.text.contains("badge") {
            break;
        }
        assert!(
            start.elapsed() < WITHIN,
            "the new URN is not published: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// On PostgreSQL, every connection of the server killed (`pg_terminate_backend`, as a
/// failover or an administrator would): a revocation made afterwards from the command line
/// still reaches it within a second (nothing depends on one connection staying up).
#[tokio::test]
async fn a_killed_connection_loses_no_revocation() {
    let Some(_) = common::postgres_admin_url() else {
        eprintln!("skipped: PostgreSQL only (SCIMD_TEST_DATABASE_URL)");
        return;
    };
    let s = Server::start();
    if !s.database_url.starts_with("postgres") {
        eprintln!("skipped: this run's server is on SQLite");
        return;
    }
    let secret = s.new_token("scim");
    let c = Client::new(&s.scim, Some(&secret));
    c.get("/Users").await.expect(200);
    let killed = s.query(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    assert_ne!(killed, "0", "no connection of the server was found to kill");
    let took = revoke_newest(&s, &c).await;
    assert!(
        took.is_some(),
        "revoked after the server's connections were killed, still works after {WITHIN:?}"
    );
    // And the server serves on.
    s.client().get("/Users").await.expect(200);
}
