//! SQS (the deletion queue) → one batch of an organization's deletion per message, reporting
//! partial batch failures; the last batch mails the admin with SES v2.
use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    taskflow::app::init_tracing();
    let deleter = taskflow::config::deleter(&taskflow::config::sdk_config().await?)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async {
        Ok::<_, lambda_runtime::Error>(deleter.handle_batch(event.payload).await)
    }))
    .await
}
