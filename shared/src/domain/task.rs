//! The task and the values it is made of, free of storage and HTTP: a title, description
//! and due date that can only be built by parsing (so an invalid one cannot exist past the
//! edge), the body of a create (`TaskDraft`) and of a partial update (`TaskPatch`, where
//! `null` clears a field and absence keeps it), and the rules that make a task from a draft
//! and apply a patch, bumping its version. Their OpenAPI schemas share the parsers' limits.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::{Invalid, OrgId, TaskId, UserId, bounded_text, parsed_string_type, text_schema};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    pub const MAX_CHARS: usize = 200;
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        bounded_text("title", raw, 1, Self::MAX_CHARS).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
parsed_string_type!(TaskTitle);
text_schema!(
    TaskTitle,
    "1 to 200 characters after trimming, no control characters.",
    example = "Draft the launch post",
    |b| b.min_length(Some(1)).max_length(Some(Self::MAX_CHARS)).pattern(Some(super::SINGLE_LINE_TEXT))
);

/// Free text, kept as written (line breaks and tabs included), at most 5,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDescription(String);

impl TaskDescription {
    pub const MAX_CHARS: usize = 5000;
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(Invalid::new("description", format!("must have at most {} characters", Self::MAX_CHARS)));
        }
        if raw.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(Invalid::new("description", "must not contain control characters"));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
parsed_string_type!(TaskDescription);
text_schema!(
    TaskDescription,
    "Free text up to 5,000 characters; line breaks and tabs are kept.",
    example = "Outline, screenshots, then review with marketing.",
    |b| b.max_length(Some(Self::MAX_CHARS)).pattern(Some(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"))
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    #[default]
    Todo,
    InProgress,
    Done,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 3] = [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::Done];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Todo => "todo",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Done => "done",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Medium,
    High,
}

/// When a task is due. Clients may send a full RFC 3339 timestamp or a plain date
/// (`2026-12-01`, read as midnight UTC); it is always answered as RFC 3339 in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DueDate(DateTime<Utc>);

impl DueDate {
    /// The years a due date may fall in, in UTC: those RFC 3339 writes with four digits.
    /// A later instant would be stored as `+10000-…`, which no RFC 3339 reader (chrono's
    /// included) reads back, so it is refused here rather than stored unreadable.
    pub const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let at = match DateTime::parse_from_rfc3339(raw) {
            Ok(at) => at.with_timezone(&Utc),
            Err(_) => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|at| at.and_utc())
                .ok_or_else(|| Invalid::new("due_date", "must be a date (2026-12-01) or an RFC 3339 timestamp"))?,
        };
        if !Self::YEARS.contains(&chrono::Datelike::year(&at)) {
            return Err(Invalid::new("due_date", "must fall between 0001-01-01 and 9999-12-31T23:59:59Z (in UTC)"));
        }
        Ok(Self(at))
    }
}

impl utoipa::PartialSchema for DueDate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, schema::Type};
        let string =
            |format| ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(format)));
        OneOfBuilder::new()
            .item(string(KnownFormat::Date))
            .item(string(KnownFormat::DateTime))
            .description(Some("A date (read as midnight UTC) or an RFC 3339 timestamp, in UTC between 0001-01-01 and 9999-12-31T23:59:59Z; answered as RFC 3339 in UTC."))
            .examples(["2026-12-01T00:00:00Z"])
            .into()
    }
}
impl utoipa::ToSchema for DueDate {}

impl<'de> Deserialize<'de> for DueDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        DueDate::parse(&raw).map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// The body of `POST /api/v1/tasks`. Unknown fields are refused, so a client cannot set
/// `id`, `organization_id`, `created_by` or `version`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Org 1 Task", "description": "This is a task", "priority": "high"}))]
pub struct TaskDraft {
    #[serde(deserialize_with = "super::visible")]
    pub title: TaskTitle,
    #[serde(default)]
    pub description: Option<TaskDescription>,
    #[serde(default)]
    #[schema(default = "todo")]
    pub status: TaskStatus,
    #[serde(default)]
    #[schema(default = "medium")]
    pub priority: Priority,
    #[serde(default)]
    pub assignee_id: Option<UserId>,
    #[serde(default)]
    pub due_date: Option<DueDate>,
}

