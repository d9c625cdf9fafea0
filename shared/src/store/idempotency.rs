//! Idempotency records: what a POST sent with an `Idempotency-Key` answered, kept 24 hours
//! in the caller's organization's partition (no hot key across tenants), keyed by the
//! caller and a hash of the key.
//!
//! A request first claims its record (a conditional Put): the claim names an owner and a
//! lease, so a second request with the same key meanwhile is told it is still running. The
//! answer replaces the claim when the request is done, in the write's own transaction where
//! the handler records it there ([`IdempotencyClaim::record`]: a crash after the write cannot lose it),
//! else right after. A claim whose request died (its lease ran out) is taken over by the
//! next retry of the same request.

use aws_sdk_dynamodb::types::{AttributeValue, Update};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::table::error::{is_condition_failure, unless_condition_failed};
use super::table::keys::{PK, SK, idempotency_sk, tenant_pk};
use super::{Store, StoreError, TenantScope};
use crate::domain::IdempotencyKey;

/// How long an answer is kept: a retry after that runs as a new request.
const IDEMPOTENCY_LIFETIME: Duration = Duration::hours(24);
/// How long a claim holds off other requests with the same key: longer than an API
/// function's timeout (10 s), so only a request that died loses it.
const CLAIM_LEASE: Duration = Duration::seconds(30);

/// An answer as a retry gets it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAnswer {
    pub status: u16,
    /// The headers that describe the answer (content type, location, entity tag).
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum RecordState {
    Running { owner: String, lease_until: i64 },
    Done { answer: StoredAnswer },
}

#[derive(Debug, Serialize, Deserialize)]
struct IdempotencyItem {
    pk: String,
    sk: String,
    /// SHA-256 of the method, path and body the key was first used with.
    fingerprint: String,
    #[serde(flatten)]
    state: RecordState,
    /// TTL, epoch seconds.
    expires_at: i64,
}

/// A request's hold on its record, while it runs.
#[derive(Debug, Clone)]
pub struct IdempotencyClaim {
    scope: TenantScope,
    sk: String,
    owner: String,
}

/// What claiming a record found.
#[derive(Debug)]
pub enum Begun {
    /// The request is the first with this key (or takes over a dead one's): run it.
    Run(IdempotencyClaim),
    /// The request was answered before: answer the same.
    Replay(StoredAnswer),
    /// Another request with this key is still running.
    Running,
    /// The key was used with a different request.
    Mismatch,
}

pub struct IdempotencyStore<'a> {
    pub(super) store: &'a Store,
}

