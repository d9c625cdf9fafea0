//! The tenant-keyed DynamoDB store: one table, single-table design.
//!
//! Every tenant-owned item lives in the partition `ORG#<organization id>`, and every
//! function that forms such a key takes a [`TenantScope`](crate::auth::TenantScope), which
//! only a verified caller has. Request paths use GetItem, Query and conditional writes;
//! nothing here scans.

mod caller;
mod capacity;
mod credentials;
mod cursor;
mod deliveries;
mod error;
mod invitations;
mod keys;
mod organizations;
mod outbox;
pub mod schema;
mod sessions;
mod tasks;
mod throttle;
mod users;

pub use caller::Caller;
pub use credentials::{CredentialStore, Credentials};
pub use cursor::{CursorError, CursorKey};
pub use deliveries::{Claim, DeliveryState, DeliveryStore};
pub use error::{StoreError, Unique};
pub use invitations::{InvitationPage, InvitationQuota, InvitationStore, InvitationToken};
pub use organizations::{OrganizationStore, Registration};
pub use outbox::OutboxStore;
pub use sessions::{RefreshToken, Session, SessionStore};
pub use tasks::{DeleteRefused, TaskFilter, TaskPage, TaskStore};
pub use throttle::{ThrottleStore, counter_key};
pub use users::{UserPage, UserStore};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put};

/// A handle on the table; cheap to clone, built once per cold start.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// The store of the functions: its client asks every call for the capacity it consumed
    /// and logs it (see [`capacity`]).
    pub fn from_sdk(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        let config = aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(capacity::CapacityLog).build();
        Self::new(Client::from_conf(config), table)
    }

    pub fn credentials(&self) -> CredentialStore<'_> {
        CredentialStore { store: self }
    }

    pub fn organizations(&self) -> OrganizationStore<'_> {
        OrganizationStore { store: self }
    }

    pub fn users(&self) -> UserStore<'_> {
        UserStore { store: self }
    }

    pub fn tasks(&self) -> TaskStore<'_> {
        TaskStore { store: self }
    }

    pub fn outbox(&self) -> OutboxStore<'_> {
        OutboxStore { store: self }
    }

    pub fn deliveries(&self) -> DeliveryStore<'_> {
        DeliveryStore { store: self }
    }

    pub fn invitations(&self) -> InvitationStore<'_> {
        InvitationStore { store: self }
    }

    pub fn sessions(&self) -> SessionStore<'_> {
        SessionStore { store: self }
    }

    pub fn throttle(&self) -> ThrottleStore<'_> {
        ThrottleStore { store: self }
    }

    /// One item by its key, read consistently, mapped to its type.
    async fn get_item<T: serde::de::DeserializeOwned>(&self, pk: String, sk: String) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, AttributeValue::S(pk))
            .key(keys::SK, AttributeValue::S(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::dynamo)?;
        Ok(out.item.map(serde_dynamo::from_item).transpose()?)
    }

    /// A consistent Query of the scope's partition for the sort keys that start with
    /// `prefix` (a kind of item: tasks, users, sessions of one user, ...).
    fn query_partition(
        &self,
        scope: &crate::auth::TenantScope,
        prefix: String,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(keys::tenant_pk(scope)))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix))
            .consistent_read(true)
    }

    /// One page of one kind of item (sort keys starting with `prefix`) in the scope's
    /// partition, newest first: at most `limit` items after the one whose sort key is
    /// `after`, and whether more may follow. It reads one item more than the page holds, so
    /// that "more" is said only when another page really exists.
    async fn partition_page<T: serde::de::DeserializeOwned>(
        &self,
        scope: &crate::auth::TenantScope,
        prefix: &str,
        limit: usize,
        after: Option<String>,
    ) -> Result<(Vec<T>, bool), StoreError> {
        let mut query = self
            .query_partition(scope, prefix.into())
            .scan_index_forward(false)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
        if let Some(after) = after {
            query = query
                .exclusive_start_key(keys::PK, AttributeValue::S(keys::tenant_pk(scope)))
                .exclusive_start_key(keys::SK, AttributeValue::S(after));
        }
        let out = query.send().await.map_err(StoreError::dynamo)?;
        let mut items: Vec<T> = serde_dynamo::from_items(out.items.unwrap_or_default())?;
        let more = items.len() > limit || out.last_evaluated_key.is_some();
        items.truncate(limit);
        Ok((items, more))
    }

    /// A transactional put that only creates: it fails if an item with its key exists.
    pub(crate) fn put_new(&self, item: std::collections::HashMap<String, AttributeValue>) -> Result<Put, StoreError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Dynamo(e.to_string()))
    }
}
