//! Invitation tokens that exist in clear nowhere but the invitee's mail. The token is an
//! HMAC, under a secret only the inviting function and the mailer can read (Secrets
//! Manager), of the invitation's id and a random nonce. The table keeps the token's hash
//! (what accepting looks up); the outbox marker and the queue message carry only the id and
//! the nonce, from which nobody without the secret can compute the token. Once the mail is
//! sent, the nonce is gone with the message, and the token cannot be computed again at all.

use aws_lc_rs::hmac;

use crate::domain::{InvitationId, InvitationNonce, OpaqueToken};

/// The secret invitation tokens are derived under.
pub struct InvitationKey(hmac::Key);

impl InvitationKey {
    /// The shortest secret accepted: 256 bits as hex.
    pub const MIN_SECRET_LEN: usize = 32;

    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The token of one invitation: 256 bits, like every opaque token.
    pub fn token(&self, invitation: InvitationId, nonce: &InvitationNonce) -> OpaqueToken {
        let tag = hmac::sign(&self.0, format!("taskflow-invitation|{invitation}|{}", nonce.as_str()).as_bytes());
        OpaqueToken::from_secret_bytes(tag.as_ref())
    }
}

impl std::fmt::Debug for InvitationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InvitationKey(**redacted**)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_depends_on_the_secret_the_invitation_and_the_nonce() {
        let (key, other_key) = (InvitationKey::new(b"0123456789abcdef0123456789abcdef"), InvitationKey::new(b"x"));
        let (id, nonce) = (InvitationId::generate(), InvitationNonce::generate());
        let token = key.token(id, &nonce);
        assert_eq!(key.token(id, &nonce), token, "the mailer computes the same token");
        assert!(OpaqueToken::parse(token.expose()).is_some(), "it is an opaque token like any other");
        assert_ne!(other_key.token(id, &nonce), token);
        assert_ne!(key.token(InvitationId::generate(), &nonce), token);
        assert_ne!(key.token(id, &InvitationNonce::generate()), token);
        assert!(!serde_json::to_string(&nonce).unwrap().contains(token.expose()));
    }
}
