//! Throttling of the portal's sign-in, shared through the database by every scimd instance
//! on it. Two counters, each checked and counted by one atomic statement before a password
//! is looked at (see `scimd-store`'s `tx/signin.rs`):
//!
//! - **Per username (slow-down, never a lockout).** Attempts for one administrator username
//!   (ignoring case) since its last successful sign-in are counted; the first
//!   [`SIGNIN_FREE_ATTEMPTS`] are accepted at once, each later one only after a wait that
//!   doubles from 5 s up to [`SIGNIN_MAX_DELAY_SECS`] ([`SIGNIN_DELAYS_MS`]). A refused
//!   attempt is not counted, so trying harder does not make the wait longer; the count starts
//!   again after [`SIGNIN_WINDOW_SECS`] without an attempt. `scimd admin unlock USERNAME`
//!   clears it.
//! - **Per client address, across usernames and tenants.** Failed sign-ins per address (an
//!   IPv4 address, or an IPv6 /64) fill a bucket of [`SIGNIN_ADDRESS_BURST`] that empties by
//!   one every [`SIGNIN_ADDRESS_INTERVAL_SECS`] s: a password spray over many usernames from
//!   one address stops after a few attempts. A successful sign-in gives its unit back.
//!
//! **Trusted browsers.** A browser an administrator signed in with gets a device cookie: a
//! random id and its HMAC-SHA256 keyed by the administrator's password hash (so a new
//! password revokes every such cookie, and nothing is stored). An attempt that presents a
//! valid one for the username it signs in as is counted under that browser's own key and not
//! under the address: however hard an attacker sprays the username or the address, the
//! administrator's own browser is never slowed down by it (the OWASP "device cookie"
//! defence against lockouts). Guessing with a stolen device cookie is slowed down as any
//! other attempt, for that cookie alone.

use crate::store::{AdminRow, Bucket, SlowDown, StoreError, Throttle, Tx};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;
use time::OffsetDateTime;

/// Without an attempt for this long (seconds: 15 minutes), a username's count starts again.
pub const SIGNIN_WINDOW_SECS: i64 = 15 * 60;
/// Attempts for one username accepted at once; later ones wait ([`SIGNIN_DELAYS_MS`]).
pub const SIGNIN_FREE_ATTEMPTS: u64 = 5;
/// The longest wait between two attempts for one username (seconds).
pub const SIGNIN_MAX_DELAY_SECS: i64 = 60;
/// Wait after the n-th attempt (index n − 1), milliseconds: none after the first four, then
/// 5 s, doubling, up to [`SIGNIN_MAX_DELAY_SECS`] from the ninth on.
pub const SIGNIN_DELAYS_MS: [i64; 9] = [0, 0, 0, 0, 5_000, 10_000, 20_000, 40_000, 60_000];
/// Failed sign-ins a client address may make at once (across usernames and tenants).
pub const SIGNIN_ADDRESS_BURST: u64 = 20;
/// One more failed sign-in per address every this many seconds (so 20 per 15 minutes).
pub const SIGNIN_ADDRESS_INTERVAL_SECS: i64 = 45;

/// The per-username rule, as the store applies it.
pub(crate) const SLOW_DOWN: SlowDown<'static> = SlowDown {
    window: time::Duration::seconds(SIGNIN_WINDOW_SECS),
    delays_ms: &SIGNIN_DELAYS_MS,
};

/// The per-address bucket.
pub(crate) const ADDRESS_BUCKET: Bucket = Bucket {
    interval_ms: SIGNIN_ADDRESS_INTERVAL_SECS * 1000,
    burst: SIGNIN_ADDRESS_BURST,
};

/// Which throttle refused a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottledBy {
    /// Too many attempts for this username: the next one is accepted later.
    Username,
    /// Too many failed sign-ins from this client address.
    Address,
}

/// What the throttles said of an attempt.
pub(crate) enum Gate {
    /// Counted and let through: the password may be checked. `count`: attempts counted for
    /// the username (0 when the username cannot exist and so is not counted).
    Open {
        /// Attempts counted for the username since its last success, this one included.
        count: u64,
    },
    /// Refused without looking at the password until `until`.
    Closed {
        /// Which throttle.
        by: ThrottledBy,
        /// When the next attempt is accepted.
        until: OffsetDateTime,
    },
}

/// Checks and counts an attempt: the address (unless the browser is trusted for the
/// username: `device` not empty), then the username (`username_folded`; `None` for a
/// username that cannot exist, which is not counted). Purges expired records first, so they
/// never outlive their window by more than one attempt.
pub(crate) async fn check(
    tx: &mut dyn Tx,
    tenant: &str,
    username_folded: Option<&str>,
    device: &str,
    client: &str,
    now: OffsetDateTime,
) -> Result<Gate, StoreError> {
    tx.purge_sessions(now, now - SLOW_DOWN.window).await?;
    if device.is_empty() {
        if let Throttle::Refused { until } =
            tx.address_attempt(client, now, &ADDRESS_BUCKET).await?
        {
            return Ok(Gate::Closed {
                by: ThrottledBy::Address,
                until,
            });
        }
    }
    let Some(folded) = username_folded else {
        return Ok(Gate::Open { count: 0 });
    };
    match tx
        .signin_attempt(tenant, folded, device, now, &SLOW_DOWN)
        .await?
    {
        Throttle::Allowed { count } => Ok(Gate::Open { count }),
        Throttle::Refused { until } => Ok(Gate::Closed {
            by: ThrottledBy::Username,
            until,
        }),
    }
}

