//! The mailed tokens of an account: password resets and email verifications. Each is a
//! global lookup item keyed by the token's hash (what redeeming finds before any tenant is
//! known), removed in the transaction that redeems it, and deleted by TTL once expired.
//!
//! A password reset is also written onto the email's credentials (`reset_hash`), where the
//! newest request replaces the one before: redeeming is conditional on it, so a newer
//! request invalidates every older token, and the mailer does not send a superseded one.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::credentials::{BUMP_VERSION, bump_values};
use super::error::cancelled_at;
use super::keys::{GUARD_SK, PK, SK, email_pk, password_reset_pk, tenant_pk, user_sk, verification_pk};
use super::outbox::OutboxItem;
use super::{Store, StoreError, TenantScope};
use crate::domain::events::Event;
use crate::domain::{Email, OrgId, PasswordHash, TokenHash, User, UserId};

/// How long a reset token works.
pub const RESET_LIFETIME: chrono::Duration = chrono::Duration::minutes(30);
/// How long a verification token works.
pub const VERIFICATION_LIFETIME: chrono::Duration = chrono::Duration::hours(24);

#[derive(Serialize, Deserialize)]
struct ResetItem {
    pk: String,
    sk: String,
    email: Email,
    /// TTL, epoch seconds; also when the token stops working.
    expires_at: i64,
    /// Written on every new item; items stored before it have none (see `keys::OWNER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner_org: Option<OrgId>,
}

/// What redeeming a verification token finds before it knows the tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingVerification {
    pub organization_id: OrgId,
    pub user_id: UserId,
    pub expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct VerificationItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    pending: PendingVerification,
    /// Written on every new item; items stored before it have none (see `keys::OWNER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner_org: Option<OrgId>,
}

pub struct AccountTokenStore<'a> {
    pub(super) store: &'a Store,
}

