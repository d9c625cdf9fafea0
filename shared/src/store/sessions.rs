//! Refresh sessions. A session is one login and the chain of refresh tokens rotated from it;
//! it remembers only the hash of its current token. A token found by its hash but no longer
//! current has been rotated already: it was stolen or replayed, and the whole session is
//! revoked.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Update};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::credentials::version_is;
use super::table::keys::{GUARD_SK, PK, SK, refresh_pk, session_prefix, session_sk, tenant_pk, user_sk};
use super::table::transaction::{Transaction, TransactionFailed};
use super::{Store, StoreError, TenantScope};
use crate::domain::{OrgId, SessionId, TokenHash, UserId};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub session_id: SessionId,
    pub user_id: UserId,
    pub current: TokenHash,
    pub revoked: bool,
    pub created_at: DateTime<Utc>,
    /// The user's credential version when the session began (see
    /// [`super::credentials::Credentials`]): it refreshes only while that is still current.
    /// Sessions stored before it read 0.
    #[serde(default)]
    pub credential_version: u64,
}

#[derive(Serialize, Deserialize)]
struct SessionItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    session: Session,
    /// TTL, epoch seconds: a session unused for its lifetime disappears.
    expires_at: i64,
}

/// The global lookup from a refresh token's hash to its session. Kept after rotation (until
/// it expires) so that a replayed old token is recognised as such.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshToken {
    pub organization_id: OrgId,
    pub user_id: UserId,
    pub session_id: SessionId,
    pub expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct RefreshItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    token: RefreshToken,
    /// Written on every new item; items stored before it have none (see `keys::OWNER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner_org: Option<OrgId>,
}

/// The most sessions one [`SessionStore::trim`] deletes.
pub const MAX_TRIMMED_PER_CALL: usize = 25;

/// A session's transaction that kept conflicting with others (the user's item it checks is
/// also checked by every write of theirs) is "not now", not a replay or a changed password:
/// 503, and the session and its token stay as they were.
fn busy_is_unavailable<N>(e: TransactionFailed<N>) -> StoreError {
    if e.is_conflict() {
        StoreError::Unavailable("the session's transaction kept conflicting with the user's writes".into())
    } else {
        e.into()
    }
}

pub struct SessionStore<'a> {
    pub(super) store: &'a Store,
}

