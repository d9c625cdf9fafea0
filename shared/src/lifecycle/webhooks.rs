//! The webhook dispatcher: consumes its queue of the events webhooks may receive and POSTs
//! each to every enabled webhook of its organization that asked for its type, signed. A
//! batch's events go out concurrently, and so do one event's webhooks.
//!
//! Each (webhook, event) has a record of its attempts. An event is delivered to a webhook
//! at most until one attempt was answered 2xx, or refused for good (another 4xx, 410, an
//! address it may not reach): a redelivered message skips those. An event that must be tried
//! again for some webhook (a timeout, a 5xx, a 429) fails its message, whose visibility is
//! set to an exponential back-off with jitter, so SQS hands it out again then; after the
//! queue's receive limit (about a day of back-off) it goes to the dead-letter queue.
//! Receivers may still see an event twice (the dispatcher can stop between a 2xx and its
//! record): Standard Webhooks says to deduplicate by `webhook-id`, which is the event's id.

use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use futures_util::future::join_all;

use super::{JobError, Step, each_message, receives};
use crate::auth::{self, SealingKey};
use crate::domain::events::{Event, EventKind, Provenance};
use crate::domain::{DisabledReason, FAILING_LIMIT, WebhookAttempt, WebhookPayload};
use crate::notifications::{self, Delivery, Publisher, Verdict, WebhookClient};
use crate::store::{Store, StoredWebhook, TenantScope};

/// The longest back-off between two attempts (SQS allows a visibility of 12 h at most).
const MAX_BACK_OFF: Duration = Duration::from_secs(8 * 3600);

/// The back-off before the next attempt of a message handed out `receives` times: `base`
/// doubled each time, at most [`MAX_BACK_OFF`], less up to a fifth at random so that
/// endpoints that failed together are not all tried again at once.
pub fn back_off(base: Duration, receives: u32, jitter: u8) -> Duration {
    let doubled = base.saturating_mul(1u32 << receives.saturating_sub(1).min(20));
    let capped = doubled.min(MAX_BACK_OFF);
    capped - capped.mul_f64(f64::from(jitter) / 255.0 / 5.0)
}

/// Where a message goes back to wait for its next attempt.
pub struct RetryQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl RetryQueue {
    pub fn new(sqs: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self { sqs, url: url.into() }
    }

    /// Hides `record` for `delay`; on failure the queue's own visibility timeout applies.
    async fn hide(&self, record: &SqsMessage, delay: Duration) {
        let Some(handle) = record.receipt_handle.as_deref() else { return };
        let seconds = i32::try_from(delay.as_secs()).unwrap_or(i32::MAX);
        let result = self
            .sqs
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(handle)
            .visibility_timeout(seconds)
            .send()
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %aws_smithy_types::error::display::DisplayErrorContext(&e), "the back-off could not be set: the queue's visibility timeout applies");
        }
    }
}

pub struct WebhookDispatcher {
    store: Store,
    client: WebhookClient,
    sealing: SealingKey,
    queue: RetryQueue,
    /// Where the `webhook.disabled` events it records go (the mailer tells the admins).
    publisher: Publisher,
    retry_base: Duration,
}

/// What one event came to at one webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Delivered,
    /// Delivered, or refused for good, by an earlier attempt.
    Settled,
    /// Refused for good now.
    GivenUp,
    Retry,
}

impl WebhookDispatcher {
    pub fn new(
        store: Store,
        client: WebhookClient,
        sealing: SealingKey,
        queue: RetryQueue,
        publisher: Publisher,
        retry_base: Duration,
    ) -> Self {
        Self { store, client, sealing, queue, publisher, retry_base }
    }

    pub async fn handle_batch(&self, batch: SqsEvent) -> SqsBatchResponse {
        each_message(&batch, "webhooks", |record| self.handle_message(record)).await
    }

    async fn handle_message(&self, record: &SqsMessage) -> Result<Step, JobError> {
        let (event, scope) = auth::queued_event(record).map_err(|e| JobError::Permanent(e.to_string()))?;
        let Some(payload) = WebhookPayload::of(&event) else { return Ok(Step::AlreadyDone) };
        let body = payload.to_body();
        let mut webhooks = self.store.webhooks().all(&scope).await?;
        // First what the event ends: the webhooks of someone who is no longer trusted with
        // them are turned off before anything is delivered (this event included).
        if let Some(ends) = TrustEnded::by(&event.kind) {
            for stored in webhooks.iter_mut().filter(|w| w.webhook.enabled && ends.covers(w)) {
                self.disable(&scope, stored, ends.reason(), None).await?;
                stored.webhook.enabled = false;
            }
        }
        // A webhook made after the event does not receive it (a queue that was behind must
        // not send a new endpoint what happened before it existed).
        let wanted: Vec<StoredWebhook> = webhooks
            .into_iter()
            .filter(|w| w.webhook.wants(&event) && w.webhook.created_at <= event.occurred_at)
            .collect();
        let outcomes = join_all(wanted.iter().map(|w| self.deliver(&scope, &event, &body, w))).await;
        let retries = outcomes
            .iter()
            .filter(|o| !matches!(o, Ok(Outcome::Delivered | Outcome::Settled | Outcome::GivenUp)))
            .count();
        if retries == 0 {
            return Ok(if wanted.is_empty() { Step::AlreadyDone } else { Step::Finished });
        }
        let mut jitter = [0u8; 1];
        aws_lc_rs::rand::fill(&mut jitter).expect("the system RNG works");
        let delay = back_off(self.retry_base, receives(record), jitter[0]);
        self.queue.hide(record, delay).await;
        Err(JobError::Transient(format!(
            "{retries} of {} webhooks to be tried again in {} s",
            wanted.len(),
            delay.as_secs()
        )))
    }