// The clearable fields are `Option<Option<_>>`: absent (`None`) keeps the value, `null`
// (`Some(None)`) clears it.
/// The body of `PATCH /api/v1/tasks/{id}`: only the fields present change, and `null`
/// clears an optional one (description, assignee, due date).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "in_progress", "due_date": null}), min_properties = 1)]
pub struct TaskPatch {
    #[serde(default, deserialize_with = "super::visible_not_null")]
    #[schema(value_type = TaskTitle)]
    pub title: Option<TaskTitle>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<TaskDescription>)]
    pub description: Option<Option<TaskDescription>>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = TaskStatus)]
    pub status: Option<TaskStatus>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = Priority)]
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<UserId>)]
    pub assignee_id: Option<Option<UserId>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DueDate>)]
    pub due_date: Option<Option<DueDate>>,
}

/// Marks a field that was present in the JSON (possibly as `null`) as `Some`.
pub(super) fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A field that may be absent but, when present, must hold a value (`null` is refused).
pub(super) fn not_null<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl TaskPatch {
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.status.is_none()
            && self.priority.is_none()
            && self.assignee_id.is_none()
            && self.due_date.is_none()
    }

    /// The assignee this patch sets, when it sets one (not when it clears it).
    pub fn new_assignee(&self) -> Option<UserId> {
        self.assignee_id.flatten()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Task {
    pub id: TaskId,
    pub organization_id: OrgId,
    pub title: TaskTitle,
    pub description: Option<TaskDescription>,
    pub status: TaskStatus,
    pub priority: Priority,
    pub assignee_id: Option<UserId>,
    pub due_date: Option<DueDate>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Incremented by every change; clients send it back in `If-Match`.
    #[schema(minimum = 1, example = 1)]
    pub version: u64,
}

impl Task {
    pub fn create(draft: TaskDraft, organization_id: OrgId, created_by: UserId, now: DateTime<Utc>) -> Self {
        Self {
            id: TaskId::generate(),
            organization_id,
            title: draft.title,
            description: draft.description,
            status: draft.status,
            priority: draft.priority,
            assignee_id: draft.assignee_id,
            due_date: draft.due_date,
            created_by,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// The task after `patch`, as the next version.
    pub fn patched(&self, patch: TaskPatch, now: DateTime<Utc>) -> Self {
        let mut next = self.clone();
        if let Some(title) = patch.title {
            next.title = title;
        }
        if let Some(description) = patch.description {
            next.description = description;
        }
        if let Some(status) = patch.status {
            next.status = status;
        }
        if let Some(priority) = patch.priority {
            next.priority = priority;
        }
        if let Some(assignee) = patch.assignee_id {
            next.assignee_id = assignee;
        }
        if let Some(due) = patch.due_date {
            next.due_date = due;
        }
        next.updated_at = now;
        next.version = self.version + 1;
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(json: &str) -> Result<TaskDraft, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn a_draft_gets_the_documented_defaults() {
        let d = draft(r#"{"title":"Org 1 Task","description":"This is a task"}"#).unwrap();
        assert_eq!(d.status, TaskStatus::Todo);
        assert_eq!(d.priority, Priority::Medium);
        assert_eq!(d.assignee_id, None);
    }

    #[test]
    fn server_owned_fields_are_refused() {
        for field in ["id", "organization_id", "created_by", "version", "created_at"] {
            let json = format!(r#"{{"title":"t","{field}":"x"}}"#);
            let err = draft(&json).unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
    }

    #[test]
    fn unknown_enum_values_and_empty_titles_are_refused() {
        assert!(draft(r#"{"title":"t","status":"blocked"}"#).is_err());
        assert!(draft(r#"{"title":"t","priority":"urgent"}"#).is_err());
        assert!(draft(r#"{"title":"   "}"#).is_err());
        assert!(draft(r#"{"description":"no title"}"#).is_err());
    }

    #[test]
    fn due_dates_accept_dates_and_timestamps() {
        let d = DueDate::parse("2026-12-01").unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), r#""2026-12-01T00:00:00Z""#);
        let t = DueDate::parse("2026-12-01T10:00:00+02:00").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), r#""2026-12-01T08:00:00Z""#);
        assert!(DueDate::parse("tomorrow").is_err());
    }

    #[test]
    fn due_dates_the_stored_form_cannot_hold_are_refused_with_the_field_named() {
        for beyond in
            ["9999-12-31T23:59:59-01:00", "+10000-01-01T00:00:00Z", "0000-12-31T23:00:00Z", "0001-01-01T00:30:00+01:00"]
        {
            let err = DueDate::parse(beyond).unwrap_err();
            assert_eq!(err.field, "due_date", "{beyond}");
        }
        for edge in
            ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59+00:00", "0001-01-01"]
        {
            let due = DueDate::parse(edge).unwrap();
            let json = serde_json::to_string(&due).unwrap();
            assert_eq!(serde_json::from_str::<DueDate>(&json).unwrap(), due, "{edge} reads back from {json}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// Any instant chrono can hold, written as RFC 3339 with any offset.
        fn any_timestamp() -> impl Strategy<Value = String> {
            (-400_000_000_000i64..400_000_000_000i64, 0u32..1_000_000_000, -86_399i32..86_399).prop_map(
                |(secs, nanos, offset)| {
                    let offset = chrono::FixedOffset::east_opt(offset).unwrap();
                    DateTime::from_timestamp(secs, nanos).unwrap().with_timezone(&offset).to_rfc3339()
                },
            )
        }

        fn draft_json() -> impl Strategy<Value = serde_json::Value> {
            (
                "\\PC{0,210}",
                proptest::option::of("(\\PC|\n|\t){0,300}"),
                prop_oneof![Just("todo"), Just("in_progress"), Just("done")],
                prop_oneof![Just("low"), Just("medium"), Just("high")],
                proptest::option::of(prop_oneof![any_timestamp(), "[0-9]{4}-[0-9]{2}-[0-9]{2}"]),
            )
                .prop_map(|(title, description, status, priority, due)| {
                    serde_json::json!({
                        "title": title, "description": description, "status": status,
                        "priority": priority, "due_date": due,
                    })
                })
        }

        proptest! {
            /// Whatever a due date the API accepts is answered and read back as itself.
            #[test]
            fn an_accepted_due_date_reads_back(raw in prop_oneof![any_timestamp(), "[0-9]{4}-[0-9]{2}-[0-9]{2}"]) {
                if let Ok(due) = DueDate::parse(&raw) {
                    let json = serde_json::to_string(&due).unwrap();
                    prop_assert_eq!(serde_json::from_str::<DueDate>(&json).unwrap(), due);
                }
            }

            /// Whatever task the API accepts, answered as JSON, reads back as the same task.
            #[test]
            fn an_accepted_task_reads_back_from_its_json(body in draft_json()) {
                if let Ok(draft) = serde_json::from_value::<TaskDraft>(body) {
                    let task = Task::create(draft, OrgId::generate(), UserId::generate(), Utc::now());
                    let json = serde_json::to_string(&task).unwrap();
                    prop_assert_eq!(serde_json::from_str::<Task>(&json).unwrap(), task);
                }
            }

            #[test]
            fn accepted_text_is_canonical(raw in "\\PC{0,210}") {
                if let Ok(title) = TaskTitle::parse(&raw) {
                    prop_assert_eq!(TaskTitle::parse(title.as_str()), Ok(title.clone()));
                }
                if let Ok(description) = TaskDescription::parse(&raw) {
                    prop_assert_eq!(TaskDescription::parse(description.as_str()), Ok(description.clone()));
                }
            }
        }
    }

    #[test]
    fn a_patch_distinguishes_absent_from_null() {
        let now = Utc::now();
        let d = draft(r#"{"title":"t","description":"keep me","due_date":"2026-01-01"}"#).unwrap();
        let task = Task::create(d, OrgId::generate(), UserId::generate(), now);

        let patch: TaskPatch = serde_json::from_str(r#"{"status":"done","due_date":null}"#).unwrap();
        let next = task.patched(patch, now);
        assert_eq!(next.status, TaskStatus::Done);
        assert_eq!(next.description, task.description, "absent field must not change");
        assert_eq!(next.due_date, None, "null must clear");
        assert_eq!(next.version, task.version + 1);
        assert_eq!(next.id, task.id);
    }

    #[test]
    fn a_patch_cannot_null_a_required_field() {
        assert!(serde_json::from_str::<TaskPatch>(r#"{"title":null}"#).is_err());
        assert!(serde_json::from_str::<TaskPatch>(r#"{"status":null}"#).is_err());
        assert!(serde_json::from_str::<TaskPatch>(r#"{"version":3}"#).is_err());
        assert!(serde_json::from_str::<TaskPatch>("{}").unwrap().is_empty());
    }
}
