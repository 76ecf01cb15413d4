//! Issuers' signing keys: the JWKS (RFC 7517) of each configured issuer, cached.
//!
//! A key set comes from the issuer's metadata (`jwks_uri` of its OpenID Provider Metadata,
//! whose `issuer` must be the configured issuer: OpenID Connect Discovery 1.0 §4.3) or from
//! a JWKS file on the server. Fetched sets are cached and fetched again:
//!
//! - when a token names a `kid` the cached set lacks (a key rotation), or the set is older
//!   than [`MAX_AGE`] (a key withdrawn) — at most once per refetch interval per issuer
//!   (`--jwks-refetch-interval-secs`, default five minutes), so tokens with made-up `kid`s
//!   cannot make scimd fetch more often;
//! - after a failed fetch, not before [`FAILURE_RETRY`] (or the interval, if shorter); the
//!   last good set stays in use meanwhile;
//! - single-flight: one fetch per issuer at a time; concurrent requests wait for it and use
//!   its result.
//!
//! A JWKS file is read again when its modification time changes. Keys of `"use": "enc"`,
//! symmetric (`oct`) keys and keys scimd cannot use are left out of a set; a set keeps at
//! most [`MAX_KEYS`] keys.

use super::outbound::{Outbound, MAX_BYTES};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::DecodingKey;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Mutex;

/// Age after which a fetched key set is fetched again on its next use.
pub const MAX_AGE: Duration = Duration::from_secs(3600);
/// Wait after a failed fetch before the next attempt (at most the refetch interval).
pub const FAILURE_RETRY: Duration = Duration::from_secs(30);
/// Most keys kept of one set.
pub const MAX_KEYS: usize = 100;

/// One usable key of a set.
#[derive(Clone)]
pub struct Key {
    /// Its `kid`, if it has one.
    pub kid: Option<String>,
    /// Its `alg`, if it names one (a token must then use exactly that algorithm).
    pub alg: Option<String>,
    /// The verification key.
    pub key: Arc<DecodingKey>,
}

/// Where an issuer's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The OpenID Provider Metadata at this URL, for the issuer `issuer`.
    Metadata {
        /// The metadata URL.
        url: String,
        /// The issuer it must name.
        issuer: String,
    },
    /// A JWKS file on the server.
    File(PathBuf),
}

/// What looking a key up found.
pub enum Lookup {
    /// The key for the token.
    Found(Key),
    /// The set has no such key (even after a fetch, or when no fetch was allowed yet).
    Unknown,
    /// No key set could be had (the reason was logged).
    Unavailable,
}

#[derive(Default)]
struct State {
    keys: Option<Arc<Vec<Key>>>,
    /// When the last fetch was attempted, and whether it failed.
    attempt: Option<(Instant, bool)>,
    /// When the current set was loaded.
    loaded: Option<Instant>,
    /// The file's modification time when it was read.
    mtime: Option<SystemTime>,
}

/// The key cache of one issuer.
pub struct IssuerKeys {
    source: Source,
    state: Mutex<State>,
    fetches: std::sync::atomic::AtomicU64,
}

impl IssuerKeys {
    /// An empty cache of keys from `source`.
    pub fn new(source: Source) -> IssuerKeys {
        IssuerKeys {
            source,
            state: Mutex::new(State::default()),
            fetches: Default::default(),
        }
    }

