//! The deleter: consumes the deletion queue. Each message is an organization's deletion
//! request; one invocation deletes one bounded batch of its items and puts the same message
//! back on the queue while more are left, so a deletion of any size is a chain of short
//! invocations, and an invocation that dies (a timeout, a crash) leaves its message to come
//! back after the visibility timeout: the next batch starts from whatever is left.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;

use super::archive::Archive;
use super::{JobError, Step, each_message, receives};
use crate::auth;
use crate::domain::events::{Event, EventKind};
use crate::notifications::{Composed, Delivered, DeliveryError, JobQueue, Mail, Postman};
use crate::store::{ClaimRule, Progress, Store, TenantScope};

/// How many items one invocation deletes by default (`TASKFLOW_DELETION_BATCH_SIZE`): a few
/// seconds of DynamoDB calls, far inside the function's timeout.
pub const DEFAULT_BATCH_SIZE: usize = 1000;
/// From this receive of the last message on, a done mail that SES keeps refusing no longer
/// holds the organization's slug: the deletion finishes without it (and logs so).
const DONE_MAIL_RECEIVES: u32 = 3;
/// The `metric` field of the error line of a deletion that finished without its mail.
pub const DONE_MAIL_FAILED_METRIC: &str = "DeletionMailFailed";

pub struct Deleter {
    store: Store,
    /// The export bucket: the organization's exports go with it.
    archive: Archive,
    postman: Postman,
    /// The deletion queue itself, for the next batch.
    requeue: JobQueue,
    batch_size: usize,
}

impl Deleter {
    pub fn new(store: Store, archive: Archive, postman: Postman, requeue: JobQueue, batch_size: usize) -> Self {
        Self { store, archive, postman, requeue, batch_size }
    }

    pub async fn handle_batch(&self, batch: SqsEvent) -> SqsBatchResponse {
        each_message(&batch, "deletion", |record| self.handle_message(record)).await
    }

    async fn handle_message(&self, record: &SqsMessage) -> Result<Step, JobError> {
        let (event, scope) = auth::queued_event(record).map_err(|e| JobError::Permanent(e.to_string()))?;
        if !matches!(event.kind, EventKind::OrganizationDeletionRequested { .. }) {
            // Named by id only: another kind's fields may be a nonce.
            return Err(JobError::Permanent(format!("the event {} is not a deletion request", event.event_id)));
        }
        let step = self.step(&event, &scope, receives(record)).await;
        if let Ok(done) = &step {
            // A deletion is chains of messages (redelivered copies among them): this line is
            // how one organization's chain is followed, to its end.
            tracing::info!(organization_id = %event.organization_id, step = ?done, "deletion step");
        }
        step
    }

    /// One batch of the deletion `event` asks for; the last one mails the admin and removes
    /// the organization item and its slug.
    pub async fn step(&self, event: &Event, scope: &TenantScope, receives: u32) -> Result<Step, JobError> {
        let deletions = self.store.deletions();
        let Some((organization, request)) = deletions.pending(scope).await? else {
            return Ok(Step::AlreadyDone);
        };
        if deletions.delete_batch(scope, &request, self.batch_size).await? == Progress::More {
            self.requeue.send(event).await?;
            return Ok(Step::Continued);
        }
        // Before the done mail: an export finished since the last batch is gone too. (One
        // still being written finds the organization deleting, and deletes its document.)
        let exports = self.archive.delete_organization(organization.id).await?;
        if exports > 0 {
            tracing::info!(organization_id = %organization.id, exports, "export documents deleted");
        }
        let compose = async {
            Ok::<_, DeliveryError>(match &request.notify {
                Some(to) => Composed::Mail(Mail::organization_deleted(&organization, to, request.requested_at)),
                None => Composed::Nothing("a released registration: nobody asked for its deletion"),
            })
        };
        match self.postman.deliver(scope, request.event_id, ClaimRule::WhileDeleting, compose).await {
            Ok(Delivered::Sent | Delivered::Unconfirmed | Delivered::Duplicate(_) | Delivered::Skipped(_)) => {}
            Err(e) if receives >= DONE_MAIL_RECEIVES => tracing::error!(
                organization_id = %organization.id, metric = DONE_MAIL_FAILED_METRIC, error = %e,
                "the deletion's done mail could not be sent: finishing without it"
            ),
            Err(e) => return Err(JobError::Transient(e.to_string())),
        }
        deletions.finish(scope, &organization, &request).await?;
        tracing::info!(organization_id = %organization.id, took_s = (Utc::now() - request.requested_at).num_seconds(), "organization deleted");
        Ok(Step::Finished)
    }
}
