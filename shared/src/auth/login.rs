use chrono::{DateTime, Utc};

use super::password::verify_password;
use super::throttle::{self, PasswordLimits};
use super::{AuthError, Principal};
use crate::domain::{Email, Password};
use crate::store::{Store, TenantScope};

/// Checks an email and password and yields the verified caller. The attempt is reserved
/// with the password throttle first, so guessing is bounded however requests interleave.
///
/// The credentials live under a global key (emails are unique across the service); the
/// user's role lives in the tenant's partition, which may only be read once the password
/// has proved who is asking — so the scope is formed here, after verification.
pub async fn log_in(
    store: &Store,
    limits: &PasswordLimits,
    email: &Email,
    password: &Password,
    source_ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Principal, AuthError> {
    let attempt = throttle::reserve(store, limits, email, source_ip, now).await?;
    let credentials = store.credentials().find(email).await?;
    if !verify_password(password, credentials.as_ref().map(|c| &c.password_hash)) {
        return Err(AuthError::InvalidCredentials);
    }
    attempt.succeeded(store).await;
    let credentials = credentials.ok_or(AuthError::InvalidCredentials)?;
    let scope = TenantScope::verified(credentials.organization_id);
    let user = store.users().get(&scope, credentials.user_id).await?.ok_or(AuthError::InvalidCredentials)?;
    // The version read with the password: the session is written only while it is current,
    // so a login that raced a password change keeps nothing.
    Ok(Principal::new(user.id, user.organization_id, user.role)
        .under_credential_version(credentials.credential_version))
}

/// Checks the current password of a verified caller (changing the password needs it), under
/// the same throttle as login: a stolen access token is no password-guessing oracle. Answers
/// the credential version read with the password, which the change is then conditional on.
pub async fn verify_current_password(
    store: &Store,
    limits: &PasswordLimits,
    principal: &Principal,
    email: &Email,
    password: &Password,
    source_ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<u64, AuthError> {
    let attempt = throttle::reserve(store, limits, email, source_ip, now).await?;
    let credentials = store.credentials().find(email).await?.filter(|c| c.user_id == principal.user_id());
    let right = verify_password(password, credentials.as_ref().map(|c| &c.password_hash));
    match credentials {
        Some(credentials) if right => {
            attempt.succeeded(store).await;
            Ok(credentials.credential_version)
        }
        _ => Err(AuthError::InvalidCredentials),
    }
}
