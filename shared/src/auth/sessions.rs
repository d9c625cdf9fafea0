//! Refresh sessions and invitation acceptance: the flows in which an opaque token, not a
//! JWT or a password, proves who is calling — so, like login, they form the tenant scope
//! here, once the token has been found and checked.

use chrono::{DateTime, Utc};

use super::{AuthError, Principal, TokenSettings};
use crate::domain::events::{Event, Origin};
use crate::domain::{OpaqueToken, Password};
use crate::store::{Store, StoreError, TenantScope};

/// The most refresh sessions one user keeps: a login beyond it ends the oldest.
pub const MAX_SESSIONS_PER_USER: usize = 20;

fn lifetime(settings: &TokenSettings) -> chrono::Duration {
    chrono::Duration::from_std(settings.refresh_ttl).unwrap_or(chrono::Duration::days(30))
}

/// Starts a refresh session for a caller who just proved who they are (login, register,
/// invitation); answers the caller with the session attached, and its first refresh token.
pub async fn start_session(
    store: &Store,
    principal: Principal,
    settings: &TokenSettings,
    now: DateTime<Utc>,
) -> Result<(Principal, OpaqueToken), AuthError> {
    let token = OpaqueToken::generate();
    let scope = principal.scope();
    let session = match store
        .sessions()
        .start(
            &scope,
            principal.user_id(),
            principal.credential_version().unwrap_or_default(),
            &token.hash(),
            now,
            lifetime(settings),
        )
        .await
    {
        Ok(session) => session,
        // The password changed (or every session was ended) after it was checked.
        Err(StoreError::VersionConflict) => return Err(AuthError::InvalidCredentials),
        Err(e) => return Err(e.into()),
    };
    // The oldest sessions beyond the cap end; a failure here leaves one too many for a
    // while, which the next login trims.
    if let Err(e) = store.sessions().trim(&scope, principal.user_id(), MAX_SESSIONS_PER_USER).await {
        tracing::warn!(error = %e, "the user's oldest sessions were not trimmed");
    }
    Ok((principal.in_session(Some(session)), token))
}

/// Exchanges a refresh token for a new one (rotation). The user's current role is read, so
/// a role change or a removal takes effect at the next refresh. Presenting a token that was
/// already rotated revokes the whole session: whoever holds its successor is cut off too.
pub async fn refresh(
    store: &Store,
    token: &OpaqueToken,
    settings: &TokenSettings,
    now: DateTime<Utc>,
) -> Result<(Principal, OpaqueToken), AuthError> {
    let hash = token.hash();
    let found = store.sessions().find_refresh(&hash).await?.ok_or(AuthError::InvalidRefreshToken)?;
    if found.expires_at <= now.timestamp() {
        return Err(AuthError::InvalidRefreshToken);
    }
    let scope = TenantScope::verified(found.organization_id);
    let session =
        store.sessions().get(&scope, found.user_id, found.session_id).await?.ok_or(AuthError::InvalidRefreshToken)?;
    if session.revoked {
        return Err(AuthError::InvalidRefreshToken);
    }
    if session.current != hash {
        tracing::warn!(session_id = %session.session_id, "a rotated refresh token was presented again: session revoked");
        store.sessions().revoke(&scope, session.user_id, session.session_id).await?;
        return Err(AuthError::InvalidRefreshToken);
    }
    let (user, version) = store
        .users()
        .get_with_credential_version(&scope, session.user_id)
        .await?
        .ok_or(AuthError::InvalidRefreshToken)?;
    // A password changed, reset or every session ended since this one began.
    if version != session.credential_version {
        return Err(AuthError::InvalidRefreshToken);
    }
    let next = OpaqueToken::generate();
    match store.sessions().rotate(&scope, &session, &hash, &next.hash(), now, lifetime(settings)).await {
        Ok(()) => {}
        // Another refresh with the same token won the race: this one is the replay.
        Err(StoreError::VersionConflict) => {
            store.sessions().revoke(&scope, session.user_id, session.session_id).await?;
            return Err(AuthError::InvalidRefreshToken);
        }
        // The credential version changed between the read above and the rotation.
        Err(StoreError::CallerGone) => return Err(AuthError::InvalidRefreshToken),
        Err(e) => return Err(e.into()),
    }
    let principal = Principal::new(user.id, user.organization_id, user.role)
        .in_session(Some(session.session_id))
        .under_credential_version(version);
    Ok((principal, next))
}

/// Accepts an invitation: creates the user with the invited role, once; answers them as the
/// caller, and the `member.joined` event to dispatch.
pub async fn accept_invitation(
    store: &Store,
    token: &OpaqueToken,
    password: &Password,
    now: DateTime<Utc>,
    origin: Origin,
) -> Result<(Principal, Event), AuthError> {
    let hash = token.hash();
    let found = store.invitations().find_token(&hash).await?.ok_or(StoreError::InvalidInvitation)?;
    if found.expires_at <= now.timestamp() {
        return Err(StoreError::InvalidInvitation.into());
    }
    let scope = TenantScope::verified(found.organization_id);
    let password_hash = super::hash_password(password)?;
    let (user, joined) =
        store.invitations().accept(&scope, found.invitation_id, &hash, password_hash, now, origin).await?;
    Ok((Principal::new(user.id, user.organization_id, user.role), joined))
}
