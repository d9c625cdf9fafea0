//! The messages TaskFlow puts on its notification queue, shared by the producers (the task
//! functions and the re-publisher) and the consumer (the mailer).
//!
//! A message names things by id only: the mailer reads the task, organization and
//! recipient when it sends, so no personal data waits in a queue.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{OrgId, Task, TaskId, UserId};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskEventKind {
    #[serde(rename = "task.created")]
    Created,
    #[serde(rename = "task.assigned")]
    Assigned,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskEvent {
    pub schema_version: u32,
    pub event_id: EventId,
    #[serde(rename = "type")]
    pub kind: TaskEventKind,
    pub organization_id: OrgId,
    pub task_id: TaskId,
    /// Who gets the email: the assignee, or the creator of an unassigned task.
    pub recipient_id: UserId,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the message is not a TaskFlow event: {0}")]
    Malformed(String),
    #[error("schema version {0} is not one this consumer knows (it knows {SCHEMA_VERSION})")]
    UnknownVersion(u64),
}

impl TaskEvent {
    /// The event of a task just created: the mail goes to its assignee, or to its creator.
    pub fn created(task: &Task) -> Self {
        Self::new(TaskEventKind::Created, task, task.assignee_id.unwrap_or(task.created_by))
    }

    /// The event of `task` getting a new assignee, if `previous` had another one.
    pub fn assigned(previous: &Task, task: &Task) -> Option<Self> {
        let assignee = task.assignee_id?;
        (previous.assignee_id != Some(assignee)).then(|| Self::new(TaskEventKind::Assigned, task, assignee))
    }

    fn new(kind: TaskEventKind, task: &Task, recipient_id: UserId) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            event_id: EventId::generate(),
            kind,
            organization_id: task.organization_id,
            task_id: task.id,
            recipient_id,
            occurred_at: task.updated_at,
        }
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

    #[test]
    fn a_created_event_goes_to_the_assignee_or_else_the_creator() {
        let unassigned = task(None);
        assert_eq!(TaskEvent::created(&unassigned).recipient_id, unassigned.created_by);
        let assignee = UserId::generate();
        let assigned = task(Some(assignee));
        let event = TaskEvent::created(&assigned);
        assert_eq!((event.recipient_id, event.kind), (assignee, TaskEventKind::Created));
    }

    #[test]
    fn only_a_change_of_assignee_is_an_assigned_event() {
        let before = task(None);
        let mut after = before.clone();
        assert!(TaskEvent::assigned(&before, &after).is_none(), "nothing changed");
        let assignee = UserId::generate();
        after.assignee_id = Some(assignee);
        let event = TaskEvent::assigned(&before, &after).unwrap();
        assert_eq!((event.kind, event.recipient_id), (TaskEventKind::Assigned, assignee));
        assert!(TaskEvent::assigned(&after, &after).is_none(), "same assignee again");
        assert!(TaskEvent::assigned(&after, &before).is_none(), "unassigning mails nobody");
    }

    #[test]
    fn the_wire_format_is_versioned_json_with_ids_only() {
        let event = TaskEvent::created(&task(None));
        let json: serde_json::Value = serde_json::from_str(&event.to_json()).unwrap();
        assert_eq!(json["schema_version"], 1);
        assert_eq!(json["type"], "task.created");
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 7, "{keys:?}");
        assert_eq!(TaskEvent::parse(&event.to_json()).unwrap(), event);
    }

    #[test]
    fn unknown_versions_and_garbage_are_refused() {
        let mut json: serde_json::Value = serde_json::from_str(&TaskEvent::created(&task(None)).to_json()).unwrap();
        json["schema_version"] = 2.into();
        assert_eq!(TaskEvent::parse(&json.to_string()), Err(EventError::UnknownVersion(2)));
        assert!(matches!(TaskEvent::parse("not json"), Err(EventError::Malformed(_))));
        assert!(matches!(TaskEvent::parse(r#"{"schema_version":1}"#), Err(EventError::Malformed(_))));
    }
}
