//! Secret values and their stored forms. Each `Debug` is redacted, so none reaches a log.
//! What makes or checks them (argon2id, the invitation HMAC) is in [`crate::auth`]; the
//! store keeps only the hashes.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// `N` bytes from the system RNG, as base64url without padding.
fn random_base64url<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system RNG works");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A secret handed to a client (a refresh token, an invitation token): 256 bits, stored
/// only as its [`TokenHash`], so a leaked table does not leak usable tokens.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OpaqueToken(String);

/// The stored form of an [`OpaqueToken`]: hex SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl OpaqueToken {
    pub fn generate() -> Self {
        Self(random_base64url::<32>())
    }

    /// A token made of 32 secret bytes (an HMAC tag, see [`crate::auth::MailTokenKey`]).
    pub(crate) fn from_secret_bytes(bytes: &[u8]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as a client sent it. Anything that is not 43 base64url characters cannot be
    /// one of ours; it is refused before any lookup.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 43 && URL_SAFE_NO_PAD.decode(raw).is_ok_and(|b| b.len() == 32)).then(|| Self(raw.to_owned()))
    }

    pub fn hash(&self) -> TokenHash {
        let d = digest::digest(&digest::SHA256, self.0.as_bytes());
        TokenHash(d.as_ref().iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpaqueToken(**redacted**)")
    }
}

impl TokenHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 128 random bits, fresh per invitation: with the invitation secret it gives the token
/// (see [`crate::auth::MailTokenKey`]); on its own it gives nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MailNonce(String);

impl MailNonce {
    pub fn generate() -> Self {
        Self(random_base64url::<16>())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A PHC-format argon2id hash, made by [`crate::auth::hash_password`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub(crate) fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    pub(crate) fn as_phc(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(**redacted**)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let (a, b) = (OpaqueToken::generate(), OpaqueToken::generate());
        assert_ne!(a, b);
        assert_eq!(a.hash(), OpaqueToken::parse(a.expose()).unwrap().hash());
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash().as_str().len(), 64);
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in ["", "short", &"a".repeat(44), &"*".repeat(43)] {
            assert!(OpaqueToken::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn nonces_are_random_128_bit_values() {
        let (a, b) = (MailNonce::generate(), MailNonce::generate());
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(a.as_str()).unwrap().len(), 16);
    }

    #[test]
    fn debug_output_hides_password_hashes() {
        let hash = PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
        assert!(!format!("{hash:?}").contains("argon2"));
    }
}
