//! Outbound HTTP to addresses a tenant chose (webhook endpoints, Teams
//! workflows, SMS providers): the SSRF guard.
//!
//! A URL is admitted when its scheme is https (http only where the
//! deployment allows it), it carries no credentials, and every address its
//! host resolves to is public — not loopback, private, link-local,
//! unique-local, carrier-grade NAT, multicast, reserved or a cloud metadata
//! address — unless a network of the deployment's allow-list holds it.
//! The check is made when a URL is saved (a clear 422 for the tenant) and
//! again on the addresses actually connected to: the [`Guard::client`]'s
//! resolver refuses a name that resolves to a forbidden address at connect
//! time, so a DNS answer that changes after the save (rebinding) does not
//! get through. Its clients follow no redirects and use no proxy.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use url::Url;

/// The deployment's outbound settings (`[notify.outbound]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundPolicy {
    /// Whether `http://` URLs are accepted (development only).
    pub allow_http: bool,
    /// Networks (CIDR, e.g. `10.20.0.0/16`, `127.0.0.1/32`) that are
    /// admitted although they are not public.
    pub allow_networks: Vec<String>,
    /// How long resolving a host may take.
    pub resolve_timeout_ms: u64,
}

/// Why a URL or an address was refused; `code` is the stable problem code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not an absolute http(s) URL with a host: {0}")]
    InvalidUrl(String),
    #[error("only https URLs are accepted")]
    InsecureScheme,
    #[error("a URL must not carry a user name or password")]
    CredentialsInUrl,
    #[error("{0} is not a public address (loopback, private, link-local or reserved)")]
    AddressNotAllowed(IpAddr),
    #[error("the host {0} cannot be resolved")]
    Unresolvable(String),
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::InvalidUrl(_) => "invalid_url",
            Refusal::InsecureScheme => "insecure_scheme",
            Refusal::CredentialsInUrl => "credentials_in_url",
            Refusal::AddressNotAllowed(_) => "address_not_allowed",
            Refusal::Unresolvable(_) => "unresolvable",
        }
    }
}

/// The guard built from an [`OutboundPolicy`].
#[derive(Debug, Clone)]
pub struct Guard {
    allow_http: bool,
    allow: Vec<IpNet>,
    resolve_timeout: Duration,
}

impl Guard {
    /// Fails with the network that is not a CIDR.
    pub fn new(policy: &OutboundPolicy) -> Result<Self, String> {
        let allow = policy
            .allow_networks
            .iter()
            .map(|n| {
                n.parse::<IpNet>()
                    .or_else(|_| n.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("notify.outbound.allow_networks: {n:?} is not a network"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            allow_http: policy.allow_http,
            allow,
            resolve_timeout: Duration::from_millis(policy.resolve_timeout_ms),
        })
    }

    /// Whether a connection to `ip` is admitted.
    pub fn admits(&self, ip: IpAddr) -> bool {
        self.allow.iter().any(|n| n.contains(&ip)) || is_public(ip)
    }

    /// The URL's form: scheme, credentials, host, and the address itself
    /// when the host is an IP literal (which no resolver sees). No DNS.
    pub fn check_url(&self, raw: &str) -> Result<Url, Refusal> {
        let url = Url::parse(raw.trim()).map_err(|e| Refusal::InvalidUrl(e.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(Refusal::InsecureScheme),
            other => return Err(Refusal::InvalidUrl(format!("scheme {other}"))),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::CredentialsInUrl);
        }
        match url.host() {
            None => return Err(Refusal::InvalidUrl("no host".into())),
            Some(url::Host::Ipv4(ip)) => self.address(IpAddr::V4(ip))?,
            Some(url::Host::Ipv6(ip)) => self.address(IpAddr::V6(ip))?,
            Some(url::Host::Domain(_)) => {}
        }
        Ok(url)
    }

    /// [`check_url`](Self::check_url), then the host's every address.
    pub async fn check(&self, raw: &str) -> Result<Url, Refusal> {
        let url = self.check_url(raw)?;
        if let Some(url::Host::Domain(host)) = url.host() {
            self.resolve(host, url.port_or_known_default().unwrap_or(443))
                .await?;
        }
        Ok(url)
    }

    /// The host's addresses, refused when any of them is not admitted (a
    /// name with one private address among public ones is not public).
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
        let unresolvable = || Refusal::Unresolvable(host.to_owned());
        let found = tokio::time::timeout(
            self.resolve_timeout,
            tokio::net::lookup_host((host.trim_end_matches('.'), port)),
        )
        .await
        .map_err(|_| unresolvable())?
        .map_err(|_| unresolvable())?;
        let addrs: Vec<SocketAddr> = found.collect();
        if addrs.is_empty() {
            return Err(unresolvable());
        }
        for a in &addrs {
            self.address(a.ip())?;
        }
        Ok(addrs)
    }

    fn address(&self, ip: IpAddr) -> Result<(), Refusal> {
        if self.admits(ip) {
            Ok(())
        } else {
            Err(Refusal::AddressNotAllowed(ip))
        }
    }

    /// An HTTP client whose connections go only to admitted addresses,
    /// following no redirects, through no proxy, giving up after `timeout`.
    /// IP-literal URLs bypass resolvers: send only what
    /// [`check_url`](Self::check_url) admitted.
    pub fn client(&self, timeout: Duration) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(self.clone()))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("psa-notify/", env!("CARGO_PKG_VERSION")))
            .build()
    }
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.clone();
        let host = name.as_str().to_owned();
        let fut: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(async move {
            // Port 0: reqwest puts the URL's port in.
            let addrs = guard
                .resolve(&host, 0)
                .await
                .map_err(|r| Box::new(r) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        });
        fut
    }
}

