//! API keys, in their organization's partition: the key as admins see it, the hash of its
//! secret (never the secret), and when it last authenticated a request. Deleting the
//! organization deletes them with the partition.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Get, TransactGetItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::caller::Caller;
use super::table::error::{is_transaction_conflict, unless_condition_failed};
use super::table::keys::{API_KEY_SK_PREFIX, PK, SK, api_key_sk, tenant_pk, user_sk};
use super::table::{again_on_conflict, read_item};
use super::user_item::UserItem;
use super::{Page, Store, StoreError, TenantScope};
use crate::domain::events::{Event, EventKind, Provenance};
use crate::domain::{ApiKey, ApiKeyId, TokenHash, User, UserId};

/// How often a key's last use is written, at most: a key that calls all day costs one write
/// a minute, not one per request.
const LAST_USE_RESOLUTION: chrono::Duration = chrono::Duration::seconds(60);

#[derive(Serialize, Deserialize)]
struct ApiKeyItem {
    pk: String,
    sk: String,
    secret_hash: TokenHash,
    /// The key; its `last_used_at` is the attribute below, which a conditional update can
    /// compare as a number.
    api_key: ApiKey,
    /// Epoch seconds of the last request the key authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used: Option<i64>,
    /// The table's TTL: a key past its expiry is refused at once and deleted by DynamoDB later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

impl ApiKeyItem {
    fn into_key(self) -> ApiKey {
        ApiKey { last_used_at: self.last_used.and_then(|at| DateTime::from_timestamp(at, 0)), ..self.api_key }
    }
}

/// A stored key and the user it acts for, as one read found them; nothing here is trusted
/// until the caller compared the hash. (No `Debug`: it holds the secret's hash.)
pub struct FoundApiKey {
    pub key: ApiKey,
    pub secret_hash: TokenHash,
    /// The creator's user item: `None` once they left the organization.
    pub creator: Option<User>,
    /// When the creator's address was proven, if that was recorded (see `UserItem`).
    pub creator_verified_at: Option<DateTime<Utc>>,
}

pub struct ApiKeyStore<'a> {
    pub(super) store: &'a Store,
}

