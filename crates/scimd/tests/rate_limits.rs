//! Rate limits over HTTP against a real scimd (see `crate::rate`): the per-address budget
//! of requests without a valid credential, answered 429 in each surface's format; valid
//! credentials never refused for their address; the per-credential rate with its short
//! queue; client addresses behind trusted proxies, IPv6 by /64.

mod common;

use common::portal::Portal;
use common::site::{Page, Site};
use common::*;
use reqwest::StatusCode;
use std::time::{Duration, Instant};

/// A server with the per-address limit as configured by `args` (not the harness's).
fn limited(args: &[&str]) -> Server {
    Server::start_opts(Opts {
        args: args.iter().map(|a| a.to_string()).collect(),
        rate_limited: true,
        ..Default::default()
    })
}

/// A server whose per-address budget is `per_minute` requests a minute, in bursts of `burst`.
fn budget(per_minute: u32, burst: u32) -> Server {
    let (per_minute, burst) = (per_minute.to_string(), burst.to_string());
    limited(&[
        "--rate-limit-unauthenticated-per-minute",
        &per_minute,
        "--rate-limit-unauthenticated-burst",
        &burst,
    ])
}

/// Runs the CLI command `args` (one with `--json`) against `srv`'s database, checks it
/// succeeded, and answers the JSON it printed.
fn cli_json(srv: &Server, args: &[&str]) -> serde_json::Value {
    let out = srv.cli(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn get(http: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut rb = http.get(url);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    rb.send().await.unwrap()
}

fn retry_after(r: &reqwest::Response) -> u64 {
    r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn requests_without_a_valid_credential_are_limited_per_address() {
    let srv = budget(60, 6);
    let http = srv.http();
    let users = format!("{}/scim/v2/Users", srv.base);
    // A browser signs in once (the right password gives its unit back).
    let p = Portal::new(&srv.base);
    let first = p.attempt("admin", &srv.admin_password, None).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let device = first.device().unwrap();
    // Requests without a token, or with a wrong one, spend the address's budget ...
    for _ in 0..4 {
        assert_eq!(get(&http, &users, &[]).await.status(), 401);
    }
    let wrong = [("authorization", "Bearer 0123456789abcdef")];
    assert_eq!(get(&http, &users, &wrong).await.status(), 401);
    assert_eq!(get(&http, &users, &wrong).await.status(), 401);
    // ... then get 429, in each surface's own format, with Retry-After.
    let r = get(&http, &users, &[]).await;
    assert_eq!(r.status(), 429);
    assert!((1..=60).contains(&retry_after(&r)));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["schemas"][0], ERROR);
    assert_eq!(body["status"], "429");
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("--rate-limit-unauthenticated-per-minute"));
    assert_eq!(get(&http, &users, &wrong).await.status(), 429);
    let r = get(&http, &format!("{}/api/v1/users", srv.base), &[]).await;
    assert_eq!(r.status(), 429);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["status"], 429);
    let r = get(&http, &format!("{}/users", srv.base), &[]).await;
    assert_eq!(r.status(), 429);
    // A portal page, with the portal's security headers (it is answered before the router).
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert!(r.headers().contains_key("content-security-policy"));
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("Too many requests"));
    // A bearer header means nothing to the portal: it does not get a sign-in past the budget.
    let a = p
        .attempt_with("admin", "wrong", None, &[("authorization", "Bearer x")])
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(a.text.contains("Too many requests"), "{}", a.text);
    // Probes, scrapes and static assets are not counted.
    for path in ["/healthz", "/readyz", "/metrics", "/assets/portal.css"] {
        let r = get(&http, &format!("{}{path}", srv.base), &[]).await;
        assert_eq!(r.status(), 200, "{path}");
    }
    // A valid credential from the same address is never refused for it: a token ...
    let bearer = format!("Bearer {}", srv.token);
    for _ in 0..20 {
        let r = get(&http, &users, &[("authorization", bearer.as_str())]).await;
        assert_eq!(r.status(), 200);
    }
    // ... and a browser the administrator signed in with before.
    let a = p.attempt("admin", &srv.admin_password, Some(&device)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text);
    let m = get(&http, &format!("{}/metrics", srv.base), &[]).await;
    let metrics = m.text().await.unwrap();
    assert!(
        metrics.contains("scimd_rate_limited_total{limit=\"address\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_valid_token_on_a_path_no_route_serves_spends_no_budget() {
    let srv = budget(60, 6);
    let b = cli_json(&srv, &["tenant", "create", "--name", "Rate B", "--json"]);
    let (b_url, b_token) = (
        b["scimUrl"].as_str().unwrap(),
        b["scimToken"].as_str().unwrap(),
    );
    let http = srv.http();
    let root_bearer = format!("Bearer {}", srv.token);
    let b_bearer = format!("Bearer {b_token}");
    let (root, b) = (
        [("authorization", root_bearer.as_str())],
        [("authorization", b_bearer.as_str())],
    );
    let schemas = format!("{}/scim/v2/Schemas", srv.base);
    // Three times the burst of requests that no handler answers, each with a valid token:
    // paths no route serves (SCIM, admin API, a tenant's SCIM path) and a method a path does
    // not allow. Each gets its 404 or 405, never 429.
    for i in 0..6 {
        let r = get(&http, &format!("{}/scim/v2/nosuch{i}", srv.base), &root).await;
        assert_eq!(r.status(), 404);
        let r = get(&http, &format!("{}/api/v1/nosuch{i}", srv.base), &root).await;
        assert_eq!(r.status(), 404);
        let r = get(&http, &format!("{b_url}/nosuch{i}"), &b).await;
        assert_eq!(r.status(), 404);
        let r = http
            .post(&schemas)
            .header("authorization", root_bearer.as_str())
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
    }
    // The address's budget is whole: a wrong token on such a path spends it, 6 times ...
    let wrong = [("authorization", "Bearer 0123456789abcdef")];
    for i in 0..6 {
        let r = get(&http, &format!("{}/scim/v2/nosuch{i}", srv.base), &wrong).await;
        assert_eq!(r.status(), 404, "request {i} without a valid credential");
    }
    // ... then it is answered 429, as any request without a valid credential ...
    let r = get(&http, &format!("{}/scim/v2/nosuch", srv.base), &wrong).await;
    assert_eq!(r.status(), 429);
    let r = get(&http, &format!("{}/scim/v2/nosuch", srv.base), &[]).await;
    assert_eq!(r.status(), 429);
    // ... while the valid tokens still get their answers.
    let r = get(&http, &format!("{}/scim/v2/nosuch", srv.base), &root).await;
    assert_eq!(r.status(), 404);
    let r = get(&http, &format!("{b_url}/Users?count=1"), &b).await;
    assert_eq!(r.status(), 200);
}

/// Sum of the `count` of the entries of `entries` (an admin API list's `Resources`, or the
/// auth refusals' `counts`) whose `key` is `value`.
fn counted(entries: &serde_json::Value, key: &str, value: &str) -> u64 {
    entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e[key] == value)
        .map(|e| e["count"].as_u64().unwrap_or(1))
        .sum()
}

