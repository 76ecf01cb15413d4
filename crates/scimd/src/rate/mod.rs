//! Rate limits that never hurt a real identity provider: a tower layer keyed by what the edge
//! knows, the client's address ([`crate::net::client`]) and the credential.
//!
//! Entra ID has no client-side rate limit for non-gallery applications, Microsoft asks SCIM
//! servers to sustain at least 25 requests/s per tenant and quarantines a provisioning job
//! that keeps getting 429s, and Entra and Okta send from addresses every one of their
//! customers shares. So the limits are two, and they never meet:
//!
//! - **Per client address, only requests without a valid credential** (none, or one that
//!   fails: an unknown bearer token, an ended session, a wrong password):
//!   [`RateLimits::unauthenticated_per_minute`] with bursts of
//!   [`RateLimits::unauthenticated_burst`], answered 429 with `Retry-After`. A request
//!   without any credential takes its unit before it runs; one with a credential runs, and is
//!   counted only when the credential turns out not to be valid (while the address is over
//!   its budget, such a failure is answered 429 rather than 401). A request with a valid
//!   credential is never refused because of other requests from its address.
//!   Not counted at all: `/healthz`, `/readyz`, `/metrics` (probes and scrapers), the
//!   portal's `/assets/` (static, cached for a year) and its sign-in form (`GET /signin`:
//!   a browser must be able to load it to present its trusted-browser cookie; the sign-in
//!   itself, the POST, is counted).
//! - **Per credential, every request with a valid one** (a bearer token, by token id; a
//!   portal session, by administrator): [`RateLimits::per_credential`] requests/s with
//!   bursts of [`RateLimits::burst`]. Beyond it a request first waits, up to
//!   [`MAX_QUEUE_WAIT`], in the credential's queue (a GCRA reservation), and only then gets
//!   429.
//!
//! The state is per instance, in memory, in LRU maps of fixed size ([`ADDRESS_KEYS`],
//! [`CREDENTIAL_KEYS`]; see [`gcra`]). 0 turns a limit off. 429 bodies fit the surface: a
//! SCIM error under `/scim/v2`, `{"error": ...}` under `/api/v1`, an HTML page elsewhere.

pub mod gcra;

use crate::net::client::{client_addr, AddrKey};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::{Extensions, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gcra::{Gcra, Keyed};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Largest value of any of the limits.
pub const MAX_LIMIT: u32 = 1_000_000;
/// How long a request over its credential's rate waits for a turn before it gets 429.
pub const MAX_QUEUE_WAIT: Duration = Duration::from_secs(1);
/// Client addresses remembered (the least recently seen is forgotten beyond).
pub const ADDRESS_KEYS: usize = 100_000;
/// Credentials remembered.
pub const CREDENTIAL_KEYS: usize = 10_000;

/// Metric: requests refused by a rate limit, by `limit` (`address`, `credential`).
pub const RATE_LIMITED: &str = "scimd_rate_limited_total";

/// The configured limits (flags `--rate-limit-unauthenticated-per-minute`,
/// `--rate-limit-unauthenticated-burst`, `--rate-limit-per-credential`, `--rate-limit-burst`;
/// `SCIMD_*` variables and TOML keys of the same names). 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests per minute per client address without a valid credential.
    pub unauthenticated_per_minute: u32,
    /// Their burst.
    pub unauthenticated_burst: u32,
    /// Requests per second per valid credential.
    pub per_credential: u32,
    /// Their burst.
    pub burst: u32,
}

impl Default for RateLimits {
    /// 60 requests a minute per address without a valid credential, bursts of 30; 200 a
    /// second per credential, bursts of 1,000 (docs/security.md says why).
    fn default() -> Self {
        RateLimits {
            unauthenticated_per_minute: 60,
            unauthenticated_burst: 30,
            per_credential: 200,
            burst: 1000,
        }
    }
}

/// The limiters of one server.
#[derive(Debug)]
pub struct Limiter {
    limits: RateLimits,
    addresses: Option<Keyed<AddrKey>>,
    credentials: Option<Keyed<String>>,
}

