//! The consumer side: turns `TaskEvent`s from SQS into emails sent with SES v2.
//!
//! Each record of a batch is handled on its own and only the failed ones are reported
//! back (`ReportBatchItemFailures`), so one bad message never resends the good ones. A
//! delivery record per event makes sending at-most-once across redeliveries.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sesv2::error::SdkError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;
use chrono::Utc;

use super::Mail;
use crate::auth::{self, MailTokenKey, MailTokenPurpose};
use crate::domain::events::{Consumer, Event, EventId, EventKind, Provenance};
use crate::domain::{Organization, Role, User, Webhook};
use crate::metrics::{self, Metric};
use crate::store::{Claim, ClaimRule, MailDeliveryState, Spent, Store, StoreError, TenantScope};

/// Why a message was not delivered. Both kinds are reported as batch item failures: SQS
/// retries a transient one, and moves a permanent one to the dead-letter queue after the
/// queue's maximum receive count; the log line says which and why.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("permanent: {0}")]
    Permanent(String),
    #[error("transient: {0}")]
    Transient(String),
}

impl From<StoreError> for DeliveryError {
    fn from(e: StoreError) -> Self {
        match e {
            // Reading it again will not help: straight to the dead-letter queue's way.
            StoreError::Unreadable { .. } => DeliveryError::Permanent(e.to_string()),
            other => DeliveryError::Transient(other.to_string()),
        }
    }
}

pub struct Mailer {
    store: Store,
    postman: Postman,
    tokens: MailTokenKey,
    /// Task, invitation and verification mails per organization and UTC day, unless the
    /// organization's budget item names its own (see `store::mail_budget`).
    mails_per_day: u32,
}

/// Sends one mail per event, at most once: what the mailer and the deleter (whose last act
/// is the mail that says it is done) share.
pub struct Postman {
    store: Store,
    ses: aws_sdk_sesv2::Client,
    sender: String,
}

/// What one delivery did, for logs and tests.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivered {
    Sent,
    /// Handed to SES, whose answer was lost: not sent again (see [`Mailer::deliver`]).
    Unconfirmed,
    /// Another delivery of the same event already sent it, or is sending it.
    Duplicate(MailDeliveryState),
    /// The event needed no mail by the time it was delivered (the reason is logged).
    Skipped(&'static str),
}

/// What an event comes to when it is delivered.
pub enum Composed {
    Mail(Mail),
    /// Nothing to send, and why.
    Nothing(&'static str),
}

impl Mailer {
    pub fn new(
        store: Store,
        ses: aws_sdk_sesv2::Client,
        sender: impl Into<String>,
        tokens: MailTokenKey,
        mails_per_day: u32,
    ) -> Self {
        Self { postman: Postman::new(store.clone(), ses, sender), store, tokens, mails_per_day }
    }

    pub async fn handle_batch(&self, batch: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in &batch.records {
            let id = record.message_id.clone().unwrap_or_default();
            match self.deliver_message(record).await {
                Ok(outcome) => tracing::info!(message_id = %id, ?outcome, "notification handled"),
                Err(error) => {
                    let receives = record.attributes.get("ApproximateReceiveCount").map(String::as_str).unwrap_or("?");
                    tracing::error!(message_id = %id, receives, %error, "notification not delivered");
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id;
                    response.batch_item_failures.push(failure);
                }
            }
        }
        response
    }

    async fn deliver_message(&self, record: &SqsMessage) -> Result<Delivered, DeliveryError> {
        let (event, scope) = auth::queued_event(record).map_err(|e| DeliveryError::Permanent(e.to_string()))?;
        if !Consumer::Mailer.wants(&event.kind) {
            return Err(DeliveryError::Permanent(format!(
                "{} is not an event the mailer sends",
                event.kind.type_name()
            )));
        }
        // Read before claiming: an organization deleted (or being deleted) since the event
        // was queued gets no mail, and no delivery record written into its partition.
        let Some(organization) = self.store.organizations().get(&scope).await? else {
            return Ok(Delivered::Skipped("the organization is gone or being deleted"));
        };
        let compose = async {
            let composed = self.compose(&event, &scope, &organization).await?;
            if matches!(composed, Composed::Mail(_)) && spends_budget(&event.kind) {
                let spent = self.store.mail_budget().spend(&scope, Utc::now(), self.mails_per_day).await?;
                if let Spent::Over { per_day } = spent {
                    self.record_drop(&scope, &event, per_day).await?;
                    return Ok(Composed::Nothing("the organization's mail for the day is spent"));
                }
            }
            Ok(composed)
        };
        self.postman.deliver(&scope, event.event_id, ClaimRule::Always, compose).await
    }

