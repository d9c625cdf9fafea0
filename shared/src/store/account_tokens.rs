//! The mailed tokens of an account: password resets and email verifications. Each is a
//! global lookup item keyed by the token's hash (what redeeming finds before any tenant is
//! known), removed in the transaction that redeems it, and deleted by TTL once expired.
//!
//! A password reset is also written onto the email's credentials (`reset_hash`), where the
//! newest request replaces the one before: redeeming is conditional on it, so a newer
//! request invalidates every older token, and the mailer does not send a superseded one.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::credentials::{BUMP_VERSION, bump_values};
use super::outbox::OutboxItem;
use super::table::keys::{GUARD_SK, PK, SK, email_pk, password_reset_pk, tenant_pk, user_sk, verification_pk};
use super::table::transaction::Transaction;
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

/// The items that record a verification token (see [`AccountTokenStore::verification_items`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum NewVerificationItem {
    Lookup,
    Event,
}

pub struct AccountTokenStore<'a> {
    pub(super) store: &'a Store,
}

impl AccountTokenStore<'_> {
    fn delete_lookup(&self, pk: String) -> Result<Delete, StoreError> {
        Delete::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(GUARD_SK.into()))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(StoreError::from)
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
    ) -> Result<Transaction<NewVerificationItem>, StoreError> {
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
        Ok(Transaction::new()
            .with(NewVerificationItem::Lookup, self.store.put_new(serde_dynamo::to_item(lookup)?)?)
            .with(
                NewVerificationItem::Event,
                self.store.put_new(serde_dynamo::to_item(OutboxItem::new(scope, event))?)?,
            ))
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
            .build()?;
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Unverified,
            Verification(NewVerificationItem),
        }
        let mut transaction = Transaction::new().with(Item::Unverified, unverified);
        transaction.append(self.verification_items(scope, user, token, event, now)?, Item::Verification);
        match self.store.transact(transaction).await {
            Ok(()) => Ok(()),
            Err(e) if e.cancelled(Item::Unverified) => Err(StoreError::AlreadyVerified),
            Err(e) => Err(e.into()),
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
        update.build().map_err(StoreError::from)
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
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Token,
            User,
            Organization,
        }
        let transaction = Transaction::new()
            .with(Item::Token, self.delete_lookup(verification_pk(token))?)
            .with(Item::User, verified)
            .with(Item::Organization, live);
        match self.store.transact(transaction).await {
            Ok(()) => Ok(()),
            Err(e) if e.cancelled(Item::Token) || e.cancelled(Item::User) || e.cancelled(Item::Organization) => {
                Err(StoreError::InvalidAccountToken)
            }
            Err(e) => Err(e.into()),
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
            .build()?;
        let lookup = ResetItem {
            pk: password_reset_pk(token),
            sk: GUARD_SK.into(),
            email: email.clone(),
            expires_at,
            owner_org: Some(scope.org_id()),
        };
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Credentials,
            Token,
            Event,
        }
        let transaction = Transaction::new()
            .with(Item::Credentials, credentials)
            .with(Item::Token, self.store.put_new(serde_dynamo::to_item(lookup)?)?)
            .with(Item::Event, self.store.put_new(serde_dynamo::to_item(OutboxItem::new(scope, event))?)?);
        match self.store.transact(transaction).await {
            Ok(()) => Ok(()),
            // No such account (or it was removed meanwhile): nothing to mail.
            Err(e) if e.cancelled(Item::Credentials) => Ok(()),
            Err(e) => Err(e.into()),
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
            .build()?;
        let verified = self.proven(scope, user.id, now, was_verified, true)?;
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Credentials,
            Token,
            User,
        }
        let transaction = Transaction::new()
            .with(Item::Credentials, update)
            .with(Item::Token, self.delete_lookup(password_reset_pk(token))?)
            .with(Item::User, verified);
        match self.store.transact(transaction).await {
            Ok(()) => Ok(()),
            // The address was verified meanwhile: the token is still good for a retry.
            Err(e) if e.cancelled(Item::User) => Err(StoreError::VersionConflict),
            Err(e) if e.cancelled(Item::Credentials) || e.cancelled(Item::Token) => {
                Err(StoreError::InvalidAccountToken)
            }
            Err(e) => Err(e.into()),
        }
    }
}
