//! Webhooks, in their organization's partition: the webhook as admins see it, its secret
//! sealed (never in clear), and beside it one record per event delivered to it, with every
//! attempt. Deleting the organization deletes them with the partition.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Update};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::caller::Caller;
use super::outbox;
use super::table::error::unless_condition_failed;
use super::table::keys::{
    PK, SK, WEBHOOK_COUNT_SK, WEBHOOK_SK_PREFIX, tenant_pk, webhook_message_prefix, webhook_message_sk, webhook_sk,
};
use super::table::readable_items;
use super::table::transaction::Transaction;
use super::{Page, Store, StoreError, TenantScope};
use crate::domain::events::{Event, EventId, EventKind, Provenance};
use crate::domain::{ApiKeyId, SealedSecret, Webhook, WebhookAttempt, WebhookDelivery, WebhookId};

/// How long a delivery record is kept: past every retry of its event (about a day) and long
/// enough for an admin to look into a failure.
const DELIVERY_RECORD_LIFETIME: Duration = Duration::days(30);

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
    /// Until when the secrets after the first still sign (a rotation's overlap); absent when
    /// the webhook was never rotated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retiring_until: Option<DateTime<Utc>>,
    /// The API key it was made with, if it was: revoking the key turns it off. (Webhooks
    /// made before it was recorded have none.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    made_with_key: Option<ApiKeyId>,
}

/// A webhook as the dispatcher reads it: with its sealed secrets. (No `Debug`.)
pub struct StoredWebhook {
    pub webhook: Webhook,
    secrets: Vec<SealedSecret>,
    retiring_until: Option<DateTime<Utc>>,
    /// The API key it was made with, if it was.
    pub made_with_key: Option<ApiKeyId>,
}

impl StoredWebhook {
    /// The secrets that sign a delivery made `now`: the newest, and the one a rotation
    /// replaced while its overlap lasts.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> &[SealedSecret] {
        let overlapping = self.retiring_until.is_some_and(|until| now < until);
        let keep = if overlapping { self.secrets.len() } else { self.secrets.len().min(1) };
        &self.secrets[..keep]
    }

    /// The secret new deliveries are signed with first.
    pub fn current_secret(&self) -> Option<&SealedSecret> {
        self.secrets.first()
    }
}

impl From<WebhookItem> for StoredWebhook {
    fn from(item: WebhookItem) -> Self {
        Self {
            webhook: item.webhook,
            secrets: item.secrets,
            retiring_until: item.retiring_until,
            made_with_key: item.made_with_key,
        }
    }
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

pub struct WebhookStore<'a> {
    pub(super) store: &'a Store,
}