    /// A mail over its organization's budget is dropped, not retried (it would be over it
    /// until tomorrow, and then late): counted, logged and entered in the audit log (its
    /// event goes out through the outbox, which the re-publisher hands to the topic).
    async fn record_drop(&self, scope: &TenantScope, event: &Event, per_day: u32) -> Result<(), DeliveryError> {
        // The same id and time on every retry: the audit writer enters it once.
        let mut dropped = Event::new(
            scope.org_id(),
            event.occurred_at,
            &Provenance::system(),
            EventKind::MailDropped { mail_of: event.event_id, mail_type: event.kind.type_name().into() },
        );
        dropped.event_id = event.event_id.derived(MAIL_DROPPED);
        self.store.outbox().put(scope, &dropped).await?;
        metrics::add(Metric::MailsDropped, 1.0);
        tracing::warn!(
            event_id = %event.event_id, event_type = event.kind.type_name(), per_day,
            metric = "MailsDropped", "the organization's mail for the day is spent: this mail is not sent"
        );
        Ok(())
    }
}

/// The purpose of a dropped mail's event id, derived from its event's (see [`EventId::derived`]).
const MAIL_DROPPED: u8 = 1;

/// Whether an event's mail spends its organization's daily budget: task, invitation and
/// verification mail, what members and registrants can cause at will. A password reset (an
/// account's way back in) and the notice of a webhook turned off do not, so no amount of
/// task mail can keep a user from their account.
fn spends_budget(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::TaskCreated { .. }
            | EventKind::TaskAssigned { .. }
            | EventKind::InvitationCreated { .. }
            | EventKind::EmailVerificationRequested { .. }
    )
}

impl Postman {
    pub fn new(store: Store, ses: aws_sdk_sesv2::Client, sender: impl Into<String>) -> Self {
        Self { store, ses, sender: sender.into() }
    }

    /// Sends the mail `compose` comes to for `event`, at most once. The claim is given back
    /// only when the mail was certainly not sent (SES refused it, or it could not be
    /// composed), so a retry may send; when SES may have accepted it (its answer was lost),
    /// the claim stays and the message is acknowledged: a possible loss, logged for an
    /// operator, rather than a second mail. `rule` says when the claim may be made.
    pub async fn deliver(
        &self,
        scope: &TenantScope,
        event: EventId,
        rule: ClaimRule,
        compose: impl std::future::Future<Output = Result<Composed, DeliveryError>>,
    ) -> Result<Delivered, DeliveryError> {
        let mail_deliveries = self.store.mail_deliveries();
        match mail_deliveries.claim(scope, event, Utc::now(), rule).await? {
            Claim::Claimed => {}
            Claim::Taken(state) => {
                if state == MailDeliveryState::Sending {
                    self.report_stale_claim(event, scope).await?;
                }
                return Ok(Delivered::Duplicate(state));
            }
            Claim::Refused => return Ok(Delivered::Skipped("the claim's condition does not hold")),
        }
        let mail = match compose.await {
            Ok(Composed::Mail(mail)) => mail,
            Ok(Composed::Nothing(reason)) => {
                mail_deliveries.mark_skipped(scope, event).await?;
                return Ok(Delivered::Skipped(reason));
            }
            Err(e) => {
                mail_deliveries.release(scope, event).await?;
                return Err(e);
            }
        };
        match self.send(&mail).await {
            Ok(()) => {
                mail_deliveries.mark_sent(scope, event).await?;
                Ok(Delivered::Sent)
            }
            Err(SendFailure::Refused(reason)) => {
                mail_deliveries.release(scope, event).await?;
                Err(DeliveryError::Transient(format!("SES refused the mail: {reason}")))
            }
            Err(SendFailure::Unconfirmed(reason)) => {
                tracing::error!(
                    event_id = %event, metric = UNCONFIRMED_METRIC, %reason,
                    "SES may have accepted this mail but its answer was lost: it is not sent again"
                );
                mail_deliveries.mark_unconfirmed(scope, event).await?;
                Ok(Delivered::Unconfirmed)
            }
        }
    }

