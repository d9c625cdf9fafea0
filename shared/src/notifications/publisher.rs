//! Producing events: hand an event to the event topic and clear its outbox marker, and the
//! scheduled re-publishing of markers that stayed behind.

use aws_sdk_sns::types::MessageAttributeValue;
use aws_smithy_types::error::display::DisplayErrorContext;
use chrono::{Duration, Utc};

use crate::domain::events::Event;
use crate::store::{Store, StoreError, TenantScope};

#[derive(Debug, thiserror::Error)]
#[error("the event was not accepted: {0}")]
pub struct PublishError(String);

/// The message attribute the topic's subscriptions filter on (`FilterPolicy`).
pub const TYPE_ATTRIBUTE: &str = "type";

/// Publishes events to the event topic, with their type as a message attribute: each
/// consumer's subscription takes the types it wants (see
/// [`Consumer`](crate::domain::events::Consumer)).
pub struct Publisher {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl Publisher {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self { client, topic_arn: topic_arn.into() }
    }

    pub async fn publish(&self, event: &Event) -> Result<(), PublishError> {
        let event_type = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(event.kind.type_name())
            .build()
            .map_err(|e| PublishError(e.to_string()))?;
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(event.to_json())
            .message_attributes(TYPE_ATTRIBUTE, event_type)
            .send()
            .await
            .map_err(|e| PublishError(DisplayErrorContext(&e).to_string()))?;
        Ok(())
    }
}

/// One queue, written to directly: a job that goes on in steps (an organization's deletion)
/// puts its own event back on its own queue, which no other consumer needs to see again.
pub struct JobQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl JobQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self { client, url: url.into() }
    }

    pub async fn send(&self, event: &Event) -> Result<(), PublishError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(event.to_json())
            .send()
            .await
            .map_err(|e| PublishError(DisplayErrorContext(&e).to_string()))?;
        Ok(())
    }
}

/// Sends an event that the store recorded in the outbox, and clears the marker once SNS
/// has it. A failure is logged and left to the re-publisher: the API call that caused the
/// event has already succeeded and must not fail because the queue is down.
pub async fn dispatch(store: &Store, publisher: &Publisher, scope: &TenantScope, event: &Event) {
    if let Err(e) = publisher.publish(event).await {
        tracing::warn!(event_id = %event.event_id, error = %e, "event left in the outbox for the re-publisher");
        return;
    }
    if let Err(e) = store.outbox().clear(scope, event.event_id).await {
        // Harmless: the re-publisher sends it again and every consumer drops a repeated id.
        tracing::warn!(event_id = %event.event_id, error = %e, "outbox marker not cleared");
    }
}

/// [`dispatch`] of each of the events one write recorded, in order.
pub async fn dispatch_all(store: &Store, publisher: &Publisher, scope: &TenantScope, events: &[Event]) {
    for event in events {
        dispatch(store, publisher, scope, event).await;
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
