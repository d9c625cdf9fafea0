use super::password::verify_password;
use super::{AuthError, Principal, TenantScope};
use crate::domain::{Email, Password};
use crate::store::Store;

/// Checks an email and password and yields the verified caller.
///
/// The credentials live under a global key (emails are unique across the service); the
/// user's role lives in the tenant's partition, which may only be read once the password
/// has proved who is asking — so the scope is formed here, after verification.
pub async fn log_in(store: &Store, email: &Email, password: &Password) -> Result<Principal, AuthError> {
    let credentials = store.credentials().find(email).await?;
    if !verify_password(password, credentials.as_ref().map(|c| &c.password_hash)) {
        return Err(AuthError::InvalidCredentials);
    }
    let credentials = credentials.ok_or(AuthError::InvalidCredentials)?;
    let scope = TenantScope::new(credentials.organization_id);
    let user = store.users().get(&scope, credentials.user_id).await?.ok_or(AuthError::InvalidCredentials)?;
    Ok(Principal::new(user.id, user.organization_id, user.role))
}
