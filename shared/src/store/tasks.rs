//! Tasks as stored: one item per task in the organization's partition, with the keys of
//! the sparse indexes (by status, by assignee, by both) that let a filtered list read only
//! matching tasks. Every write is one transaction that also records the write's events in
//! the outbox and, for a user's write, re-checks the caller against their stored user item;
//! a replace is conditional on the version it read, so two writers cannot both win.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::caller::Caller;
use super::outbox;
use super::table::keys::{
    PK, SK, TASK_SK_PREFIX, assignee_pk, assignee_status_pk, status_pk, task_id_from_sk, task_sk, tenant_pk,
};
use super::table::page_of;
use super::table::schema::{
    ASSIGNEE_PK, ASSIGNEE_STATUS_PK, STATUS_PK, TASKS_BY_ASSIGNEE, TASKS_BY_ASSIGNEE_STATUS, TASKS_BY_STATUS,
};
use super::table::transaction::Transaction;
use super::{IdempotencyClaim, Page, Store, StoreError, StoredAnswer, TenantScope};
use crate::domain::events::{Event, EventKind, Provenance};
use crate::domain::{Task, TaskDraft, TaskId, TaskPatch, TaskStatus, UserId};

/// A task as stored: its keys, the keys of the sparse indexes it belongs to, and the task.
#[derive(Serialize, Deserialize)]
pub(super) struct TaskItem {
    pk: String,
    sk: String,
    status_pk: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignee_pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignee_status_pk: Option<String>,
    #[serde(flatten)]
    pub task: Task,
}

impl TaskItem {
    fn new(scope: &TenantScope, task: Task) -> Self {
        Self {
            pk: tenant_pk(scope),
            sk: task_sk(task.id),
            status_pk: status_pk(scope, task.status),
            assignee_pk: task.assignee_id.map(|a| assignee_pk(scope, a)),
            assignee_status_pk: task.assignee_id.map(|a| assignee_status_pk(scope, a, task.status)),
            task,
        }
    }
}

/// Which tasks a list asks for. Each variant is answered by one Query on its own key, so a
/// filtered page reads only matching items.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskFilter {
    pub status: Option<TaskStatus>,
    pub assignee: Option<UserId>,
}

impl TaskFilter {
    pub fn new(status: Option<TaskStatus>, assignee: Option<UserId>) -> Self {
        Self { status, assignee }
    }

    /// A stable text naming the filter, which cursors are bound to.
    pub fn fingerprint(&self) -> String {
        match (self.status, self.assignee) {
            (None, None) => "all".into(),
            (Some(s), None) => format!("status={}", s.as_str()),
            (None, Some(a)) => format!("assignee={a}"),
            (Some(s), Some(a)) => format!("assignee={a}&status={}", s.as_str()),
        }
    }

    /// The index to query, its partition key attribute and value; `None` means the
    /// tenant's partition of the table itself.
    fn index(&self, scope: &TenantScope) -> Option<(&'static str, &'static str, String)> {
        match (self.status, self.assignee) {
            (None, None) => None,
            (Some(s), None) => Some((TASKS_BY_STATUS, STATUS_PK, status_pk(scope, s))),
            (None, Some(a)) => Some((TASKS_BY_ASSIGNEE, ASSIGNEE_PK, assignee_pk(scope, a))),
            (Some(s), Some(a)) => Some((TASKS_BY_ASSIGNEE_STATUS, ASSIGNEE_STATUS_PK, assignee_status_pk(scope, a, s))),
        }
    }
}

/// How a delete ended when it did not delete.
#[derive(Debug, PartialEq, Eq)]
pub enum DeleteRefused {
    NotFound,
    NotCreator,
}

pub struct TaskStore<'a> {
    pub(super) store: &'a Store,
}

