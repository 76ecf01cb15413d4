//! Input on the open internet (issue 14, items 4 and 5), over HTTP against a running scimd,
//! on whichever back end the harness selects (SQLite, or PostgreSQL with
//! `SCIMD_TEST_DATABASE_URL`):
//!
//! - identifiers: canonically equivalent spellings are one userName / displayName (409),
//!   filters find them in either spelling, invisible and control characters are refused;
//! - bounded input: values, multi-valued attributes, members per request (POST, PUT,
//!   PATCH), bodies (413 on every route that reads one), list pages under a byte budget;
//! - a statement time limit: a filter that runs too long is cut and answered as such.

mod common;

use common::*;
use serde_json::{json, Value};

/// A user body with the rules' required attributes.
fn user_body(user_name: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"value": "someone@example.com", "type": "work", "primary": true}],
    })
}

/// The `detail` of an error response.
fn detail(r: &Resp) -> String {
    r.json()["detail"].as_str().unwrap_or_default().to_string()
}

// ------------------------------------------------------------------------- identifiers

#[tokio::test]
async fn nfc_and_nfd_spellings_are_one_user_and_one_group() {
    let c = Server::shared().client();
    let tag = unique("nf");
    let nfc = format!("jos\u{e9}-{tag}@example.com");
    let nfd = format!("jose\u{301}-{tag}@example.com");
    let r = c.post("/Users", &user_body(&nfd)).await;
    r.expect(201);
    let id = r.id();
    assert_eq!(r.json()["userName"], json!(nfd), "stored as sent");
    let r = c.post("/Users", &user_body(&nfc)).await;
    r.expect_error(409, Some("uniqueness"));
    let upper = nfc.to_uppercase();
    for spelling in [&nfc, &nfd, &upper] {
        let found = c.filter_users(&format!("userName eq \"{spelling}\"")).await;
        let ids: Vec<&str> = found.iter().map(|u| u["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [id.as_str()], "{spelling:?}");
    }
    // externalId: NFC, case-exact.
    let ext_nfd = format!("E\u{301}-{tag}");
    c.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "add", "path": "externalId", "value": ext_nfd}]),
    )
    .await
    .expect(200);
    let ext_nfc = format!("\u{c9}-{tag}");
    let found = c
        .filter_users(&format!("externalId eq \"{ext_nfc}\""))
        .await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["externalId"], json!(ext_nfd), "stored as sent");
    let lower = ext_nfc.to_lowercase();
    assert!(c
        .filter_users(&format!("externalId eq \"{lower}\""))
        .await
        .is_empty());

    // Groups: displayName.
    let g_nfd = format!("Cafe\u{301} {tag}");
    let g_nfc = format!("caf\u{e9} {tag}");
    let r = c
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": g_nfd}),
        )
        .await;
    r.expect(201);
    let gid = r.id();
    c.post(
        "/Groups",
        &json!({"schemas": [GROUP], "displayName": g_nfc}),
    )
    .await
    .expect_error(409, Some("uniqueness"));
    let q = filter_q(&format!("displayName eq \"{g_nfc}\""));
    let r = c.get(&format!("/Groups?{q}")).await;
    r.expect(200);
    let found: Vec<Value> = r.resources().into_iter().map(|g| g["id"].clone()).collect();
    assert_eq!(found, [json!(gid)]);
}

#[tokio::test]
async fn invisible_and_control_characters_in_identifiers_are_refused() {
    let c = Server::shared().client();
    let tag = unique("ch");
    for (c_, name) in [
        ('\u{200b}', "U+200B"),
        ('\u{200d}', "U+200D"),
        ('\u{202e}', "U+202E"),
        ('\u{2066}', "U+2066"),
        ('\u{feff}', "U+FEFF"),
        ('\u{2028}', "U+2028"),
        ('\u{85}', "U+0085"),
        ('\u{7}', "U+0007"),
    ] {
        let user_name = format!("ab{c_}{tag}@example.com");
        let r = c.post("/Users", &user_body(&user_name)).await;
        r.expect_error(400, Some("invalidValue"));
        let d = detail(&r);
        assert!(
            d.contains(name) && d.contains("character 3") && d.contains("userName"),
            "{name}: {d}"
        );
        let mut body = user_body(&format!("ok-{tag}-{}@example.com", c_ as u32));
        body["externalId"] = json!(format!("x{c_}"));
        let r = c.post("/Users", &body).await;
        r.expect_error(400, Some("invalidValue"));
        assert!(detail(&r).contains("externalId"), "{}", detail(&r));
    }
    // A PATCH to such a userName, too, and it changes nothing.
    let u = c.create_user(&format!("plain-{tag}"), json!({})).await;
    let id = u["id"].as_str().unwrap();
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "userName", "value": format!("pl\u{200b}ain-{tag}")}]),
        )
        .await;
    r.expect_error(400, Some("invalidValue"));
    assert!(detail(&r).contains("U+200B"), "{}", detail(&r));
    // Group displayName: the joiners Persian and Indic names need are allowed; the rest not.
    let persian = format!("\u{645}\u{6cc}\u{200c}\u{62e}\u{648}\u{627}\u{647}\u{645} {tag}");
    c.post(
        "/Groups",
        &json!({"schemas": [GROUP], "displayName": persian}),
    )
    .await
    .expect(201);
    let r = c
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": format!("a\u{200b}b {tag}")}),
        )
        .await;
    r.expect_error(400, Some("invalidValue"));
    assert!(detail(&r).contains("U+200B"), "{}", detail(&r));
}

