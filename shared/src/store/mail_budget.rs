//! Each organization's daily mail budget: one counter item in its partition
//! (`MAIL_BUDGET`) counts the mails sent on the current UTC day. Task, invitation and
//! verification mail spend it; a mail that would go over it is not sent (see
//! `notifications::mailer`), so that one organization cannot spend the sender's SES quota
//! that every other organization's resets and invitations need.
//!
//! Counting is one conditional `UpdateItem`; the first mail of a day finds yesterday's count
//! in the refused update's answer and starts the day with a second one. An operator gives an
//! organization a budget of its own by setting `per_day` on the item (`0` sends it no such
//! mail at all); `REMOVE per_day` returns it to the stack's.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};

use super::table::keys::{MAIL_BUDGET_SK, PK, SK, tenant_pk};
use super::{Store, StoreError, TenantScope};

const DAY: &str = "day";
const SENT: &str = "sent";
const PER_DAY: &str = "per_day";

/// What spending one mail came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    Within,
    /// The day's budget (`per_day`) is spent: nothing was counted.
    Over {
        per_day: u32,
    },
}

pub struct MailBudgetStore<'a> {
    pub(super) store: &'a Store,
}

/// The day `now` falls on, as the counter stores it: `20261207`.
fn day_of(now: DateTime<Utc>) -> i64 {
    now.format("%Y%m%d").to_string().parse().unwrap_or_default()
}

fn number<T: std::str::FromStr>(item: &HashMap<String, AttributeValue>, name: &str) -> Option<T> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

impl MailBudgetStore<'_> {
    /// Spends one mail of the organization's budget for the day of `now`: its own
    /// `per_day`, or `default_per_day`.
    pub async fn spend(
        &self,
        scope: &TenantScope,
        now: DateTime<Utc>,
        default_per_day: u32,
    ) -> Result<Spent, StoreError> {
        let today = day_of(now);
        // A concurrent first mail of the day may start it between our refused update and our
        // own start: the next round counts in it.
        for _ in 0..3 {
            let found = match self.count_today(scope, today, default_per_day).await? {
                None => return Ok(Spent::Within),
                Some(found) => found,
            };
            let per_day = number(&found, PER_DAY).unwrap_or(default_per_day);
            if number::<i64>(&found, DAY).is_some_and(|day| day >= today) || per_day == 0 {
                return Ok(Spent::Over { per_day });
            }
            if self.start_day(scope, today).await? {
                return Ok(Spent::Within);
            }
        }
        Err(StoreError::Unavailable("the mail budget kept changing under concurrent mails".into()))
    }

    /// `ADD sent 1` while the item's day is `today` and its budget is not spent: `None`.
    /// Refused: the item as it was (empty when there is none).
    async fn count_today(
        &self,
        scope: &TenantScope,
        today: i64,
        default_per_day: u32,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let answer = self
            .store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(MAIL_BUDGET_SK.into()))
            .update_expression("ADD #sent :one")
            .condition_expression(
                "#day = :today AND ((attribute_exists(#per_day) AND #sent < #per_day) OR \
                 (attribute_not_exists(#per_day) AND #sent < :default))",
            )
            .expression_attribute_names("#day", DAY)
            .expression_attribute_names("#sent", SENT)
            .expression_attribute_names("#per_day", PER_DAY)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":today", AttributeValue::N(today.to_string()))
            .expression_attribute_values(":default", AttributeValue::N(default_per_day.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match answer {
            Ok(_) => Ok(None),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    Ok(Some(refused.item().cloned().unwrap_or_default()))
                }
                _ => Err(StoreError::dynamo(e)),
            },
        }
    }

    /// Starts `today` with this mail, on an item of an earlier day or none: `false` when a
    /// concurrent mail started it first, or the operator's `per_day` is 0.
    async fn start_day(&self, scope: &TenantScope, today: i64) -> Result<bool, StoreError> {
        let answer = self
            .store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(MAIL_BUDGET_SK.into()))
            .update_expression("SET #day = :today, #sent = :one")
            .condition_expression(
                "(attribute_not_exists(#day) OR #day < :today) AND (attribute_not_exists(#per_day) OR #per_day > :zero)",
            )
            .expression_attribute_names("#day", DAY)
            .expression_attribute_names("#sent", SENT)
            .expression_attribute_names("#per_day", PER_DAY)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":today", AttributeValue::N(today.to_string()))
            .send()
            .await;
        match answer {
            Ok(_) => Ok(true),
            Err(e) if super::table::error::is_condition_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::dynamo(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_its_utc_date_as_a_number() {
        let at = |raw: &str| DateTime::parse_from_rfc3339(raw).unwrap().with_timezone(&Utc);
        assert_eq!(day_of(at("2026-12-07T23:59:59Z")), 20261207);
        assert_eq!(day_of(at("2026-12-08T00:00:00+01:00")), 20261207, "UTC, not the caller's zone");
        assert!(day_of(at("2027-01-01T00:00:00Z")) > day_of(at("2026-12-31T23:59:59Z")));
    }
}
