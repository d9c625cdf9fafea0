//! Per-organization request budgets: one counter item in the organization's partition
//! (`RATE_LIMIT`) counts the requests of the current fixed window, in leases.
//!
//! No request writes it on its own. Each function instance leases some of the window's
//! requests with one conditional update and spends them from memory ([`RateLeases`], which
//! sizes each lease by what the instance serves, up to a tenth of the quota and at most 100:
//! [`RateBudget::lease_size`]). So the counter takes one write per lease, never one per
//! request (an organization at 5,000 requests a second writes it about 50 times a second, far
//! from the 1,000 one item takes), and a warm read is one DynamoDB call, a lease aside.
//!
//! - Leasing in the current window is one conditional `UpdateItem` (1 WCU) that adds the
//!   lease's size while the window's count is under the quota; it grants that size, or what
//!   was left of the quota when that is less. So the organization is **never served more than
//!   its quota** in a window (an operator's lower quota applies from each instance's next
//!   lease); it may be refused early by what other instances hold unspent (see
//!   [`RateLeases`]).
//! - The first lease of a later window finds the old window in the refused update's answer
//!   (`ReturnValuesOnConditionCheckFailure`) and starts the new one with a second
//!   conditional update, once per window.
//! - The organization's first lease ever creates the item in a transaction with a condition
//!   that the organization is live, so a token that outlives its organization's deletion
//!   leaves no counter behind (the other two updates never create an item).
//!
//! An operator gives an organization a budget of its own by setting `quota` (a number of
//! requests per window) on its counter item; the window's length is the stack's. A lease
//! learns it, and sizes the next batch from it.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::table::keys::{PK, RATE_LIMIT_SK, SK, tenant_pk};
use super::table::transaction::Transaction;
use super::{Store, StoreError, TenantScope};
use crate::domain::{OrgId, RateBudget};

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

