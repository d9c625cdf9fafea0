//! Outbound webhooks, as Standard Webhooks 1.0 defines them: where one is sent
//! ([`WebhookUrl`], with the addresses it may reach, [`Reach`]), and the secret that signs it
//! ([`WebhookSecret`]). Nothing here opens a connection: the dispatcher resolves the host and
//! asks [`Reach::permits`] about every address before it connects to any.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Invalid;

/// Which addresses a delivery may reach. A deployed stack reaches only public unicast
/// addresses over `https`; `make dev` and the test stack also reach loopback, over `http`
/// too, where their receivers listen. Nothing else is ever allowed: not the private ranges,
/// not link-local (the cloud metadata service at 169.254.169.254 and fd00:ec2::254), not
/// multicast or the reserved and documentation ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Public,
    PublicAndLoopback,
    /// Loopback only, and names no further than `localhost`: the local stacks' default, so
    /// that neither tests nor `make dev` can send a delivery (or a DNS query for one) off
    /// the machine.
    Loopback,
}

impl Reach {
    /// Whether a delivery may connect to `addr`. An IPv4 address written as IPv6 (mapped,
    /// compatible, NAT64, 6to4) is judged as the IPv4 address it reaches.
    pub fn permits(self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => embedded_v4(v6).map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        if addr.is_loopback() {
            return self != Self::Public;
        }
        if self == Self::Loopback {
            return false;
        }
        match addr {
            IpAddr::V4(v4) => is_public_v4(v4),
            IpAddr::V6(v6) => is_public_v6(v6),
        }
    }

    /// Whether a URL may name `host` (no DNS: the name's addresses are judged when they are
    /// resolved, by [`Reach::permits`]). With loopback reachable, `localhost` and loopback
    /// literals may use plain `http`.
    fn allows_plain_http(self, host: &url::Host<&str>) -> bool {
        self != Self::Public
            && match host {
                url::Host::Domain(name) => is_localhost(name),
                url::Host::Ipv4(v4) => v4.is_loopback(),
                url::Host::Ipv6(v6) => v6.is_loopback(),
            }
    }

    /// Whether a URL may name `host` at all: under [`Reach::Loopback`] only a loopback
    /// literal or `localhost` itself (which the hosts file answers; a name under it might
    /// be asked of DNS).
    fn admits_host(self, host: &url::Host<&str>) -> bool {
        self != Self::Loopback
            || match host {
                // Exactly: `localhost.` may be asked of DNS.
                url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
                url::Host::Ipv4(v4) => v4.is_loopback(),
                url::Host::Ipv6(v6) => v6.is_loopback(),
            }
    }
}

fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    name.eq_ignore_ascii_case("localhost") || name.to_ascii_lowercase().ends_with(".localhost")
}

/// The IPv4 address an IPv6 one stands for, where it stands for one: `::ffff:a.b.c.d`
/// (mapped), `::a.b.c.d` (compatible, deprecated), `64:ff9b::a.b.c.d` (NAT64) and
/// `2002:aabb:ccdd::/48` (6to4).
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        [0, 0, 0, 0, 0, 0, _, _] if !(s[6] == 0 && s[7] <= 1) => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] | [0x64, 0xff9b, 1, ..] => Some(low),
        [0x2002, a, b, ..] => Some(Ipv4Addr::new((a >> 8) as u8, a as u8, (b >> 8) as u8, b as u8)),
        _ => None,
    }
}

/// Globally routable IPv4 unicast: everything but the IANA special-purpose ranges that are
/// not (RFC 6890 and its updates).
fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    !(a == 0                                  // "this network"
        || a == 10                            // private
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || a == 127                           // loopback
        || (a == 169 && b == 254)             // link-local, the metadata service
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)     // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)     // documentation
        || (a == 192 && b == 88 && c == 99)   // 6to4 relay anycast
        || (a == 192 && b == 168)             // private
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100)  // documentation
        || (a == 203 && b == 0 && c == 113)   // documentation
        || a >= 224) // multicast, reserved, broadcast
}

