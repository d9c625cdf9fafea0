//! Deleting an organization: every item it owns, in bounded batches that may stop anywhere
//! (a timeout, a crash, a redelivered message) and resume where the last one stopped.
//!
//! Nothing records progress: what is left *is* the progress. Each batch reads what remains
//! and deletes it, and every item is deleted after the global items it names (a user's
//! email guard, a session's current refresh token, an invitation's token), so an
//! interrupted batch leaves nothing that a later one cannot find again. Batches delete the
//! users first (so every write of the organization's tokens, which re-checks its caller, is
//! refused from the first batch on), then sessions (refresh stops) and invitations
//! (accepting stops), then the global lookups the `lookups-by-owner` index lists, then the
//! rest of the partition. The organization item and its slug guard go last, in one
//! transaction ([`DeletionStore::finish`]): until then the slug stays taken.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, Update, WriteRequest};

use super::caller::Caller;
use super::organizations::{DeletionRequest, OrganizationItem};
use super::outbox::OutboxItem;
use super::table::RawItem;
use super::table::error::is_condition_failure;
use super::table::keys::{
    GUARD_SK, INVITATION_SK_PREFIX, ORGANIZATION_SK, OWNER, PK, SK, USER_SK_PREFIX, email_pk, invitation_token_pk,
    mail_delivery_sk, refresh_pk, slug_pk, tenant_pk,
};
use super::table::schema::LOOKUPS_BY_OWNER;
use super::table::transaction::Transaction;
use super::{Store, StoreError, TenantScope};
use crate::domain::events::Event;
use crate::domain::{Email, OrgSlug, Organization, TokenHash};

/// What asking for a deletion did.
#[derive(Debug, PartialEq, Eq)]
pub enum Requested {
    Started,
    /// The organization is being deleted already (a retried request): nothing more to do.
    AlreadyRunning,
}

/// Where a deletion stands after a batch.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// The batch used its budget: more may be left.
    More,
    /// Everything is gone but the organization item, its slug guard and the done mail's
    /// delivery record, which [`DeletionStore::finish`] removes.
    Emptied,
}

/// How many items one BatchWriteItem deletes (DynamoDB's limit).
const BATCH_WRITE_LIMIT: usize = 25;
/// How often a batch write is sent again for the items DynamoDB left unprocessed.
const UNPROCESSED_ATTEMPTS: u32 = 5;

/// The sort key prefixes deleted before the rest of the partition, in this order.
const FIRST: [&str; 3] = [USER_SK_PREFIX, "SESSION#", INVITATION_SK_PREFIX];

pub struct DeletionStore<'a> {
    pub(super) store: &'a Store,
}

