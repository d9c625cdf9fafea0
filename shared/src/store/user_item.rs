//! A user as the table stores it, in its organization's partition: written by registration
//! and invitations, read and changed by the user store, read by the caller re-check.

use serde::{Deserialize, Serialize};

use super::TenantScope;
use super::table::keys::{tenant_pk, user_sk};
use crate::domain::User;

#[derive(Serialize, Deserialize)]
pub(super) struct UserItem {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub user: User,
    /// The user's credential version (see [`super::credentials::Credentials`]): a session
    /// is written only while it is the one its login read, and refreshed only while it is
    /// the session's. Items stored before it read 0.
    #[serde(default)]
    pub credential_version: u64,
    /// When the address was proven (verification, invitation, reset); absent for addresses
    /// proven before it was recorded, and while unproven. An API key made before it does not
    /// authenticate: what an address's previous holder made does not act for the new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl UserItem {
    pub fn new(scope: &TenantScope, user: User) -> Self {
        let verified_at = user.email_verified.then_some(user.created_at);
        Self { pk: tenant_pk(scope), sk: user_sk(user.id), user, credential_version: 0, verified_at }
    }
}
