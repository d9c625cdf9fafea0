//! An organization's webhooks as admins configure them, and what each delivery carries: the
//! event as a Standard Webhooks payload, with nothing in it that is not the organization's
//! to see (no nonce, no request origin).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::events::{Event, EventKind};
use super::task::{not_null, present};
use super::webhook::{Reach, WebhookSecret, WebhookUrl};
use super::{Invalid, OrgId, UserId, WebhookId, bounded_text, parsed_string_type, text_schema};

/// The event types the dispatcher sends: those a webhook can ask for, then the ping an admin
/// asks for on one webhook (`POST /api/v1/webhooks/{id}/test`), which goes to that webhook
/// alone. Left out are those that concern one person's account (a password reset, an email
/// verification: their mail is theirs) and the jobs an admin starts (deletion, export),
/// which answer on their own routes.
pub const DISPATCHED_EVENT_TYPES: [&str; 17] = [
    "task.created",
    "task.updated",
    "task.assigned",
    "task.deleted",
    "member.joined",
    "member.role_changed",
    "member.removed",
    "invitation.created",
    "invitation.revoked",
    "organization.updated",
    "api_key.created",
    "api_key.revoked",
    "webhook.created",
    "webhook.updated",
    "webhook.disabled",
    "webhook.deleted",
    PING_EVENT_TYPE,
];

/// The test delivery's type.
pub const PING_EVENT_TYPE: &str = "webhook.ping";

/// The event types a webhook can ask for: all the dispatcher sends but the ping.
pub const WEBHOOK_EVENT_TYPES: &[&str] = {
    let all: &[&str] = &DISPATCHED_EVENT_TYPES;
    match all.split_last() {
        Some((_, subscribable)) => subscribable,
        None => &[],
    }
};

/// How long the secret a rotation replaces still signs, beside the new one: time for the
/// receiver to take the new secret without refusing a delivery meanwhile.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);

/// How long every attempt to reach a webhook may fail before TaskFlow turns it off.
pub const FAILING_LIMIT: chrono::Duration = chrono::Duration::days(3);

/// One of [`WEBHOOK_EVENT_TYPES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookEventType(&'static str);

impl WebhookEventType {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        WEBHOOK_EVENT_TYPES.iter().find(|t| **t == raw).map(|t| Self(t)).ok_or_else(|| {
            Invalid::new("event_types", format!("{raw:?} is not one of {}", WEBHOOK_EVENT_TYPES.join(", ")))
        })
    }
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}
parsed_string_type!(WebhookEventType);

impl utoipa::PartialSchema for WebhookEventType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(WEBHOOK_EVENT_TYPES.iter().copied()))
            .examples(["task.created"])
            .into()
    }
}
impl utoipa::ToSchema for WebhookEventType {}

/// What a webhook is for, as its admin describes it: at most 500 characters after trimming.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookDescription(String);

impl WebhookDescription {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        bounded_text("description", raw, 0, 500).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
parsed_string_type!(WebhookDescription);
text_schema!(
    WebhookDescription,
    "At most 500 characters after trimming, no control characters.",
    example = "Sync to the data warehouse",
    |b| b.max_length(Some(500))
);

/// The body of `POST /api/v1/webhooks`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://hooks.example.com/taskflow", "event_types": ["task.created", "task.updated"], "description": "Warehouse sync"}))]
pub struct WebhookDraft {
    /// An `https` URL without credentials or fragment, at most 2048 characters. (`http` only
    /// to loopback, where the stack allows it: `make dev` and the test stack do, a deployed
    /// stack does not.)
    #[schema(format = "uri", example = "https://hooks.example.com/taskflow")]
    pub url: String,
    /// The event types to deliver; absent or `null`: every type, those added later included.
    #[serde(default)]
    pub event_types: Option<Vec<WebhookEventType>>,
    #[serde(default)]
    pub description: WebhookDescription,
    /// Whether events are delivered; `true` when absent.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// The body of `PATCH /api/v1/webhooks/{id}`: only the fields present change; `event_types:
/// null` means every type.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": true, "event_types": null}), min_properties = 1)]
pub struct WebhookPatch {
    /// As when the webhook was made.
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = String, format = "uri", example = "https://hooks.example.com/taskflow")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<WebhookEventType>>)]
    pub event_types: Option<Option<Vec<WebhookEventType>>>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = WebhookDescription)]
    pub description: Option<WebhookDescription>,
    /// `true` turns a webhook TaskFlow disabled back on.
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = bool)]
    pub enabled: Option<bool>,
}

impl WebhookPatch {
    pub fn is_empty(&self) -> bool {
        self.url.is_none() && self.event_types.is_none() && self.description.is_none() && self.enabled.is_none()
    }
}

