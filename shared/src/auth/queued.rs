//! The scope of an event that came back through TaskFlow's own queue or table: the mailer
//! and the re-publisher act for an organization without a caller, on the strength of where
//! the event came from. Only TaskFlow's functions write the outbox and send to the queue
//! (IAM lets nothing else), and each event was recorded while serving a verified principal
//! of its organization; these two functions carry that principal's scope forward, and they
//! take the queue's record or the table's store, not an `Event`, so code cannot turn an
//! event it built itself into a scope.

use aws_lambda_events::sqs::SqsMessage;
use chrono::{DateTime, Utc};

use crate::domain::events::{Event, EventError};
use crate::store::{Store, StoreError, TenantScope};

/// The event a queue record carries, with its organization's scope.
pub fn queued_event(record: &SqsMessage) -> Result<(Event, TenantScope), EventError> {
    let body = record.body.as_deref().ok_or_else(|| EventError::Malformed("the message has no body".into()))?;
    let event = Event::parse(body)?;
    let scope = TenantScope::verified(event.organization_id);
    Ok((event, scope))
}

/// The outbox markers recorded before `cutoff` and not yet cleared, oldest first, each with
/// its organization's scope.
pub async fn outbox_backlog(
    store: &Store,
    cutoff: DateTime<Utc>,
    limit: i32,
) -> Result<Vec<(Event, TenantScope)>, StoreError> {
    let events = store.outbox().pending_before(cutoff, limit).await?;
    Ok(events
        .into_iter()
        .map(|event| {
            let scope = TenantScope::verified(event.organization_id);
            (event, scope)
        })
        .collect())
}
