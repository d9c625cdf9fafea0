use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::credentials::{Credentials, CredentialsItem};
use super::error::cancelled_at;
use super::keys::{PK, SK, tenant_pk, user_sk};
use super::{Store, StoreError, Unique};
use crate::auth::{PasswordHash, TenantScope};
use crate::domain::{Email, Role, User, UserId};

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

pub struct UserStore<'a> {
    pub(super) store: &'a Store,
}

impl UserStore<'_> {
    /// The user, if it belongs to the scope's organization; another tenant's user id finds
    /// nothing, exactly like an unknown one.
    pub async fn get(&self, scope: &TenantScope, id: UserId) -> Result<Option<User>, StoreError> {
        let out = self
            .store
            .client
            .get_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(user_sk(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::dynamo)?;
        let item: Option<UserItem> = out.item.map(serde_dynamo::from_item).transpose()?;
        Ok(item.map(|i| i.user))
    }
}

impl UserStore<'_> {
    /// Adds a user to the scope's organization: the user and the email's credentials in one
    /// transaction, so an email taken anywhere in the service leaves nothing behind.
    pub async fn create(
        &self,
        scope: &TenantScope,
        email: Email,
        role: Role,
        password_hash: PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError> {
        let user = User { id: UserId::generate(), email, role, organization_id: scope.org_id(), created_at: now };
        let credentials = Credentials { user_id: user.id, organization_id: scope.org_id(), password_hash };
        // Order matters: cancellation reasons come back per item, by position.
        let items = [
            serde_dynamo::to_item(CredentialsItem::new(&user.email, credentials))?,
            serde_dynamo::to_item(UserItem::new(scope, user.clone()))?,
        ];
        let mut request = self.store.client.transact_write_items();
        for item in items {
            request = request.transact_items(TransactWriteItem::builder().put(self.store.put_new(item)?).build());
        }
        match request.send().await {
            Ok(_) => Ok(user),
            Err(err) if cancelled_at(&err, 0) => Err(StoreError::Taken(Unique::Email)),
            Err(err) => Err(StoreError::dynamo(err)),
        }
    }
}
