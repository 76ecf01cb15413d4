//! Issuers: JWT access tokens from OIDC issuers on `/scim/v2` — Microsoft Entra workload
//! identity federation (the customer's own Entra tenant issues the SCIM client an access
//! token for scimd's application), or any issuer publishing a JWKS.
//!
//! [`Issuers`] is the server's view: the tenant's issuer records (read from the store at
//! most once a second, so `issuer remove` takes effect within a second on every instance),
//! a key cache per issuer ([`keys`]), the outbound client ([`outbound`]) and the
//! validation options ([`IssuerOptions`]). [`Issuers::authenticate`] turns a token into a
//! [`Caller`] of scope `scim`, actor type `client`, named `APP-ID@ISSUER`, or refuses it
//! with a [`Refusal`]: 401 `WWW-Authenticate: Bearer realm="scimd", error="invalid_token",
//! error_description="…"` (RFC 6750 §3) and a SCIM error body (500 when the store cannot be
//! read).
//!
//! Issuers belong to a tenant: a token is checked against the issuers of the tenant whose
//! paths the request is on.

pub mod keys;
pub mod outbound;
pub mod records;
pub mod validate;

use axum::http::header::WWW_AUTHENTICATE;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::Algorithm;
use keys::{IssuerKeys, Lookup, Source};
use outbound::Outbound;
use scim_proto::ScimError;
use scimd_directory::directory::{Caller, Directory, RequestInfo};
use scimd_directory::store::{ActorType, IssuerRow, TokenScope};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
pub use validate::Reason;

/// Algorithms `--jwt-algorithms` may allow: the asymmetric ones. `none` and the HMAC
/// algorithms (HS256 …) are refused: an issuer's keys are public.
pub const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];
/// Default clock skew allowed on `exp` and `nbf`, seconds.
pub const DEFAULT_CLOCK_SKEW_SECS: u64 = 60;
/// Largest clock skew accepted, seconds.
pub const MAX_CLOCK_SKEW_SECS: u64 = 600;
/// Default least time between two fetches of one issuer's keys, seconds (five minutes).
pub const DEFAULT_REFETCH_INTERVAL_SECS: u64 = 300;
/// How long the issuer records read from the store are used.
pub const RECORDS_TTL: Duration = Duration::from_secs(1);

/// The issuer options of `scimd serve` (and `scimd issuer add`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerOptions {
    /// `--jwt-algorithms`: the algorithms tokens may be signed with (default RS256).
    pub algorithms: Vec<Algorithm>,
    /// `--jwt-clock-skew-secs`: leeway on `exp` and `nbf` (default 60, at most 600).
    pub clock_skew_secs: u64,
    /// `--jwks-refetch-interval-secs`: least time between two fetches of one issuer's keys
    /// (default 300, 1 to 86400).
    pub refetch_interval: Duration,
    /// `--allow-private-outbound`: lift the outbound address rule (and allow `http://`).
    pub allow_private_outbound: bool,
}

impl Default for IssuerOptions {
    fn default() -> Self {
        IssuerOptions {
            algorithms: vec![Algorithm::RS256],
            clock_skew_secs: DEFAULT_CLOCK_SKEW_SECS,
            refetch_interval: Duration::from_secs(DEFAULT_REFETCH_INTERVAL_SECS),
            allow_private_outbound: false,
        }
    }
}

/// Parses `--jwt-algorithms`: a comma-separated list of [`ASYMMETRIC`] names.
///
/// Errors: an empty list, an unknown name, `none` or an HMAC algorithm.
pub fn parse_algorithms(list: &str) -> Result<Vec<Algorithm>, String> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let alg = ASYMMETRIC
            .iter()
            .copied()
            .find(|a| format!("{a:?}").eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let allowed: Vec<String> = ASYMMETRIC.iter().map(|a| format!("{a:?}")).collect();
                format!(
                    "--jwt-algorithms: {name:?} is not allowed; choose among {} (none and the HMAC algorithms are never accepted: an issuer's keys are public)",
                    allowed.join(", ")
                )
            })?;
        if !out.contains(&alg) {
            out.push(alg);
        }
    }
    if out.is_empty() {
        return Err("--jwt-algorithms must name at least one algorithm".into());
    }
    Ok(out)
}

