//! The audit writer: consumes its queue of every event (its subscription to the event topic
//! takes all types) and enters each in the audit log of the event's organization, once.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Duration;

use super::{JobError, Step, batch_response};
use crate::auth;
use crate::domain::AuditEntry;
use crate::store::{Entered, Store, TenantScope};

/// An entry and the time (Unix seconds) its retention ends.
type Timed = (AuditEntry, i64);

pub struct AuditWriter {
    store: Store,
    /// How long an entry is kept after its event (the table's TTL removes it then).
    retention: Duration,
}

impl AuditWriter {
    pub fn new(store: Store, retention: Duration) -> Self {
        Self { store, retention }
    }

    /// Enters the batch's events, all of one organization's in one write (see
    /// [`crate::store::AuditStore::enter_all`]), the organizations' at once.
    pub async fn handle_batch(&self, batch: SqsEvent) -> SqsBatchResponse {
        let mut outcomes: Vec<Option<Result<Step, JobError>>> = Vec::new();
        // Each organization's entries, with the positions of their messages in the batch.
        let mut by_organization: Vec<(TenantScope, Vec<usize>, Vec<Timed>)> = Vec::new();
        for (n, record) in batch.records.iter().enumerate() {
            match self.entry_of(record) {
                Ok((scope, entry)) => {
                    match by_organization.iter_mut().find(|(known, ..)| *known == scope) {
                        Some((_, positions, entries)) => {
                            positions.push(n);
                            entries.push(entry);
                        }
                        None => by_organization.push((scope, vec![n], vec![entry])),
                    }
                    outcomes.push(None);
                }
                Err(e) => outcomes.push(Some(Err(e))),
            }
        }
        let written =
            futures_util::future::join_all(by_organization.iter().map(|(scope, positions, entries)| async move {
                (positions, self.store.audit().enter_all(scope, entries).await)
            }))
            .await;
        for (positions, result) in written {
            match result {
                Ok(entered) => {
                    for (&n, entered) in positions.iter().zip(entered) {
                        outcomes[n] = Some(Ok(step_of(entered)));
                    }
                }
                Err(e) => {
                    let error = JobError::from(e);
                    for &n in positions {
                        outcomes[n] = Some(Err(error.clone()));
                    }
                }
            }
        }
        // Every message has its outcome by now; one without would be handed out again, not dropped.
        let outcomes = outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(JobError::Transient("no outcome was recorded".into()))))
            .collect();
        batch_response(&batch, "audit", outcomes)
    }

    /// The message's entry and when its retention ends, in the scope of its organization.
    fn entry_of(&self, record: &SqsMessage) -> Result<(TenantScope, Timed), JobError> {
        let (event, scope) = auth::queued_event(record).map_err(|e| JobError::Permanent(e.to_string()))?;
        let expires_at = (event.occurred_at + self.retention).timestamp();
        Ok((scope, (AuditEntry::of(&event), expires_at)))
    }
}

fn step_of(entered: Entered) -> Step {
    match entered {
        Entered::Written => Step::Finished,
        Entered::AlreadyThere => Step::AlreadyDone,
        Entered::OrganizationGone => Step::Abandoned,
    }
}
