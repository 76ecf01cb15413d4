//! `/readyz` answers 503 with the reason when the database answers reads but cannot take
//! writes, on both back ends: a SQLite file made read-only (scimd restarted on it, as after
//! a crash that left the file system read-only) and a PostgreSQL database whose new
//! connections are read-only (`default_transaction_read_only`, as a replica). Reads go on;
//! writes are refused with a 503 that says why.

mod common;

use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

/// Polls `/readyz` until its status is `want`; the last body.
async fn readyz_until(srv: &Server, want: u16) -> serde_json::Value {
    let http = srv.http();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = http
            .get(format!("{}/readyz", srv.base))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap();
        if status == want {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz stayed {status} {body}; {}",
            srv.logs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Sets `path` read-only for this process: mode 0444, and when running as root (which
/// file modes do not stop) the immutable attribute. Panics when the file stays writable.
fn make_read_only(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let _ = std::process::Command::new("chattr")
            .arg("+i")
            .arg(path)
            .status();
    }
    assert!(
        std::fs::OpenOptions::new().write(true).open(path).is_err(),
        "{} is still writable: run the tests as a user other than root, or as root with \
         CAP_LINUX_IMMUTABLE and `chattr`",
        path.display()
    );
}

fn make_writable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::process::Command::new("chattr")
        .arg("-i")
        .arg(path)
        .status();
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644));
}

#[tokio::test]
async fn a_read_only_sqlite_database_is_not_ready() {
    let dir = fresh_test_dir("readonly");
    let db = dir.join("scimd.db");
    let url = format!("sqlite://{}", db.display());
    let opts = || Opts {
        database_url: Some(url.clone()),
        dir: Some(dir.clone()),
        ..Default::default()
    };
    let srv = Server::start_opts(opts());
    let token = srv.new_token("scim");
    assert_eq!(readyz_until(&srv, 200).await, json!({"status": "ready"}));
    let c = srv.client_with(Some(&token));
    c.create_user("kept@example.com", json!({})).await;
    srv.signal(libc::SIGTERM);
    assert!(srv
        .wait_exit(Duration::from_secs(30))
        .is_some_and(|s| s.success()));
    drop(srv);

    make_read_only(&db);
    let srv = Server::start_opts(opts());
    let body = readyz_until(&srv, 503).await;
    assert_eq!(body["status"], "unavailable");
    assert_eq!(
        body["detail"], "the database cannot take writes: the database is read-only",
        "{body}"
    );
    // Alive, and reads are served; writes say why they fail, and change nothing.
    let http = srv.http();
    let health = http.get(format!("{}/healthz", srv.base)).send().await;
    assert_eq!(health.unwrap().status(), 200);
    let c = srv.client_with(Some(&token));
    let found = c
        .filter_user_names("userName eq \"kept@example.com\"")
        .await;
    assert_eq!(found, ["kept@example.com"]);
    let r = c
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "new@example.com", "name": {"givenName": "N", "familyName": "N"}, "emails": [{"value": "new@example.com", "type": "work", "primary": true}]}),
        )
        .await;
    r.expect_error(503, None);
    assert!(
        r.json()["detail"].as_str().unwrap().contains("read-only"),
        "{}",
        r.text
    );
    drop(srv);
    make_writable(&db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_read_only_postgres_database_is_not_ready() {
    let Some(admin) = postgres_admin_url() else {
        eprintln!(
            "SCIMD_TEST_DATABASE_URL is not a postgres:// URL: PostgreSQL readiness test skipped"
        );
        return;
    };
    let srv = Server::start();
    let name = srv
        .database_url
        .split('?')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(readyz_until(&srv, 200).await, json!({"status": "ready"}));
    // New connections to the database are read-only from now on (a replica, a database an
    // operator set read-only); the server's connections are ended, so it reconnects.
    let reconnect = || {
        psql(
            &admin,
            &format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{name}'"
            ),
        )
    };
    psql(
        &admin,
        &format!("ALTER DATABASE \"{name}\" SET default_transaction_read_only = on"),
    );
    reconnect();
    let body = readyz_until(&srv, 503).await;
    assert_eq!(
        body["detail"], "the database cannot take writes: the database is read-only",
        "{body}"
    );
    let c = srv.client();
    c.get("/Users?count=1").await.expect(200);
    let r = c
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "Refused"}),
        )
        .await;
    r.expect_error(503, None);
    assert!(r.text.contains("read-only"), "{}", r.text);
    // Writable again: ready again.
    psql(
        &admin,
        &format!("ALTER DATABASE \"{name}\" RESET default_transaction_read_only"),
    );
    reconnect();
    assert_eq!(readyz_until(&srv, 200).await, json!({"status": "ready"}));
    c.create_group("Accepted", json!({})).await;
}