/// Why TaskFlow turned a webhook off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisabledReason {
    /// The endpoint answered 410 Gone: it asked for no more deliveries.
    EndpointGone,
    /// Every attempt to reach it failed for three days.
    Failing,
    /// The admin who made it was removed from the organization.
    CreatorRemoved,
    /// The admin who made it is no longer an admin.
    CreatorDemoted,
    /// It was made with an API key, since revoked.
    KeyRevoked,
    /// It was made by an account whose address was not proven, which a password reset then
    /// took over (its maker may not have been the address's owner).
    UnprovenCreator,
}

/// A webhook as admins see it. Its secret is not here: it is answered once, at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: WebhookId,
    pub organization_id: OrgId,
    #[schema(value_type = String, format = "uri", example = "https://hooks.example.com/taskflow")]
    pub url: WebhookUrl,
    /// The event types delivered; `null`: every type, those added later included.
    pub event_types: Option<Vec<WebhookEventType>>,
    pub description: WebhookDescription,
    pub enabled: bool,
    /// Set when TaskFlow turned the webhook off; `null` otherwise. Enabling it again clears it.
    #[serde(default)]
    pub disabled_reason: Option<DisabledReason>,
    /// Since when every attempt to reach it has failed; `null` while deliveries succeed.
    /// After three days TaskFlow turns it off (`disabled_reason: failing`) and mails an admin
    /// (the one who made it, while they are one).
    #[serde(default)]
    pub failing_since: Option<DateTime<Utc>>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

/// The answer to creating a webhook: the webhook, and its secret, which is never shown again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// Verifies each delivery's `webhook-signature` (Standard Webhooks). Store it now: it is
    /// never shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

impl Webhook {
    /// The webhook of `draft`, made by `created_by` now, with its secret. The URL is judged
    /// under `reach`; a list of event types must name at least one, each once.
    pub fn new(
        draft: WebhookDraft,
        reach: Reach,
        organization_id: OrgId,
        created_by: UserId,
        now: DateTime<Utc>,
    ) -> Result<(Self, WebhookSecret), Invalid> {
        let webhook = Self {
            id: WebhookId::generate(),
            organization_id,
            url: WebhookUrl::parse(&draft.url, reach)?,
            event_types: event_types(draft.event_types)?,
            description: draft.description,
            enabled: draft.enabled,
            disabled_reason: None,
            failing_since: None,
            created_by,
            created_at: now,
        };
        Ok((webhook, WebhookSecret::generate()))
    }

    /// The webhook `patch` makes of this one, and the names of the fields whose values it
    /// changes (empty: nothing to write). Enabling a webhook clears why it was off and its
    /// failures; so does a new URL (another endpoint, with no history).
    pub fn patched(&self, patch: WebhookPatch, reach: Reach) -> Result<(Self, Vec<&'static str>), Invalid> {
        let mut next = self.clone();
        let mut changed = Vec::new();
        if let Some(url) = patch.url {
            next.url = WebhookUrl::parse(&url, reach)?;
            if next.url != self.url {
                changed.push("url");
                next.failing_since = None;
            }
        }
        if let Some(types) = patch.event_types {
            next.event_types = event_types(types)?;
            if next.event_types != self.event_types {
                changed.push("event_types");
            }
        }
        if let Some(description) = patch.description
            && description != self.description
        {
            next.description = description;
            changed.push("description");
        }
        if let Some(enabled) = patch.enabled
            && enabled != self.enabled
        {
            next.enabled = enabled;
            changed.push("enabled");
            if enabled {
                next.disabled_reason = None;
                next.failing_since = None;
            }
        }
        Ok((next, changed))
    }

    /// Whether `event` is delivered to this webhook now: a ping for it, whether it is enabled
    /// or not (an admin may try an endpoint before turning it back on), or an event of a type
    /// it asked for while it is enabled.
    pub fn wants(&self, event: &Event) -> bool {
        if let EventKind::WebhookPing { webhook_id } = event.kind {
            return webhook_id == self.id;
        }
        let name = event.kind.type_name();
        self.enabled
            && WEBHOOK_EVENT_TYPES.contains(&name)
            && self.event_types.as_ref().is_none_or(|types| types.iter().any(|t| t.as_str() == name))
    }
}

/// A list of event types as kept: absent for every type, else sorted, each once, and at
/// least one.
fn event_types(types: Option<Vec<WebhookEventType>>) -> Result<Option<Vec<WebhookEventType>>, Invalid> {
    match types {
        None => Ok(None),
        Some(types) if types.is_empty() => {
            Err(Invalid::new("event_types", "must name at least one type, or be null for every type"))
        }
        Some(mut types) => {
            types.sort_by_key(|t| t.as_str());
            types.dedup();
            Ok(Some(types))
        }
    }
}

