//! The table's mechanisms, apart from the aggregates that use them: the handle on the table
//! ([`Store`]), its keys and schema, the scope every tenant key needs, cursors, the
//! capacity log, errors, named transactions, and reading items and pages. Nothing here
//! knows a task or a user; the aggregates beside this module (`store::tasks`,
//! `store::users`, ...) are written with these parts.

mod capacity;
pub(super) mod cursor;
pub(super) mod error;
pub(super) mod keys;
pub mod schema;
pub(super) mod scope;
pub(super) mod transaction;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use error::StoreError;
use scope::TenantScope;
use transaction::{Transaction, TransactionFailed};

/// How often a transaction runs when DynamoDB cancels it for a conflict (see [`Store::transact`]).
const CONFLICT_ATTEMPTS: u32 = 3;

/// A handle on the table; cheap to clone, built once per cold start.
#[derive(Clone, Debug)]
pub struct Store {
    pub(super) client: Client,
    pub(super) table: String,
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

    /// One item by its key, read consistently, mapped to its type.
    pub(super) async fn get_item<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: String,
    ) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, AttributeValue::S(pk))
            .key(keys::SK, AttributeValue::S(sk))
            .consistent_read(true)
            .send()
            .await?;
        out.item.map(read_item).transpose()
    }

    /// A consistent Query of the scope's partition for the sort keys that start with
    /// `prefix` (a kind of item: tasks, users, sessions of one user, ...).
    pub(super) fn query_partition(
        &self,
        scope: &TenantScope,
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
    /// `after`. It reads one item more than the page holds, so that a next page is named
    /// only when one really exists.
    pub(super) async fn partition_page<T: serde::de::DeserializeOwned>(
        &self,
        scope: &TenantScope,
        prefix: &str,
        limit: usize,
        after: Option<String>,
    ) -> Result<Page<T>, StoreError> {
        let mut query = self
            .query_partition(scope, prefix.into())
            .scan_index_forward(false)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
        if let Some(after) = after {
            query = query
                .exclusive_start_key(keys::PK, AttributeValue::S(keys::tenant_pk(scope)))
                .exclusive_start_key(keys::SK, AttributeValue::S(after));
        }
        let out = query.send().await?;
        let truncated = out.last_evaluated_key.is_some();
        Ok(page_of(out, limit, truncated))
    }

    /// Runs a transaction, again when DynamoDB cancelled it for a conflict with another
    /// transaction on the same items (`TransactionConflict`: nothing was written, so running it
    /// again is safe), at most [`CONFLICT_ATTEMPTS`] times with a short jittered pause. The
    /// SDK does not retry these itself. A conflict that outlasts them becomes
    /// `VersionConflict` (409) in [`StoreError::dynamo`].
    pub(crate) async fn transact<N>(&self, transaction: Transaction<N>) -> Result<(), TransactionFailed<N>> {
        let Transaction { items, names } = transaction;
        let request = self.client.transact_write_items().set_transact_items(Some(items));
        // Our own attempts get tokens of their own; the SDK's retries of one attempt keep its
        // token, so DynamoDB does not apply it twice when only its answer was lost.
        match again_on_conflict(|| request.clone().client_request_token(uuid::Uuid::new_v4().to_string()).send()).await
        {
            Ok(_) => Ok(()),
            Err(error) => Err(TransactionFailed { names, error }),
        }
    }

    /// A transaction's condition that the organization exists and is not being deleted, so
    /// that nothing the transaction writes outlives a deletion that raced it.
    pub(crate) fn organization_live(&self, scope: &TenantScope) -> Result<TransactWriteItem, StoreError> {
        let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&self.table)
            .key(keys::PK, AttributeValue::S(keys::tenant_pk(scope)))
            .key(keys::SK, AttributeValue::S(keys::ORGANIZATION_SK.into()))
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(deletion)")
            .build()?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// A transactional put that only creates: it fails if an item with its key exists.
    pub(crate) fn put_new(&self, item: std::collections::HashMap<String, AttributeValue>) -> Result<Put, StoreError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(StoreError::from)
    }
}

