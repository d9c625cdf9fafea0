//! The audit writer: consumes its queue of every event (its subscription to the event topic
//! takes all types) and enters each in the audit log of the event's organization, once.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Duration;

use super::{JobError, Step, each_message};
use crate::auth;
use crate::domain::AuditEntry;
use crate::store::{Entered, Store};

pub struct AuditWriter {
    store: Store,
    /// How long an entry is kept after its event (the table's TTL removes it then).
    retention: Duration,
}

impl AuditWriter {
    pub fn new(store: Store, retention: Duration) -> Self {
        Self { store, retention }
    }

    pub async fn handle_batch(&self, batch: SqsEvent) -> SqsBatchResponse {
        each_message(&batch, "audit", |record| self.handle_message(record)).await
    }

    async fn handle_message(&self, record: &SqsMessage) -> Result<Step, JobError> {
        let (event, scope) = auth::queued_event(record).map_err(|e| JobError::Permanent(e.to_string()))?;
        let entry = AuditEntry::of(&event);
        let expires_at = (event.occurred_at + self.retention).timestamp();
        Ok(match self.store.audit().enter(&scope, &entry, expires_at).await? {
            Entered::Written => Step::Finished,
            Entered::AlreadyThere => Step::AlreadyDone,
            Entered::OrganizationGone => Step::Abandoned,
        })
    }
}
