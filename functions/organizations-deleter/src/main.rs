//! SQS (the deletion queue) → one batch of an organization's deletion per message, reporting
//! partial batch failures; the last batch mails the admin with SES v2.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    taskflow::app::init_tracing();
    let deleter = taskflow::config::deleter(&taskflow::config::sdk_config().await?)?;
    taskflow::app::serve_queue(|batch| deleter.handle_batch(batch)).await
}