impl Limiter {
    /// Limiters for `limits` (a limit of 0 has none).
    pub fn new(limits: RateLimits) -> Limiter {
        let minute = Duration::from_secs(60);
        let second = Duration::from_secs(1);
        Limiter {
            limits,
            addresses: (limits.unauthenticated_per_minute > 0).then(|| {
                let g = Gcra::new(
                    limits.unauthenticated_per_minute,
                    minute,
                    limits.unauthenticated_burst,
                );
                Keyed::new(g, ADDRESS_KEYS)
            }),
            credentials: (limits.per_credential > 0).then(|| {
                let g = Gcra::new(limits.per_credential, second, limits.burst);
                Keyed::new(g, CREDENTIAL_KEYS)
            }),
        }
    }
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter::new(RateLimits::default())
    }
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The client address's budget of requests without a valid credential.
    Address,
    /// The credential's rate.
    Credential,
}

/// A request refused by a rate limit: which, and when to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// The limit.
    pub limit: Limit,
    /// How long until a request would be accepted.
    pub retry_after: Duration,
}

impl Refused {
    /// The 429 of the surface `path` belongs to (see the module documentation), with
    /// `Retry-After` in whole seconds (at least 1).
    pub fn response(&self, st: &AppState, path: &str) -> Response {
        metrics::counter!(RATE_LIMITED, "limit" => match self.limit {
            Limit::Address => "address",
            Limit::Credential => "credential",
        })
        .increment(1);
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        let secs = secs.max(1);
        let l = st.limiter.limits;
        let message = match self.limit {
            Limit::Address => format!(
                "too many requests without a valid credential from your address ({} a minute, bursts of {}: --rate-limit-unauthenticated-per-minute); retry in {secs} s",
                l.unauthenticated_per_minute, l.unauthenticated_burst
            ),
            Limit::Credential => format!(
                "too many requests with this credential ({} a second, bursts of {}: --rate-limit-per-credential); retry in {secs} s",
                l.per_credential, l.burst
            ),
        };
        let mut res = if under(path, crate::state::SCIM_BASE) {
            crate::errors::error_response(&scim_proto::ScimError::new(429, None, message))
        } else if under(path, crate::admin::BASE) {
            crate::admin::AdminError::new(429, message).into_response()
        } else {
            crate::portal::too_many_requests(&message)
        };
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            res.headers_mut().insert(RETRY_AFTER, v);
        }
        res
    }
}

