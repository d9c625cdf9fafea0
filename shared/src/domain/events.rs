//! The event stream: every state change TaskFlow makes, recorded in the outbox with the
//! write that made it and published to one topic, from which each consumer (the mailer, the
//! audit writer, the deletion and export jobs) gets its own queue of the types it wants
//! ([`Consumer`]). A producer names no consumer, so adding one touches no producer.
//!
//! An event names things by id: the mailer reads the task, organization and recipient
//! when it sends, so no personal data waits in a queue beyond who acted and from where
//! ([`Origin`], for the audit log), and no secret either: an invitation's event carries a
//! nonce from which only the mailer, with the invitation secret, computes the token it
//! mails (see [`crate::auth::MailTokenKey`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{
    ApiKeyId, DISPATCHED_EVENT_TYPES, DisabledReason, ExportId, Invitation, InvitationId, MailNonce, OrgId, Role, Task,
    TaskId, UserId, WebhookId,
};

/// The message format's version. A consumer refuses versions it does not know instead of
/// guessing at their meaning; version 1 (before events named their actor) still reads.
pub const SCHEMA_VERSION: u32 = 2;
const READABLE_VERSIONS: [u64; 2] = [1, 2];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(Uuid);

impl EventId {
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Uuid::parse_str(raw).ok().map(Self)
    }

    /// The id of the event that follows from this one for one reason (`purpose`, a small
    /// number), the same however often it is derived: so that a consumer retrying its own
    /// consequence of an event records it once (consumers drop a repeated id). Keeps the
    /// time prefix (UUIDv7's first 48 bits) and flips random bits by the purpose.
    pub fn derived(&self, purpose: u8) -> Self {
        let mut bytes = *self.0.as_bytes();
        bytes[15] ^= purpose.wrapping_mul(0x9d) | 1;
        bytes[14] ^= 0x5a;
        Self(Uuid::from_bytes(bytes))
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Who made a change: a user; a service with one of the organization's API keys (which acts
/// for the admin who made it); someone who showed no credentials (asking for a password
/// reset needs none); or TaskFlow itself (releasing a stale registration, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    User { id: UserId },
    ApiKey { id: ApiKeyId },
    Anonymous,
    System,
}

/// The longest user agent kept: enough to tell clients apart, too short to carry a payload.
pub const MAX_USER_AGENT_CHARS: usize = 256;

/// Where a change was asked from, as API Gateway saw the request; empty for the service's
/// own changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<std::net::IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl Origin {
    /// An origin from what a request carried: an address that does not parse is left out,
    /// a user agent is cut to [`MAX_USER_AGENT_CHARS`] with its control characters dropped,
    /// and its hidden format characters too: the audit log shows it to an admin, and an
    /// override (U+202E) or a line separator would make it read as something it is not.
    pub fn new(source_ip: Option<&str>, user_agent: Option<&str>) -> Self {
        let kept = |c: &char| !c.is_control() && !super::is_hidden_format(*c) && !is_tag(*c);
        let user_agent = user_agent
            .map(|ua| ua.chars().filter(kept).take(MAX_USER_AGENT_CHARS).collect::<String>())
            .filter(|ua| !ua.trim().is_empty());
        Self { source_ip: source_ip.and_then(|ip| ip.parse().ok()), user_agent }
    }

    fn is_empty(&self) -> bool {
        self.source_ip.is_none() && self.user_agent.is_none()
    }
}

/// The tag characters (U+E0000–U+E007F): invisible outside an emoji flag sequence, which a
/// user agent has no use for.
fn is_tag(c: char) -> bool {
    matches!(c, '\u{E0000}'..='\u{E007F}')
}

/// Who caused an event and from where: what every event carries besides what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub actor: Actor,
    pub origin: Origin,
}

impl Provenance {
    pub fn user(id: UserId, origin: Origin) -> Self {
        Self { actor: Actor::User { id }, origin }
    }

    pub fn api_key(id: ApiKeyId, origin: Origin) -> Self {
        Self { actor: Actor::ApiKey { id }, origin }
    }

    pub fn anonymous(origin: Origin) -> Self {
        Self { actor: Actor::Anonymous, origin }
    }

    pub fn system() -> Self {
        Self { actor: Actor::System, origin: Origin::default() }
    }
}

