//! The messages TaskFlow puts on its notification queue, shared by the producers (the task
//! and invitation functions, the re-publisher) and the consumer (the mailer).
//!
//! A message names things by id: the mailer reads the task, organization and recipient
//! when it sends, so no personal data waits in a queue, and no secret either: an
//! invitation's message carries a nonce from which only the mailer, with the invitation
//! secret, computes the token it mails (see [`crate::auth::MailTokenKey`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{ExportId, Invitation, InvitationId, MailNonce, OrgId, Task, TaskId, UserId};

/// The message format's version. A consumer refuses versions it does not know instead of
/// guessing at their meaning.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(Uuid);

impl EventId {
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// What happened, with the ids the mailer needs; `type` on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum EventKind {
    /// A task was created: mail its assignee, or its creator.
    #[serde(rename = "task.created")]
    TaskCreated { task_id: TaskId, recipient_id: UserId },
    /// A task got a new assignee: mail them.
    #[serde(rename = "task.assigned")]
    TaskAssigned { task_id: TaskId, recipient_id: UserId },
    /// Someone was invited: mail them the one-time token computed from this nonce.
    #[serde(rename = "invitation.created")]
    InvitationCreated { invitation_id: InvitationId, nonce: MailNonce },
    /// A user asked to reset their password: mail them the one-time token of this nonce.
    #[serde(rename = "password_reset.requested")]
    PasswordResetRequested { user_id: UserId, nonce: MailNonce },
    /// A user registered or asked again: mail them the verification token of this nonce.
    #[serde(rename = "email_verification.requested")]
    EmailVerificationRequested { user_id: UserId, nonce: MailNonce },
    /// An admin asked for the organization to be deleted: the deleter removes its items, in
    /// batches, and mails `requested_by` when it is done. The same event is put back on the
    /// deletion queue after each batch, so the job is this one message, however long it runs.
    #[serde(rename = "organization.deletion_requested")]
    OrganizationDeletionRequested { requested_by: UserId },
    /// An admin asked for the organization's data: the exporter writes the document and
    /// records it as the export `export_id`.
    #[serde(rename = "organization.export_requested")]
    OrganizationExportRequested { export_id: ExportId, requested_by: UserId },
}

/// The queues events travel on: each has one consumer, with only the rights its work needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Mail: the mailer.
    Notifications,
    /// Organization deletions: the deleter.
    Deletions,
    /// Organization exports: the exporter.
    Exports,
}

