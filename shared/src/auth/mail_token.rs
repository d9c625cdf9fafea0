//! Tokens that exist in clear nowhere but their recipient's mail: invitation, password reset
//! and email verification tokens. A token is an HMAC, under a secret only the functions that
//! issue such tokens and the mailer can read (Secrets Manager), of its purpose, the id of
//! what it is for and a random nonce. The table keeps the token's hash (what redeeming it
//! looks up); the outbox marker and the queue message carry only the id and the nonce, from
//! which nobody without the secret can compute the token. Once the mail is sent, the nonce is
//! gone with the message, and the token cannot be computed again at all.

use aws_lc_rs::hmac;

use crate::domain::{MailNonce, OpaqueToken};

/// What a mailed token is for. Part of what is signed, so a token of one purpose is never
/// the token of another, even for the same id and nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTokenPurpose {
    Invitation,
    PasswordReset,
    EmailVerification,
}

impl MailTokenPurpose {
    fn label(self) -> &'static str {
        match self {
            MailTokenPurpose::Invitation => "taskflow-invitation",
            MailTokenPurpose::PasswordReset => "taskflow-password-reset",
            MailTokenPurpose::EmailVerification => "taskflow-email-verification",
        }
    }
}

/// The secret mailed tokens are derived under.
pub struct MailTokenKey(hmac::Key);

impl MailTokenKey {
    /// The shortest secret accepted: 256 bits as hex.
    pub const MIN_SECRET_LEN: usize = 32;

    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The token of one mail: 256 bits, like every opaque token. `subject` is the id of what
    /// the token is for (an invitation, a user).
    pub fn token(&self, purpose: MailTokenPurpose, subject: &impl std::fmt::Display, nonce: &MailNonce) -> OpaqueToken {
        let message = format!("{}|{subject}|{}", purpose.label(), nonce.as_str());
        OpaqueToken::from_secret_bytes(hmac::sign(&self.0, message.as_bytes()).as_ref())
    }
}

impl std::fmt::Debug for MailTokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MailTokenKey(**redacted**)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{InvitationId, UserId};

    #[test]
    fn a_token_depends_on_the_secret_the_purpose_the_subject_and_the_nonce() {
        use MailTokenPurpose::*;
        let (key, other_key) = (MailTokenKey::new(b"0123456789abcdef0123456789abcdef"), MailTokenKey::new(b"x"));
        let (id, nonce) = (InvitationId::generate(), MailNonce::generate());
        let token = key.token(Invitation, &id, &nonce);
        assert_eq!(key.token(Invitation, &id, &nonce), token, "the mailer computes the same token");
        assert!(OpaqueToken::parse(token.expose()).is_some(), "it is an opaque token like any other");
        assert_ne!(other_key.token(Invitation, &id, &nonce), token);
        assert_ne!(key.token(Invitation, &InvitationId::generate(), &nonce), token);
        assert_ne!(key.token(Invitation, &id, &MailNonce::generate()), token);
        let user = UserId::generate();
        let tokens = [Invitation, PasswordReset, EmailVerification].map(|p| key.token(p, &user, &nonce));
        assert!(tokens[0] != tokens[1] && tokens[1] != tokens[2] && tokens[0] != tokens[2], "purposes never collide");
        assert!(!serde_json::to_string(&nonce).unwrap().contains(token.expose()));
    }
}
