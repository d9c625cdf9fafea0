use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::keys::{GUARD_SK, PK, SK, email_pk};
use super::{Store, StoreError};
use crate::domain::{Email, OrgId, PasswordHash, TokenHash, UserId};

/// What login needs before it knows the tenant. Stored on the email's guard item, which is
/// what makes an email unique across the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub user_id: UserId,
    pub organization_id: OrgId,
    pub password_hash: PasswordHash,
    /// The hash of the newest password reset token, while one is pending
    /// ([`super::AccountTokenStore::request_reset`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_hash: Option<TokenHash>,
    /// When that token stops working, epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_expires_at: Option<i64>,
}

impl Credentials {
    pub fn new(user_id: UserId, organization_id: OrgId, password_hash: PasswordHash) -> Self {
        Self { user_id, organization_id, password_hash, reset_hash: None, reset_expires_at: None }
    }

    /// Whether `token` is the account's newest reset token and still works.
    pub fn has_reset(&self, token: &TokenHash, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.reset_hash.as_ref() == Some(token) && self.reset_expires_at.is_some_and(|at| at > now.timestamp())
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct CredentialsItem {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub credentials: Credentials,
    /// The organization's deletion finds the item by it (see [`keys::OWNER`](super::keys::OWNER)).
    /// Written on every new item; items stored before it have none (see `keys::OWNER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_org: Option<OrgId>,
}

impl CredentialsItem {
    pub fn new(email: &Email, credentials: Credentials) -> Self {
        Self { pk: email_pk(email), sk: GUARD_SK.into(), owner_org: Some(credentials.organization_id), credentials }
    }
}

pub struct CredentialStore<'a> {
    pub(super) store: &'a Store,
}

impl CredentialStore<'_> {
    pub async fn find(&self, email: &Email) -> Result<Option<Credentials>, StoreError> {
        let item: Option<CredentialsItem> = self.store.get_item(email_pk(email), GUARD_SK.into()).await?;
        Ok(item.map(|i| i.credentials))
    }
}

impl CredentialStore<'_> {
    /// Replaces the password hash of `user`'s credentials.
    pub async fn set_password(&self, email: &Email, user: UserId, hash: &PasswordHash) -> Result<(), StoreError> {
        self.store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(email_pk(email)))
            .key(SK, AttributeValue::S(GUARD_SK.into()))
            .update_expression("SET password_hash = :hash")
            .condition_expression("user_id = :user")
            .expression_attribute_values(":hash", serde_dynamo::to_attribute_value(hash)?)
            .expression_attribute_values(":user", AttributeValue::S(user.to_string()))
            .send()
            .await
            .map_err(StoreError::dynamo)?;
        Ok(())
    }
}
