//! The tenant-keyed DynamoDB store: one table, single-table design.
//!
//! Every tenant-owned item lives in the partition `ORG#<organization id>`, and every
//! function that forms such a key takes a [`TenantScope`](TenantScope), which
//! only a verified caller has. Request paths use GetItem, Query and conditional writes;
//! nothing here scans.

mod account_tokens;
mod admin_count;
mod api_keys;
mod audit;
mod caller;
mod capacity;
mod credentials;
mod cursor;
mod deletion;
mod deliveries;
mod error;
mod exports;
mod idempotency;
mod invitations;
mod keys;
mod mail_budget;
mod organizations;
mod outbox;
mod rate_limits;
pub mod schema;
mod scope;
mod sessions;
mod tasks;
mod throttle;
mod user_item;
mod users;
mod webhooks;

pub use account_tokens::{AccountTokenStore, PendingVerification, RESET_LIFETIME, VERIFICATION_LIFETIME};
pub use api_keys::{ApiKeyPage, ApiKeyStore, FoundApiKey, LAST_USE_RESOLUTION};
pub use audit::{AuditFilter, AuditPage, AuditPosition, AuditStore, Entered};
pub use caller::Caller;
pub use credentials::{CredentialStore, Credentials};
pub use cursor::{CursorError, CursorKey};
pub use deletion::{DeletionStore, Progress, Requested};
pub use deliveries::{Claim, ClaimRule, DeliveryState, DeliveryStore};
pub(crate) use error::is_transient;
pub use error::{StoreError, Unique};
pub use exports::{Completed, ExportPage, ExportRequested, ExportStore};
pub use idempotency::{Begun, CLAIM_LEASE, IDEMPOTENCY_LIFETIME, IdempotencyClaim, IdempotencyStore, StoredAnswer};
pub use invitations::{InvitationPage, InvitationQuota, InvitationStore, InvitationToken, NewInvitation};
pub use mail_budget::{MailBudgetStore, Spent};
pub use organizations::{DeletionRequest, NewAdmin, OrganizationStore, Registration, StaleRegistration};
pub use outbox::OutboxStore;
pub use rate_limits::{Counted, RateLimitStore};
pub use scope::TenantScope;
pub use sessions::{RefreshToken, Session, SessionStore};
pub use tasks::{DeleteRefused, TaskFilter, TaskPage, TaskStore};
pub use throttle::{ThrottleStore, counter_key};
pub use users::{UserPage, UserStore};
pub use webhooks::{DELIVERY_RECORD_LIFETIME, DeliveryPage, MAX_WEBHOOKS, StoredWebhook, WebhookPage, WebhookStore};

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// How often a transaction runs when DynamoDB cancels it for a conflict (see [`Store::transact`]).
const CONFLICT_ATTEMPTS: u32 = 3;

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

    pub fn account_tokens(&self) -> AccountTokenStore<'_> {
        AccountTokenStore { store: self }
    }

    pub fn api_keys(&self) -> ApiKeyStore<'_> {
        ApiKeyStore { store: self }
    }

    pub fn audit(&self) -> AuditStore<'_> {
        AuditStore { store: self }
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

    pub fn mail_budget(&self) -> MailBudgetStore<'_> {
        MailBudgetStore { store: self }
    }

    pub fn outbox(&self) -> OutboxStore<'_> {
        OutboxStore { store: self }
    }

    pub fn deletions(&self) -> DeletionStore<'_> {
        DeletionStore { store: self }
    }

    pub fn exports(&self) -> ExportStore<'_> {
        ExportStore { store: self }
    }

    pub fn idempotency(&self) -> IdempotencyStore<'_> {
        IdempotencyStore { store: self }
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

    pub fn webhooks(&self) -> WebhookStore<'_> {
        WebhookStore { store: self }
    }

    pub fn rate_limits(&self) -> RateLimitStore<'_> {
        RateLimitStore { store: self }
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
        out.item.map(read_item).transpose()
    }

    /// A consistent Query of the scope's partition for the sort keys that start with
    /// `prefix` (a kind of item: tasks, users, sessions of one user, ...).
    fn query_partition(
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
    async fn partition_page<T: serde::de::DeserializeOwned>(
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
        let out = query.send().await.map_err(StoreError::dynamo)?;
        Ok(page_of(out.items.unwrap_or_default(), limit, out.last_evaluated_key.is_some()))
    }

    /// Runs a transaction, again when DynamoDB cancelled it for a conflict with another
    /// transaction on the same items (`TransactionConflict`: nothing was written, so running it
    /// again is safe), at most [`CONFLICT_ATTEMPTS`] times with a short jittered pause. The
    /// SDK does not retry these itself. A conflict that outlasts them becomes
    /// `VersionConflict` (409) in [`StoreError::dynamo`].
    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<TransactWriteItemsOutput, SdkError<TransactWriteItemsError, HttpResponse>> {
        let request = self.client.transact_write_items().set_transact_items(Some(items));
        // Our own attempts get tokens of their own; the SDK's retries of one attempt keep its
        // token, so DynamoDB does not apply it twice when only its answer was lost.
        again_on_conflict(|| request.clone().client_request_token(uuid::Uuid::new_v4().to_string()).send()).await
    }

    /// A transaction's condition that the organization exists and is not being deleted, so
    /// that nothing the transaction writes outlives a deletion that raced it.
    pub(crate) fn organization_live(&self, scope: &TenantScope) -> Result<TransactWriteItem, StoreError> {
        let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&self.table)
            .key(keys::PK, AttributeValue::S(keys::tenant_pk(scope)))
            .key(keys::SK, AttributeValue::S(keys::ORGANIZATION_SK.into()))
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(deletion)")
            .build()
            .map_err(|e| StoreError::Dynamo(e.to_string()))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
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

/// Runs a transaction (`call` sends it once), again when DynamoDB cancelled it for a
/// conflict with another transaction on the same items, at most [`CONFLICT_ATTEMPTS`] times
/// with a short jittered pause; answers the last attempt's result.
async fn again_on_conflict<F, Fut, T, E>(mut call: F) -> Result<T, SdkError<E, HttpResponse>>
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
type RawItem = HashMap<String, AttributeValue>;

/// One page of items read by a Query: those that map to their type, and the sort key of
/// the last item read (mapped or not) when another page follows.
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub last_sk: Option<String>,
}

/// The first `limit` of `raw` (read with a limit of one more), mapped, and where the next
/// page starts. The cursor follows the items read, so an unreadable one is passed over, not
/// met again on every next page.
fn page_of<T: serde::de::DeserializeOwned>(mut raw: Vec<RawItem>, limit: usize, truncated: bool) -> Page<T> {
    let more = raw.len() > limit || truncated;
    raw.truncate(limit);
    let last_sk = if more { raw.last().and_then(|i| sort_key(i)).map(str::to_owned) } else { None };
    Page { items: readable_items(raw), last_sk }
}

fn sort_key(item: &RawItem) -> Option<&str> {
    item.get(keys::SK).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// Maps one stored item to its type. One that does not map (written by an older version,
/// or by hand) is logged with its key, never its contents, and answered as `Unreadable`.
fn read_item<T: serde::de::DeserializeOwned>(item: RawItem) -> Result<T, StoreError> {
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
fn readable_items<T: serde::de::DeserializeOwned>(items: Vec<RawItem>) -> Vec<T> {
    items.into_iter().filter_map(|item| read_item(item).ok()).collect()
}
