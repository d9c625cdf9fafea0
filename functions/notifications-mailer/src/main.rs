//! SQS → SES v2: sends the email of each task event, reporting partial batch failures.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    taskflow::app::init_tracing();
    let mailer = taskflow::config::mailer(&taskflow::config::sdk_config().await?).await?;
    taskflow::app::serve_queue(|batch| mailer.handle_batch(batch)).await
}
