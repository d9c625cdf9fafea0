use aws_sdk_dynamodb::types::{AttributeValue, Update};
use serde::{Deserialize, Serialize};

use super::table::keys::{GUARD_SK, PK, SK, email_pk, tenant_pk, user_sk};
use super::table::transaction::Transaction;
use super::{Store, StoreError, TenantScope};
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
    /// Which password this is, and which "log out everywhere": bumped by every password
    /// change, reset and logout of every session, in the same transaction as on the user's
    /// item (where a session's write and a refresh check it). Items stored before it read 0.
    #[serde(default)]
    pub credential_version: u64,
}

impl Credentials {
    pub fn new(user_id: UserId, organization_id: OrgId, password_hash: PasswordHash) -> Self {
        Self {
            user_id,
            organization_id,
            password_hash,
            reset_hash: None,
            reset_expires_at: None,
            credential_version: 0,
        }
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
    /// The organization's deletion finds the item by it (see [`keys::OWNER`](super::table::keys::OWNER)).
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

/// The condition that the item's `credential_version` is still `version` (absent reads 0).
pub(super) fn version_is(version: u64) -> &'static str {
    if version == 0 {
        "attribute_exists(pk) AND (attribute_not_exists(credential_version) OR credential_version = :version)"
    } else {
        "attribute_exists(pk) AND credential_version = :version"
    }
}

/// The update that bumps a `credential_version` (absent reads 0).
pub(super) const BUMP_VERSION: &str =
    "credential_version = if_not_exists(credential_version, :version_zero) + :version_step";

/// Adds [`BUMP_VERSION`]'s values to an update.
pub(super) fn bump_values(
    update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    update
        .expression_attribute_values(":version_zero", AttributeValue::N("0".into()))
        .expression_attribute_values(":version_step", AttributeValue::N("1".into()))
}

impl CredentialStore<'_> {
    /// Starts a new credential version for `user`: with `new_password`, a password change;
    /// without, a logout of every session. The email's credentials (where a login reads the
    /// version with the password) and the user's item (where a session's write and every
    /// refresh check it) are bumped in one transaction, and a pending password reset is
    /// voided with them. Every session of the older version ends at once, however many there
    /// are: nothing loops over them.
    ///
    /// `expected`, when given, is the version the change was authorised under (the one read
    /// with the current password, or the caller's token's): the change is made only while it
    /// is still the user's, so a change that raced a reset (or a token from before one)
    /// cannot undo it (`CallerGone` then, as for a removed user).
    pub async fn new_version(
        &self,
        scope: &TenantScope,
        email: &Email,
        user: UserId,
        new_password: Option<&PasswordHash>,
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        let set = match new_password {
            Some(_) => format!("SET password_hash = :hash, {BUMP_VERSION} REMOVE reset_hash, reset_expires_at"),
            None => format!("SET {BUMP_VERSION} REMOVE reset_hash, reset_expires_at"),
        };
        let mut credentials = Update::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(email_pk(email)))
            .key(SK, AttributeValue::S(GUARD_SK.into()))
            .update_expression(set)
            .expression_attribute_values(":user", AttributeValue::S(user.to_string()));
        credentials = match expected {
            Some(version) => credentials
                .condition_expression(format!("user_id = :user AND {}", version_is(version)))
                .expression_attribute_values(":version", AttributeValue::N(version.to_string())),
            None => credentials.condition_expression("user_id = :user"),
        };
        if let Some(hash) = new_password {
            credentials = credentials.expression_attribute_values(":hash", serde_dynamo::to_attribute_value(hash)?);
        }
        let credentials = bump_values(credentials).build()?;
        let user_item = bump_values(
            Update::builder()
                .table_name(&self.store.table)
                .key(PK, AttributeValue::S(tenant_pk(scope)))
                .key(SK, AttributeValue::S(user_sk(user)))
                .update_expression(format!("SET {BUMP_VERSION}"))
                .condition_expression("attribute_exists(pk)"),
        )
        .build()?;
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Credentials,
            User,
        }
        let transaction = Transaction::new().with(Item::Credentials, credentials).with(Item::User, user_item);
        match self.store.transact(transaction).await {
            Ok(()) => Ok(()),
            // The user was removed meanwhile: their sessions ended with them.
            Err(e) if e.cancelled(Item::Credentials) || e.cancelled(Item::User) => Err(StoreError::CallerGone),
            Err(e) => Err(e.into()),
        }
    }
}
