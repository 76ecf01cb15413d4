//! The limiters' state and the per-credential admission: data and arithmetic only, with no
//! knowledge of the surfaces, so that [`crate::state`] and the places that check a
//! credential ([`crate::auth`], the admin API's and the portal's extractors) depend on it
//! without depending on them. The per-address middleware and the 429 of each surface are
//! [`super`]'s.

use super::gcra::{Gcra, Keyed};
use crate::net::client::AddrKey;
use axum::http::header::RETRY_AFTER;
use axum::http::{Extensions, HeaderValue};
use axum::response::Response;
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
    /// Per client address, requests without a valid credential (`None` when off).
    pub(super) addresses: Option<Keyed<AddrKey>>,
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

    /// The limits these limiters enforce.
    pub fn limits(&self) -> RateLimits {
        self.limits
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
    /// The 429 of a surface: counts it ([`RATE_LIMITED`]), has `body` (the surface's 429:
    /// a SCIM error, the admin API's `{"error": ...}`, the portal's page) say which of
    /// `limits` refused the request and when to retry, and adds `Retry-After` in whole
    /// seconds (at least 1).
    pub fn answer(&self, limits: RateLimits, body: impl FnOnce(&str) -> Response) -> Response {
        metrics::counter!(RATE_LIMITED, "limit" => match self.limit {
            Limit::Address => "address",
            Limit::Credential => "credential",
        })
        .increment(1);
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        let secs = secs.max(1);
        let l = limits;
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
        let mut res = body(&message);
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            res.headers_mut().insert(RETRY_AFTER, v);
        }
        res
    }
}

/// Set (a request extension) when the request turned out to carry a valid credential.
#[derive(Debug, Clone, Default)]
pub(super) struct Valid(Arc<AtomicBool>);

impl Valid {
    /// Whether [`authenticated`] was called for the request.
    pub(super) fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Notes that the request carries a valid credential (see [`authenticated`]).
    pub(super) fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Notes that the request carries a valid credential: it is not counted against its
/// address (a portal sign-in that succeeded, for one).
pub fn authenticated(ext: &Extensions) {
    if let Some(v) = ext.get::<Valid>() {
        v.set();
    }
}

/// Admits a request whose credential `key` is valid (and notes it, see [`authenticated`]):
/// at once under the credential's rate of `limiter`, after a wait of at most
/// [`MAX_QUEUE_WAIT`] beyond it. Errors: [`Refused`] when even the wait would not do.
pub async fn admit(limiter: &Limiter, ext: &Extensions, key: &str) -> Result<(), Refused> {
    authenticated(ext);
    let Some(credentials) = &limiter.credentials else {
        return Ok(());
    };
    match credentials.reserve(key.to_string(), Instant::now(), MAX_QUEUE_WAIT) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_of_zero_has_no_limiter() {
        let l = Limiter::new(RateLimits {
            unauthenticated_per_minute: 0,
            per_credential: 0,
            ..RateLimits::default()
        });
        assert!(l.addresses.is_none() && l.credentials.is_none());
        assert!(Limiter::default().addresses.is_some());
    }
}
