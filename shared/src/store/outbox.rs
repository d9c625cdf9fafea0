//! The transactional outbox. A notification is recorded in the same write as the task
//! change that causes it, and cleared once SQS accepted the message; the scheduled
//! re-publisher sends whatever stayed behind. So a queue outage delays mail, never loses it.

use aws_sdk_dynamodb::types::{AttributeValue, Put};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::table::keys::{PK, SK, outbox_sk, sortable_time, tenant_pk};
use super::table::schema::{OUTBOX_AT, OUTBOX_BY_AGE, OUTBOX_PK};
use super::{Store, StoreError, TenantScope};
use crate::domain::events::{Event, EventId};

/// All markers share one index partition: they live for seconds, so the partition stays
/// small. Sharding it is the next step should outbox writes ever near 1,000 per second.
const OUTBOX_PARTITION: &str = "OUTBOX";

#[derive(Serialize, Deserialize)]
pub(super) struct OutboxItem {
    pk: String,
    sk: String,
    outbox_pk: String,
    /// RFC 3339 in UTC with fixed precision, so text order is time order.
    outbox_at: String,
    /// The message body exactly as it goes to SQS.
    event: String,
}

impl OutboxItem {
    pub fn new(scope: &TenantScope, event: &Event) -> Self {
        Self {
            pk: tenant_pk(scope),
            sk: outbox_sk(event.event_id),
            outbox_pk: OUTBOX_PARTITION.into(),
            outbox_at: sortable_time(event.occurred_at),
            event: event.to_json(),
        }
    }
}

/// The transaction item that records `event` in the outbox, for a write to carry along.
pub(super) fn record(store: &Store, scope: &TenantScope, event: &Event) -> Result<Put, StoreError> {
    store.put_new(serde_dynamo::to_item(OutboxItem::new(scope, event))?)
}

pub struct OutboxStore<'a> {
    pub(super) store: &'a Store,
}

impl OutboxStore<'_> {
    /// Records `event` on its own, for the re-publisher to hand to the topic: what a consumer
    /// with no topic of its own to publish to (the mailer) does with an event it causes.
    /// Recording the same event twice is harmless (consumers drop a repeated id).
    pub async fn put(&self, scope: &TenantScope, event: &Event) -> Result<(), StoreError> {
        self.store
            .client
            .put_item()
            .table_name(&self.store.table)
            .set_item(Some(serde_dynamo::to_item(OutboxItem::new(scope, event))?))
            .send()
            .await?;
        Ok(())
    }

    /// Marks the event as handed to the queue.
    pub async fn clear(&self, scope: &TenantScope, event: EventId) -> Result<(), StoreError> {
        self.store
            .client
            .delete_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(outbox_sk(event)))
            .send()
            .await?;
        Ok(())
    }

    /// Events recorded before `cutoff` and not yet cleared, oldest first: one Query on the
    /// sparse outbox index, across tenants (the re-publisher is no request path).
    pub async fn pending_before(&self, cutoff: DateTime<Utc>, limit: i32) -> Result<Vec<Event>, StoreError> {
        let out = self
            .store
            .client
            .query()
            .table_name(&self.store.table)
            .index_name(OUTBOX_BY_AGE)
            .key_condition_expression("#pk = :pk AND #at < :cutoff")
            .expression_attribute_names("#pk", OUTBOX_PK)
            .expression_attribute_names("#at", OUTBOX_AT)
            .expression_attribute_values(":pk", AttributeValue::S(OUTBOX_PARTITION.into()))
            .expression_attribute_values(":cutoff", AttributeValue::S(sortable_time(cutoff)))
            .limit(limit)
            .send()
            .await?;
        let items: Vec<OutboxItem> = super::table::readable_items(out.items.unwrap_or_default());
        items
            .into_iter()
            .map(|i| Event::parse(&i.event).map_err(|e| StoreError::Dynamo(format!("outbox item {}: {e}", i.sk))))
            .collect()
    }
}
