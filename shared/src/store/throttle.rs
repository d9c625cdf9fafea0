//! Failed-login counters for brute-force throttling: one item per email and per source IP
//! per fixed window, incremented atomically, deleted by TTL after the window.

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use serde::Deserialize;

use super::keys::{GUARD_SK, PK, SK};
use super::{Store, StoreError};

#[derive(Deserialize)]
struct Counter {
    pk: String,
    failures: u32,
}

pub struct ThrottleStore<'a> {
    pub(super) store: &'a Store,
}

/// The key of one counter: what is counted (`email:…`, `ip:…`) and in which window.
pub fn counter_key(subject: &str, window: i64) -> String {
    format!("THROTTLE#{subject}#{window}")
}

impl ThrottleStore<'_> {
    /// The failures recorded under each key (0 for none), in one call.
    pub async fn failures(&self, keys: &[String]) -> Result<Vec<u32>, StoreError> {
        let mut request = KeysAndAttributes::builder().consistent_read(true);
        for key in keys {
            request = request.keys(
                [(PK.to_owned(), AttributeValue::S(key.clone())), (SK.to_owned(), AttributeValue::S(GUARD_SK.into()))]
                    .into(),
            );
        }
        let out = self
            .store
            .client
            .batch_get_item()
            .request_items(&self.store.table, request.build().map_err(|e| StoreError::Dynamo(e.to_string()))?)
            .send()
            .await
            .map_err(StoreError::dynamo)?;
        let found: Vec<Counter> =
            serde_dynamo::from_items(out.responses.and_then(|mut r| r.remove(&self.store.table)).unwrap_or_default())?;
        Ok(keys.iter().map(|k| found.iter().find(|c| &c.pk == k).map_or(0, |c| c.failures)).collect())
    }

    pub async fn record_failure(&self, key: &str, expires_at: i64) -> Result<(), StoreError> {
        self.store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(key.to_owned()))
            .key(SK, AttributeValue::S(GUARD_SK.into()))
            .update_expression("ADD failures :one SET expires_at = :expires")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":expires", AttributeValue::N(expires_at.to_string()))
            .send()
            .await
            .map_err(StoreError::dynamo)?;
        Ok(())
    }
}
