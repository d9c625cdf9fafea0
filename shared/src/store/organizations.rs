use aws_sdk_dynamodb::types::{AttributeValue, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::account_tokens::NewVerificationItem;
use super::caller::Caller;
use super::credentials::{Credentials, CredentialsItem};
use super::outbox::{self, OutboxItem};
use super::table::keys::{GUARD_SK, ORGANIZATION_SK, PK, SK, slug_pk, tenant_pk, user_sk};
use super::table::transaction::Transaction;
use super::user_item::UserItem;
use super::{Store, StoreError, TenantScope, Unique};
use crate::domain::events::{Event, EventId, EventKind, Provenance};
use crate::domain::{
    Email, ExportId, OrgId, OrgName, OrgSlug, Organization, PasswordHash, Role, TokenHash, User, UserId,
};

/// What the organization item records while it is being deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletionRequest {
    pub requested_by: UserId,
    /// Where the mail that says it is done goes. Copied from the requester's user item when
    /// the deletion starts, because the users are the first thing it deletes. None for a
    /// stale unverified registration that a new one released: nobody asked, nobody is told.
    pub notify: Option<Email>,
    pub requested_at: DateTime<Utc>,
    /// The event that drives the job; the done mail's delivery record is named by its id.
    pub event_id: EventId,
}

/// What the organization item records of its running export (see [`super::exports`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct RunningExport {
    pub id: ExportId,
    /// Epoch seconds after which another export may start.
    pub until: i64,
}

#[derive(Serialize, Deserialize)]
pub(super) struct OrganizationItem {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub organization: Organization,
    /// How many admins the organization has. Every role change and removal updates it in
    /// the same transaction, with a condition that keeps it at one or more: so the last
    /// admin cannot be demoted or removed, however requests interleave.
    pub admin_count: u32,
    /// Set when an admin asked for the organization to be deleted (see [`super::deletion`]):
    /// from then on the organization reads as gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion: Option<DeletionRequest>,
    /// The export that runs now, if one does (see [`super::exports`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_export: Option<RunningExport>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct SlugItem {
    pk: String,
    sk: String,
    organization_id: OrgId,
    /// Written on every new item; items stored before it have none (see `keys::OWNER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner_org: Option<OrgId>,
}

/// A new organization with its first admin.
#[derive(Clone)]
pub struct Registration {
    pub name: OrgName,
    pub slug: OrgSlug,
    pub admin_email: Email,
    pub admin_password_hash: PasswordHash,
}

/// A registration whose address was never verified, old enough to be released: a new
/// registration of the same address takes its email guard, and its organization is marked
/// for deletion, in the new registration's own transaction.
pub struct StaleRegistration {
    pub scope: TenantScope,
    pub user_id: UserId,
    /// The stale user must have been created before this.
    pub registered_before: DateTime<Utc>,
    pub deletion: DeletionRequest,
    pub event: Event,
}

/// A registration's first admin: their id, and the verification token and mail event
/// recorded with them.
pub struct NewAdmin<'a> {
    pub id: UserId,
    pub verification: &'a TokenHash,
    pub event: &'a Event,
}

/// The items that release a stale registration (see [`OrganizationStore::release_items`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReleaseItem {
    Unverified,
    Marked,
    Event,
}

pub struct OrganizationStore<'a> {
    pub(super) store: &'a Store,
}