/// What happened, with ids only; `type` on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum EventKind {
    /// A task was created: mail its assignee, or its creator.
    #[serde(rename = "task.created")]
    TaskCreated { task_id: TaskId, recipient_id: UserId },
    /// A task changed; `changed` names the fields whose values changed.
    #[serde(rename = "task.updated")]
    TaskUpdated { task_id: TaskId, changed: Vec<String> },
    /// A task got a new assignee: mail them.
    #[serde(rename = "task.assigned")]
    TaskAssigned { task_id: TaskId, recipient_id: UserId },
    #[serde(rename = "task.deleted")]
    TaskDeleted { task_id: TaskId },
    /// Someone accepted an invitation and is now a user of the organization.
    #[serde(rename = "member.joined")]
    MemberJoined { user_id: UserId, role: Role },
    #[serde(rename = "member.role_changed")]
    MemberRoleChanged { user_id: UserId, from: Role, to: Role },
    #[serde(rename = "member.removed")]
    MemberRemoved { user_id: UserId },
    /// Someone was invited: mail them the one-time token computed from this nonce.
    #[serde(rename = "invitation.created")]
    InvitationCreated { invitation_id: InvitationId, nonce: MailNonce },
    #[serde(rename = "invitation.revoked")]
    InvitationRevoked { invitation_id: InvitationId },
    /// The organization changed; `changed` names the fields.
    #[serde(rename = "organization.updated")]
    OrganizationUpdated { changed: Vec<String> },
    /// A user asked to reset their password: mail them the one-time token of this nonce.
    #[serde(rename = "password_reset.requested")]
    PasswordResetRequested { user_id: UserId, nonce: MailNonce },
    /// A user registered or asked again: mail them the verification token of this nonce.
    #[serde(rename = "email_verification.requested")]
    EmailVerificationRequested { user_id: UserId, nonce: MailNonce },
    /// An admin asked for the organization to be deleted: the deleter removes its items, in
    /// batches, and mails `requested_by` when it is done. The deleter puts the same event
    /// back on its own queue after each batch, so the job is this one message, however long
    /// it runs.
    #[serde(rename = "organization.deletion_requested")]
    OrganizationDeletionRequested { requested_by: UserId },
    /// An admin asked for the organization's data: the exporter writes the document and
    /// records it as the export `export_id`.
    #[serde(rename = "organization.export_requested")]
    OrganizationExportRequested { export_id: ExportId, requested_by: UserId },
    /// An admin made an API key with this role (its secret is never in an event).
    #[serde(rename = "api_key.created")]
    ApiKeyCreated { api_key_id: ApiKeyId, role: Role },
    #[serde(rename = "api_key.revoked")]
    ApiKeyRevoked { api_key_id: ApiKeyId },
    /// An admin made a webhook (its secret is never in an event).
    #[serde(rename = "webhook.created")]
    WebhookCreated { webhook_id: WebhookId },
    /// An admin changed a webhook; `changed` names the fields (`secret` for a rotation, never
    /// its value).
    #[serde(rename = "webhook.updated")]
    WebhookUpdated { webhook_id: WebhookId, changed: Vec<String> },
    /// TaskFlow turned a webhook off, for `reason`: mail an admin (the one who made it, while
    /// they are one).
    #[serde(rename = "webhook.disabled")]
    WebhookDisabled { webhook_id: WebhookId, reason: DisabledReason },
    #[serde(rename = "webhook.deleted")]
    WebhookDeleted { webhook_id: WebhookId },
    /// An admin asked for a test delivery to this webhook (and to no other).
    #[serde(rename = "webhook.ping")]
    WebhookPing { webhook_id: WebhookId },

    /// The mail of the event `mail_of` was not sent: the organization's mail for the day
    /// was spent (see README, "Account lifetime"). For the audit log.
    #[serde(rename = "mail.dropped")]
    MailDropped { mail_of: EventId, mail_type: String },

    /// A download link of an export was handed out (to the caller, whose event it is).
    #[serde(rename = "export.downloaded")]
    ExportDownloaded { export_id: ExportId },
}

/// Every event type, as on the wire.
pub const EVENT_TYPES: [&str; 23] = [
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
    "password_reset.requested",
    "email_verification.requested",
    "organization.deletion_requested",
    "organization.export_requested",
    "api_key.created",
    "api_key.revoked",
    "webhook.created",
    "webhook.updated",
    "webhook.disabled",
    "webhook.deleted",
    "webhook.ping",
    "mail.dropped",
    "export.downloaded",
];