    /// Where the keys come from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// How many fetches (or file reads) were made.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The key of `kid` (with no `kid`: the set's only key), fetching or reading the set
    /// again under the module's rules.
    pub async fn lookup(&self, kid: Option<&str>, out: &Outbound, interval: Duration) -> Lookup {
        let mut st = self.state.lock().await;
        if let Source::File(path) = &self.source {
            let mtime = tokio::fs::metadata(path)
                .await
                .and_then(|m| m.modified())
                .ok();
            if st.keys.is_none() || mtime != st.mtime {
                self.fetches
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                match read_file(path).await {
                    Ok(keys) => {
                        st.keys = Some(Arc::new(keys));
                        st.mtime = mtime;
                    }
                    Err(e) => {
                        tracing::warn!(file = %path.display(), error = %e, "cannot read the issuer's JWKS file");
                        st.keys = None;
                        st.mtime = None;
                    }
                }
            }
            return match &st.keys {
                Some(keys) => find(keys, kid).map_or(Lookup::Unknown, Lookup::Found),
                None => Lookup::Unavailable,
            };
        }
        let now = Instant::now();
        let stale = st.loaded.is_none_or(|t| now.duration_since(t) >= MAX_AGE);
        let cached = st.keys.as_ref().and_then(|k| find(k, kid));
        if cached.is_some() && !stale {
            return cached.map_or(Lookup::Unknown, Lookup::Found);
        }
        let wait = match st.attempt {
            Some((_, true)) => FAILURE_RETRY.min(interval),
            _ => interval,
        };
        let may_fetch = st
            .attempt
            .is_none_or(|(t, _)| now.duration_since(t) >= wait);
        if may_fetch {
            self.fetches
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let result = self.fetch(out).await;
            let now = Instant::now();
            match result {
                Ok(keys) => {
                    st.keys = Some(Arc::new(keys));
                    st.loaded = Some(now);
                    st.attempt = Some((now, false));
                }
                Err(e) => {
                    tracing::warn!(source = ?self.source, error = %e, "cannot fetch the issuer's signing keys");
                    st.attempt = Some((now, true));
                }
            }
        }
        match &st.keys {
            Some(keys) => find(keys, kid).map_or(Lookup::Unknown, Lookup::Found),
            None => Lookup::Unavailable,
        }
    }

    async fn fetch(&self, out: &Outbound) -> Result<Vec<Key>, String> {
        let Source::Metadata { url, issuer } = &self.source else {
            return Err("not a metadata source".into());
        };
        let meta = out.get_json(url).await?;
        let named = meta.get("issuer").and_then(Value::as_str);
        if named != Some(issuer.as_str()) {
            return Err(format!(
                "the metadata at {url} names the issuer {named:?}, not {issuer:?} (OpenID Connect Discovery §4.3)"
            ));
        }
        let jwks_uri = meta
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the metadata at {url} has no jwks_uri"))?;
        let set = out.get_json(jwks_uri).await?;
        key_set(&set).map_err(|e| format!("{jwks_uri}: {e}"))
    }
}

async fn read_file(path: &PathBuf) -> Result<Vec<Key>, String> {
    let len = tokio::fs::metadata(path)
        .await
        .map_err(|e| e.to_string())?
        .len();
    if len > MAX_BYTES as u64 {
        return Err(format!("the file is larger than {MAX_BYTES} bytes"));
    }
    let bytes = tokio::fs::read(path).await.map_err(|e| e.to_string())?;
    let set: Value = serde_json::from_slice(&bytes).map_err(|e| format!("not JSON: {e}"))?;
    key_set(&set)
}

/// The usable keys of a JWKS document (see the module rules).
///
/// Errors: the document has no `keys` array, or none of its keys is usable.
pub fn key_set(set: &Value) -> Result<Vec<Key>, String> {
    let keys = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("a JWKS must be an object with a \"keys\" array")?;
    let mut out = Vec::new();
    for k in keys.iter().take(MAX_KEYS) {
        let Ok(jwk) = serde_json::from_value::<Jwk>(k.clone()) else {
            continue;
        };
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        match jwk.algorithm {
            AlgorithmParameters::RSA(_)
            | AlgorithmParameters::EllipticCurve(_)
            | AlgorithmParameters::OctetKeyPair(_) => {}
            _ => continue,
        }
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        out.push(Key {
            kid: jwk.common.key_id.clone(),
            alg: k.get("alg").and_then(Value::as_str).map(str::to_string),
            key: Arc::new(key),
        });
    }
    if out.is_empty() {
        return Err("the JWKS has no usable signing key".into());
    }
    Ok(out)
}

/// The key of `kid`; with no `kid`, the only key of the set.
fn find(keys: &[Key], kid: Option<&str>) -> Option<Key> {
    match kid {
        Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)).cloned(),
        None if keys.len() == 1 => keys.first().cloned(),
        None => None,
    }
}
