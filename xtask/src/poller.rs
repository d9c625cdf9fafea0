//! The local equivalent of Lambda's SQS event source mappings, plus the scheduled jobs'
//! schedules, read from the functions' manifests. It long-polls each consumer's queue,
//! invokes its function through `cargo lambda watch`'s Invoke API with an SQS event of at
//! most its batch size, deletes the messages the function did not report as failed, and
//! leaves the failed ones to come back after the visibility timeout, until the emulator's
//! redrive policy moves them to the dead-letter queue — as Lambda does.

use std::collections::HashSet;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName,
};

use crate::Error;
use crate::manifest::Workspace;

/// Batches of one queue handled at once. Lambda's mapping of a standard queue starts with
/// five pollers and scales out; `cargo lambda watch` runs at most four instances of a
/// function under test (tools/stack.sh), so more would only wait there. One at a time made
/// every test's mail (each test's organization starts with a verification mail) wait behind
/// every other test's, and a deletion's redelivered copies never ran beside each other.
const POLLERS_PER_QUEUE: usize = 4;

/// A queue and the function its event source mapping invokes.
#[derive(Clone)]
struct Consumer {
    queue_url: String,
    function: String,
    /// The mapping's batch size, as the template sets it.
    batch_size: i32,
    /// Whether the poller keeps a batch hidden while its invocation runs. A deployed queue's
    /// visibility timeout outlasts the function's (the template's are 3 to 6 times it); the
    /// local one is 2 s, so that a failed message comes back at once, and without this a
    /// batch still running (a delayed call, a loaded machine) came back to another poller
    /// and ran twice at the same time. Not for a consumer that times its own retries (a
    /// `local_visibility_timeout` in its manifest: the webhook dispatcher hides each failed
    /// message for its back-off, which this must never overwrite, and its queue's visibility
    /// outlasts an invocation already; bootstrap.rs).
    hidden_while_running: bool,
}

struct Settings {
    consumers: Vec<Consumer>,
    /// The scheduled jobs, each run every `republish_every` (its schedule is a minute).
    scheduled: Vec<String>,
    invoke_url: String,
    republish_every: Duration,
}

fn settings() -> Result<Settings, Error> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let republish_every = match std::env::var("TASKFLOW_REPUBLISH_EVERY_SECONDS") {
        Ok(s) => Duration::from_secs(s.parse()?),
        Err(_) => Duration::from_secs(60),
    };
    let workspace = Workspace::load_here()?;
    let mut consumers = Vec::new();
    for (function, queue) in workspace.consumers() {
        consumers.push(Consumer {
            queue_url: var(&format!("{}_URL", queue.local_variable))?,
            function: function.to_owned(),
            batch_size: i32::try_from(queue.batch_size)?,
            hidden_while_running: queue.local_visibility_timeout.is_none(),
        });
    }
    let scheduled =
        workspace.functions.iter().filter(|(_, m)| m.schedule.is_some()).map(|(name, _)| name.clone()).collect();
    Ok(Settings { consumers, scheduled, invoke_url: var("TASKFLOW_INVOKE_URL")?, republish_every })
}