impl WebhookStore<'_> {
    /// An update of the webhook `id`'s item, in a transaction.
    fn webhook_update(&self, scope: &TenantScope, id: WebhookId) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(webhook_sk(id)))
    }

    /// An update of the webhook `id`'s item, on its own.
    fn update_webhook_item(
        &self,
        scope: &TenantScope,
        id: WebhookId,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(webhook_sk(id)))
    }
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
        made_with_key: Option<ApiKeyId>,
        event: &Event,
    ) -> Result<(), StoreError> {
        debug_assert!(caller.needs_admin, "making a webhook is an admin's write");
        // The count is kept on a counter item, changed in the same transaction as the
        // webhook, so that concurrent creations cannot pass the limit. Organizations whose
        // webhooks predate the counter start it from the webhooks there are.
        let existing = self.all(scope).await?.len();
        if existing >= MAX_WEBHOOKS {
            return Err(StoreError::LimitReached { what: "webhooks", max: MAX_WEBHOOKS });
        }
        let item = WebhookItem {
            pk: tenant_pk(scope),
            sk: webhook_sk(webhook.id),
            webhook: webhook.clone(),
            secrets: vec![secret],
            retiring_until: None,
            made_with_key,
        };
        let count = self
            .count_update(scope, existing, 1)
            .condition_expression("attribute_not_exists(#count) OR #count < :max")
            .expression_attribute_values(":max", AttributeValue::N(MAX_WEBHOOKS.to_string()))
            .build()?;
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Caller,
            Webhook,
            Count,
            Event,
        }
        let transaction = Transaction::new()
            .with(Item::Caller, caller.check(self.store, scope)?)
            .with(Item::Webhook, self.store.put_new(serde_dynamo::to_item(item)?)?)
            .with(Item::Count, count)
            .with(Item::Event, outbox::record(self.store, scope, event)?);
        match self.store.transact(transaction).await {
            Ok(()) => Ok(()),
            Err(e) if e.cancelled(Item::Caller) => Err(caller.refusal(self.store, scope).await),
            Err(e) if e.cancelled(Item::Count) => Err(StoreError::LimitReached { what: "webhooks", max: MAX_WEBHOOKS }),
            Err(e) if e.cancelled(Item::Webhook) => Err(StoreError::VersionConflict),
            Err(e) => Err(e.into()),
        }
    }

    /// The update that moves the organization's webhook count by `delta`, starting it from
    /// `existing` (the webhooks read before) when the counter is not there yet.
    fn count_update(
        &self,
        scope: &TenantScope,
        existing: usize,
        delta: i64,
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(WEBHOOK_COUNT_SK.into()))
            .update_expression("SET #count = if_not_exists(#count, :existing) + :delta")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":existing", AttributeValue::N(existing.to_string()))
            .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()))
    }

    /// A page of the organization's webhooks, newest first.
    pub async fn list_page(
        &self,
        scope: &TenantScope,
        limit: usize,
        after: Option<WebhookId>,
    ) -> Result<Page<Webhook, WebhookId>, StoreError> {
        let page: Page<WebhookItem> =
            self.store.partition_page(scope, WEBHOOK_SK_PREFIX, limit, after.map(webhook_sk)).await?;
        Ok(page.map(|i| i.webhook, |sk| sk.strip_prefix(WEBHOOK_SK_PREFIX).and_then(WebhookId::parse)))
    }

    /// Every webhook of the organization, with its secrets: one Query (at most
    /// [`MAX_WEBHOOKS`] small items, well within one page).
    pub async fn all(&self, scope: &TenantScope) -> Result<Vec<StoredWebhook>, StoreError> {
        let out = self.store.query_partition(scope, WEBHOOK_SK_PREFIX.into()).send().await?;
        let items: Vec<WebhookItem> = readable_items(out.items.unwrap_or_default());
        Ok(items.into_iter().map(StoredWebhook::from).collect())
    }

    /// The webhook `id` of this organization, with its secrets: one GetItem.
    pub async fn get(&self, scope: &TenantScope, id: WebhookId) -> Result<Option<StoredWebhook>, StoreError> {
        let item: Option<WebhookItem> = self.store.get_item(tenant_pk(scope), webhook_sk(id)).await?;
        Ok(item.map(StoredWebhook::from))
    }

    /// Writes the fields in which `after` differs from `before` (and only those: a field the
    /// dispatcher changes meanwhile, or another admin, is not written back), with its event,
    /// if the caller is still an admin. `NotFound` when the webhook was deleted meanwhile.
    pub async fn update(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        before: &Webhook,
        after: &Webhook,
        event: &Event,
    ) -> Result<(), StoreError> {
        debug_assert!(caller.needs_admin, "changing a webhook is an admin's write");
        let (old, new): (HashMap<String, AttributeValue>, HashMap<String, AttributeValue>) =
            (serde_dynamo::to_item(before)?, serde_dynamo::to_item(after)?);
        let mut fields: Vec<(&String, &AttributeValue)> = new.iter().filter(|(k, v)| old.get(*k) != Some(*v)).collect();
        fields.sort_by_key(|(k, _)| *k);
        if fields.is_empty() {
            return Ok(());
        }
        let mut update = self.webhook_update(scope, after.id).condition_expression("attribute_exists(pk)");
        let mut sets = Vec::new();
        for (i, (field, value)) in fields.into_iter().enumerate() {
            sets.push(format!("webhook.#f{i} = :v{i}"));
            update = update
                .expression_attribute_names(format!("#f{i}"), field.as_str())
                .expression_attribute_values(format!(":v{i}"), value.clone());
        }
        let update = update.update_expression(format!("SET {}", sets.join(", "))).build()?;
        self.store.write_as_caller(scope, caller, update, event).await
    }

    /// Makes `secret` the webhook's first secret, the one it replaces (`current`) signing
    /// beside it until `overlap_until`, with its event, if the caller is still an admin.
    /// Only the secret read as current is replaced: a rotation that raced another is refused
    /// (`VersionConflict`) rather than losing the secret the other answered. `NotFound` when
    /// the webhook was deleted meanwhile.
    #[allow(clippy::too_many_arguments)]
    pub async fn rotate(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        id: WebhookId,
        current: &SealedSecret,
        secret: SealedSecret,
        overlap_until: DateTime<Utc>,
        event: &Event,
    ) -> Result<(), StoreError> {
        debug_assert!(caller.needs_admin, "rotating a webhook's secret is an admin's write");
        let update = self
            .webhook_update(scope, id)
            .update_expression("SET secrets = :secrets, retiring_until = :until")
            .condition_expression("attribute_exists(pk) AND secrets[0] = :current")
            .expression_attribute_values(":secrets", serde_dynamo::to_attribute_value(vec![&secret, current])?)
            .expression_attribute_values(":until", serde_dynamo::to_attribute_value(overlap_until)?)
            .expression_attribute_values(":current", serde_dynamo::to_attribute_value(current)?)
            .build()?;
        match self.store.write_as_caller(scope, caller, update, event).await {
            // Still there: another rotation replaced the secret first.
            Err(StoreError::NotFound) => match self.get(scope, id).await? {
                Some(_) => Err(StoreError::VersionConflict),
                None => Err(StoreError::NotFound),
            },
            other => other,
        }
    }

    /// A page of the webhook's deliveries, newest first (one Query; an unknown webhook has
    /// none).
    pub async fn deliveries_page(
        &self,
        scope: &TenantScope,
        id: WebhookId,
        limit: usize,
        after: Option<EventId>,
    ) -> Result<Page<WebhookDelivery, EventId>, StoreError> {
        let prefix = webhook_message_prefix(id);
        let page: Page<DeliveryRecordItem> =
            self.store.partition_page(scope, &prefix, limit, after.map(|e| webhook_message_sk(id, e))).await?;
        Ok(page.map(|i| i.delivery, |sk| sk.strip_prefix(prefix.as_str()).and_then(EventId::parse)))
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
            .build()?;
        let existing = self.all(scope).await?.len();
        let count = self.count_update(scope, existing, -1).build()?;
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Caller,
            Webhook,
            Count,
            Event,
        }
        let transaction = Transaction::new()
            .with(Item::Caller, caller.check(self.store, scope)?)
            .with(Item::Webhook, delete)
            .with(Item::Count, count)
            .with(Item::Event, outbox::record(self.store, scope, &event)?);
        match self.store.transact(transaction).await {
            Ok(()) => Ok(event),
            Err(e) if e.cancelled(Item::Caller) => Err(caller.refusal(self.store, scope).await),
            Err(e) if e.cancelled(Item::Webhook) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Records `event` (a ping of the webhook `id`) if the webhook exists and the caller is
    /// still an admin. `NotFound` when there is no such webhook (in this organization).
    pub async fn ping(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        id: WebhookId,
        event: &Event,
    ) -> Result<(), StoreError> {
        debug_assert!(caller.needs_admin, "a test delivery is an admin's write");
        let exists = ConditionCheck::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(webhook_sk(id)))
            .condition_expression("attribute_exists(pk)")
            .build()?;
        self.store.write_as_caller(scope, caller, exists, event).await
    }

    /// Turns the webhook off for `reason`, with its event (`webhook.disabled`, which mails an
    /// admin), if it is still on: `false` when it was off already or is gone, and then no
    /// event is recorded (two dispatchers meeting the same 410 mail once). With `failing_since`, only while the webhook's mark is still that one: an admin who
    /// turned it back on meanwhile (which clears the mark) is not overruled by an attempt
    /// that read the webhook before.
    pub async fn disable(
        &self,
        scope: &TenantScope,
        id: WebhookId,
        event: &Event,
        failing_since: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let EventKind::WebhookDisabled { reason, .. } = &event.kind else {
            return Err(StoreError::Dynamo("a webhook is disabled with a webhook.disabled event".into()));
        };
        let mut update = self
            .webhook_update(scope, id)
            .update_expression("SET webhook.enabled = :off, webhook.disabled_reason = :reason")
            .expression_attribute_values(":off", AttributeValue::Bool(false))
            .expression_attribute_values(":on", AttributeValue::Bool(true))
            .expression_attribute_values(":reason", serde_dynamo::to_attribute_value(reason)?);
        update = match failing_since {
            Some(since) => update
                .condition_expression(
                    "attribute_exists(pk) AND webhook.enabled = :on AND webhook.failing_since = :since",
                )
                .expression_attribute_values(":since", serde_dynamo::to_attribute_value(since)?),
            None => update.condition_expression("attribute_exists(pk) AND webhook.enabled = :on"),
        };
        let update = update.build()?;
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Webhook,
            Event,
        }
        let transaction =
            Transaction::new().with(Item::Webhook, update).with(Item::Event, outbox::record(self.store, scope, event)?);
        match self.store.transact(transaction).await {
            Ok(()) => Ok(true),
            Err(e) if e.cancelled(Item::Webhook) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Marks the webhook failing since `now`, if it is not marked already (a concurrent
    /// failure's mark is kept: it is the older); nothing when it is gone meanwhile.
    pub async fn mark_failing(&self, scope: &TenantScope, id: WebhookId, now: DateTime<Utc>) -> Result<(), StoreError> {
        let result = self
            .update_webhook_item(scope, id)
            .update_expression("SET webhook.failing_since = :now")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(webhook.failing_since) \
                 OR attribute_type(webhook.failing_since, :null))",
            )
            .expression_attribute_values(":now", serde_dynamo::to_attribute_value(now)?)
            .expression_attribute_values(":null", AttributeValue::S("NULL".into()))
            .send()
            .await;
        unless_condition_failed(result)
    }

    /// Clears the webhook's failing mark after a success, if it is still the mark `since`
    /// that was read (a newer one, set after a later failure, stays).
    pub async fn clear_failing(
        &self,
        scope: &TenantScope,
        id: WebhookId,
        since: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let result = self
            .update_webhook_item(scope, id)
            .update_expression("SET webhook.failing_since = :none")
            .condition_expression("webhook.failing_since = :since")
            .expression_attribute_values(":none", AttributeValue::Null(true))
            .expression_attribute_values(":since", serde_dynamo::to_attribute_value(since)?)
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
            .await?;
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
            retiring_until: None,
            made_with_key: None,
        };
        let raw: std::collections::HashMap<String, AttributeValue> = serde_dynamo::to_item(&item).unwrap();
        assert!(!format!("{raw:?}").contains(&secret.expose()[6..]), "the secret is not in clear");
        let back: WebhookItem = serde_dynamo::from_item(raw).unwrap();
        assert_eq!(back.webhook, webhook);
        assert_eq!(key.open(org, webhook.id, &back.secrets[0]), Some(secret));
    }

    #[test]
    fn a_replaced_secret_signs_only_while_its_overlap_lasts() {
        let draft: WebhookDraft = serde_json::from_value(serde_json::json!({"url": "https://h.example/x"})).unwrap();
        let (org, now) = (OrgId::generate(), Utc::now());
        let (webhook, _) = Webhook::new(draft, Reach::Public, org, UserId::generate(), now).unwrap();
        let key = SealingKey::new(b"0123456789abcdef0123456789abcdef");
        let [new, old] = [(); 2].map(|_| key.seal(org, webhook.id, &crate::domain::WebhookSecret::generate()));
        let stored = |secrets: Vec<SealedSecret>, retiring_until| StoredWebhook {
            webhook: webhook.clone(),
            secrets,
            retiring_until,
            made_with_key: None,
        };
        let rotated = stored(vec![new.clone(), old.clone()], Some(now + Duration::hours(24)));
        assert_eq!(rotated.signing_secrets(now), [new.clone(), old.clone()]);
        assert_eq!(
            rotated.signing_secrets(now + Duration::hours(24)),
            std::slice::from_ref(&new),
            "the overlap is over"
        );
        assert_eq!(stored(vec![new.clone(), old], None).signing_secrets(now), std::slice::from_ref(&new));
        assert_eq!(rotated.current_secret(), Some(&new));
        assert!(stored(Vec::new(), None).signing_secrets(now).is_empty());
    }
}
