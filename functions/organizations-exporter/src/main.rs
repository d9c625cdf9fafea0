//! SQS (the export queue) → one organization's export per message: its document written to
//! the export bucket and recorded, reporting partial batch failures.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    taskflow::app::init_tracing();
    let exporter = taskflow::config::exporter(&taskflow::config::sdk_config().await?)?;
    taskflow::app::serve_queue(|batch| exporter.handle_batch(batch)).await
}