// ------------------------------------------------------------------------- bounded input

/// A server of the test's own started with `args`.
fn server(args: &[&str]) -> Server {
    Server::start_opts(Opts {
        args: args.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    })
}

/// Asserts a 400 invalidValue whose detail contains every one of `parts`.
#[track_caller]
fn refused(r: &Resp, parts: &[&str]) {
    r.expect_error(400, Some("invalidValue"));
    let d = detail(r);
    for p in parts {
        assert!(d.contains(p), "the detail names {p:?}: {d}");
    }
}

#[tokio::test]
async fn values_over_their_limits_are_refused_naming_the_attribute_and_the_limit() {
    let srv = server(&[
        "--max-identifier-bytes",
        "64",
        "--max-string-bytes",
        "256",
        "--max-values",
        "3",
    ]);
    let c = srv.client();
    // POST: an identifier, a string, an extension string, too many values.
    let long_name = format!("{}@example.com", "u".repeat(60));
    refused(
        &c.post("/Users", &user_body(&long_name)).await,
        &[
            "'userName'",
            "72 bytes",
            "limit is 64 bytes",
            "max-identifier-bytes",
        ],
    );
    let mut body = user_body("title@example.com");
    body["title"] = json!("t".repeat(257));
    refused(
        &c.post("/Users", &body).await,
        &["'title'", "257 bytes", "limit is 256 bytes"],
    );
    let mut body = user_body("dept@example.com");
    body[ENTERPRISE] = json!({"department": "d".repeat(300)});
    refused(
        &c.post("/Users", &body).await,
        &[&format!("'{ENTERPRISE}:department'"), "256"],
    );
    let mut body = user_body("many@example.com");
    body["emails"] =
        json!([{"value": "a@x"}, {"value": "b@x"}, {"value": "c@x"}, {"value": "d@x"}]);
    refused(
        &c.post("/Users", &body).await,
        &["'emails' has 4 values", "limit is 3", "max-values"],
    );
    let mut body = user_body("name@example.com");
    body["name"]["givenName"] = json!("\u{e9}".repeat(129));
    refused(
        &c.post("/Users", &body).await,
        &["'name.givenName'", "258 bytes"],
    );
    // Nothing was created.
    assert!(c.filter_users("userName sw \"many\"").await.is_empty());

    // PUT and PATCH of an existing user: refused, nothing changed.
    let u = c.create_user("within", json!({"title": "ok"})).await;
    let id = u["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    let mut put = user_body("within");
    put["title"] = json!("t".repeat(300));
    refused(&c.put(&path, &put).await, &["'title'", "300 bytes"]);
    refused(
        &c.patch_ops(
            &path,
            json!([{"op": "replace", "path": "title", "value": "t".repeat(257)}]),
        )
        .await,
        &["'title'"],
    );
    refused(
        &c.patch_ops(
            &path,
            json!([{"op": "add", "path": "emails", "value": [
                {"value": "x1@x"}, {"value": "x2@x"}, {"value": "x3@x"}
            ]}]),
        )
        .await,
        &["'emails' has 4 values"],
    );
    refused(
        &c.patch_ops(
            &path,
            json!([{"op": "replace", "path": "userName", "value": long_name}]),
        )
        .await,
        &["'userName'"],
    );
    let now = c.get(&path).await;
    assert_eq!(now.json(), &u, "nothing changed");
    // Groups: displayName is an identifier.
    refused(
        &c.post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "g".repeat(65)}),
        )
        .await,
        &["'displayName'", "65 bytes", "limit is 64"],
    );
}