impl SessionStore<'_> {
    fn refresh_item(&self, scope: &TenantScope, session: &Session, hash: &TokenHash, expires_at: i64) -> RefreshItem {
        RefreshItem {
            pk: refresh_pk(hash),
            sk: GUARD_SK.into(),
            token: RefreshToken {
                organization_id: scope.org_id(),
                user_id: session.user_id,
                session_id: session.session_id,
                expires_at,
            },
            owner_org: Some(scope.org_id()),
        }
    }

    /// The check that `user`'s credential version is still `version`: what a session's
    /// start and every rotation carry, so neither lands after a password change however the
    /// requests interleave.
    fn version_check(&self, scope: &TenantScope, user: UserId, version: u64) -> Result<ConditionCheck, StoreError> {
        ConditionCheck::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(user_sk(user)))
            .condition_expression(version_is(version))
            .expression_attribute_values(":version", AttributeValue::N(version.to_string()))
            .build()
            .map_err(StoreError::from)
    }

    /// Starts a session for `user`, who proved themselves under credential `version`: only
    /// if it is still the user's (else `VersionConflict`: the password changed meanwhile).
    pub async fn start(
        &self,
        scope: &TenantScope,
        user_id: UserId,
        version: u64,
        token: &TokenHash,
        now: DateTime<Utc>,
        lifetime: Duration,
    ) -> Result<SessionId, StoreError> {
        let session = Session {
            session_id: SessionId::generate(),
            user_id,
            current: token.clone(),
            revoked: false,
            created_at: now,
            credential_version: version,
        };
        let expires_at = (now + lifetime).timestamp();
        let refresh = self.refresh_item(scope, &session, token, expires_at);
        let item = SessionItem {
            pk: tenant_pk(scope),
            sk: session_sk(user_id, session.session_id),
            session: session.clone(),
            expires_at,
        };
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            CredentialVersion,
            Session,
            RefreshToken,
        }
        let transaction = Transaction::new()
            .with(Item::CredentialVersion, self.version_check(scope, user_id, version)?)
            .with(Item::Session, self.store.put_new(serde_dynamo::to_item(item)?)?)
            .with(Item::RefreshToken, self.store.put_new(serde_dynamo::to_item(refresh)?)?);
        match self.store.transact(transaction).await {
            Ok(()) => Ok(session.session_id),
            Err(e) if e.cancelled(Item::CredentialVersion) => Err(StoreError::VersionConflict),
            Err(e) => Err(busy_is_unavailable(e)),
        }
    }

    /// Deletes `user`'s sessions beyond the newest `keep` (session ids are time-ordered), at
    /// most [`MAX_TRIMMED_PER_CALL`] of them, so that a user with many old sessions (from
    /// before the cap) costs one call a bounded time: the next trims the rest. Their refresh
    /// tokens then find no session. Answers how many were deleted.
    pub async fn trim(&self, scope: &TenantScope, user: UserId, keep: usize) -> Result<usize, StoreError> {
        let mut seen = 0;
        let mut deleted = 0;
        let mut start = None;
        loop {
            let out = self
                .store
                .query_partition(scope, session_prefix(user))
                .scan_index_forward(false)
                .projection_expression("#sk")
                .expression_attribute_names("#sk", SK)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for key in out.items.unwrap_or_default() {
                seen += 1;
                if seen <= keep {
                    continue;
                }
                if deleted == MAX_TRIMMED_PER_CALL {
                    return Ok(deleted);
                }
                let Some(AttributeValue::S(sk)) = key.get(SK) else { continue };
                self.store
                    .client
                    .delete_item()
                    .table_name(&self.store.table)
                    .key(PK, AttributeValue::S(tenant_pk(scope)))
                    .key(SK, AttributeValue::S(sk.clone()))
                    .send()
                    .await?;
                deleted += 1;
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(deleted);
            }
        }
    }

    pub async fn find_refresh(&self, token: &TokenHash) -> Result<Option<RefreshToken>, StoreError> {
        let item: Option<RefreshItem> = self.store.get_item(refresh_pk(token), GUARD_SK.into()).await?;
        Ok(item.map(|i| i.token))
    }

    pub async fn get(&self, scope: &TenantScope, user: UserId, id: SessionId) -> Result<Option<Session>, StoreError> {
        let item: Option<SessionItem> = self.store.get_item(tenant_pk(scope), session_sk(user, id)).await?;
        Ok(item.map(|i| i.session))
    }

    /// Replaces the session's current token `old` by `new`, only if `old` is still current
    /// and the session not revoked: of two concurrent refreshes with one token, one wins.
    pub async fn rotate(
        &self,
        scope: &TenantScope,
        session: &Session,
        old: &TokenHash,
        new: &TokenHash,
        now: DateTime<Utc>,
        lifetime: Duration,
    ) -> Result<(), StoreError> {
        let expires_at = (now + lifetime).timestamp();
        let update = Update::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(session_sk(session.user_id, session.session_id)))
            .update_expression("SET #current = :new, expires_at = :expires")
            .condition_expression("#current = :old AND revoked = :false")
            .expression_attribute_names("#current", "current")
            .expression_attribute_values(":new", AttributeValue::S(new.as_str().into()))
            .expression_attribute_values(":old", AttributeValue::S(old.as_str().into()))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":expires", AttributeValue::N(expires_at.to_string()))
            .build()?;
        let refresh = self.refresh_item(scope, session, new, expires_at);
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Session,
            RefreshToken,
            CredentialVersion,
        }
        let transaction = Transaction::new()
            .with(Item::Session, update)
            .with(Item::RefreshToken, self.store.put_new(serde_dynamo::to_item(refresh)?)?)
            .with(Item::CredentialVersion, self.version_check(scope, session.user_id, session.credential_version)?);
        match self.store.transact(transaction).await {
            Ok(()) => Ok(()),
            Err(e) if e.cancelled(Item::Session) => Err(StoreError::VersionConflict),
            // The password changed (or the user left) since the refresh read the user.
            Err(e) if e.cancelled(Item::CredentialVersion) => Err(StoreError::CallerGone),
            Err(e) => Err(busy_is_unavailable(e)),
        }
    }

    pub async fn revoke(&self, scope: &TenantScope, user: UserId, id: SessionId) -> Result<(), StoreError> {
        self.store
            .client
            .update_item()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(session_sk(user, id)))
            .update_expression("SET revoked = :true")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await
            .map(|_| ())
            .or_else(
                |e| if super::table::error::is_condition_failure(&e) { Ok(()) } else { Err(StoreError::dynamo(e)) },
            )
    }
}
