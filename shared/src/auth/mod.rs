//! Who is calling. A [`Principal`] exists only after a token was verified or a password
//! checked, and the [`TenantScope`](crate::store::TenantScope) every tenant-owned key needs
//! is made here and nowhere else: from a principal, a refresh session, an accepted
//! invitation, or an event that came back through TaskFlow's own queue or table.

mod account;
mod api_key;
pub mod keys;
mod login;
mod mail_token;
mod password;
mod principal;
mod queued;
mod sealing;
mod sessions;
mod throttle;
mod token;

pub use account::{
    MailRequestLimits, RegistrationLimits, confirm_password_reset, count_registration, register_organization,
    request_password_reset, resend_verification, verify_email,
};
pub use api_key::verify_api_key;
pub use login::{log_in, verify_current_password};
pub use mail_token::{MailTokenKey, MailTokenPurpose};
pub use password::hash_password;
pub use principal::Principal;
pub use queued::{outbox_backlog, queued_event};
pub use sealing::SealingKey;
pub use sessions::{accept_invitation, refresh, start_session};
pub use throttle::{PasswordAttempt, PasswordLimits};
pub use token::{AccessToken, Claims, TokenIssuer, TokenSettings, TokenVerifier};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No usable bearer token: missing, malformed, badly signed, expired, or for another
    /// issuer or audience. Deliberately one variant: the client learns nothing more.
    #[error("missing or invalid access token")]
    InvalidToken,
    /// Wrong password and unknown email are one answer, so logins cannot probe for accounts.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Unknown, expired, revoked or reused refresh token: one answer for all.
    #[error("the refresh token is invalid, expired or revoked")]
    InvalidRefreshToken,
    /// Too many failed password attempts for this email, source address or both in the
    /// current window.
    #[error("too many failed password attempts")]
    Throttled { retry_after: u64 },
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("key material is unusable: {0}")]
    Key(String),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}
