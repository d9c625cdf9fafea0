//! The transactional outbox. A notification is recorded in the same write as the task
//! change that causes it, and cleared once SQS accepted the message; the scheduled
//! re-publisher sends whatever stayed behind. So a queue outage delays mail, never loses it.

use aws_sdk_dynamodb::types::{AttributeValue, Put};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::table::keys::{PK, SK, outbox_sk, sortable_time, spread, tenant_pk};
use super::table::schema::{OUTBOX_AT, OUTBOX_BY_AGE, OUTBOX_PK};
use super::{Store, StoreError, TenantScope};
use crate::domain::OrgId;
use crate::domain::events::{Event, EventId};

/// The outbox index's keys: a marker goes under one of `OUTBOX_SHARDS` keys, so that no key
/// is written by every organization (one index key takes 1,000 writes a second, and a
/// throttled index throttles the table's writes too).
const OUTBOX_SHARDS: u32 = 32;
/// An organization's markers spread over this many consecutive keys from one its id picks:
/// one busy organization's events (a marker is two index writes: made, then cleared) are not
/// held to one key's 1,000 writes either.
const SHARDS_PER_ORGANIZATION: u32 = 4;
/// The one key every marker went under before the index was sharded: still read, so that a
/// marker written then is sent like any other.
const UNSHARDED_PARTITION: &str = "OUTBOX";

/// The index key of `event`'s marker in `org`'s outbox.
fn index_key(org: OrgId, event: EventId) -> String {
    let first = spread(&org.to_string()) % OUTBOX_SHARDS;
    let offset = spread(&event.to_string()) % SHARDS_PER_ORGANIZATION;
    shard_key((first + offset) % OUTBOX_SHARDS)
}

fn shard_key(shard: u32) -> String {
    format!("OUTBOX#{shard:02}")
}

/// Every key the re-publisher reads.
fn index_keys() -> impl Iterator<Item = String> {
    std::iter::once(UNSHARDED_PARTITION.to_owned()).chain((0..OUTBOX_SHARDS).map(shard_key))
}

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
            outbox_pk: index_key(scope.org_id(), event.event_id),
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

    /// Events recorded before `cutoff` and not yet cleared, oldest first (up to `limit`):
    /// one Query per key of the sparse outbox index, all at once, across tenants (the
    /// re-publisher is no request path).
    pub async fn pending_before(&self, cutoff: DateTime<Utc>, limit: i32) -> Result<Vec<Event>, StoreError> {
        let cutoff = sortable_time(cutoff);
        let queries = index_keys().map(|key| {
            self.store
                .client
                .query()
                .table_name(&self.store.table)
                .index_name(OUTBOX_BY_AGE)
                .key_condition_expression("#pk = :pk AND #at < :cutoff")
                .expression_attribute_names("#pk", OUTBOX_PK)
                .expression_attribute_names("#at", OUTBOX_AT)
                .expression_attribute_values(":pk", AttributeValue::S(key))
                .expression_attribute_values(":cutoff", AttributeValue::S(cutoff.clone()))
                .limit(limit)
                .send()
        });
        // A key that could not be read is read again by the next run; the others are sent now.
        let mut items: Vec<OutboxItem> = Vec::new();
        let mut failed = None;
        for answer in futures_util::future::join_all(queries).await {
            match answer {
                Ok(out) => items.extend(super::table::readable_items::<OutboxItem>(out.items.unwrap_or_default())),
                Err(e) => failed = Some(StoreError::from(e)),
            }
        }
        if let Some(error) = failed {
            if items.is_empty() {
                return Err(error);
            }
            tracing::warn!(%error, "an outbox index key could not be read; the next run reads it again");
        }
        items.sort_by(|a, b| a.outbox_at.cmp(&b.outbox_at));
        items.truncate(usize::try_from(limit).unwrap_or(0));
        items
            .into_iter()
            .map(|i| Event::parse(&i.event).map_err(|e| StoreError::Dynamo(format!("outbox item {}: {e}", i.sk))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_organizations_markers_spread_over_its_own_few_keys_and_organizations_over_all() {
        let org = OrgId::generate();
        let mine: std::collections::BTreeSet<String> = (0..400).map(|_| index_key(org, EventId::generate())).collect();
        assert_eq!(mine.len(), SHARDS_PER_ORGANIZATION as usize, "{mine:?}");
        let every: std::collections::BTreeSet<String> =
            (0..2_000).map(|_| index_key(OrgId::generate(), EventId::generate())).collect();
        assert_eq!(every.len(), OUTBOX_SHARDS as usize);
        // The re-publisher reads every one of them, and the key of the markers made before.
        let read: std::collections::BTreeSet<String> = index_keys().collect();
        assert!(every.is_subset(&read) && read.contains(UNSHARDED_PARTITION));
    }

    #[test]
    fn the_spread_is_fnv_1a_for_good() {
        // Stored keys depend on it: a change would strand every marker written before.
        assert_eq!([spread(""), spread("a"), spread("foobar")], [0x811c_9dc5, 0xe40c_292c, 0xbf9c_f968]);
    }
}
