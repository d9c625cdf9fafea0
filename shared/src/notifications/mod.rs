//! Notifications, from the outbox to the mailbox: the [`Publisher`] hands each recorded event
//! to the event topic ([`republish`] the ones left behind, on a schedule); the [`Mailer`]
//! consumes its queue of the mail events and sends each event's [`Mail`] with SES v2, at
//! most once per event.

mod mail;
mod mailer;
mod publisher;
mod webhook;

pub use mail::Mail;
pub use mailer::{Composed, Delivered, DeliveryError, Mailer, Postman, STALE_CLAIM_METRIC, UNCONFIRMED_METRIC};
pub use publisher::{
    DEFAULT_MIN_AGE, JobQueue, PublishError, Publisher, RepublishReport, TYPE_ATTRIBUTE, dispatch, dispatch_all,
    republish,
};
pub use webhook::{Attempt, DELIVERY_TIMEOUT, Delivery, KEPT_RESPONSE_BYTES, NameResolver, Verdict, WebhookClient};
