//! Per-organization request budgets: one counter item in the organization's partition
//! (`RATE_LIMIT`) counts the requests of the current fixed window.
//!
//! - Counting in the current window is one conditional `UpdateItem` (1 WCU): the common
//!   case of an organization that is busy enough to be limited.
//! - The first request of a later window finds the old window in the refused update's
//!   answer (`ReturnValuesOnConditionCheckFailure`) and starts the new one with a second
//!   conditional update, once per window.
//! - The organization's first request ever creates the item in a transaction with a
//!   condition that the organization is live, so a token that outlives its organization's
//!   deletion leaves no counter behind (the other two updates never create an item).
//!
//! An operator gives an organization a budget of its own by setting `quota` (a number of
//! requests per window) on its counter item; the window's length is the stack's.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::table::keys::{PK, RATE_LIMIT_SK, SK, tenant_pk};
use super::table::transaction::Transaction;
use super::{Store, StoreError, TenantScope};

pub struct RateLimitStore<'a> {
    pub(super) store: &'a Store,
}

/// What counting one request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Counted: `used` of the window's `quota`, this request included.
    Within { quota: u32, used: u32 },
    /// The window's quota is spent: nothing was counted.
    Over { quota: u32 },
    /// The organization is gone or being deleted: there is nothing to count against (the
    /// request itself finds nothing, or is refused, as it would without a limit).
    OrganizationGone,
}

/// The counter as a refused update found it.
enum Found {
    Nothing,
    Window { start: i64, quota: Option<u32> },
}

const WINDOW: &str = "window_start";
const USED: &str = "used";
const QUOTA: &str = "quota";

fn number<T: std::str::FromStr>(item: &HashMap<String, AttributeValue>, name: &str) -> Option<T> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

impl RateLimitStore<'_> {
    /// Counts one request of the organization in the window that started at `window_start`
    /// (seconds), against its own quota or `default_quota`.
    pub async fn count(
        &self,
        scope: &TenantScope,
        window_start: i64,
        default_quota: u32,
    ) -> Result<Counted, StoreError> {
        // A concurrent request may start the window (or create the item) between our
        // refused update and our own start; the next round then counts in it. An instance
        // whose clock runs ahead may have started a later window: we count in that one.
        let mut window = window_start;
        for _ in 0..3 {
            let found = match self.count_in_window(scope, window, default_quota).await? {
                Ok(counted) => return Ok(counted),
                Err(found) => found,
            };
            let started = match found {
                Found::Window { start, quota } if start == window => {
                    return Ok(Counted::Over { quota: quota.unwrap_or(default_quota) });
                }
                Found::Window { start, .. } if start > window => {
                    window = start;
                    continue;
                }
                Found::Window { quota: Some(0), .. } => return Ok(Counted::Over { quota: 0 }),
                Found::Window { quota, .. } => {
                    self.start_window(scope, window).await?.then_some(quota.unwrap_or(default_quota))
                }
                Found::Nothing => match self.create(scope, window).await? {
                    Creation::Done => Some(default_quota),
                    Creation::OrganizationGone => return Ok(Counted::OrganizationGone),
                    Creation::AlreadyThere => None,
                },
            };
            if let Some(quota) = started {
                return Ok(if quota == 0 { Counted::Over { quota } } else { Counted::Within { quota, used: 1 } });
            }
        }
        Err(StoreError::Unavailable("the rate counter kept changing under concurrent requests".into()))
    }

    /// `ADD used 1` while the item's window is `window_start` and its quota is not spent;
    /// refused, the item as it was (or nothing, when there is none).
    async fn count_in_window(
        &self,
        scope: &TenantScope,
        window_start: i64,
        default_quota: u32,
    ) -> Result<Result<Counted, Found>, StoreError> {
        let answer = self
            .store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(RATE_LIMIT_SK.into()))
            .update_expression("ADD #used :one")
            .condition_expression(
                "#window = :window AND ((attribute_exists(#quota) AND #used < #quota) OR \
                 (attribute_not_exists(#quota) AND #used < :default))",
            )
            .expression_attribute_names("#window", WINDOW)
            .expression_attribute_names("#used", USED)
            .expression_attribute_names("#quota", QUOTA)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":window", AttributeValue::N(window_start.to_string()))
            .expression_attribute_values(":default", AttributeValue::N(default_quota.to_string()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match answer {
            Ok(output) => {
                let item = output.attributes.unwrap_or_default();
                let quota = number(&item, QUOTA).unwrap_or(default_quota);
                Ok(Ok(Counted::Within { quota, used: number(&item, USED).unwrap_or(1) }))
            }
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    let found = match refused.item() {
                        Some(item) => match number(item, WINDOW) {
                            Some(start) => Found::Window { start, quota: number(item, QUOTA) },
                            None => Found::Nothing,
                        },
                        None => Found::Nothing,
                    };
                    Ok(Err(found))
                }
                _ => Err(StoreError::dynamo(e)),
            },
        }
    }

    /// Starts the window at `window_start` on the existing item whose window is older:
    /// `false` when another request started it (or a later one) first.
    async fn start_window(&self, scope: &TenantScope, window_start: i64) -> Result<bool, StoreError> {
        let answer = self
            .store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(RATE_LIMIT_SK.into()))
            .update_expression("SET #window = :window, #used = :one")
            .condition_expression("#window < :window")
            .expression_attribute_names("#window", WINDOW)
            .expression_attribute_names("#used", USED)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":window", AttributeValue::N(window_start.to_string()))
            .send()
            .await;
        match answer {
            Ok(_) => Ok(true),
            Err(e) if super::table::error::is_condition_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::dynamo(e)),
        }
    }

    /// The organization's first counter, while the organization is live.
    async fn create(&self, scope: &TenantScope, window_start: i64) -> Result<Creation, StoreError> {
        let item = HashMap::from([
            (PK.to_owned(), AttributeValue::S(tenant_pk(scope))),
            (SK.to_owned(), AttributeValue::S(RATE_LIMIT_SK.into())),
            (WINDOW.to_owned(), AttributeValue::N(window_start.to_string())),
            (USED.to_owned(), AttributeValue::N("1".into())),
        ]);
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Organization,
            Counter,
        }
        let transaction = Transaction::new()
            .with(Item::Organization, self.store.organization_live(scope)?)
            .with(Item::Counter, self.store.put_new(item)?);
        match self.store.transact(transaction).await {
            Ok(()) => Ok(Creation::Done),
            Err(e) if e.cancelled(Item::Organization) => Ok(Creation::OrganizationGone),
            Err(e) if e.cancelled(Item::Counter) => Ok(Creation::AlreadyThere),
            Err(e) => Err(e.into()),
        }
    }
}

/// What creating the organization's first counter came to.
enum Creation {
    Done,
    AlreadyThere,
    OrganizationGone,
}
