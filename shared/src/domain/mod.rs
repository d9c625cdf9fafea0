//! Types and rules with no AWS in them. Every value here is built by parsing, so an invalid
//! one cannot exist past the edge of the system.

mod api_key;
mod audit;
mod email;
pub mod events;
mod export;
mod idempotency;
mod ids;
mod invitation;
mod organization;
mod rate_limit;
mod secrets;
mod task;
mod user;
mod webhook;
mod webhook_endpoint;

pub use api_key::{ApiKey, ApiKeyDraft, ApiKeyName, ApiKeySecret, CreatedApiKey, MAX_API_KEY_LIFETIME};
pub use audit::{AuditEntry, AuditTarget, DEFAULT_AUDIT_RETENTION_DAYS};
pub use email::Email;
pub use export::{
    EXPORT_FORMAT, EXPORT_LIFETIME, EXPORT_TIME_LIMIT, Export, ExportDocument, ExportState, ExportStatus, ExportSummary,
};
pub use idempotency::IdempotencyKey;
pub use ids::{ApiKeyId, ExportId, InvitationId, OrgId, SessionId, TaskId, UserId, WebhookId};
pub use invitation::{Invitation, InvitationDraft, RoleChange};
pub use organization::{OrgName, OrgSlug, Organization};
pub use rate_limit::{RateBudget, RateState};
pub use secrets::{MailNonce, OpaqueToken, PasswordHash, TokenHash};
pub use task::{DueDate, Priority, Task, TaskDescription, TaskDraft, TaskPatch, TaskStatus, TaskTitle};
pub use user::{Password, Role, User};
pub use webhook::{MAX_WEBHOOK_URL_CHARS, Reach, SealedSecret, WebhookSecret, WebhookUrl, signature_header};
pub use webhook_endpoint::{
    CreatedWebhook, DISPATCHED_EVENT_TYPES, DisabledReason, FAILING_LIMIT, PING_EVENT_TYPE, ROTATION_OVERLAP,
    WEBHOOK_EVENT_TYPES, Webhook, WebhookAttempt, WebhookDelivery, WebhookDescription, WebhookDraft, WebhookEventType,
    WebhookPatch, WebhookPayload,
};

/// Why a value was refused: the field it came from and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

/// Trims `raw` and checks its length in characters (not bytes: titles are often not ASCII).
/// One line of text with at least one visible character: what [`bounded_text`] accepts,
/// as an ECMA-262 pattern for the spec (`char::is_control` is U+0000–U+001F, U+007F–U+009F).
const SINGLE_LINE_TEXT: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";

fn bounded_text(field: &'static str, raw: &str, min: usize, max: usize) -> Result<String, Invalid> {
    let text = raw.trim();
    let chars = text.chars().count();
    if chars < min {
        return Err(Invalid::new(field, format!("must have at least {min} character(s)")));
    }
    if chars > max {
        return Err(Invalid::new(field, format!("must have at most {max} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(Invalid::new(field, "must not contain control characters"));
    }
    Ok(text.to_owned())
}

/// Newtypes that are strings on the wire implement `Deserialize` by parsing, so that a
/// request type holding them is valid as soon as serde has built it.
macro_rules! parsed_string_type {
    ($ty:ty) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                <$ty>::parse(&raw).map_err(|e| serde::de::Error::custom(e.message))
            }
        }
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
use parsed_string_type;

/// Documents a text type in the OpenAPI spec with the limits its `parse` enforces, so the
/// spec cannot promise what the type refuses.
macro_rules! text_schema {
    ($ty:ty, $description:expr, example = $example:expr, |$b:ident| $limits:expr) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let $b = utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some($description))
                    .examples([$example]);
                utoipa::openapi::schema::Schema::Object($limits.build()).into()
            }
        }
        impl utoipa::ToSchema for $ty {}
    };
}
use text_schema;
