//! Scheduled (every minute): re-publishes outbox markers that were not cleared, so a
//! notification survives a queue outage at the moment its task changed.
use lambda_runtime::{LambdaEvent, service_fn};

/// One run's share; a backlog larger than this drains over the following minutes.
const BATCH: i32 = 100;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let store = taskflow::config::store(&sdk);
    let publisher = taskflow::config::publisher(&sdk)?;
    let min_age = taskflow::config::outbox_min_age()?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| async {
        let run = taskflow::notifications::republish(&store, &publisher, min_age, BATCH);
        let report = taskflow::metrics::measure(taskflow::metrics::Kind::Schedule, run).await?;
        Ok::<_, lambda_runtime::Error>(report)
    }))
    .await
}