/// Whether `path` is `base` or under it.
fn under(path: &str, base: &str) -> bool {
    path.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Requests no address budget counts: probes, the metrics scrape, the portal's static
/// assets and its sign-in form.
fn exempt(method: &Method, path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
        || path.starts_with("/assets/")
        || (path == "/signin" && (method == Method::GET || method == Method::HEAD))
}

/// Whether a request presents a credential of its surface (valid or not: that is for its
/// handler to find out): a bearer token under `/scim/v2` and `/api/v1`, one of the portal's
/// session or trusted-browser cookies elsewhere. A credential of another surface (a bearer
/// header on a portal page, say) is none: it cannot make the request valid, so it must not
/// let the request run before the address's budget is checked.
fn presents_credential(req: &Request, path: &str) -> bool {
    use crate::portal::{
        cookie, DEVICE_COOKIE, DEVICE_COOKIE_TLS, SESSION_COOKIE, SESSION_COOKIE_TLS,
    };
    let h = req.headers();
    if under(path, crate::state::SCIM_BASE) || under(path, crate::admin::BASE) {
        return h.contains_key(AUTHORIZATION);
    }
    [
        SESSION_COOKIE,
        SESSION_COOKIE_TLS,
        DEVICE_COOKIE,
        DEVICE_COOKIE_TLS,
    ]
    .iter()
    .any(|name| cookie(h, name).is_some())
}

/// Set (a request extension) when the request turned out to carry a valid credential.
#[derive(Debug, Clone, Default)]
struct Valid(Arc<AtomicBool>);

/// Notes that the request carries a valid credential: it is not counted against its
/// address (a portal sign-in that succeeded, for one).
pub fn authenticated(ext: &Extensions) {
    if let Some(v) = ext.get::<Valid>() {
        v.0.store(true, Ordering::Relaxed);
    }
}

/// Admits a request whose credential `key` is valid (and notes it, see [`authenticated`]):
/// at once under the credential's rate, after a wait of at most [`MAX_QUEUE_WAIT`] beyond
/// it. Errors: [`Refused`] when even the wait would not do.
pub async fn admit(st: &AppState, ext: &Extensions, key: &str) -> Result<(), Refused> {
    authenticated(ext);
    let Some(limiter) = &st.limiter.credentials else {
        return Ok(());
    };
    match limiter.reserve(key.to_string(), Instant::now(), MAX_QUEUE_WAIT) {
        Ok(wait) if wait.is_zero() => Ok(()),
        Ok(wait) => {
            tokio::time::sleep(wait).await;
            Ok(())
        }
        Err(retry_after) => Err(Refused {
            limit: Limit::Credential,
            retry_after,
        }),
    }
}

/// The layer: the per-address budget of requests without a valid credential (see the module
/// documentation). Requests without a client address (in-process servers) pass.
pub async fn guard(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let (Some(limiter), Some(ip)) = (&st.limiter.addresses, client_addr(req.extensions())) else {
        return next.run(req).await;
    };
    if exempt(req.method(), &path) {
        return next.run(req).await;
    }
    let key = AddrKey::of(ip);
    let valid = Valid::default();
    req.extensions_mut().insert(valid.clone());
    let refused = |retry_after| {
        Refused {
            limit: Limit::Address,
            retry_after,
        }
        .response(&st, &path)
    };
    if !presents_credential(&req, &path) {
        if let Err(retry) = limiter.reserve(key, Instant::now(), Duration::ZERO) {
            tracing::debug!(client = %key, "rate limit: address over its unauthenticated budget");
            return refused(retry);
        }
        let res = next.run(req).await;
        if valid.0.load(Ordering::Relaxed) {
            limiter.refund(&key);
        }
        return res;
    }
    let over = limiter.exhausted(&key, Instant::now());
    let res = next.run(req).await;
    if valid.0.load(Ordering::Relaxed) {
        return res;
    }
    limiter.charge(key, Instant::now());
    match over {
        Some(retry) => refused(retry),
        None => res,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surfaces_and_exemptions() {
        assert!(under("/scim/v2/Users", "/scim/v2"));
        assert!(under("/api/v1", "/api/v1"));
        assert!(!under("/api/v10", "/api/v1"));
        let get = Method::GET;
        assert!(exempt(&get, "/healthz") && exempt(&get, "/readyz") && exempt(&get, "/metrics"));
        assert!(exempt(&get, "/assets/htmx.min.js") && exempt(&get, "/signin"));
        assert!(!exempt(&Method::POST, "/signin"));
        assert!(!exempt(&get, "/scim/v2/Users") && !exempt(&get, "/healthz/x"));
        // A credential counts on its own surface only.
        let req = |path: &str, header: (&str, &str)| {
            let r = Request::builder()
                .uri(path)
                .header(header.0, header.1)
                .body(axum::body::Body::empty())
                .unwrap();
            presents_credential(&r, path)
        };
        let bearer = ("authorization", "Bearer x");
        let session = ("cookie", "scimd_session=x");
        assert!(req("/scim/v2/Users", bearer) && req("/api/v1/users", bearer));
        assert!(!req("/signin", bearer) && !req("/users", bearer));
        assert!(req("/users", session) && !req("/scim/v2/Users", session));
        let l = Limiter::new(RateLimits {
            unauthenticated_per_minute: 0,
            per_credential: 0,
            ..RateLimits::default()
        });
        assert!(l.addresses.is_none() && l.credentials.is_none());
        assert!(Limiter::default().addresses.is_some());
    }
}
