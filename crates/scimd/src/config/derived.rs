//! Settings derived from a merged layer, each validated: the credential lifetimes, the rate
//! limits and the input bounds (see the table of [`super`]).

use super::{err, ConfigError, InputLimits, Settings};
use super::{IDENTIFIER_BYTES, MEMBERS, PAGE_BYTES, STRING_BYTES, VALUES};
use crate::net;
use scim_proto::limits::Limits;
use std::time::Duration;

/// Longest `--access-token-ttl`: a day.
pub const MAX_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
/// Largest `--token-expiry-warning-days`.
pub const MAX_TOKEN_EXPIRY_WARNING_DAYS: u64 = 3650;

/// The credential lifetimes of the settings. Errors: a TTL that does not parse or is over
/// [`MAX_ACCESS_TOKEN_TTL`]; a warning over [`MAX_TOKEN_EXPIRY_WARNING_DAYS`] days.
pub fn credentials(s: &Settings) -> Result<crate::state::Credentials, ConfigError> {
    let mut c = crate::state::Credentials::default();
    if let Some(t) = &s.access_token_ttl {
        let d = crate::lifetime::parse(t, crate::lifetime::TTL_UNITS)
            .map_err(|e| ConfigError(format!("--access-token-ttl: {e}")))?;
        let d = Duration::from_secs(u64::try_from(d.whole_seconds()).unwrap_or(0));
        if d > MAX_ACCESS_TOKEN_TTL {
            return err("--access-token-ttl must be at most 24h");
        }
        c.access_token_ttl = d;
    }
    if let Some(days) = s.token_expiry_warning_days {
        if days > MAX_TOKEN_EXPIRY_WARNING_DAYS {
            return err(format!(
                "--token-expiry-warning-days must be 0 to {MAX_TOKEN_EXPIRY_WARNING_DAYS}, got {days}"
            ));
        }
        c.token_expiry_warning_days = days as u32;
    }
    Ok(c)
}

/// The rate limits a merged settings layer gives, defaults for what it leaves unset (see
/// [`crate::rate::limiter::RateLimits`]).
///
/// Errors: a limit over [`crate::rate::limiter::MAX_LIMIT`], a burst of 0 for a limit that is on.
pub fn rate_limits(s: &Settings) -> Result<crate::rate::limiter::RateLimits, ConfigError> {
    use crate::rate::limiter::MAX_LIMIT;
    let value = |v: Option<u64>, default: u32, flag: &str, min: u64| -> Result<u32, ConfigError> {
        let v = v.unwrap_or(u64::from(default));
        match u32::try_from(v) {
            Ok(n) if n <= MAX_LIMIT && v >= min => Ok(n),
            _ => err(format!("--{flag} must be {min} to {MAX_LIMIT}, got {v}")),
        }
    };
    let d = crate::rate::limiter::RateLimits::default();
    Ok(crate::rate::limiter::RateLimits {
        unauthenticated_per_minute: value(
            s.rate_limit_unauthenticated_per_minute,
            d.unauthenticated_per_minute,
            "rate-limit-unauthenticated-per-minute",
            0,
        )?,
        unauthenticated_burst: value(
            s.rate_limit_unauthenticated_burst,
            d.unauthenticated_burst,
            "rate-limit-unauthenticated-burst",
            1,
        )?,
        per_credential: value(
            s.rate_limit_per_credential,
            d.per_credential,
            "rate-limit-per-credential",
            0,
        )?,
        burst: value(s.rate_limit_burst, d.burst, "rate-limit-burst", 1)?,
    })
}

/// The input bounds a merged settings layer gives, defaults for what it leaves unset (see
/// [`InputLimits`]).
///
/// Errors: a value outside its range ([`IDENTIFIER_BYTES`], [`STRING_BYTES`], [`VALUES`],
/// [`MEMBERS`], [`PAGE_BYTES`]; a statement timeout of 0 or over [`net::MAX_TIMEOUT_SECS`]).
pub fn input_limits(s: &Settings) -> Result<InputLimits, ConfigError> {
    let d = Limits::default();
    let within = |v: Option<u64>,
                  default: usize,
                  range: std::ops::RangeInclusive<u64>,
                  flag: &str|
     -> Result<usize, ConfigError> {
        match v {
            None => Ok(default),
            Some(n) if range.contains(&n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
            Some(n) => err(format!(
                "--{flag} must be {} to {}, got {n}",
                range.start(),
                range.end()
            )),
        }
    };
    let secs = s
        .statement_timeout_secs
        .unwrap_or(scimd_store::DEFAULT_STATEMENT_TIMEOUT.as_secs());
    if secs == 0 || secs > net::MAX_TIMEOUT_SECS {
        return err(format!(
            "--statement-timeout-secs must be 1 to {} seconds, got {secs}",
            net::MAX_TIMEOUT_SECS
        ));
    }
    Ok(InputLimits {
        limits: Limits {
            max_identifier_bytes: within(
                s.max_identifier_bytes,
                d.max_identifier_bytes,
                IDENTIFIER_BYTES,
                "max-identifier-bytes",
            )?,
            max_string_bytes: within(
                s.max_string_bytes,
                d.max_string_bytes,
                STRING_BYTES,
                "max-string-bytes",
            )?,
            max_values: within(s.max_values, d.max_values, VALUES, "max-values")?,
            max_members: within(
                s.max_members_per_request,
                d.max_members,
                MEMBERS,
                "max-members-per-request",
            )?,
            max_page_bytes: within(
                s.max_page_bytes,
                d.max_page_bytes,
                PAGE_BYTES,
                "max-page-bytes",
            )?,
        },
        statement_timeout: Duration::from_secs(secs),
    })
}
