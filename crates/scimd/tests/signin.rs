//! The portal's sign-in under abuse, over HTTP against a real scimd (SQLite, or PostgreSQL
//! when `SCIMD_TEST_DATABASE_URL` is a `postgres://` URL):
//!
//! - a password spray over many usernames from one address stops after the address budget;
//! - one username slows down after five attempts, and `scimd admin unlock` ends it;
//! - a browser the administrator signed in with before is not slowed down by others;
//! - usernames that cannot exist are neither stored nor logged, and no field forges a log
//!   line;
//! - sign-ins beyond the password-hashing turns and their short queue get 503 at once, while
//!   SCIM keeps answering.
//!
//! Two instances on one PostgreSQL counting one username are in `postgres_cluster.rs`.

mod common;

use common::portal::Portal;
use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn a_spray_across_usernames_stops_at_the_address_budget() {
    let srv = Server::start();
    let p = Portal::new(&srv.base);
    let mut statuses = Vec::new();
    for i in 0..200 {
        let a = p.attempt(&format!("user{i}"), "Summer2026!", None).await;
        statuses.push(a.status.as_u16());
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(a.text.contains("from your network address"), "{}", a.text);
            let wait = a.retry_after().expect("Retry-After on 429");
            assert!((1..=45).contains(&wait), "Retry-After {wait}");
        }
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked, 20, "the address budget: {statuses:?}");
    assert_eq!(throttled, 180, "{statuses:?}");
    // The right password from this address is refused too, for now: the address is spent.
    let a = p.attempt("admin", &srv.admin_password, None).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    // One record per address and per username tried, none of them kept past its window.
    assert_eq!(srv.query("SELECT count(*) FROM signin_addresses"), "1");
    assert_eq!(srv.query("SELECT count(*) FROM signin_throttle"), "20");
}

