//! HTTP client helpers: the bounds (duration, request budget) shared by the workers of a
//! run, and one simulated tenant's client, which sends a request and records it.

use crate::args::RunArgs;
use crate::stats::Stats;
use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Bounds shared by every worker of a run

/// The limits of one run: a deadline and a budget of requests, shared by all its workers;
/// once either is reached the run is over for every worker.
pub struct Bounds {
    deadline: Instant,
    budget: AtomicU64,
    stop: AtomicBool,
}

impl Bounds {
    /// Bounds ending `duration` seconds from now or after `requests` requests.
    pub fn new(duration: f64, requests: u64) -> Arc<Bounds> {
        Arc::new(Bounds {
            deadline: Instant::now() + Duration::from_secs_f64(duration.max(0.0)),
            budget: AtomicU64::new(requests),
            stop: AtomicBool::new(false),
        })
    }

    /// Takes one request from the budget; false when the run is over.
    pub fn take(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline {
            self.stop.store(true, Ordering::Relaxed);
            return false;
        }
        let ok = self
            .budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
            .is_ok();
        if !ok {
            self.stop.store(true, Ordering::Relaxed);
        }
        ok
    }

    /// Whether the run is over (deadline passed or budget spent); takes nothing.
    pub fn over(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }
}

// ---------------------------------------------------------------------------------------
// One simulated tenant's HTTP client

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: Option<String>,
    pub bounds: Arc<Bounds>,
    /// `--rate`: the interval between two requests of this tenant and when the next is due
    /// (the first: staggered over one interval by the tenant's index).
    pace: Option<Arc<(Duration, std::sync::Mutex<Option<tokio::time::Instant>>)>>,
}

/// A response: status and parsed body (`Value::Null` when empty or not JSON).
pub struct Resp {
    pub status: u16,
    pub body: Value,
}

/// Sends `rb` and reads the whole response: its status and its body's bytes (to be parsed
/// after the caller stops its clock). Errors: `request: …` (no response) or `reading body: …`.
pub async fn exchange(rb: RequestBuilder) -> Result<(u16, impl AsRef<[u8]>), String> {
    let r = rb.send().await.map_err(|e| format!("request: {e:?}"))?;
    let status = r.status().as_u16();
    let bytes = r.bytes().await.map_err(|e| format!("reading body: {e}"))?;
    Ok((status, bytes))
}

/// [`exchange`] timed: how long it took to the last byte, then its status and body as
/// JSON ([`json_body`], parsed after the clock stops). Errors as [`exchange`].
pub async fn timed_exchange(rb: RequestBuilder) -> (Duration, Result<(u16, Value), String>) {
    let start = Instant::now();
    let res = exchange(rb).await;
    let elapsed = start.elapsed();
    (
        elapsed,
        res.map(|(status, bytes)| (status, json_body(bytes))),
    )
}

/// A response body as JSON; `Value::Null` when empty or not JSON.
pub fn json_body(bytes: impl AsRef<[u8]>) -> Value {
    serde_json::from_slice(bytes.as_ref()).unwrap_or(Value::Null)
}

/// The `detail` of a SCIM error response (RFC 7644 §3.12); empty when there is none.
pub fn error_detail(body: &Value) -> &str {
    body.get("detail").and_then(Value::as_str).unwrap_or("")
}

impl Client {
    /// Sends one request, records it under `kind` in `stats` (a non-2xx answer or no answer
    /// as an error); `None` when the run's bounds are exhausted (nothing sent).
    pub async fn send(
        &self,
        stats: &mut Stats,
        kind: &'static str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Option<Result<Resp, String>> {
        if let Some(p) = &self.pace {
            let due = {
                let mut next = p.1.lock().expect("pace lock");
                let now = tokio::time::Instant::now();
                let due = next.map_or(now, |n| n.max(now));
                *next = Some(due + p.0);
                due
            };
            tokio::time::sleep_until(due).await;
        }
        if !self.bounds.take() {
            return None;
        }
        let url = format!("{}{}", self.base, path);
        let mut rb = self.http.request(method, &url);
        if let Some(a) = &self.auth {
            rb = rb.header("Authorization", a);
        }
        if let Some(b) = body {
            rb = rb
                .header("Content-Type", "application/scim+json")
                .body(serde_json::to_vec(b).expect("json"));
        }
        let (elapsed, res) = timed_exchange(rb).await;
        let out = match res {
            Ok((status, body)) => {
                if (200..300).contains(&status) {
                    stats.record(kind, elapsed, None);
                } else {
                    let detail = error_detail(&body).chars().take(200).collect::<String>();
                    stats.record(kind, elapsed, Some(format!("HTTP {status} {detail}")));
                }
                Ok(Resp { status, body })
            }
            Err(e) => {
                stats.record(kind, elapsed, Some(e.clone()));
                Err(e)
            }
        };
        Some(out)
    }
}

/// One client per simulated tenant (`--tenants`), each with its own keep-alive pool of up
/// to `--concurrency` connections to `base`; with `with_auth`, tenant k sends token k mod the
/// number of `--token`s. Errors: `base` is not a loopback URL, or the client cannot be built.
pub fn make_clients(
    a: &RunArgs,
    base: &str,
    bounds: &Arc<Bounds>,
    with_auth: bool,
) -> Result<Vec<Client>, String> {
    if !is_loopback(base) {
        return Err(format!(
            "{base}: scimd-bench only drives loopback targets (127.0.0.0/8, localhost, [::1])"
        ));
    }
    if let Some((url, _)) = a.tenant_targets.iter().find(|(u, _)| !is_loopback(u)) {
        return Err(format!(
            "{url}: scimd-bench only drives loopback targets (127.0.0.0/8, localhost, [::1])"
        ));
    }
    let mut out = Vec::new();
    for t in 0..a.tenants.max(1) {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(a.concurrency.max(1))
            .pool_idle_timeout(Duration::from_secs(90))
            .timeout(Duration::from_secs_f64(a.timeout))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let (base, auth) = match a.tenant_targets.get(t % a.tenant_targets.len().max(1)) {
            // A tenant of a multi-tenant scimd (--tenants-file): its own URL and token.
            Some((url, token)) if with_auth => (url.as_str(), Some(format!("Bearer {token}"))),
            _ if with_auth && !a.token.is_empty() => {
                (base, Some(format!("Bearer {}", a.token[t % a.token.len()])))
            }
            _ => (base, None),
        };
        out.push(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            auth,
            bounds: bounds.clone(),
            // The tenants' first requests are staggered over one interval, not sent at once.
            pace: (a.rate > 0.0).then(|| {
                let interval = Duration::from_secs_f64(1.0 / a.rate);
                let first = tokio::time::Instant::now()
                    + interval.mul_f64(t as f64 / a.tenants.max(1) as f64);
                Arc::new((interval, std::sync::Mutex::new(Some(first))))
            }),
        });
    }
    Ok(out)
}

fn is_loopback(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or("");
    let host = if let Some(r) = rest.strip_prefix('[') {
        r.split(']').next().unwrap_or("")
    } else {
        rest.split(['/', ':']).next().unwrap_or("")
    };
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}