/// One attempt to deliver an event to a webhook, as kept for its admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookAttempt {
    pub attempted_at: DateTime<Utc>,
    /// The endpoint's status code; `null` when it gave none (timed out, refused, forbidden).
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The first kilobyte of the endpoint's answer.
    pub response: String,
}

/// One event's delivery to one webhook: every attempt, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookDelivery {
    /// The event's id, sent as `webhook-id`: the same on every attempt.
    #[schema(value_type = String, format = Uuid)]
    pub event_id: super::events::EventId,
    #[schema(example = "task.created")]
    pub event_type: String,
    /// Whether an attempt was answered 2xx.
    pub delivered: bool,
    /// Whether it was given up on: the endpoint refused it for good (a 4xx other than 429,
    /// 410), or it may not be reached. No attempt follows.
    #[serde(default)]
    pub given_up: bool,
    pub attempts: Vec<WebhookAttempt>,
}

/// What a delivery's body is: `{"type", "timestamp", "data"}` as Standard Webhooks writes an
/// event, `data` holding the event's ids and its actor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookPayload {
    #[serde(rename = "type")]
    pub event_type: &'static str,
    pub timestamp: DateTime<Utc>,
    pub data: serde_json::Value,
}

impl WebhookPayload {
    /// The payload of `event`; `None` for a type no webhook receives.
    pub fn of(event: &Event) -> Option<Self> {
        let event_type = event.kind.type_name();
        if !DISPATCHED_EVENT_TYPES.contains(&event_type) {
            return None;
        }
        let mut data = serde_json::to_value(event).ok()?;
        let fields = data.as_object_mut()?;
        // The request's address and user agent are the audit log's, for admins; a nonce is
        // the secret of a mail. Neither leaves TaskFlow.
        fields.remove("origin");
        fields.remove("type");
        fields.remove("nonce");
        Some(Self { event_type, timestamp: event.occurred_at, data })
    }

    /// The body as sent (and signed).
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a payload is JSON")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::{EVENT_TYPES, EventKind, Origin, Provenance};
    use crate::domain::{InvitationId, MailNonce, TaskId};

    fn draft(json: serde_json::Value) -> Result<WebhookDraft, serde_json::Error> {
        serde_json::from_value(json)
    }

    #[test]
    fn a_draft_defaults_to_every_type_enabled_and_refuses_unknown_types() {
        let d = draft(serde_json::json!({"url": "https://hooks.example.com/x"})).unwrap();
        assert_eq!((d.event_types.clone(), d.enabled, d.description.as_str()), (None, true, ""));
        let err = draft(serde_json::json!({"url": "https://h.example/x", "event_types": ["password_reset.requested"]}))
            .unwrap_err();
        assert!(err.to_string().contains("is not one of"), "{err}");
        let (org, user, now) = (OrgId::generate(), UserId::generate(), Utc::now());
        let empty = draft(serde_json::json!({"url": "https://h.example/x", "event_types": []})).unwrap();
        assert_eq!(Webhook::new(empty, Reach::Public, org, user, now).unwrap_err().field, "event_types");
        let twice = draft(serde_json::json!({"url": "https://h.example/x", "event_types": ["task.deleted", "task.created", "task.deleted"]}))
            .unwrap();
        let (hook, _) = Webhook::new(twice, Reach::Public, org, user, now).unwrap();
        let types: Vec<_> = hook.event_types.unwrap().iter().map(|t| t.as_str()).collect();
        assert_eq!(types, ["task.created", "task.deleted"]);
    }

    #[test]
    fn plain_http_to_loopback_is_only_for_a_stack_that_allows_it() {
        let (org, user, now) = (OrgId::generate(), UserId::generate(), Utc::now());
        let local = || draft(serde_json::json!({"url": "http://127.0.0.1:9000/hook"})).unwrap();
        assert_eq!(Webhook::new(local(), Reach::Public, org, user, now).unwrap_err().field, "url");
        assert!(Webhook::new(local(), Reach::PublicAndLoopback, org, user, now).is_ok());
    }

    #[test]
    fn a_webhook_reads_back_as_stored() {
        let d = draft(serde_json::json!({"url": "https://h.example/x?a=1", "event_types": ["task.created"], "description": " Sync "}))
            .unwrap();
        let (hook, _) = Webhook::new(d, Reach::Public, OrgId::generate(), UserId::generate(), Utc::now()).unwrap();
        assert_eq!(hook.description.as_str(), "Sync");
        let back: Webhook = serde_json::from_value(serde_json::to_value(&hook).unwrap()).unwrap();
        assert_eq!(back, hook);
    }

