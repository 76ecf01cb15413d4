//! Who the client is, as far as the edge knows: its IP address, and the key it is counted
//! under by the throttles.
//!
//! The connection layer puts a [`ClientAddr`] in every request's extensions (see
//! `conn.rs`): the TCP peer's address, or, when the peer is a trusted proxy
//! (`--trusted-proxies CIDR,...`, [`TrustedProxies`]), the rightmost address of
//! `X-Forwarded-For` that is not a trusted proxy's: each proxy appends the address it was
//! reached from, so that is the first address no trusted party vouches for. From any other
//! peer the header is ignored (anyone can send one). Everything that needs the client's
//! address — sign-in throttling, rate limits, logs, the audit record — reads it with
//! [`client_addr`] and nothing else.
//!
//! Throttles count an IPv4 address on its own and an IPv6 address by its /64 ([`AddrKey`]):
//! one subscriber or host usually holds a whole /64, so counting single IPv6 addresses would
//! give it 2^64 budgets. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack
//! socket reports) is its IPv4 address.

use axum::http::{Extensions, HeaderMap};
use ipnet::IpNet;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// The header trusted proxies name the client in.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// The networks of the proxies whose `X-Forwarded-For` is believed (`--trusted-proxies`;
/// none by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    /// Parses `CIDR,CIDR,...` (an address alone is its /32 or /128; blanks ignored).
    ///
    /// Errors: an item that is neither a CIDR nor an address, named in the message.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let net = item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!(
                        "--trusted-proxies: {item:?} is not an address or a CIDR (e.g. 10.0.0.0/8 or fd00::/8)"
                    )
                })?;
            nets.push(net.trunc());
        }
        Ok(TrustedProxies(nets.into()))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy's.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request that came from `peer` with `headers` (see the module
    /// documentation). A malformed entry ends the walk: the client is the last trusted hop
    /// before it.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        let hops: Vec<&str> = headers
            .get_all(FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                return client;
            };
            client = ip.to_canonical();
            if !self.contains(client) {
                return client;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: `192.0.2.1`, `2001:db8::1`, `192.0.2.1:4711`,
/// `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    hop.parse::<SocketAddr>().ok().map(|s| s.ip())
}

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

    fn xff(v: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for x in v {
            h.append(FORWARDED_FOR, x.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let t = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1 ,fd00::/8").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let lb = ip("10.1.2.3");
        // From an untrusted peer the header is ignored.
        assert_eq!(
            t.client(ip("203.0.113.9"), &xff(&["198.51.100.1"])),
            ip("203.0.113.9")
        );
        // The rightmost address no trusted proxy vouches for; a client's own forged
        // entries (left of it) are ignored.
        assert_eq!(
            t.client(lb, &xff(&["1.1.1.1, 198.51.100.7, 10.9.9.9"])),
            ip("198.51.100.7")
        );
        assert_eq!(
            t.client(lb, &xff(&["1.1.1.1", "198.51.100.7:4711"])),
            ip("198.51.100.7")
        );
        assert_eq!(
            t.client(ip("::ffff:10.0.0.1"), &xff(&["[2001:db8::5]:80"])),
            ip("2001:db8::5")
        );
        // Nothing forwarded, or only trusted hops: the nearest.
        assert_eq!(t.client(lb, &HeaderMap::new()), lb);
        assert_eq!(t.client(lb, &xff(&["10.0.0.7"])), ip("10.0.0.7"));
        // Garbage ends the walk at the last trusted hop.
        assert_eq!(t.client(lb, &xff(&["198.51.100.7, junk"])), lb);
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.example").is_err());
        assert!(TrustedProxies::parse("").unwrap().is_empty());
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
