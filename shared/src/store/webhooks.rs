//! Webhooks, in their organization's partition: the webhook as admins see it, its secret
//! sealed (never in clear), and beside it one record per event delivered to it, with every
//! attempt. Deleting the organization deletes them with the partition.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::caller::Caller;
use super::error::{cancelled_at, unless_condition_failed};
use super::keys::{PK, SK, WEBHOOK_SK_PREFIX, tenant_pk, webhook_message_sk, webhook_sk};
use super::outbox;
use super::{Page, Store, StoreError, TenantScope, readable_items};
use crate::domain::events::{Event, EventId, EventKind, Provenance};
use crate::domain::{DisabledReason, SealedSecret, Webhook, WebhookAttempt, WebhookDelivery, WebhookId};

/// How long a delivery record is kept: past every retry of its event (about a day) and long
/// enough for an admin to look into a failure.
pub const DELIVERY_RECORD_LIFETIME: Duration = Duration::days(30);

/// The most webhooks one organization may have: every event is offered to each of them, so
/// the dispatcher's work per event stays bounded.
pub const MAX_WEBHOOKS: usize = 20;

#[derive(Serialize, Deserialize)]
struct WebhookItem {
    pk: String,
    sk: String,
    webhook: Webhook,
    /// The secrets that sign its deliveries, sealed; the newest first.
    secrets: Vec<SealedSecret>,
}

/// A webhook as the dispatcher reads it: with its sealed secrets. (No `Debug`.)
pub struct StoredWebhook {
    pub webhook: Webhook,
    pub secrets: Vec<SealedSecret>,
}

#[derive(Serialize, Deserialize)]
struct DeliveryRecordItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    delivery: WebhookDelivery,
    /// The table's TTL: epoch seconds.
    expires_at: i64,
}

#[derive(Debug)]
pub struct WebhookPage {
    pub items: Vec<Webhook>,
    pub last: Option<WebhookId>,
}

pub struct WebhookStore<'a> {
    pub(super) store: &'a Store,
}

