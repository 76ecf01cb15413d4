//! The credential lifetimes a merged settings layer gives, validated (see the table of
//! [`super`]; the connection, rate and input limits are [`super::limits`]).

use super::{err, ConfigError, Settings};
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
