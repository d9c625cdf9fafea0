//! Idempotency of mail delivery, keyed by event id in the event's organization's partition.
//! The mailer claims an event with a
//! conditional write before it sends, and marks it sent afterwards, so a redelivered or
//! re-published event never mails twice.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::table::error::{is_condition_failure, unless_condition_failed};
use super::table::keys::{MAIL_DELIVERY_SK_PREFIX, ORGANIZATION_SK, PK, SK, mail_delivery_sk, tenant_pk};
use super::table::transaction::Transaction;
use super::{Store, StoreError, TenantScope};
use crate::domain::events::EventId;

/// Longer than SQS keeps a message (4 days by default, 14 at most), so a record outlives
/// every copy of its event.
const RECORD_LIFETIME: Duration = Duration::days(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailDeliveryState {
    /// Claimed by an invocation that is sending (or crashed while sending).
    Sending,
    Sent,
    /// Sent to SES, whose answer was lost (a timeout, a dropped connection): SES may have
    /// accepted it, so it is not sent again.
    Unconfirmed,
    /// Nothing to send any more: the mail was for an unverified address, or its token was
    /// superseded or spent, or the address was verified meanwhile.
    Skipped,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// This invocation owns the event and must send it.
    Claimed,
    /// Another invocation has it, or had it: sending again could mail twice.
    Taken(MailDeliveryState),
    /// The claim's condition does not hold (the organization whose deletion the mail
    /// announces is gone already): nothing may be sent.
    Refused,
}

/// When a claim may be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimRule {
    Always,
    /// Only while the organization is being deleted: the done mail of a deletion. Once the
    /// last batch removed the organization (and this record with it), a second chain of the
    /// same deletion cannot claim, and mail, again.
    WhileDeleting,
}

#[derive(Serialize, Deserialize)]
struct MailDeliveryItem {
    pk: String,
    sk: String,
    state: MailDeliveryState,
    claimed_at: DateTime<Utc>,
    /// The table's TTL attribute: epoch seconds.
    expires_at: i64,
}

pub struct MailDeliveryStore<'a> {
    pub(super) store: &'a Store,
}

impl MailDeliveryStore<'_> {
    pub async fn claim(
        &self,
        scope: &TenantScope,
        event: EventId,
        now: DateTime<Utc>,
        rule: ClaimRule,
    ) -> Result<Claim, StoreError> {
        let item = MailDeliveryItem {
            pk: tenant_pk(scope),
            sk: mail_delivery_sk(event),
            state: MailDeliveryState::Sending,
            claimed_at: now,
            expires_at: (now + RECORD_LIFETIME).timestamp(),
        };
        if rule == ClaimRule::WhileDeleting {
            return self.claim_while_deleting(scope, event, item).await;
        }
        let result = self
            .store
            .client
            .put_item()
            .table_name(&self.store.table)
            .set_item(Some(serde_dynamo::to_item(item)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Claimed),
            Err(e) if is_condition_failure(&e) => {
                Ok(Claim::Taken(self.state(scope, event).await?.unwrap_or(MailDeliveryState::Sent)))
            }
            Err(e) => Err(StoreError::dynamo(e)),
        }
    }

    async fn claim_while_deleting(
        &self,
        scope: &TenantScope,
        event: EventId,
        item: MailDeliveryItem,
    ) -> Result<Claim, StoreError> {
        let deleting = ConditionCheck::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(ORGANIZATION_SK.into()))
            .condition_expression("attribute_exists(deletion)")
            .build()?;
        let put = self.store.put_new(serde_dynamo::to_item(item)?)?;
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Deleting,
            Record,
        }
        let transaction = Transaction::new().with(Item::Deleting, deleting).with(Item::Record, put);
        match self.store.transact(transaction).await {
            Ok(()) => Ok(Claim::Claimed),
            Err(e) if e.cancelled(Item::Deleting) => Ok(Claim::Refused),
            Err(e) if e.cancelled(Item::Record) => {
                Ok(Claim::Taken(self.state(scope, event).await?.unwrap_or(MailDeliveryState::Sent)))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn mark_sent(&self, scope: &TenantScope, event: EventId) -> Result<(), StoreError> {
        self.mark(scope, event, MailDeliveryState::Sent).await
    }

    /// Records that the send's outcome is unknown; the record stays (it is never released).
    pub async fn mark_unconfirmed(&self, scope: &TenantScope, event: EventId) -> Result<(), StoreError> {
        self.mark(scope, event, MailDeliveryState::Unconfirmed).await
    }

    /// Records that the event needed no mail after all; like `Sent`, it is final.
    pub async fn mark_skipped(&self, scope: &TenantScope, event: EventId) -> Result<(), StoreError> {
        self.mark(scope, event, MailDeliveryState::Skipped).await
    }

    /// Sets the state of an existing record. A record that is gone was deleted with its
    /// organization while the mail was out: an update must not write it back (an upsert would
    /// leave an item without TTL in a deleted partition), so there is nothing to mark.
    async fn mark(&self, scope: &TenantScope, event: EventId, state: MailDeliveryState) -> Result<(), StoreError> {
        let result = self
            .store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(mail_delivery_sk(event)))
            .update_expression("SET #state = :sent")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sent", serde_dynamo::to_attribute_value(state)?)
            .send()
            .await;
        unless_condition_failed(result)
    }

    /// Gives a claim back after a send that certainly failed, so a retry may send.
    pub async fn release(&self, scope: &TenantScope, event: EventId) -> Result<(), StoreError> {
        self.store
            .client
            .delete_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(mail_delivery_sk(event)))
            .condition_expression("#state = :sending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", serde_dynamo::to_attribute_value(MailDeliveryState::Sending)?)
            .send()
            .await?;
        Ok(())
    }

    pub async fn state(&self, scope: &TenantScope, event: EventId) -> Result<Option<MailDeliveryState>, StoreError> {
        Ok(self.record(scope, event).await?.map(|(state, _)| state))
    }

    /// The state of the event's record and when it was claimed.
    pub async fn record(
        &self,
        scope: &TenantScope,
        event: EventId,
    ) -> Result<Option<(MailDeliveryState, DateTime<Utc>)>, StoreError> {
        let item: Option<MailDeliveryItem> = self.store.get_item(tenant_pk(scope), mail_delivery_sk(event)).await?;
        Ok(item.map(|i| (i.state, i.claimed_at)))
    }

    /// The states of the organization's delivery records (at most 100), for operators and
    /// tests: a record that is `Sent`, `Unconfirmed` or `Skipped` will never mail again.
    pub async fn states(&self, scope: &TenantScope) -> Result<Vec<MailDeliveryState>, StoreError> {
        let page: super::table::Page<MailDeliveryItem> =
            self.store.partition_page(scope, MAIL_DELIVERY_SK_PREFIX, 100, None).await?;
        Ok(page.items.into_iter().map(|i| i.state).collect())
    }
}
