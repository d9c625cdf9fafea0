//! The tenant-keyed DynamoDB store: one table, single-table design.
//!
//! Every tenant-owned item lives in the partition `ORG#<organization id>`, and every
//! function that forms such a key takes a [`TenantScope`](TenantScope), which
//! only a verified caller has. Request paths use GetItem, Query and conditional writes;
//! nothing here scans.
//!
//! It reads as two parts: `table` holds the mechanisms (the [`Store`] handle, keys,
//! schema, scope, cursors, errors, named transactions, pages), and every other module here is
//! one aggregate written with them (tasks, users, webhooks, ...), reached from the handle
//! through the accessors below.

mod account_tokens;
mod admin_count;
mod api_keys;
mod audit;
mod caller;
mod credentials;
mod deletion;
mod exports;
mod idempotency;
mod invitations;
mod mail_budget;
mod mail_deliveries;
mod organizations;
mod outbox;
mod rate_limits;
mod sessions;
mod table;
mod tasks;
mod throttle;
mod user_item;
mod users;
mod webhooks;

pub use account_tokens::{AccountTokenStore, PendingVerification, RESET_LIFETIME, VERIFICATION_LIFETIME};
pub use api_keys::{ApiKeyStore, FoundApiKey};
pub use audit::{AuditFilter, AuditPosition, AuditStore, Entered};
pub use caller::Caller;
pub use credentials::{CredentialStore, Credentials};
pub use deletion::{DeletionStore, Progress, Requested};
pub use exports::{Completed, ExportRequested, ExportStore};
pub use idempotency::{Begun, IdempotencyClaim, IdempotencyStore, StoredAnswer};
pub use invitations::{InvitationQuota, InvitationStore, InvitationToken, NewInvitation};
pub use mail_budget::{MailBudgetStore, Spent};
pub use mail_deliveries::{Claim, ClaimRule, MailDeliveryState, MailDeliveryStore};
pub use organizations::{DeletionRequest, NewAdmin, OrganizationStore, Registration, StaleRegistration};
pub use outbox::OutboxStore;
pub use rate_limits::{Counted, Leased, RateLeases, RateLimitStore};
pub use sessions::{RefreshToken, Session, SessionStore};
pub use table::cursor::{CursorError, CursorKey};
pub(crate) use table::error::is_transient;
pub use table::error::{StoreError, Unique};
pub use table::scope::TenantScope;
pub use table::{Page, Store, schema};
pub use tasks::{DeleteRefused, TaskFilter, TaskStore};
pub use throttle::{ThrottleStore, counter_key};
pub use users::UserStore;
pub use webhooks::{MAX_WEBHOOKS, StoredWebhook, WebhookStore};

/// The aggregates, each a view of the one table.
impl Store {
    pub fn account_tokens(&self) -> AccountTokenStore<'_> {
        AccountTokenStore { store: self }
    }

    pub fn api_keys(&self) -> ApiKeyStore<'_> {
        ApiKeyStore { store: self }
    }

    pub fn audit(&self) -> AuditStore<'_> {
        AuditStore { store: self }
    }

    pub fn credentials(&self) -> CredentialStore<'_> {
        CredentialStore { store: self }
    }

    pub fn organizations(&self) -> OrganizationStore<'_> {
        OrganizationStore { store: self }
    }

    pub fn users(&self) -> UserStore<'_> {
        UserStore { store: self }
    }

    pub fn tasks(&self) -> TaskStore<'_> {
        TaskStore { store: self }
    }

    pub fn mail_budget(&self) -> MailBudgetStore<'_> {
        MailBudgetStore { store: self }
    }

    pub fn outbox(&self) -> OutboxStore<'_> {
        OutboxStore { store: self }
    }

    pub fn deletions(&self) -> DeletionStore<'_> {
        DeletionStore { store: self }
    }

    pub fn exports(&self) -> ExportStore<'_> {
        ExportStore { store: self }
    }

    pub fn idempotency(&self) -> IdempotencyStore<'_> {
        IdempotencyStore { store: self }
    }

    pub fn mail_deliveries(&self) -> MailDeliveryStore<'_> {
        MailDeliveryStore { store: self }
    }

    pub fn invitations(&self) -> InvitationStore<'_> {
        InvitationStore { store: self }
    }

    pub fn sessions(&self) -> SessionStore<'_> {
        SessionStore { store: self }
    }

    pub fn throttle(&self) -> ThrottleStore<'_> {
        ThrottleStore { store: self }
    }

    pub fn webhooks(&self) -> WebhookStore<'_> {
        WebhookStore { store: self }
    }

    pub fn rate_limits(&self) -> RateLimitStore<'_> {
        RateLimitStore { store: self }
    }
}
