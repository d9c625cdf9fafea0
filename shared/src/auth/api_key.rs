//! Requests made with an API key: the key is found by the ids in its locator, proven by its
//! secret, and acts for its creator with no more than the creator's role now.

use chrono::{DateTime, Utc};

use super::{AuthError, Principal};
use crate::domain::ApiKeySecret;
use crate::store::{ApiKeyStore, Store, StoreError, TenantScope};

/// The caller of a request whose bearer token is `raw`, an API key. One read (the key and
/// its creator together), and at most once a minute per key a write of its last use. A key
/// that does not parse, is unknown (revoked), expired, does not match its hash, whose
/// creator left the organization, or whose creator's address is unproven or was proven
/// after the key was made is [`AuthError::InvalidToken`], one answer for all.
pub async fn verify_api_key(store: &Store, raw: &str, now: DateTime<Utc>) -> Result<Principal, AuthError> {
    let claimed = ApiKeySecret::parse(raw).ok_or(AuthError::InvalidToken)?;
    // The locator's organization is only a claim until the secret matched: this scope serves
    // the one read that checks it, and leaves this function only inside a verified principal.
    let scope = TenantScope::verified(claimed.organization_id());
    let found = match store.api_keys().find(&scope, claimed.id(), claimed.created_by()).await {
        Ok(Some(found)) => found,
        Ok(None) | Err(StoreError::Unreadable { .. }) => return Err(AuthError::InvalidToken),
        Err(e) => return Err(e.into()),
    };
    let key = found.key;
    let names_its_locator = key.created_by == claimed.created_by() && key.organization_id == claimed.organization_id();
    if !claimed.matches(&found.secret_hash) || !names_its_locator || key.is_expired(now) {
        return Err(AuthError::InvalidToken);
    }
    let creator = found.creator.ok_or(AuthError::InvalidToken)?;
    // A key acts for its creator only while their address is proven, and only if it was
    // made after that: a key made by whoever held an address before its owner took it back
    // (by a password reset) does not act for the owner. (Creating a key needs a verified
    // address; this covers keys made before it did.)
    let made_before_proof = found.creator_verified_at.is_some_and(|at| key.created_at < at);
    if !creator.email_verified || made_before_proof {
        return Err(AuthError::InvalidToken);
    }
    if ApiKeyStore::needs_touch(&key, now)
        && let Err(e) = store.api_keys().touch(&scope, key.id, now).await
    {
        // The request is not refused for it: the last use is a convenience, not a control.
        tracing::warn!(error = %e, "the last use of an API key was not recorded");
    }
    Ok(Principal::for_api_key(key.id, creator.id, scope.org_id(), key.effective_role(creator.role)))
}
