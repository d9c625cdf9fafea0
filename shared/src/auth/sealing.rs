//! Webhook secrets at rest. A webhook's secret must be read back to sign each delivery, so
//! unlike a token it cannot be kept as a hash: it is sealed with AES-256-GCM under a key
//! derived from a secret only the functions that make webhooks and the dispatcher read
//! (Secrets Manager), and bound to the webhook it belongs to, so a sealed secret copied onto
//! another item opens nowhere. A leaked table leaks no usable secret.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::{OrgId, SealedSecret, WebhookId, WebhookSecret};

/// The form sealed secrets are written in, `v1.<nonce>.<ciphertext and tag>`: the version
/// names the scheme, so it can change without reading old items wrongly.
const VERSION: &str = "v1";

pub struct SealingKey(LessSafeKey);

impl SealingKey {
    /// The shortest configuration secret accepted: 256 bits as hex.
    pub const MIN_SECRET_LEN: usize = 32;

    /// The key derived from the configured secret (SHA-256 of a label and the secret: the
    /// secret is random, so no stretching is needed, only a key of the cipher's size).
    pub fn new(secret: &[u8]) -> Self {
        let mut context = digest::Context::new(&digest::SHA256);
        context.update(b"taskflow-webhook-secret-sealing-v1\0");
        context.update(secret);
        let key = UnboundKey::new(&AES_256_GCM, context.finish().as_ref()).expect("SHA-256 is an AES-256 key");
        Self(LessSafeKey::new(key))
    }

    pub fn seal(&self, organization: OrgId, webhook: WebhookId, secret: &WebhookSecret) -> SealedSecret {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).expect("the system RNG works");
        let mut sealed = secret.as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), bound_to(organization, webhook), &mut sealed)
            .expect("a secret of 64 bytes at most seals");
        SealedSecret::new(format!("{VERSION}.{}.{}", URL_SAFE_NO_PAD.encode(nonce), URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// The secret, if `sealed` was sealed under this key for this webhook; `None` otherwise
    /// (another key, another webhook, a changed byte).
    pub fn open(&self, organization: OrgId, webhook: WebhookId, sealed: &SealedSecret) -> Option<WebhookSecret> {
        let mut parts = sealed.as_str().split('.');
        let (Some(VERSION), Some(nonce), Some(body), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let nonce: [u8; NONCE_LEN] = URL_SAFE_NO_PAD.decode(nonce).ok()?.try_into().ok()?;
        let mut body = URL_SAFE_NO_PAD.decode(body).ok()?;
        let plain = self
            .0
            .open_in_place(Nonce::assume_unique_for_key(nonce), bound_to(organization, webhook), &mut body)
            .ok()?;
        WebhookSecret::from_bytes(plain.to_vec())
    }
}

/// What a sealed secret is bound to: its organization and webhook.
fn bound_to(organization: OrgId, webhook: WebhookId) -> Aad<Vec<u8>> {
    Aad::from(format!("webhook-secret|{organization}|{webhook}").into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_opens_only_under_its_key_for_its_webhook() {
        let key = SealingKey::new(b"0123456789abcdef0123456789abcdef");
        let (org, hook) = (OrgId::generate(), WebhookId::generate());
        let secret = WebhookSecret::generate();
        let sealed = key.seal(org, hook, &secret);
        assert!(!sealed.as_str().contains(&secret.expose()[6..]), "not in clear");
        assert_eq!(key.open(org, hook, &sealed), Some(secret.clone()));
        assert_ne!(key.seal(org, hook, &secret), sealed, "a fresh nonce each time");

        assert_eq!(key.open(org, WebhookId::generate(), &sealed), None, "another webhook");
        assert_eq!(key.open(OrgId::generate(), hook, &sealed), None, "another organization");
        let other = SealingKey::new(b"fedcba9876543210fedcba9876543210");
        assert_eq!(other.open(org, hook, &sealed), None, "another key");
        let mut tampered = sealed.as_str().to_owned().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            key.open(org, hook, &SealedSecret::new(String::from_utf8(tampered).unwrap())),
            None,
            "a changed byte"
        );
        assert_eq!(key.open(org, hook, &SealedSecret::new("v2.x.y".into())), None);
        assert_eq!(key.open(org, hook, &SealedSecret::new("garbage".into())), None);
    }
}
