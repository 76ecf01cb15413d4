//! Validation of an issuer's JWT access token (RFC 7519, RFC 9068 in spirit; Microsoft
//! identity platform access tokens v1 and v2), given its issuer's record and keys.
//!
//! In order, each failure a [`Reason`]:
//! 1. the token is three base64url segments and its header's `alg` is in the configured
//!    allow-list (`--jwt-algorithms`, default RS256) — never taken from the token itself:
//!    `none` and the HMAC algorithms are never accepted, so a public key cannot be used as
//!    an HMAC secret;
//! 2. its `iss` is a configured issuer (compared exactly);
//! 3. the issuer's key of the header's `kid` exists (a key naming an `alg` must name the
//!    header's), and the signature verifies (jsonwebtoken);
//! 4. `exp` (required) and `nbf` (when present) hold with the configured clock skew
//!    (`--jwt-clock-skew-secs`, default 60 s); `aud` (required) is the issuer's audience;
//! 5. it is an application token: no `scp` claim, and `idtyp`, when present, is `app`
//!    (delegated tokens act for a user and are refused);
//! 6. its application id (`appid`, Entra v1; else `azp`, Entra v2 and OIDC; else
//!    `client_id`, RFC 9068 §2.2) is one the issuer allows.

use super::keys::Key;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use scimd_directory::store::IssuerRow;
use serde_json::Value;

/// Why a token was refused: the `error_description` of the 401 (RFC 6750 §3), never
/// echoing the token or any of its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// Not a well-formed JWT, or a claim of the wrong type.
    Malformed,
    /// The header's `alg` is not in the allow-list.
    AlgorithmNotAllowed,
    /// No configured issuer has the token's `iss`.
    UnknownIssuer,
    /// The issuer's keys could not be fetched or read.
    KeysUnavailable,
    /// The issuer publishes no key of the token's `kid` (or the token names none and the
    /// issuer has several).
    UnknownKey,
    /// The signature does not verify with the issuer's key.
    BadSignature,
    /// `exp` has passed (beyond the clock skew).
    Expired,
    /// `nbf` is still ahead (beyond the clock skew).
    NotYetValid,
    /// A required claim is missing (`exp`, `aud`, `iss`, or the application id: `appid`,
    /// `azp` or `client_id`).
    MissingClaim,
    /// `aud` is not the issuer's audience.
    WrongAudience,
    /// A delegated (user) token: `scp` present, or `idtyp` other than `app`.
    Delegated,
    /// The application id is not one the issuer allows.
    AppNotAllowed,
}

impl Reason {
    /// The `error_description` (plain ASCII, no quotes).
    pub fn description(self) -> &'static str {
        match self {
            Reason::Malformed => "the access token is not a well-formed JWT",
            Reason::AlgorithmNotAllowed => {
                "the access token is signed with an algorithm that is not allowed"
            }
            Reason::UnknownIssuer => "the access token is from an unknown issuer",
            Reason::KeysUnavailable => {
                "the signing keys of the access token's issuer cannot be fetched now"
            }
            Reason::UnknownKey => {
                "the access token is signed with a key its issuer does not publish"
            }
            Reason::BadSignature => "the access token's signature is not valid",
            Reason::Expired => "the access token has expired",
            Reason::NotYetValid => "the access token is not valid yet",
            Reason::MissingClaim => {
                "the access token lacks a required claim (exp, aud, iss, or appid, azp or client_id)"
            }
            Reason::WrongAudience => "the access token is for another audience",
            Reason::Delegated => {
                "the access token is a delegated user token; an application token is required"
            }
            Reason::AppNotAllowed => "the access token's application is not allowed",
        }
    }

    /// A short name for logs and metrics (`expired`, `wrong_audience` ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::AlgorithmNotAllowed => "algorithm_not_allowed",
            Reason::UnknownIssuer => "unknown_issuer",
            Reason::KeysUnavailable => "keys_unavailable",
            Reason::UnknownKey => "unknown_key",
            Reason::BadSignature => "bad_signature",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::MissingClaim => "missing_claim",
            Reason::WrongAudience => "wrong_audience",
            Reason::Delegated => "delegated",
            Reason::AppNotAllowed => "app_not_allowed",
        }
    }
}

/// What a token says before it is verified: its header's `alg` and `kid`, and its `iss`.
#[derive(Debug, Clone, PartialEq)]
pub struct Unverified {
    /// The allowed algorithm it names.
    pub alg: Algorithm,
    /// Its `kid`.
    pub kid: Option<String>,
    /// Its `iss`.
    pub iss: String,
}

fn segment(s: &str) -> Result<Value, Reason> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| Reason::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| Reason::Malformed)
}