/// After a successful sign-in: forgets the attempts counted for the username from this
/// browser (a success from a trusted browser leaves the count of untrusted ones alone, so an
/// administrator signing in does not hand an attacker fresh attempts), and gives the
/// address its unit back.
pub(crate) async fn succeeded(
    tx: &mut dyn Tx,
    tenant: &str,
    username_folded: &str,
    device: &str,
    client: &str,
) -> Result<(), StoreError> {
    tx.clear_signin_attempts(tenant, username_folded, Some(device))
        .await?;
    if device.is_empty() {
        tx.refund_address_attempt(client, &ADDRESS_BUCKET).await?;
    }
    Ok(())
}

/// How long after the `count`-th attempt the next one is accepted.
pub fn wait_after(count: u64) -> Duration {
    let i = usize::try_from(count.max(1) - 1)
        .unwrap_or(usize::MAX)
        .min(SIGNIN_DELAYS_MS.len() - 1);
    Duration::from_millis(u64::try_from(SIGNIN_DELAYS_MS[i]).unwrap_or(0))
}

/// Seconds from `now` until `until`, at least 1 (for `Retry-After`).
pub fn seconds_until(now: OffsetDateTime, until: OffsetDateTime) -> u64 {
    let ms = (until - now).whole_milliseconds().max(0);
    u64::try_from((ms + 999) / 1000).unwrap_or(u64::MAX).max(1)
}

// ---------------------------------------------------------------- trusted browsers

/// Hex characters of a device id (128 random bits).
const DEVICE_ID_HEX: usize = 32;

fn device_mac(admin: &AdminRow, id: &str) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(admin.password_hash.as_bytes()).ok()?;
    mac.update(b"scimd trusted browser\n");
    mac.update(admin.id.as_bytes());
    mac.update(b"\n");
    mac.update(id.as_bytes());
    Some(mac)
}

/// The device cookie value for browser `id` of `admin`: `<id>.<HMAC hex>`.
pub(crate) fn device_cookie(admin: &AdminRow, id: &str) -> String {
    let tag = device_mac(admin, id)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default();
    format!("{id}.{tag}")
}

/// A new browser id (128 random bits, hex).
pub(crate) fn new_device_id() -> String {
    crate::secret::new_secret()[..DEVICE_ID_HEX].to_string()
}

/// Whether `cookie` has the shape of a device cookie (`<32 hex>.<64 hex>`), checked before
/// any administrator is read for it.
pub(crate) fn is_device_cookie_shaped(cookie: &str) -> bool {
    cookie.split_once('.').is_some_and(|(id, tag)| {
        id.len() == DEVICE_ID_HEX
            && tag.len() == 64
            && id.bytes().chain(tag.bytes()).all(|b| b.is_ascii_hexdigit())
    })
}

/// The browser id of `cookie` when it is a valid device cookie of `admin` (compared in
/// constant time); `None` otherwise (another administrator's, one from before a password
/// change, a forgery).
pub(crate) fn trusted_device(admin: &AdminRow, cookie: &str) -> Option<String> {
    if !is_device_cookie_shaped(cookie) {
        return None;
    }
    let (id, tag) = cookie.split_once('.')?;
    let tag = hex::decode(tag).ok()?;
    device_mac(admin, id)?.verify_slice(&tag).ok()?;
    Some(id.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(hash: &str) -> AdminRow {
        let t = OffsetDateTime::UNIX_EPOCH;
        AdminRow {
            id: "a1".into(),
            tenant_id: "t".into(),
            username: "admin".into(),
            password_hash: hash.into(),
            created: t,
            password_changed: t,
            must_change_password: false,
        }
    }

    #[test]
    fn waits_double_up_to_a_minute() {
        assert_eq!(wait_after(1), Duration::ZERO);
        assert_eq!(wait_after(4), Duration::ZERO);
        assert_eq!(wait_after(5), Duration::from_secs(5));
        assert_eq!(wait_after(6), Duration::from_secs(10));
        assert_eq!(wait_after(9), Duration::from_secs(60));
        assert_eq!(wait_after(1000), Duration::from_secs(60));
        assert_eq!(
            SIGNIN_DELAYS_MS[SIGNIN_FREE_ATTEMPTS as usize - 2..SIGNIN_FREE_ATTEMPTS as usize],
            [0, 5000],
            "the first wait follows the free attempts"
        );
        assert_eq!(
            SIGNIN_DELAYS_MS.last(),
            Some(&(SIGNIN_MAX_DELAY_SECS * 1000))
        );
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(seconds_until(now, now), 1);
        assert_eq!(
            seconds_until(now, now + time::Duration::milliseconds(1001)),
            2
        );
    }

    #[test]
    fn device_cookies_belong_to_one_administrator_and_password() {
        let a = admin("$argon2id$one");
        let id = new_device_id();
        let cookie = device_cookie(&a, &id);
        assert_eq!(trusted_device(&a, &cookie), Some(id.clone()));
        // Another password (reset, changed): every cookie made before is void.
        assert_eq!(trusted_device(&admin("$argon2id$two"), &cookie), None);
        let mut other = admin("$argon2id$one");
        other.id = "a2".into();
        assert_eq!(trusted_device(&other, &cookie), None);
        let forged = format!("{id}.{}", "0".repeat(64));
        assert_eq!(trusted_device(&a, &forged), None);
        assert_eq!(trusted_device(&a, "short.abc"), None);
        assert_eq!(trusted_device(&a, ""), None);
    }
}
