//! SQS (the export queue) → one organization's export per message: its document written to
//! the export bucket and recorded, reporting partial batch failures.
use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    taskflow::app::init_tracing();
    let exporter = taskflow::config::exporter(&taskflow::config::sdk_config().await?)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async {
        Ok::<_, lambda_runtime::Error>(exporter.handle_batch(event.payload).await)
    }))
    .await
}