impl IssuerOptions {
    /// The options of the settings' values (defaults where unset).
    ///
    /// Errors: see [`parse_algorithms`]; a clock skew over [`MAX_CLOCK_SKEW_SECS`]; a
    /// refetch interval of 0 or over a day.
    pub fn resolve(
        algorithms: Option<&str>,
        clock_skew_secs: Option<u64>,
        refetch_interval_secs: Option<u64>,
        allow_private_outbound: Option<bool>,
    ) -> Result<IssuerOptions, String> {
        let d = IssuerOptions::default();
        let algorithms = match algorithms {
            Some(list) => parse_algorithms(list)?,
            None => d.algorithms,
        };
        let clock_skew_secs = clock_skew_secs.unwrap_or(d.clock_skew_secs);
        if clock_skew_secs > MAX_CLOCK_SKEW_SECS {
            return Err(format!(
                "--jwt-clock-skew-secs must be 0 to {MAX_CLOCK_SKEW_SECS}, got {clock_skew_secs}"
            ));
        }
        let refetch = refetch_interval_secs.unwrap_or(DEFAULT_REFETCH_INTERVAL_SECS);
        if !(1..=86_400).contains(&refetch) {
            return Err(format!(
                "--jwks-refetch-interval-secs must be 1 to 86400, got {refetch}"
            ));
        }
        Ok(IssuerOptions {
            algorithms,
            clock_skew_secs,
            refetch_interval: Duration::from_secs(refetch),
            allow_private_outbound: allow_private_outbound.unwrap_or(false),
        })
    }
}

/// Why a token did not authenticate.
#[derive(Debug)]
pub enum Refusal {
    /// Refused: 401 with the RFC 6750 challenge and a SCIM error body.
    Token(Reason),
    /// The issuer records could not be read: the store's error (500; nothing about the
    /// token is known).
    Store(scimd_directory::directory::DirectoryError),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let reason = match self {
            Refusal::Token(r) => r,
            Refusal::Store(e) => return crate::errors::ApiError::from(e).into_response(),
        };
        let d = reason.description();
        let e = ScimError::new(401, None, format!("the bearer token is not valid: {d}"));
        let mut res = crate::errors::error_response(&e);
        let challenge =
            format!("Bearer realm=\"scimd\", error=\"invalid_token\", error_description=\"{d}\"");
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            res.headers_mut().insert(WWW_AUTHENTICATE, v);
        }
        res
    }
}

/// Whether a bearer secret has the shape of a JWS compact serialisation (three base64url
/// segments, the last empty for `alg: none`): such a secret is an issuer's access token,
/// anything else a static token.
pub fn looks_like_jwt(secret: &str) -> bool {
    let b64url = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let parts: Vec<&str> = secret.split('.').collect();
    parts.len() == 3
        && b64url(parts[0])
        && b64url(parts[1])
        && (parts[2].is_empty() || b64url(parts[2]))
}

#[derive(Default)]
struct Records {
    read: Option<Instant>,
    rows: Arc<Vec<IssuerRow>>,
}

/// Most tenants whose issuer records are kept at once; beyond, the cache starts again.
const RECORDS_TENANTS: usize = 4096;

/// The server's issuers: records, key caches, outbound client and options.
pub struct Issuers {
    options: IssuerOptions,
    outbound: Outbound,
    records: Mutex<HashMap<String, Records>>,
    keys: std::sync::Mutex<HashMap<String, Arc<IssuerKeys>>>,
}

impl Issuers {
    /// The issuers of a server with `options`.
    pub fn new(options: IssuerOptions) -> Issuers {
        Issuers {
            outbound: Outbound::new(options.allow_private_outbound),
            options,
            records: Mutex::default(),
            keys: std::sync::Mutex::default(),
        }
    }

    /// The options.
    pub fn options(&self) -> &IssuerOptions {
        &self.options
    }

    /// The outbound client (its address rule checks URLs at `issuer add`).
    pub fn outbound(&self) -> &Outbound {
        &self.outbound
    }

