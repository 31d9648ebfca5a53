//! The client's address. Behind a reverse proxy every TCP peer is the proxy,
//! so the address it forwards is used instead, but only when the peer is one
//! of the proxies named by `--trust-proxy`: anyone else could set the headers.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr};
use warp::http::HeaderMap;

/// Reverse proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `--trust-proxy`: addresses and CIDR blocks. `true` (the old
    /// boolean form) means a proxy on this host (loopback); `false` none.
    pub fn parse(items: &[String]) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            match item.to_ascii_lowercase().as_str() {
                "false" | "no" | "off" | "0" => {}
                "true" | "yes" | "on" | "1" => {
                    nets.push(IpNet::V4(ipnet::Ipv4Net::new_assert(
                        std::net::Ipv4Addr::LOCALHOST,
                        8,
                    )));
                    nets.push(IpNet::from(IpAddr::V6(Ipv6Addr::LOCALHOST)));
                }
                _ => {
                    let net = item
                        .parse::<IpNet>()
                        .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                        .map_err(|_| {
                            format!(
                                "--trust-proxy {item:?} is not an address or CIDR block \
                                 (e.g. 127.0.0.1, 10.0.0.0/8, ::1)"
                            )
                        })?;
                    nets.push(net.trunc());
                }
            }
        }
        nets.dedup();
        Ok(Self(nets))
    }

    /// Whether `ip` is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// No proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The client's address: the TCP peer, or, when the peer is a trusted proxy,
/// the address it forwarded: its `X-Real-IP`, else the rightmost
/// `X-Forwarded-For` entry that is not itself a trusted proxy (entries to the
/// left of that were written by the client and prove nothing).
pub fn client_ip(trusted: &TrustedProxies, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    if let Some(ip) = headers
        .get("x-real-ip")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<IpAddr>().ok())
    {
        return ip.to_canonical();
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for entry in forwarded.iter().rev() {
        match entry.trim().parse::<IpAddr>() {
            Ok(ip) if trusted.contains(ip) => continue,
            Ok(ip) => return ip.to_canonical(),
            // Garbage where the proxy's own entry should be: believe nothing.
            Err(_) => return peer,
        }
    }
    peer
}

/// The key per-address limits count under: the address itself for IPv4, its
/// /64 network for IPv6 (one host usually holds a whole /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddrKey(IpAddr);

impl AddrKey {
    /// The key of `ip`.
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                Self(IpAddr::V6(Ipv6Addr::from(bits)))
            }
            v4 => Self(v4),
        }
    }
}

impl std::fmt::Display for AddrKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
            v4 => write!(f, "{v4}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                warp::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_addresses_cidrs_and_the_old_boolean() {
        let t = list(&["10.0.0.0/8", "192.168.1.7", "::1"]);
        assert!(t.contains(ip("10.1.2.3")));
        assert!(t.contains(ip("192.168.1.7")));
        assert!(!t.contains(ip("192.168.1.8")));
        assert!(t.contains(ip("::1")));
        assert!(t.contains(ip("::ffff:10.0.0.1")), "v4-mapped v6 peers");
        let legacy = list(&["true"]);
        assert!(legacy.contains(ip("127.0.0.1")) && legacy.contains(ip("::1")));
        assert!(!legacy.contains(ip("10.0.0.1")));
        assert!(list(&["false"]).is_empty());
        assert!(TrustedProxies::parse(&["nonsense".into()]).is_err());
    }

    #[test]
    fn forwarded_headers_count_only_from_a_trusted_peer() {
        let t = list(&["127.0.0.1"]);
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9")]);
        assert_eq!(
            client_ip(&t, &h, ip("198.51.100.1")),
            ip("198.51.100.1"),
            "an untrusted peer's headers are ignored"
        );
        assert_eq!(
            client_ip(&t, &h, ip("127.0.0.1")),
            ip("203.0.113.9"),
            "the rightmost entry, the one the proxy appended, not the client's own"
        );
        let real = headers(&[("x-real-ip", "203.0.113.5"), ("x-forwarded-for", "1.1.1.1")]);
        assert_eq!(client_ip(&t, &real, ip("127.0.0.1")), ip("203.0.113.5"));
        let chain = list(&["127.0.0.1", "10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.2")]);
        assert_eq!(
            client_ip(&chain, &h, ip("127.0.0.1")),
            ip("203.0.113.9"),
            "trusted hops are skipped from the right"
        );
        let garbage = headers(&[("x-forwarded-for", "1.2.3.4, nonsense")]);
        assert_eq!(client_ip(&t, &garbage, ip("127.0.0.1")), ip("127.0.0.1"));
        assert_eq!(
            client_ip(&t, &HeaderMap::new(), ip("127.0.0.1")),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn ipv6_keys_by_slash_64() {
        assert_eq!(
            AddrKey::of(ip("2001:db8:1:2:aaaa::1")),
            AddrKey::of(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            AddrKey::of(ip("2001:db8:1:2::1")),
            AddrKey::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            AddrKey::of(ip("::ffff:1.2.3.4")),
            AddrKey::of(ip("1.2.3.4"))
        );
        assert_eq!(AddrKey::of(ip("2001:db8::1")).to_string(), "2001:db8::/64");
    }
}
