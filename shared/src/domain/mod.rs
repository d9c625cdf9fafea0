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

/// What changes how the text around it reads without showing itself: Unicode's
/// `Bidi_Control` characters (marks, embeddings, overrides, isolates), the line and
/// paragraph separators, the zero-width space, the invisible operators and format
/// characters and the soft hyphen. A name or title holding one could read in a mail subject
/// or an admin's list as something it is not ("invoice\u{202E}fdp.exe"), so a client's names
/// and titles refuse them ([`visible`]), and an event's user agent drops them (with the tag
/// characters, see [`events::Origin::new`]). Not the zero-width joiner and non-joiner
/// (U+200C, U+200D), which emoji sequences and several scripts need, nor the tag characters,
/// which subdivision flags are made of.
pub(crate) fn is_hidden_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// The ECMA-262 class of what a name or title may not hold: `char::is_control`
/// (U+0000–U+001F, U+007F–U+009F) and [`is_hidden_format`].
macro_rules! refused_class {
    () => {
        r"\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    };
}

/// One line of text with at least one visible character and none of [`is_hidden_format`]'s:
/// what a client's name or title must be ([`bounded_text`] and [`visible`]), as an ECMA-262
/// pattern for the spec.
const SINGLE_LINE_TEXT: &str =
    concat!("^[^", refused_class!(), "]*[^\\s", refused_class!(), "][^", refused_class!(), "]*$");

/// Trims `raw` and checks its length in characters (not bytes: titles are often not ASCII),
/// and that it holds no control character. What a stored name is read back with: names
/// stored before [`is_hidden_format`]'s characters were refused still read.
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

/// Why a client's name or title is refused though it is stored text: it holds one of
/// [`is_hidden_format`]'s characters.
const HIDDEN_REFUSED: &str =
    "must not contain bidirectional controls, line or paragraph separators or invisible characters";

/// `deserialize_with` for a name or title a client sends: the type's own parsing (what a
/// stored one is read with), and none of [`is_hidden_format`]'s characters.
pub(crate) fn visible<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + std::fmt::Display,
{
    let text = T::deserialize(d)?;
    if text.to_string().chars().any(is_hidden_format) {
        return Err(serde::de::Error::custom(HIDDEN_REFUSED));
    }
    Ok(text)
}

/// [`visible`] for an optional field of a patch, where `null` is refused (as `not_null`).
pub(crate) fn visible_not_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + std::fmt::Display,
{
    visible(d).map(Some)
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Characters a name must not hold, one of each kind.
    const HIDDEN: [char; 9] =
        ['\u{202E}', '\u{2066}', '\u{200F}', '\u{2028}', '\u{2029}', '\u{200B}', '\u{FEFF}', '\u{00AD}', '\u{2060}'];

    fn spec_pattern() -> regex_automata::meta::Regex {
        regex_automata::meta::Regex::new(SINGLE_LINE_TEXT).expect("the spec's pattern compiles")
    }

    /// A title as a client sends it, in JSON.
    fn sent(title: &str) -> Result<TaskTitle, serde_json::Error> {
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(deserialize_with = "visible")]
            title: TaskTitle,
        }
        serde_json::from_value::<Body>(serde_json::json!({ "title": title })).map(|b| b.title)
    }

    /// What a client may send as a name: the parser and the hidden characters' refusal.
    fn accepted(text: &str) -> bool {
        bounded_text("name", text, 1, 100).is_ok() && !text.chars().any(is_hidden_format)
    }

    #[test]
    fn a_name_with_a_bidi_override_or_a_separator_is_refused_but_a_stored_one_reads() {
        for c in HIDDEN {
            let name = format!("invoice{c}fdp.exe");
            assert!(sent(&name).is_err(), "U+{:04X} is refused", c as u32);
            assert!(!spec_pattern().is_match(&name), "the spec refuses U+{:04X} too", c as u32);
            let stored: TaskTitle = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(stored.as_str(), name, "one stored before the rule still reads");
        }
        // A subdivision flag is made of tag characters, a family emoji and Persian script of
        // joiners: a name keeps them.
        for name in [
            "Team \u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
            "Dev \u{1F468}\u{200D}\u{1F4BB}",
            "می\u{200C}خواهم",
        ] {
            assert_eq!(sent(name).expect("taken").as_str(), name);
            assert!(spec_pattern().is_match(name), "{name}");
        }
    }

    proptest! {
        /// A hidden character anywhere in an otherwise good name makes it refused.
        #[test]
        fn a_hidden_character_anywhere_is_refused(before in "[a-zA-Z0-9 ]{0,20}", after in "[a-zA-Z0-9 ]{0,20}", pick in 0..HIDDEN.len()) {
            let name = format!("x{before}{}{after}x", HIDDEN[pick]);
            prop_assert!(sent(&name).is_err());
        }

        /// The spec's pattern says what a client may send: a client checking it first is
        /// never refused, nor a name the pattern refuses accepted. (Trimmed text: the length
        /// limits are the spec's `minLength` and `maxLength`.)
        #[test]
        fn the_spec_pattern_agrees_with_the_parser(raw in "\\PC{0,12}|[\\x00-\\x20\\u{00A0}-\\u{00AF}\\u{2000}-\\u{206F}\\u{FEFF}a]{0,6}") {
            let text = raw.trim();
            prop_assert_eq!(accepted(text), spec_pattern().is_match(text), "{:?}", text);
        }
    }
}
