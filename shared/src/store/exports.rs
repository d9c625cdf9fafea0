//! An organization's exports: one item per export in its partition, and the read of
//! everything the document holds, page by page.
//!
//! An organization runs one export at a time: the organization item records the running
//! one (`running_export`), taken in the request's transaction. The one that records the
//! finished document keeps it [`EXPORT_REUSE`] longer, so that asking again at once answers
//! the export just made instead of reading the whole organization again. A running export
//! that outlives [`EXPORT_TIME_LIMIT`] (its job failed for good) gives the slot up by
//! itself: the condition compares its deadline.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, Update};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::caller::Caller;
use super::invitations::InvitationItem;
use super::organizations::{OrganizationItem, RunningExport};
use super::outbox::OutboxItem;
use super::table::keys::{
    INVITATION_SK_PREFIX, ORGANIZATION_SK, PK, SK, TASK_SK_PREFIX, USER_SK_PREFIX, export_sk, tenant_pk, user_sk,
};
use super::table::transaction::Transaction;
use super::table::{RawItem, read_item, read_items};
use super::tasks::TaskItem;
use super::user_item::UserItem;
use super::{Page, Store, StoreError, TenantScope};
use crate::domain::events::Event;
use crate::domain::{EXPORT_LIFETIME, EXPORT_TIME_LIMIT, Export, ExportId, ExportState, Invitation, Role, Task, User};

#[derive(Serialize, Deserialize)]
struct ExportItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    export: Export,
    /// TTL, epoch seconds: the item goes when the download could no longer be had.
    expires_at: i64,
}

impl ExportItem {
    fn new(scope: &TenantScope, export: Export) -> Self {
        let until = export.available_until().unwrap_or(export.requested_at + EXPORT_TIME_LIMIT) + EXPORT_LIFETIME;
        Self { pk: tenant_pk(scope), sk: export_sk(export.id), expires_at: until.timestamp(), export }
    }
}

/// How long a finished export answers a new request for one, in place of a new export.
pub const EXPORT_REUSE: chrono::Duration = chrono::Duration::minutes(5);

/// What asking for an export did.
#[derive(Debug, PartialEq)]
pub enum ExportRequested {
    /// This export was recorded and its job's event with it.
    Started,
    /// Another export of the organization is still running, or finished a moment ago: this one.
    Running(Export),
}

/// What recording a finished document did.
#[derive(Debug, PartialEq, Eq)]
pub enum Completed {
    Recorded,
    /// Recorded before (a redelivered job).
    AlreadyRecorded,
    /// The organization is being deleted, or the export ran past its time limit: the
    /// document must not stay.
    Abandoned,
}

pub struct ExportStore<'a> {
    pub(super) store: &'a Store,
}

