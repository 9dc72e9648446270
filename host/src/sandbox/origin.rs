//! Origins (`scheme://host:port`) and which IP addresses count as public.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `http` or `https`; nothing else leaves the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A normalized origin: lowercase host, explicit port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    /// The scheme.
    pub scheme: Scheme,
    /// Lowercase host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// The port (the scheme's default when not written).
    pub port: u16,
}

/// Why text is not an origin.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{text}` is not an origin: {reason} (expected `scheme://host[:port]` with scheme http or https)"
)]
pub struct OriginError {
    text: String,
    reason: &'static str,
}

impl Origin {
    /// Parses `scheme://host[:port]` (a trailing `/` is allowed; nothing else after it).
    pub fn parse(text: &str) -> Result<Origin, OriginError> {
        let err = |reason| OriginError {
            text: text.to_string(),
            reason,
        };
        let url = url::Url::parse(text).map_err(|_| err("not a URL"))?;
        let scheme = match url.scheme() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(err("unsupported scheme")),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err("user info is not allowed"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(err("a path, query or fragment is not allowed"));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(err("no host")),
        };
        let port = url.port().unwrap_or(scheme.default_port());
        Ok(Origin { scheme, host, port })
    }

    /// The origin of a request URI; `None` when it has no usable scheme or host.
    pub fn of_uri(uri: &http::Uri) -> Option<Origin> {
        let scheme = match uri.scheme_str()? {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return None,
        };
        let host = uri.host()?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        // Normalize IP literals the same way `parse` does.
        let host = match host.parse::<IpAddr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => host.to_ascii_lowercase(),
        };
        let port = uri.port_u16().unwrap_or(scheme.default_port());
        Some(Origin { scheme, host, port })
    }

    /// The host as an IP literal, when it is one.
    pub fn ip_literal(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// `host:port` for connecting (IPv6 in brackets).
    pub fn authority(&self) -> String {
        match self.ip_literal() {
            Some(IpAddr::V6(ip)) => format!("[{ip}]:{}", self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        write!(f, "{scheme}://{}", self.authority())
    }
}

/// Whether an address is on the public internet. Loopback, private,
/// link-local (including the `169.254.169.254` metadata service), CGNAT,
/// unspecified, multicast, documentation and reserved ranges are not.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let seg = ip.segments();
    // NAT64 well-known prefix 64:ff9b::/96 embeds an IPv4 address.
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
        let [_, _, _, _, _, _, hi, lo] = seg;
        let v4 = Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
        return is_public_v4(v4);
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (seg[0] & 0xffc0) == 0xfe80 // link local fe80::/10
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || seg[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_and_normalizes() {
        let o = Origin::parse("HTTPS://OpenAPI.Etsy.com").unwrap();
        assert_eq!(o.to_string(), "https://openapi.etsy.com:443");
        assert_eq!(Origin::parse("http://127.0.0.1:8080/").unwrap().port, 8080);
        assert_eq!(
            Origin::parse("http://[::1]:9").unwrap().to_string(),
            "http://[::1]:9"
        );
        for bad in [
            "ftp://x",
            "https://a/b",
            "https://u:p@x",
            "https://x?q",
            "x",
            "http://",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uri_origin_matches_parsed_origin() {
        let uri: http::Uri = "https://OPENAPI.etsy.com/v3/x?y=1".parse().unwrap();
        assert_eq!(
            Origin::of_uri(&uri).unwrap(),
            Origin::parse("https://openapi.etsy.com:443").unwrap()
        );
        let uri: http::Uri = "http://[::1]:9/x".parse().unwrap();
        assert_eq!(
            Origin::of_uri(&uri).unwrap(),
            Origin::parse("http://[::1]:9").unwrap()
        );
    }

    #[test]
    fn private_and_metadata_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "224.0.0.1",
        ] {
            assert!(!is_public_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public_ip(ip.parse().unwrap()), "{ip}");
        }
    }
}
