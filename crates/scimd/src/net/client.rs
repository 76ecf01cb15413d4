//! Who the client is, as far as the edge knows: its IP address, and the key it is counted
//! under by the throttles.
//!
//! The connection layer puts a [`ClientAddr`] in every request's extensions (see
//! `conn.rs`): the TCP peer's address. Everything that needs the client's address — sign-in
//! throttling, rate limits, logs, the audit record — reads it with [`client_addr`] and
//! nothing else.
//!
//! Throttles count an IPv4 address on its own and an IPv6 address by its /64 ([`AddrKey`]):
//! one subscriber or host usually holds a whole /64, so counting single IPv6 addresses would
//! give it 2^64 budgets. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack
//! socket reports) is its IPv4 address.

use axum::http::Extensions;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The client's address, as the connection layer determined it (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The client's address of a request: its [`ClientAddr`], else the TCP peer axum recorded
/// (`ConnectInfo`, in servers built without this connection layer); `None` in in-process
/// calls without a connection.
pub fn client_addr(ext: &Extensions) -> Option<IpAddr> {
    ext.get::<ClientAddr>().map(|c| c.0).or_else(|| {
        ext.get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    })
}

/// What a client address is counted under: an IPv4 address, or the /64 of an IPv6 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddrKey {
    /// An IPv4 address (also an IPv4-mapped IPv6 one).
    V4(u32),
    /// The first 64 bits of an IPv6 address.
    V6(u64),
}

impl AddrKey {
    /// The key of `ip`.
    pub fn of(ip: IpAddr) -> AddrKey {
        match ip {
            IpAddr::V4(v4) => AddrKey::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddrKey::V4(u32::from(v4)),
                None => AddrKey::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

impl fmt::Display for AddrKey {
    /// `192.0.2.1`, or `2001:db8:1:2::/64`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AddrKey::V4(a) => write!(f, "{}", std::net::Ipv4Addr::from(a)),
            AddrKey::V6(p) => write!(f, "{}/64", Ipv6Addr::from(u128::from(p) << 64)),
        }
    }
}

/// The throttling key of a request's client (see [`AddrKey`]); `unknown` without one.
pub fn client_key(ext: &Extensions) -> String {
    client_addr(ext).map_or_else(|| "unknown".to_string(), |ip| AddrKey::of(ip).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        AddrKey::of(s.parse().unwrap()).to_string()
    }

    #[test]
    fn keys() {
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2::9"), key("2001:db8:1:2:ffff::1"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::1"), "::/64");
    }
}
