//! Router-level tests that need no database: a store that is always down stands in, so
//! these exercise routing, middleware, errors and discovery plumbing only. The HTTP
//! integration suite (crates/scimd/tests) covers behaviour over a real store.

use crate::admin::route_table;
use crate::errors::{BEARER_CHALLENGE, SCIM_CONTENT_TYPE};
use crate::server::router;
use crate::state::AppState;
use async_trait::async_trait;
use axum::body::Body;
use axum::http::header::{ALLOW, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, Request, StatusCode};
use scimd_directory::directory::Directory;
use scimd_directory::store::{Store, StoreError, StoreResult, Tx};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

struct DownStore;

#[async_trait]
impl Store for DownStore {
    async fn read(&self) -> StoreResult<Box<dyn Tx>> {
        Err(StoreError::Backend("down".into()))
    }
    async fn write(&self) -> StoreResult<Box<dyn Tx>> {
        Err(StoreError::Backend("down".into()))
    }
    async fn ping(&self) -> StoreResult<()> {
        Err(StoreError::Backend("down".into()))
    }
}

/// The state of a server whose store is down, serving `scim_base`.
fn down_state(scim_base: &str) -> AppState {
    AppState::new(Directory::new(Arc::new(DownStore), scim_base), 4096)
}

fn app() -> axum::Router {
    router(down_state("http://scim.test/scim/v2"))
}

