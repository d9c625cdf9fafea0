//! The caller of a write, re-checked against their stored user item inside the write's own
//! transaction. An access token is verified without a lookup and keeps its claims until it
//! expires; a write must not trust them: a demoted admin's token still says `admin`, a
//! removed user's token still verifies. A `ConditionCheck` on the caller's item costs no
//! extra round trip and leaves no gap between the check and the write.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem};

use super::error::cancelled_at;
use super::keys::{PK, SK, tenant_pk, user_sk};
use super::outbox;
use super::user_item::UserItem;
use super::{Store, StoreError, TenantScope};
use crate::domain::events::Event;
use crate::domain::{Role, UserId};

/// Who is writing, and whether the write needs them to be an admin now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub needs_admin: bool,
}

impl Caller {
    /// The condition on the caller's user item. A write that touches that item itself adds
    /// it to its own condition (DynamoDB allows one action per item in a transaction).
    pub(super) fn condition(&self) -> &'static str {
        if self.needs_admin { "#caller_role = :caller_role" } else { "attribute_exists(pk)" }
    }

    /// The attribute names and values that [`Self::condition`] refers to.
    pub(super) fn placeholders(&self) -> Result<Vec<(&'static str, &'static str, AttributeValue)>, StoreError> {
        Ok(if self.needs_admin {
            vec![("#caller_role", ":caller_role", serde_dynamo::to_attribute_value(Role::Admin)?)]
        } else {
            Vec::new()
        })
    }

    /// The transaction item that checks the caller.
    pub(super) fn check(&self, store: &Store, scope: &TenantScope) -> Result<TransactWriteItem, StoreError> {
        self.check_with(store, scope, false)
    }

    /// The check of a write that also needs the caller's email address verified (inviting:
    /// an unproven address must not send mail to others in TaskFlow's name).
    pub(super) fn check_verified(&self, store: &Store, scope: &TenantScope) -> Result<TransactWriteItem, StoreError> {
        self.check_with(store, scope, true)
    }

    fn check_with(
        &self,
        store: &Store,
        scope: &TenantScope,
        needs_verified: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let condition = if needs_verified {
            format!("{} AND email_verified = :caller_verified", self.condition())
        } else {
            self.condition().to_owned()
        };
        let mut check = ConditionCheck::builder()
            .table_name(&store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(user_sk(self.user_id)))
            .condition_expression(condition);
        if needs_verified {
            check = check.expression_attribute_values(":caller_verified", AttributeValue::Bool(true));
        }
        for (name, value_name, value) in self.placeholders()? {
            check = check.expression_attribute_names(name, "role").expression_attribute_values(value_name, value);
        }
        let check = check.build().map_err(|e| StoreError::Dynamo(e.to_string()))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Why the check refused the write: the caller is gone, or no longer an admin, or (when
    /// neither holds any more) the item changed under a concurrent write. Read only on this
    /// rare path, so the write itself stays one call.
    pub(super) async fn refusal(&self, store: &Store, scope: &TenantScope) -> StoreError {
        self.refusal_with(store, scope, false).await
    }

    /// Why [`Self::check_verified`] refused the write.
    pub(super) async fn refusal_of_verified(&self, store: &Store, scope: &TenantScope) -> StoreError {
        self.refusal_with(store, scope, true).await
    }

    async fn refusal_with(&self, store: &Store, scope: &TenantScope, needs_verified: bool) -> StoreError {
        match store.get_item::<UserItem>(tenant_pk(scope), user_sk(self.user_id)).await {
            Ok(None) => StoreError::CallerGone,
            Ok(Some(item)) if self.needs_admin && item.user.role != Role::Admin => StoreError::CallerNotAdmin,
            Ok(Some(item)) if needs_verified && !item.user.email_verified => StoreError::CallerUnverified,
            Ok(Some(_)) => StoreError::VersionConflict,
            Err(e) => e,
        }
    }
}

impl Store {
    /// The common shape of a caller's write: one `write` of one item, the caller's check and
    /// `event`'s outbox record, in one transaction. The caller's refusal when the check
    /// fails; `NotFound` when the write's own condition does (the item is not there, or not
    /// as the write requires).
    pub(super) async fn write_as_caller(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        write: TransactWriteItem,
        event: &Event,
    ) -> Result<(), StoreError> {
        let items = vec![caller.check(self, scope)?, write, outbox::record(self, scope, event)?];
        match self.transact(items).await {
            Ok(_) => Ok(()),
            Err(e) if cancelled_at(&e, 0) => Err(caller.refusal(self, scope).await),
            Err(e) if cancelled_at(&e, 1) => Err(StoreError::NotFound),
            Err(e) => Err(StoreError::dynamo(e)),
        }
    }
}
