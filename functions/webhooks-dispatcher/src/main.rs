//! SQS → webhooks: POSTs each event to the organization's webhooks that want it, signed,
//! reporting partial batch failures (a message to try again waits out its back-off).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    taskflow::app::init_tracing();
    let dispatcher = taskflow::config::webhook_dispatcher(&taskflow::config::sdk_config().await?).await?;
    taskflow::app::serve_queue(|batch| dispatcher.handle_batch(batch)).await
}