    async fn deliver(
        &self,
        scope: &TenantScope,
        event: &Event,
        body: &[u8],
        stored: &StoredWebhook,
    ) -> Result<Outcome, JobError> {
        let webhooks = self.store.webhooks();
        let id = stored.webhook.id;
        if webhooks.delivery(scope, id, event.event_id).await?.is_some_and(|d| d.delivered || d.given_up) {
            return Ok(Outcome::Settled);
        }
        let now = Utc::now();
        let secrets: Vec<_> =
            stored.signing_secrets(now).iter().filter_map(|s| self.sealing.open(scope.org_id(), id, s)).collect();
        if secrets.is_empty() {
            // The sealing secret was changed or is misconfigured: tried again, and at last the
            // dead-letter queue (and its alarm), not given up on quietly.
            tracing::error!(webhook_id = %id, "no secret of the webhook opens under the sealing key: not delivered");
            let attempt = WebhookAttempt {
                attempted_at: now,
                status: None,
                latency_ms: 0,
                error: Some("the webhook's secret cannot be read; rotate it or make the webhook again".into()),
                response: String::new(),
            };
            webhooks.record_attempt(scope, id, event, &attempt, false, false, now).await?;
            return Ok(Outcome::Retry);
        }
        let message_id = event.event_id.to_string();
        let delivery = Delivery {
            url: &stored.webhook.url,
            message_id: &message_id,
            timestamp: now.timestamp(),
            body,
            secrets: &secrets,
        };
        let sent = self.client.send(&delivery).await;
        tracing::info!(webhook_id = %id, status = ?sent.status, latency_ms = sent.latency.as_millis() as u64, verdict = ?sent.verdict, "webhook attempt");
        let attempt = WebhookAttempt {
            attempted_at: now,
            status: sent.status,
            latency_ms: u64::try_from(sent.latency.as_millis()).unwrap_or(u64::MAX),
            error: sent.error,
            response: sent.response,
        };
        // Disabled before the attempt is recorded as given up: if disabling fails, the message
        // comes back and the 410 is met (and acted on) again.
        if sent.verdict == Verdict::Gone {
            self.disable(scope, stored, DisabledReason::EndpointGone, None).await?;
        }
        self.note_health(scope, stored, sent.verdict, now).await?;
        let delivered = sent.verdict == Verdict::Delivered;
        let given_up = matches!(sent.verdict, Verdict::Gone | Verdict::Failed);
        webhooks.record_attempt(scope, id, event, &attempt, delivered, given_up, now).await?;
        Ok(match sent.verdict {
            Verdict::Delivered => Outcome::Delivered,
            Verdict::Retry => Outcome::Retry,
            Verdict::Gone | Verdict::Failed => Outcome::GivenUp,
        })
    }
}

impl WebhookDispatcher {
    /// Keeps the webhook's `failing_since` (written only when it changes: a healthy webhook
    /// costs no write), and turns the webhook off once every attempt has failed for
    /// [`FAILING_LIMIT`].
    async fn note_health(
        &self,
        scope: &TenantScope,
        stored: &StoredWebhook,
        verdict: Verdict,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), JobError> {
        let webhooks = self.store.webhooks();
        let id = stored.webhook.id;
        match health_step(verdict, stored.webhook.failing_since, now) {
            HealthStep::Nothing => {}
            HealthStep::Clear(since) => webhooks.clear_failing(scope, id, since).await?,
            HealthStep::Mark => webhooks.mark_failing(scope, id, now).await?,
            HealthStep::Disable(since) => self.disable(scope, stored, DisabledReason::Failing, Some(since)).await?,
        }
        Ok(())
    }

    /// Turns the webhook off with its `webhook.disabled` event, which the mailer turns into
    /// a mail to an admin; once, however many attempts meet the reason. For failures, only
    /// while its failing mark is still `failing_since`, the one this attempt read.
    async fn disable(
        &self,
        scope: &TenantScope,
        stored: &StoredWebhook,
        reason: DisabledReason,
        failing_since: Option<chrono::DateTime<Utc>>,
    ) -> Result<(), JobError> {
        let id = stored.webhook.id;
        let event = Event::new(
            scope.org_id(),
            Utc::now(),
            &Provenance::system(),
            EventKind::WebhookDisabled { webhook_id: id, reason },
        );
        if self.store.webhooks().disable(scope, id, &event, failing_since).await? {
            tracing::warn!(webhook_id = %id, ?reason, "webhook disabled");
            notifications::dispatch(&self.store, &self.publisher, scope, &event).await;
        }
        Ok(())
    }
}