/// Globally routable IPv6 unicast: inside 2000::/3 and outside its special-purpose ranges.
fn is_public_v6(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    (s[0] & 0xe000) == 0x2000
        && !(s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments (Teredo, ORCHID, ...)
        && !(s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        && !(s[0] == 0x3fff && s[1] < 0x1000) // documentation (RFC 9637)
        && s[0] != 0x2002 // 6to4 without a public IPv4 inside: judged by embedded_v4 first
}

/// Where an organization's webhook is delivered: an absolute `https` URL (or `http` to
/// loopback, where [`Reach`] allows it), without credentials or a fragment, at most 2048
/// characters. Credentials are refused because the URL is shown to every admin and logged
/// with each failed delivery; a receiver authenticates us by the signature instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

pub const MAX_WEBHOOK_URL_CHARS: usize = 2048;

impl WebhookUrl {
    pub fn parse(raw: &str, reach: Reach) -> Result<Self, Invalid> {
        let invalid = |message: &str| Invalid::new("url", message);
        if raw.chars().count() > MAX_WEBHOOK_URL_CHARS {
            return Err(invalid("must have at most 2048 characters"));
        }
        let url = url::Url::parse(raw.trim()).map_err(|e| invalid(&format!("is not an absolute URL ({e})")))?;
        // Judged again as stored: percent-encoding and IDNA can make the URL longer.
        if url.as_str().len() > MAX_WEBHOOK_URL_CHARS {
            return Err(invalid("must have at most 2048 characters once normalized (percent-encoded)"));
        }
        let host = url.host().ok_or_else(|| invalid("must name a host"))?;
        if !reach.admits_host(&host) {
            return Err(invalid(
                "must be http(s)://localhost or a loopback address: this stack delivers only to loopback",
            ));
        }
        match url.scheme() {
            "https" => {}
            "http" if reach.allows_plain_http(&host) => {}
            "http" => return Err(invalid("must use https")),
            _ => return Err(invalid("must be an https URL")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not carry credentials: receivers check the signature instead"));
        }
        if url.fragment().is_some() {
            return Err(invalid("must not have a fragment"));
        }
        // An address written in the URL is judged now; a name, at each delivery, once it
        // is resolved (its addresses can change).
        let literal = match host {
            url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            url::Host::Domain(_) => None,
        };
        if literal.is_some_and(|addr| !reach.permits(addr)) {
            return Err(invalid("must not name a private, loopback, link-local or reserved address"));
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn as_url(&self) -> &url::Url {
        &self.0
    }
}

impl std::fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored URL reads back under the widest reach: whatever a delivery may reach is judged
/// again, by the dispatcher's own [`Reach`], for every address the host resolves to.
impl<'de> serde::Deserialize<'de> for WebhookUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&raw, Reach::PublicAndLoopback).map_err(|e| serde::de::Error::custom(e.message))
    }
}

impl serde::Serialize for WebhookUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A webhook's secret as stored, sealed (`auth::SealingKey` makes and opens it): opaque
/// here, so the store keeps it without being able to read it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SealedSecret(String);

impl SealedSecret {
    pub(crate) fn new(sealed: String) -> Self {
        Self(sealed)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A webhook's signing secret: `whsec_` and the base64 of 32 random bytes, as Standard
/// Webhooks writes it. Shown to the admin once; its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

const SECRET_PREFIX: &str = "whsec_";
const SECRET_BYTES: usize = 32;

impl WebhookSecret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        aws_lc_rs::rand::fill(&mut bytes).expect("the system RNG works");
        Self(bytes)
    }

    /// A secret as [`WebhookSecret::expose`] wrote it; Standard Webhooks allows 24 to 64
    /// bytes, and so does this.
    pub fn parse(raw: &str) -> Option<Self> {
        let bytes = STANDARD.decode(raw.strip_prefix(SECRET_PREFIX)?).ok()?;
        (24..=64).contains(&bytes.len()).then_some(Self(bytes))
    }

    /// The secret as the admin is shown it, once.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// The raw key bytes, for sealing at rest.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        (24..=64).contains(&bytes.len()).then_some(Self(bytes))
    }

    /// The `v1,` signature of one delivery: base64 of HMAC-SHA256 over
    /// `{webhook-id}.{webhook-timestamp}.{body}`.
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut context = hmac::Context::with_key(&key);
        context.update(message_id.as_bytes());
        context.update(b".");
        context.update(timestamp.to_string().as_bytes());
        context.update(b".");
        context.update(body);
        format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(**redacted**)")
    }
}