    /// A claim still "sending" long after the mailer's own timeout belongs to an invocation
    /// that died between claiming and confirming: its mail may never have gone out.
    async fn report_stale_claim(&self, event: EventId, scope: &TenantScope) -> Result<(), DeliveryError> {
        let claimed_at = self.store.mail_deliveries().record(scope, event).await?.map(|(_, at)| at);
        if claimed_at.is_some_and(|at| Utc::now() - at > STALE_CLAIM) {
            tracing::error!(
                event_id = %event, metric = STALE_CLAIM_METRIC, ?claimed_at,
                "an earlier delivery claimed this event and never finished: its mail may not have been sent"
            );
        }
        Ok(())
    }

    /// One `SendEmail`, never retried by the SDK (see `config::ses_client`), with its failure
    /// told apart: an answer from SES that it did not take the mail, or no usable answer.
    /// Either failure counts as a mail failed (an unconfirmed one may have gone out).
    async fn send(&self, mail: &Mail) -> Result<(), SendFailure> {
        let text = |data: &str| Content::builder().data(data).charset("UTF-8").build().expect("data is set");
        let message = Message::builder()
            .subject(text(&mail.subject))
            .body(Body::builder().text(text(&mail.text)).html(text(&mail.html)).build())
            .build();
        let sent = self
            .ses
            .send_email()
            .from_email_address(&self.sender)
            .destination(Destination::builder().to_addresses(&mail.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map(drop)
            .map_err(|e| SendFailure::of(&e));
        metrics::add(if sent.is_ok() { Metric::MailsSent } else { Metric::MailsFailed }, 1.0);
        sent
    }
}

impl Mailer {
    async fn compose(
        &self,
        event: &Event,
        scope: &TenantScope,
        organization: &Organization,
    ) -> Result<Composed, DeliveryError> {
        let gone = |what: &str| DeliveryError::Permanent(format!("the {what} no longer exists"));
        match &event.kind {
            EventKind::TaskCreated { task_id, recipient_id } | EventKind::TaskAssigned { task_id, recipient_id } => {
                let task = self.store.tasks().get(scope, *task_id).await?.ok_or_else(|| gone("task"))?;
                let recipient = self.store.users().get(scope, *recipient_id).await?.ok_or_else(|| gone("recipient"))?;
                if !recipient.email_verified {
                    return Ok(Composed::Nothing("task mail goes to verified addresses only"));
                }
                let assigned = matches!(event.kind, EventKind::TaskAssigned { .. });
                Ok(Composed::Mail(Mail::task(assigned, &task, organization, &recipient)))
            }
            EventKind::InvitationCreated { invitation_id, nonce } => {
                // A revoked or accepted invitation is gone: its mail must not go out late.
                let invitation =
                    self.store.invitations().get(scope, *invitation_id).await?.ok_or_else(|| gone("invitation"))?;
                // An address with an account anywhere cannot accept: it is told so, and the
                // inviting organization learned nothing (see README, "Account lifetime").
                if self.store.credentials().find(&invitation.email).await?.is_some() {
                    return Ok(Composed::Mail(Mail::invitation_to_an_account(&invitation, organization)));
                }
                let token = self.tokens.token(MailTokenPurpose::Invitation, &invitation.id, nonce);
                Ok(Composed::Mail(Mail::invitation(&invitation, &token, organization)))
            }
            EventKind::EmailVerificationRequested { user_id, nonce } => {
                let user = self.store.users().get(scope, *user_id).await?.ok_or_else(|| gone("user"))?;
                if user.email_verified {
                    return Ok(Composed::Nothing("the address was verified meanwhile"));
                }
                let token = self.tokens.token(MailTokenPurpose::EmailVerification, user_id, nonce);
                let expires_at = event.occurred_at + crate::store::VERIFICATION_LIFETIME;
                Ok(Composed::Mail(Mail::verification(&user, &token, expires_at)))
            }
            EventKind::PasswordResetRequested { user_id, nonce } => {
                let user = self.store.users().get(scope, *user_id).await?.ok_or_else(|| gone("user"))?;
                let token = self.tokens.token(MailTokenPurpose::PasswordReset, user_id, nonce);
                // A newer request, or a reset already done, makes this token worthless:
                // a stale mail must not go out late.
                let credentials = self.store.credentials().find(&user.email).await?;
                if !credentials.is_some_and(|c| c.user_id == user.id && c.has_reset(&token.hash(), Utc::now())) {
                    return Ok(Composed::Nothing("the reset token was superseded, used or expired"));
                }
                let expires_at = event.occurred_at + crate::store::RESET_LIFETIME;
                Ok(Composed::Mail(Mail::password_reset(&user, &token, organization, expires_at)))
            }
            EventKind::WebhookDisabled { webhook_id, reason } => {
                let Some(stored) = self.store.webhooks().get(scope, *webhook_id).await? else {
                    return Ok(Composed::Nothing("the webhook was deleted meanwhile"));
                };
                if stored.webhook.enabled {
                    return Ok(Composed::Nothing("the webhook was turned on again meanwhile"));
                }
                let Some(admin) = self.admin_to_tell(scope, &stored.webhook).await? else {
                    return Ok(Composed::Nothing("the organization has no admin with a verified address"));
                };
                Ok(Composed::Mail(Mail::webhook_disabled(&stored.webhook, *reason, organization, &admin)))
            }
            other => Err(DeliveryError::Permanent(format!("{} is not an event the mailer sends", other.type_name()))),
        }
    }
}

impl Mailer {
    /// Who hears of a webhook's trouble: the admin who made it, while they are one with a
    /// verified address; else the first such admin of the organization.
    async fn admin_to_tell(&self, scope: &TenantScope, webhook: &Webhook) -> Result<Option<User>, DeliveryError> {
        let can_be_told = |u: &User| u.role == Role::Admin && u.email_verified;
        if let Some(creator) = self.store.users().get(scope, webhook.created_by).await?
            && can_be_told(&creator)
        {
            return Ok(Some(creator));
        }
        let mut after = None;
        loop {
            let page = self.store.users().list_page(scope, MAX_PAGE, after).await?;
            if let Some(admin) = page.items.into_iter().find(can_be_told) {
                return Ok(Some(admin));
            }
            match page.last {
                Some(last) => after = Some(last),
                None => return Ok(None),
            }
        }
    }
}

/// The page size the mailer reads users in.
const MAX_PAGE: usize = 100;

/// Why a `SendEmail` did not confirm.
#[derive(Debug)]
enum SendFailure {
    /// SES answered that it did not take the mail (throttling, a 4xx, a 5xx: an answer is
    /// taken at its word), or the request never left (no connection): a retry may send.
    Refused(String),
    /// The request went out and no usable answer came back (a timeout, a connection lost
    /// after sending, an unreadable answer): SES may have accepted it.
    Unconfirmed(String),
}

impl SendFailure {
    fn of<E: std::error::Error + 'static>(err: &SdkError<E, HttpResponse>) -> Self {
        let reason = DisplayErrorContext(err).to_string();
        match err {
            SdkError::ServiceError(_) | SdkError::ConstructionFailure(_) => SendFailure::Refused(reason),
            // hyper reports a connection that was never made as a `Connect` error; anything
            // else on the wire may have happened after the request was sent.
            SdkError::DispatchFailure(_) if reason.contains("(Connect)") || reason.contains("Connection refused") => {
                SendFailure::Refused(reason)
            }
            _ => SendFailure::Unconfirmed(reason),
        }
    }
}

/// The `metric` field of the error line an unconfirmed send logs (a metric filter counts it).
pub const UNCONFIRMED_METRIC: &str = "MailUnconfirmed";
/// The `metric` field of the error line a claim abandoned by a crashed invocation logs.
pub const STALE_CLAIM_METRIC: &str = "MailClaimAbandoned";
/// Twice the mailer's 30 s timeout: a claim older than this has no invocation behind it.
const STALE_CLAIM: chrono::Duration = chrono::Duration::seconds(60);
