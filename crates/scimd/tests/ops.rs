//! Operating scimd: health and readiness, metrics, the token CLI, request ids, first-start
//! banner, configuration layers, logs without secrets, graceful shutdown.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A secret as scimd shows it: `scimd_` and 64 hex characters (64 hex characters alone for
/// the tokens of a database made before issue 16).
fn is_secret(s: &str) -> bool {
    let hex = s.strip_prefix("scimd_").unwrap_or(s);
    hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

#[tokio::test]
async fn health_and_readiness() {
    let srv = Server::shared();
    let http = srv.http();
    for (path, status) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let r = http
            .get(format!("{}{path}", srv.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({ "status": status }),
            "{path}"
        );
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_method_and_status() {
    let srv = Server::shared();
    let c = srv.client();
    c.get("/Users?count=1").await.expect(200);
    c.get(&format!("/Users/{}", guid())).await.expect(404);
    srv.client_with(None).get("/Groups").await.expect(401);
    let r = srv
        .http()
        .get(format!("{}/metrics", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ct.starts_with("text/plain"), "metrics Content-Type {ct}");
    let text = r.text().await.unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("scimd_http_requests_total{"))
        .collect();
    let has = |route: &str, method: &str, status: &str| {
        lines.iter().any(|l| {
            l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("method=\"{method}\""))
                && l.contains(&format!("status=\"{status}\""))
        })
    };
    assert!(has("/scim/v2/Users", "GET", "200"), "{text}");
    assert!(has("/scim/v2/Users/{id}", "GET", "404"), "{text}");
    assert!(has("/scim/v2/Groups", "GET", "401"), "{text}");
    assert!(
        text.contains("scimd_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE scimd_http_requests_total counter"),
        "{text}"
    );
}

#[tokio::test]
async fn token_create_list_revoke() {
    let srv = Server::start();
    let name = unique("ci");
    let out = srv.cli(&["token", "create", "--name", &name]);
    assert!(
        out.status.success(),
        "token create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "token create prints only the secret: {stdout:?}"
    );
    let secret = stdout.trim().to_string();
    assert!(is_secret(&secret), "{secret:?}");
    assert!(secret.starts_with("scimd_"), "{secret:?}");
    assert_ne!(secret, srv.token);
    // The new token works at once.
    let c = srv.client_with(Some(&secret));
    c.get("/Users?count=1").await.expect(200);
    // A second token with the same name is refused.
    let dup = srv.cli(&["token", "create", "--name", &name]);
    assert!(!dup.status.success());
    assert!(dup.stdout.is_empty(), "no secret printed on failure");
    // list shows names and scopes, never secrets.
    let out = srv.cli(&["token", "list"]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.lines().next().unwrap().starts_with("NAME"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(&name) && l.contains("scim")),
        "{table}"
    );
    assert!(table.lines().any(|l| l.starts_with("initial")), "{table}");
    assert!(
        !table.contains(&secret) && !table.contains(&srv.token),
        "{table}"
    );
    // ... and as JSON, the admin API's shape of a token.
    let out = srv.cli(&["token", "list", "--json"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains(&secret) && !text.contains(&srv.token),
        "{text}"
    );
    let listed: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mine = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == json!(name))
        .unwrap_or_else(|| panic!("{name} not in {listed}"));
    assert_eq!(mine["scope"], json!("scim"), "{mine}");
    assert_eq!(mine["revoked"], Value::Null, "{mine}");
    assert!(
        mine["created"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{mine}"
    );
    // Revoke: the token stops working, the others keep working.
    let out = srv.cli(&["token", "revoke", &name]);
    assert!(
        out.status.success(),
        "revoke: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // (The running server sees a revocation by another process within a second.)
    common::answers_within(&c, "/Users?count=1", 401)
        .await
        .expect_error(401, None);
    srv.client().get("/Users?count=1").await.expect(200);
    let out = srv.cli(&["token", "list"]);
    let table = String::from_utf8(out.stdout).unwrap();
    let line = table.lines().find(|l| l.starts_with(&name)).unwrap();
    assert!(
        !line.trim_end().ends_with(" -"),
        "revoked time shown: {line}"
    );
    // Revoking again, or an unknown name, fails.
    assert!(!srv.cli(&["token", "revoke", &name]).status.success());
    assert!(!srv
        .cli(&["token", "revoke", "no-such-token"])
        .status
        .success());
    // The name can be reused after revocation.
    let out = srv.cli(&["token", "create", "--name", &name]);
    assert!(out.status.success());
    let again = String::from_utf8(out.stdout).unwrap().trim().to_string();
    srv.client_with(Some(&again))
        .get("/Users?count=1")
        .await
        .expect(200);
    // An admin token is not a SCIM token.
    let out = srv.cli(&[
        "token",
        "create",
        "--name",
        &unique("adm"),
        "--scope",
        "admin",
    ]);
    assert!(out.status.success());
    let admin = String::from_utf8(out.stdout).unwrap().trim().to_string();
    srv.client_with(Some(&admin))
        .get("/Users?count=1")
        .await
        .expect_error(403, None);
    // Revoking the bootstrap token works as well.
    assert!(srv.cli(&["token", "revoke", "initial"]).status.success());
    // (Seen by the running server within a second.)
    common::answers_within(&srv.client(), "/Users?count=1", 401)
        .await
        .expect_error(401, None);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let srv = Server::shared();
    let c = srv.client();
    let r = c.get("/Users?count=1").await;
    let id = r.header("x-request-id");
    assert!(!id.is_empty(), "x-request-id missing: {:?}", r.headers);
    let r2 = c.get("/Users?count=1").await;
    assert_ne!(r2.header("x-request-id"), id, "a new id per request");
    // Errors too, and a client-supplied id is echoed.
    let mine = unique("req");
    let r = c
        .send(
            c.req(reqwest::Method::GET, &format!("/Users/{}", guid()))
                .header("x-request-id", &mine),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-request-id"), mine);
    // The id appears in the server's log.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !srv.stderr().contains(&mine) {
        assert!(
            Instant::now() < deadline,
            "request id {mine} not in the log; {}",
            srv.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn first_start_writes_url_and_token_once_and_data_persists() {
    let srv = Server::start();
    // The secrets are in the data folder's first-start-secrets.txt, for this user only ...
    let file = srv.dir.join("first-start-secrets.txt");
    let out = std::fs::read_to_string(&file).unwrap();
    assert!(
        out.contains(&format!("SCIM Tenant URL: {}", srv.scim)),
        "{out}"
    );
    assert!(
        out.contains(&format!("Secret Token: {}", srv.token)),
        "{out}"
    );
    assert!(out.contains("Administrator: admin\nPassword: "), "{out}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    // ... and stdout, which is not a terminal here (a journal, a container log), only says
    // where they are.
    assert!(!srv.stdout.contains(&srv.token), "{}", srv.stdout);
    assert!(!srv.stdout.contains(&srv.admin_password), "{}", srv.stdout);
    assert!(
        srv.stdout.contains(&file.display().to_string()),
        "{}",
        srv.stdout
    );
    assert!(is_secret(&srv.token));
    let c = srv.client();
    let u = c.create_user(&unique("persist"), json!({})).await;
    let id = u["id"].as_str().unwrap().to_string();
    srv.signal(libc::SIGTERM);
    let st = srv
        .wait_exit(Duration::from_secs(30))
        .expect("scimd exits after SIGTERM");
    assert!(st.success(), "{st}; {}", srv.logs());
    // Second start on the same database: no new token, the old one works, the data is there.
    let again = Server::start_opts(Opts {
        database_url: Some(srv.database_url.clone()),
        dir: Some(srv.dir.clone()),
        ..Default::default()
    });
    assert!(
        again.token.is_empty(),
        "a second start writes no token: {}",
        again.stdout
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        out,
        "the first start's file is left as it was"
    );
    assert!(
        !again.stdout_now().contains("Secret Token"),
        "{}",
        again.stdout_now()
    );
    let c2 = again.client_with(Some(&srv.token));
    let r = c2.get_ok(&format!("/Users/{id}")).await;
    assert_eq!(r.json()["userName"], u["userName"]);
}

#[tokio::test]
async fn public_url_from_flag_environment_and_config_file() {
    let check = |srv: &Server, want: &'static str| {
        let c = srv.client();
        async move {
            let u = c.create_user(&unique("pub"), json!({})).await;
            let id = u["id"].as_str().unwrap();
            assert_eq!(
                u["meta"]["location"],
                json!(format!("{want}/scim/v2/Users/{id}"))
            );
            let r = c.get(&format!("/Users/{id}")).await;
            assert_eq!(
                r.json()["meta"]["location"],
                json!(format!("{want}/scim/v2/Users/{id}"))
            );
        }
    };
    let srv = Server::start_args(&["--public-url", "https://scim.example.com"]);
    assert!(
        srv.first_start
            .contains("SCIM Tenant URL: https://scim.example.com/scim/v2"),
        "{}",
        srv.first_start
    );
    check(&srv, "https://scim.example.com").await;
    let srv = Server::start_opts(Opts {
        env: vec![("SCIMD_PUBLIC_URL".into(), "https://env.example.com".into())],
        ..Default::default()
    });
    check(&srv, "https://env.example.com").await;
    // Flags win over the environment.
    let srv = Server::start_opts(Opts {
        args: vec!["--public-url".into(), "https://flag.example.com".into()],
        env: vec![("SCIMD_PUBLIC_URL".into(), "https://env.example.com".into())],
        ..Default::default()
    });
    check(&srv, "https://flag.example.com").await;
    // A TOML file.
    let dir = fresh_test_dir("cfg");
    let file = dir.join("scimd.toml");
    std::fs::write(
        &file,
        "public_url = \"https://file.example.com\"\nmax_body_bytes = 2048\n",
    )
    .unwrap();
    let srv = Server::start_opts(Opts {
        args: vec!["--config".into(), file.display().to_string()],
        ..Default::default()
    });
    check(&srv, "https://file.example.com").await;
    // ... whose max_body_bytes applies.
    let c = srv.client();
    let body = json!({"schemas": [USER], "userName": unique("big"), "title": "x".repeat(4096),
                      "name": {"givenName": "a", "familyName": "b"}, "emails": [{"type": "work", "value": "a@example.com"}]});
    c.post("/Users", &body).await.expect_error(413, None);
}

#[tokio::test]
async fn hsts_under_https_and_no_store_on_secrets() {
    let https = Server::start_args(&["--public-url", "https://scim.example.com"]);
    let plain = Server::shared();
    let http = plain.http();
    for path in [
        "/healthz",
        "/readyz",
        "/scim/v2/Users",
        "/api/v1/openapi.json",
        "/signin",
        "/nowhere",
    ] {
        let mut hsts = Vec::new();
        for base in [&https.base, &plain.base] {
            let r = http.get(format!("{base}{path}")).send().await.unwrap();
            hsts.push(r.headers().get("strict-transport-security").cloned());
        }
        assert_eq!(
            hsts,
            [Some("max-age=31536000".parse().unwrap()), None],
            "{path}: HSTS under https only"
        );
    }
    // The admin API's answer with a new token's secret is kept by no cache.
    let admin = plain.new_token("admin");
    let r = http
        .post(format!("{}/api/v1/tokens", plain.base))
        .bearer_auth(&admin)
        .json(&json!({"name": unique("made")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let r = http
        .get(format!("{}/api/v1/tokens", plain.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn logs_never_contain_tokens_or_passwords() {
    let srv = Server::start_args(&["--log-level", "debug"]);
    let c = srv.client();
    let pw = format!("Pw-{}", guid());
    let u = c.create_user(&unique("log"), json!({"password": pw})).await;
    let id = u["id"].as_str().unwrap();
    c.patch_op(&format!("/Users/{id}"), "replace", "password", json!(pw))
        .await
        .expect(200);
    srv.client_with(Some(&"f".repeat(64)))
        .get("/Users")
        .await
        .expect(401);
    let out = srv.cli(&["token", "create", "--name", "logcheck"]);
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
    srv.client_with(Some(&secret))
        .get("/Users?count=1")
        .await
        .expect(200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = srv.stderr();
    assert!(
        log.contains(id) || log.contains("/scim/v2/Users"),
        "requests are logged: {}",
        srv.logs()
    );
    assert!(!log.contains(&pw), "password in the log: {}", srv.logs());
    assert!(
        !log.contains(&srv.token),
        "bootstrap token in the log: {}",
        srv.logs()
    );
    assert!(!log.contains(&secret), "token in the log: {}", srv.logs());
    assert!(
        !log.contains(&"f".repeat(64)),
        "rejected token in the log: {}",
        srv.logs()
    );
}

#[tokio::test]
async fn json_logs_by_flag() {
    let srv = Server::start_args(&["--log-format", "json"]);
    srv.client().get("/Users?count=1").await.expect(200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = srv.stderr();
    let json_lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.is_object())
        .collect();
    assert!(!json_lines.is_empty(), "no JSON log lines: {log}");
    let non_json: Vec<&str> = log
        .lines()
        .filter(|l| {
            !l.trim().is_empty()
                && serde_json::from_str::<Value>(l).is_err()
                && !l.starts_with("listening on")
        })
        .collect();
    assert!(non_json.is_empty(), "non-JSON log lines: {non_json:?}");
    assert!(
        json_lines
            .iter()
            .all(|v| v.get("level").is_some() && v.get("timestamp").is_some()),
        "{log}"
    );
}

/// Sends the head and part of the body of a POST, so the request is in flight.
fn start_slow_post(srv: &Server, body: &str) -> (TcpStream, usize) {
    let mut s = TcpStream::connect(srv.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    // A first request on the connection proves the server accepted it (so the signal
    // cannot catch the connection still waiting in the listen backlog).
    s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", srv.addr()).as_bytes())
        .unwrap();
    let first = read_one_response(&mut s);
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        srv.addr(),
        srv.token,
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let half = body.len() / 2;
    s.write_all(&body.as_bytes()[..half]).unwrap();
    s.flush().unwrap();
    (s, half)
}

/// Reads one HTTP/1.1 response with a Content-Length body from a keep-alive connection.
fn read_one_response(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).expect("read response head");
        assert!(
            n == 1,
            "connection closed while reading a response head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap())
        })
        .expect("content-length");
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    head + &String::from_utf8_lossy(&body)
}

fn finish_and_read(mut s: TcpStream, body: &str, from: usize) -> String {
    s.write_all(&body.as_bytes()[from..]).unwrap();
    s.flush().unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[tokio::test]
async fn graceful_shutdown_finishes_requests_in_flight() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let srv = Server::start();
        let user_name = unique("inflight");
        let body = json!({"schemas": [USER], "userName": user_name, "name": {"givenName": "In", "familyName": "Flight"},
                          "emails": [{"type": "work", "value": "inflight@example.com"}]})
        .to_string();
        let (s, half) = start_slow_post(&srv, &body);
        // Let the server read the head and start the request.
        tokio::time::sleep(Duration::from_millis(300)).await;
        srv.signal(sig);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            srv.wait_exit(Duration::from_millis(10)).is_none(),
            "scimd exited with a request in flight (signal {sig})"
        );
        // New connections are no longer served.
        let refused =
            TcpStream::connect_timeout(&srv.addr().parse().unwrap(), Duration::from_secs(2))
                .map(|mut t| {
                    let _ = t.set_read_timeout(Some(Duration::from_secs(2)));
                    let _ = t.write_all(
                        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    );
                    let mut buf = String::new();
                    let _ = t.read_to_string(&mut buf);
                    buf
                })
                .unwrap_or_default();
        assert!(
            !refused.starts_with("HTTP/1.1 200"),
            "a new connection was served after the signal: {refused}"
        );
        let resp = tokio::task::spawn_blocking({
            let body = body.clone();
            move || finish_and_read(s, &body, half)
        })
        .await
        .unwrap();
        assert!(
            resp.starts_with("HTTP/1.1 201"),
            "in-flight request answered: {resp}"
        );
        let st = srv
            .wait_exit(Duration::from_secs(30))
            .expect("scimd exits after the in-flight request");
        assert!(
            st.success(),
            "exit status {st} after signal {sig}; {}",
            srv.logs()
        );
        // The write was committed.
        let again = Server::start_opts(Opts {
            database_url: Some(srv.database_url.clone()),
            dir: Some(srv.dir.clone()),
            ..Default::default()
        });
        let found = again
            .client_with(Some(&srv.token))
            .filter_user_names(&format!("userName eq \"{user_name}\""))
            .await;
        assert_eq!(found, vec![user_name]);
    }
}

#[tokio::test]
async fn bad_configuration_fails_clearly() {
    // An unknown TOML key is an error, exit code 2, before anything listens.
    let dir = fresh_test_dir("badcfg");
    let file = dir.join("scimd.toml");
    std::fs::write(&file, "publik_url = \"https://typo.example.com\"\n").unwrap();
    let out = std::process::Command::new(SCIMD)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&file)
        .arg("--database")
        .arg(format!("sqlite://{}/scimd.db", dir.display()))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("publik_url"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // PostgreSQL without a data folder for the first start's secrets: refused before
    // connecting (nothing listens on port 1).
    let out = std::process::Command::new(SCIMD)
        .args(["serve", "--listen", "127.0.0.1:0", "--database"])
        .arg("postgres://scimd:Pw7hQx@127.0.0.1:1/scimd")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--data-dir is required with PostgreSQL"),
        "{err}"
    );
    assert!(!err.contains("Pw7hQx"), "{err}");
    // An unsupported database URL.
    let out = std::process::Command::new(SCIMD)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            "mysql://x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("mysql://x"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // token commands on a database that was never initialised.
    let out = std::process::Command::new(SCIMD)
        .args(["token", "list", "--database"])
        .arg(format!("sqlite://{}/empty/scimd.db", dir.display()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    // A mistyped SQLite path is an error, and no file is made there: not by a command that
    // lists, nor by a copy from it (which would copy nothing and say every count matches).
    let typo = dir.join("typo.db");
    let copy_to = dir.join("copy.db");
    for args in [
        vec![
            "tenant".to_string(),
            "list".into(),
            "--json".into(),
            "--database".into(),
            format!("sqlite://{}", typo.display()),
        ],
        // The scheme in another case, as the server takes it.
        vec![
            "tenant".to_string(),
            "list".into(),
            "--database".into(),
            format!("SQLite://{}", typo.display()),
        ],
        vec![
            "copy".to_string(),
            "--from".into(),
            format!("sqlite://{}", typo.display()),
            "--to".into(),
            format!("sqlite://{}", copy_to.display()),
        ],
    ] {
        let out = std::process::Command::new(SCIMD)
            .args(&args)
            .current_dir(&dir)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(!dir.join("SQLite:").exists(), "{args:?} made a folder");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            err.contains("there is no SQLite database at"),
            "{args:?}: {err}"
        );
        assert!(!typo.exists() && !copy_to.exists(), "{args:?} made a file");
    }
    // An existing database named with the scheme in capitals is that database (not a new
    // one in a folder named after the scheme).
    let real = dir.join("real.db");
    let run = |args: &[String]| {
        std::process::Command::new(SCIMD)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let migrate = [
        "migrate".into(),
        "--database".into(),
        format!("sqlite://{}", real.display()),
    ];
    assert!(run(&migrate).status.success());
    let upper = format!("SQLITE://{}", real.display());
    let out = run(&[
        "tenant".into(),
        "list".into(),
        "--json".into(),
        "--database".into(),
        upper,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !dir.join("SQLITE:").exists(),
        "a folder named after the scheme"
    );
}

/// A SQLite data folder scimd creates is its owner's only (0700): the database file holds
/// users' data and password and secret hashes, and SQLite creates it with the umask's mode.
#[tokio::test]
async fn a_data_folder_scimd_creates_is_its_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let root = std::env::temp_dir().join(unique("scimd-folder"));
    let folder = root.join("data");
    let srv = Server::start_opts(Opts {
        database_url: Some(format!("sqlite://{}/scimd.db", folder.display())),
        dir: Some(root.clone()),
        ..Default::default()
    });
    srv.client().get_ok("/Users?count=1").await;
    let mode = std::fs::metadata(&folder).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    drop(srv);
    let _ = std::fs::remove_dir_all(&root);
}
