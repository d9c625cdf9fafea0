use crate::domain::OrgId;

/// Proof that the holder may read and write one organization's items. Every tenant-owned
/// key and query in this module takes one, and it can only be obtained from a verified
/// [`Principal`](crate::auth::Principal) or for a brand-new organization, so no request path can name another
/// tenant's partition.
///
/// Only [`crate::auth`] makes one from an organization id ([`TenantScope::verified`], after
/// it verified a token, a password, a refresh token, an invitation or the queue an event
/// came from); the crate's layering test (`shared/tests/layering.rs`) fails if any other
/// module calls it. Outside this crate nobody can make one up. These do not compile (the
/// error codes are checked: a private field, a crate-private function):
///
/// ```compile_fail,E0451
/// use taskflow::{domain::OrgId, store::TenantScope};
/// let forged = TenantScope { org_id: OrgId::generate() };
/// ```
///
/// ```compile_fail,E0624
/// use taskflow::{domain::OrgId, store::TenantScope};
/// let forged = TenantScope::verified(OrgId::generate());
/// ```
///
/// nor can a scope be had from an event one built oneself (scopes of queued events come
/// only from [`crate::auth::queued_event`] and [`crate::auth::outbox_backlog`], over
/// TaskFlow's own queue and table):
///
/// ```compile_fail,E0599
/// use taskflow::{domain::OrgId, store::TenantScope};
/// let forged = TenantScope::of_event(&todo!());
/// ```
///
/// while the same imports do compile, so the ones above fail for the reason they name:
///
/// ```
/// use taskflow::{domain::OrgId, store::TenantScope};
/// let fresh = TenantScope::for_new_organization();
/// assert_ne!(fresh.org_id(), OrgId::generate());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    org_id: OrgId,
}

impl TenantScope {
    /// The scope of an organization whose caller `auth` has verified. Nothing else calls this.
    pub(crate) fn verified(org_id: OrgId) -> Self {
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
}