#[tokio::test]
async fn a_made_up_credential_over_the_budget_is_refused_before_its_handler_runs() {
    let srv = budget(1, 4);
    let http = srv.http();
    let admin = srv.admin();
    let users = format!("{}/scim/v2/Users", srv.base);
    let refusals = || async {
        let r = admin.get("/auth-refusals").await;
        r.expect(200);
        counted(&r.json()["counts"], "reason", "unknown")
    };
    let failed_signins = || async {
        let r = admin.get("/audit?action=signin.failure").await;
        r.expect(200);
        counted(&r.json()["Resources"], "action", "signin.failure")
    };
    // Within the budget, a wrong token and a wrong password run their handlers: both are
    // recorded (the refusals within a second or so).
    let wrong = [("authorization", "Bearer scimd_0123456789abcdef")];
    assert_eq!(get(&http, &users, &wrong).await.status(), 401);
    let p = Portal::new(&srv.base);
    let a = p.attempt("admin", "wrong", None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.text);
    let deadline = Instant::now() + Duration::from_secs(10);
    while refusals().await < 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(refusals().await, 1);
    assert_eq!(failed_signins().await, 1);
    // The budget spent ...
    while get(&http, &users, &[]).await.status() != 429 {}
    // ... made-up tokens, sessions and trusted-browser cookies are answered 429 without
    // running a handler: nothing more is recorded.
    for i in 0..10 {
        let bearer = format!("Bearer scimd_{i:064x}");
        let r = get(&http, &users, &[("authorization", bearer.as_str())]).await;
        assert_eq!(r.status(), 429);
        let forged = format!("{:032x}.{:064x}", i, i);
        let a = p.attempt("admin", "wrong", Some(&forged)).await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.text);
        let a = p
            .attempt_with("admin", "wrong", None, &[("cookie", "scimd_session=bogus")])
            .await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.text);
    }
    // (Refusals are written at most once a second: give them time to show.)
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(refusals().await, 1);
    assert_eq!(failed_signins().await, 1);
    // A genuine credential still goes on: a token, and a browser the administrator signed
    // in with.
    let bearer = format!("Bearer {}", srv.token);
    let r = get(&http, &users, &[("authorization", bearer.as_str())]).await;
    assert_eq!(r.status(), 200);
}

