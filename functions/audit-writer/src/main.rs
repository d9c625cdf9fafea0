//! SQS → the audit log: enters each event of the stream once, reporting partial batch failures.
use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    taskflow::app::init_tracing();
    let writer = taskflow::config::audit_writer(&taskflow::config::sdk_config().await?)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async {
        Ok::<_, lambda_runtime::Error>(writer.handle_batch(event.payload).await)
    }))
    .await
}
