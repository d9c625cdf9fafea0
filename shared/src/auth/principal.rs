use crate::domain::{ApiKeyId, OrgId, Role, SessionId, UserId};
use crate::store::{Caller, TenantScope};

use super::AuthError;

/// The verified caller. Its fields are private and it has no public constructor: the only
/// ways to get one are [`super::TokenVerifier::verify`], [`super::verify_api_key`] and
/// [`super::log_in`].
#[derive(Debug, Clone)]
pub struct Principal {
    user_id: UserId,
    org_id: OrgId,
    role: Role,
    session_id: Option<SessionId>,
    api_key: Option<ApiKeyId>,
    /// The credential version the caller proved themselves under (a login's password, a
    /// session's, a token's); 0 for a new account. A session started for them records it,
    /// and their writes check it. `None` for an API key (a key outlives password changes)
    /// and for a token issued before versions existed.
    credential_version: Option<u64>,
}

impl Principal {
    pub(super) fn new(user_id: UserId, org_id: OrgId, role: Role) -> Self {
        Self { user_id, org_id, role, session_id: None, api_key: None, credential_version: Some(0) }
    }

    /// A service calling with the API key `key`, acting for its creator `user_id` with
    /// `role` (the key's, capped by the creator's role now).
    pub(super) fn for_api_key(key: ApiKeyId, user_id: UserId, org_id: OrgId, role: Role) -> Self {
        Self { api_key: Some(key), credential_version: None, ..Self::new(user_id, org_id, role) }
    }

    pub(super) fn in_session(self, session_id: Option<SessionId>) -> Self {
        Self { session_id, ..self }
    }

    pub(super) fn under_credential_version(self, credential_version: u64) -> Self {
        Self { credential_version: Some(credential_version), ..self }
    }

    pub(super) fn without_credential_version(self) -> Self {
        Self { credential_version: None, ..self }
    }

    /// The credential version the caller proved themselves under, when it is known.
    pub fn credential_version(&self) -> Option<u64> {
        self.credential_version
    }

    /// The refresh session the caller's token belongs to, if any.
    pub fn session_id(&self) -> Option<SessionId> {
        self.session_id
    }

    /// The user calling; for an API key, the admin who made it (whose stored user item every
    /// write re-checks, as for their own token).
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    /// The API key the request came with, if it did.
    pub fn api_key_id(&self) -> Option<ApiKeyId> {
        self.api_key
    }

    /// Who a record kept per caller (an idempotency record) belongs to: the user, or the key,
    /// so a key's records are never its creator's.
    pub fn subject(&self) -> String {
        self.api_key.map_or_else(|| self.user_id.to_string(), |key| key.to_string())
    }

    /// For the routes of a person's own account and sessions (password, logout, email
    /// verification, who am I), the organization's deletion and the API keys' own making and
    /// revoking: an API key is refused there.
    pub fn require_user(&self) -> Result<(), AuthError> {
        match self.api_key {
            None => Ok(()),
            Some(_) => Err(AuthError::Forbidden("an API key cannot call this route; sign in as a user")),
        }
    }

    pub fn org_id(&self) -> OrgId {
        self.org_id
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// The tenant this caller may touch, and no other.
    pub fn scope(&self) -> TenantScope {
        TenantScope::verified(self.org_id)
    }

    /// Whether the caller may give someone `role`: an API key may invite members and make
    /// admins members, but never make an admin, so that a leaked key cannot leave its holder
    /// an admin account that outlives the key's revocation.
    pub fn may_grant(&self, role: Role) -> Result<(), AuthError> {
        match (self.api_key, role) {
            (Some(_), Role::Admin) => Err(AuthError::Forbidden("an API key cannot make an admin; sign in as a user")),
            _ => Ok(()),
        }
    }

    /// For reads an admin's token may make: its role claim is trusted for the token's
    /// lifetime (writes re-check it, see [`Self::as_admin`]).
    pub fn require_admin(&self) -> Result<(), AuthError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Member => Err(AuthError::Forbidden("this action needs the admin role")),
        }
    }

    /// The caller of an admin-only write: refused at once when the token is a member's, and
    /// re-checked by the write's transaction against the stored user (still there, still an
    /// admin), so a demoted or removed admin's token cannot use the powers it names.
    pub fn as_admin(&self) -> Result<Caller, AuthError> {
        self.require_admin()?;
        Ok(Caller { needs_admin: true, ..self.as_member() })
    }

    /// The caller of a write any member may make: the transaction checks that they are
    /// still a member of the organization.
    pub fn as_member(&self) -> Caller {
        Caller {
            user_id: self.user_id,
            needs_admin: false,
            needs_verified: false,
            credential_version: self.credential_version,
        }
    }

    /// The caller of a write whose reach depends on the role (deleting a task: an admin any,
    /// a member their own): as the token's role says, re-checked like the two above.
    pub fn as_role_holder(&self) -> Caller {
        Caller { needs_admin: self.role == Role::Admin, ..self.as_member() }
    }
}