impl ApiKeyStore<'_> {
    /// Stores a new key with its event, if the caller is still an admin.
    pub async fn create(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        key: &ApiKey,
        secret_hash: &TokenHash,
        event: &Event,
    ) -> Result<(), StoreError> {
        debug_assert!(caller.needs_admin, "making an API key is an admin's write");
        let item = ApiKeyItem {
            pk: tenant_pk(scope),
            sk: api_key_sk(key.id),
            secret_hash: secret_hash.clone(),
            api_key: key.clone(),
            last_used: None,
            expires_at: key.expires_at.map(|at| at.timestamp()),
        };
        self.store.write_as_caller(scope, caller, self.store.put_new(serde_dynamo::to_item(item)?)?, event).await
    }

    /// The key `id` and the user `creator`, read together in one consistent call
    /// (`TransactGetItems`), so that authenticating a request with a key is one round trip and
    /// sees a revocation, a demotion or a removal as soon as it happened. `None`: no such key.
    pub async fn find(
        &self,
        scope: &TenantScope,
        id: ApiKeyId,
        creator: UserId,
    ) -> Result<Option<FoundApiKey>, StoreError> {
        let get = |sk: String| -> Result<TransactGetItem, StoreError> {
            let get = Get::builder()
                .table_name(&self.store.table)
                .key(PK, AttributeValue::S(tenant_pk(scope)))
                .key(SK, AttributeValue::S(sk))
                .build()?;
            Ok(TransactGetItem::builder().get(get).build())
        };
        let request = self
            .store
            .client
            .transact_get_items()
            .transact_items(get(api_key_sk(id))?)
            .transact_items(get(user_sk(creator))?);
        // DynamoDB cancels a read transaction while a write is under way on one of its items
        // (the key's last use, written by a parallel request; any write by the creator, which
        // checks their user item): read again, as `Store::transact` runs a write again; past
        // that, 503.
        let out = match again_on_conflict(|| request.clone().send()).await {
            // Not the 409 of a write that kept conflicting: the client did nothing wrong.
            Err(e) if is_transaction_conflict(&e) => {
                return Err(StoreError::Unavailable("the API key's read kept conflicting with writes".into()));
            }
            other => other?,
        };
        let mut found = out.responses.unwrap_or_default().into_iter().map(|r| r.item);
        let (Some(key), user) = (found.next().flatten(), found.next().flatten()) else { return Ok(None) };
        let key: ApiKeyItem = read_item(key)?;
        let creator = user.map(read_item::<UserItem>).transpose()?;
        let creator_verified_at = creator.as_ref().and_then(|u| u.verified_at);
        Ok(Some(FoundApiKey {
            secret_hash: key.secret_hash.clone(),
            key: key.into_key(),
            creator: creator.map(|u| u.user),
            creator_verified_at,
        }))
    }

    /// Records that the key authenticated a request now, unless that was already recorded
    /// less than [`LAST_USE_RESOLUTION`] ago (by another instance, say): then nothing is
    /// written. A key revoked meanwhile is not written back.
    pub async fn touch(&self, scope: &TenantScope, id: ApiKeyId, now: DateTime<Utc>) -> Result<(), StoreError> {
        let result = self
            .store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(api_key_sk(id)))
            .update_expression("SET last_used = :now")
            .condition_expression("attribute_exists(pk) AND (attribute_not_exists(last_used) OR last_used <= :cutoff)")
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .expression_attribute_values(
                ":cutoff",
                AttributeValue::N((now - LAST_USE_RESOLUTION).timestamp().to_string()),
            )
            .send()
            .await;
        unless_condition_failed(result)
    }

    /// Whether the last use recorded of `key` is old enough to be written again.
    pub fn needs_touch(key: &ApiKey, now: DateTime<Utc>) -> bool {
        key.last_used_at.is_none_or(|at| now - at >= LAST_USE_RESOLUTION)
    }

    /// A page of the organization's keys, newest first; expired ones are left out.
    pub async fn list_page(
        &self,
        scope: &TenantScope,
        limit: usize,
        after: Option<ApiKeyId>,
        now: DateTime<Utc>,
    ) -> Result<Page<ApiKey, ApiKeyId>, StoreError> {
        let page: Page<ApiKeyItem> =
            self.store.partition_page(scope, API_KEY_SK_PREFIX, limit, after.map(api_key_sk)).await?;
        let mut page =
            page.map(ApiKeyItem::into_key, |sk| sk.strip_prefix(API_KEY_SK_PREFIX).and_then(ApiKeyId::parse));
        page.items.retain(|k| !k.is_expired(now));
        Ok(page)
    }

    /// Deletes the key, with its event, if the caller is still an admin: from the next request
    /// on, it authenticates nothing. `NotFound` when there is no such key (in this organization).
    pub async fn revoke(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        id: ApiKeyId,
        by: &Provenance,
    ) -> Result<Event, StoreError> {
        debug_assert!(caller.needs_admin, "revoking an API key is an admin's write");
        let event = Event::new(scope.org_id(), Utc::now(), by, EventKind::ApiKeyRevoked { api_key_id: id });
        let delete = Delete::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(api_key_sk(id)))
            .condition_expression("attribute_exists(pk)")
            .build()?;
        self.store.write_as_caller(scope, caller, delete, &event).await?;
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ApiKeyDraft, OrgId};

    #[test]
    fn an_item_keeps_no_secret_and_reads_back_with_its_last_use() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let draft: ApiKeyDraft = serde_json::from_value(serde_json::json!({"name": "ci", "role": "admin"})).unwrap();
        let (key, secret) = ApiKey::new(draft, OrgId::generate(), UserId::generate(), now).unwrap();
        let item = ApiKeyItem {
            pk: "ORG#x".into(),
            sk: api_key_sk(key.id),
            secret_hash: secret.hash(),
            api_key: key.clone(),
            last_used: Some(now.timestamp()),
            expires_at: None,
        };
        let raw: std::collections::HashMap<String, AttributeValue> = serde_dynamo::to_item(&item).unwrap();
        let text = format!("{raw:?}");
        assert!(!text.contains(&secret.expose()[secret.prefix().len() + 1..]), "the secret is not stored");
        let back: ApiKeyItem = serde_dynamo::from_item(raw).unwrap();
        assert_eq!(back.into_key(), ApiKey { last_used_at: Some(now), ..key.clone() });
        assert!(!ApiKeyStore::needs_touch(
            &ApiKey { last_used_at: Some(now), ..key.clone() },
            now + LAST_USE_RESOLUTION / 2
        ));
        assert!(ApiKeyStore::needs_touch(
            &ApiKey { last_used_at: Some(now), ..key.clone() },
            now + LAST_USE_RESOLUTION
        ));
        assert!(ApiKeyStore::needs_touch(&key, now));
    }
}
