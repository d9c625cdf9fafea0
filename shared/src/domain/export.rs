//! An organization's export: the job an admin asks for, where it stands, and the document it
//! produces. The document is written piece by piece by the exporter
//! (`shared/src/lifecycle/exporter.rs`); [`ExportDocument`] is its shape, for the OpenAPI
//! document and for the test that holds the streamed text to it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{ExportId, Invitation, Organization, Task, User, UserId};

/// The `format` of every export document; a later, incompatible shape gets a new one.
pub const EXPORT_FORMAT: &str = "taskflow.organization-export.v1";

/// How long a finished export can be downloaded. The bucket's lifecycle rule deletes the
/// object itself a day after it was written (S3 runs such rules once a day, so within two).
pub const EXPORT_LIFETIME: Duration = Duration::hours(24);

/// How long an export may stay pending: its job's three receives at most six minutes
/// apart (the queue's visibility timeout) are over by then, so a pending export older than
/// this has failed, and a new one may start.
pub const EXPORT_TIME_LIMIT: Duration = Duration::minutes(30);

/// An export as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Export {
    pub id: ExportId,
    pub requested_by: UserId,
    pub requested_at: DateTime<Utc>,
    #[serde(flatten)]
    pub state: ExportState,
}

/// What the job has done: nothing yet, or written the document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ExportState {
    Pending,
    Ready(ExportSummary),
}

/// What a finished export holds, recorded when its document was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportSummary {
    pub completed_at: DateTime<Utc>,
    /// Where the document is in the export bucket.
    pub object_key: String,
    /// The document's length in bytes.
    pub size_bytes: u64,
    /// The SHA-256 of the document, lowercase hex: a download can be checked against it.
    pub sha256: String,
    pub users: u64,
    pub tasks: u64,
    pub invitations: u64,
    /// Stored items that no longer map to their type (written by hand, or by an older
    /// version), left out of the document and logged with their keys.
    pub unreadable_items: u64,
}

/// Where an export stands as its admin sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    /// Being written: poll again.
    Pending,
    /// Written: `download_url` serves it.
    Ready,
    /// Its job failed for good (or ran past [`EXPORT_TIME_LIMIT`]): ask for a new one.
    Failed,
    /// Older than [`EXPORT_LIFETIME`]: deleted, ask for a new one.
    Expired,
}

impl Export {
    pub fn new(requested_by: UserId, requested_at: DateTime<Utc>) -> Self {
        Self { id: ExportId::generate(), requested_by, requested_at, state: ExportState::Pending }
    }

    pub fn status(&self, now: DateTime<Utc>) -> ExportStatus {
        match &self.state {
            ExportState::Pending if now - self.requested_at > EXPORT_TIME_LIMIT => ExportStatus::Failed,
            ExportState::Pending => ExportStatus::Pending,
            ExportState::Ready(summary) if now >= summary.completed_at + EXPORT_LIFETIME => ExportStatus::Expired,
            ExportState::Ready(_) => ExportStatus::Ready,
        }
    }

    /// Whether it still holds the organization's one running export: pending, within the
    /// time limit.
    pub fn is_running(&self, now: DateTime<Utc>) -> bool {
        self.status(now) == ExportStatus::Pending
    }

    /// Until when a finished export can be downloaded.
    pub fn available_until(&self) -> Option<DateTime<Utc>> {
        match &self.state {
            ExportState::Ready(summary) => Some(summary.completed_at + EXPORT_LIFETIME),
            ExportState::Pending => None,
        }
    }
}

/// An organization's data, as the export's download gives it: one JSON document. Users come
/// without password hashes (those are kept apart, with the sign-in guard), invitations
/// without their tokens (kept only as hashes, never in clear). Items are in the order the
/// table keeps them: users and invitations by id, tasks by creation time.
#[derive(Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportDocument {
    #[schema(example = "taskflow.organization-export.v1")]
    pub format: String,
    pub export_id: ExportId,
    /// When the job started reading. The document is read item by item, not as one
    /// snapshot: a change made while it runs may or may not be in it.
    pub exported_at: DateTime<Utc>,
    pub organization: Organization,
    pub users: Vec<User>,
    pub tasks: Vec<Task>,
    pub invitations: Vec<Invitation>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(completed_at: DateTime<Utc>) -> ExportState {
        ExportState::Ready(ExportSummary {
            completed_at,
            object_key: "exports/o/e/a.json".into(),
            size_bytes: 10,
            sha256: "00".into(),
            users: 1,
            tasks: 0,
            invitations: 0,
            unreadable_items: 0,
        })
    }

    #[test]
    fn a_pending_export_fails_after_its_time_limit() {
        let export = Export::new(UserId::generate(), Utc::now() - EXPORT_TIME_LIMIT);
        let now = export.requested_at;
        assert_eq!(export.status(now), ExportStatus::Pending);
        assert!(export.is_running(now + EXPORT_TIME_LIMIT));
        assert_eq!(export.status(now + EXPORT_TIME_LIMIT + Duration::seconds(1)), ExportStatus::Failed);
        assert!(!export.is_running(now + EXPORT_TIME_LIMIT + Duration::seconds(1)));
    }

    #[test]
    fn a_finished_export_expires_after_its_lifetime() {
        let mut export = Export::new(UserId::generate(), Utc::now());
        let done = export.requested_at + Duration::minutes(1);
        export.state = ready(done);
        assert_eq!(export.status(done + EXPORT_LIFETIME - Duration::seconds(1)), ExportStatus::Ready);
        assert_eq!(export.status(done + EXPORT_LIFETIME), ExportStatus::Expired);
        assert_eq!(export.available_until(), Some(done + EXPORT_LIFETIME));
        // A finished export never holds the running slot, however old its request.
        assert!(!export.is_running(done + EXPORT_TIME_LIMIT * 2));
    }
}