async fn call(req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let res = app().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    (status, headers, body)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn assert_scim_error(status: StatusCode, headers: &axum::http::HeaderMap, body: &Value, want: u16) {
    assert_eq!(status.as_u16(), want, "{body}");
    assert_eq!(headers["content-type"], SCIM_CONTENT_TYPE);
    assert_eq!(body["schemas"][0], scim_proto::error::ERROR_SCHEMA);
    assert_eq!(body["status"], want.to_string());
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

/// A request with an empty body and these headers.
fn bodiless(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        b = b.header(*name, *value);
    }
    b.body(Body::empty()).unwrap()
}

/// Sends `req`, asserts a SCIM error with status `want` ([`assert_scim_error`]) and returns
/// the response's headers.
async fn call_for_scim_error(req: Request<Body>, want: u16) -> HeaderMap {
    let (s, h, b) = call(req).await;
    assert_scim_error(s, &h, &b, want);
    h
}

#[tokio::test]
async fn unknown_route_is_a_scim_404() {
    call_for_scim_error(get("/scim/v2/Nope"), 404).await;
    call_for_scim_error(get("/elsewhere"), 404).await;
}

#[tokio::test]
async fn wrong_method_is_a_scim_405_with_allow() {
    let req = bodiless("DELETE", "/scim/v2/ServiceProviderConfig", &[]);
    let h = call_for_scim_error(req, 405).await;
    let allow = h["allow"].to_str().unwrap();
    assert!(allow.contains("GET"), "{allow}");
    // Resource routes authenticate first: an anonymous wrong method is a 401.
    call_for_scim_error(get("/scim/v2/Users/.search"), 401).await;
}

#[tokio::test]
async fn missing_token_is_401_with_challenge() {
    let h = call_for_scim_error(get("/scim/v2/Users"), 401).await;
    assert_eq!(h["www-authenticate"], "Bearer realm=\"scimd\"");
    let req = bodiless(
        "GET",
        "/scim/v2/Groups/abc",
        &[("authorization", "Basic eDp5")],
    );
    call_for_scim_error(req, 401).await;
}

#[tokio::test]
async fn store_failure_during_auth_is_500_not_401() {
    let req = bodiless("GET", "/scim/v2/Users", &[("authorization", "Bearer abc")]);
    let (s, h, b) = call(req).await;
    assert_scim_error(s, &h, &b, 500);
    assert!(
        !b["detail"].as_str().unwrap().contains("down"),
        "store details must not leak: {b}"
    );
}

#[tokio::test]
async fn request_id_is_generated_or_echoed() {
    let (_, h, _) = call(get("/healthz")).await;
    assert!(!h["x-request-id"].is_empty());
    let req = bodiless("GET", "/healthz", &[("x-request-id", "abc-123")]);
    let (_, h, _) = call(req).await;
    assert_eq!(h["x-request-id"], "abc-123");
}

#[tokio::test]
async fn health_ready_metrics() {
    let (s, _, b) = call(get("/healthz")).await;
    assert_eq!(s, 200);
    assert_eq!(b["status"], "ok");
    let (s, _, b) = call(get("/readyz")).await;
    assert_eq!(s, 503);
    assert_eq!(b["status"], "unavailable");
    let _ = call(get("/scim/v2/Users/some-id")).await;
    let res = app().oneshot(get("/metrics")).await.unwrap();
    assert_eq!(res.status(), 200);
    let text = String::from_utf8(
        axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains("scimd_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/scim/v2/Users/{id}\""), "{text}");
    assert!(
        text.contains("scimd_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(!text.contains("some-id"), "raw paths must not be labels");
}

#[tokio::test]
async fn service_provider_config_is_public_and_publishes_limits() {
    let (s, h, b) = call(get("/scim/v2/ServiceProviderConfig")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(h["content-type"], SCIM_CONTENT_TYPE);
    assert_eq!(b["bulk"]["maxPayloadSize"], 4096);
    assert_eq!(b["bulk"]["supported"], false);
    assert_eq!(b["filter"]["maxResults"], scim_proto::list::MAX_PAGE_SIZE);
    assert_eq!(
        b["meta"]["location"],
        "http://scim.test/scim/v2/ServiceProviderConfig"
    );
}

#[tokio::test]
async fn discovery_refuses_filters() {
    for path in [
        "/scim/v2/ServiceProviderConfig",
        "/scim/v2/Schemas",
        "/scim/v2/ResourceTypes",
    ] {
        call_for_scim_error(get(&format!("{path}?filter=id+eq+%22x%22")), 403).await;
    }
}

#[tokio::test]
async fn me_and_bulk_are_501() {
    call_for_scim_error(get("/scim/v2/Me"), 501).await;
    let req = Request::post("/scim/v2/Bulk")
        .body(Body::from("{}"))
        .unwrap();
    call_for_scim_error(req, 501).await;
}

#[tokio::test]
async fn body_limit_and_invalid_json() {
    use crate::body::JsonBody;
    use axum::extract::FromRequest;
    let state = down_state("http://x/scim/v2");
    let big = Request::post("/")
        .body(Body::from(vec![b' '; 5000]))
        .unwrap();
    let e = JsonBody::from_request(big, &state).await.unwrap_err();
    assert_eq!(e.0.status, 413);
    // No Content-Length: the limit still applies while streaming.
    let stream = futures_stream(vec![b'x'; 3000], 2);
    let req = Request::post("/").body(stream).unwrap();
    let e = JsonBody::from_request(req, &state).await.unwrap_err();
    assert_eq!(e.0.status, 413);
    let bad = Request::post("/")
        .header("content-type", "text/plain")
        .body(Body::from("{\"a\":"))
        .unwrap();
    let e = JsonBody::from_request(bad, &state).await.unwrap_err();
    assert_eq!(e.0.status, 400);
    assert_eq!(e.0.scim_type, Some(scim_proto::ScimType::InvalidSyntax));
    let ok = Request::post("/").body(Body::from("{\"a\":1}")).unwrap();
    assert_eq!(JsonBody::from_request(ok, &state).await.unwrap().0["a"], 1);
}

/// A body of `chunks` copies of `chunk`, streamed without a length.
fn futures_stream(chunk: Vec<u8>, chunks: usize) -> Body {
    let items: Vec<Result<axum::body::Bytes, std::io::Error>> = (0..chunks)
        .map(|_| Ok(axum::body::Bytes::from(chunk.clone())))
        .collect();
    Body::from_stream(futures_util::stream::iter(items))
}

#[tokio::test]
async fn a_panicking_handler_is_a_scim_500() {
    let state = down_state("http://x/scim/v2");
    let routes = axum::Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            "unreachable"
        }),
    );
    let app = crate::server::with_middleware(routes, state);
    let res = app.oneshot(get("/boom")).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body: Value = serde_json::from_slice(
        &axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_scim_error(status, &headers, &body, 500);
    assert!(
        !body["detail"].as_str().unwrap().contains("boom"),
        "panic messages must not leak: {body}"
    );
}

// ---------------------------------------------------------------- the admin API

async fn admin_call(method: &str, path: &str, auth: Option<&str>) -> (u16, HeaderMap, Value) {
    let app = router(down_state("http://admin.test/scim/v2"));
    let mut b = axum::http::Request::builder().method(method).uri(path);
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    let res = app.oneshot(b.body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn concrete(path: &str) -> String {
    path.replace("{id}", "x1")
        .replace("{userId}", "u1")
        .replace("{name}", "n1")
}

fn assert_admin_error(status: u16, headers: &HeaderMap, body: &Value, want: u16) {
    assert_eq!(status, want, "{body}");
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    assert_eq!(body["error"]["status"], want, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// Every route of the table is served (an unauthenticated request reaches the auth
/// layer: 401), every other method on its path is a JSON 405 with `Allow`.
#[tokio::test]
async fn table_matches_router() {
    let table = route_table();
    for r in &table {
        let path = concrete(r.path);
        let (s, h, b) = admin_call(r.method, &path, None).await;
        if r.path.ends_with("openapi.json") {
            assert_eq!(s, 200, "{} {path}", r.method);
            continue;
        }
        assert_admin_error(s, &h, &b, 401);
        assert_eq!(h[WWW_AUTHENTICATE], BEARER_CHALLENGE);
        for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if table.iter().any(|x| x.path == r.path && x.method == m) {
                continue;
            }
            let (s, h, b) = admin_call(m, &path, None).await;
            assert_admin_error(s, &h, &b, 405);
            assert!(h.contains_key(ALLOW), "{m} {path}");
            let msg = b["error"]["message"].as_str().unwrap();
            assert!(
                msg.contains(&format!("allowed: {}", r.method))
                    || msg.contains(&format!(", {}", r.method)),
                "{msg}"
            );
        }
    }
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    for p in [
        "/api/v1",
        "/api/v1/",
        "/api/v1/nope",
        "/api/v1/users/a/b/c",
        "/api/v2/users",
    ] {
        let (s, h, b) = admin_call("GET", p, Some("Bearer x")).await;
        if p.starts_with("/api/v1") {
            assert_admin_error(s, &h, &b, 404);
        } else {
            assert_eq!(s, 404);
        }
    }
}

#[tokio::test]
async fn store_failure_during_auth_is_a_json_500() {
    let (s, h, b) = admin_call("GET", "/api/v1/users", Some("Bearer abc")).await;
    assert_admin_error(s, &h, &b, 500);
    let (s, h, b) = admin_call("GET", "/api/v1/users", Some("Basic abc")).await;
    assert_admin_error(s, &h, &b, 401);
}

#[tokio::test]
async fn openapi_document_is_public_and_names_the_server() {
    let (s, _, b) = admin_call("GET", "/api/v1/openapi.json", None).await;
    assert_eq!(s, 200);
    assert_eq!(b["openapi"], "3.1.0");
    assert_eq!(b["servers"][0]["url"], "http://admin.test");
}

/// Every route of the SCIM table is served: a resource route reaches the auth layer (401),
/// a discovery route answers without a token (200, or 501 for /Me and /Bulk) or needs the
/// store (500 here, never 404).
#[tokio::test]
async fn scim_table_routes_are_served() {
    for (m, path) in crate::scim_routes::route_table() {
        let uri = path.replace("{id}", "x1").replace("{name}", "User");
        let req = Request::builder()
            .method(m)
            .uri(&uri)
            .body(Body::empty())
            .unwrap();
        let (s, _, b) = call(req).await;
        assert_ne!(s.as_u16(), 404, "{m} {uri}: {b}");
        assert_ne!(s.as_u16(), 405, "{m} {uri}: {b}");
    }
}
