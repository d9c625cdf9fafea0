//! The exporter: consumes the export queue. Each message is one export an admin asked for;
//! one invocation reads the organization's items page by page and writes them to the
//! export bucket as one JSON document ([`crate::domain::ExportDocument`]), then records it.
//! A failed invocation leaves its message to come back: the next attempt starts over, in a
//! key of its own, and only the attempt that records its document keeps it.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::archive::{Archive, DocumentWriter};
use super::{JobError, Step, each_message};
use crate::auth;
use crate::domain::events::{Event, EventKind};
use crate::domain::{EXPORT_FORMAT, Export, ExportId, ExportState, ExportSummary, Organization};
use crate::store::{Completed, Page, Store, StoreError, TenantScope};

pub struct Exporter {
    store: Store,
    archive: Archive,
}

/// How many items of a kind a document holds, and how many were left out as unreadable.
#[derive(Default)]
struct Counted {
    items: u64,
    unreadable: u64,
}

impl Exporter {
    pub fn new(store: Store, archive: Archive) -> Self {
        Self { store, archive }
    }

    pub async fn handle_batch(&self, batch: SqsEvent) -> SqsBatchResponse {
        each_message(&batch, "export", |record| self.handle_message(record)).await
    }

    async fn handle_message(&self, record: &SqsMessage) -> Result<Step, JobError> {
        let (event, scope) = auth::queued_event(record).map_err(|e| JobError::Permanent(e.to_string()))?;
        let EventKind::OrganizationExportRequested { export_id, .. } = event.kind else {
            // Named by id only: another kind's fields may be a nonce.
            return Err(JobError::Permanent(format!("the event {} is not an export request", event.event_id)));
        };
        self.step(&event, &scope, export_id).await
    }

    /// Writes and records the document of the export `export_id`, unless it was recorded
    /// already or the organization is being deleted.
    pub async fn step(&self, event: &Event, scope: &TenantScope, export_id: ExportId) -> Result<Step, JobError> {
        let exports = self.store.exports();
        let Some(export) = exports.get(scope, export_id).await? else {
            // Gone with its organization, or expired.
            return Ok(Step::AlreadyDone);
        };
        if export.state != ExportState::Pending {
            return Ok(Step::AlreadyDone);
        }
        if !export.is_running(Utc::now()) {
            // Past its time limit it reads as failed: a late attempt (a redriven message)
            // must not make it ready again.
            return Ok(Step::Abandoned);
        }
        let Some(organization) = self.store.organizations().get(scope).await? else {
            return Ok(Step::Abandoned);
        };
        let started = Utc::now();
        let mut writer = self.archive.writer(scope.org_id(), export.id);
        let counts = match self.write_document(scope, &organization, &export, started, &mut writer).await {
            Ok(counts) => counts,
            Err(e) => {
                writer.abort().await;
                return Err(e);
            }
        };
        let written = writer.finish().await?;
        let summary = ExportSummary {
            completed_at: Utc::now(),
            object_key: written.key.clone(),
            size_bytes: written.size_bytes,
            sha256: written.sha256,
            users: counts[0].items,
            tasks: counts[1].items,
            invitations: counts[2].items,
            unreadable_items: counts.iter().map(|c| c.unreadable).sum(),
        };
        let done = Export { state: ExportState::Ready(summary), ..export };
        let outcome = match exports.complete(scope, &done).await {
            Ok(outcome) => outcome,
            Err(e) => {
                // The next attempt writes a key of its own: this one's must not stay.
                if let Err(delete) = self.archive.delete(&written.key).await {
                    tracing::warn!(error = %delete, "an unrecorded export document was not deleted");
                }
                return Err(e.into());
            }
        };
        if outcome != Completed::Recorded {
            // Another attempt's document is the export's, or none may be kept.
            self.archive.delete(&written.key).await?;
        }
        tracing::info!(
            event_id = %event.event_id, export_id = %done.id, ?outcome, size_bytes = written.size_bytes,
            took_ms = (Utc::now() - started).num_milliseconds(), "export written"
        );
        Ok(match outcome {
            Completed::Recorded => Step::Finished,
            Completed::AlreadyRecorded => Step::AlreadyDone,
            Completed::Abandoned => Step::Abandoned,
        })
    }

    /// The document, in the field order of [`crate::domain::ExportDocument`]: users, tasks,
    /// invitations, each read a page at a time and shipped as parts fill up.
    async fn write_document(
        &self,
        scope: &TenantScope,
        organization: &Organization,
        export: &Export,
        exported_at: DateTime<Utc>,
        w: &mut DocumentWriter<'_>,
    ) -> Result<[Counted; 3], JobError> {
        let exports = self.store.exports();
        w.push(b"{\"format\":");
        w.push_json(&EXPORT_FORMAT);
        w.push(b",\"export_id\":");
        w.push_json(&export.id);
        w.push(b",\"exported_at\":");
        w.push_json(&exported_at);
        w.push(b",\"organization\":");
        w.push_json(organization);
        w.push(b",\"users\":");
        let users = section(w, |after| exports.users(scope, after)).await?;
        w.push(b",\"tasks\":");
        let tasks = section(w, |after| exports.tasks(scope, after)).await?;
        w.push(b",\"invitations\":");
        let invitations = section(w, |after| exports.invitations(scope, after, exported_at)).await?;
        w.push(b"}");
        Ok([users, tasks, invitations])
    }
}

/// One array of the document: every page `read` gives, from the first on.
async fn section<T, F, Fut>(w: &mut DocumentWriter<'_>, mut read: F) -> Result<Counted, JobError>
where
    T: Serialize,
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let (mut counted, mut after) = (Counted::default(), None);
    w.push(b"[");
    loop {
        let page = read(after.take()).await?;
        for item in &page.items {
            if counted.items > 0 {
                w.push(b",");
            }
            w.push_json(item);
            counted.items += 1;
        }
        counted.unreadable += page.unreadable;
        w.ship().await?;
        match page.last {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    w.push(b"]");
    Ok(counted)
}
