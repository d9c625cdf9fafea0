//! Opaque secrets handed to clients (refresh tokens, invitation tokens): 256 random bits,
//! stored only as a SHA-256 hash, so a leaked table does not leak usable tokens.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OpaqueToken(String);

/// The stored form of an [`OpaqueToken`]: hex SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl OpaqueToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).expect("the system RNG works");
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token made of 32 secret bytes (an HMAC tag, see [`super::InvitationKey`]).
    pub(super) fn from_secret_bytes(bytes: &[u8]) -> Self {
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
}