#[tokio::test]
async fn one_username_slows_down_and_unlock_ends_it() {
    let srv = Server::start();
    let out = srv.cli(&["admin", "create", "--username", "ops"]);
    assert!(out.status.success());
    let ops = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let p = Portal::new(&srv.base);
    for n in 1..=5 {
        let a = p.attempt("OPS", "wrong password", None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "attempt {n}");
        if n == 5 {
            assert!(
                a.text
                    .contains("Further attempts are blocked for 5 seconds"),
                "{}",
                a.text
            );
        }
    }
    // The sixth, even with the right password, is not checked before the wait is over.
    let a = p.attempt("ops", &ops, None).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(a.text.contains("for this username"), "{}", a.text);
    assert!(
        matches!(a.retry_after(), Some(1..=5)),
        "{:?}",
        a.retry_after()
    );
    // Another username is not slowed down.
    let a = p.attempt("admin", "wrong password", None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // `scimd admin unlock USERNAME` ends the wait at once.
    let out = srv.cli(&["admin", "unlock", "ops"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = p.attempt("ops", &ops, None).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text);
    // The unlock is an administrative action in the audit record, made on the command line.
    let audit = srv.admin().get("/audit?action=administrator.unlock").await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    let records = audit.json()["Resources"].as_array().unwrap().clone();
    assert_eq!(records.len(), 1, "{}", audit.text);
    assert_eq!(records[0]["source"], "cli");
    assert_eq!(records[0]["target"]["name"], "ops");
    assert!(records[0]["detail"].as_str().unwrap().contains("cleared"));
    let out = srv.cli(&["admin", "unlock", "nobody"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no administrator named 'nobody'"));
}

#[tokio::test]
async fn a_trusted_browser_is_not_slowed_down_by_others() {
    let srv = Server::start();
    let p = Portal::new(&srv.base);
    let first = p.attempt("admin", &srv.admin_password, None).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let device = first.device().expect("a device cookie");
    // Someone else hammers the username and the address.
    for _ in 0..25 {
        let a = p.attempt("admin", "guess", None).await;
        assert_ne!(a.status, StatusCode::SEE_OTHER);
    }
    assert_eq!(
        p.attempt("admin", &srv.admin_password, None).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The administrator's browser signs in at once, and keeps its cookie.
    let a = p.attempt("admin", &srv.admin_password, Some(&device)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text);
    assert_eq!(a.device().as_deref(), Some(device.as_str()));
    // Its own wrong passwords slow it down like any other browser, apart.
    for _ in 0..5 {
        let a = p.attempt("admin", "typo", Some(&device)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let a = p.attempt("admin", &srv.admin_password, Some(&device)).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    // A forged or foreign cookie is no cookie: this address is still spent.
    let forged = format!("{}.{}", "ab".repeat(16), "00".repeat(32));
    let a = p.attempt("admin", &srv.admin_password, Some(&forged)).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(a.text.contains("from your network address"), "{}", a.text);
}

#[tokio::test]
async fn impossible_usernames_are_neither_stored_nor_logged() {
    let srv = Server::start();
    let p = Portal::new(&srv.base);
    let log_before = srv.stderr().len();
    let huge = "x".repeat(60 * 1024);
    for _ in 0..15 {
        let a = p.attempt(&huge, "password", None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert!(
            !a.text.contains(&huge[..100]),
            "the username is not shown back"
        );
    }
    // A username with a line break: refused as wrong, and the log gets no second line.
    let forged = "admin\n2026-01-01T00:00:00Z  INFO scimd: portal sign-in admin=\"root\"";
    let a = p.attempt(forged, "password", None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // A valid username with a wrong password is logged as a quoted field.
    let a = p.attempt("nobody.at.all", "password", None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !srv.stderr().contains("nobody.at.all") {
        assert!(std::time::Instant::now() < deadline, "{}", srv.logs());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let log = srv.stderr()[log_before..].to_string();
    assert!(log.contains("username=\"nobody.at.all\""), "{log}");
    assert!(
        !log.contains("xxxxxxxxxx"),
        "a 60 KiB username reached the log"
    );
    assert!(
        !log.lines().any(|l| l.starts_with("2026-01-01T00:00:00Z")),
        "a forged log line: {log}"
    );
    // Some 300 bytes of request log per request; a logged username would be 60 KiB.
    assert!(
        log.len() < 32 * 1024,
        "{} bytes of log for 17 attempts",
        log.len()
    );
    // Nothing was stored for the impossible usernames: one record, the possible one's.
    assert_eq!(
        srv.query("SELECT count(*) || ' ' || max(username_folded) FROM signin_throttle"),
        "1 nobody.at.all"
    );
}

#[tokio::test]
async fn sign_ins_beyond_the_hashing_queue_get_503_and_scim_goes_on() {
    let srv = Server::start();
    let scim = srv.client();
    // 80 wrong passwords at once, each for another username: far more than one turn per CPU
    // plus a queue of 4 per turn.
    let flood = concurrent((0..80).collect(), 80, |i: usize| {
        let p = Portal::new(&srv.base);
        async move {
            let a = p.attempt(&format!("sprayed{i}"), "Winter2026!", None).await;
            (a.status.as_u16(), a.retry_after(), a.text)
        }
    });
    let lookups = async {
        let mut statuses = Vec::new();
        for _ in 0..10 {
            statuses.push(
                scim.get("/Users?filter=userName eq \"nobody\"")
                    .await
                    .status,
            );
        }
        statuses
    };
    let (flood, lookups) = tokio::join!(flood, lookups);
    let busy: Vec<_> = flood.iter().filter(|(s, ..)| *s == 503).collect();
    assert!(
        !busy.is_empty(),
        "{:?}",
        flood.iter().map(|f| f.0).collect::<Vec<_>>()
    );
    for (_, retry, text) in &busy {
        assert_eq!(*retry, Some(1));
        assert!(text.contains("the server is busy"), "{text}");
    }
    assert!(
        flood.iter().all(|(s, ..)| [401, 429, 503].contains(s)),
        "{:?}",
        flood.iter().map(|f| f.0).collect::<Vec<_>>()
    );
    assert_eq!(lookups, [200; 10]);
    // A busy answer is not an attempt: only the passwords checked (401) were counted for
    // their usernames (an administrator retrying a busy server must not slow itself down).
    let checked = flood.iter().filter(|(s, ..)| *s == 401).count();
    assert_eq!(
        srv.query("SELECT count(*) FROM signin_throttle WHERE username_folded LIKE 'sprayed%'"),
        checked.to_string()
    );
}
