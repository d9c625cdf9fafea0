use crate::domain::{OrgId, Role, SessionId, UserId};
use crate::events::Event;

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
        TenantScope { org_id: self.org_id }
    }

    pub fn require_admin(&self) -> Result<(), AuthError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Member => Err(AuthError::Forbidden("this action needs the admin role")),
        }
    }
}

/// Proof that the holder may read and write one organization's items. Every tenant-owned
/// key and query in [`crate::store`] takes one, and it can only be obtained from a verified
/// [`Principal`] or for a brand-new organization, so no request path can name another
/// tenant's partition.
///
/// Code outside `auth` cannot make one up. These two do not compile (the error codes are
/// checked: a private field, a private function):
///
/// ```compile_fail,E0451
/// use shared::{auth::TenantScope, domain::OrgId};
/// let forged = TenantScope { org_id: OrgId::generate() };
/// ```
///
/// ```compile_fail,E0624
/// use shared::{auth::TenantScope, domain::OrgId};
/// let forged = TenantScope::new(OrgId::generate());
/// ```
///
/// while the same imports do compile, so the two above fail for the reason they name:
///
/// ```
/// use shared::{auth::TenantScope, domain::OrgId};
/// let fresh = TenantScope::for_new_organization();
/// assert_ne!(fresh.org_id(), OrgId::generate());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    org_id: OrgId,
}

impl TenantScope {
    pub(super) fn new(org_id: OrgId) -> Self {
        Self { org_id }
    }

    /// The scope of an organization that does not exist yet: its id is fresh, so it cannot
    /// name anybody else's data.
    pub fn for_new_organization() -> Self {
        Self { org_id: OrgId::generate() }
    }

    pub fn org_id(&self) -> OrgId {
        self.org_id
    }

    /// The scope of an event from TaskFlow's own outbox or queue. Only TaskFlow's functions
    /// write those (IAM lets nothing else send to the queue), and each event was recorded
    /// while serving a verified principal of that organization: the event carries that
    /// principal's scope forward to the mailer and the re-publisher.
    pub fn of_event(event: &Event) -> Self {
        Self { org_id: event.organization_id }
    }
}
