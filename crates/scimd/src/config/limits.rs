//! The limits a merged settings layer gives (see [`super`]): the connection limits of the
//! public port, the rate limits and the input bounds, each with its defaults and ranges.

use super::{err, ConfigError, Settings};
use crate::net;
use scim_proto::limits::{self, Limits};
use std::time::Duration;

/// Bounds on client input and on what the server reads for it (docs/security.md, "Input"):
/// value sizes and counts, members per request and the list page budget (scim-proto's
/// [`Limits`]), and the database's statement time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLimits {
    /// `--max-identifier-bytes`, `--max-string-bytes`, `--max-values`,
    /// `--max-members-per-request`, `--max-page-bytes`.
    pub limits: Limits,
    /// `--statement-timeout-secs`: how long one database statement may run.
    pub statement_timeout: Duration,
}

impl Default for InputLimits {
    fn default() -> Self {
        InputLimits {
            limits: Limits::default(),
            statement_timeout: scimd_store::DEFAULT_STATEMENT_TIMEOUT,
        }
    }
}

/// Accepted `--max-identifier-bytes`: at least 64 bytes (a UPN must fit), at most 2 KiB
/// (PostgreSQL keeps each B-tree index entry under about 2.7 KB, and the unique key of
/// userName and of a group's displayName is an index entry).
pub const IDENTIFIER_BYTES: std::ops::RangeInclusive<u64> = 64..=2048;
/// Accepted `--max-string-bytes`: 256 bytes to 64 MiB.
pub const STRING_BYTES: std::ops::RangeInclusive<u64> = 256..=64 * 1024 * 1024;
/// Accepted `--max-values`: 1 to 100,000.
pub const VALUES: std::ops::RangeInclusive<u64> = 1..=100_000;
/// Accepted `--max-members-per-request`: 10,000 (issue 14: a group of that many people is
/// created in one request) to 1,000,000.
pub const MEMBERS: std::ops::RangeInclusive<u64> = limits::MIN_MAX_MEMBERS as u64..=1_000_000;
/// Accepted `--max-page-bytes`: 64 KiB to 1 GiB.
pub const PAGE_BYTES: std::ops::RangeInclusive<u64> = 64 * 1024..=1024 * 1024 * 1024;

/// The connection limits a merged settings layer gives, defaults for what it leaves unset
/// (see [`crate::net::Limits`]).
///
/// Errors: a timeout of 0 or over [`net::MAX_TIMEOUT_SECS`]; a connection cap of 0 or over
/// [`net::MAX_MAX_CONNECTIONS`].
pub fn connection_limits(s: &Settings) -> Result<net::Limits, ConfigError> {
    let secs = |v: Option<u64>, default: u64, flag: &str| -> Result<Duration, ConfigError> {
        let v = v.unwrap_or(default);
        if v == 0 || v > net::MAX_TIMEOUT_SECS {
            return err(format!(
                "--{flag} must be 1 to {} seconds, got {v}",
                net::MAX_TIMEOUT_SECS
            ));
        }
        Ok(Duration::from_secs(v))
    };
    let max_connections = match s.max_connections {
        None => None,
        Some(n) if n == 0 || n > net::MAX_MAX_CONNECTIONS => {
            return err(format!(
                "--max-connections must be 1 to {}, got {n}",
                net::MAX_MAX_CONNECTIONS
            ))
        }
        Some(n) => Some(n as usize),
    };
    Ok(net::Limits {
        header_read_timeout: secs(
            s.header_read_timeout_secs,
            net::DEFAULT_HEADER_READ_TIMEOUT_SECS,
            "header-read-timeout-secs",
        )?,
        body_read_timeout: secs(
            s.body_read_timeout_secs,
            net::DEFAULT_BODY_READ_TIMEOUT_SECS,
            "body-read-timeout-secs",
        )?,
        idle_timeout: secs(
            s.idle_timeout_secs,
            net::DEFAULT_IDLE_TIMEOUT_SECS,
            "idle-timeout-secs",
        )?,
        request_timeout: secs(
            s.request_timeout_secs,
            net::DEFAULT_REQUEST_TIMEOUT_SECS,
            "request-timeout-secs",
        )?,
        tls_handshake_timeout: secs(
            s.tls_handshake_timeout_secs,
            net::DEFAULT_TLS_HANDSHAKE_TIMEOUT_SECS,
            "tls-handshake-timeout-secs",
        )?,
        max_connections,
    })
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