impl EventKind {
    pub fn queue(&self) -> Queue {
        match self {
            EventKind::OrganizationDeletionRequested { .. } => Queue::Deletions,
            EventKind::OrganizationExportRequested { .. } => Queue::Exports,
            _ => Queue::Notifications,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub schema_version: u32,
    pub event_id: EventId,
    pub organization_id: OrgId,
    pub occurred_at: DateTime<Utc>,
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

impl Event {
    fn new(organization_id: OrgId, occurred_at: DateTime<Utc>, kind: EventKind) -> Self {
        Self { schema_version: SCHEMA_VERSION, event_id: EventId::generate(), organization_id, occurred_at, kind }
    }

    /// The event of a task just created: the mail goes to its assignee, or to its creator.
    pub fn task_created(task: &Task) -> Self {
        let recipient_id = task.assignee_id.unwrap_or(task.created_by);
        Self::new(task.organization_id, task.updated_at, EventKind::TaskCreated { task_id: task.id, recipient_id })
    }

    /// The event of `task` getting a new assignee, if `previous` had another one.
    pub fn task_assigned(previous: &Task, task: &Task) -> Option<Self> {
        let assignee = task.assignee_id?;
        (previous.assignee_id != Some(assignee)).then(|| {
            Self::new(
                task.organization_id,
                task.updated_at,
                EventKind::TaskAssigned { task_id: task.id, recipient_id: assignee },
            )
        })
    }

    pub fn invitation_created(invitation: &Invitation, nonce: MailNonce) -> Self {
        Self::new(
            invitation.organization_id,
            invitation.created_at,
            EventKind::InvitationCreated { invitation_id: invitation.id, nonce },
        )
    }

    pub fn password_reset_requested(
        organization_id: OrgId,
        user_id: UserId,
        nonce: MailNonce,
        occurred_at: DateTime<Utc>,
    ) -> Self {
        Self::new(organization_id, occurred_at, EventKind::PasswordResetRequested { user_id, nonce })
    }

    pub fn email_verification_requested(
        organization_id: OrgId,
        user_id: UserId,
        nonce: MailNonce,
        occurred_at: DateTime<Utc>,
    ) -> Self {
        Self::new(organization_id, occurred_at, EventKind::EmailVerificationRequested { user_id, nonce })
    }

    pub fn organization_deletion_requested(
        organization_id: OrgId,
        requested_by: UserId,
        occurred_at: DateTime<Utc>,
    ) -> Self {
        Self::new(organization_id, occurred_at, EventKind::OrganizationDeletionRequested { requested_by })
    }

    pub fn organization_export_requested(organization_id: OrgId, export: &crate::domain::Export) -> Self {
        Self::new(
            organization_id,
            export.requested_at,
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
        if envelope.schema_version != u64::from(SCHEMA_VERSION) {
            return Err(EventError::UnknownVersion(envelope.schema_version));
        }
        serde_json::from_str(body).map_err(|e| EventError::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TaskDraft;

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

    #[test]
    fn a_created_event_goes_to_the_assignee_or_else_the_creator() {
        let unassigned = task(None);
        assert_eq!(recipient(&Event::task_created(&unassigned)), unassigned.created_by);
        let assignee = UserId::generate();
        let event = Event::task_created(&task(Some(assignee)));
        assert!(matches!(event.kind, EventKind::TaskCreated { .. }));
        assert_eq!(recipient(&event), assignee);
    }

    #[test]
    fn only_a_change_of_assignee_is_an_assigned_event() {
        let before = task(None);
        let mut after = before.clone();
        assert!(Event::task_assigned(&before, &after).is_none(), "nothing changed");
        let assignee = UserId::generate();
        after.assignee_id = Some(assignee);
        let event = Event::task_assigned(&before, &after).unwrap();
        assert!(matches!(event.kind, EventKind::TaskAssigned { .. }));
        assert_eq!(recipient(&event), assignee);
        assert!(Event::task_assigned(&after, &after).is_none(), "same assignee again");
        assert!(Event::task_assigned(&after, &before).is_none(), "unassigning mails nobody");
    }

    #[test]
    fn the_wire_format_is_versioned_json_with_ids_only() {
        let event = Event::task_created(&task(None));
        let json: serde_json::Value = serde_json::from_str(&event.to_json()).unwrap();
        assert_eq!(json["schema_version"], 1);
        assert_eq!(json["type"], "task.created");
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            ["event_id", "occurred_at", "organization_id", "recipient_id", "schema_version", "task_id", "type"]
        );
        assert_eq!(Event::parse(&event.to_json()).unwrap(), event);
    }

    #[test]
    fn unknown_versions_types_and_garbage_are_refused() {
        let mut json: serde_json::Value = serde_json::from_str(&Event::task_created(&task(None)).to_json()).unwrap();
        json["schema_version"] = 2.into();
        assert_eq!(Event::parse(&json.to_string()), Err(EventError::UnknownVersion(2)));
        json["schema_version"] = 1.into();
        json["type"] = "task.exploded".into();
        assert!(matches!(Event::parse(&json.to_string()), Err(EventError::Malformed(_))));
        assert!(matches!(Event::parse("not json"), Err(EventError::Malformed(_))));
        assert!(matches!(Event::parse(r#"{"schema_version":1}"#), Err(EventError::Malformed(_))));
    }

    #[test]
    fn account_events_carry_ids_and_a_nonce_only() {
        let (org, user, nonce) = (OrgId::generate(), UserId::generate(), MailNonce::generate());
        for event in [
            Event::password_reset_requested(org, user, nonce.clone(), Utc::now()),
            Event::email_verification_requested(org, user, nonce.clone(), Utc::now()),
        ] {
            let json: serde_json::Value = serde_json::from_str(&event.to_json()).unwrap();
            let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort();
            assert_eq!(
                keys,
                ["event_id", "nonce", "occurred_at", "organization_id", "schema_version", "type", "user_id"]
            );
            assert_eq!(Event::parse(&event.to_json()).unwrap(), event);
        }
    }

    #[test]
    fn deletion_requests_travel_on_their_own_queue_and_everything_else_on_the_mail_queue() {
        let (org, user) = (OrgId::generate(), UserId::generate());
        let deletion = Event::organization_deletion_requested(org, user, Utc::now());
        assert_eq!(deletion.kind.queue(), Queue::Deletions);
        let json: serde_json::Value = serde_json::from_str(&deletion.to_json()).unwrap();
        assert_eq!(json["type"], "organization.deletion_requested");
        assert_eq!(Event::parse(&deletion.to_json()).unwrap(), deletion);
        assert_eq!(Event::task_created(&task(None)).kind.queue(), Queue::Notifications);
        assert_eq!(
            Event::password_reset_requested(org, user, MailNonce::generate(), Utc::now()).kind.queue(),
            Queue::Notifications
        );
    }
}
