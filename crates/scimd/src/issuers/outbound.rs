//! Outbound requests: the only ones scimd makes, fetching issuers' metadata and JWKS.
//!
//! A URL an administrator configures (or an issuer's metadata names) must not turn scimd
//! into a proxy into its own network (server-side request forgery). So, unless
//! `--allow-private-outbound`:
//!
//! - only `https://` URLs are fetched (with it, `http://` too, for tests and closed networks);
//! - the host must resolve to public addresses only: loopback, private (RFC 1918), shared
//!   (CGNAT, RFC 6598), link-local (which holds cloud metadata `169.254.169.254`),
//!   unique-local IPv6 (which holds `fd00:ec2::254`), multicast, documentation, benchmarking
//!   and reserved ranges are refused, also when embedded in IPv4-mapped, NAT64 or 6to4
//!   addresses. The check is made on the resolved addresses ([`PublicOnly`], the client's
//!   resolver), and the connection goes to the addresses checked (no second lookup to race);
//!   an IP literal host is checked before the request.
//!
//! Always: no proxy, no redirects (a 3xx is an error), a connect timeout of
//! [`CONNECT_TIMEOUT`], a total timeout of [`REQUEST_TIMEOUT`], and at most [`MAX_BYTES`] of
//! body read.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Largest metadata or JWKS document read, in bytes (1 MiB).
pub const MAX_BYTES: usize = 1024 * 1024;
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole request may take, body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an address is not public (for messages), or `None` when it is.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let why = match (a, b, c) {
        (0, _, _) => "an unspecified (\"this network\") address",
        (127, _, _) => "a loopback address",
        (10, _, _) | (192, 168, _) => "a private address",
        (172, 16..=31, _) => "a private address",
        (100, 64..=127, _) => "a shared (CGNAT) address",
        (169, 254, _) => "a link-local address (cloud metadata lives there)",
        (192, 0, 0) => "an IETF protocol assignment address",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (198, 18..=19, _) => "a benchmarking address",
        (192, 88, 99) => "a 6to4 relay address",
        (224..=239, _, _) => "a multicast address",
        (240..=255, _, _) => "a reserved or broadcast address",
        _ => return None,
    };
    Some(why)
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return non_public_v4(v4);
    }
    let s = ip.segments();
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    match s[0] {
        0x0000 => Some("a reserved (IPv4-compatible) address"),
        0x0064 if s[1] == 0xff9b => non_public_v4(embedded(s[6], s[7])),
        0x0064 => Some("a reserved address"),
        0x0100 if s[1..4] == [0, 0, 0] => Some("a discard-only address"),
        0x2001 if s[1] == 0 => Some("a Teredo address"),
        0x2001 if s[1] == 0x0db8 => Some("a documentation address"),
        0x2001 if s[1] < 0x0200 => Some("an IETF protocol assignment address"),
        0x2002 => non_public_v4(embedded(s[1], s[2])),
        0xfc00..=0xfdff => Some("a unique-local address (cloud metadata lives there)"),
        0xfe80..=0xfebf => Some("a link-local address"),
        0xfec0..=0xfeff => Some("a site-local address"),
        0xff00..=0xffff => Some("a multicast address"),
        _ => None,
    }
}

/// The message of a refused address.
fn refused(host: &str, ip: IpAddr, why: &str) -> String {
    format!(
        "{host} resolves to {ip}, {why}: scimd fetches issuer metadata and keys only from public \
         addresses (--allow-private-outbound lifts this rule, for tests and closed networks)"
    )
}

