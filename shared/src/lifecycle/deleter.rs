//! The deleter: consumes the deletion queue. Each message is an organization's deletion
//! request; one invocation deletes one bounded batch of its items and puts the same message
//! back on the queue while more are left, so a deletion of any size is a chain of short
//! invocations, and an invocation that dies (a timeout, a crash) leaves its message to come
//! back after the visibility timeout: the next batch starts from whatever is left.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;

use crate::auth;
use crate::domain::events::{Event, EventKind};
use crate::notifications::{Composed, Delivered, DeliveryError, Mail, Postman, PublishError, Publisher};
use crate::store::{ClaimRule, Progress, Store, StoreError, TenantScope};

/// How many items one invocation deletes by default (`TASKFLOW_DELETION_BATCH_SIZE`): a few
/// seconds of DynamoDB calls, far inside the function's timeout.
pub const DEFAULT_BATCH_SIZE: usize = 1000;
/// From this receive of the last message on, a done mail that SES keeps refusing no longer
/// holds the organization's slug: the deletion finishes without it (and logs so).
const DONE_MAIL_RECEIVES: u32 = 3;
/// The `metric` field of the error line of a deletion that finished without its mail.
pub const DONE_MAIL_FAILED_METRIC: &str = "DeletionMailFailed";

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Retrying will not help (a message that is not a deletion request).
    #[error("permanent: {0}")]
    Permanent(String),
    #[error("transient: {0}")]
    Transient(String),
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        JobError::Transient(e.to_string())
    }
}

impl From<PublishError> for JobError {
    fn from(e: PublishError) -> Self {
        JobError::Transient(e.to_string())
    }
}

/// What one message did, for logs and tests.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A batch was deleted and the message put back for the next one.
    Continued,
    /// The organization is gone and its admin was mailed (or the mail was given up on).
    Finished,
    /// Nothing to delete: the deletion finished already (a redelivered last message).
    AlreadyDone,
}

pub struct Deleter {
    store: Store,
    postman: Postman,
    /// Onto the deletion queue, for the next batch.
    publisher: Publisher,
    batch_size: usize,
}

impl Deleter {
    pub fn new(store: Store, postman: Postman, publisher: Publisher, batch_size: usize) -> Self {
        Self { store, postman, publisher, batch_size }
    }

    pub async fn handle_batch(&self, batch: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in &batch.records {
            let id = record.message_id.clone().unwrap_or_default();
            // Boxed: the step's future nests every store call of a batch, deeper than the
            // compiler's layout limit when inlined into the runtime's.
            match Box::pin(self.handle_message(record)).await {
                Ok(step) => tracing::info!(message_id = %id, ?step, "deletion step done"),
                Err(error) => {
                    tracing::error!(message_id = %id, receives = receives(record), %error, "deletion step failed");
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id;
                    response.batch_item_failures.push(failure);
                }
            }
        }
        response
    }

    async fn handle_message(&self, record: &SqsMessage) -> Result<Step, JobError> {
        let (event, scope) = auth::queued_event(record).map_err(|e| JobError::Permanent(e.to_string()))?;
        if !matches!(event.kind, EventKind::OrganizationDeletionRequested { .. }) {
            return Err(JobError::Permanent(format!("{:?} is not a deletion request", event.kind)));
        }
        self.step(&event, &scope, receives(record)).await
    }

    /// One batch of the deletion `event` asks for; the last one mails the admin and removes
    /// the organization item and its slug.
    pub async fn step(&self, event: &Event, scope: &TenantScope, receives: u32) -> Result<Step, JobError> {
        let deletions = self.store.deletions();
        let Some((organization, request)) = deletions.pending(scope).await? else {
            return Ok(Step::AlreadyDone);
        };
        if deletions.delete_batch(scope, &request, self.batch_size).await? == Progress::More {
            self.publisher.publish(event).await?;
            return Ok(Step::Continued);
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

/// How often SQS has handed out this message, this time included.
fn receives(record: &SqsMessage) -> u32 {
    record.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1)
}
