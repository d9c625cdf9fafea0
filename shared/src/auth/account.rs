//! An account's mailed tokens: email verification and password reset. Each token is
//! derived with [`MailTokenKey`], stored only as its hash, and redeemed once.
//!
//! The tenant scope of a reset or verification is formed here from what the token's
//! lookup names: holding the token (256 bits, mailed to the address) is the proof.

use chrono::{DateTime, Utc};

use super::mail_token::{MailTokenKey, MailTokenPurpose};
use super::throttle::{self, PasswordLimits};
use super::{AuthError, Principal};
use crate::domain::events::{Event, EventKind, Origin, Provenance};
use crate::domain::{DisabledReason, Email, MailNonce, OpaqueToken, Organization, Password, User, UserId};
use crate::store::{
    DeletionRequest, NewAdmin, Registration, StaleRegistration, Store, StoreError, TaskFilter, TenantScope, Unique,
    counter_key,
};

/// How many mail-sending requests (password resets, verification resends) one email and
/// one source address may make per window. Counted whether or not the email has an
/// account, so the limit tells nothing about accounts.
#[derive(Debug, Clone, Copy)]
pub struct MailRequestLimits {
    pub window_seconds: u64,
    pub per_email: u32,
    pub per_address: u32,
}

/// Counts one mail request for `email` from `source`, or answers `Throttled` with the
/// seconds until the window ends. Never given back: a request asked for a mail.
async fn count_mail_request(
    store: &Store,
    limits: &MailRequestLimits,
    email: &Email,
    source: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let window = throttle::Window::at(now, limits.window_seconds);
    let mut counters = vec![(counter_key(&format!("mail:email:{}", email.as_str()), window.index), limits.per_email)];
    if let Some(source) = source {
        let network = throttle::network_of(source);
        counters.push((counter_key(&format!("mail:ip:{network}"), window.index), limits.per_address));
    }
    for (key, max) in counters {
        window.count(store, &key, max, now).await?;
    }
    Ok(())
}

/// How many registrations one source address may make per window. A registration mails the
/// address it names, from TaskFlow's sender: unthrottled, it would be a free way to send
/// mail to anyone (and to spend the SES quota every organization's mail needs).
#[derive(Debug, Clone, Copy)]
pub struct RegistrationLimits {
    pub window_seconds: u64,
    pub per_address: u32,
}

/// Counts one registration request from `source` (its /64 for IPv6, as the password
/// throttle does), or answers `Throttled` with the seconds until the window ends. Every
/// request counts, before its body is read: refusing is then one write, whatever was sent.
/// A request with no source address (none outside API Gateway) is not counted.
pub async fn count_registration(
    store: &Store,
    limits: &RegistrationLimits,
    source: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let Some(source) = source else { return Ok(()) };
    let window = throttle::Window::at(now, limits.window_seconds);
    let key = counter_key(&format!("register:ip:{}", throttle::network_of(source)), window.index);
    window.count(store, &key, limits.per_address, now).await
}

/// Registers a new organization and its admin, who is then the verified caller (they chose
/// the password in this very request) with an unverified email address: the verification
/// token's event is recorded with the registration, for the caller to dispatch.
///
/// An address whose registration was never verified is not held for ever: after
/// [`UNVERIFIED_RELEASE_AFTER`] a new registration of it takes the address, and the stale
/// organization (its only user the unverified admin) is deleted. Answers the events to
/// dispatch with their scopes: the verification mail, and the stale organization's deletion
/// if there was one.
pub async fn register_organization(
    store: &Store,
    key: &MailTokenKey,
    registration: Registration,
    now: DateTime<Utc>,
    origin: Origin,
) -> Result<(Organization, User, Principal, Vec<(Event, TenantScope)>), AuthError> {
    let scope = TenantScope::for_new_organization();
    let admin_id = UserId::generate();
    let nonce = MailNonce::generate();
    let token = key.token(MailTokenPurpose::EmailVerification, &admin_id, &nonce).hash();
    let event = Event::new(
        scope.org_id(),
        now,
        &Provenance::user(admin_id, origin),
        EventKind::EmailVerificationRequested { user_id: admin_id, nonce },
    );
    let organizations = store.organizations();
    let new_admin = || NewAdmin { id: admin_id, verification: &token, event: &event };
    let email = registration.admin_email.clone();
    let (organization, admin, released) =
        match organizations.register(&scope, registration.clone(), new_admin(), now, None).await {
            Err(StoreError::Taken(Unique::Email)) => {
                let stale = stale_registration(store, &email, now).await?.ok_or(StoreError::Taken(Unique::Email))?;
                let (organization, admin) =
                    organizations.register(&scope, registration, new_admin(), now, Some(&stale)).await?;
                tracing::info!(released_org_id = %stale.scope.org_id(), "a stale unverified registration was released");
                (organization, admin, Some((stale.event, stale.scope)))
            }
            other => {
                let (organization, admin) = other?;
                (organization, admin, None)
            }
        };
    let principal = Principal::new(admin.id, admin.organization_id, admin.role);
    Ok((organization, admin, principal, [(event, scope)].into_iter().chain(released).collect()))
}