/// The client's resolver: the system's lookup, keeping only public addresses (all of them
/// with `allow_private`); none left is an error naming the first refused address.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (public, refused_ones): (Vec<SocketAddr>, Vec<SocketAddr>) = found
                .into_iter()
                .partition(|a| allow_private || non_public(a.ip()).is_none());
            if public.is_empty() {
                let msg = match refused_ones.first() {
                    Some(a) => refused(&host, a.ip(), non_public(a.ip()).unwrap_or("")),
                    None => format!("{host} resolves to no address"),
                };
                return Err(msg.into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// The outbound HTTP client of issuers (see the module rules).
#[derive(Debug, Clone)]
pub struct Outbound {
    /// The client, or why it could not be built (reported by every fetch).
    client: Result<reqwest::Client, String>,
    allow_private: bool,
}

impl Outbound {
    /// A client under the address rule, or without it (`allow_private`). When the client
    /// cannot be built (no usable trust store), every fetch fails with the reason.
    pub fn new(allow_private: bool) -> Outbound {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(PublicOnly { allow_private }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .https_only(!allow_private)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("scimd/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the outbound HTTP client: {e}"));
        Outbound {
            client,
            allow_private,
        }
    }

    /// Whether the address rule is lifted.
    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// `url` parsed and checked against the rule without resolving it: `https://` (or
    /// `http://` when private addresses are allowed), a host, no user info; an IP literal
    /// host must be public.
    pub fn check_shape(&self, url: &str) -> Result<Url, String> {
        let u = Url::parse(url).map_err(|e| format!("{url} is not a URL: {e}"))?;
        match u.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            "http" => {
                return Err(format!(
                    "{url} is not https: scimd fetches issuer metadata and keys only over https \
                     (--allow-private-outbound also allows http, for tests and closed networks)"
                ))
            }
            s => return Err(format!("{url}: the scheme {s} is not fetched (https only)")),
        }
        if !u.username().is_empty() || u.password().is_some() {
            return Err(format!("{url}: credentials in the URL are not accepted"));
        }
        let ip = match u.host() {
            None => return Err(format!("{url} has no host")),
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(url::Host::Domain(_)) => return Ok(u),
        };
        if let (false, Some(why)) = (self.allow_private, non_public(ip)) {
            return Err(refused(url, ip, why));
        }
        Ok(u)
    }

    /// [`Outbound::check_shape`], then the host's addresses when it is a name: refused when
    /// it resolves only to non-public ones (unless allowed). A name that does not resolve
    /// now is accepted (it is checked again at every fetch).
    pub async fn check_url(&self, url: &str) -> Result<Url, String> {
        let u = self.check_shape(url)?;
        if let (false, Some(url::Host::Domain(host))) = (self.allow_private, u.host()) {
            let port = u.port_or_known_default().unwrap_or(443);
            if let Ok(found) = tokio::net::lookup_host((host, port)).await {
                let found: Vec<SocketAddr> = found.collect();
                let bad = found
                    .iter()
                    .find_map(|a| non_public(a.ip()).map(|w| (a.ip(), w)));
                if let Some((ip, why)) = bad {
                    return Err(refused(url, ip, why));
                }
            }
        }
        Ok(u)
    }

    /// GETs `url` and parses its body as a JSON value.
    ///
    /// Errors (a message naming the URL, never a body): the URL refused by the rule, a
    /// connection failure or timeout, a status other than 200 (redirects included), a body
    /// over [`MAX_BYTES`] or not JSON.
    pub async fn get_json(&self, url: &str) -> Result<Value, String> {
        let u = self.check_shape(url)?;
        let client = self.client.as_ref().map_err(Clone::clone)?;
        let mut res = client
            .get(u)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {}", chain(&e)))?;
        if res.status() != reqwest::StatusCode::OK {
            return Err(format!(
                "GET {url}: status {} (expected 200; redirects are not followed)",
                res.status()
            ));
        }
        if res.content_length().is_some_and(|n| n > MAX_BYTES as u64) {
            return Err(format!(
                "GET {url}: the body is larger than {MAX_BYTES} bytes"
            ));
        }
        let mut body: Vec<u8> = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| format!("GET {url}: {}", chain(&e)))?
        {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(format!(
                    "GET {url}: the body is larger than {MAX_BYTES} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: the body is not JSON: {e}"))
    }
}

/// An error with its sources, `a: b: c` (reqwest's own message hides the resolver's).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let m = s.to_string();
        if !out.contains(&m) {
            out.push_str(": ");
            out.push_str(&m);
        }
        src = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_classes() {
        for bad in [
            "0.0.0.0",
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "169.254.169.254",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2001:db8::1",
            "2001::1",
            "::127.0.0.1",
            "fec0::1",
        ] {
            let ip: IpAddr = bad.parse().unwrap();
            assert!(non_public(ip).is_some(), "{bad} must be refused");
        }
        for good in [
            "20.190.128.1",
            "40.126.0.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2603:1030::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::",
        ] {
            let ip: IpAddr = good.parse().unwrap();
            assert_eq!(non_public(ip), None, "{good} is public");
        }
    }

    #[tokio::test]
    async fn url_rules() {
        let strict = Outbound::new(false);
        assert!(strict
            .check_shape("https://login.microsoftonline.com/x/v2.0")
            .is_ok());
        let e = strict
            .check_shape("http://login.microsoftonline.com/")
            .unwrap_err();
        assert!(e.contains("not https"), "{e}");
        let e = strict.check_shape("https://127.0.0.1:8443/").unwrap_err();
        assert!(
            e.contains("loopback") && e.contains("--allow-private-outbound"),
            "{e}"
        );
        let e = strict.check_shape("https://[fd00:ec2::254]/").unwrap_err();
        assert!(e.contains("unique-local"), "{e}");
        assert!(strict.check_shape("https://u:p@example.com/").is_err());
        assert!(strict.check_shape("file:///etc/passwd").is_err());
        let e = strict
            .check_url("https://localhost:8443/x")
            .await
            .unwrap_err();
        assert!(e.contains("loopback"), "{e}");
        let e = strict.get_json("https://localhost:1/x").await.unwrap_err();
        assert!(e.contains("loopback"), "{e}");
        let open = Outbound::new(true);
        assert!(open.check_url("http://127.0.0.1:1/").await.is_ok());
    }
}
