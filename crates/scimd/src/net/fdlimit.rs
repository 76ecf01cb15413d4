//! The file-descriptor limit: raised at start, and the default connection cap derived from
//! it.
//!
//! Every connection is a descriptor, and so are the database's files or sockets, the log files and the runtime's own. A
//! process that runs out gets `EMFILE` from `accept` and from the database alike, so the cap
//! must stay below the limit with room for the rest:
//!
//! `default cap = min(MAX_DEFAULT_CONNECTIONS, limit − FIXED_HEADROOM − RESERVE − limit / 16)`
//!
//! - [`FIXED_HEADROOM`] (96): the store (SQLite: a writer, up to 16 readers, the checkpointer,
//!   each with its database and WAL file; PostgreSQL: a pool of 10 sockets), the listening
//!   socket, stdio and log files, the runtime's epoll and event descriptors — some 50 at most,
//!   doubled;
//! - [`super::RESERVE_CONNECTIONS`] (16): the health-check reserve beyond the cap;
//! - `limit / 16`: connections closed to make room whose sockets are still closing.
//!
//! The cap is at least [`MIN_DEFAULT_CONNECTIONS`] and at most [`MAX_DEFAULT_CONNECTIONS`]
//! (memory: about 24 KiB per idle connection, 38 KiB over TLS, measured in docs/security.md).

/// Descriptors kept for everything but client connections.
pub const FIXED_HEADROOM: u64 = 96;
/// The default cap never goes below this (a tiny descriptor limit gets a warning instead).
pub const MIN_DEFAULT_CONNECTIONS: usize = 16;
/// The default cap never goes above this, however high the descriptor limit.
pub const MAX_DEFAULT_CONNECTIONS: usize = 10_000;
/// The soft limit tried when the hard limit is "unlimited" (some systems refuse that value).
#[cfg(unix)]
const UNLIMITED_FALLBACK: u64 = 1 << 20;

/// The descriptor limits at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptors {
    /// The soft limit scimd was started with.
    pub before: u64,
    /// The soft limit in force now.
    pub soft: u64,
    /// The hard limit (`None`: unlimited).
    pub hard: Option<u64>,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (a warning if the system refuses) and
/// returns the limits. "Unlimited" reads as `u64::MAX`.
#[cfg(unix)]
pub fn raise() -> Descriptors {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let cur = getrlimit(Resource::Nofile);
    let before = cur.current.unwrap_or(u64::MAX);
    if cur.current.is_some() && cur.current != cur.maximum {
        let want = cur.maximum.unwrap_or(UNLIMITED_FALLBACK);
        let r = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(want),
                maximum: cur.maximum,
            },
        );
        if let Err(e) = r {
            tracing::warn!(
                soft = before,
                wanted = want,
                error = %e,
                "cannot raise the file-descriptor limit; the connection cap is derived from the current one"
            );
        }
    }
    let now = getrlimit(Resource::Nofile);
    Descriptors {
        before,
        soft: now.current.unwrap_or(u64::MAX),
        hard: now.maximum,
    }
}

/// Without `RLIMIT_NOFILE` (not Unix): no limit known, the cap is [`MAX_DEFAULT_CONNECTIONS`].
#[cfg(not(unix))]
pub fn raise() -> Descriptors {
    Descriptors {
        before: u64::MAX,
        soft: u64::MAX,
        hard: None,
    }
}

/// The default connection cap under a soft descriptor limit of `limit` (formula in the
/// module docs).
pub fn default_max_connections(limit: u64) -> usize {
    let headroom = FIXED_HEADROOM + super::RESERVE_CONNECTIONS as u64 + limit / 16;
    let cap = limit.saturating_sub(headroom);
    usize::try_from(cap)
        .unwrap_or(usize::MAX)
        .clamp(MIN_DEFAULT_CONNECTIONS, MAX_DEFAULT_CONNECTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_cap_leaves_headroom() {
        assert_eq!(default_max_connections(256), 256 - 96 - 16 - 16);
        assert_eq!(default_max_connections(1024), 1024 - 96 - 16 - 64);
        assert_eq!(default_max_connections(65_536), MAX_DEFAULT_CONNECTIONS);
        assert_eq!(default_max_connections(u64::MAX), MAX_DEFAULT_CONNECTIONS);
        assert_eq!(default_max_connections(64), MIN_DEFAULT_CONNECTIONS);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn raising_reaches_the_hard_limit() {
        let d = raise();
        assert!(d.soft >= d.before, "{d:?}");
        if let Some(hard) = d.hard {
            assert_eq!(d.soft, hard, "{d:?}");
        }
    }
}