/// Signs in to `site` sending `cookies` besides the form's own; the page answered.
async fn sign_in_with(site: &Site, user: &str, pass: &str, cookies: &str) -> Page {
    let form = site.get("/signin", "").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text);
    let name = site.cookie_name("scimd_signin");
    let token = form.cookie(&name).unwrap();
    let all = format!("{name}={token}; {cookies}");
    let fields = [
        ("csrf", token.as_str()),
        ("username", user),
        ("password", pass),
    ];
    site.post("/signin", &all, &fields).await
}

/// Over the budget, a trusted browser of a tenant's portal, and of the operator portal, is
/// checked against that portal's own administrators (not the root tenant's), and a session
/// of another portal is not a credential of this one.
#[tokio::test]
async fn over_the_budget_each_portal_knows_its_own_trusted_browsers() {
    let srv = budget(1, 3);
    let acme = cli_json(
        &srv,
        &[
            "tenant", "create", "--name", "Acme", "--slug", "acme", "--json",
        ],
    );
    let (user, pass) = (
        acme["adminUsername"].as_str().unwrap(),
        acme["adminPassword"].as_str().unwrap(),
    );
    let out = srv.cli(&["operator", "create", "olga"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let op_pass = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Password:"))
        .unwrap()
        .trim()
        .to_string();
    let tenant = Site::tenant(&srv, "acme");
    let operator = Site::operator(&srv);
    let root = Site::root(&srv);
    // Signed in once (within the budget: right passwords give their units back), each
    // browser keeps its device cookie; the root admin keeps a session.
    let device = |site: &Site, p: &Page| {
        let name = site.cookie_name("scimd_device");
        format!("{name}={}", p.cookie(&name).unwrap())
    };
    let t = sign_in_with(&tenant, user, pass, "").await;
    assert_eq!(t.status, StatusCode::SEE_OTHER, "{}", t.text);
    let mut o = sign_in_with(&operator, "olga", &op_pass, "").await;
    for _ in 0..30 {
        if o.status == StatusCode::SEE_OTHER {
            break;
        }
        // The operator portal is served within a second of the operator's creation.
        tokio::time::sleep(Duration::from_millis(100)).await;
        o = sign_in_with(&operator, "olga", &op_pass, "").await;
    }
    assert_eq!(o.status, StatusCode::SEE_OTHER, "{}", o.text);
    let r = sign_in_with(&root, "admin", &srv.admin_password, "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let root_session = format!("scimd_session={}", r.cookie("scimd_session").unwrap());
    let (tenant_device, operator_device) = (device(&tenant, &t), device(&operator, &o));
    // The address's budget spent ...
    let users = format!("{}/scim/v2/Users", srv.base);
    while get(&srv.http(), &users, &[]).await.status() != 429 {}
    // ... each trusted browser still signs in to its own portal.
    let a = sign_in_with(&tenant, user, pass, &tenant_device).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text);
    let a = sign_in_with(&operator, "olga", &op_pass, &operator_device).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text);
    // The root portal's session, renamed as the tenant's, is no credential there.
    let renamed = root_session.replacen("scimd_session", &tenant.cookie_name("scimd_session"), 1);
    let a = sign_in_with(&tenant, user, "wrong", &renamed).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.text);
}

