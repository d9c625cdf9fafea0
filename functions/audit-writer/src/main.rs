//! SQS → the audit log: enters each event of the stream once, reporting partial batch failures.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    taskflow::app::init_tracing();
    let writer = taskflow::config::audit_writer(&taskflow::config::sdk_config().await?)?;
    taskflow::app::serve_queue(|batch| writer.handle_batch(batch)).await
}