impl AccountTokenStore<'_> {
    fn delete_lookup(&self, pk: String) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(GUARD_SK.into()))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(|e| StoreError::Dynamo(e.to_string()))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// The transaction items that record a verification token for `user` and the event that
    /// mails it: part of the registration's own transaction, or of a resend.
    pub(super) fn verification_items(
        &self,
        scope: &TenantScope,
        user: &User,
        token: &TokenHash,
        event: &Event,
        now: DateTime<Utc>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let lookup = VerificationItem {
            pk: verification_pk(token),
            sk: GUARD_SK.into(),
            pending: PendingVerification {
                organization_id: user.organization_id,
                user_id: user.id,
                expires_at: (now + VERIFICATION_LIFETIME).timestamp(),
            },
            owner_org: Some(user.organization_id),
        };
        Ok(vec![
            TransactWriteItem::builder().put(self.store.put_new(serde_dynamo::to_item(lookup)?)?).build(),
            TransactWriteItem::builder()
                .put(self.store.put_new(serde_dynamo::to_item(OutboxItem::new(scope, event))?)?)
                .build(),
        ])
    }

    /// A new verification token for a user who is still unverified (else `AlreadyVerified`).
    pub async fn request_verification(
        &self,
        scope: &TenantScope,
        user: &User,
        token: &TokenHash,
        event: &Event,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let unverified = aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(user_sk(user.id)))
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(email_verified) OR email_verified = :no)",
            )
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .build()
            .map_err(|e| StoreError::Dynamo(e.to_string()))?;
        let mut items = vec![TransactWriteItem::builder().condition_check(unverified).build()];
        items.extend(self.verification_items(scope, user, token, event, now)?);
        match self.store.transact(items).await {
            Ok(_) => Ok(()),
            Err(e) if cancelled_at(&e, 0) => Err(StoreError::AlreadyVerified),
            Err(e) => Err(StoreError::dynamo(e)),
        }
    }

    pub async fn find_verification(&self, token: &TokenHash) -> Result<Option<PendingVerification>, StoreError> {
        let item: Option<VerificationItem> = self.store.get_item(verification_pk(token), GUARD_SK.into()).await?;
        Ok(item.map(|i| i.pending))
    }

    /// The update that marks `user`'s address proven at `now`, bumping their credential
    /// version too with `bump`. `verified_at` is written only on the change from unverified
    /// (`was_verified` is what the caller read; the condition holds it to that), so that a
    /// user proven before it was recorded keeps none, and keeps their API keys.
    fn proven(
        &self,
        scope: &TenantScope,
        user: UserId,
        now: DateTime<Utc>,
        was_verified: bool,
        bump: bool,
    ) -> Result<Update, StoreError> {
        let bump_part = if bump { format!(", {BUMP_VERSION}") } else { String::new() };
        let mut update = Update::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(user_sk(user)))
            .expression_attribute_values(":yes", AttributeValue::Bool(true));
        update = if was_verified {
            update
                .update_expression(format!("SET email_verified = :yes{bump_part}"))
                .condition_expression("attribute_exists(pk) AND email_verified = :yes")
        } else {
            update
                .update_expression(format!("SET email_verified = :yes, verified_at = :now{bump_part}"))
                .condition_expression(
                    "attribute_exists(pk) AND (attribute_not_exists(email_verified) OR email_verified = :no)",
                )
                .expression_attribute_values(":no", AttributeValue::Bool(false))
                .expression_attribute_values(":now", serde_dynamo::to_attribute_value(now)?)
        };
        if bump {
            update = bump_values(update);
        }
        update.build().map_err(|e| StoreError::Dynamo(e.to_string()))
    }

    /// Marks the user verified and consumes the token, once: a second use finds nothing.
    /// The address is proven from `now` on (`verified_at`), unless it was already.
    pub async fn verify(
        &self,
        scope: &TenantScope,
        user: UserId,
        token: &TokenHash,
        now: DateTime<Utc>,
        was_verified: bool,
    ) -> Result<(), StoreError> {
        let verified = self.proven(scope, user, now, was_verified, false)?;
        // An organization being deleted (a released registration's, say) verifies nothing.
        let live = self.store.organization_live(scope)?;
        let items = vec![
            self.delete_lookup(verification_pk(token))?,
            TransactWriteItem::builder().update(verified).build(),
            live,
        ];
        match self.store.transact(items).await {
            Ok(_) => Ok(()),
            Err(e) if (0..3).any(|i| cancelled_at(&e, i)) => Err(StoreError::InvalidAccountToken),
            Err(e) => Err(StoreError::dynamo(e)),
        }
    }

    /// Records a password reset of `email`'s account (`user`, in `scope`), superseding any
    /// earlier one, with the event that mails its token. For an email without an account the
    /// caller passes a user and scope of nobody: the same transaction then fails its
    /// condition on the credentials and DynamoDB writes nothing, so the two cases do the same
    /// work and cannot be told apart by what was done or how long it took.
    pub async fn request_reset(
        &self,
        scope: &TenantScope,
        email: &Email,
        user: UserId,
        token: &TokenHash,
        event: &Event,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let expires_at = (now + RESET_LIFETIME).timestamp();
        let credentials = Update::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(email_pk(email)))
            .key(SK, AttributeValue::S(GUARD_SK.into()))
            .update_expression("SET reset_hash = :hash, reset_expires_at = :expires")
            .condition_expression("user_id = :user")
            .expression_attribute_values(":hash", AttributeValue::S(token.as_str().to_owned()))
            .expression_attribute_values(":expires", AttributeValue::N(expires_at.to_string()))
            .expression_attribute_values(":user", AttributeValue::S(user.to_string()))
            .build()
            .map_err(|e| StoreError::Dynamo(e.to_string()))?;
        let lookup = ResetItem {
            pk: password_reset_pk(token),
            sk: GUARD_SK.into(),
            email: email.clone(),
            expires_at,
            owner_org: Some(scope.org_id()),
        };
        let items = vec![
            TransactWriteItem::builder().update(credentials).build(),
            TransactWriteItem::builder().put(self.store.put_new(serde_dynamo::to_item(lookup)?)?).build(),
            TransactWriteItem::builder()
                .put(self.store.put_new(serde_dynamo::to_item(OutboxItem::new(scope, event))?)?)
                .build(),
        ];
        match self.store.transact(items).await {
            Ok(_) => Ok(()),
            // No such account (or it was removed meanwhile): nothing to mail.
            Err(e) if cancelled_at(&e, 0) => Ok(()),
            Err(e) => Err(StoreError::dynamo(e)),
        }
    }

    /// The email a reset token was issued for, while the token has not expired.
    pub async fn find_reset(&self, token: &TokenHash, now: DateTime<Utc>) -> Result<Option<Email>, StoreError> {
        let item: Option<ResetItem> = self.store.get_item(password_reset_pk(token), GUARD_SK.into()).await?;
        Ok(item.filter(|i| i.expires_at > now.timestamp()).map(|i| i.email))
    }

    /// Sets the new password and consumes the token, once, if it is still the account's
    /// newest reset: the token, the credentials' pending reset and the user's unverified
    /// state go in one transaction (a reset by mail proves the mailbox too).
    /// `user` as the reset read them: whether their address was proven decides the update
    /// (and the transaction holds it to that).
    pub async fn complete_reset(
        &self,
        scope: &TenantScope,
        user: &User,
        token: &TokenHash,
        password_hash: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (email, was_verified) = (&user.email, user.email_verified);
        let update = bump_values(Update::builder())
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(email_pk(email)))
            .key(SK, AttributeValue::S(GUARD_SK.into()))
            .update_expression(format!(
                "SET password_hash = :password, {BUMP_VERSION} REMOVE reset_hash, reset_expires_at"
            ))
            .condition_expression("user_id = :user AND reset_hash = :hash AND reset_expires_at > :now")
            .expression_attribute_values(":password", serde_dynamo::to_attribute_value(password_hash)?)
            .expression_attribute_values(":user", AttributeValue::S(user.id.to_string()))
            .expression_attribute_values(":hash", AttributeValue::S(token.as_str().to_owned()))
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .build()
            .map_err(|e| StoreError::Dynamo(e.to_string()))?;
        let verified = self.proven(scope, user.id, now, was_verified, true)?;
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            self.delete_lookup(password_reset_pk(token))?,
            TransactWriteItem::builder().update(verified).build(),
        ];
        match self.store.transact(items).await {
            Ok(_) => Ok(()),
            // The address was verified meanwhile: the token is still good for a retry.
            Err(e) if cancelled_at(&e, 2) => Err(StoreError::VersionConflict),
            Err(e) if (0..2).any(|i| cancelled_at(&e, i)) => Err(StoreError::InvalidAccountToken),
            Err(e) => Err(StoreError::dynamo(e)),
        }
    }
}
