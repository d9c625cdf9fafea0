use chrono::{DateTime, Utc};

use super::password::verify_password;
use super::{AuthError, Principal, TenantScope};
use crate::domain::{Email, Password};
use crate::store::{Store, counter_key};

/// Brute-force limits: after this many failed logins for one email, or from one source
/// address, within a fixed window, every further attempt is refused until the window ends,
/// whether its password is right or not.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub window_seconds: u64,
    pub max_failures_per_email: u32,
    pub max_failures_per_ip: u32,
}

/// Checks an email and password and yields the verified caller.
///
/// The credentials live under a global key (emails are unique across the service); the
/// user's role lives in the tenant's partition, which may only be read once the password
/// has proved who is asking — so the scope is formed here, after verification.
pub async fn log_in(
    store: &Store,
    limits: &LoginLimits,
    email: &Email,
    password: &Password,
    source_ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Principal, AuthError> {
    let window_seconds = i64::try_from(limits.window_seconds).unwrap_or(i64::MAX);
    let window = now.timestamp() / window_seconds;
    let window_end = (window + 1) * window_seconds;
    let mut counters = vec![(counter_key(&format!("email:{}", email.as_str()), window), limits.max_failures_per_email)];
    if let Some(ip) = source_ip {
        counters.push((counter_key(&format!("ip:{ip}"), window), limits.max_failures_per_ip));
    }
    let keys: Vec<String> = counters.iter().map(|(k, _)| k.clone()).collect();
    let failures = store.throttle().failures(&keys).await?;
    if counters.iter().zip(&failures).any(|((_, max), failed)| failed >= max) {
        let retry_after = u64::try_from(window_end - now.timestamp()).unwrap_or(1).max(1);
        return Err(AuthError::Throttled { retry_after });
    }

    let credentials = store.credentials().find(email).await?;
    if !verify_password(password, credentials.as_ref().map(|c| &c.password_hash)) {
        // The TTL keeps a counter a window longer than needed: it is never read after its window.
        for key in &keys {
            store.throttle().record_failure(key, window_end + window_seconds).await?;
        }
        return Err(AuthError::InvalidCredentials);
    }
    let credentials = credentials.ok_or(AuthError::InvalidCredentials)?;
    let scope = TenantScope::new(credentials.organization_id);
    let user = store.users().get(&scope, credentials.user_id).await?.ok_or(AuthError::InvalidCredentials)?;
    Ok(Principal::new(user.id, user.organization_id, user.role))
}

/// Checks the current password of a verified caller (changing the password needs it).
pub async fn verify_current_password(
    store: &Store,
    principal: &Principal,
    email: &Email,
    password: &Password,
) -> Result<(), AuthError> {
    let credentials = store.credentials().find(email).await?.filter(|c| c.user_id == principal.user_id());
    if verify_password(password, credentials.as_ref().map(|c| &c.password_hash)) {
        Ok(())
    } else {
        Err(AuthError::InvalidCredentials)
    }
}

/// Registers a new organization and its admin, who is then the verified caller: they chose
/// the admin's password in this very request.
pub async fn register_organization(
    store: &Store,
    registration: crate::store::Registration,
    now: DateTime<Utc>,
) -> Result<(crate::domain::Organization, crate::domain::User, Principal), AuthError> {
    let scope = TenantScope::for_new_organization();
    let (organization, admin) = store.organizations().register(&scope, registration, now).await?;
    let principal = Principal::new(admin.id, admin.organization_id, admin.role);
    Ok((organization, admin, principal))
}
