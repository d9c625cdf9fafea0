//! The caller of a write, re-checked against their stored user item inside the write's own
//! transaction. An access token is verified without a lookup and keeps its claims until it
//! expires; a write must not trust them: a demoted admin's token still says `admin`, a
//! removed user's token still verifies. A `ConditionCheck` on the caller's item costs no
//! extra round trip and leaves no gap between the check and the write.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck};

use super::outbox;
use super::table::keys::{PK, SK, tenant_pk, user_sk};
use super::table::transaction::{Transaction, WriteAction};
use super::user_item::UserItem;
use super::{Store, StoreError, TenantScope};
use crate::domain::events::Event;
use crate::domain::{Role, UserId};

/// Who is writing, and what the write needs them to be now: an admin, and with a proven
/// email address (what makes something that acts for the organization without its maker
/// present: an invitation, an API key, a webhook, an export; see README, "Account
/// lifetime").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub needs_admin: bool,
    pub needs_verified: bool,
    /// The credential version the caller's token was issued under, if it names one: a
    /// write from before a password change or a logout everywhere is refused as if the
    /// caller were gone (see `credentials`).
    pub credential_version: Option<u64>,
}

impl Caller {
    /// The same caller, needing a verified address too.
    pub fn verified(self) -> Self {
        Self { needs_verified: true, ..self }
    }

    /// The condition on the caller's user item. A write that touches that item itself adds
    /// it to its own condition (DynamoDB allows one action per item in a transaction).
    pub(super) fn condition(&self) -> String {
        let mut parts = vec!["attribute_exists(pk)"];
        if self.needs_admin {
            parts.push("#caller_role = :caller_role");
        }
        if self.needs_verified {
            parts.push("email_verified = :caller_verified");
        }
        match self.credential_version {
            Some(0) => parts
                .push("(attribute_not_exists(credential_version) OR credential_version = :caller_credential_version)"),
            Some(_) => parts.push("credential_version = :caller_credential_version"),
            None => {}
        }
        parts.join(" AND ")
    }

    /// The attribute names and values that [`Self::condition`] refers to: `(name
    /// placeholder, attribute, value placeholder, value)`.
    #[allow(clippy::type_complexity)]
    pub(super) fn placeholders(
        &self,
    ) -> Result<Vec<(&'static str, Option<&'static str>, &'static str, AttributeValue)>, StoreError> {
        let mut placeholders = Vec::new();
        if self.needs_admin {
            placeholders.push((
                "#caller_role",
                Some("role"),
                ":caller_role",
                serde_dynamo::to_attribute_value(Role::Admin)?,
            ));
        }
        if self.needs_verified {
            placeholders.push(("", None, ":caller_verified", AttributeValue::Bool(true)));
        }
        if let Some(version) = self.credential_version {
            placeholders.push(("", None, ":caller_credential_version", AttributeValue::N(version.to_string())));
        }
        Ok(placeholders)
    }

    /// The transaction item that checks the caller.
    pub(super) fn check(&self, store: &Store, scope: &TenantScope) -> Result<ConditionCheck, StoreError> {
        let mut check = ConditionCheck::builder()
            .table_name(&store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(user_sk(self.user_id)))
            .condition_expression(self.condition());
        for (name, attribute, value_name, value) in self.placeholders()? {
            if let Some(attribute) = attribute {
                check = check.expression_attribute_names(name, attribute);
            }
            check = check.expression_attribute_values(value_name, value);
        }
        Ok(check.build()?)
    }

    /// Why the check refused the write: the caller is gone, or no longer an admin, or not
    /// verified, or (when none of these holds any more) the item changed under a concurrent
    /// write. Read only on this rare path, so the write itself stays one call.
    pub(super) async fn refusal(&self, store: &Store, scope: &TenantScope) -> StoreError {
        match store.get_item::<UserItem>(tenant_pk(scope), user_sk(self.user_id)).await {
            Ok(None) => StoreError::CallerGone,
            // A password change or a logout everywhere since the token: it is as good as gone.
            Ok(Some(item)) if self.credential_version.is_some_and(|v| v != item.credential_version) => {
                StoreError::CallerGone
            }
            Ok(Some(item)) if self.needs_admin && item.user.role != Role::Admin => StoreError::CallerNotAdmin,
            Ok(Some(item)) if self.needs_verified && !item.user.email_verified => StoreError::CallerUnverified,
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
        write: impl WriteAction,
        event: &Event,
    ) -> Result<(), StoreError> {
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Caller,
            Write,
            Event,
        }
        let transaction = Transaction::new()
            .with(Item::Caller, caller.check(self, scope)?)
            .with(Item::Write, write)
            .with(Item::Event, outbox::record(self, scope, event)?);
        match self.transact(transaction).await {
            Ok(()) => Ok(()),
            Err(e) if e.cancelled(Item::Caller) => Err(caller.refusal(self, scope).await),
            Err(e) if e.cancelled(Item::Write) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_condition_names_exactly_its_placeholders() {
        for needs_admin in [false, true] {
            for needs_verified in [false, true] {
                for credential_version in [None, Some(0), Some(3)] {
                    let caller =
                        Caller { user_id: UserId::generate(), needs_admin, needs_verified, credential_version };
                    let condition = caller.condition();
                    let placeholders = caller.placeholders().unwrap();
                    for (name, attribute, value, _) in &placeholders {
                        assert!(condition.contains(value), "{condition} uses {value}");
                        if attribute.is_some() {
                            assert!(condition.contains(name), "{condition} uses {name}");
                        }
                    }
                    let values = condition.matches(':').count();
                    assert_eq!(values, placeholders.len(), "{condition}: one value per placeholder");
                    assert_eq!(
                        condition.contains("attribute_not_exists(credential_version)"),
                        credential_version == Some(0),
                        "version 0 is also an item from before versions"
                    );
                }
            }
        }
    }
}
