//! Prometheus metrics and per-request logging.
//!
//! Metrics (served at `GET /metrics` in the Prometheus text format):
//! - `scimd_http_requests_total{route,method,status}`: requests answered.
//! - `scimd_http_request_duration_seconds{route,method}`: histogram of the time to the
//!   response head, in seconds.
//! - `scimd_store_errors_total`: requests that failed with a 500 from the directory (its
//!   storage errors surface as 500s) and failed readiness pings.
//! - `scimd_http_panics_total`: handler panics caught and answered with a 500.
//!
//! `route` is the matched route template (`/scim/v2/Users/{id}`), or `unmatched` for
//! requests no route matched, so label cardinality stays bounded. `method` is one of the
//! standard methods or `OTHER`.

use axum::extract::{MatchedPath, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{counter, describe_counter, describe_histogram, histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tower_http::request_id::RequestId;
use tracing::Instrument;

/// Counter of requests answered.
pub const REQUESTS_TOTAL: &str = "scimd_http_requests_total";
/// Histogram of request durations, seconds.
pub const REQUEST_DURATION: &str = "scimd_http_request_duration_seconds";
/// Counter of storage failures seen by requests.
pub const STORE_ERRORS: &str = "scimd_store_errors_total";
/// Counter of handler panics.
pub const PANICS: &str = "scimd_http_panics_total";

/// Histogram buckets for [`REQUEST_DURATION`], seconds.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide Prometheus handle, installing the recorder on first use.
///
/// If another global `metrics` recorder is already installed (an embedding program's),
/// the handle renders an empty registry and scimd's metrics go to that recorder.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(REQUEST_DURATION.to_string()),
                    DURATION_BUCKETS,
                )
                .expect("non-empty bucket list");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            describe_counter!(
                REQUESTS_TOTAL,
                "HTTP requests answered, by route template, method and status"
            );
            describe_histogram!(
                REQUEST_DURATION,
                Unit::Seconds,
                "Time to the response head, by route template and method"
            );
            describe_counter!(
                STORE_ERRORS,
                "Requests that failed with a storage error, and failed readiness pings"
            );
            describe_counter!(PANICS, "Handler panics caught and answered with a 500");
            // Published from the start at 0, so alerts on increase() see the first error.
            counter!(STORE_ERRORS).absolute(0);
            counter!(PANICS).absolute(0);
            let upkeep = handle.clone();
            // Upkeep drains histogram buffers; a thread rather than a task, so it outlives any
            // one runtime (tests start servers on several).
            let _ = std::thread::Builder::new()
                .name("scimd-metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                });
            handle
        })
        .clone()
}

/// Counts one storage failure.
pub fn store_error() {
    counter!(STORE_ERRORS).increment(1);
}

/// Counts one caught panic.
pub fn panic_caught() {
    counter!(PANICS).increment(1);
}

/// `GET /metrics`: the Prometheus text exposition.
pub async fn render() -> Response {
    let mut res = Response::new(axum::body::Body::from(handle().render()));
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}

/// The matched route template, carried from the routing layer to [`observe`] in the
/// response extensions.
#[derive(Debug, Clone)]
pub struct RouteLabel(pub String);

/// Route layer: records the matched route template on the response.
pub async fn tag_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let mut res = next.run(req).await;
    if let Some(r) = route {
        res.extensions_mut().insert(RouteLabel(r));
    }
    res
}

/// A bounded method label: a standard method's name, else `OTHER`.
pub fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// A request id safe to log: at most 64 characters of `[A-Za-z0-9._:-]`.
pub fn sanitize_request_id(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        .take(64)
        .collect()
}

/// Outer middleware: a span per request (request id, method, path — never headers, query
/// or body), one log line per response (status, route, latency), and the HTTP metrics.
pub async fn observe(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let mut path = req.uri().path().to_string();
    if path.len() > 256 {
        let mut cut = 256;
        while !path.is_char_boundary(cut) {
            cut -= 1;
        }
        path.truncate(cut);
    }
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|r| r.header_value().to_str().ok())
        .map(sanitize_request_id)
        .unwrap_or_default();
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, path = %path);
    let res = next.run(req).instrument(span.clone()).await;
    let elapsed = start.elapsed();
    let route = res
        .extensions()
        .get::<RouteLabel>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| "unmatched".to_string());
    let status = res.status().as_u16();
    let m = method_label(&method);
    counter!(REQUESTS_TOTAL, "route" => route.clone(), "method" => m, "status" => status.to_string()).increment(1);
    histogram!(REQUEST_DURATION, "route" => route.clone(), "method" => m)
        .record(elapsed.as_secs_f64());
    // Whole microseconds over 1000: prints as a short decimal (0.59, not 0.5900000000000001).
    let latency_ms = elapsed.as_micros() as f64 / 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, route = %route, latency_ms, "request failed");
        } else {
            tracing::info!(status, route = %route, latency_ms, "request");
        }
    });
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_sanitised() {
        assert_eq!(sanitize_request_id("abc-123"), "abc-123");
        assert_eq!(sanitize_request_id("a\nb\x1b[31mc d"), "ab31mcd");
        assert_eq!(sanitize_request_id(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn method_labels_are_bounded() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "OTHER");
    }
}
