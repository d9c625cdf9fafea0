//! An organization's members: the user item in its partition and, for each, the global
//! credentials item keyed by email that login finds before any tenant is known (so an email
//! belongs to one account in the whole service). Both are written and removed in one
//! transaction. Role changes and removals also move the organization's admin count under a
//! condition that keeps it at one or more, so the last admin can neither be demoted nor
//! removed however requests interleave.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Update};
use chrono::{DateTime, Utc};

use super::admin_count::admin_count_change;
use super::caller::Caller;
use super::credentials::{Credentials, CredentialsItem};
use super::outbox;
use super::table::keys::{GUARD_SK, PK, SK, USER_SK_PREFIX, email_pk, tenant_pk, user_sk};
use super::table::transaction::Transaction;
use super::user_item::UserItem;
use super::{Page, Store, StoreError, TenantScope, Unique};
use crate::domain::events::{Event, EventKind, Provenance};
use crate::domain::{Email, PasswordHash, Role, User, UserId};

/// The items that add a user (see [`UserStore::creation_items`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum NewUserItem {
    Credentials,
    User,
    AdminCount,
}

pub struct UserStore<'a> {
    pub(super) store: &'a Store,
}

impl UserStore<'_> {
    /// The user, if it belongs to the scope's organization; another tenant's user id finds
    /// nothing, exactly like an unknown one.
    pub async fn get(&self, scope: &TenantScope, id: UserId) -> Result<Option<User>, StoreError> {
        let item: Option<UserItem> = self.store.get_item(tenant_pk(scope), user_sk(id)).await?;
        Ok(item.map(|i| i.user))
    }

    /// The user with their credential version (what a refresh checks its session against).
    pub async fn get_with_credential_version(
        &self,
        scope: &TenantScope,
        id: UserId,
    ) -> Result<Option<(User, u64)>, StoreError> {
        let item: Option<UserItem> = self.store.get_item(tenant_pk(scope), user_sk(id)).await?;
        Ok(item.map(|i| (i.user, i.credential_version)))
    }

    /// The transaction items that add a user: the email's credentials (whose failure means
    /// the email is taken), the user, and an admin's count.
    pub(super) fn creation_items(
        &self,
        scope: &TenantScope,
        user: &User,
        password_hash: PasswordHash,
    ) -> Result<Transaction<NewUserItem>, StoreError> {
        let credentials = Credentials::new(user.id, scope.org_id(), password_hash);
        let mut transaction = Transaction::new()
            .with(
                NewUserItem::Credentials,
                self.store.put_new(serde_dynamo::to_item(CredentialsItem::new(&user.email, credentials))?)?,
            )
            .with(NewUserItem::User, self.store.put_new(serde_dynamo::to_item(UserItem::new(scope, user.clone()))?)?);
        if user.role == Role::Admin {
            transaction.push(NewUserItem::AdminCount, admin_count_change(self.store, scope, 1)?);
        }
        Ok(transaction)
    }

    /// Adds a user to the scope's organization, atomically with its credentials, so an
    /// email taken anywhere in the service leaves nothing behind.
    pub async fn create(
        &self,
        scope: &TenantScope,
        email: Email,
        role: Role,
        password_hash: PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError> {
        // Added by the organization itself, like an invited user whose mailbox is proven.
        let user = User {
            id: UserId::generate(),
            email,
            role,
            organization_id: scope.org_id(),
            created_at: now,
            email_verified: true,
        };
        let transaction = self.creation_items(scope, &user, password_hash)?;
        match self.store.transact(transaction).await {
            Ok(()) => Ok(user),
            Err(e) if e.cancelled(NewUserItem::Credentials) => Err(StoreError::Taken(Unique::Email)),
            Err(e) => Err(e.into()),
        }
    }

    /// One page of the organization's members, newest first, after `after`.
    pub async fn list_page(
        &self,
        scope: &TenantScope,
        limit: usize,
        after: Option<UserId>,
    ) -> Result<Page<User, UserId>, StoreError> {
        let page: Page<UserItem> = self.store.partition_page(scope, USER_SK_PREFIX, limit, after.map(user_sk)).await?;
        Ok(page.map(|i| i.user, |sk| sk.strip_prefix(USER_SK_PREFIX).and_then(UserId::parse)))
    }

    /// Changes a member's role, if the caller is still an admin, recording
    /// `member.role_changed` when it changed. Demoting the last admin fails with
    /// `LastAdmin`. Setting the role a member already has writes too, so that a caller who
    /// is no longer an admin is refused even then.
    pub async fn set_role(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        id: UserId,
        role: Role,
        by: &Provenance,
    ) -> Result<(User, Option<Event>), StoreError> {
        debug_assert!(caller.needs_admin, "changing a role is an admin's write");
        let mut user = self.get(scope, id).await?.ok_or(StoreError::NotFound)?;
        let mut update = Update::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(user_sk(id)))
            .update_expression("SET #role = :new")
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":new", serde_dynamo::to_attribute_value(role)?)
            .expression_attribute_values(":old", serde_dynamo::to_attribute_value(user.role)?);
        let on_self = caller.user_id == id;
        update = if on_self {
            for (name, attribute, value_name, value) in caller.placeholders()? {
                if let Some(attribute) = attribute {
                    update = update.expression_attribute_names(name, attribute);
                }
                update = update.expression_attribute_values(value_name, value);
            }
            update.condition_expression(format!("#role = :old AND {}", caller.condition()))
        } else {
            update.condition_expression("#role = :old")
        };
        let update = update.build()?;
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            User,
            Caller,
            AdminCount,
            Event,
        }
        let mut transaction = Transaction::new().with(Item::User, update);
        if !on_self {
            transaction.push(Item::Caller, caller.check(self.store, scope)?);
        }
        let delta = match (user.role, role) {
            (Role::Member, Role::Admin) => 1,
            (Role::Admin, Role::Member) => -1,
            _ => 0,
        };
        if delta != 0 {
            transaction.push(Item::AdminCount, admin_count_change(self.store, scope, delta)?);
        }
        let event = (user.role != role).then(|| {
            Event::new(
                scope.org_id(),
                Utc::now(),
                by,
                EventKind::MemberRoleChanged { user_id: id, from: user.role, to: role },
            )
        });
        if let Some(event) = &event {
            transaction.push(Item::Event, outbox::record(self.store, scope, event)?);
        }
        match self.store.transact(transaction).await {
            Ok(()) => {
                user.role = role;
                Ok((user, event))
            }
            Err(e) if e.cancelled(Item::Caller) => Err(caller.refusal(self.store, scope).await),
            // On oneself, the user's item carries the caller's condition too: the refusal tells why.
            Err(e) if on_self && e.cancelled(Item::User) => Err(caller.refusal(self.store, scope).await),
            Err(e) if e.cancelled(Item::AdminCount) => Err(StoreError::LastAdmin),
            Err(e) if e.cancelled(Item::User) => Err(StoreError::VersionConflict),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a member and their credentials (so they can no longer log in), if the caller
    /// is still an admin, recording `member.removed`; removing the last admin fails with
    /// `LastAdmin`. Their tasks and sessions are the caller's to settle.
    pub async fn remove(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        id: UserId,
        by: &Provenance,
    ) -> Result<(User, Event), StoreError> {
        debug_assert!(caller.needs_admin, "removing a member is an admin's write");
        let user = self.get(scope, id).await?.ok_or(StoreError::NotFound)?;
        let on_self = caller.user_id == id;
        let mut delete_user = Delete::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(user_sk(id)))
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":role", serde_dynamo::to_attribute_value(user.role)?);
        delete_user = if on_self {
            for (name, attribute, value_name, value) in caller.placeholders()? {
                if let Some(attribute) = attribute {
                    delete_user = delete_user.expression_attribute_names(name, attribute);
                }
                delete_user = delete_user.expression_attribute_values(value_name, value);
            }
            delete_user.condition_expression(format!("#role = :role AND {}", caller.condition()))
        } else {
            delete_user.condition_expression("#role = :role")
        };
        let delete_user = delete_user.build()?;
        let delete_credentials = Delete::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(email_pk(&user.email)))
            .key(SK, AttributeValue::S(GUARD_SK.into()))
            .condition_expression("user_id = :id")
            .expression_attribute_values(":id", AttributeValue::S(id.to_string()))
            .build()?;
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            User,
            Credentials,
            AdminCount,
            Caller,
            Event,
        }
        let mut transaction =
            Transaction::new().with(Item::User, delete_user).with(Item::Credentials, delete_credentials);
        if user.role == Role::Admin {
            transaction.push(Item::AdminCount, admin_count_change(self.store, scope, -1)?);
        }
        if !on_self {
            transaction.push(Item::Caller, caller.check(self.store, scope)?);
        }
        let event = Event::new(scope.org_id(), Utc::now(), by, EventKind::MemberRemoved { user_id: id });
        transaction.push(Item::Event, outbox::record(self.store, scope, &event)?);
        match self.store.transact(transaction).await {
            Ok(()) => Ok((user, event)),
            Err(e) if e.cancelled(Item::Caller) => Err(caller.refusal(self.store, scope).await),
            Err(e) if on_self && e.cancelled(Item::User) => Err(caller.refusal(self.store, scope).await),
            Err(e) if e.cancelled(Item::AdminCount) => Err(StoreError::LastAdmin),
            Err(e) if e.cancelled(Item::User) || e.cancelled(Item::Credentials) => Err(StoreError::VersionConflict),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever user the API accepts, stored as an item, reads back as the same user.
        #[test]
        fn an_accepted_user_reads_back_from_its_item(local in "[\\p{L}\\p{N}._%+-]{1,30}", domain in "\\PC{1,30}\\.[a-z]{2,6}", admin: bool) {
            if let Ok(email) = Email::parse(&format!("{local}@{domain}")) {
                let scope = TenantScope::for_new_organization();
                let role = if admin { Role::Admin } else { Role::Member };
                let user = User { id: UserId::generate(), email, role, organization_id: scope.org_id(), created_at: Utc::now(), email_verified: admin };
                let item = serde_dynamo::to_item(UserItem::new(&scope, user.clone())).unwrap();
                let back: UserItem = super::super::table::read_item(item).unwrap();
                prop_assert_eq!(back.user, user);
            }
        }
    }
}
