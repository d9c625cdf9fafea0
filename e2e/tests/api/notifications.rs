//! Notifications end to end: task events on SQS, the mailer on SES v2 (moto), the local
//! event source mapping (xtask's poller) and the re-publisher of the outbox.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use chrono::Utc;
use e2e::{Api, MAIL_DEADLINE, Tenant, eventually, mails_to, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use taskflow::domain::events::{Actor, Event, EventId, EventKind, SCHEMA_VERSION};
use taskflow::domain::{OrgId, TaskId, UserId};
use taskflow::notifications::Mailer;
use taskflow::store::MailDeliveryState;

/// A loopback port nothing listens on: a stand-in for an unreachable AWS endpoint.
fn closed_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

async fn sdk() -> aws_config::SdkConfig {
    taskflow::config::sdk_config().await.expect("SDK configuration")
}

fn assigned_event(tenant: &Tenant, task: &Value, recipient: &str) -> Event {
    Event {
        schema_version: SCHEMA_VERSION,
        event_id: EventId::generate(),
        organization_id: OrgId::parse(&tenant.org_id).unwrap(),
        occurred_at: Utc::now(),
        actor: Some(Actor::System),
        origin: Default::default(),
        kind: EventKind::TaskAssigned {
            task_id: TaskId::parse(task["id"].as_str().unwrap()).unwrap(),
            recipient_id: UserId::parse(recipient).unwrap(),
        },
    }
}

fn batch(bodies: &[String]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = bodies
        .iter()
        .map(|body| {
            let mut record = SqsMessage::default();
            record.message_id = Some(unique());
            record.body = Some(body.clone());
            record
        })
        .collect();
    event
}

/// The subjects of the mails, but for the verification mail every registered admin gets.
fn subjects(mails: &[Value]) -> Vec<String> {
    mails
        .iter()
        .map(|m| m["subject"].as_str().unwrap_or_default().to_owned())
        .filter(|s| !s.contains(e2e::VERIFICATION_SUBJECT))
        .collect()
}

#[tokio::test]
async fn creating_and_assigning_tasks_mails_the_assignee_exactly_once() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let member = api.member(&tenant).await;
    let title = format!("Review {}", unique());
    let task = api.create_task(&tenant.admin.token, json!({"title": title, "assignee_id": member.user_id})).await;

    let org = format!("Org {}", tenant.slug);
    let expected = format!("[{org}] New task: {title}");
    assert!(
        eventually(MAIL_DEADLINE, || async { !mails_to(&member.email).await.is_empty() }).await,
        "no mail to the assignee"
    );
    let mails = mails_to(&member.email).await;
    assert_eq!(subjects(&mails), vec![expected]);
    assert!(mails[0]["body"].as_str().unwrap().contains(&title));
    assert!(mails[0]["source"].as_str().unwrap().starts_with("notifications@"));

    // Re-assigning to the admin mails the admin. (The mailer reads the task when it sends,
    // so the mail is awaited before the next change.)
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    let (status, _) = api
        .call(Method::PATCH, &path, Some(&tenant.admin.token), Some(json!({"assignee_id": tenant.admin.user_id})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let admin_subject = format!("[{org}] Task assigned to you: {title}");
    assert!(
        eventually(MAIL_DEADLINE, || async { subjects(&mails_to(&tenant.admin.email).await).contains(&admin_subject) })
            .await,
        "no assignment mail"
    );
    // Changing anything but the assignee mails nobody.
    let (status, _) =
        api.call(Method::PATCH, &path, Some(&tenant.admin.token), Some(json!({"title": "renamed"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(subjects(&mails_to(&tenant.admin.email).await), vec![admin_subject]);
    assert_eq!(mails_to(&member.email).await.len(), 1, "the first assignee got nothing more");
}

#[tokio::test]
async fn an_unassigned_task_mails_its_creator() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let title = format!("Solo {}", unique());
    api.create_task(&tenant.admin.token, json!({"title": title})).await;
    let expected = format!("[Org {}] New task: {title}", tenant.slug);
    assert!(
        eventually(MAIL_DEADLINE, || async {
            subjects(&mails_to(&tenant.admin.email).await) == vec![expected.clone()]
        })
        .await
    );
}

#[tokio::test]
async fn the_same_event_delivered_twice_sends_one_email() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let member = api.member(&tenant).await;
    let task = api.create_task(&tenant.admin.token, json!({"title": "dup"})).await;
    let event = assigned_event(&tenant, &task, &member.user_id);
    let mailer = taskflow::config::mailer(&sdk().await).await.unwrap();

    // Twice in one batch, then once more: SQS's at-least-once delivery in all its forms.
    let response = mailer.handle_batch(batch(&[event.to_json(), event.to_json()])).await;
    assert!(response.batch_item_failures.is_empty(), "a duplicate is a success, not a failure");
    let response = mailer.handle_batch(batch(&[event.to_json()])).await;
    assert!(response.batch_item_failures.is_empty());

    let assigned: Vec<String> =
        subjects(&mails_to(&member.email).await).into_iter().filter(|s| s.contains("assigned")).collect();
    assert_eq!(assigned.len(), 1, "{assigned:?}");
    let store = taskflow::config::store(&sdk().await);
    assert_eq!(
        store.mail_deliveries().state(&e2e::scope_of(&tenant), event.event_id).await.unwrap(),
        Some(MailDeliveryState::Sent)
    );
}

#[tokio::test]
async fn ses_failures_are_retried_and_nothing_is_marked_sent() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let task = api.create_task(&tenant.admin.token, json!({"title": "flaky"})).await;
    let event = assigned_event(&tenant, &task, &tenant.admin.user_id);
    let sdk = sdk().await;
    let store = taskflow::config::store(&sdk);
    let sender = std::env::var(taskflow::config::MAIL_FROM).unwrap();

    let unreachable_ses = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(&sdk).endpoint_url(closed_endpoint()).build(),
    );
    let unverified_sender = aws_sdk_sesv2::Client::new(&sdk);
    for mailer in [
        Mailer::new(
            store.clone(),
            unreachable_ses,
            sender.clone(),
            taskflow::config::mail_token_key(&sdk).await.unwrap(),
            1000,
        ),
        Mailer::new(
            store.clone(),
            unverified_sender,
            format!("nobody-{}@unverified.example", unique()),
            taskflow::config::mail_token_key(&sdk).await.unwrap(),
            1000,
        ),
    ] {
        let response = mailer.handle_batch(batch(&[event.to_json()])).await;
        assert_eq!(response.batch_item_failures.len(), 1, "the message must come back for a retry");
        let state = store.mail_deliveries().state(&e2e::scope_of(&tenant), event.event_id).await.unwrap();
        assert_eq!(state, None, "not marked, so a retry may send");
    }

    let healthy = taskflow::config::mailer(&sdk).await.unwrap();
    assert!(healthy.handle_batch(batch(&[event.to_json()])).await.batch_item_failures.is_empty());
    let assigned =
        subjects(&mails_to(&tenant.admin.email).await).into_iter().filter(|s| s.contains("assigned")).count();
    assert_eq!(assigned, 1);
}

#[tokio::test]
async fn a_poison_message_ends_in_the_dead_letter_queue_and_its_batch_mates_are_sent() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let member = api.member(&tenant).await;
    let task = api.create_task(&tenant.admin.token, json!({"title": "batch mate"})).await;
    let good = assigned_event(&tenant, &task, &member.user_id);
    let poison = format!("poison-{}", unique());
    let mut future_version = serde_json::to_value(assigned_event(&tenant, &task, &member.user_id)).unwrap();
    future_version["schema_version"] = json!(99);

    let sqs = aws_sdk_sqs::Client::new(&sdk().await);
    let queue = std::env::var("TASKFLOW_QUEUE_URL").expect("the stack exports the queue URL");
    let dead_letters = std::env::var("TASKFLOW_DLQ_URL").expect("the stack exports the DLQ URL");
    let entries =
        [poison.clone(), good.to_json(), future_version.to_string()].into_iter().enumerate().map(|(i, body)| {
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body)
                .build()
                .unwrap()
        });
    sqs.send_message_batch().queue_url(&queue).set_entries(Some(entries.collect())).send().await.unwrap();

    let assigned_to_member =
        || async { subjects(&mails_to(&member.email).await).iter().any(|s| s.contains("Task assigned to you")) };
    assert!(eventually(MAIL_DEADLINE, assigned_to_member).await, "the good message of the batch was not sent");

    // Three receives 2 s apart, then the redrive policy moves them.
    let mut dead: Vec<String> = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let dead_lettered =
        |dead: &Vec<String>| dead.contains(&poison) && dead.iter().any(|b| b.contains("\"schema_version\":99"));
    while !dead_lettered(&dead) && std::time::Instant::now() < deadline {
        let out = sqs
            .receive_message()
            .queue_url(&dead_letters)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for message in out.messages.unwrap_or_default() {
            dead.push(message.body.unwrap_or_default());
            sqs.delete_message()
                .queue_url(&dead_letters)
                .receipt_handle(message.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    let found = dead_lettered(&dead);
    assert!(found, "dead letters: {dead:?}");
    assert!(!dead.iter().any(|b| *b == good.to_json()), "the good message must not be dead-lettered");
}

#[tokio::test]
async fn a_queue_outage_during_create_still_answers_201_and_the_mail_arrives_later() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let sdk = sdk().await;
    let app = taskflow::app::App::from_env(&sdk).unwrap();
    let unreachable_sns = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&sdk).endpoint_url(closed_endpoint()).build(),
    );
    let publisher = taskflow::notifications::Publisher::new(
        unreachable_sns,
        std::env::var(taskflow::config::EVENT_TOPIC_ARN).expect("the stack exports the topic"),
    );

    let title = format!("Outage {}", unique());
    let request = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/api/v1/tasks")
        .header("Authorization", format!("Bearer {}", tenant.admin.token))
        .header("Content-Type", "application/json")
        .body(lambda_http::Body::Text(json!({"title": title}).to_string()))
        .unwrap();
    let response = taskflow::api::tasks::create(&app, &publisher, request).await.expect("answered");
    assert_eq!(response.status(), 201, "a queue outage must not fail the create");

    // Nothing could be queued, so the task's marker waits in the outbox...
    let task_id = match response.body() {
        lambda_http::Body::Text(t) => serde_json::from_str::<Value>(t).unwrap()["id"].as_str().unwrap().to_owned(),
        other => panic!("{other:?}"),
    };
    let pending = app.store.outbox().pending_before(Utc::now() + chrono::Duration::hours(1), 1000).await.unwrap();
    assert!(
        pending
            .iter()
            .any(|e| matches!(&e.kind, EventKind::TaskCreated { task_id: t, .. } if t.to_string() == task_id)),
        "the outbox holds the notification"
    );

    // ...until the re-publisher (scheduled by the local poller) sends it with a working queue.
    let expected = format!("[Org {}] New task: {title}", tenant.slug);
    assert!(
        eventually(MAIL_DEADLINE, || async { subjects(&mails_to(&tenant.admin.email).await).contains(&expected) })
            .await,
        "the held-back notification never arrived"
    );
    assert_eq!(subjects(&mails_to(&tenant.admin.email).await), vec![expected]);
    let cleared = eventually(30, || async {
        let pending = app.store.outbox().pending_before(Utc::now() + chrono::Duration::hours(1), 1000).await.unwrap();
        !pending
            .iter()
            .any(|e| matches!(&e.kind, EventKind::TaskCreated { task_id: t, .. } if t.to_string() == task_id))
    })
    .await;
    assert!(cleared, "the outbox marker is cleared once the message is queued");
}
