//! A user as the table stores it, in its organization's partition: written by registration
//! and invitations, read and changed by the user store, read by the caller re-check.

use serde::{Deserialize, Serialize};

use super::TenantScope;
use super::keys::{tenant_pk, user_sk};
use crate::domain::User;

#[derive(Serialize, Deserialize)]
pub(super) struct UserItem {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub user: User,
}

impl UserItem {
    pub fn new(scope: &TenantScope, user: User) -> Self {
        Self { pk: tenant_pk(scope), sk: user_sk(user.id), user }
    }
}