/// The `webhook-signature` header of a delivery: one `v1,` signature per secret that signs,
/// space-separated (two while a rotation's old secret still signs).
pub fn signature_header<'a>(
    secrets: impl IntoIterator<Item = &'a WebhookSecret>,
    message_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets.into_iter().map(|s| s.sign(message_id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    #[test]
    fn the_signature_matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks reference libraries' tests.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_generated_secret_reads_back_and_is_never_debug_printed() {
        let secret = WebhookSecret::generate();
        let shown = secret.expose();
        assert!(shown.starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(&shown), Some(secret.clone()));
        assert!(!format!("{secret:?}").contains(&shown[6..]));
        assert_eq!(WebhookSecret::from_bytes(secret.as_bytes().to_vec()), Some(secret));
    }

    #[test]
    fn secrets_of_the_wrong_form_or_length_are_refused() {
        for raw in ["", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2hvcnQ=", "whsec_!!!!"] {
            assert_eq!(WebhookSecret::parse(raw), None, "{raw}");
        }
        assert_eq!(WebhookSecret::from_bytes(vec![0; 23]), None);
        assert_eq!(WebhookSecret::from_bytes(vec![0; 65]), None);
    }

    #[test]
    fn a_rotation_signs_with_both_secrets() {
        let (old, new) = (WebhookSecret::generate(), WebhookSecret::generate());
        let header = signature_header([&new, &old], "m", 1, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts, [new.sign("m", 1, b"{}"), old.sign("m", 1, b"{}")]);
    }

    #[test]
    fn public_addresses_are_reached() {
        for raw in ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700::1111", "2a00:1450:4001::200e"] {
            assert!(Reach::Public.permits(ip(raw)), "{raw}");
        }
    }

    #[test]
    fn private_link_local_metadata_multicast_and_reserved_addresses_are_never_reached() {
        let forbidden = [
            "0.0.0.0",
            "10.0.0.1",
            "100.64.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.170",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.1",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "ff02::1",
            "2001:db8::1",
            "64:ff9b::a9fe:a9fe",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::10.0.0.1",
            "2002:a9fe:a9fe::1",
            "2001::1",
            "100::1",
            "fec0::1",
        ];
        for reach in [Reach::Public, Reach::PublicAndLoopback] {
            for raw in forbidden {
                assert!(!reach.permits(ip(raw)), "{raw} under {reach:?}");
            }
        }
    }

    #[test]
    fn loopback_is_reached_only_where_allowed() {
        for raw in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert!(!Reach::Public.permits(ip(raw)), "{raw}");
            assert!(Reach::PublicAndLoopback.permits(ip(raw)), "{raw}");
            assert!(Reach::Loopback.permits(ip(raw)), "{raw}");
        }
    }

    #[test]
    fn a_loopback_stack_reaches_nothing_else_and_names_nothing_but_localhost() {
        for raw in ["8.8.8.8", "2606:4700:4700::1111", "10.0.0.1", "169.254.169.254", "::ffff:8.8.8.8"] {
            assert!(!Reach::Loopback.permits(ip(raw)), "{raw}");
        }
        for raw in ["http://127.0.0.1:9000/hook", "http://localhost:9000/", "https://LOCALHOST/", "http://[::1]:1/"] {
            assert!(WebhookUrl::parse(raw, Reach::Loopback).is_ok(), "{raw}");
        }
        // A public name would be asked of DNS, and a name under localhost might be.
        for raw in [
            "https://hooks.example.com/",
            "http://internal.localhost/",
            "http://localhost./",
            "https://8.8.8.8/",
            "https://[::ffff:7f00:1]/",
        ] {
            assert!(WebhookUrl::parse(raw, Reach::Loopback).is_err(), "{raw}");
        }
    }

    #[test]
    fn urls_must_be_https_except_to_loopback_where_allowed() {
        assert!(WebhookUrl::parse("https://hooks.example.com/taskflow?x=1", Reach::Public).is_ok());
        for raw in ["http://hooks.example.com/", "ftp://hooks.example.com/", "mailto:a@b.c", "/relative", ""] {
            assert!(WebhookUrl::parse(raw, Reach::PublicAndLoopback).is_err(), "{raw}");
        }
        for raw in ["http://127.0.0.1:9000/hook", "http://localhost:9000/", "http://[::1]:9000/"] {
            assert!(WebhookUrl::parse(raw, Reach::PublicAndLoopback).is_ok(), "{raw}");
            assert!(WebhookUrl::parse(raw, Reach::Public).is_err(), "{raw}");
        }
    }

    #[test]
    fn urls_naming_forbidden_addresses_credentials_or_fragments_are_refused() {
        for raw in [
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.1/",
            "https://[::ffff:a9fe:a9fe]/",
            "https://[fd00:ec2::254]/",
            "https://0x7f.1/",
            "https://user:pass@hooks.example.com/",
            "https://token@hooks.example.com/",
            "https://hooks.example.com/#frag",
        ] {
            assert!(WebhookUrl::parse(raw, Reach::Public).is_err(), "{raw}");
        }
        let long = format!("https://hooks.example.com/{}", "a".repeat(MAX_WEBHOOK_URL_CHARS));
        assert!(WebhookUrl::parse(&long, Reach::Public).is_err());
        // Short as typed, long once percent-encoded: refused, so that what is stored reads back.
        let grows = format!("https://hooks.example.com/{}", "é".repeat(1000));
        assert!(grows.chars().count() < MAX_WEBHOOK_URL_CHARS);
        assert!(WebhookUrl::parse(&grows, Reach::Public).is_err());
    }

    proptest! {
        #[test]
        fn an_ipv4_address_and_its_mapped_ipv6_form_are_judged_alike(octets: [u8; 4]) {
            let v4 = Ipv4Addr::from(octets);
            for reach in [Reach::Public, Reach::PublicAndLoopback, Reach::Loopback] {
                prop_assert_eq!(reach.permits(IpAddr::V4(v4)), reach.permits(IpAddr::V6(v4.to_ipv6_mapped())));
            }
        }

        #[test]
        fn whatever_loopback_reach_permits_is_loopback(addr: IpAddr) {
            if Reach::Loopback.permits(addr) {
                let v4 = match addr { IpAddr::V6(v6) => embedded_v4(v6), IpAddr::V4(v4) => Some(v4) };
                prop_assert!(addr.is_loopback() || v4.is_some_and(|v4| v4.is_loopback()), "{}", addr);
            }
        }

        #[test]
        fn whatever_public_reach_permits_is_global_unicast(addr: IpAddr) {
            if Reach::Public.permits(addr) {
                prop_assert!(!addr.is_loopback() && !addr.is_unspecified() && !addr.is_multicast());
                if let IpAddr::V4(v4) = addr {
                    prop_assert!(!v4.is_private() && !v4.is_link_local() && !v4.is_broadcast());
                }
            }
        }

        #[test]
        fn a_signature_depends_on_every_part(id in "[a-z0-9_]{1,20}", ts: i64, body: Vec<u8>, flip in 0usize..64) {
            let secret = WebhookSecret::generate();
            let signature = secret.sign(&id, ts, &body);
            prop_assert_ne!(&signature, &secret.sign(&format!("{id}x"), ts, &body));
            prop_assert_ne!(&signature, &secret.sign(&id, ts.wrapping_add(1), &body));
            let mut other = body.clone();
            if other.is_empty() { other.push(0) } else { let i = flip % other.len(); other[i] ^= 1 }
            prop_assert_ne!(&signature, &secret.sign(&id, ts, &other));
        }
    }
}