/// How long an address registered and never verified stays held by that registration.
pub const UNVERIFIED_RELEASE_AFTER: chrono::Duration = chrono::Duration::days(7);

/// The registration holding `email`, if it may be released: its user never verified the
/// address, registered more than [`UNVERIFIED_RELEASE_AFTER`] ago, is its organization's
/// only user, and the organization holds no task. The scope is formed from the email's credentials, as a login
/// does; the registration's transaction re-checks all of it.
async fn stale_registration(
    store: &Store,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<Option<StaleRegistration>, StoreError> {
    let Some(credentials) = store.credentials().find(email).await? else { return Ok(None) };
    let scope = TenantScope::verified(credentials.organization_id);
    let registered_before = now - UNVERIFIED_RELEASE_AFTER;
    let Some(user) = store.users().get(&scope, credentials.user_id).await? else { return Ok(None) };
    if user.email_verified || user.created_at >= registered_before {
        return Ok(None);
    }
    // Only a registration nobody used: its admin alone, and no task. (An unverified admin
    // cannot invite, so a second user cannot come in meanwhile.)
    if store.users().list_page(&scope, 2, None).await?.items.len() != 1
        || !store.tasks().list_page(&scope, &TaskFilter::default(), 1, None).await?.items.is_empty()
    {
        return Ok(None);
    }
    let event = Event::new(
        scope.org_id(),
        now,
        &Provenance::system(),
        EventKind::OrganizationDeletionRequested { requested_by: user.id },
    );
    let deletion = DeletionRequest { requested_by: user.id, notify: None, requested_at: now, event_id: event.event_id };
    Ok(Some(StaleRegistration { scope, user_id: user.id, registered_before, deletion, event }))
}

/// A new verification mail for the caller, throttled like a password reset; answers the
/// event to dispatch. An address already verified answers `AlreadyVerified`.
pub async fn resend_verification(
    store: &Store,
    key: &MailTokenKey,
    limits: &MailRequestLimits,
    principal: &Principal,
    source: Option<&str>,
    now: DateTime<Utc>,
    by: &Provenance,
) -> Result<Event, AuthError> {
    let scope = principal.scope();
    let user = store.users().get(&scope, principal.user_id()).await?.ok_or(AuthError::InvalidToken)?;
    if user.email_verified {
        return Err(StoreError::AlreadyVerified.into());
    }
    count_mail_request(store, limits, &user.email, source, now).await?;
    let nonce = MailNonce::generate();
    let token = key.token(MailTokenPurpose::EmailVerification, &user.id, &nonce).hash();
    let event =
        Event::new(user.organization_id, now, by, EventKind::EmailVerificationRequested { user_id: user.id, nonce });
    store.account_tokens().request_verification(&scope, &user, &token, &event, now).await?;
    Ok(event)
}

/// Redeems a verification token: the user's address is verified, and the token is spent.
pub async fn verify_email(store: &Store, token: &OpaqueToken, now: DateTime<Utc>) -> Result<(), AuthError> {
    let hash = token.hash();
    let pending = store.account_tokens().find_verification(&hash).await?;
    let pending = pending.filter(|p| p.expires_at > now.timestamp()).ok_or(StoreError::InvalidAccountToken)?;
    let scope = TenantScope::verified(pending.organization_id);
    let user = store.users().get(&scope, pending.user_id).await?.ok_or(StoreError::InvalidAccountToken)?;
    store.account_tokens().verify(&scope, pending.user_id, &hash, now, user.email_verified).await?;
    Ok(())
}

/// Asks for a password reset of `email`. Does the same work whether or not it has an
/// account: one throttle count per email and address, one read of the credentials, one
/// transaction (which DynamoDB refuses when there is no account), and nothing published on
/// this path: the outbox re-publisher sends the mail, so no timing tells the cases apart.
pub async fn request_password_reset(
    store: &Store,
    key: &MailTokenKey,
    limits: &MailRequestLimits,
    email: &Email,
    source: Option<&str>,
    now: DateTime<Utc>,
    origin: Origin,
) -> Result<(), AuthError> {
    count_mail_request(store, limits, email, source, now).await?;
    let account = store.credentials().find(email).await?;
    // The event goes to the account's own organization; nothing of it is read or answered.
    // Without an account, a scope and user of nobody make the transaction that writes nothing.
    let (scope, user) = match &account {
        Some(c) => (TenantScope::verified(c.organization_id), c.user_id),
        None => (TenantScope::for_new_organization(), UserId::generate()),
    };
    let nonce = MailNonce::generate();
    let token = key.token(MailTokenPurpose::PasswordReset, &user, &nonce).hash();
    let event = Event::new(
        scope.org_id(),
        now,
        &Provenance::anonymous(origin),
        EventKind::PasswordResetRequested { user_id: user, nonce },
    );
    store.account_tokens().request_reset(&scope, email, user, &token, &event, now).await?;
    Ok(())
}

/// Turns off the webhooks `user` made while their address was unproven, before a reset
/// proves it: whoever made them may not be the address's owner, who is about to take the
/// account over. (Making a webhook needs a proven address now; this covers those made before
/// it did.) Before the reset, not after: a failure leaves the token good for a retry, and
/// the owner never holds an account with a stranger's webhook on.
async fn turn_off_unproven_webhooks(
    store: &Store,
    scope: &TenantScope,
    user: &User,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    for stored in store.webhooks().all(scope).await? {
        if stored.webhook.enabled && stored.webhook.created_by == user.id {
            let kind =
                EventKind::WebhookDisabled { webhook_id: stored.webhook.id, reason: DisabledReason::UnprovenCreator };
            let event = Event::new(scope.org_id(), now, &Provenance::system(), kind);
            // Recorded in the outbox with the change; the re-publisher sends it on.
            store.webhooks().disable(scope, stored.webhook.id, &event, None).await?;
        }
    }
    Ok(())
}

/// Redeems a reset token: the password is set, the token spent, every session of the user
/// ended and the address marked verified, in one transaction. A failure before the
/// transaction leaves the token usable for a retry. A token that is not the account's
/// newest, or unknown, expired or used, counts as a failed password attempt of the source
/// address (the password throttle's per-address limit).
pub async fn confirm_password_reset(
    store: &Store,
    limits: &PasswordLimits,
    token: &OpaqueToken,
    new_password: &Password,
    source: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let attempt = throttle::reserve_address(store, limits, source, now).await?;
    let hash = token.hash();
    let invalid = || AuthError::from(StoreError::InvalidAccountToken);
    let email = store.account_tokens().find_reset(&hash, now).await?.ok_or_else(invalid)?;
    let credentials =
        store.credentials().find(&email).await?.filter(|c| c.has_reset(&hash, now)).ok_or_else(invalid)?;
    let scope = TenantScope::verified(credentials.organization_id);
    let password_hash = super::hash_password(new_password)?;
    let user = store.users().get(&scope, credentials.user_id).await?.ok_or_else(invalid)?;
    if !user.email_verified {
        turn_off_unproven_webhooks(store, &scope, &user, now).await?;
    }
    // One transaction: the password, the token spent, a new credential version (every
    // session ends) and, for an unproven address, its proof from now on.
    store.account_tokens().complete_reset(&scope, &user, &hash, &password_hash, now).await?;
    attempt.succeeded(store).await;
    Ok(())
}
