//! SQS → SES v2: sends the email of each task event, reporting partial batch failures.
use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    taskflow::app::init_tracing();
    let mailer = taskflow::config::mailer(&taskflow::config::sdk_config().await?).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async {
        Ok::<_, lambda_runtime::Error>(mailer.handle_batch(event.payload).await)
    }))
    .await
}
