//! Producing notifications: hand an event to SQS and clear its outbox marker, and the
//! scheduled re-publishing of markers that stayed behind.

use aws_smithy_types::error::display::DisplayErrorContext;
use chrono::{Duration, Utc};

use crate::domain::events::{Event, Queue};
use crate::store::{Store, StoreError, TenantScope};

#[derive(Debug, thiserror::Error)]
#[error("SQS did not accept the message: {0}")]
pub struct PublishError(String);

/// Puts each event on its queue ([`EventKind::queue`](crate::domain::events::EventKind::queue)),
/// of those it was given: a function has the URLs (and the rights) of the queues it sends
/// to, and nothing else.
pub struct Publisher {
    client: aws_sdk_sqs::Client,
    queues: Vec<(Queue, String)>,
}

impl Publisher {
    /// A publisher onto the notification queue.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self::with_queues(client, vec![(Queue::Notifications, queue_url.into())])
    }

    pub fn with_queues(client: aws_sdk_sqs::Client, queues: Vec<(Queue, String)>) -> Self {
        Self { client, queues }
    }

    pub async fn publish(&self, event: &Event) -> Result<(), PublishError> {
        let queue = event.kind.queue();
        let url = self
            .queues
            .iter()
            .find(|(q, _)| *q == queue)
            .map(|(_, url)| url)
            .ok_or_else(|| PublishError(format!("this function has no URL of the {queue:?} queue")))?;
        self.client
            .send_message()
            .queue_url(url)
            .message_body(event.to_json())
            .send()
            .await
            .map_err(|e| PublishError(DisplayErrorContext(&e).to_string()))?;
        Ok(())
    }
}

/// Sends an event that the store recorded in the outbox, and clears the marker once SQS
/// has it. A failure is logged and left to the re-publisher: the API call that caused the
/// event has already succeeded and must not fail because the queue is down.
pub async fn dispatch(store: &Store, publisher: &Publisher, scope: &TenantScope, event: &Event) {
    if let Err(e) = publisher.publish(event).await {
        tracing::warn!(event_id = %event.event_id, error = %e, "notification left in the outbox for the re-publisher");
        return;
    }
    if let Err(e) = store.outbox().clear(scope, event.event_id).await {
        // Harmless: the re-publisher sends it again and the mailer's idempotency drops it.
        tracing::warn!(event_id = %event.event_id, error = %e, "outbox marker not cleared");
    }
}

#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RepublishReport {
    pub published: usize,
    pub failed: usize,
}

/// Markers younger than this are left alone: their own request is probably still
/// dispatching them.
pub const DEFAULT_MIN_AGE: Duration = Duration::minutes(1);

/// Re-publishes every outbox marker older than `min_age` (up to `batch` of them).
pub async fn republish(
    store: &Store,
    publisher: &Publisher,
    min_age: Duration,
    batch: i32,
) -> Result<RepublishReport, StoreError> {
    let mut report = RepublishReport::default();
    for (event, scope) in crate::auth::outbox_backlog(store, Utc::now() - min_age, batch).await? {
        match publisher.publish(&event).await {
            Ok(()) => {
                store.outbox().clear(&scope, event.event_id).await?;
                report.published += 1;
            }
            Err(e) => {
                tracing::warn!(event_id = %event.event_id, error = %e, "re-publishing failed; next run retries");
                report.failed += 1;
            }
        }
    }
    if report != RepublishReport::default() {
        tracing::info!(published = report.published, failed = report.failed, "outbox re-published");
    }
    Ok(report)
}
