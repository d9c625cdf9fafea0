//! Invitations: an item in the organization's partition (what admins list and revoke) and
//! a global lookup by the token's hash (what accepting finds), written and removed together.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::caller::Caller;
use super::outbox::{self, OutboxItem};
use super::table::keys::{
    GUARD_SK, INVITATION_SK_PREFIX, PK, SK, invitation_quota_sk, invitation_sk, invitation_token_pk, tenant_pk,
};
use super::table::readable_items;
use super::table::transaction::Transaction;
use super::users::NewUserItem;
use super::{IdempotencyClaim, Page, Store, StoreError, StoredAnswer, TenantScope, Unique};
use crate::domain::events::{Event, EventKind, Origin, Provenance};
use crate::domain::{Invitation, InvitationId, OrgId, PasswordHash, TokenHash, User, UserId};

#[derive(Serialize, Deserialize)]
pub(super) struct InvitationItem {
    pk: String,
    sk: String,
    token_hash: TokenHash,
    pub invitation: Invitation,
    /// TTL, epoch seconds.
    expires_at: i64,
}

/// What accepting needs before it knows the tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvitationToken {
    pub organization_id: OrgId,
    pub invitation_id: InvitationId,
    pub expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct InvitationTokenItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    token: InvitationToken,
    /// Written on every new item; items stored before it have none (see `keys::OWNER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner_org: Option<OrgId>,
}

/// An invitation about to be written: with the hash of its mailed token and the event that
/// mails it.
#[derive(Clone, Copy)]
pub struct NewInvitation<'a> {
    pub invitation: &'a Invitation,
    pub token: &'a TokenHash,
    pub event: &'a Event,
}

/// How many invitations an organization may send per day (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvitationQuota {
    pub per_day: u32,
}

pub struct InvitationStore<'a> {
    pub(super) store: &'a Store,
}