impl WebhookStore<'_> {
    /// Stores a new webhook with its sealed secret and its event, if the caller is still an
    /// admin and the organization has fewer than [`MAX_WEBHOOKS`].
    pub async fn create(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        webhook: &Webhook,
        secret: SealedSecret,
        event: &Event,
    ) -> Result<(), StoreError> {
        debug_assert!(caller.needs_admin, "making a webhook is an admin's write");
        // The count is read, not kept in a counter: a webhook is made rarely, and two admins
        // racing past the limit by one is harmless.
        if self.all(scope).await?.len() >= MAX_WEBHOOKS {
            return Err(StoreError::LimitReached { what: "webhooks", max: MAX_WEBHOOKS });
        }
        let item = WebhookItem {
            pk: tenant_pk(scope),
            sk: webhook_sk(webhook.id),
            webhook: webhook.clone(),
            secrets: vec![secret],
        };
        let items = vec![
            caller.check(self.store, scope)?,
            TransactWriteItem::builder().put(self.store.put_new(serde_dynamo::to_item(item)?)?).build(),
            outbox::record(self.store, scope, event)?,
        ];
        match self.store.transact(items).await {
            Ok(_) => Ok(()),
            Err(e) if cancelled_at(&e, 0) => Err(caller.refusal(self.store, scope).await),
            Err(e) => Err(StoreError::dynamo(e)),
        }
    }

    /// A page of the organization's webhooks, newest first.
    pub async fn list_page(
        &self,
        scope: &TenantScope,
        limit: usize,
        after: Option<WebhookId>,
    ) -> Result<WebhookPage, StoreError> {
        let page: Page<WebhookItem> =
            self.store.partition_page(scope, WEBHOOK_SK_PREFIX, limit, after.map(webhook_sk)).await?;
        let last = page.last_sk.and_then(|sk| sk.strip_prefix(WEBHOOK_SK_PREFIX).and_then(WebhookId::parse));
        Ok(WebhookPage { items: page.items.into_iter().map(|i| i.webhook).collect(), last })
    }

    /// Every webhook of the organization, with its secrets: one Query (at most
    /// [`MAX_WEBHOOKS`] small items, well within one page).
    pub async fn all(&self, scope: &TenantScope) -> Result<Vec<StoredWebhook>, StoreError> {
        let out =
            self.store.query_partition(scope, WEBHOOK_SK_PREFIX.into()).send().await.map_err(StoreError::dynamo)?;
        let items: Vec<WebhookItem> = readable_items(out.items.unwrap_or_default());
        Ok(items.into_iter().map(|i| StoredWebhook { webhook: i.webhook, secrets: i.secrets }).collect())
    }

    /// Deletes the webhook, with its event, if the caller is still an admin: no event is
    /// delivered to it from then on. `NotFound` when there is no such webhook (in this
    /// organization). Its delivery records expire on their own.
    pub async fn delete(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        id: WebhookId,
        by: &Provenance,
    ) -> Result<Event, StoreError> {
        debug_assert!(caller.needs_admin, "deleting a webhook is an admin's write");
        let event = Event::new(scope.org_id(), Utc::now(), by, EventKind::WebhookDeleted { webhook_id: id });
        let delete = Delete::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(webhook_sk(id)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(|e| StoreError::Dynamo(e.to_string()))?;
        let items = vec![
            caller.check(self.store, scope)?,
            TransactWriteItem::builder().delete(delete).build(),
            outbox::record(self.store, scope, &event)?,
        ];
        match self.store.transact(items).await {
            Ok(_) => Ok(event),
            Err(e) if cancelled_at(&e, 0) => Err(caller.refusal(self.store, scope).await),
            Err(e) if cancelled_at(&e, 1) => Err(StoreError::NotFound),
            Err(e) => Err(StoreError::dynamo(e)),
        }
    }

    /// Turns the webhook off for `reason`; nothing when it is gone meanwhile.
    pub async fn disable(&self, scope: &TenantScope, id: WebhookId, reason: DisabledReason) -> Result<(), StoreError> {
        let result = self
            .store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(webhook_sk(id)))
            .update_expression("SET webhook.enabled = :off, webhook.disabled_reason = :reason")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":off", AttributeValue::Bool(false))
            .expression_attribute_values(":reason", serde_dynamo::to_attribute_value(reason)?)
            .send()
            .await;
        unless_condition_failed(result)
    }

    /// The record of `event`'s delivery to `webhook`, if an attempt was made.
    pub async fn delivery(
        &self,
        scope: &TenantScope,
        webhook: WebhookId,
        event: EventId,
    ) -> Result<Option<WebhookDelivery>, StoreError> {
        let item: Option<DeliveryRecordItem> =
            self.store.get_item(tenant_pk(scope), webhook_message_sk(webhook, event)).await?;
        Ok(item.map(|i| i.delivery))
    }

    /// Appends `attempt` to the record of `event`'s delivery to `webhook` (making it on the
    /// first attempt); `delivered` once an attempt was answered 2xx, `given_up` once one was
    /// refused for good.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_attempt(
        &self,
        scope: &TenantScope,
        webhook: WebhookId,
        event: &Event,
        attempt: &WebhookAttempt,
        delivered: bool,
        given_up: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(webhook_message_sk(webhook, event.event_id)))
            // A flag once true stays true: a later attempt (a duplicate message's) cannot make a
            // delivered event look undelivered, and so sent again.
            .update_expression(format!(
                "SET attempts = list_append(if_not_exists(attempts, :none), :attempt), {}, {}, \
                 event_id = :event_id, event_type = :event_type, expires_at = :expires_at",
                if delivered { "delivered = :delivered" } else { "delivered = if_not_exists(delivered, :delivered)" },
                if given_up { "given_up = :given_up" } else { "given_up = if_not_exists(given_up, :given_up)" },
            ))
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(
                ":attempt",
                AttributeValue::L(vec![serde_dynamo::to_attribute_value(attempt)?]),
            )
            .expression_attribute_values(":delivered", AttributeValue::Bool(delivered))
            .expression_attribute_values(":given_up", AttributeValue::Bool(given_up))
            .expression_attribute_values(":event_id", AttributeValue::S(event.event_id.to_string()))
            .expression_attribute_values(":event_type", AttributeValue::S(event.kind.type_name().into()))
            .expression_attribute_values(
                ":expires_at",
                AttributeValue::N((now + DELIVERY_RECORD_LIFETIME).timestamp().to_string()),
            )
            .send()
            .await
            .map_err(StoreError::dynamo)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::SealingKey;
    use crate::domain::{OrgId, Reach, UserId, WebhookDraft};

    #[test]
    fn an_item_keeps_the_secret_sealed_and_reads_back() {
        let draft: WebhookDraft = serde_json::from_value(serde_json::json!({"url": "https://h.example/x"})).unwrap();
        let org = OrgId::generate();
        let (webhook, secret) = Webhook::new(draft, Reach::Public, org, UserId::generate(), Utc::now()).unwrap();
        let key = SealingKey::new(b"0123456789abcdef0123456789abcdef");
        let item = WebhookItem {
            pk: "ORG#x".into(),
            sk: webhook_sk(webhook.id),
            webhook: webhook.clone(),
            secrets: vec![key.seal(org, webhook.id, &secret)],
        };
        let raw: std::collections::HashMap<String, AttributeValue> = serde_dynamo::to_item(&item).unwrap();
        assert!(!format!("{raw:?}").contains(&secret.expose()[6..]), "the secret is not in clear");
        let back: WebhookItem = serde_dynamo::from_item(raw).unwrap();
        assert_eq!(back.webhook, webhook);
        assert_eq!(key.open(org, webhook.id, &back.secrets[0]), Some(secret));
    }
}