impl ExportStore<'_> {
    /// Records `export` as the organization's running export, with the event that starts
    /// its job, if the caller is still an admin, the organization is not being deleted and
    /// no other export runs; in one transaction.
    pub async fn request(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        export: &Export,
        event: &Event,
    ) -> Result<ExportRequested, StoreError> {
        debug_assert!(caller.needs_admin, "exporting is an admin's act");
        let running = RunningExport { id: export.id, until: (export.requested_at + EXPORT_TIME_LIMIT).timestamp() };
        let take = Update::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(ORGANIZATION_SK.into()))
            .update_expression("SET running_export = :running")
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(deletion) \
                 AND (attribute_not_exists(running_export) OR running_export.#until < :now)",
            )
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":running", serde_dynamo::to_attribute_value(&running)?)
            .expression_attribute_values(":now", AttributeValue::N(export.requested_at.timestamp().to_string()))
            .build()?;
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Caller,
            Slot,
            Export,
            Event,
        }
        let transaction = Transaction::new()
            .with(Item::Caller, caller.check(self.store, scope)?)
            .with(Item::Slot, take)
            .with(Item::Export, self.store.put_new(serde_dynamo::to_item(ExportItem::new(scope, export.clone()))?)?)
            .with(Item::Event, self.store.put_new(serde_dynamo::to_item(OutboxItem::new(scope, event))?)?);
        match self.store.transact(transaction).await {
            Ok(()) => Ok(ExportRequested::Started),
            Err(e) if e.cancelled(Item::Caller) => Err(caller.refusal(self.store, scope).await),
            Err(e) if e.cancelled(Item::Slot) => {
                let organization: Option<OrganizationItem> =
                    self.store.get_item(tenant_pk(scope), ORGANIZATION_SK.into()).await?;
                let running = match organization {
                    Some(item) if item.deletion.is_none() => item.running_export,
                    _ => return Err(StoreError::NotFound),
                };
                match running {
                    Some(running) => match self.get(scope, running.id).await? {
                        Some(export) => Ok(ExportRequested::Running(export)),
                        // Its item is gone only past the time limit, when the slot is free.
                        None => Err(StoreError::VersionConflict),
                    },
                    // Given back since: asking again starts one.
                    None => Err(StoreError::VersionConflict),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The export, as the job reads it.
    pub async fn get(&self, scope: &TenantScope, id: ExportId) -> Result<Option<Export>, StoreError> {
        let item: Option<ExportItem> = self.store.get_item(tenant_pk(scope), export_sk(id)).await?;
        Ok(item.map(|i| i.export))
    }

    /// The export, for its admin: read in one call together with the caller's user item and
    /// the organization item, so that a token that still says `admin` after a demotion or
    /// removal gets nothing, and an organization being deleted shows no export.
    pub async fn get_for(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        id: ExportId,
    ) -> Result<Option<Export>, StoreError> {
        let key = |sk: String| {
            HashMap::from([
                (PK.to_owned(), AttributeValue::S(tenant_pk(scope))),
                (SK.to_owned(), AttributeValue::S(sk)),
            ])
        };
        let (export_key, user_key) = (export_sk(id), user_sk(caller.user_id));
        let mut wanted = Some(
            KeysAndAttributes::builder()
                .keys(key(export_key.clone()))
                .keys(key(user_key.clone()))
                .keys(key(ORGANIZATION_SK.to_owned()))
                .consistent_read(true)
                .build()?,
        );
        let mut found: Vec<RawItem> = Vec::new();
        // DynamoDB may leave keys unprocessed under load; three items are asked again at once.
        for _ in 0..3 {
            let Some(keys) = wanted.take() else { break };
            let out = self.store.client.batch_get_item().request_items(&self.store.table, keys).send().await?;
            found.extend(out.responses.and_then(|mut r| r.remove(&self.store.table)).unwrap_or_default());
            wanted =
                out.unprocessed_keys.and_then(|mut u| u.remove(&self.store.table)).filter(|k| !k.keys().is_empty());
        }
        if wanted.is_some() {
            return Err(StoreError::Unavailable("DynamoDB left reads unprocessed".into()));
        }
        let mut by_sk: HashMap<String, RawItem> =
            found.into_iter().filter_map(|item| Some((item.get(SK)?.as_s().ok()?.clone(), item))).collect();
        let user: UserItem = match by_sk.remove(&user_key) {
            None => return Err(StoreError::CallerGone),
            Some(item) => read_item(item)?,
        };
        if caller.needs_admin && user.user.role != Role::Admin {
            return Err(StoreError::CallerNotAdmin);
        }
        match by_sk.remove(ORGANIZATION_SK).map(read_item::<OrganizationItem>).transpose()? {
            Some(organization) if organization.deletion.is_none() => {}
            _ => return Ok(None),
        }
        by_sk.remove(&export_key).map(read_item::<ExportItem>).transpose().map(|i| i.map(|i| i.export))
    }

    /// Records the finished document of a pending export and keeps the slot for
    /// [`EXPORT_REUSE`], in one transaction, while the organization is not being deleted and
    /// the export is within its time limit.
    pub async fn complete(&self, scope: &TenantScope, export: &Export) -> Result<Completed, StoreError> {
        let ExportState::Ready(summary) = &export.state else {
            return Err(StoreError::Dynamo("only a finished export is recorded".into()));
        };
        let reuse_until = (summary.completed_at + EXPORT_REUSE).timestamp();
        let record = Put::builder()
            .table_name(&self.store.table)
            .set_item(Some(serde_dynamo::to_item(ExportItem::new(scope, export.clone()))?))
            .condition_expression("#state = :pending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
            .build()?;
        let give_back = Update::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(ORGANIZATION_SK.into()))
            .update_expression("SET running_export.#until = :reuse_until")
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(deletion) AND running_export.id = :id \
                 AND running_export.#until >= :now",
            )
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":id", AttributeValue::S(export.id.to_string()))
            .expression_attribute_values(":reuse_until", AttributeValue::N(reuse_until.to_string()))
            .expression_attribute_values(":now", AttributeValue::N(summary.completed_at.timestamp().to_string()))
            .build()?;
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Export,
            Slot,
        }
        let transaction = Transaction::new().with(Item::Export, record).with(Item::Slot, give_back);
        match self.store.transact(transaction).await {
            Ok(()) => Ok(Completed::Recorded),
            Err(e) if e.cancelled(Item::Export) => Ok(Completed::AlreadyRecorded),
            Err(e) if e.cancelled(Item::Slot) => Ok(Completed::Abandoned),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn users(&self, scope: &TenantScope, after: Option<String>) -> Result<Page<User>, StoreError> {
        let page = self.page::<UserItem>(scope, USER_SK_PREFIX, after).await?;
        Ok(page.map(|item| item.user, Some))
    }

    pub async fn tasks(&self, scope: &TenantScope, after: Option<String>) -> Result<Page<Task>, StoreError> {
        let page = self.page::<TaskItem>(scope, TASK_SK_PREFIX, after).await?;
        Ok(page.map(|item| item.task, Some))
    }

    /// The pending invitations: expired ones wait for TTL, which deletes them within days.
    pub async fn invitations(
        &self,
        scope: &TenantScope,
        after: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Page<Invitation>, StoreError> {
        let mut page =
            self.page::<InvitationItem>(scope, INVITATION_SK_PREFIX, after).await?.map(|i| i.invitation, Some);
        page.items.retain(|i| !i.is_expired(now));
        Ok(page)
    }

    /// One page (DynamoDB's 1 MB) of the items whose sort keys start with `prefix`, in key
    /// order, after the sort key `after`.
    async fn page<I: DeserializeOwned>(
        &self,
        scope: &TenantScope,
        prefix: &str,
        after: Option<String>,
    ) -> Result<Page<I>, StoreError> {
        let mut query = self.store.query_partition(scope, prefix.to_owned());
        if let Some(after) = after {
            query = query
                .exclusive_start_key(PK, AttributeValue::S(tenant_pk(scope)))
                .exclusive_start_key(SK, AttributeValue::S(after));
        }
        let out = query.send().await?;
        let last = out.last_evaluated_key.and_then(|k| k.get(SK).and_then(|v| v.as_s().ok()).cloned());
        let items_read = usize::try_from(out.scanned_count).unwrap_or(0);
        let (items, unreadable) = read_items(out.items.unwrap_or_default());
        Ok(Page { items, last, items_read, unreadable })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ExportSummary, OrgId, UserId};

    fn scope() -> TenantScope {
        TenantScope::verified(OrgId::generate())
    }

    #[test]
    fn an_export_item_reads_back_as_stored_in_both_states() {
        let scope = scope();
        let mut export = Export::new(UserId::generate(), Utc::now());
        let summary = ExportSummary {
            completed_at: Utc::now(),
            object_key: "exports/o/e/a.json".into(),
            size_bytes: 10,
            sha256: "ab".into(),
            users: 1,
            tasks: 2,
            invitations: 3,
            unreadable_items: 0,
        };
        for state in [ExportState::Pending, ExportState::Ready(summary)] {
            export.state = state;
            let item: RawItem = serde_dynamo::to_item(ExportItem::new(&scope, export.clone())).unwrap();
            let read: ExportItem = serde_dynamo::from_item(item).unwrap();
            assert_eq!(read.export, export);
        }
    }

    #[test]
    fn an_export_item_outlives_the_download_it_names() {
        let scope = scope();
        let export = Export::new(UserId::generate(), Utc::now());
        let item = ExportItem::new(&scope, export.clone());
        assert_eq!(item.expires_at, (export.requested_at + EXPORT_TIME_LIMIT + EXPORT_LIFETIME).timestamp());
    }
}