impl OrganizationStore<'_> {
    /// Creates the organization, its slug and email guards, its admin (unverified), the
    /// admin's verification token and the event that mails it, in one transaction: either
    /// all of them exist afterwards or none does. With `replacing`, the email guard may be
    /// that stale registration's, which the same transaction then marks for deletion (if it
    /// is still unverified and old enough: else the email is taken).
    pub async fn register(
        &self,
        scope: &TenantScope,
        registration: Registration,
        admin: NewAdmin<'_>,
        now: DateTime<Utc>,
        replacing: Option<&StaleRegistration>,
    ) -> Result<(Organization, User), StoreError> {
        let organization = Organization {
            id: scope.org_id(),
            name: registration.name,
            slug: registration.slug,
            created_at: now,
            updated_at: now,
        };
        let NewAdmin { id: admin_id, verification, event } = admin;
        let admin = User {
            id: admin_id,
            email: registration.admin_email,
            role: Role::Admin,
            organization_id: scope.org_id(),
            created_at: now,
            email_verified: false,
        };
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Organization,
            Slug,
            Credentials,
            Admin,
            Verification(NewVerificationItem),
            Release,
        }
        let organization_item = OrganizationItem {
            pk: tenant_pk(scope),
            sk: ORGANIZATION_SK.into(),
            organization: organization.clone(),
            admin_count: 1,
            deletion: None,
            running_export: None,
        };
        let slug = SlugItem {
            pk: slug_pk(&organization.slug),
            sk: GUARD_SK.into(),
            organization_id: organization.id,
            owner_org: Some(organization.id),
        };
        let credentials = serde_dynamo::to_item(CredentialsItem::new(
            &admin.email,
            Credentials::new(admin.id, organization.id, registration.admin_password_hash),
        ))?;
        // The email guard: new, or the stale registration's.
        let credentials = match replacing {
            Some(stale) => self.replacing_put(credentials, stale)?,
            None => self.store.put_new(credentials)?,
        };
        let mut transaction = Transaction::new()
            .with(Item::Organization, self.store.put_new(serde_dynamo::to_item(organization_item)?)?)
            .with(Item::Slug, self.store.put_new(serde_dynamo::to_item(slug)?)?)
            .with(Item::Credentials, credentials)
            .with(Item::Admin, self.store.put_new(serde_dynamo::to_item(UserItem::new(scope, admin.clone()))?)?);
        transaction.append(
            self.store.account_tokens().verification_items(scope, &admin, verification, event, now)?,
            Item::Verification,
        );
        if let Some(stale) = replacing {
            // One name for all of them: whichever failed, the address stays taken.
            transaction.append(self.release_items(stale)?, |_| Item::Release);
        }
        match self.store.transact(transaction).await {
            Ok(()) => Ok((organization, admin)),
            Err(e) if e.cancelled(Item::Slug) => Err(StoreError::Taken(Unique::Slug)),
            Err(e) if e.cancelled(Item::Credentials) => Err(StoreError::Taken(Unique::Email)),
            // Verified, or already being released, meanwhile: the address stays taken.
            Err(e) if e.cancelled(Item::Release) => Err(StoreError::Taken(Unique::Email)),
            Err(e) => Err(e.into()),
        }
    }

    fn replacing_put(
        &self,
        record: std::collections::HashMap<String, AttributeValue>,
        stale: &StaleRegistration,
    ) -> Result<aws_sdk_dynamodb::types::Put, StoreError> {
        aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.store.table)
            .set_item(Some(record))
            .condition_expression(
                "attribute_not_exists(pk) OR (organization_id = :stale_org AND user_id = :stale_user)",
            )
            .expression_attribute_values(":stale_org", AttributeValue::S(stale.scope.org_id().to_string()))
            .expression_attribute_values(":stale_user", AttributeValue::S(stale.user_id.to_string()))
            .build()
            .map_err(StoreError::from)
    }

    /// The stale registration's user is still unverified and old enough; its organization is
    /// marked for deletion, with the event that starts the job.
    fn release_items(&self, stale: &StaleRegistration) -> Result<Transaction<ReleaseItem>, StoreError> {
        let unverified = aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(&stale.scope)))
            .key(SK, AttributeValue::S(user_sk(stale.user_id)))
            // `email_verified` must be there and false: a user stored before verification
            // existed (no attribute) was never asked to verify and is never released.
            .condition_expression("email_verified = :no AND created_at < :before")
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .expression_attribute_values(":before", serde_dynamo::to_attribute_value(stale.registered_before)?)
            .build()?;
        let marked = Update::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(&stale.scope)))
            .key(SK, AttributeValue::S(ORGANIZATION_SK.into()))
            .update_expression("SET deletion = :deletion")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(deletion)")
            .expression_attribute_values(":deletion", serde_dynamo::to_attribute_value(&stale.deletion)?)
            .build()?;
        Ok(Transaction::new().with(ReleaseItem::Unverified, unverified).with(ReleaseItem::Marked, marked).with(
            ReleaseItem::Event,
            self.store.put_new(serde_dynamo::to_item(OutboxItem::new(&stale.scope, &stale.event))?)?,
        ))
    }

    /// The organization, unless it is missing or being deleted (then it answers like a
    /// missing one).
    pub async fn get(&self, scope: &TenantScope) -> Result<Option<Organization>, StoreError> {
        let item: Option<OrganizationItem> = self.store.get_item(tenant_pk(scope), ORGANIZATION_SK.into()).await?;
        Ok(item.filter(|i| i.deletion.is_none()).map(|i| i.organization))
    }

    /// Renames the organization, if the caller is still an admin, recording
    /// `organization.updated`. A transaction cannot answer the item it wrote, so the renamed
    /// organization is read back (consistently).
    pub async fn rename(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        name: &OrgName,
        now: DateTime<Utc>,
        by: &Provenance,
    ) -> Result<(Organization, Event), StoreError> {
        debug_assert!(caller.needs_admin, "renaming is an admin's write");
        let update = Update::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(ORGANIZATION_SK.into()))
            .update_expression("SET #name = :name, updated_at = :now")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(deletion)")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", serde_dynamo::to_attribute_value(name)?)
            .expression_attribute_values(":now", serde_dynamo::to_attribute_value(now)?)
            .build()?;
        let event =
            Event::new(scope.org_id(), now, by, EventKind::OrganizationUpdated { changed: vec!["name".into()] });
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Caller,
            Organization,
            Event,
        }
        let transaction = Transaction::new()
            .with(Item::Caller, caller.check(self.store, scope)?)
            .with(Item::Organization, update)
            .with(Item::Event, outbox::record(self.store, scope, &event)?);
        match self.store.transact(transaction).await {
            Ok(()) => Ok((self.get(scope).await?.ok_or(StoreError::NotFound)?, event)),
            Err(e) if e.cancelled(Item::Caller) => Err(caller.refusal(self.store, scope).await),
            Err(e) if e.cancelled(Item::Organization) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
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
                let item = OrganizationItem { pk: tenant_pk(&scope), sk: ORGANIZATION_SK.into(), organization: organization.clone(), admin_count: 1, deletion: None, running_export: None };
                let back: OrganizationItem = super::super::table::read_item(serde_dynamo::to_item(item).unwrap()).unwrap();
                prop_assert_eq!(back.organization, organization);
            }
        }
    }
}
