//! Every key the table uses, in one place. Tenant-owned keys take a [`TenantScope`].

use super::scope::TenantScope;
use crate::domain::events::EventId;
use crate::domain::{
    ApiKeyId, Email, ExportId, IdempotencyKey, InvitationId, OrgSlug, SessionId, TaskId, TaskStatus, TokenHash, UserId,
    WebhookId,
};

pub const PK: &str = "pk";
pub const SK: &str = "sk";

/// The partition that holds everything one organization owns.
pub fn tenant_pk(scope: &TenantScope) -> String {
    format!("ORG#{}", scope.org_id())
}

pub const ORGANIZATION_SK: &str = "ORGANIZATION";

/// The organization's request counter (see `rate_limits`).
pub const RATE_LIMIT_SK: &str = "RATE_LIMIT";

/// The organization's daily mail budget (see [`crate::store::mail_budget`]).
pub const MAIL_BUDGET_SK: &str = "MAIL_BUDGET";

pub fn user_sk(user: UserId) -> String {
    format!("{USER_SK_PREFIX}{user}")
}

pub const TASK_SK_PREFIX: &str = "TASK#";

/// Task ids are UUIDv7, so within a tenant's partition task keys sort by creation time.
pub fn task_sk(task: TaskId) -> String {
    format!("{TASK_SK_PREFIX}{task}")
}

pub fn task_id_from_sk(sk: &str) -> Option<TaskId> {
    sk.strip_prefix(TASK_SK_PREFIX).and_then(TaskId::parse)
}

/// Partition keys of the sparse task indexes: a task appears under its status, under its
/// assignee, and under both, so each filter is one Query that reads only matching items.
pub fn status_pk(scope: &TenantScope, status: TaskStatus) -> String {
    format!("ORG#{}#STATUS#{}", scope.org_id(), status.as_str())
}

pub fn assignee_pk(scope: &TenantScope, assignee: UserId) -> String {
    format!("ORG#{}#ASSIGNEE#{assignee}", scope.org_id())
}

pub fn assignee_status_pk(scope: &TenantScope, assignee: UserId, status: TaskStatus) -> String {
    format!("ORG#{}#ASSIGNEE#{assignee}#STATUS#{}", scope.org_id(), status.as_str())
}

/// Global (not tenant-owned) guard items that make emails and slugs unique service-wide.
/// The email item also holds the login credentials, found before any tenant is known.
pub fn email_pk(email: &Email) -> String {
    format!("EMAIL#{}", email.as_str())
}

pub fn slug_pk(slug: &OrgSlug) -> String {
    format!("SLUG#{}", slug.as_str())
}

pub const GUARD_SK: &str = "GUARD";

/// The attribute naming the organization a global item belongs to: its email and slug
/// guards and its refresh, invitation, reset and verification token lookups. The sparse
/// index `lookups-by-owner` lists them by it, so deleting an organization finds every one of
/// them (a rotated refresh token's lookup is named by nothing else) without a scan.
pub const OWNER: &str = "owner_org";

/// A stable, evenly spread number for `text` (32-bit FNV-1a): which shard of a key an id
/// goes to. The same in every instance and every release: changing it would move keys.
pub fn spread(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5_u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193))
}

/// A pending notification, in the tenant's partition beside the task it is about.
pub fn outbox_sk(event: EventId) -> String {
    format!("OUTBOX#{event}")
}

pub const AUDIT_SK_PREFIX: &str = "AUDIT#";

/// An audit log entry, in the partition of its organization: by time, then event id, so
/// entries sort by when they happened and one event has one entry.
pub fn audit_sk(at: chrono::DateTime<chrono::Utc>, event: EventId) -> String {
    format!("{AUDIT_SK_PREFIX}{}#{event}", sortable_time(at))
}

/// RFC 3339 in UTC with fixed precision, so text order is time order.
pub fn sortable_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub const MAIL_DELIVERY_SK_PREFIX: &str = "DELIVERY#";

/// The mailer's idempotency record of one event, in the partition of the organization the
/// event belongs to (so it can be listed, and deleted with the organization).
pub fn mail_delivery_sk(event: EventId) -> String {
    format!("{MAIL_DELIVERY_SK_PREFIX}{event}")
}

pub const USER_SK_PREFIX: &str = "USER#";

/// A user's refresh sessions sort together, so "every session of this user" is one Query.
pub fn session_sk(user: UserId, session: SessionId) -> String {
    format!("{}{session}", session_prefix(user))
}

pub fn session_prefix(user: UserId) -> String {
    format!("SESSION#{user}#")
}

/// The global lookup of a refresh token by its hash.
pub fn refresh_pk(token: &TokenHash) -> String {
    format!("REFRESH#{}", token.as_str())
}

pub const INVITATION_SK_PREFIX: &str = "INVITATION#";

pub fn invitation_sk(invitation: InvitationId) -> String {
    format!("{INVITATION_SK_PREFIX}{invitation}")
}

/// The organization's count of invitations sent on one day (UTC), for its daily quota.
pub fn invitation_quota_sk(day: chrono::NaiveDate) -> String {
    format!("QUOTA#invitations#{}", day.format("%Y-%m-%d"))
}

/// The global lookup of an invitation by its token's hash.
pub fn invitation_token_pk(token: &TokenHash) -> String {
    format!("INVITE#{}", token.as_str())
}

/// A caller's idempotency record for one `Idempotency-Key`, named by the caller (a user's or
/// an API key's id) and the key's SHA-256 (a key is the client's text: hashed, it has a fixed
/// length and no separator in it).
pub fn idempotency_sk(caller: &str, key: &IdempotencyKey) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_str().as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("IDEMPOTENCY#{caller}#{hex}")
}

pub const API_KEY_SK_PREFIX: &str = "APIKEY#";

/// An API key, by its id (UUIDv7: keys sort by creation time).
pub fn api_key_sk(key: ApiKeyId) -> String {
    format!("{API_KEY_SK_PREFIX}{key}")
}

pub const WEBHOOK_SK_PREFIX: &str = "WEBHOOK#";

/// The organization's count of webhooks, which keeps the limit under concurrency (outside
/// [`WEBHOOK_SK_PREFIX`], so listing webhooks does not meet it).
pub const WEBHOOK_COUNT_SK: &str = "WEBHOOK_COUNT";

/// A webhook, by its id (UUIDv7: webhooks sort by creation time).
pub fn webhook_sk(webhook: WebhookId) -> String {
    format!("{WEBHOOK_SK_PREFIX}{webhook}")
}

/// The deliveries of one webhook, by event id (UUIDv7: newest last).
pub fn webhook_message_prefix(webhook: WebhookId) -> String {
    format!("WEBHOOKMSG#{webhook}#")
}

/// One event's delivery to one webhook: its attempts, and whether one was delivered.
pub fn webhook_message_sk(webhook: WebhookId, event: EventId) -> String {
    format!("{}{event}", webhook_message_prefix(webhook))
}

pub const EXPORT_SK_PREFIX: &str = "EXPORT#";

/// An export of the organization's data: where it stands and what its document holds.
pub fn export_sk(export: ExportId) -> String {
    format!("{EXPORT_SK_PREFIX}{export}")
}

/// The global lookup of a password reset by its token's hash.
pub fn password_reset_pk(token: &TokenHash) -> String {
    format!("RESET#{}", token.as_str())
}

/// The global lookup of an email verification by its token's hash.
pub fn verification_pk(token: &TokenHash) -> String {
    format!("VERIFY#{}", token.as_str())
}