/// Whether `ip` is a public unicast address. IPv6 forms that embed an IPv4
/// address (mapped, NAT64, 6to4) are judged by that address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || a == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, the metadata address among them
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || ip.is_multicast()
        || a >= 240) // reserved and broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_public_v4(embedded(s[6], s[7])); // NAT64
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded(s[1], s[2])); // 6to4
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0)) // IPv4-compatible
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(allow_http: bool, allow: &[&str]) -> Guard {
        Guard::new(&OutboundPolicy {
            allow_http,
            allow_networks: allow.iter().map(|s| s.to_string()).collect(),
            resolve_timeout_ms: 2000,
        })
        .unwrap()
    }

    #[test]
    fn special_addresses_are_not_public() {
        for a in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
            "ff02::1",
        ] {
            assert!(!is_public(a.parse().unwrap()), "{a} passed as public");
        }
        for a in [
            "93.184.215.14",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(is_public(a.parse().unwrap()), "{a} refused");
        }
    }

    #[test]
    fn urls_are_checked_before_any_lookup() {
        let g = guard(false, &[]);
        assert_eq!(
            g.check_url("http://example.com/").unwrap_err(),
            Refusal::InsecureScheme
        );
        assert_eq!(
            g.check_url("https://u:p@example.com/").unwrap_err(),
            Refusal::CredentialsInUrl
        );
        assert_eq!(
            g.check_url("ftp://example.com/").unwrap_err().code(),
            "invalid_url"
        );
        assert_eq!(g.check_url("not a url").unwrap_err().code(), "invalid_url");
        for u in [
            "https://127.0.0.1/",
            "https://[::1]:8443/x",
            "https://169.254.169.254/latest",
            "https://10.1.2.3/",
        ] {
            assert_eq!(
                g.check_url(u).unwrap_err().code(),
                "address_not_allowed",
                "{u}"
            );
        }
        assert!(g.check_url("https://example.com/hook").is_ok());
    }

    #[test]
    fn the_allow_list_admits_its_networks_only() {
        let g = guard(true, &["127.0.0.1/32", "10.20.0.0/16"]);
        assert!(g.check_url("http://127.0.0.1:9000/").is_ok());
        assert!(g.check_url("https://10.20.3.4/").is_ok());
        assert!(g.check_url("https://10.21.0.1/").is_err());
        assert!(g.check_url("https://127.0.0.2/").is_err());
        assert!(
            Guard::new(&OutboundPolicy {
                allow_http: false,
                allow_networks: vec!["nonsense".into()],
                resolve_timeout_ms: 1
            })
            .is_err()
        );
    }

    #[tokio::test]
    async fn names_are_judged_by_what_they_resolve_to() {
        let g = guard(false, &[]);
        assert_eq!(
            g.check("https://localhost/").await.unwrap_err().code(),
            "address_not_allowed"
        );
        let open = guard(false, &["127.0.0.0/8", "::1/128"]);
        assert!(open.check("https://localhost:8443/").await.is_ok());
        assert_eq!(
            g.check("https://no-such-host.invalid/")
                .await
                .unwrap_err()
                .code(),
            "unresolvable"
        );
    }

    #[tokio::test]
    async fn the_client_refuses_to_connect_to_a_forbidden_address() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = guard(true, &[]).client(Duration::from_secs(2)).unwrap();
        let err = client
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert!(err.is_connect() || err.is_request(), "{err:?}");
        let mut source: Option<&dyn std::error::Error> = Some(&err);
        let mut refused = false;
        while let Some(e) = source {
            refused |= e.downcast_ref::<Refusal>().is_some();
            source = e.source();
        }
        assert!(refused, "not refused by the guard: {err:?}");
    }
}