/// Over the budget, an OAuth client authenticating with HTTP Basic still gets its token,
/// checked before the endpoint runs; a made-up one gets 429 and is not recorded as a refusal.
#[tokio::test]
async fn over_the_budget_a_genuine_basic_client_gets_its_token() {
    let srv = budget(1, 3);
    let c = cli_json(&srv, &["client", "create", "--name", "okta", "--json"]);
    let (id, secret) = (
        c["clientId"].as_str().unwrap(),
        c["clientSecret"].as_str().unwrap(),
    );
    let http = srv.http();
    let token = |secret: String| {
        let http = http.clone();
        let url = format!("{}/oauth/token", srv.base);
        async move {
            http.post(url)
                .basic_auth(id, Some(secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials")
                .send()
                .await
                .unwrap()
        }
    };
    let users = format!("{}/scim/v2/Users", srv.base);
    while get(&http, &users, &[]).await.status() != 429 {}
    let r = token(secret.to_string()).await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["access_token"].as_str().is_some(), "{body}");
    for _ in 0..5 {
        let r = token(format!("{secret}x")).await;
        assert_eq!(r.status(), 429);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "too_many_requests");
    }
    // (Refusals are written at most once a second.)
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let r = srv.admin().get("/auth-refusals").await;
    assert_eq!(
        counted(&r.json()["counts"], "reason", "invalid_client"),
        0,
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_flood_of_wrong_tokens_gets_429_and_valid_ones_go_on() {
    // The defaults: 60 a minute, bursts of 30.
    let srv = limited(&[]);
    let users = format!("{}/scim/v2/Users?count=1", srv.base);
    let good = srv.client();
    let started = Instant::now();
    let flood = concurrent((0..1500).collect(), 64, |i: usize| {
        let (http, users) = (srv.http(), users.clone());
        async move {
            let r = get(
                &http,
                &users,
                &[("authorization", &format!("Bearer wrong{i}"))],
            )
            .await;
            r.status().as_u16()
        }
    });
    let valid = async {
        let mut statuses = Vec::new();
        for _ in 0..50 {
            statuses.push(good.get("/Users?count=1").await.status);
        }
        statuses
    };
    let (flood, valid) = tokio::join!(flood, valid);
    let refused = flood.iter().filter(|s| **s == 429).count();
    let checked = flood.iter().filter(|s| **s == 401).count();
    eprintln!(
        "1,500 wrong tokens in {:.1} s: {checked} answered 401, {refused} 429",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(refused + checked, 1500);
    // The burst, one more a second for as long as the flood took, and what was in flight
    // (64 connections) when the budget ran out.
    let allowed = 30 + 64 + started.elapsed().as_secs() as usize + 1;
    assert!(checked <= allowed, "{checked} wrong tokens answered 401");
    assert!(valid.iter().all(|s| *s == 200), "{valid:?}");
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_are_counted_apart_ipv6_by_64() {
    let args = [
        "--rate-limit-unauthenticated-per-minute",
        "60",
        "--rate-limit-unauthenticated-burst",
        "2",
    ];
    let proxied = limited(&[&args[..], &["--trusted-proxies", "127.0.0.0/8"]].concat());
    let direct = limited(&args);
    let http = proxied.http();
    let status = |srv: &Server, xff: &str| {
        let (http, url) = (http.clone(), format!("{}/scim/v2/Users", srv.base));
        let xff = xff.to_string();
        async move {
            get(&http, &url, &[("x-forwarded-for", &xff)])
                .await
                .status()
                .as_u16()
        }
    };
    // Behind the trusted proxy each client has its own budget; a client's own forged
    // entries (left of the last untrusted one) do not help it.
    assert_eq!(status(&proxied, "198.51.100.1").await, 401);
    assert_eq!(status(&proxied, "203.0.113.5, 198.51.100.1").await, 401);
    assert_eq!(status(&proxied, "198.51.100.1").await, 429);
    assert_eq!(status(&proxied, "198.51.100.2").await, 401);
    // An IPv6 client is counted by its /64.
    assert_eq!(status(&proxied, "2001:db8:1:2::1").await, 401);
    assert_eq!(status(&proxied, "2001:db8:1:2:ffff::9").await, 401);
    assert_eq!(status(&proxied, "[2001:db8:1:2::77]:443").await, 429);
    assert_eq!(status(&proxied, "2001:db8:1:3::1").await, 401);
    // Without --trusted-proxies the header is ignored: one peer, one budget.
    assert_eq!(status(&direct, "198.51.100.1").await, 401);
    assert_eq!(status(&direct, "198.51.100.2").await, 401);
    assert_eq!(status(&direct, "198.51.100.3").await, 429);
    // The sign-in throttles count the same client address.
    let p = Portal::new(&proxied.base);
    let a = p
        .attempt_with(
            "nobody",
            "password",
            None,
            &[("x-forwarded-for", "192.0.2.44")],
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        proxied.query("SELECT address FROM signin_addresses"),
        "192.0.2.44"
    );
}

#[tokio::test]
async fn a_valid_credential_counts_only_against_itself_and_queues_briefly() {
    let srv = limited(&[
        "--rate-limit-per-credential",
        "5",
        "--rate-limit-burst",
        "5",
    ]);
    let other = srv.new_token("scim");
    // Five at once, the next ones wait their turn (200 ms each) rather than fail.
    let c = srv.client();
    let t = Instant::now();
    for _ in 0..9 {
        c.get("/Users?count=1").await.expect(200);
    }
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(700), "{waited:?}");
    // Beyond a second's wait: 429 with Retry-After and a SCIM body; another token of the
    // same address is not slowed down by it.
    let started = Instant::now();
    let burst = concurrent((0..30).collect(), 30, |_: usize| {
        let c = c.clone();
        async move { c.get("/Users?count=1").await }
    });
    let apart = async {
        let c = srv.client_with(Some(&other));
        let mut statuses = Vec::new();
        for _ in 0..5 {
            statuses.push(c.get("/Users?count=1").await.status);
        }
        statuses
    };
    let (burst, apart) = tokio::join!(burst, apart);
    let took = started.elapsed().as_secs_f64();
    let refused: Vec<_> = burst.iter().filter(|r| r.status == 429).collect();
    // However the 30 arrive (a busy machine spreads them out), the token gets at most its
    // burst, the rate for the time they took, and one second's queue.
    let admitted = burst.len() - refused.len();
    assert!(
        !refused.is_empty() && admitted as f64 <= 5.0 + 5.0 * (took + 1.0) + 1.0,
        "{admitted} admitted, {} refused in {took:.2} s",
        refused.len()
    );
    for r in &refused {
        r.expect_error(429, None);
        assert!(r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("--rate-limit-per-credential"));
        assert!(r.header("retry-after").parse::<u64>().is_ok());
    }
    assert!(burst.iter().all(|r| r.status == 200 || r.status == 429));
    assert_eq!(apart, [200; 5]);
    // The admin API answers its own 429.
    let admin = srv.new_token("admin");
    let bodies = concurrent((0..30).collect(), 30, |_: usize| {
        let (http, url, admin) = (
            srv.http(),
            format!("{}/api/v1/tokens", srv.base),
            admin.clone(),
        );
        async move {
            let r = http.get(url).bearer_auth(admin).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    })
    .await;
    let (_, body) = bodies
        .iter()
        .find(|(s, _)| *s == 429)
        .expect("30 requests at once past 5/s with bursts of 5");
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"]["status"], 429);
}