    /// The issuer records of tenant `tenant`, read again when older than [`RECORDS_TTL`]
    /// (at most [`RECORDS_TENANTS`] tenants' at once). Key caches of the tenant's issuers
    /// that are gone are dropped.
    async fn records(&self, dir: &Directory, tenant: &str) -> Result<Arc<Vec<IssuerRow>>, Refusal> {
        let mut all = self.records.lock().await;
        if let Some(r) = all.get(tenant) {
            if r.read.is_some_and(|t| t.elapsed() < RECORDS_TTL) {
                return Ok(r.rows.clone());
            }
        }
        let rows = dir.list_issuers(tenant).await.map_err(Refusal::Store)?;
        if all.len() >= RECORDS_TENANTS && !all.contains_key(tenant) {
            all.clear();
        }
        let r = all.entry(tenant.to_string()).or_default();
        let gone: Vec<String> = r
            .rows
            .iter()
            .filter(|old| !rows.iter().any(|new| new.id == old.id))
            .map(|old| old.id.clone())
            .collect();
        r.rows = Arc::new(rows);
        r.read = Some(Instant::now());
        if let Ok(mut k) = self.keys.lock() {
            k.retain(|id, _| !gone.contains(id));
        }
        Ok(r.rows.clone())
    }

    /// The key cache of `row` (made on first use; a record's id names one configuration).
    pub fn keys_of(&self, row: &IssuerRow) -> Arc<IssuerKeys> {
        let source = match (&row.jwks_file, scimd_directory::issuers::metadata_url(row)) {
            (Some(f), _) => Source::File(f.into()),
            (None, url) => Source::Metadata {
                url: url.unwrap_or_default(),
                issuer: row.issuer.clone(),
            },
        };
        let mut k = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        k.entry(row.id.clone())
            .or_insert_with(|| Arc::new(IssuerKeys::new(source)))
            .clone()
    }

    /// Validates `token` (see [`validate`]) and returns its caller: scope `scim`, actor
    /// type `client`, named `APP-ID@ISSUER`; its rate-limit key is per issuer and
    /// application.
    pub async fn authenticate(
        &self,
        dir: &Directory,
        tenant: &str,
        token: &str,
    ) -> Result<Caller, Refusal> {
        let result = self.check(dir, tenant, token).await;
        if let Err(Refusal::Token(r)) = &result {
            tracing::warn!(
                reason = r.as_str(),
                "authentication failed: issuer access token refused"
            );
        }
        result
    }

    async fn check(&self, dir: &Directory, tenant: &str, token: &str) -> Result<Caller, Refusal> {
        let seen = validate::peek(token, &self.options.algorithms).map_err(Refusal::Token)?;
        let rows = self.records(dir, tenant).await?;
        let row = rows
            .iter()
            .find(|r| r.issuer == seen.iss)
            .ok_or(Refusal::Token(Reason::UnknownIssuer))?;
        let cache = self.keys_of(row);
        let interval = self.options.refetch_interval;
        let key = match cache
            .lookup(seen.kid.as_deref(), &self.outbound, interval)
            .await
        {
            Lookup::Found(k) => k,
            Lookup::Unknown => return Err(Refusal::Token(Reason::UnknownKey)),
            Lookup::Unavailable => return Err(Refusal::Token(Reason::KeysUnavailable)),
        };
        let skew = self.options.clock_skew_secs;
        let app = validate::verify(token, &seen, &key, row, skew).map_err(Refusal::Token)?;
        Ok(Caller {
            tenant_id: row.tenant_id.clone(),
            token_id: format!("issuer:{}:{app}", row.id),
            token_name: format!("{app}@{}", row.issuer),
            scope: TokenScope::Scim,
            actor: ActorType::Client,
            request: RequestInfo::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_shape() {
        assert!(looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln"));
        assert!(
            looks_like_jwt("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."),
            "alg none"
        );
        assert!(!looks_like_jwt(".eyJpc3MiOiJ4In0.c2ln"));
        assert!(!looks_like_jwt(&"a".repeat(64)));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a.b.c.d"));
        assert!(!looks_like_jwt("a.b+.c"));
    }

    #[test]
    fn algorithm_allow_list() {
        assert_eq!(parse_algorithms("RS256").unwrap(), [Algorithm::RS256]);
        assert_eq!(
            parse_algorithms("rs256, ES256,RS256").unwrap(),
            [Algorithm::RS256, Algorithm::ES256]
        );
        for bad in ["", "none", "HS256", "RS256,HS512", "XYZ"] {
            assert!(parse_algorithms(bad).is_err(), "{bad:?}");
        }
        let o = IssuerOptions::resolve(None, None, None, None).unwrap();
        assert_eq!(o, IssuerOptions::default());
        assert!(IssuerOptions::resolve(None, Some(601), None, None).is_err());
        assert!(IssuerOptions::resolve(None, None, Some(0), None).is_err());
    }
}