pub async fn run() -> Result<(), Error> {
    let settings = settings()?;
    let sdk = taskflow::config::sdk_config().await?;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let http = reqwest::Client::new();
    let poller = |consumer: Consumer| {
        let (sqs, http, invoke_url) = (&sqs, &http, &settings.invoke_url);
        async move {
            loop {
                if let Err(e) = poll_once(sqs, http, invoke_url, &consumer).await {
                    eprintln!("poll of {} failed: {e}", consumer.function);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    };
    let consume = |consumer: Consumer| {
        eprintln!("polling {} for {} ({POLLERS_PER_QUEUE} at once)", consumer.queue_url, consumer.function);
        futures_util::future::join_all((0..POLLERS_PER_QUEUE).map(|_| poller(consumer.clone())))
    };
    let republish = async {
        let mut schedule = tokio::time::interval(settings.republish_every);
        loop {
            schedule.tick().await;
            let scheduled = serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
            for function in &settings.scheduled {
                if let Err(e) = invoke(&http, &settings.invoke_url, function, &scheduled).await {
                    eprintln!("{function} failed: {e}");
                }
            }
        }
    };
    // Each queue is polled on its own, as each event source mapping is: a long deletion
    // never holds up the mail.
    let consumers = futures_util::future::join_all(settings.consumers.iter().cloned().map(consume));
    tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = consumers => Ok(()),
        () = republish => Ok(()),
    }
}

async fn poll_once(
    sqs: &aws_sdk_sqs::Client,
    http: &reqwest::Client,
    invoke_url: &str,
    consumer: &Consumer,
) -> Result<(), Error> {
    let received = sqs
        .receive_message()
        .queue_url(&consumer.queue_url)
        .max_number_of_messages(consumer.batch_size)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await?;
    let messages = received.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(());
    }
    let event = sqs_event(&messages);
    let payload = serde_json::to_value(&event)?;
    let invocation = invoke(http, invoke_url, &consumer.function, &payload);
    let answer = if consumer.hidden_while_running {
        hidden_while(sqs, &consumer.queue_url, &messages, invocation).await
    } else {
        invocation.await
    };
    let done = match answer {
        Ok(body) => succeeded(&messages, &serde_json::from_value(body)?),
        // A crashed or unreachable function fails the whole batch, as in Lambda.
        Err(e) => {
            eprintln!("{} failed: {e}", consumer.function);
            Vec::new()
        }
    };
    if done.is_empty() {
        return Ok(());
    }
    let entries: Vec<DeleteMessageBatchRequestEntry> = done
        .iter()
        .enumerate()
        .map(|(i, receipt)| {
            DeleteMessageBatchRequestEntry::builder().id(i.to_string()).receipt_handle(*receipt).build().expect("set")
        })
        .collect();
    sqs.delete_message_batch().queue_url(&consumer.queue_url).set_entries(Some(entries)).send().await?;
    Ok(())
}

/// Runs `invocation`, renewing the messages' visibility timeout twice within each timeout
/// until it ends: what a deployed queue's longer timeout gives, while a message that fails
/// still comes back one local timeout after its invocation.
async fn hidden_while<T>(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    messages: &[Message],
    invocation: impl std::future::Future<Output = T>,
) -> T {
    let timeout = Duration::from_secs(u64::from(crate::bootstrap::VISIBILITY_TIMEOUT_SECONDS));
    let entries: Vec<ChangeMessageVisibilityBatchRequestEntry> = messages
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(i.to_string())
                .set_receipt_handle(m.receipt_handle.clone())
                .visibility_timeout(i32::try_from(timeout.as_secs()).unwrap_or(i32::MAX))
                .build()
                .ok()
        })
        .collect();
    let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + timeout / 2, timeout / 2);
    tokio::pin!(invocation);
    loop {
        tokio::select! {
            answer = &mut invocation => return answer,
            _ = renew.tick() => {
                let renewed = sqs
                    .change_message_visibility_batch()
                    .queue_url(queue_url)
                    .set_entries(Some(entries.clone()))
                    .send()
                    .await;
                if let Err(e) = renewed {
                    eprintln!("the visibility of a batch of {queue_url} was not renewed: {e}");
                }
            }
        }
    }
}

async fn invoke(
    http: &reqwest::Client,
    invoke_url: &str,
    function: &str,
    payload: &serde_json::Value,
) -> Result<serde_json::Value, Error> {
    let response =
        http.post(format!("{invoke_url}/2015-03-31/functions/{function}/invocations")).json(payload).send().await?;
    let status = response.status();
    let body = response.text().await?;
    if !status.is_success() {
        return Err(format!("{status}: {body}").into());
    }
    Ok(serde_json::from_str(&body)?)
}

/// The SQS event Lambda would build from these messages.
fn sqs_event(messages: &[Message]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id.clone();
            record.receipt_handle = m.receipt_handle.clone();
            record.body = m.body.clone();
            record.md5_of_body = m.md5_of_body.clone();
            record.event_source = Some("aws:sqs".into());
            record.attributes =
                m.attributes.iter().flatten().map(|(name, value)| (name.as_str().to_owned(), value.clone())).collect();
            record
        })
        .collect();
    event
}

/// Receipt handles of the messages the function did not report as failed.
fn succeeded<'a>(messages: &'a [Message], response: &SqsBatchResponse) -> Vec<&'a str> {
    let failed: HashSet<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    messages
        .iter()
        .filter(|m| !failed.contains(m.message_id.as_deref().unwrap_or_default()))
        .filter_map(|m| m.receipt_handle.as_deref())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::sqs::BatchItemFailure;

    fn message(id: &str) -> Message {
        Message::builder()
            .message_id(id)
            .receipt_handle(format!("receipt-{id}"))
            .body(format!("body of {id}"))
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .build()
    }

    #[test]
    fn the_event_carries_each_message_as_lambda_builds_it() {
        let event = sqs_event(&[message("a"), message("b")]);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["Records"][1]["messageId"], "b");
        assert_eq!(json["Records"][1]["receiptHandle"], "receipt-b");
        assert_eq!(json["Records"][0]["body"], "body of a");
        assert_eq!(json["Records"][0]["eventSource"], "aws:sqs");
        assert_eq!(json["Records"][0]["attributes"]["ApproximateReceiveCount"], "2");
    }

    #[test]
    fn only_messages_not_reported_as_failed_are_deleted() {
        let messages = [message("a"), message("b"), message("c")];
        let mut response = SqsBatchResponse::default();
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = "b".into();
        response.batch_item_failures.push(failure);
        assert_eq!(succeeded(&messages, &response), vec!["receipt-a", "receipt-c"]);
        assert_eq!(succeeded(&messages, &SqsBatchResponse::default()).len(), 3);
    }
}