    #[test]
    fn a_payload_carries_ids_and_actor_but_no_nonce_and_no_origin() {
        let nonce = MailNonce::generate();
        let by = Provenance::user(UserId::generate(), Origin::new(Some("198.51.100.7"), Some("curl/8")));
        let event = Event::new(
            OrgId::generate(),
            Utc::now(),
            &by,
            EventKind::InvitationCreated { invitation_id: InvitationId::generate(), nonce: nonce.clone() },
        );
        let payload = WebhookPayload::of(&event).unwrap();
        assert_eq!(payload.event_type, "invitation.created");
        let body = String::from_utf8(payload.to_body()).unwrap();
        let nonce_text = serde_json::to_string(&nonce).unwrap();
        assert!(!body.contains(nonce_text.trim_matches('"')), "{body}");
        assert!(!body.contains("198.51.100.7") && !body.contains("curl/8"), "{body}");
        assert_eq!(payload.data["event_id"], serde_json::json!(event.event_id));
        assert_eq!(payload.data["actor"]["type"], "user", "{body}");
    }

    #[test]
    fn only_the_organizations_own_event_types_are_delivered() {
        let by = Provenance::system();
        let org = OrgId::generate();
        let private = Event::new(
            org,
            Utc::now(),
            &by,
            EventKind::PasswordResetRequested { user_id: UserId::generate(), nonce: MailNonce::generate() },
        );
        assert_eq!(WebhookPayload::of(&private), None);
        let task = Event::new(org, Utc::now(), &by, EventKind::TaskDeleted { task_id: TaskId::generate() });
        assert!(WebhookPayload::of(&task).is_some());
        assert!(WEBHOOK_EVENT_TYPES.iter().all(|t| EVENT_TYPES.contains(t)), "every webhook type is an event type");

        let d = draft(serde_json::json!({"url": "https://h.example/x", "event_types": ["task.created"]})).unwrap();
        let (mut hook, _) = Webhook::new(d, Reach::Public, org, UserId::generate(), Utc::now()).unwrap();
        assert!(!hook.wants(&task));
        hook.event_types = None;
        assert!(hook.wants(&task) && !hook.wants(&private));
        hook.enabled = false;
        assert!(!hook.wants(&task));
    }

    #[test]
    fn a_patch_changes_what_it_names_and_turning_on_clears_why_it_was_off() {
        let (org, user, now) = (OrgId::generate(), UserId::generate(), Utc::now());
        let d = draft(serde_json::json!({"url": "https://h.example/x", "event_types": ["task.created"]})).unwrap();
        let (mut hook, _) = Webhook::new(d, Reach::Public, org, user, now).unwrap();
        (hook.enabled, hook.disabled_reason, hook.failing_since) = (false, Some(DisabledReason::Failing), Some(now));
        let patch = |json| serde_json::from_value::<WebhookPatch>(json);

        let on = patch(serde_json::json!({"enabled": true, "event_types": null})).unwrap();
        let (next, changed) = hook.patched(on, Reach::Public).unwrap();
        assert_eq!(changed, ["event_types", "enabled"]);
        assert_eq!((next.enabled, next.disabled_reason, next.failing_since), (true, None, None));
        assert_eq!(next.event_types, None, "null: every type");
        let same =
            patch(serde_json::json!({"enabled": true, "description": "", "url": "https://h.example/x"})).unwrap();
        assert!(next.patched(same, Reach::Public).unwrap().1.is_empty(), "nothing changes, nothing to write");

        let local = patch(serde_json::json!({"url": "http://127.0.0.1:9/"})).unwrap();
        assert_eq!(next.patched(local, Reach::Public).unwrap_err().field, "url");
        let none = patch(serde_json::json!({"event_types": []})).unwrap();
        assert_eq!(next.patched(none, Reach::Public).unwrap_err().field, "event_types");
        assert!(patch(serde_json::json!({"enabled": null})).is_err(), "null where a value must be");
        assert!(patch(serde_json::json!({"secret": "whsec_x"})).is_err(), "an unknown field");
        assert!(patch(serde_json::json!({})).unwrap().is_empty());
    }

    #[test]
    fn a_ping_goes_to_its_webhook_alone_even_when_it_is_off_and_cannot_be_asked_for() {
        let (org, now) = (OrgId::generate(), Utc::now());
        let d =
            draft(serde_json::json!({"url": "https://h.example/x", "event_types": ["task.deleted"], "enabled": false}))
                .unwrap();
        let (hook, _) = Webhook::new(d, Reach::Public, org, UserId::generate(), now).unwrap();
        let ping = |webhook_id| Event::new(org, now, &Provenance::system(), EventKind::WebhookPing { webhook_id });
        assert!(hook.wants(&ping(hook.id)));
        assert!(!hook.wants(&ping(WebhookId::generate())));
        assert_eq!(WebhookPayload::of(&ping(hook.id)).unwrap().data["webhook_id"], serde_json::json!(hook.id));
        assert!(WebhookEventType::parse(PING_EVENT_TYPE).is_err());
        assert_eq!(WEBHOOK_EVENT_TYPES.len() + 1, DISPATCHED_EVENT_TYPES.len());
    }
}
