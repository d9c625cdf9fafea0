//! Password-attempt counters for brute-force throttling: one item per subject (an email and
//! source address pair, an email, a source address) per fixed window, deleted by TTL after
//! the window. An attempt is reserved *before* the password is checked, with a conditional
//! increment, so concurrent attempts cannot all pass a check they all read at once.

use aws_sdk_dynamodb::types::AttributeValue;

use super::table::error::is_condition_failure;
use super::table::keys::{GUARD_SK, PK, SK};
use super::{Store, StoreError};

pub struct ThrottleStore<'a> {
    pub(super) store: &'a Store,
}

/// The key of one counter: what is counted (`pair:…`, `email:…`, `ip:…`) and in which window.
pub fn counter_key(subject: &str, window: i64) -> String {
    format!("THROTTLE#{subject}#{window}")
}

impl ThrottleStore<'_> {
    /// One conditional update of the counter under `key`: `Ok(false)` when its condition
    /// does not hold (nothing changes then).
    async fn update(
        &self,
        key: &str,
        update: &str,
        condition: &str,
        values: [(&str, String); 2],
        expires_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut request = self
            .store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(key.to_owned()))
            .key(SK, AttributeValue::S(GUARD_SK.into()))
            .update_expression(update)
            .condition_expression(condition);
        for (name, value) in values.into_iter().chain(expires_at.map(|at| (":expires", at.to_string()))) {
            request = request.expression_attribute_values(name, AttributeValue::N(value));
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::dynamo(e)),
        }
    }

    /// Counts one attempt under `key` if fewer than `max` are counted: `true` when it was
    /// counted, `false` when the limit is reached (nothing changes then).
    pub async fn reserve(&self, key: &str, max: u32, expires_at: i64) -> Result<bool, StoreError> {
        let values = [(":one", "1".to_owned()), (":max", max.to_string())];
        let condition = "attribute_not_exists(failures) OR failures < :max";
        self.update(key, "ADD failures :one SET expires_at = :expires", condition, values, Some(expires_at)).await
    }

    /// Gives back one reserved attempt (the password was right). A counter that is gone (its
    /// window ended and TTL took it) or already at zero has nothing to give back.
    pub async fn release(&self, key: &str) -> Result<(), StoreError> {
        let values = [(":minus_one", "-1".to_owned()), (":zero", "0".to_owned())];
        self.update(key, "ADD failures :minus_one", "failures > :zero", values, None).await?;
        Ok(())
    }

    /// Forgets every attempt counted under `key` (the owner proved the password from there).
    pub async fn reset(&self, key: &str) -> Result<(), StoreError> {
        self.store
            .client
            .delete_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(key.to_owned()))
            .key(SK, AttributeValue::S(GUARD_SK.into()))
            .send()
            .await?;
        Ok(())
    }
}