impl TaskStore<'_> {
    /// Creates the task and records its `task.created` notification in the same
    /// transaction, so the task never exists without its pending mail; the transaction also
    /// checks that the creator is still a member.
    pub async fn create(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        draft: TaskDraft,
        now: DateTime<Utc>,
        by: &Provenance,
    ) -> Result<(Task, Event), StoreError> {
        let task = Task::create(draft, scope.org_id(), caller.user_id, now);
        let event = self.create_recorded(scope, caller, &task, by, None).await?;
        Ok((task, event))
    }

    /// Writes `task`, made by the caller (see [`Task::create`]), with its event, and with the
    /// answer to the request that asked for it where one is given: then a retry with the
    /// same `Idempotency-Key` finds the answer even if the function dies right after.
    pub async fn create_recorded(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        task: &Task,
        by: &Provenance,
        answer: Option<(&IdempotencyClaim, &StoredAnswer)>,
    ) -> Result<Event, StoreError> {
        debug_assert_eq!((task.organization_id, task.created_by), (scope.org_id(), caller.user_id));
        let event = Event::task_created(task, by);
        let task_put = self.store.put_new(serde_dynamo::to_item(TaskItem::new(scope, task.clone()))?)?;
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Caller,
            Task,
            Event,
            Answer,
        }
        let mut transaction = Transaction::new()
            .with(Item::Caller, caller.check(self.store, scope)?)
            .with(Item::Task, task_put)
            .with(Item::Event, outbox::record(self.store, scope, &event)?);
        if let Some((claim, answer)) = answer.filter(|(claim, _)| claim.is_for(scope)) {
            transaction.push(Item::Answer, claim.record(self.store, answer)?);
        }
        match self.store.transact(transaction).await {
            Ok(()) => Ok(event),
            Err(e) if e.cancelled(Item::Caller) => Err(caller.refusal(self.store, scope).await),
            // The claim ran out and another retry took it over: that one answers.
            Err(e) if e.cancelled(Item::Answer) => Err(StoreError::VersionConflict),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get(&self, scope: &TenantScope, id: TaskId) -> Result<Option<Task>, StoreError> {
        let item: Option<TaskItem> = self.store.get_item(tenant_pk(scope), task_sk(id)).await?;
        Ok(item.map(|i| i.task))
    }

    /// One page, newest first, starting after `after`. It asks DynamoDB for one item more
    /// than the page holds, so that `last` is set only when another page really exists.
    pub async fn list_page(
        &self,
        scope: &TenantScope,
        filter: &TaskFilter,
        limit: usize,
        after: Option<TaskId>,
    ) -> Result<Page<Task, TaskId>, StoreError> {
        let query_limit = i32::try_from(limit + 1).unwrap_or(i32::MAX);
        let mut start: HashMap<String, AttributeValue> = HashMap::new();
        let mut query = match filter.index(scope) {
            None => self.store.query_partition(scope, TASK_SK_PREFIX.into()),
            Some((index, attribute, value)) => {
                start.insert(attribute.into(), AttributeValue::S(value.clone()));
                self.store
                    .client
                    .query()
                    .table_name(&self.store.table)
                    .index_name(index)
                    .key_condition_expression("#ipk = :ipk")
                    .expression_attribute_names("#ipk", attribute)
                    .expression_attribute_values(":ipk", AttributeValue::S(value))
            }
        }
        .scan_index_forward(false)
        .limit(query_limit);
        if let Some(after) = after {
            start.insert(PK.into(), AttributeValue::S(tenant_pk(scope)));
            start.insert(SK.into(), AttributeValue::S(task_sk(after)));
            query = query.set_exclusive_start_key(Some(start));
        }
        let out = query.send().await?;
        let truncated = out.last_evaluated_key.is_some();
        let page: Page<TaskItem> = page_of(out, limit, truncated);
        Ok(page.map(|i| i.task, |sk| task_id_from_sk(&sk)))
    }

    /// Writes `next` in place of the stored task, only if the stored one is still at
    /// `expected_version`: two writers that read the same version cannot both win. The
    /// events the change causes are recorded in the outbox in the same transaction. A change
    /// a user asked for checks that they are still a member (`caller`); one the service makes
    /// on its own (unassigning a removed member's tasks) has no caller.
    pub async fn replace(
        &self,
        scope: &TenantScope,
        next: &Task,
        expected_version: u64,
        events: &[Event],
        caller: Option<&Caller>,
    ) -> Result<(), StoreError> {
        let task_put = Put::builder()
            .table_name(&self.store.table)
            .set_item(Some(serde_dynamo::to_item(TaskItem::new(scope, next.clone()))?))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", AttributeValue::N(expected_version.to_string()))
            .build()?;
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Task,
            Event,
            Caller,
        }
        let mut transaction = Transaction::new().with(Item::Task, task_put);
        for event in events {
            transaction.push(Item::Event, outbox::record(self.store, scope, event)?);
        }
        if let Some(caller) = caller {
            transaction.push(Item::Caller, caller.check(self.store, scope)?);
        }
        match (self.store.transact(transaction).await, caller) {
            (Ok(()), _) => Ok(()),
            (Err(e), Some(caller)) if e.cancelled(Item::Caller) => Err(caller.refusal(self.store, scope).await),
            (Err(e), _) if e.cancelled(Item::Task) => Err(StoreError::VersionConflict),
            (Err(e), _) => Err(e.into()),
        }
    }

    /// Unassigns every task assigned to `user` (who is being removed), each change
    /// conditional on the version it read, like any update, and recorded as a
    /// `task.updated` by whoever removed them. Answers the events, to dispatch.
    pub async fn unassign_all(
        &self,
        scope: &TenantScope,
        user: UserId,
        by: &Provenance,
    ) -> Result<Vec<Event>, StoreError> {
        let filter = TaskFilter::new(None, Some(user));
        let mut recorded = Vec::new();
        let mut after = None;
        loop {
            let page = self.list_page(scope, &filter, 25, after).await?;
            for listed in &page.items {
                for _attempt in 0..3 {
                    // The index may lag; the table is the truth.
                    let Some(task) = self.get(scope, listed.id).await? else { break };
                    if task.assignee_id != Some(user) {
                        break;
                    }
                    let patch = TaskPatch { assignee_id: Some(None), ..TaskPatch::default() };
                    let next = task.patched(patch, Utc::now());
                    let events = Event::task_changed(&task, &next, by);
                    match self.replace(scope, &next, task.version, &events, None).await {
                        Ok(()) => {
                            recorded.extend(events);
                            break;
                        }
                        Err(StoreError::VersionConflict) => continue,
                        Err(e) => return Err(e),
                    }
                }
            }
            match page.last {
                Some(last) => after = Some(last),
                None => return Ok(recorded),
            }
        }
    }

    /// Deletes the task, if the caller may: an admin any task, a member only the tasks they
    /// created. Both are checked against the stored caller in the same transaction, which
    /// records the `task.deleted` event. A refusal says whether the task was missing or
    /// someone else's, which needs a second read only then.
    pub async fn delete(
        &self,
        scope: &TenantScope,
        id: TaskId,
        caller: &Caller,
        by: &Provenance,
    ) -> Result<Result<Event, DeleteRefused>, StoreError> {
        let mut delete = Delete::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(task_sk(id)));
        delete = if caller.needs_admin {
            delete.condition_expression("attribute_exists(pk)")
        } else {
            delete
                .condition_expression("attribute_exists(pk) AND created_by = :user")
                .expression_attribute_values(":user", AttributeValue::S(caller.user_id.to_string()))
        };
        let delete = delete.build()?;
        let event = Event::new(scope.org_id(), Utc::now(), by, EventKind::TaskDeleted { task_id: id });
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Caller,
            Task,
            Event,
        }
        let transaction = Transaction::new()
            .with(Item::Caller, caller.check(self.store, scope)?)
            .with(Item::Task, delete)
            .with(Item::Event, outbox::record(self.store, scope, &event)?);
        match self.store.transact(transaction).await {
            Ok(()) => Ok(Ok(event)),
            Err(e) if e.cancelled(Item::Caller) => Err(caller.refusal(self.store, scope).await),
            Err(e) if e.cancelled(Item::Task) => match self.get(scope, id).await? {
                None => Ok(Err(DeleteRefused::NotFound)),
                Some(_) => Ok(Err(DeleteRefused::NotCreator)),
            },
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Priority, TaskTitle};

    #[test]
    fn a_task_item_round_trips_and_carries_only_its_index_keys() {
        let scope = TenantScope::for_new_organization();
        let draft = TaskDraft {
            title: TaskTitle::parse("t").unwrap(),
            description: None,
            status: TaskStatus::InProgress,
            priority: Priority::High,
            assignee_id: None,
            due_date: None,
        };
        let task = Task::create(draft, scope.org_id(), UserId::generate(), Utc::now());
        let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(TaskItem::new(&scope, task.clone())).unwrap();
        assert!(!item.contains_key(ASSIGNEE_PK), "an unassigned task must stay out of the assignee indexes");
        assert_eq!(item[STATUS_PK], AttributeValue::S(status_pk(&scope, TaskStatus::InProgress)));
        let back: TaskItem = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back.task, task);
    }

    proptest::proptest! {
        /// Whatever task the API accepts, stored as an item, reads back as the same task.
        #[test]
        fn an_accepted_task_reads_back_from_its_item(
            title in "\\PC{0,60}",
            description in proptest::option::of("(\\PC|\n){0,120}"),
            status in proptest::sample::select(TaskStatus::ALL.to_vec()),
            assigned in proptest::bool::ANY,
            due in proptest::option::of((-400_000_000_000i64..400_000_000_000i64, -86_399i32..86_399)),
        ) {
            let due = due.map(|(secs, offset)| {
                DateTime::from_timestamp(secs, 0).unwrap().with_timezone(&chrono::FixedOffset::east_opt(offset).unwrap()).to_rfc3339()
            });
            let body = serde_json::json!({
                "title": title, "description": description, "status": status,
                "assignee_id": assigned.then(UserId::generate), "due_date": due,
            });
            if let Ok(draft) = serde_json::from_value::<TaskDraft>(body) {
                let scope = TenantScope::for_new_organization();
                let task = Task::create(draft, scope.org_id(), UserId::generate(), Utc::now());
                let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(TaskItem::new(&scope, task.clone())).unwrap();
                let back: TaskItem = super::super::table::read_item(item).unwrap();
                proptest::prop_assert_eq!(back.task, task);
            }
        }
    }

    #[test]
    fn each_filter_names_its_own_index() {
        let scope = TenantScope::for_new_organization();
        let a = UserId::generate();
        assert!(TaskFilter::default().index(&scope).is_none());
        let names: Vec<_> = [
            TaskFilter::new(Some(TaskStatus::Done), None),
            TaskFilter::new(None, Some(a)),
            TaskFilter::new(Some(TaskStatus::Done), Some(a)),
        ]
        .iter()
        .map(|f| f.index(&scope).unwrap().0)
        .collect();
        assert_eq!(names, [TASKS_BY_STATUS, TASKS_BY_ASSIGNEE, TASKS_BY_ASSIGNEE_STATUS]);
    }
}
