//! The `Origin` check of the WebSocket upgrade: a browser page may open a
//! socket only from this server's own host or from an allowed origin.

use warp::http::HeaderMap;
use warp::http::header::{HOST, ORIGIN};

/// True when the request may upgrade: no `Origin` (CLI clients), the same host
/// as `Host` (ports ignored), or an origin in `allowed` (`*` allows any).
pub fn allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim().trim_end_matches('/');
    if allowed
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(hostname);
    match (origin_hostname(origin), host) {
        (Some(o), Some(h)) => !o.is_empty() && o.eq_ignore_ascii_case(h),
        _ => false,
    }
}

/// The host name of an origin such as `https://chat.example.com:8443`.
fn origin_hostname(origin: &str) -> Option<&str> {
    let (_, rest) = origin.split_once("://")?;
    Some(hostname(rest.split('/').next().unwrap_or(rest)))
}

/// `host[:port]` or `[v6]:port` without the port.
fn hostname(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn same_host_or_allowed() {
        let none: Vec<String> = vec![];
        assert!(allowed(&headers(None, "localhost:3001"), &none));
        assert!(allowed(
            &headers(Some("http://localhost:3001"), "localhost:3001"),
            &none
        ));
        assert!(allowed(
            &headers(Some("https://chat.example.com"), "chat.example.com"),
            &none
        ));
        assert!(allowed(
            &headers(Some("http://[::1]:3001"), "[::1]:3001"),
            &none
        ));
        assert!(allowed(
            &headers(Some("http://192.168.1.5:3001"), "192.168.1.5:3001"),
            &none
        ));
        assert!(!allowed(
            &headers(Some("http://evil.example"), "localhost:3001"),
            &none
        ));
        assert!(!allowed(&headers(Some("null"), "localhost:3001"), &none));
        assert!(!allowed(
            &headers(Some("http://localhost.evil.example"), "localhost:3001"),
            &none
        ));
        let list = vec!["https://app.example.com".to_owned()];
        assert!(allowed(
            &headers(Some("https://app.example.com"), "10.0.0.1:3001"),
            &list
        ));
        assert!(!allowed(
            &headers(Some("http://app.example.com"), "10.0.0.1:3001"),
            &list
        ));
        assert!(allowed(
            &headers(Some("http://anything"), "x"),
            &["*".to_owned()]
        ));
    }
}