impl IdempotencyStore<'_> {
    pub async fn begin(
        &self,
        scope: &TenantScope,
        caller: &str,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Begun, StoreError> {
        let claim = IdempotencyClaim {
            scope: scope.clone(),
            sk: idempotency_sk(caller, key),
            owner: uuid::Uuid::new_v4().to_string(),
        };
        let item = IdempotencyItem {
            pk: tenant_pk(scope),
            sk: claim.sk.clone(),
            fingerprint: fingerprint.to_owned(),
            state: RecordState::Running { owner: claim.owner.clone(), lease_until: (now + CLAIM_LEASE).timestamp() },
            expires_at: (now + IDEMPOTENCY_LIFETIME).timestamp(),
        };
        let result = self
            .store
            .client
            .put_item()
            .table_name(&self.store.table)
            .set_item(Some(serde_dynamo::to_item(&item)?))
            // New, or past its lifetime but not yet removed by TTL, or a dead claim of the
            // same request.
            .condition_expression(
                "attribute_not_exists(pk) OR expires_at < :now \
                 OR (#state = :running AND lease_until < :now AND fingerprint = :fingerprint)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .expression_attribute_values(":running", AttributeValue::S("running".into()))
            .expression_attribute_values(":fingerprint", AttributeValue::S(fingerprint.to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => return Ok(Begun::Run(claim)),
            Err(e) if is_condition_failure(&e) => {}
            Err(e) => return Err(StoreError::dynamo(e)),
        }
        let found: Option<IdempotencyItem> = self.store.get_item(tenant_pk(scope), claim.sk).await?;
        Ok(match found {
            Some(item) if item.fingerprint != fingerprint => Begun::Mismatch,
            Some(IdempotencyItem { state: RecordState::Done { answer }, .. }) => Begun::Replay(answer),
            // Running, or gone by TTL in the instant since: either way, retry later.
            _ => Begun::Running,
        })
    }

    /// Records the answer, if the claim still holds (a handler may have recorded it in its
    /// write's transaction already: then nothing changes).
    pub async fn finish(&self, claim: &IdempotencyClaim, answer: &StoredAnswer) -> Result<(), StoreError> {
        let update = claim.update(self.store, answer)?;
        let result = self
            .store
            .client
            .update_item()
            .table_name(&self.store.table)
            .set_key(Some(update.key().clone()))
            .update_expression(update.update_expression())
            .condition_expression(update.condition_expression().unwrap_or_default())
            .set_expression_attribute_names(update.expression_attribute_names().cloned())
            .set_expression_attribute_values(update.expression_attribute_values().cloned())
            .send()
            .await;
        unless_condition_failed(result)
    }

    /// Gives the claim up without an answer (the request failed in a way a retry may mend):
    /// the next request with the key runs again.
    pub async fn release(&self, claim: &IdempotencyClaim) -> Result<(), StoreError> {
        let result = self
            .store
            .client
            .delete_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(&claim.scope)))
            .key(SK, AttributeValue::S(claim.sk.clone()))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", AttributeValue::S(claim.owner.clone()))
            .send()
            .await;
        unless_condition_failed(result)
    }
}

impl IdempotencyClaim {
    /// The transaction item that records `answer` in place of this claim, for a write that
    /// records its answer with itself. It fails the transaction if the claim was lost.
    pub(super) fn record(&self, store: &Store, answer: &StoredAnswer) -> Result<Update, StoreError> {
        self.update(store, answer)
    }

    fn update(&self, store: &Store, answer: &StoredAnswer) -> Result<Update, StoreError> {
        Update::builder()
            .table_name(&store.table)
            .key(PK, AttributeValue::S(tenant_pk(&self.scope)))
            .key(SK, AttributeValue::S(self.sk.clone()))
            .update_expression("SET #state = :done, answer = :answer REMOVE #owner, lease_until")
            .condition_expression("#state = :running AND #owner = :owner")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":done", AttributeValue::S("done".into()))
            .expression_attribute_values(":running", AttributeValue::S("running".into()))
            .expression_attribute_values(":owner", AttributeValue::S(self.owner.clone()))
            .expression_attribute_values(":answer", serde_dynamo::to_attribute_value(answer)?)
            .build()
            .map_err(StoreError::from)
    }

    /// Whether this claim is for `scope`: a handler records it only in its own tenant's write.
    pub fn is_for(&self, scope: &TenantScope) -> bool {
        self.scope == *scope
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrgId;

    #[test]
    fn a_record_reads_back_in_both_states() {
        let answer = StoredAnswer { status: 201, headers: vec![("location".into(), "/x".into())], body: "{}".into() };
        for state in [RecordState::Running { owner: "o".into(), lease_until: 5 }, RecordState::Done { answer }] {
            let item = IdempotencyItem {
                pk: tenant_pk(&TenantScope::verified(OrgId::generate())),
                sk: "IDEMPOTENCY#u#k".into(),
                fingerprint: "f".into(),
                state,
                expires_at: 9,
            };
            let raw: super::super::table::RawItem = serde_dynamo::to_item(&item).unwrap();
            let back: IdempotencyItem = serde_dynamo::from_item(raw).unwrap();
            assert_eq!(format!("{back:?}"), format!("{item:?}"));
        }
    }
}
