//! The audit log's entries: who changed what, when and from where, made from the events of
//! the event stream by the audit writer. An entry names its target by id and lists the
//! names of the fields that changed, never their values: an event's nonce, a token or a
//! password never reaches it.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::events::{Actor, Event, EventId, EventKind};

/// How long an entry is kept by default (`TASKFLOW_AUDIT_RETENTION_DAYS`).
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 365;

/// What an event acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditTarget {
    /// `task`, `user`, `invitation`, `organization`, `export`, `api_key` or `webhook`.
    #[serde(rename = "type")]
    #[schema(example = "task")]
    pub kind: String,
    /// The target's id (the organization's own id for `organization`).
    pub id: String,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// The event's id: the same change is never entered twice.
    #[schema(value_type = String, format = Uuid)]
    pub event_id: EventId,
    #[schema(example = "task.updated")]
    pub event_type: String,
    /// Who made the change; `null` for changes recorded before events named their actor.
    pub actor: Option<Actor>,
    pub target: AuditTarget,
    /// The names of the fields the change set, when it set some.
    #[schema(example = json!(["status", "assignee_id"]))]
    pub changes: Vec<String>,
    pub occurred_at: DateTime<Utc>,
    /// The address the request came from, as API Gateway saw it.
    #[schema(value_type = Option<String>, example = "203.0.113.9")]
    pub source_ip: Option<IpAddr>,
    #[schema(example = "curl/8.5.0")]
    pub user_agent: Option<String>,
}

fn target(kind: &str, id: impl ToString) -> AuditTarget {
    AuditTarget { kind: kind.into(), id: id.to_string() }
}

impl AuditEntry {
    /// The entry of `event`.
    pub fn of(event: &Event) -> Self {
        let organization = || target("organization", event.organization_id);
        let (target, changes) = match &event.kind {
            EventKind::TaskCreated { task_id, .. } => (target("task", task_id), Vec::new()),
            EventKind::TaskUpdated { task_id, changed } => (target("task", task_id), changed.clone()),
            EventKind::TaskAssigned { task_id, .. } => (target("task", task_id), vec!["assignee_id".into()]),
            EventKind::TaskDeleted { task_id } => (target("task", task_id), Vec::new()),
            EventKind::MemberJoined { user_id, .. } | EventKind::MemberRemoved { user_id } => {
                (target("user", user_id), Vec::new())
            }
            EventKind::MemberRoleChanged { user_id, .. } => (target("user", user_id), vec!["role".into()]),
            EventKind::InvitationCreated { invitation_id, .. } | EventKind::InvitationRevoked { invitation_id } => {
                (target("invitation", invitation_id), Vec::new())
            }
            EventKind::OrganizationUpdated { changed } => (organization(), changed.clone()),
            EventKind::PasswordResetRequested { user_id, .. }
            | EventKind::EmailVerificationRequested { user_id, .. } => (target("user", user_id), Vec::new()),
            EventKind::OrganizationDeletionRequested { .. } => (organization(), Vec::new()),
            EventKind::OrganizationExportRequested { export_id, .. } => (target("export", export_id), Vec::new()),
            EventKind::ApiKeyCreated { api_key_id, .. } | EventKind::ApiKeyRevoked { api_key_id } => {
                (target("api_key", api_key_id), Vec::new())
            }
            EventKind::WebhookCreated { webhook_id }
            | EventKind::WebhookDeleted { webhook_id }
            | EventKind::WebhookPing { webhook_id } => (target("webhook", webhook_id), Vec::new()),
            EventKind::WebhookUpdated { webhook_id, changed } => (target("webhook", webhook_id), changed.clone()),
            EventKind::WebhookDisabled { webhook_id, .. } => (target("webhook", webhook_id), vec!["enabled".into()]),
            EventKind::MailDropped { mail_of, mail_type } => (target("event", mail_of), vec![mail_type.clone()]),
            EventKind::ExportDownloaded { export_id } => (target("export", export_id), Vec::new()),
        };
        Self {
            event_id: event.event_id,
            event_type: event.kind.type_name().into(),
            actor: event.actor,
            target,
            changes,
            occurred_at: event.occurred_at,
            source_ip: event.origin.source_ip,
            user_agent: event.origin.user_agent.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::{Origin, Provenance};
    use crate::domain::{InvitationId, MailNonce, OrgId, UserId};

    #[test]
    fn an_entry_names_who_what_and_where_but_never_a_nonce() {
        let user = UserId::generate();
        let nonce = MailNonce::generate();
        let by = Provenance::user(user, Origin::new(Some("198.51.100.7"), Some("taskflow-cli/1.0")));
        let invitation_id = InvitationId::generate();
        let event = Event::new(
            OrgId::generate(),
            Utc::now(),
            &by,
            EventKind::InvitationCreated { invitation_id, nonce: nonce.clone() },
        );
        let entry = AuditEntry::of(&event);
        assert_eq!(entry.event_type, "invitation.created");
        assert_eq!(entry.actor, Some(Actor::User { id: user }));
        assert_eq!(entry.target, AuditTarget { kind: "invitation".into(), id: invitation_id.to_string() });
        assert_eq!(entry.source_ip, Some("198.51.100.7".parse().unwrap()));
        assert_eq!(entry.user_agent.as_deref(), Some("taskflow-cli/1.0"));
        let json = serde_json::to_string(&entry).unwrap();
        let nonce_json = serde_json::to_string(&nonce).unwrap();
        assert!(!json.contains(nonce_json.trim_matches('"')), "the nonce must not reach the audit log: {json}");
    }

    #[test]
    fn an_organization_change_targets_the_organization_with_its_fields() {
        let org = OrgId::generate();
        let event = Event::new(
            org,
            Utc::now(),
            &Provenance::system(),
            EventKind::OrganizationUpdated { changed: vec!["name".into()] },
        );
        let entry = AuditEntry::of(&event);
        assert_eq!(entry.target, AuditTarget { kind: "organization".into(), id: org.to_string() });
        assert_eq!(entry.changes, ["name"]);
        assert_eq!(entry.actor, Some(Actor::System));
        assert_eq!((entry.source_ip, entry.user_agent), (None, None));
    }
}
