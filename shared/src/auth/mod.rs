//! Who is calling. A [`Principal`] exists only after a token was verified or a password
//! checked, and the [`TenantScope`] every tenant-owned key needs can only be had from one.

pub mod keys;
mod login;
mod opaque;
mod password;
mod principal;
mod sessions;
mod token;

pub use login::{LoginLimits, log_in, register_organization, verify_current_password};
pub use opaque::{OpaqueToken, TokenHash};
pub use password::{PasswordHash, hash_password};
pub use principal::{Principal, TenantScope};
pub use sessions::{accept_invitation, refresh, start_session};
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
    /// Too many failed logins for this email or source address in the current window.
    #[error("too many failed logins")]
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