/// An event that ends someone's trust, and with it the webhooks they made: an admin removed
/// or demoted (a webhook is an admin's standing order, and must not keep sending the
/// organization's events to wherever a former admin pointed it), or an API key revoked (the
/// webhooks made with it). Turned off, not deleted: an admin may look and turn one on again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrustEnded {
    Removed(crate::domain::UserId),
    Demoted(crate::domain::UserId),
    KeyRevoked(crate::domain::ApiKeyId),
}

impl TrustEnded {
    fn by(kind: &EventKind) -> Option<Self> {
        match kind {
            EventKind::MemberRemoved { user_id } => Some(Self::Removed(*user_id)),
            EventKind::MemberRoleChanged { user_id, to: crate::domain::Role::Member, .. } => {
                Some(Self::Demoted(*user_id))
            }
            EventKind::ApiKeyRevoked { api_key_id } => Some(Self::KeyRevoked(*api_key_id)),
            _ => None,
        }
    }

    fn covers(&self, stored: &StoredWebhook) -> bool {
        match self {
            Self::Removed(user) | Self::Demoted(user) => stored.webhook.created_by == *user,
            Self::KeyRevoked(key) => stored.made_with_key == Some(*key),
        }
    }

    fn reason(&self) -> DisabledReason {
        match self {
            Self::Removed(_) => DisabledReason::CreatorRemoved,
            Self::Demoted(_) => DisabledReason::CreatorDemoted,
            Self::KeyRevoked(_) => DisabledReason::KeyRevoked,
        }
    }
}

/// What an attempt's verdict does to a webhook's failing mark, as it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HealthStep {
    Nothing,
    /// A success after failures: clear the mark read.
    Clear(chrono::DateTime<Utc>),
    /// The first failure after a success.
    Mark,
    /// Failing for [`FAILING_LIMIT`] since the mark read: turn it off.
    Disable(chrono::DateTime<Utc>),
}

fn health_step(
    verdict: Verdict,
    failing_since: Option<chrono::DateTime<Utc>>,
    now: chrono::DateTime<Utc>,
) -> HealthStep {
    match (verdict, failing_since) {
        (Verdict::Delivered, Some(since)) => HealthStep::Clear(since),
        // A 410 turns the webhook off on its own.
        (Verdict::Delivered | Verdict::Gone, _) => HealthStep::Nothing,
        (Verdict::Retry | Verdict::Failed, None) => HealthStep::Mark,
        (Verdict::Retry | Verdict::Failed, Some(since)) if now - since >= FAILING_LIMIT => HealthStep::Disable(since),
        (Verdict::Retry | Verdict::Failed, Some(_)) => HealthStep::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_back_off_doubles_to_a_cap_and_sums_to_about_a_day() {
        let base = Duration::from_secs(30);
        assert_eq!(back_off(base, 1, 0), Duration::from_secs(30));
        assert_eq!(back_off(base, 2, 0), Duration::from_secs(60));
        assert_eq!(back_off(base, 5, 0), Duration::from_secs(480));
        assert_eq!(back_off(base, 12, 0), MAX_BACK_OFF);
        assert_eq!(back_off(base, u32::MAX, 0), MAX_BACK_OFF);
        assert_eq!(back_off(base, 1, 255), Duration::from_secs(24), "a fifth off at most");
        // The template's receive limit (13) leaves 12 waits between the first and last attempt.
        let total: Duration = (1..=12).map(|n| back_off(base, n, 0)).sum();
        assert!((20 * 3600..=28 * 3600).contains(&total.as_secs()), "{total:?}");
    }

    #[test]
    fn three_days_of_failures_turn_a_webhook_off_and_a_success_clears_the_mark() {
        let now = Utc::now();
        let since = |hours| Some(now - chrono::Duration::hours(hours));
        assert_eq!(health_step(Verdict::Delivered, None, now), HealthStep::Nothing, "a healthy webhook costs no write");
        assert_eq!(health_step(Verdict::Delivered, since(5), now), HealthStep::Clear(now - chrono::Duration::hours(5)));
        assert_eq!(health_step(Verdict::Retry, None, now), HealthStep::Mark);
        assert_eq!(health_step(Verdict::Failed, None, now), HealthStep::Mark);
        assert_eq!(health_step(Verdict::Retry, since(71), now), HealthStep::Nothing, "under three days: still on");
        assert_eq!(
            health_step(Verdict::Failed, since(72), now),
            HealthStep::Disable(now - chrono::Duration::hours(72))
        );
        assert_eq!(health_step(Verdict::Gone, since(100), now), HealthStep::Nothing, "a 410 disables on its own");
    }
}
