use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::keys::{PK, SK, tenant_pk, user_sk};
use super::{Store, StoreError};
use crate::auth::TenantScope;
use crate::domain::{User, UserId};

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