impl EventKind {
    /// The event's `type`, which the topic's subscriptions filter on (a message attribute).
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::TaskCreated { .. } => "task.created",
            EventKind::TaskUpdated { .. } => "task.updated",
            EventKind::TaskAssigned { .. } => "task.assigned",
            EventKind::TaskDeleted { .. } => "task.deleted",
            EventKind::MemberJoined { .. } => "member.joined",
            EventKind::MemberRoleChanged { .. } => "member.role_changed",
            EventKind::MemberRemoved { .. } => "member.removed",
            EventKind::InvitationCreated { .. } => "invitation.created",
            EventKind::InvitationRevoked { .. } => "invitation.revoked",
            EventKind::OrganizationUpdated { .. } => "organization.updated",
            EventKind::PasswordResetRequested { .. } => "password_reset.requested",
            EventKind::EmailVerificationRequested { .. } => "email_verification.requested",
            EventKind::OrganizationDeletionRequested { .. } => "organization.deletion_requested",
            EventKind::OrganizationExportRequested { .. } => "organization.export_requested",
            EventKind::ApiKeyCreated { .. } => "api_key.created",
            EventKind::ApiKeyRevoked { .. } => "api_key.revoked",
            EventKind::WebhookCreated { .. } => "webhook.created",
            EventKind::WebhookUpdated { .. } => "webhook.updated",
            EventKind::WebhookDisabled { .. } => "webhook.disabled",
            EventKind::WebhookDeleted { .. } => "webhook.deleted",
            EventKind::WebhookPing { .. } => "webhook.ping",
            EventKind::MailDropped { .. } => "mail.dropped",
            EventKind::ExportDownloaded { .. } => "export.downloaded",
        }
    }
}

/// The consumers of the event topic, each with a queue of its own (and its dead-letter
/// queue), subscribed to the types it wants. Which function consumes which queue, and how
/// the queue is deployed, is in that function's manifest; `make gen` writes the template's
/// subscriptions from this table and the local stack's bootstrap subscribes from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumer {
    Mailer,
    Deleter,
    Exporter,
    AuditWriter,
    WebhookDispatcher,
}

impl Consumer {
    pub const ALL: [Consumer; 5] =
        [Consumer::Mailer, Consumer::Deleter, Consumer::Exporter, Consumer::AuditWriter, Consumer::WebhookDispatcher];

    /// The event types its queue receives; `None`: every type.
    pub fn event_types(self) -> Option<&'static [&'static str]> {
        match self {
            Consumer::Mailer => Some(&[
                "task.created",
                "task.assigned",
                "invitation.created",
                "password_reset.requested",
                "email_verification.requested",
                "webhook.disabled",
            ]),
            Consumer::Deleter => Some(&["organization.deletion_requested"]),
            Consumer::Exporter => Some(&["organization.export_requested"]),
            Consumer::AuditWriter => None,
            Consumer::WebhookDispatcher => Some(&DISPATCHED_EVENT_TYPES),
        }
    }

    /// Its name, as the function that consumes its queue names it in its manifest
    /// (`[package.metadata.taskflow.queue] consumer`), where its queue's deployment lives.
    pub fn name(self) -> &'static str {
        match self {
            Consumer::Mailer => "mailer",
            Consumer::Deleter => "deleter",
            Consumer::Exporter => "exporter",
            Consumer::AuditWriter => "audit-writer",
            Consumer::WebhookDispatcher => "webhook-dispatcher",
        }
    }

    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn wants(self, kind: &EventKind) -> bool {
        self.event_types().is_none_or(|types| types.contains(&kind.type_name()))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub schema_version: u32,
    pub event_id: EventId,
    pub organization_id: OrgId,
    pub occurred_at: DateTime<Utc>,
    /// Who made the change; absent only in version 1 events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    #[serde(default, skip_serializing_if = "Origin::is_empty")]
    pub origin: Origin,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the message is not a TaskFlow event: {0}")]
    Malformed(String),
    #[error("schema version {0} is not one this consumer knows (it knows {SCHEMA_VERSION})")]
    UnknownVersion(u64),
}

