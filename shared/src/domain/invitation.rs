use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Email, InvitationId, OrgId, Role, UserId};

/// The body of `POST /api/v1/invitations`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "new.member@acme.com", "role": "member"}))]
pub struct InvitationDraft {
    pub email: Email,
    pub role: Role,
}

/// The body of `PATCH /api/v1/users/{id}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    pub role: Role,
}

/// An invitation as admins see it. Its token is not here: it exists in clear only in the
/// invitee's mail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Invitation {
    pub id: InvitationId,
    pub organization_id: OrgId,
    pub email: Email,
    pub role: Role,
    pub invited_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Invitation {
    pub const LIFETIME: Duration = Duration::days(7);

    pub fn new(draft: InvitationDraft, organization_id: OrgId, invited_by: UserId, now: DateTime<Utc>) -> Self {
        Self {
            id: InvitationId::generate(),
            organization_id,
            email: draft.email,
            role: draft.role,
            invited_by,
            created_at: now,
            expires_at: now + Self::LIFETIME,
        }
    }

    /// DynamoDB's TTL deletes expired items lazily (within days), so expiry is checked here.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}