impl DeletionStore<'_> {
    /// Marks the organization as being deleted, if `confirm` is its slug and the caller is
    /// still an admin, and records the event that starts the job, in one transaction.
    pub async fn request(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        confirm: &OrgSlug,
        request: &DeletionRequest,
        event: &Event,
    ) -> Result<Requested, StoreError> {
        debug_assert!(caller.needs_admin, "deleting the organization is an admin's write");
        let mark = Update::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(ORGANIZATION_SK.into()))
            .update_expression("SET deletion = :deletion")
            .condition_expression("attribute_exists(pk) AND slug = :slug AND attribute_not_exists(deletion)")
            .expression_attribute_values(":deletion", serde_dynamo::to_attribute_value(request)?)
            .expression_attribute_values(":slug", AttributeValue::S(confirm.as_str().to_owned()))
            .build()?;
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Caller,
            Organization,
            Event,
        }
        let transaction = Transaction::new()
            .with(Item::Caller, caller.check(self.store, scope)?)
            .with(Item::Organization, mark)
            .with(Item::Event, self.store.put_new(serde_dynamo::to_item(OutboxItem::new(scope, event))?)?);
        match self.store.transact(transaction).await {
            Ok(()) => Ok(Requested::Started),
            Err(e) if e.cancelled(Item::Caller) => Err(caller.refusal(self.store, scope).await),
            Err(e) if e.cancelled(Item::Organization) => match self.item(scope).await? {
                None => Err(StoreError::NotFound),
                Some(item) if item.deletion.is_some() => Ok(Requested::AlreadyRunning),
                Some(_) => Err(StoreError::ConfirmationMismatch),
            },
            Err(e) => Err(e.into()),
        }
    }

    async fn item(&self, scope: &TenantScope) -> Result<Option<OrganizationItem>, StoreError> {
        self.store.get_item(tenant_pk(scope), ORGANIZATION_SK.into()).await
    }

    /// The organization and its deletion request, while it is being deleted; `None` once it
    /// is gone (or when it was never asked to go).
    pub async fn pending(&self, scope: &TenantScope) -> Result<Option<(Organization, DeletionRequest)>, StoreError> {
        Ok(self.item(scope).await?.and_then(|item| item.deletion.map(|d| (item.organization, d))))
    }

    /// Deletes up to about `budget` of the organization's items, in the order the module
    /// describes. `Emptied` only from a batch that found nothing left to delete: a batch that
    /// deleted the last items answers `More`, so that the next one, a moment later, also sees
    /// what the eventually consistent owner index had not shown yet and what a request that
    /// checked its caller just before the users went (a login's new session) wrote since.
    pub async fn delete_batch(
        &self,
        scope: &TenantScope,
        request: &DeletionRequest,
        budget: usize,
    ) -> Result<Progress, StoreError> {
        let budget = budget.max(1);
        let mut left = budget;
        // Kept for `finish`: the organization item and the done mail's record.
        let keep = [ORGANIZATION_SK.to_owned(), mail_delivery_sk(request.event_id)];
        for prefix in FIRST.iter().copied().chain([""]) {
            loop {
                let page = self.partition_page(scope, prefix, left + keep.len()).await?;
                let doomed: Vec<RawItem> =
                    page.into_iter().filter(|item| !keep.iter().any(|k| Some(k.as_str()) == sk_of(item))).collect();
                if doomed.is_empty() {
                    break;
                }
                left = left.saturating_sub(doomed.len());
                self.delete_with_companions(scope, doomed).await?;
                if left == 0 {
                    return Ok(Progress::More);
                }
            }
            if prefix == INVITATION_SK_PREFIX {
                // Before the rest of the partition: the lookups name nothing in it.
                loop {
                    let lookups = self.owned_lookups(scope, left).await?;
                    if lookups.is_empty() {
                        break;
                    }
                    left = left.saturating_sub(lookups.len());
                    self.delete_lookups(scope, lookups).await?;
                    if left == 0 {
                        return Ok(Progress::More);
                    }
                }
            }
        }
        Ok(if left == budget { Progress::Emptied } else { Progress::More })
    }

    /// Removes the organization item, its slug guard and the done mail's delivery record,
    /// in one transaction: from then on the slug can be registered again. Finishing twice
    /// (a redelivered last message) is harmless.
    pub async fn finish(
        &self,
        scope: &TenantScope,
        organization: &Organization,
        request: &DeletionRequest,
    ) -> Result<(), StoreError> {
        let delete = |pk: String, sk: String, condition: Option<&str>| {
            let mut delete = aws_sdk_dynamodb::types::Delete::builder()
                .table_name(&self.store.table)
                .key(PK, AttributeValue::S(pk))
                .key(SK, AttributeValue::S(sk));
            if let Some(condition) = condition {
                delete = delete
                    .condition_expression(condition)
                    .expression_attribute_values(":org", AttributeValue::S(organization.id.to_string()));
            }
            delete.build().map_err(StoreError::from)
        };
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Organization,
            Slug,
            DeliveryRecord,
        }
        // A slug guard that no longer names this organization has been released already: the
        // end then goes without it.
        for with_slug in [true, false] {
            let mut transaction = Transaction::new().with(
                Item::Organization,
                delete(tenant_pk(scope), ORGANIZATION_SK.into(), Some("attribute_exists(deletion) AND id = :org"))?,
            );
            if with_slug {
                transaction.push(
                    Item::Slug,
                    delete(slug_pk(&organization.slug), GUARD_SK.into(), Some("organization_id = :org"))?,
                );
            }
            transaction.push(Item::DeliveryRecord, delete(tenant_pk(scope), mail_delivery_sk(request.event_id), None)?);
            match self.store.transact(transaction).await {
                // Done, or finished before (the organization item is gone).
                Ok(()) => return Ok(()),
                Err(e) if e.cancelled(Item::Organization) => return Ok(()),
                Err(e) if e.cancelled(Item::Slug) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The first `limit` items of the partition whose sort keys start with `prefix` (all of
    /// them for `""`), keys and the attributes that name companions only.
    async fn partition_page(
        &self,
        scope: &TenantScope,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<RawItem>, StoreError> {
        let query = if prefix.is_empty() {
            self.store
                .client
                .query()
                .table_name(&self.store.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(tenant_pk(scope)))
                .consistent_read(true)
        } else {
            self.store.query_partition(scope, prefix.to_owned())
        };
        let out = query
            .projection_expression("pk, sk, email, #current, token_hash")
            .expression_attribute_names("#current", "current")
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await?;
        Ok(out.items.unwrap_or_default())
    }

    /// Up to `limit` of the global items that name the organization as their owner, but
    /// its slug guard (kept for `finish`). The index is eventually consistent: an item
    /// written a moment ago may show up only in a later batch, which is why `finish` runs
    /// only after a batch that found nothing at all.
    async fn owned_lookups(&self, scope: &TenantScope, limit: usize) -> Result<Vec<String>, StoreError> {
        let out = self
            .store
            .client
            .query()
            .table_name(&self.store.table)
            .index_name(LOOKUPS_BY_OWNER)
            .key_condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_values(":owner", AttributeValue::S(scope.org_id().to_string()))
            .projection_expression("pk")
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .send()
            .await?;
        Ok(out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| item.get(PK).and_then(|v| v.as_s().ok()).cloned())
            .filter(|pk| !pk.starts_with("SLUG#"))
            .take(limit)
            .collect())
    }

    /// Deletes partition items, each after the global items it names.
    async fn delete_with_companions(&self, scope: &TenantScope, items: Vec<RawItem>) -> Result<(), StoreError> {
        let mut companions = Vec::new();
        for item in &items {
            let attribute = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
            let hash = |name: &str| {
                item.get(name).and_then(|v| serde_dynamo::from_attribute_value::<_, TokenHash>(v.clone()).ok())
            };
            match sk_of(item) {
                Some(sk) if sk.starts_with(USER_SK_PREFIX) => {
                    if let Some(email) = attribute("email").and_then(|e| Email::parse(e).ok()) {
                        companions.push(email_pk(&email));
                    }
                }
                Some(sk) if sk.starts_with("SESSION#") => {
                    if let Some(hash) = hash("current") {
                        companions.push(refresh_pk(&hash));
                    }
                }
                Some(sk) if sk.starts_with(INVITATION_SK_PREFIX) => {
                    if let Some(hash) = hash("token_hash") {
                        companions.push(invitation_token_pk(&hash));
                    }
                }
                _ => {}
            }
        }
        self.delete_lookups(scope, companions).await?;
        let keys = items.iter().filter_map(|item| Some((item.get(PK)?.clone(), item.get(SK)?.clone()))).collect();
        self.batch_delete(keys).await
    }

    /// Deletes global items by partition key. An email guard is deleted only while it is
    /// still this organization's: the address may have been registered again meanwhile.
    async fn delete_lookups(&self, scope: &TenantScope, pks: Vec<String>) -> Result<(), StoreError> {
        let (guards, tokens): (Vec<String>, Vec<String>) = pks.into_iter().partition(|pk| pk.starts_with("EMAIL#"));
        for pk in guards {
            let result = self
                .store
                .client
                .delete_item()
                .table_name(&self.store.table)
                .key(PK, AttributeValue::S(pk))
                .key(SK, AttributeValue::S(GUARD_SK.into()))
                .condition_expression("organization_id = :org")
                .expression_attribute_values(":org", AttributeValue::S(scope.org_id().to_string()))
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(StoreError::dynamo(e)),
            }
        }
        // Token lookups are named by a hash of 256 random bits: nobody else's can share one.
        let keys = tokens.into_iter().map(|pk| (AttributeValue::S(pk), AttributeValue::S(GUARD_SK.into()))).collect();
        self.batch_delete(keys).await
    }

    async fn batch_delete(&self, keys: Vec<(AttributeValue, AttributeValue)>) -> Result<(), StoreError> {
        for chunk in keys.chunks(BATCH_WRITE_LIMIT) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|(pk, sk)| {
                    let key = HashMap::from([(PK.to_owned(), pk.clone()), (SK.to_owned(), sk.clone())]);
                    let delete = DeleteRequest::builder().set_key(Some(key)).build().expect("the key is set");
                    WriteRequest::builder().delete_request(delete).build()
                })
                .collect();
            let mut attempt = 0;
            while !requests.is_empty() {
                attempt += 1;
                if attempt > UNPROCESSED_ATTEMPTS {
                    return Err(StoreError::Unavailable("DynamoDB left deletions unprocessed".into()));
                }
                if attempt > 1 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
                let out =
                    self.store.client.batch_write_item().request_items(&self.store.table, requests).send().await?;
                requests = out.unprocessed_items.and_then(|mut u| u.remove(&self.store.table)).unwrap_or_default();
            }
        }
        Ok(())
    }
}

fn sk_of(item: &RawItem) -> Option<&str> {
    item.get(SK).and_then(|v| v.as_s().ok()).map(String::as_str)
}
