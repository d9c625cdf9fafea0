use aws_sdk_sqs::types::QueueAttributeName;
use shared::config;
use shared::store::schema::TABLE;

use crate::Error;

pub const QUEUE: &str = "taskflow-notifications";
pub const DEAD_LETTER_QUEUE: &str = "taskflow-notifications-dlq";

/// Local settings: a short visibility timeout so that a failed message comes back within
/// seconds, and three receives before the dead-letter queue (the template sets the
/// production values).
const VISIBILITY_TIMEOUT_SECONDS: u32 = 2;
const MAX_RECEIVE_COUNT: u32 = 3;

pub async fn run() -> Result<(), Error> {
    let sdk = config::sdk_config().await;
    let table = config::table_name();
    TABLE.create(&aws_sdk_dynamodb::Client::new(&sdk), &table).await?;
    eprintln!("table {table} ready");

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dlq_url = sqs.create_queue().queue_name(DEAD_LETTER_QUEUE).send().await?.queue_url.unwrap_or_default();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or("the dead-letter queue has no ARN")?;
    let redrive = serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT });
    let queue_url = sqs
        .create_queue()
        .queue_name(QUEUE)
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .attributes(QueueAttributeName::VisibilityTimeout, VISIBILITY_TIMEOUT_SECONDS.to_string())
        .send()
        .await?
        .queue_url
        .unwrap_or_default();
    eprintln!("queue {QUEUE} ready, dead letters to {DEAD_LETTER_QUEUE} after {MAX_RECEIVE_COUNT} receives");

    let sender = std::env::var(config::MAIL_FROM).map_err(|_| format!("{} is not set", config::MAIL_FROM))?;
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    match ses.create_email_identity().email_identity(&sender).send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|s| s.is_already_exists_exception()) => {}
        Err(e) => return Err(e.into()),
    }
    eprintln!("SES sender {sender} verified");

    println!("export TASKFLOW_QUEUE_URL='{queue_url}'");
    println!("export TASKFLOW_DLQ_URL='{dlq_url}'");
    Ok(())
}