#[tokio::test]
async fn members_per_request_are_capped_on_post_put_and_patch() {
    let srv = Server::shared();
    let c = srv.client();
    let limit = 20_000;
    let ids = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"value": format!("00000000-0000-0000-0000-{i:012}")}))
            .collect()
    };
    let name = unique("cap");
    // Over the cap: refused for the count, before any id is looked up.
    let over = json!({"schemas": [GROUP], "displayName": name, "members": ids(limit + 1)});
    refused(
        &c.post("/Groups", &over).await,
        &[
            "'members'",
            &format!("{} members", limit + 1),
            &format!("limit is {limit}"),
        ],
    );
    let g = c.create_group(&name, json!({})).await;
    let gid = g["id"].as_str().unwrap();
    refused(
        &c.put(&format!("/Groups/{gid}"), &over).await,
        &[&format!("{} members", limit + 1)],
    );
    let half = ids(limit / 2 + 1);
    refused(
        &c.patch_ops(
            &format!("/Groups/{gid}"),
            json!([
                {"op": "add", "path": "members", "value": half},
                {"op": "remove", "path": "members", "value": half}
            ]),
        )
        .await,
        &[&format!("{} members", 2 * (limit / 2 + 1))],
    );
    // Within the cap, the ids are checked (these do not exist).
    let r = c
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": unique("cap"), "members": ids(limit)}),
        )
        .await;
    refused(&r, &["unknown"]);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_on_every_route_that_reads_one() {
    let srv = server(&["--max-body-bytes", "65536"]);
    let c = srv.client();
    let u = c.create_user("body", json!({})).await;
    let g = c.create_group("body", json!({})).await;
    let (uid, gid) = (u["id"].as_str().unwrap(), g["id"].as_str().unwrap());
    let mut big = user_body("big");
    big["title"] = json!("t".repeat(70_000));
    let out = srv.cli(&["token", "create", "--name", "admin", "--scope", "admin"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin_token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let body = serde_json::to_vec(&big).unwrap();
    let addr = srv.addr();
    for (token, method, path) in [
        (&srv.token, "POST", "/scim/v2/Users".to_string()),
        (&srv.token, "PUT", format!("/scim/v2/Users/{uid}")),
        (&srv.token, "PATCH", format!("/scim/v2/Users/{uid}")),
        (&srv.token, "POST", "/scim/v2/Groups".to_string()),
        (&srv.token, "PUT", format!("/scim/v2/Groups/{gid}")),
        (&srv.token, "PATCH", format!("/scim/v2/Groups/{gid}")),
        (&srv.token, "POST", "/scim/v2/Users/.search".to_string()),
        (&srv.token, "POST", "/scim/v2/Groups/.search".to_string()),
        (&srv.token, "POST", "/scim/v2/.search".to_string()),
        (&admin_token, "POST", "/api/v1/users".to_string()),
        (&admin_token, "POST", "/api/v1/groups".to_string()),
        (
            &admin_token,
            "POST",
            format!("/api/v1/groups/{gid}/members"),
        ),
        (&admin_token, "POST", "/api/v1/tokens".to_string()),
        (&admin_token, "PATCH", "/api/v1/settings".to_string()),
        (&admin_token, "POST", "/api/v1/attributes".to_string()),
    ] {
        for chunked in [false, true] {
            let r = raw_request(method, &addr, &path, token, &body, chunked);
            assert!(
                r.starts_with("HTTP/1.1 413"),
                "{method} {path} chunked={chunked}: {}",
                r.chars().take(300).collect::<String>()
            );
            assert!(r.contains("65536"), "{method} {path}: {r}");
        }
    }
}

// ------------------------------------------------------------------------- page budget

/// Pages through `path` (a list URL with `count`), following `itemsPerPage`; returns the
/// ids in order and the page sizes.
async fn page_through(c: &Client, path: &str, search: Option<Value>) -> (Vec<String>, Vec<u64>) {
    let (mut ids, mut sizes) = (Vec::new(), Vec::new());
    let mut start = 1u64;
    loop {
        let r = match &search {
            None => c.get(&format!("{path}&startIndex={start}")).await,
            Some(body) => {
                let mut b = body.clone();
                b["startIndex"] = json!(start);
                c.post(path, &b).await
            }
        };
        r.expect(200);
        let items = r.json()["itemsPerPage"].as_u64().unwrap();
        let resources = r.resources();
        assert_eq!(items, resources.len() as u64, "{}", r.text);
        let total = r.json()["totalResults"].as_u64().unwrap();
        ids.extend(
            resources
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_string()),
        );
        if items == 0 || start - 1 + items >= total {
            return (ids, sizes);
        }
        sizes.push(items);
        start += items;
    }
}

#[tokio::test]
async fn list_pages_hold_fewer_resources_under_the_byte_budget() {
    let srv = server(&["--max-page-bytes", "64KiB"]);
    let c = srv.client();
    let tag = unique("pb");
    // Twelve users of some 12 KiB each: five fit in a page of 64 KiB.
    let mut made = Vec::new();
    for i in 0..12 {
        let mut body = user_body(&format!("{tag}-{i:02}"));
        body["roles"] = json!([{"value": "r".repeat(12 * 1024)}]);
        let r = c.post("/Users", &body).await;
        r.expect(201);
        made.push(r.id());
    }
    let filter = filter_q(&format!("userName sw \"{tag}\""));
    let r = c.get(&format!("/Users?{filter}&count=100")).await;
    r.expect(200);
    let n = r.json()["itemsPerPage"].as_u64().unwrap();
    assert!((1..12).contains(&n), "fewer than asked: {n}");
    assert_eq!(
        r.json()["totalResults"],
        json!(12),
        "the total is every match"
    );
    assert!(r.text.len() <= 64 * 1024, "{} bytes", r.text.len());
    // Paging by itemsPerPage sees every user once, in order: GET, and .search.
    let (ids, sizes) = page_through(&c, &format!("/Users?{filter}&count=100"), None).await;
    assert_eq!(ids, made, "pages of {sizes:?}");
    let search =
        json!({"schemas": [SEARCH], "filter": format!("userName sw \"{tag}\""), "count": 100});
    let (ids, _) = page_through(&c, "/Users/.search", Some(search.clone())).await;
    assert_eq!(ids, made);
    let (ids, _) = page_through(&c, "/.search", Some(search)).await;
    assert_eq!(ids, made);
    // One resource larger than the budget alone is still served, alone.
    let mut body = user_body(&format!("{tag}-huge"));
    body["roles"] = json!((0..6)
        .map(|i| json!({"value": format!("{i}{}", "h".repeat(16_000))}))
        .collect::<Vec<_>>());
    c.post("/Users", &body).await.expect(201);
    let q = filter_q(&format!(
        "userName eq \"{tag}-huge\" or userName eq \"{tag}-00\""
    ));
    let r = c
        .get(&format!("/Users?{q}&sortBy=userName&sortOrder=descending"))
        .await;
    r.expect(200);
    assert_eq!(
        r.json()["itemsPerPage"],
        json!(1),
        "{}",
        r.json()["totalResults"]
    );
    assert_eq!(r.json()["totalResults"], json!(2));
    assert_eq!(r.resources()[0]["userName"], json!(format!("{tag}-huge")));
    assert!(r.text.len() > 64 * 1024);
}

// ------------------------------------------------------------------------- statement time

#[tokio::test]
async fn a_filter_running_past_the_statement_time_limit_is_400_too_many() {
    let srv = server(&["--statement-timeout-secs", "1"]);
    let c = srv.client();
    let tag = unique("slow");
    // 2,000 users with 100 roles each: a filter of some 300 `roles[value co ...]` terms
    // visits 60 million array elements, seconds of work on either back end.
    let roles: Vec<Value> = (0..100)
        .map(|i| json!({"value": format!("role-{i:03}")}))
        .collect();
    let bodies: Vec<Value> = (0..2000)
        .map(|i| {
            let mut b = user_body(&format!("{tag}-{i:04}"));
            b["roles"] = json!(roles);
            b
        })
        .collect();
    let cc = c.clone();
    let made = concurrent(bodies, 8, move |b| {
        let c = cc.clone();
        async move { c.post("/Users", &b).await.status }
    })
    .await;
    assert!(made.iter().all(|s| *s == 201), "{made:?}");
    let terms: Vec<String> = (0..300)
        .map(|i| format!("roles[value co \"zz{i:03}\"]"))
        .collect();
    let filter = terms.join(" or ");
    let r = c.get(&format!("/Users?{}", filter_q(&filter))).await;
    r.expect_error(400, Some("tooMany"));
    let d = detail(&r);
    assert!(d.contains("longer than 1 s") && d.contains("narrow"), "{d}");
    // POST .search: the same.
    let body = json!({"schemas": [SEARCH], "filter": filter});
    c.post("/Users/.search", &body)
        .await
        .expect_error(400, Some("tooMany"));
    // The server goes on: a lookup answers.
    let found = c.filter_users(&format!("userName eq \"{tag}-0007\"")).await;
    assert_eq!(found.len(), 1);
}
