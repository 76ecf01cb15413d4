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
    let ids: Vec<String> = r
        .resources()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, [gid]);
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