/// Runs a transaction (`call` sends it once), again when DynamoDB cancelled it for a
/// conflict with another transaction on the same items, at most [`CONFLICT_ATTEMPTS`] times
/// with a short jittered pause; answers the last attempt's result.
pub(super) async fn again_on_conflict<F, Fut, T, E>(mut call: F) -> Result<T, SdkError<E, HttpResponse>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: std::error::Error + 'static,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if attempt < CONFLICT_ATTEMPTS && error::is_transaction_conflict(&e) => {
                let mut jitter = [0u8; 1];
                aws_lc_rs::rand::fill(&mut jitter).expect("the system RNG works");
                let pause = 10 * (1 << attempt) + u64::from(jitter[0] % 20);
                tracing::info!(attempt, pause_ms = pause, "transaction conflict: running it again");
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// An item as DynamoDB answers it.
pub(super) type RawItem = HashMap<String, AttributeValue>;

/// One page of a list read by a Query: the items that map to their type, and where the
/// next page starts when another may follow. `P` names that place: the sort key of the last
/// item read inside the store, the id of the last item in what the store answers.
#[derive(Debug)]
pub struct Page<T, P = String> {
    pub items: Vec<T>,
    /// The last item read (mapped or not) when more may follow.
    pub last: Option<P>,
    /// How many items DynamoDB read to answer (its ScannedCount): with the indexes this is
    /// the page plus one, however many other items the tenant or the table holds.
    pub items_read: usize,
    /// Items read that do not map to their type: logged with their keys, left out.
    pub unreadable: u64,
}

impl<T, P> Page<T, P> {
    /// The same page with each item mapped by `item`, and its place by `last` (`None`: the
    /// place does not name a next page after all).
    pub(super) fn map<U, Q>(self, item: impl FnMut(T) -> U, last: impl FnOnce(P) -> Option<Q>) -> Page<U, Q> {
        Page {
            items: self.items.into_iter().map(item).collect(),
            last: self.last.and_then(last),
            items_read: self.items_read,
            unreadable: self.unreadable,
        }
    }
}

/// The first `limit` items of a Query's answer (read with a limit of one more), mapped, and
/// where the next page starts (also when `truncated`: DynamoDB stopped before the end). The
/// cursor follows the items read, so an unreadable one is passed over, not met again on
/// every next page.
pub(super) fn page_of<T: serde::de::DeserializeOwned>(out: QueryOutput, limit: usize, truncated: bool) -> Page<T> {
    let items_read = usize::try_from(out.scanned_count).unwrap_or(0);
    let mut raw = out.items.unwrap_or_default();
    let more = raw.len() > limit || truncated;
    raw.truncate(limit);
    let last = if more { raw.last().and_then(|i| sort_key(i)).map(str::to_owned) } else { None };
    let (items, unreadable) = read_items(raw);
    Page { items, last, items_read, unreadable }
}

fn sort_key(item: &RawItem) -> Option<&str> {
    item.get(keys::SK).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// Maps one stored item to its type. One that does not map (written by an older version,
/// or by hand) is logged with its key, never its contents, and answered as `Unreadable`.
pub(super) fn read_item<T: serde::de::DeserializeOwned>(item: RawItem) -> Result<T, StoreError> {
    let key = format!(
        "{}/{}",
        item.get(keys::PK).and_then(|v| v.as_s().ok()).map_or("?", String::as_str),
        sort_key(&item).unwrap_or("?")
    );
    serde_dynamo::from_item(item).map_err(|e| {
        tracing::error!(key = %key, error = %e, "a stored item does not map to its type: left out");
        StoreError::Unreadable { key }
    })
}

/// The items of a read that map to their type; any other is logged and left out, so that
/// one item cannot take a whole list down.
pub(super) fn readable_items<T: serde::de::DeserializeOwned>(items: Vec<RawItem>) -> Vec<T> {
    read_items(items).0
}

/// The items of a read that map to their type, and how many did not (see [`readable_items`]).
pub(super) fn read_items<T: serde::de::DeserializeOwned>(raw: Vec<RawItem>) -> (Vec<T>, u64) {
    let (mut items, mut unreadable) = (Vec::with_capacity(raw.len()), 0);
    for item in raw {
        match read_item(item) {
            Ok(item) => items.push(item),
            Err(_) => unreadable += 1,
        }
    }
    (items, unreadable)
}