impl InvitationStore<'_> {
    fn delete(&self, pk: String, sk: String) -> Result<Delete, StoreError> {
        Delete::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(StoreError::from)
    }

    /// The day's invitation counter of the organization, counted up on the condition that
    /// it stays within the quota: part of the invitation's own transaction, so concurrent
    /// invitations cannot overshoot it and a refused one does not count.
    fn quota_use(&self, scope: &TenantScope, quota: InvitationQuota, now: DateTime<Utc>) -> Result<Update, StoreError> {
        let day = now.date_naive();
        let next_day = (day + chrono::Days::new(1)).and_time(chrono::NaiveTime::MIN).and_utc().timestamp();
        Update::builder()
            .table_name(&self.store.table)
            .key(PK, AttributeValue::S(tenant_pk(scope)))
            .key(SK, AttributeValue::S(invitation_quota_sk(day)))
            .update_expression("ADD used :one SET expires_at = :expires")
            .condition_expression("attribute_not_exists(used) OR used < :max")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":max", AttributeValue::N(quota.per_day.to_string()))
            // Kept a day past its own, then deleted by TTL.
            .expression_attribute_values(":expires", AttributeValue::N((next_day + 86_400).to_string()))
            .build()
            .map_err(StoreError::from)
    }

    /// Records the invitation, its token's hash and the notification that mails the token,
    /// in one transaction that also checks that the caller is still an admin with a verified
    /// email address and that the organization has invitations left today. Whether the email
    /// has an account is not checked here: an invitation to it is answered like any other (the
    /// mailer tells the person instead, and accepting is refused), so that inviting cannot
    /// tell an organization who has an account.
    pub async fn create(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        quota: InvitationQuota,
        new: NewInvitation<'_>,
        answer: Option<(&IdempotencyClaim, &StoredAnswer)>,
    ) -> Result<(), StoreError> {
        debug_assert!(caller.needs_admin, "inviting is an admin's write");
        let NewInvitation { invitation, token, event } = new;
        let expires_at = invitation.expires_at.timestamp();
        let item = InvitationItem {
            pk: tenant_pk(scope),
            sk: invitation_sk(invitation.id),
            token_hash: token.clone(),
            invitation: invitation.clone(),
            expires_at,
        };
        let lookup = InvitationTokenItem {
            pk: invitation_token_pk(token),
            sk: GUARD_SK.into(),
            token: InvitationToken { organization_id: scope.org_id(), invitation_id: invitation.id, expires_at },
            owner_org: Some(scope.org_id()),
        };
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Caller,
            Quota,
            Invitation,
            Token,
            Event,
            Answer,
        }
        let mut transaction = Transaction::new()
            .with(Item::Caller, caller.verified().check(self.store, scope)?)
            .with(Item::Quota, self.quota_use(scope, quota, invitation.created_at)?)
            .with(Item::Invitation, self.store.put_new(serde_dynamo::to_item(item)?)?)
            .with(Item::Token, self.store.put_new(serde_dynamo::to_item(lookup)?)?)
            .with(Item::Event, self.store.put_new(serde_dynamo::to_item(OutboxItem::new(scope, event))?)?);
        // The answer to an Idempotency-Key.
        if let Some((claim, answer)) = answer.filter(|(claim, _)| claim.is_for(scope)) {
            transaction.push(Item::Answer, claim.record(self.store, answer)?);
        }
        match self.store.transact(transaction).await {
            Ok(()) => Ok(()),
            Err(e) if e.cancelled(Item::Answer) => Err(StoreError::VersionConflict),
            Err(e) if e.cancelled(Item::Caller) => Err(caller.verified().refusal(self.store, scope).await),
            Err(e) if e.cancelled(Item::Quota) => {
                let midnight = (invitation.created_at.date_naive() + chrono::Days::new(1))
                    .and_time(chrono::NaiveTime::MIN)
                    .and_utc();
                let retry_after = u64::try_from((midnight - invitation.created_at).num_seconds()).unwrap_or(1).max(1);
                Err(StoreError::QuotaExceeded { retry_after })
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn item(&self, scope: &TenantScope, id: InvitationId) -> Result<Option<InvitationItem>, StoreError> {
        self.store.get_item(tenant_pk(scope), invitation_sk(id)).await
    }

    pub async fn get(&self, scope: &TenantScope, id: InvitationId) -> Result<Option<Invitation>, StoreError> {
        Ok(self.item(scope, id).await?.map(|i| i.invitation))
    }

    /// One page of the organization's pending invitations, newest first, after `after`.
    /// Expired ones (which TTL deletes only within days) are left out of the answer but
    /// still move the cursor, so a page may hold fewer than `limit`.
    pub async fn list_page(
        &self,
        scope: &TenantScope,
        limit: usize,
        after: Option<InvitationId>,
        now: DateTime<Utc>,
    ) -> Result<Page<Invitation, InvitationId>, StoreError> {
        let page: Page<InvitationItem> =
            self.store.partition_page(scope, INVITATION_SK_PREFIX, limit, after.map(invitation_sk)).await?;
        let mut page =
            page.map(|i| i.invitation, |sk| sk.strip_prefix(INVITATION_SK_PREFIX).and_then(InvitationId::parse));
        page.items.retain(|i| !i.is_expired(now));
        Ok(page)
    }

    /// Revokes a pending invitation, if the caller is still an admin, recording
    /// `invitation.revoked` with it.
    pub async fn revoke(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        id: InvitationId,
        by: &Provenance,
    ) -> Result<Event, StoreError> {
        debug_assert!(caller.needs_admin, "revoking is an admin's write");
        let item = self.item(scope, id).await?.ok_or(StoreError::NotFound)?;
        match self.delete_both(scope, &item, Some(caller), by).await {
            Err(StoreError::CallerNotAdmin) => Err(caller.refusal(self.store, scope).await),
            other => other,
        }
    }

    /// Deletes an invitation and its token lookup together, with its `invitation.revoked`
    /// event; with a caller, only if they are still an admin (a refusal is reported as
    /// `CallerNotAdmin`, for `revoke` to explain).
    async fn delete_both(
        &self,
        scope: &TenantScope,
        item: &InvitationItem,
        caller: Option<&Caller>,
        by: &Provenance,
    ) -> Result<Event, StoreError> {
        let event = Event::new(
            scope.org_id(),
            Utc::now(),
            by,
            EventKind::InvitationRevoked { invitation_id: item.invitation.id },
        );
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Invitation,
            Token,
            Event,
            Caller,
        }
        let mut transaction = Transaction::new()
            .with(Item::Invitation, self.delete(tenant_pk(scope), invitation_sk(item.invitation.id))?)
            .with(Item::Token, self.delete(invitation_token_pk(&item.token_hash), GUARD_SK.into())?)
            .with(Item::Event, outbox::record(self.store, scope, &event)?);
        if let Some(caller) = caller {
            transaction.push(Item::Caller, caller.check(self.store, scope)?);
        }
        match self.store.transact(transaction).await {
            Ok(()) => Ok(event),
            Err(e) if e.cancelled(Item::Caller) => Err(StoreError::CallerNotAdmin),
            Err(e) if e.cancelled(Item::Invitation) || e.cancelled(Item::Token) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Revokes every pending invitation `inviter` sent: run when an admin is demoted or
    /// removed, so that the organization's list shows no invitation that can no longer be
    /// accepted (acceptance itself re-checks the inviter). Answers the revocations' events.
    pub async fn revoke_sent_by(
        &self,
        scope: &TenantScope,
        inviter: UserId,
        by: &Provenance,
    ) -> Result<Vec<Event>, StoreError> {
        let mut revoked = Vec::new();
        let mut after = None;
        loop {
            let mut query = self.store.query_partition(scope, INVITATION_SK_PREFIX.into());
            if let Some(after) = after.take() {
                query = query.set_exclusive_start_key(Some(after));
            }
            let out = query.send().await?;
            let items: Vec<InvitationItem> = readable_items(out.items.unwrap_or_default());
            for item in items.iter().filter(|i| i.invitation.invited_by == inviter) {
                match self.delete_both(scope, item, None, by).await {
                    Ok(event) => revoked.push(event),
                    // Accepted or revoked meanwhile.
                    Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e),
                }
            }
            match out.last_evaluated_key {
                Some(key) => after = Some(key),
                None => return Ok(revoked),
            }
        }
    }

    pub async fn find_token(&self, token: &TokenHash) -> Result<Option<InvitationToken>, StoreError> {
        let item: Option<InvitationTokenItem> =
            self.store.get_item(invitation_token_pk(token), GUARD_SK.into()).await?;
        Ok(item.map(|i| i.token))
    }

    /// Turns the invitation into a user, once: the invitation and its token are deleted in
    /// the same transaction that creates the user, so a second use finds nothing. The admin
    /// who sent it must still be one: an invitation does not outlive its sender's powers.
    pub async fn accept(
        &self,
        scope: &TenantScope,
        id: InvitationId,
        token: &TokenHash,
        password_hash: PasswordHash,
        now: DateTime<Utc>,
        origin: Origin,
    ) -> Result<(User, Event), StoreError> {
        let item = self.item(scope, id).await?.ok_or(StoreError::InvalidInvitation)?;
        if item.invitation.is_expired(now) || &item.token_hash != token {
            return Err(StoreError::InvalidInvitation);
        }
        let invitation = item.invitation;
        let inviter = Caller {
            user_id: invitation.invited_by,
            needs_admin: true,
            needs_verified: true,
            credential_version: None,
        };
        let user = User {
            id: UserId::generate(),
            email: invitation.email,
            role: invitation.role,
            organization_id: scope.org_id(),
            created_at: now,
            // The token came by mail to this address: accepting it proves the mailbox.
            email_verified: true,
        };
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            NewUser(NewUserItem),
            Invitation,
            Token,
            Inviter,
            Event,
        }
        let mut transaction = Transaction::new();
        transaction.append(self.store.users().creation_items(scope, &user, password_hash)?, Item::NewUser);
        transaction.push(Item::Invitation, self.delete(tenant_pk(scope), invitation_sk(id))?);
        transaction.push(Item::Token, self.delete(invitation_token_pk(token), GUARD_SK.into())?);
        transaction.push(Item::Inviter, inviter.check(self.store, scope)?);
        // The new member is who acted: they accepted.
        let event = Event::new(
            scope.org_id(),
            now,
            &Provenance::user(user.id, origin),
            EventKind::MemberJoined { user_id: user.id, role: user.role },
        );
        transaction.push(Item::Event, outbox::record(self.store, scope, &event)?);
        match self.store.transact(transaction).await {
            Ok(()) => Ok((user, event)),
            Err(e) if e.cancelled(Item::NewUser(NewUserItem::Credentials)) => Err(StoreError::Taken(Unique::Email)),
            Err(e) if e.cancelled(Item::Invitation) || e.cancelled(Item::Token) || e.cancelled(Item::Inviter) => {
                Err(StoreError::InvalidInvitation)
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::{InvitationDraft, OpaqueToken};

    proptest! {
        /// Whatever invitation the API accepts, stored as an item, reads back as itself.
        #[test]
        fn an_accepted_invitation_reads_back_from_its_item(local in "[a-z0-9._-]{1,20}", admin: bool) {
            let body = serde_json::json!({"email": format!("{local}@example.com"), "role": if admin { "admin" } else { "member" }});
            if let Ok(draft) = serde_json::from_value::<InvitationDraft>(body) {
                let scope = TenantScope::for_new_organization();
                let invitation = Invitation::new(draft, scope.org_id(), UserId::generate(), Utc::now());
                let item = InvitationItem {
                    pk: tenant_pk(&scope),
                    sk: invitation_sk(invitation.id),
                    token_hash: OpaqueToken::generate().hash(),
                    invitation: invitation.clone(),
                    expires_at: invitation.expires_at.timestamp(),
                };
                let back: InvitationItem = super::super::table::read_item(serde_dynamo::to_item(item).unwrap()).unwrap();
                prop_assert_eq!(back.invitation, invitation);
            }
        }
    }
}
