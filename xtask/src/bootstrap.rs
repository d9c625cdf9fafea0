use std::path::Path;

use aws_sdk_sqs::types::QueueAttributeName;
use taskflow::config;
use taskflow::domain::events::Consumer;
use taskflow::store::schema::TABLE;

use crate::Error;
use crate::manifest::Workspace;

pub const EVENT_TOPIC: &str = "taskflow-events";
pub const EXPORT_BUCKET: &str = "taskflow-exports";

/// Local settings: a short visibility timeout so that a failed message comes back within
/// seconds, and three receives before the dead-letter queue (the template sets the
/// production values). A consumer that times its retries itself keeps a longer one
/// (`local_visibility_timeout` in its manifest: the webhook dispatcher hides a failed message
/// for its back-off, so its visibility timeout only has to outlast an invocation; at 2 s a
/// batch still being delivered on a loaded machine came back to a second poller).
pub(crate) const VISIBILITY_TIMEOUT_SECONDS: u32 = 2;
const MAX_RECEIVE_COUNT: u32 = 3;

/// The secrets as the template names them; the functions read them from Secrets Manager
/// locally too, so the deployed code path is the one exercised.
const SECRETS: [(&str, &str, &str); 4] = [
    ("taskflow/jwt-signing-key", "jwt-private.pem", config::JWT_PRIVATE_KEY),
    ("taskflow/cursor-secret", "cursor-secret", config::CURSOR_KEY),
    ("taskflow/mail-token-secret", "mail-token-secret", config::MAIL_TOKEN_KEY),
    ("taskflow/webhook-sealing-secret", "webhook-sealing-secret", config::WEBHOOK_SEALING_KEY),
];

pub async fn run(key_dir: &Path) -> Result<(), Error> {
    let sdk = config::sdk_config().await?;
    let table = config::table_name();
    TABLE.create(&aws_sdk_dynamodb::Client::new(&sdk), &table).await?;
    eprintln!("table {table} ready");

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let sns = aws_sdk_sns::Client::new(&sdk);
    let topic_arn = sns.create_topic().name(EVENT_TOPIC).send().await?.topic_arn.ok_or("the topic has no ARN")?;
    // Each consumer's queue, subscribed to the topic for the types it wants, as the template
    // subscribes them; `TASKFLOW_<CONSUMER>_QUEUE_URL` and `..._DLQ_URL` for the poller and tests.
    // Which function consumes which queue is in the functions' manifests.
    let mut queue_exports = Vec::new();
    for (_, queue) in Workspace::load_here()?.consumers() {
        let name = &queue.local_name;
        let visibility = queue.local_visibility_timeout.unwrap_or(VISIBILITY_TIMEOUT_SECONDS);
        let (queue_url, dlq_url) = queue_with_dead_letters(&sqs, name, &format!("{name}-dlq"), visibility).await?;
        let consumer = Consumer::named(&queue.consumer).ok_or("a loaded workspace names known consumers")?;
        subscribe(&sns, &sqs, &topic_arn, consumer, &queue_url).await?;
        let variable = &queue.local_variable;
        queue_exports.push(format!("export {variable}_URL='{queue_url}'"));
        queue_exports.push(format!("export {}_DLQ_URL='{dlq_url}'", variable.trim_end_matches("_QUEUE")));
    }
    eprintln!("topic {EVENT_TOPIC} ready, with a queue for each of its {} consumers", Consumer::ALL.len());
    export_bucket(&aws_sdk_s3::Client::new(&sdk)).await?;

    let sender = std::env::var(config::MAIL_FROM).map_err(|_| format!("{} is not set", config::MAIL_FROM))?;
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    match ses.create_email_identity().email_identity(&sender).send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|s| s.is_already_exists_exception()) => {}
        Err(e) => return Err(e.into()),
    }
    eprintln!("SES sender {sender} verified");

    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    for (name, file, variable) in SECRETS {
        let value = std::fs::read_to_string(key_dir.join(file))?;
        let arn = match secrets.create_secret().name(name).secret_string(&value).send().await {
            Ok(out) => out.arn,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_exists_exception()) => {
                secrets.put_secret_value().secret_id(name).secret_string(&value).send().await?.arn
            }
            Err(e) => return Err(e.into()),
        };
        println!("export {variable}_SECRET_ARN='{}'", arn.unwrap_or_default());
    }
    eprintln!("secrets stored in Secrets Manager");

    println!("export {}='{topic_arn}'", config::EVENT_TOPIC_ARN);
    for line in queue_exports {
        println!("{line}");
    }
    println!("export TASKFLOW_EXPORT_BUCKET='{EXPORT_BUCKET}'");
    Ok(())
}

/// Subscribes `consumer`'s queue to the topic: raw delivery (the message body is the
/// event, as the consumers read it) and a filter on the `type` attribute, when it wants
/// only some types. Subscribing again with the same attributes changes nothing.
async fn subscribe(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    topic_arn: &str,
    consumer: Consumer,
    queue_url: &str,
) -> Result<(), Error> {
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or("the queue has no ARN")?;
    let mut subscription = sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .attributes("RawMessageDelivery", "true");
    if let Some(types) = consumer.event_types() {
        let policy = serde_json::json!({ taskflow::notifications::TYPE_ATTRIBUTE: types });
        subscription = subscription.attributes("FilterPolicy", policy.to_string());
    }
    subscription.send().await?;
    Ok(())
}

/// The export bucket, with the template's encryption and lifecycle rule (which the emulator
/// keeps but does not run).
async fn export_bucket(s3: &aws_sdk_s3::Client) -> Result<(), Error> {
    use aws_sdk_s3::types::{
        AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration,
        LifecycleRule, LifecycleRuleFilter, ServerSideEncryption, ServerSideEncryptionByDefault,
        ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    };
    match s3.create_bucket().bucket(EXPORT_BUCKET).send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()) => {}
        Err(e) => return Err(e.into()),
    }
    let by_default = ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256).build()?;
    let encryption = ServerSideEncryptionConfiguration::builder()
        .rules(ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(by_default).build())
        .build()?;
    s3.put_bucket_encryption().bucket(EXPORT_BUCKET).server_side_encryption_configuration(encryption).send().await?;
    let rule = LifecycleRule::builder()
        .id("expire-exports")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("exports/").build())
        .expiration(LifecycleExpiration::builder().days(1).build())
        .abort_incomplete_multipart_upload(AbortIncompleteMultipartUpload::builder().days_after_initiation(1).build())
        .build()?;
    let lifecycle = BucketLifecycleConfiguration::builder().rules(rule).build()?;
    s3.put_bucket_lifecycle_configuration().bucket(EXPORT_BUCKET).lifecycle_configuration(lifecycle).send().await?;
    eprintln!("bucket {EXPORT_BUCKET} ready");
    Ok(())
}

/// A queue and its dead-letter queue, with the local settings above: their URLs.
async fn queue_with_dead_letters(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    dead_letters: &str,
    visibility_timeout_seconds: u32,
) -> Result<(String, String), Error> {
    let dlq_url = sqs.create_queue().queue_name(dead_letters).send().await?.queue_url.unwrap_or_default();
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
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .attributes(QueueAttributeName::VisibilityTimeout, visibility_timeout_seconds.to_string())
        .send()
        .await?
        .queue_url
        .unwrap_or_default();
    eprintln!("queue {name} ready, dead letters to {dead_letters} after {MAX_RECEIVE_COUNT} receives");
    Ok((queue_url, dlq_url))
}
