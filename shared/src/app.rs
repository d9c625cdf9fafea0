use std::future::Future;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

use crate::auth::TokenVerifier;
use crate::config::{self, ConfigError};
use crate::domain::RateBudget;
use crate::metrics::{self, Kind, Metric};
use crate::store::{RateLeases, Store};

/// What every authenticated function needs, built once per cold start: the store, the
/// verifier of access tokens (public key only), the organizations' request budget and this
/// instance's leases of it.
pub struct App {
    pub store: Store,
    pub tokens: TokenVerifier,
    pub budget: RateBudget,
    pub rate_leases: RateLeases,
}

impl App {
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            tokens: config::token_verifier()?,
            store: config::store(sdk),
            budget: config::rate_budget()?,
            rate_leases: RateLeases::new(),
        })
    }
}

/// Lambda's own subscriber: JSON lines when the function's log format is JSON (as the
/// template and the local stack set it), the level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.
pub fn init_tracing() {
    lambda_http::tracing::init_default_subscriber();
}

/// Runs a queue consumer on the Lambda runtime, each batch measured: its messages, those
/// reported failed, and whatever the handler counts (capacity, mails).
pub async fn serve_queue<H, F>(handler: H) -> Result<(), lambda_runtime::Error>
where
    H: Fn(SqsEvent) -> F,
    F: Future<Output = SqsBatchResponse>,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        let messages = event.payload.records.len();
        let answer = metrics::measure(Kind::Queue, async move {
            let answer = handler(event.payload).await;
            metrics::add(Metric::Messages, messages as f64);
            metrics::add(Metric::MessagesFailed, answer.batch_item_failures.len() as f64);
            answer
        })
        .await;
        Ok::<_, lambda_runtime::Error>(answer)
    }))
    .await
}
