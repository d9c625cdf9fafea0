//! Ed25519 key pairs in the PEM forms `jsonwebtoken` reads. Production keys come from the
//! secret store; this makes keys for local development and tests, so none is ever committed.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32-byte key follows.
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

pub struct SigningKeyPair {
    pub private_pem: String,
    pub public_pem: String,
}

impl std::fmt::Debug for SigningKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyPair").field("public_pem", &self.public_pem).finish_non_exhaustive()
    }
}

pub fn generate_signing_key_pair() -> SigningKeyPair {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("the system RNG works");
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("a freshly generated key parses");
    let mut spki = ED25519_SPKI_PREFIX.to_vec();
    spki.extend_from_slice(pair.public_key().as_ref());
    SigningKeyPair { private_pem: pem("PRIVATE KEY", pkcs8.as_ref()), public_pem: pem("PUBLIC KEY", &spki) }
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("base64 is ASCII")).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}
