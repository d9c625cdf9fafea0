use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::caller::Caller;
use super::credentials::{Credentials, CredentialsItem};
use super::error::cancelled_at;
use super::keys::{GUARD_SK, ORGANIZATION_SK, PK, SK, slug_pk, tenant_pk};
use super::user_item::UserItem;
use super::{Store, StoreError, TenantScope, Unique};
use crate::domain::events::Event;
use crate::domain::{Email, OrgId, OrgName, OrgSlug, Organization, PasswordHash, Role, TokenHash, User, UserId};

#[derive(Serialize, Deserialize)]
struct OrganizationItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    organization: Organization,
    /// How many admins the organization has. Every role change and removal updates it in
    /// the same transaction, with a condition that keeps it at one or more: so the last
    /// admin cannot be demoted or removed, however requests interleave.
    admin_count: u32,
}

#[derive(Serialize, Deserialize)]
struct SlugItem {
    pk: String,
    sk: String,
    organization_id: OrgId,
}

/// A new organization with its first admin.
pub struct Registration {
    pub name: OrgName,
    pub slug: OrgSlug,
    pub admin_email: Email,
    pub admin_password_hash: PasswordHash,
}

pub struct OrganizationStore<'a> {
    pub(super) store: &'a Store,
}

impl OrganizationStore<'_> {
    /// Creates the organization, its slug and email guards, its admin (unverified), the
    /// admin's verification token and the event that mails it, in one transaction: either
    /// all of them exist afterwards or none does.
    pub async fn register(
        &self,
        scope: &TenantScope,
        registration: Registration,
        admin_id: UserId,
        verification: &TokenHash,
        event: &Event,
        now: DateTime<Utc>,
    ) -> Result<(Organization, User), StoreError> {
        let organization = Organization {
            id: scope.org_id(),
            name: registration.name,
            slug: registration.slug,
            created_at: now,
            updated_at: now,
        };
        let admin = User {
            id: admin_id,
            email: registration.admin_email,
            role: Role::Admin,
            organization_id: scope.org_id(),
            created_at: now,
            email_verified: false,
        };
        // The order matters: cancellation reasons come back per item, by position.
        let records = [
            serde_dynamo::to_item(OrganizationItem {
                pk: tenant_pk(scope),
                sk: ORGANIZATION_SK.into(),
                organization: organization.clone(),
                admin_count: 1,
            })?,
            serde_dynamo::to_item(SlugItem {
                pk: slug_pk(&organization.slug),
                sk: GUARD_SK.into(),
                organization_id: organization.id,
            })?,
            serde_dynamo::to_item(CredentialsItem::new(
                &admin.email,
                Credentials::new(admin.id, organization.id, registration.admin_password_hash),
            ))?,
            serde_dynamo::to_item(UserItem::new(scope, admin.clone()))?,
        ];
        let mut items = Vec::with_capacity(records.len());
        for record in records {
            items.push(TransactWriteItem::builder().put(self.store.put_new(record)?).build());
        }
        items.extend(self.store.account_tokens().verification_items(scope, &admin, verification, event, now)?);
        match self.store.transact(items).await {
            Ok(_) => Ok((organization, admin)),
            Err(err) if cancelled_at(&err, 1) => Err(StoreError::Taken(Unique::Slug)),
            Err(err) if cancelled_at(&err, 2) => Err(StoreError::Taken(Unique::Email)),
            Err(err) => Err(StoreError::dynamo(err)),
        }
    }

    pub async fn get(&self, scope: &TenantScope) -> Result<Option<Organization>, StoreError> {
        let item: Option<OrganizationItem> = self.store.get_item(tenant_pk(scope), ORGANIZATION_SK.into()).await?;
        Ok(item.map(|i| i.organization))
    }

    /// Renames the organization, if the caller is still an admin. A transaction cannot
    /// answer the item it wrote, so the renamed organization is read back (consistently).
    pub async fn rename(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        name: &OrgName,
        now: DateTime<Utc>,
    ) -> Result<Organization, StoreError> {
        debug_assert!(caller.needs_admin, "renaming is an admin's write");
        let update = Update::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(ORGANIZATION_SK.into()))
            .update_expression("SET #name = :name, updated_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", serde_dynamo::to_attribute_value(name)?)
            .expression_attribute_values(":now", serde_dynamo::to_attribute_value(now)?)
            .build()
            .map_err(|e| StoreError::Dynamo(e.to_string()))?;
        let result = self
            .store
            .transact(vec![caller.check(self.store, scope)?, TransactWriteItem::builder().update(update).build()])
            .await;
        match result {
            Ok(_) => self.get(scope).await?.ok_or(StoreError::NotFound),
            Err(e) if cancelled_at(&e, 0) => Err(caller.refusal(self.store, scope).await),
            Err(e) if cancelled_at(&e, 1) => Err(StoreError::NotFound),
            Err(e) => Err(StoreError::dynamo(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever organization the API accepts, stored as an item, reads back as itself.
        #[test]
        fn an_accepted_organization_reads_back_from_its_item(name in "\\PC{0,110}", slug in "[a-z0-9-]{0,70}") {
            if let (Ok(name), Ok(slug)) = (OrgName::parse(&name), OrgSlug::parse(&slug)) {
                prop_assert_eq!(OrgName::parse(name.as_str()), Ok(name.clone()));
                prop_assert_eq!(OrgSlug::parse(slug.as_str()), Ok(slug.clone()));
                let scope = TenantScope::for_new_organization();
                let organization = Organization { id: scope.org_id(), name, slug, created_at: Utc::now(), updated_at: Utc::now() };
                let item = OrganizationItem { pk: tenant_pk(&scope), sk: ORGANIZATION_SK.into(), organization: organization.clone(), admin_count: 1 };
                let back: OrganizationItem = super::super::read_item(serde_dynamo::to_item(item).unwrap()).unwrap();
                prop_assert_eq!(back.organization, organization);
            }
        }
    }
}