/// What one lease came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leased {
    /// `granted` (at least one) of the `quota` requests of the window that starts at
    /// `window` are the caller's to serve; `counted` of them are now leased out (the count,
    /// at most the quota: a batch larger than what was left counts only what it got).
    Granted { window: i64, quota: u32, counted: u32, granted: u32 },
    /// The window's quota is spent: nothing was granted.
    Over { window: i64, quota: u32 },
    /// The organization is gone or being deleted (see [`Counted::OrganizationGone`]).
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
    /// Leases up to `batch` requests of the organization in the window that started at
    /// `window_start` (seconds), against its own quota or `default_quota`: never more than is
    /// left of the quota.
    pub async fn lease(
        &self,
        scope: &TenantScope,
        window_start: i64,
        default_quota: u32,
        batch: u32,
    ) -> Result<Leased, StoreError> {
        let batch = batch.max(1);
        // A concurrent request may start the window (or create the item) between our
        // refused update and our own start; the next round then leases in it. An instance
        // whose clock runs ahead may have started a later window: we lease in that one.
        let mut window = window_start;
        for _ in 0..3 {
            let found = match self.lease_in_window(scope, window, default_quota, batch).await? {
                Ok(leased) => return Ok(leased),
                Err(found) => found,
            };
            let started = match found {
                Found::Window { start, quota } if start == window => {
                    return Ok(Leased::Over { window, quota: quota.unwrap_or(default_quota) });
                }
                Found::Window { start, .. } if start > window => {
                    window = start;
                    continue;
                }
                Found::Window { quota: Some(0), .. } => return Ok(Leased::Over { window, quota: 0 }),
                Found::Window { quota, .. } => {
                    self.start_window(scope, window, batch).await?.then_some(quota.unwrap_or(default_quota))
                }
                Found::Nothing => match self.create(scope, window, batch).await? {
                    Creation::Done => Some(default_quota),
                    Creation::OrganizationGone => return Ok(Leased::OrganizationGone),
                    Creation::AlreadyThere => None,
                },
            };
            if let Some(quota) = started {
                return Ok(match quota {
                    0 => Leased::Over { window, quota },
                    _ => Leased::Granted { window, quota, counted: batch.min(quota), granted: batch.min(quota) },
                });
            }
        }
        Err(StoreError::Unavailable("the rate counter kept changing under concurrent requests".into()))
    }

    /// `ADD used batch` while the item's window is `window_start` and its quota is not spent;
    /// refused, the item as it was (or nothing, when there is none).
    async fn lease_in_window(
        &self,
        scope: &TenantScope,
        window_start: i64,
        default_quota: u32,
        batch: u32,
    ) -> Result<Result<Leased, Found>, StoreError> {
        let answer = self
            .store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(RATE_LIMIT_SK.into()))
            .update_expression("ADD #used :batch")
            .condition_expression(
                "#window = :window AND ((attribute_exists(#quota) AND #used < #quota) OR \
                 (attribute_not_exists(#quota) AND #used < :default))",
            )
            .expression_attribute_names("#window", WINDOW)
            .expression_attribute_names("#used", USED)
            .expression_attribute_names("#quota", QUOTA)
            .expression_attribute_values(":batch", AttributeValue::N(batch.to_string()))
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
                let counted: u32 = number(&item, USED).unwrap_or(batch);
                // The count was under the quota before this batch: what is left of it, or the batch.
                let granted = batch.min(quota.saturating_add(batch).saturating_sub(counted)).max(1);
                Ok(Ok(Leased::Granted { window: window_start, quota, counted: counted.min(quota), granted }))
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
    async fn start_window(&self, scope: &TenantScope, window_start: i64, batch: u32) -> Result<bool, StoreError> {
        let answer = self
            .store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(RATE_LIMIT_SK.into()))
            .update_expression("SET #window = :window, #used = :batch")
            .condition_expression("#window < :window")
            .expression_attribute_names("#window", WINDOW)
            .expression_attribute_names("#used", USED)
            .expression_attribute_values(":batch", AttributeValue::N(batch.to_string()))
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
    async fn create(&self, scope: &TenantScope, window_start: i64, batch: u32) -> Result<Creation, StoreError> {
        let item = HashMap::from([
            (PK.to_owned(), AttributeValue::S(tenant_pk(scope))),
            (SK.to_owned(), AttributeValue::S(RATE_LIMIT_SK.into())),
            (WINDOW.to_owned(), AttributeValue::N(window_start.to_string())),
            (USED.to_owned(), AttributeValue::N(batch.to_string())),
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

/// This instance's leases, one per organization it served lately: what is left of each, how
/// large the last one was, and whether the window's quota was found spent (then the window's
/// later requests are refused without a call).
///
/// A lease is sized by what this instance serves, so that what it may hold unspent stays in
/// proportion: its first lease of a window is half its last one of the window before (one,
/// for an organization it has not served lately), and each further lease in the window twice
/// the one before, never more than [`RateBudget::lease_size`] of the organization's quota.
/// So an instance holds unspent at most as many requests as it has served in the window, or
/// half its last lease of the window before, whichever is more: dozens of functions that each
/// serve an organization a request now and then take one each, not a batch each.
#[derive(Default)]
pub struct RateLeases {
    held: Mutex<HashMap<OrgId, Lease>>,
}

#[derive(Debug, Clone, Copy)]
struct Lease {
    window: i64,
    quota: u32,
    /// The window's count when this instance last leased (its own unspent requests included),
    /// at most the quota.
    counted: u32,
    left: u32,
    /// How many requests the last lease asked for.
    size: u32,
    over: bool,
}

/// What to lease next, when the instance holds nothing for the window.
struct Next {
    quota: Option<u32>,
    size: u32,
}

/// How many organizations' leases an instance keeps before it forgets the ones of past windows.
const LEASES_KEPT: usize = 4096;

impl RateLeases {
    pub fn new() -> Self {
        Self::default()
    }

    /// Spends one request of the organization in the window that starts at `window_start`:
    /// from this instance's lease while it lasts, else from a new lease (sized as the type
    /// describes, against the organization's quota, the stack's until a lease has told it).
    pub async fn spend(
        &self,
        store: &Store,
        scope: &TenantScope,
        budget: &RateBudget,
        window_start: i64,
    ) -> Result<Counted, StoreError> {
        let org = scope.org_id();
        let next = match self.take(org, window_start) {
            Ok(counted) => return Ok(counted),
            Err(next) => next,
        };
        let size = next.size.clamp(1, RateBudget::lease_size(next.quota.unwrap_or(budget.quota)));
        let leased = store.rate_limits().lease(scope, window_start, budget.quota, size).await?;
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.len() >= LEASES_KEPT {
            held.retain(|_, lease| lease.window >= window_start);
        }
        match leased {
            Leased::Granted { window, quota, counted, granted } => {
                let fresh = Lease { window, quota, counted, left: 0, size, over: false };
                let lease = held.entry(org).or_insert(fresh);
                if lease.window != window || lease.over {
                    *lease = fresh;
                }
                // A concurrent request of this instance may have leased too: both leases are ours.
                lease.left += granted - 1;
                lease.counted = lease.counted.max(counted);
                lease.size = lease.size.max(size);
                lease.quota = quota;
                Ok(Counted::Within { quota, used: lease.counted.saturating_sub(lease.left) })
            }
            Leased::Over { window, quota } => {
                // Unless a concurrent request of this instance leased meanwhile: its lease stands.
                let lease =
                    held.entry(org).or_insert(Lease { window, quota, counted: quota, left: 0, size, over: true });
                if lease.window != window || lease.left == 0 {
                    *lease = Lease { window, quota, counted: quota, left: 0, size: lease.size.max(size), over: true };
                }
                Ok(Counted::Over { quota })
            }
            Leased::OrganizationGone => Ok(Counted::OrganizationGone),
        }
    }

    /// One request from the lease held for the window (or a later one, which an instance with
    /// a clock ahead started); else what to lease next.
    fn take(&self, org: OrgId, window_start: i64) -> Result<Counted, Next> {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(lease) = held.get_mut(&org) else { return Err(Next { quota: None, size: 1 }) };
        if lease.window >= window_start {
            if lease.left > 0 {
                lease.left -= 1;
                return Ok(Counted::Within { quota: lease.quota, used: lease.counted.saturating_sub(lease.left) });
            }
            if lease.over {
                return Ok(Counted::Over { quota: lease.quota });
            }
            return Err(Next { quota: Some(lease.quota), size: lease.size.saturating_mul(2) });
        }
        Err(Next { quota: Some(lease.quota), size: lease.size / 2 })
    }
}