/// Steps 1 and 2's reading: the header and `iss` of `token`, its `alg` checked against
/// `allowed`.
pub fn peek(token: &str, allowed: &[Algorithm]) -> Result<Unverified, Reason> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Reason::Malformed);
    };
    let header = segment(h)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(Reason::Malformed)?;
    let alg = allowed
        .iter()
        .copied()
        .find(|a| format!("{a:?}") == alg)
        .ok_or(Reason::AlgorithmNotAllowed)?;
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(Reason::Malformed),
    };
    let iss = match segment(p)?.get("iss") {
        Some(Value::String(i)) => i.clone(),
        None => return Err(Reason::MissingClaim),
        Some(_) => return Err(Reason::Malformed),
    };
    Ok(Unverified { alg, kid, iss })
}

/// Steps 3 to 6: verifies `token` (whose [`peek`] is `seen`) with `key` for `issuer`;
/// returns the application id.
pub fn verify(
    token: &str,
    seen: &Unverified,
    key: &Key,
    issuer: &IssuerRow,
    leeway_secs: u64,
) -> Result<String, Reason> {
    if key
        .alg
        .as_deref()
        .is_some_and(|a| a != format!("{:?}", seen.alg))
    {
        return Err(Reason::AlgorithmNotAllowed);
    }
    let mut v = Validation::new(seen.alg);
    v.leeway = leeway_secs;
    v.validate_exp = true;
    v.validate_nbf = true;
    v.validate_aud = true;
    v.set_audience(&[issuer.audience.as_str()]);
    v.set_issuer(&[issuer.issuer.as_str()]);
    v.set_required_spec_claims(&["exp", "aud", "iss"]);
    let data = jsonwebtoken::decode::<Value>(token, &key.key, &v).map_err(|e| match e.kind() {
        ErrorKind::InvalidSignature => Reason::BadSignature,
        ErrorKind::ExpiredSignature => Reason::Expired,
        ErrorKind::ImmatureSignature => Reason::NotYetValid,
        ErrorKind::InvalidAudience => Reason::WrongAudience,
        ErrorKind::InvalidIssuer => Reason::UnknownIssuer,
        ErrorKind::MissingRequiredClaim(_) => Reason::MissingClaim,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::MissingAlgorithm => Reason::AlgorithmNotAllowed,
        ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidEddsaKey => {
            Reason::BadSignature
        }
        _ => Reason::Malformed,
    })?;
    let claims = data.claims;
    let idtyp = claims.get("idtyp");
    if claims.get("scp").is_some() || idtyp.is_some_and(|t| t.as_str() != Some("app")) {
        return Err(Reason::Delegated);
    }
    let named = ["appid", "azp", "client_id"]
        .iter()
        .find_map(|c| claims.get(*c))
        .ok_or(Reason::MissingClaim)?;
    let app = named.as_str().ok_or(Reason::Malformed)?.to_string();
    if !issuer.app_ids.contains(&app) {
        return Err(Reason::AppNotAllowed);
    }
    Ok(app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(header: Value, claims: Value) -> String {
        let b = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.c2ln", b(&header), b(&claims))
    }

    #[test]
    fn peek_reads_only_what_it_may() {
        let rs = [Algorithm::RS256];
        let iss = json!({"iss": "https://sts.windows.net/t/"});
        let seen = peek(
            &token(json!({"alg": "RS256", "kid": "k"}), iss.clone()),
            &rs,
        )
        .unwrap();
        assert_eq!(seen.alg, Algorithm::RS256);
        assert_eq!(seen.kid.as_deref(), Some("k"));
        assert_eq!(seen.iss, "https://sts.windows.net/t/");
        for alg in ["none", "HS256", "RS384", "rs256", ""] {
            let t = token(json!({"alg": alg}), iss.clone());
            assert_eq!(peek(&t, &rs), Err(Reason::AlgorithmNotAllowed), "{alg}");
        }
        let cases = [
            (json!({"kid": "k"}), iss.clone(), Reason::Malformed),
            (
                json!({"alg": "RS256", "kid": 7}),
                iss.clone(),
                Reason::Malformed,
            ),
            (
                json!({"alg": "RS256"}),
                json!({"iss": ["a"]}),
                Reason::Malformed,
            ),
            (
                json!({"alg": "RS256"}),
                json!({"sub": "x"}),
                Reason::MissingClaim,
            ),
        ];
        for (h, c, want) in cases {
            assert_eq!(
                peek(&token(h.clone(), c.clone()), &rs),
                Err(want),
                "{h} {c}"
            );
        }
        for bad in ["", "a.b", "a.b.c.d", "!!.e30.c2ln", "e30.!!.c2ln"] {
            assert_eq!(peek(bad, &rs), Err(Reason::Malformed), "{bad}");
        }
    }
}
