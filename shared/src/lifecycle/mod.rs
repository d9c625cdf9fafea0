//! An organization's lifecycle beyond requests: the jobs that run off their queues. The
//! [`Deleter`] removes an organization that asked to be deleted, batch by batch; the
//! [`Exporter`] writes an organization's data to the export [`Archive`]; the
//! [`AuditWriter`] keeps its audit log; the [`WebhookDispatcher`] delivers its events to its
//! webhooks.

mod archive;
mod audit;
mod deleter;
mod exporter;
mod webhooks;

pub use archive::{Archive, ArchiveError, DocumentWriter, DownloadLink, PART_SIZE, Written};
pub use audit::AuditWriter;
pub use deleter::{DEFAULT_BATCH_SIZE, DONE_MAIL_FAILED_METRIC, Deleter};
pub use exporter::Exporter;
pub use webhooks::{RetryQueue, WebhookDispatcher, back_off};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};

use crate::notifications::PublishError;
use crate::store::StoreError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum JobError {
    /// Retrying will not help (a message that is not this job's).
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

impl From<ArchiveError> for JobError {
    fn from(e: ArchiveError) -> Self {
        match e {
            ArchiveError::TooLarge => JobError::Permanent(e.to_string()),
            ArchiveError::Unavailable(_) => JobError::Transient(e.to_string()),
        }
    }
}

/// What one message did, for logs and tests.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A deletion's batch was deleted and the message put back for the next one.
    Continued,
    /// The job is done: the organization is gone and its admin was mailed (or the mail was
    /// given up on), or the export's document is written and recorded, or the audit entry.
    Finished,
    /// Nothing to do: the job finished already (a redelivered message).
    AlreadyDone,
    /// The organization is gone or being deleted: its export, or audit entry, was dropped.
    Abandoned,
}

/// Runs `step` for each message of an SQS batch, concurrently, and reports the ones that
/// failed, for SQS to hand out again after the visibility timeout (and to the dead-letter
/// queue at last).
async fn each_message<'a, F, Fut>(batch: &'a SqsEvent, job: &str, step: F) -> SqsBatchResponse
where
    F: Fn(&'a SqsMessage) -> Fut,
    Fut: std::future::Future<Output = Result<Step, JobError>>,
{
    let step = &step;
    // Boxed: a step's future nests every store call of a job, deeper than the compiler's
    // layout limit when inlined into the runtime's.
    let outcomes =
        futures_util::future::join_all(batch.records.iter().map(|record| async move { Box::pin(step(record)).await }))
            .await;
    batch_response(batch, job, outcomes)
}

/// The answer to an SQS batch whose messages came to `outcomes` (in the batch's order): each
/// logged, the failed ones reported.
fn batch_response(batch: &SqsEvent, job: &str, outcomes: Vec<Result<Step, JobError>>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for (record, outcome) in batch.records.iter().zip(outcomes) {
        let id = record.message_id.clone().unwrap_or_default();
        match outcome {
            Ok(done) => tracing::info!(message_id = %id, job, step = ?done, "job step done"),
            Err(error) => {
                tracing::error!(message_id = %id, job, receives = receives(record), %error, "job step failed");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
    }
    response
}

/// How often SQS has handed out this message, this time included.
fn receives(record: &SqsMessage) -> u32 {
    record.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1)
}
