//! The one password throttle, used by every endpoint that checks a password (login, password
//! change). Its scheme, after OWASP's guidance on account lockout, makes a lockout cost the
//! attacker rather than the owner:
//!
//! - per (email, source address): a low limit, so guessing from one address stops soon
//!   while the owner, from anywhere else, still logs in;
//! - per email: a higher ceiling, so guessing spread over many addresses still stops;
//! - per source address (all emails): so one address cannot spray many accounts.
//!
//! Each attempt is reserved before argon2 runs, with a conditional increment per counter
//! (never read-then-write): N concurrent wrong attempts give at most the limit of 401s.
//! A right password gives its reservations back and clears its pair's count.

use chrono::{DateTime, Utc};

use super::AuthError;
use crate::domain::Email;
use crate::store::{Store, counter_key};

/// Failed-attempt limits within a fixed window.
#[derive(Debug, Clone, Copy)]
pub struct PasswordLimits {
    pub window_seconds: u64,
    pub max_failures_per_email_and_address: u32,
    pub max_failures_per_email: u32,
    pub max_failures_per_address: u32,
}

/// Attempts reserved for one password check; give them back with [`Self::succeeded`].
#[must_use = "a right password must give its reservation back"]
pub struct PasswordAttempt {
    pair: Option<String>,
    email: Option<String>,
    address: Option<String>,
}

/// The fixed window an attempt falls in, shared by the throttles of this module and of
/// mail requests.
pub(super) struct Window {
    pub index: i64,
    end: i64,
    seconds: i64,
}

impl Window {
    pub(super) fn at(now: DateTime<Utc>, seconds: u64) -> Self {
        let seconds = i64::try_from(seconds).unwrap_or(i64::MAX).max(1);
        let index = now.timestamp() / seconds;
        Self { index, end: (index + 1) * seconds, seconds }
    }

    /// Counts one attempt under `key` if fewer than `max` are counted in this window, else
    /// answers `Throttled` with the seconds until the window ends. The TTL keeps a counter a
    /// window longer than needed: it is never read after its window.
    pub(super) async fn count(&self, store: &Store, key: &str, max: u32, now: DateTime<Utc>) -> Result<(), AuthError> {
        if store.throttle().reserve(key, max, self.end + self.seconds).await? {
            Ok(())
        } else {
            Err(AuthError::Throttled { retry_after: u64::try_from(self.end - now.timestamp()).unwrap_or(1).max(1) })
        }
    }
}

/// Reserves one attempt for `email` from `source` (API Gateway's `sourceIp`), or answers
/// `Throttled` with the seconds until the window ends. The pair is counted first, so an
/// address that is already refused adds nothing to the email's or the address's count,
/// and the email's ceiling last, so that an address refused for spraying adds nothing to it.
pub async fn reserve(
    store: &Store,
    limits: &PasswordLimits,
    email: &Email,
    source: Option<&str>,
    now: DateTime<Utc>,
) -> Result<PasswordAttempt, AuthError> {
    let window = Window::at(now, limits.window_seconds);
    let index = window.index;
    let source = source.map(network_of);
    let pair = counter_key(&format!("pair:{}|{}", email.as_str(), source.as_deref().unwrap_or("unknown")), index);
    let email = counter_key(&format!("email:{}", email.as_str()), index);
    let address = source.as_ref().map(|address| counter_key(&format!("ip:{address}"), index));
    let mut counters = vec![(pair.as_str(), limits.max_failures_per_email_and_address)];
    if let Some(address) = &address {
        counters.push((address.as_str(), limits.max_failures_per_address));
    }
    counters.push((email.as_str(), limits.max_failures_per_email));
    for (key, max) in counters {
        window.count(store, key, max, now).await?;
    }
    Ok(PasswordAttempt { pair: Some(pair), email: Some(email), address })
}

/// Reserves one attempt for the source address alone, for a password check that has no
/// email yet (redeeming a reset token): the per-address limit of the same throttle. Its
/// `succeeded` gives it back.
pub async fn reserve_address(
    store: &Store,
    limits: &PasswordLimits,
    source: Option<&str>,
    now: DateTime<Utc>,
) -> Result<PasswordAttempt, AuthError> {
    let window = Window::at(now, limits.window_seconds);
    let address = source.map(|s| counter_key(&format!("ip:{}", network_of(s)), window.index));
    if let Some(key) = &address {
        window.count(store, key, limits.max_failures_per_address, now).await?;
    }
    Ok(PasswordAttempt { pair: None, email: None, address })
}

/// What counts as one source: an IPv4 address, or an IPv6 address's /64 (one subscriber's
/// network, in which an attacker may pick any of 2^64 addresses).
pub(super) fn network_of(source: &str) -> String {
    match source.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or_else(|| source.to_owned(), |v4| v4.to_string()),
        _ => source.to_owned(),
    }
}

impl PasswordAttempt {
    /// The password was right: the attempt was no failure. A store error here is logged,
    /// not answered: the caller proved who they are, and a count one too high is harmless.
    pub async fn succeeded(self, store: &Store) {
        let throttle = store.throttle();
        let (pair, email, address) = tokio::join!(
            async {
                match &self.pair {
                    Some(key) => throttle.reset(key).await,
                    None => Ok(()),
                }
            },
            async {
                match &self.email {
                    Some(key) => throttle.release(key).await,
                    None => Ok(()),
                }
            },
            async {
                match &self.address {
                    Some(key) => throttle.release(key).await,
                    None => Ok(()),
                }
            }
        );
        for result in [pair, email, address] {
            if let Err(e) = result {
                tracing::warn!(error = %e, "a password attempt's reservation was not given back");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::network_of;

    #[test]
    fn an_ipv6_source_counts_as_its_64_and_ipv4_as_itself() {
        assert_eq!(network_of("2001:db8:1:2:aaaa::1"), network_of("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_ne!(network_of("2001:db8:1:2::1"), network_of("2001:db8:1:3::1"));
        assert_eq!(network_of("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(network_of("192.0.2.7"), "192.0.2.7");
    }
}
