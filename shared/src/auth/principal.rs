use crate::domain::{OrgId, Role, SessionId, UserId};
use crate::store::{Caller, TenantScope};

use super::AuthError;

/// The verified caller. Its fields are private and it has no public constructor: the only
/// ways to get one are [`super::TokenVerifier::verify`] and [`super::log_in`].
#[derive(Debug, Clone)]
pub struct Principal {
    user_id: UserId,
    org_id: OrgId,
    role: Role,
    session_id: Option<SessionId>,
}

impl Principal {
    pub(super) fn new(user_id: UserId, org_id: OrgId, role: Role) -> Self {
        Self { user_id, org_id, role, session_id: None }
    }

    pub(super) fn in_session(self, session_id: Option<SessionId>) -> Self {
        Self { session_id, ..self }
    }

    /// The refresh session the caller's token belongs to, if any.
    pub fn session_id(&self) -> Option<SessionId> {
        self.session_id
    }

    pub fn user_id(&self) -> UserId {
        self.user_id
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
        Ok(Caller { user_id: self.user_id, needs_admin: true })
    }

    /// The caller of a write any member may make: the transaction checks that they are
    /// still a member of the organization.
    pub fn as_member(&self) -> Caller {
        Caller { user_id: self.user_id, needs_admin: false }
    }

    /// The caller of a write whose reach depends on the role (deleting a task: an admin any,
    /// a member their own): as the token's role says, re-checked like the two above.
    pub fn as_role_holder(&self) -> Caller {
        Caller { user_id: self.user_id, needs_admin: self.role == Role::Admin }
    }
}
