//! Invitations: an item in the organization's partition (what admins list and revoke) and
//! a global lookup by the token's hash (what accepting finds), written and removed together.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::cancelled_at;
use super::keys::{GUARD_SK, INVITATION_SK_PREFIX, PK, SK, invitation_sk, invitation_token_pk, tenant_pk};
use super::outbox::OutboxItem;
use super::{Store, StoreError, Unique};
use crate::auth::{PasswordHash, TenantScope, TokenHash};
use crate::domain::{Invitation, InvitationId, OrgId, User, UserId};
use crate::events::Event;

#[derive(Serialize, Deserialize)]
struct InvitationItem {
    pk: String,
    sk: String,
    token_hash: TokenHash,
    invitation: Invitation,
    /// TTL, epoch seconds.
    expires_at: i64,
}

/// What accepting needs before it knows the tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvitationToken {
    pub organization_id: OrgId,
    pub invitation_id: InvitationId,
    pub expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct InvitationTokenItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    token: InvitationToken,
}

pub struct InvitationStore<'a> {
    pub(super) store: &'a Store,
}

impl InvitationStore<'_> {
    fn delete(&self, pk: String, sk: String) -> Result<Delete, StoreError> {
        Delete::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(|e| StoreError::Dynamo(e.to_string()))
    }

    /// Records the invitation, its token's hash and the notification that mails the token,
    /// in one transaction.
    pub async fn create(
        &self,
        scope: &TenantScope,
        invitation: &Invitation,
        token: &TokenHash,
        event: &Event,
    ) -> Result<(), StoreError> {
        let expires_at = invitation.expires_at.timestamp();
        let item = InvitationItem {
            pk: tenant_pk(scope),
            sk: invitation_sk(invitation.id),
            token_hash: token.clone(),
            invitation: invitation.clone(),
            expires_at,
        };
        let lookup = InvitationTokenItem {
            pk: invitation_token_pk(token),
            sk: GUARD_SK.into(),
            token: InvitationToken { organization_id: scope.org_id(), invitation_id: invitation.id, expires_at },
        };
        let items = [
            serde_dynamo::to_item(item)?,
            serde_dynamo::to_item(lookup)?,
            serde_dynamo::to_item(OutboxItem::new(scope, event))?,
        ];
        let mut request = self.store.client.transact_write_items();
        for item in items {
            request = request.transact_items(TransactWriteItem::builder().put(self.store.put_new(item)?).build());
        }
        request.send().await.map_err(StoreError::dynamo)?;
        Ok(())
    }

    async fn item(&self, scope: &TenantScope, id: InvitationId) -> Result<Option<InvitationItem>, StoreError> {
        self.store.get_item(tenant_pk(scope), invitation_sk(id)).await
    }

    pub async fn get(&self, scope: &TenantScope, id: InvitationId) -> Result<Option<Invitation>, StoreError> {
        Ok(self.item(scope, id).await?.map(|i| i.invitation))
    }

    /// The organization's pending invitations, newest first (at most 100: an invitation
    /// lives a week).
    pub async fn list(&self, scope: &TenantScope, now: DateTime<Utc>) -> Result<Vec<Invitation>, StoreError> {
        let out = self
            .store
            .query_partition(scope, INVITATION_SK_PREFIX.into())
            .scan_index_forward(false)
            .limit(100)
            .send()
            .await
            .map_err(StoreError::dynamo)?;
        let items: Vec<InvitationItem> = serde_dynamo::from_items(out.items.unwrap_or_default())?;
        Ok(items.into_iter().map(|i| i.invitation).filter(|i| !i.is_expired(now)).collect())
    }

    pub async fn revoke(&self, scope: &TenantScope, id: InvitationId) -> Result<(), StoreError> {
        let item = self.item(scope, id).await?.ok_or(StoreError::NotFound)?;
        let result = self
            .store
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder().delete(self.delete(tenant_pk(scope), invitation_sk(id))?).build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .delete(self.delete(invitation_token_pk(&item.token_hash), GUARD_SK.into())?)
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if cancelled_at(&e, 0) || cancelled_at(&e, 1) => Err(StoreError::NotFound),
            Err(e) => Err(StoreError::dynamo(e)),
        }
    }

    pub async fn find_token(&self, token: &TokenHash) -> Result<Option<InvitationToken>, StoreError> {
        let item: Option<InvitationTokenItem> =
            self.store.get_item(invitation_token_pk(token), GUARD_SK.into()).await?;
        Ok(item.map(|i| i.token))
    }

    /// Turns the invitation into a user, once: the invitation and its token are deleted in
    /// the same transaction that creates the user, so a second use finds nothing.
    pub async fn accept(
        &self,
        scope: &TenantScope,
        id: InvitationId,
        token: &TokenHash,
        password_hash: PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError> {
        let item = self.item(scope, id).await?.ok_or(StoreError::InvalidInvitation)?;
        if item.invitation.is_expired(now) || &item.token_hash != token {
            return Err(StoreError::InvalidInvitation);
        }
        let invitation = item.invitation;
        let user = User {
            id: UserId::generate(),
            email: invitation.email,
            role: invitation.role,
            organization_id: scope.org_id(),
            created_at: now,
        };
        // Credentials first: a taken email cancels at index 0.
        let mut items = self.store.users().creation_items(scope, &user, password_hash)?;
        let consumed = items.len();
        items.push(TransactWriteItem::builder().delete(self.delete(tenant_pk(scope), invitation_sk(id))?).build());
        items.push(
            TransactWriteItem::builder().delete(self.delete(invitation_token_pk(token), GUARD_SK.into())?).build(),
        );
        match self.store.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(user),
            Err(e) if cancelled_at(&e, 0) => Err(StoreError::Taken(Unique::Email)),
            Err(e) if cancelled_at(&e, consumed) || cancelled_at(&e, consumed + 1) => {
                Err(StoreError::InvalidInvitation)
            }
            Err(e) => Err(StoreError::dynamo(e)),
        }
    }
}