/// The fields of a task whose values differ between two versions of it, by their API names.
fn changed_task_fields(previous: &Task, task: &Task) -> Vec<String> {
    let fields = [
        ("title", previous.title != task.title),
        ("description", previous.description != task.description),
        ("status", previous.status != task.status),
        ("priority", previous.priority != task.priority),
        ("assignee_id", previous.assignee_id != task.assignee_id),
        ("due_date", previous.due_date != task.due_date),
    ];
    fields.into_iter().filter(|(_, changed)| *changed).map(|(name, _)| name.to_owned()).collect()
}

impl Event {
    pub fn new(organization_id: OrgId, occurred_at: DateTime<Utc>, by: &Provenance, kind: EventKind) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            event_id: EventId::generate(),
            organization_id,
            occurred_at,
            actor: Some(by.actor),
            origin: by.origin.clone(),
            kind,
        }
    }

    /// The event of a task just created: the mail goes to its assignee, or to its creator.
    pub fn task_created(task: &Task, by: &Provenance) -> Self {
        let recipient_id = task.assignee_id.unwrap_or(task.created_by);
        Self::new(task.organization_id, task.updated_at, by, EventKind::TaskCreated { task_id: task.id, recipient_id })
    }

    /// The events of `previous` becoming `task`: `task.updated` naming the fields whose
    /// values changed (none when nothing did), and `task.assigned` when it got a new assignee.
    pub fn task_changed(previous: &Task, task: &Task, by: &Provenance) -> Vec<Self> {
        let changed = changed_task_fields(previous, task);
        if changed.is_empty() {
            return Vec::new();
        }
        let mut events = vec![Self::new(
            task.organization_id,
            task.updated_at,
            by,
            EventKind::TaskUpdated { task_id: task.id, changed },
        )];
        if let Some(assignee) = task.assignee_id.filter(|a| previous.assignee_id != Some(*a)) {
            events.push(Self::new(
                task.organization_id,
                task.updated_at,
                by,
                EventKind::TaskAssigned { task_id: task.id, recipient_id: assignee },
            ));
        }
        events
    }

    pub fn invitation_created(invitation: &Invitation, nonce: MailNonce, by: &Provenance) -> Self {
        Self::new(
            invitation.organization_id,
            invitation.created_at,
            by,
            EventKind::InvitationCreated { invitation_id: invitation.id, nonce },
        )
    }

    pub fn organization_export_requested(
        organization_id: OrgId,
        export: &crate::domain::Export,
        by: &Provenance,
    ) -> Self {
        Self::new(
            organization_id,
            export.requested_at,
            by,
            EventKind::OrganizationExportRequested { export_id: export.id, requested_by: export.requested_by },
        )
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an event always serialises")
    }

    /// Reads a queue message body, checking the schema version before anything else.
    pub fn parse(body: &str) -> Result<Self, EventError> {
        #[derive(Deserialize)]
        struct Envelope {
            schema_version: u64,
        }
        let envelope: Envelope = serde_json::from_str(body).map_err(|e| EventError::Malformed(e.to_string()))?;
        if !READABLE_VERSIONS.contains(&envelope.schema_version) {
            return Err(EventError::UnknownVersion(envelope.schema_version));
        }
        serde_json::from_str(body).map_err(|e| EventError::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TaskDraft;

    fn by() -> Provenance {
        Provenance::user(UserId::generate(), Origin::new(Some("203.0.113.9"), Some("curl/8.5")))
    }

    fn task(assignee: Option<UserId>) -> Task {
        let draft: TaskDraft =
            serde_json::from_value(serde_json::json!({"title": "t", "assignee_id": assignee})).unwrap();
        Task::create(draft, OrgId::generate(), UserId::generate(), Utc::now())
    }

    fn recipient(event: &Event) -> UserId {
        match event.kind {
            EventKind::TaskCreated { recipient_id, .. } | EventKind::TaskAssigned { recipient_id, .. } => recipient_id,
            _ => panic!("no recipient id"),
        }
    }

    fn sample_kinds() -> Vec<EventKind> {
        let (task_id, user_id, invitation_id) = (TaskId::generate(), UserId::generate(), InvitationId::generate());
        let nonce = MailNonce::generate();
        vec![
            EventKind::TaskCreated { task_id, recipient_id: user_id },
            EventKind::TaskUpdated { task_id, changed: vec!["title".into()] },
            EventKind::TaskAssigned { task_id, recipient_id: user_id },
            EventKind::TaskDeleted { task_id },
            EventKind::MemberJoined { user_id, role: Role::Member },
            EventKind::MemberRoleChanged { user_id, from: Role::Member, to: Role::Admin },
            EventKind::MemberRemoved { user_id },
            EventKind::InvitationCreated { invitation_id, nonce: nonce.clone() },
            EventKind::InvitationRevoked { invitation_id },
            EventKind::OrganizationUpdated { changed: vec!["name".into()] },
            EventKind::PasswordResetRequested { user_id, nonce: nonce.clone() },
            EventKind::EmailVerificationRequested { user_id, nonce },
            EventKind::OrganizationDeletionRequested { requested_by: user_id },
            EventKind::OrganizationExportRequested { export_id: ExportId::generate(), requested_by: user_id },
            EventKind::ApiKeyCreated { api_key_id: ApiKeyId::generate(), role: Role::Member },
            EventKind::ApiKeyRevoked { api_key_id: ApiKeyId::generate() },
            EventKind::WebhookCreated { webhook_id: WebhookId::generate() },
            EventKind::WebhookDeleted { webhook_id: WebhookId::generate() },
            EventKind::WebhookUpdated { webhook_id: WebhookId::generate(), changed: vec!["url".into()] },
            EventKind::WebhookDisabled { webhook_id: WebhookId::generate(), reason: DisabledReason::Failing },
            EventKind::WebhookPing { webhook_id: WebhookId::generate() },
            EventKind::MailDropped { mail_of: EventId::generate(), mail_type: "task.created".into() },
            EventKind::ExportDownloaded { export_id: ExportId::generate() },
        ]
    }

    #[test]
    fn a_derived_event_id_is_the_same_each_time_new_and_as_old() {
        let id = EventId::generate();
        assert_eq!(id.derived(1), id.derived(1), "derived again, the same id");
        assert_ne!(id.derived(1), id);
        assert_ne!(id.derived(1), id.derived(2));
        assert_eq!(id.derived(1).0.as_bytes()[..6], id.0.as_bytes()[..6], "the time prefix is kept");
    }

    #[test]
    fn every_kind_round_trips_under_its_listed_type_name() {
        let kinds = sample_kinds();
        assert_eq!(kinds.len(), EVENT_TYPES.len(), "a sample of every kind");
        for kind in kinds {
            let event = Event::new(OrgId::generate(), Utc::now(), &by(), kind);
            let json: serde_json::Value = serde_json::from_str(&event.to_json()).unwrap();
            assert_eq!(json["type"], event.kind.type_name());
            assert!(EVENT_TYPES.contains(&event.kind.type_name()));
            assert_eq!(Event::parse(&event.to_json()).unwrap(), event);
        }
    }

    #[test]
    fn a_created_event_goes_to_the_assignee_or_else_the_creator() {
        let unassigned = task(None);
        assert_eq!(recipient(&Event::task_created(&unassigned, &by())), unassigned.created_by);
        let assignee = UserId::generate();
        let event = Event::task_created(&task(Some(assignee)), &by());
        assert!(matches!(event.kind, EventKind::TaskCreated { .. }));
        assert_eq!(recipient(&event), assignee);
    }

    #[test]
    fn a_change_names_its_fields_and_only_a_new_assignee_is_an_assigned_event() {
        let before = task(None);
        let mut after = before.clone();
        assert!(Event::task_changed(&before, &after, &by()).is_empty(), "nothing changed");
        let assignee = UserId::generate();
        after.assignee_id = Some(assignee);
        after.title = crate::domain::TaskTitle::parse("new").unwrap();
        let events = Event::task_changed(&before, &after, &by());
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0].kind,
            EventKind::TaskUpdated { task_id: after.id, changed: vec!["title".into(), "assignee_id".into()] }
        );
        assert_eq!(recipient(&events[1]), assignee);
        let unassigned = Event::task_changed(&after, &before, &by());
        assert_eq!(unassigned.len(), 1, "unassigning mails nobody");
        assert!(
            matches!(&unassigned[0].kind, EventKind::TaskUpdated { changed, .. } if changed.contains(&"assignee_id".to_owned()))
        );
    }

    #[test]
    fn the_wire_format_is_versioned_json_with_ids_the_actor_and_the_origin() {
        let by = by();
        let event = Event::task_created(&task(None), &by);
        let json: serde_json::Value = serde_json::from_str(&event.to_json()).unwrap();
        assert_eq!(json["schema_version"], 2);
        assert_eq!(json["type"], "task.created");
        let Actor::User { id } = by.actor else { unreachable!() };
        assert_eq!(json["actor"], serde_json::json!({"type": "user", "id": id}));
        assert_eq!(json["origin"], serde_json::json!({"source_ip": "203.0.113.9", "user_agent": "curl/8.5"}));
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "actor",
                "event_id",
                "occurred_at",
                "organization_id",
                "origin",
                "recipient_id",
                "schema_version",
                "task_id",
                "type"
            ]
        );
        let system = Event::new(
            OrgId::generate(),
            Utc::now(),
            &Provenance::system(),
            EventKind::TaskDeleted { task_id: TaskId::generate() },
        );
        let json: serde_json::Value = serde_json::from_str(&system.to_json()).unwrap();
        assert_eq!(json["actor"], serde_json::json!({"type": "system"}));
        assert!(json.get("origin").is_none(), "no origin is written as none");
    }

    #[test]
    fn version_one_events_still_read_without_an_actor() {
        let mut json: serde_json::Value =
            serde_json::from_str(&Event::task_created(&task(None), &by()).to_json()).unwrap();
        json["schema_version"] = 1.into();
        json.as_object_mut().unwrap().remove("actor");
        json.as_object_mut().unwrap().remove("origin");
        let event = Event::parse(&json.to_string()).unwrap();
        assert_eq!((event.actor, event.origin), (None, Origin::default()));
    }

    #[test]
    fn unknown_versions_types_and_garbage_are_refused() {
        let mut json: serde_json::Value =
            serde_json::from_str(&Event::task_created(&task(None), &by()).to_json()).unwrap();
        json["schema_version"] = 3.into();
        assert_eq!(Event::parse(&json.to_string()), Err(EventError::UnknownVersion(3)));
        json["schema_version"] = 2.into();
        json["type"] = "task.exploded".into();
        assert!(matches!(Event::parse(&json.to_string()), Err(EventError::Malformed(_))));
        assert!(matches!(Event::parse("not json"), Err(EventError::Malformed(_))));
        assert!(matches!(Event::parse(r#"{"schema_version":2}"#), Err(EventError::Malformed(_))));
    }

    #[test]
    fn an_origin_keeps_a_parsed_address_and_a_short_clean_user_agent() {
        let origin = Origin::new(Some("not an address"), Some(&format!("a\u{0}b\n{}", "x".repeat(1000))));
        assert_eq!(origin.source_ip, None);
        let ua = origin.user_agent.unwrap();
        assert!(ua.starts_with("ab") && ua.chars().count() == MAX_USER_AGENT_CHARS);
        assert_eq!(Origin::new(Some("2001:db8::1"), Some("  ")).user_agent, None);
        assert_eq!(Origin::new(Some("2001:db8::1"), None).source_ip, Some("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn a_user_agent_cannot_reorder_how_it_reads() {
        let spoof =
            "curl/8.5 \u{202E}gpj.exe\u{202C} \u{2066}x\u{2069}\u{200F}\u{061C}\u{2028}y\u{200B}\u{FEFF}\u{E0041}";
        assert_eq!(Origin::new(None, Some(spoof)).user_agent.as_deref(), Some("curl/8.5 gpj.exe xy"));
        assert_eq!(Origin::new(None, Some("\u{202E}\u{2067}")).user_agent, None, "nothing visible is left");
        let unchanged = "Mozilla/5.0 (ja-JP) テスト العربية";
        assert_eq!(Origin::new(None, Some(unchanged)).user_agent.as_deref(), Some(unchanged));
    }

    #[test]
    fn each_consumer_gets_the_types_it_handles_and_the_audit_writer_all() {
        let kinds = sample_kinds();
        for kind in &kinds {
            assert!(Consumer::AuditWriter.wants(kind));
        }
        let wanted = |c: Consumer| kinds.iter().filter(|k| c.wants(k)).map(|k| k.type_name()).collect::<Vec<_>>();
        assert_eq!(wanted(Consumer::Deleter), ["organization.deletion_requested"]);
        assert_eq!(wanted(Consumer::Exporter), ["organization.export_requested"]);
        assert_eq!(wanted(Consumer::Mailer).len(), 6);
        for consumer in Consumer::ALL {
            for t in consumer.event_types().unwrap_or(&[]) {
                assert!(EVENT_TYPES.contains(t), "{consumer:?} names an unknown type {t}");
            }
        }
    }
}
