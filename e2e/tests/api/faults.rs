//! The fault-injection suite: the stack runs tools/faultproxy.py between the functions and
//! the emulator, and each test sets faults on its own organization's calls. Under every
//! fault class: no 500, every 503 carries `Retry-After`, nothing is half-written, and every
//! mail arrives exactly once after the faults stop.

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{Api, Fault, MAIL_DEADLINE, Tenant, eventually, invitation_token, mails_about, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use taskflow::store::MailDeliveryState;

const TRANSACT: &str = "DynamoDB_20120810.TransactWriteItems";
const UPDATE: &str = "DynamoDB_20120810.UpdateItem";
const PUBLISH: &str = "SNS.Publish";
const SEND_EMAIL: &str = "SESv2.SendEmail";

/// The SDK's attempts per call (config::retry_policy): a fault on this many calls outlasts them.
const SDK_ATTEMPTS: u32 = 3;

/// Longer than an attempt may take (config::timeouts, as the test stack sets it).
fn past_the_attempt_timeout() -> u64 {
    let timeout: u64 = std::env::var(taskflow::config::AWS_ATTEMPT_TIMEOUT_MS).map_or(2_000, |v| v.parse().unwrap());
    timeout + 1_000
}

/// A 503 as the API must answer it: problem+json, with a whole number of seconds to wait.
async fn assert_unavailable(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    let (_, problem) = e2e::read(response).await;
    assert_eq!(problem["status"], 503);
}

/// The items of the tenant's partition whose sort key starts with `prefix`.
async fn items(tenant: &Tenant, prefix: &str) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let sdk = taskflow::config::sdk_config().await.unwrap();
    aws_sdk_dynamodb::Client::new(&sdk)
        .query()
        .table_name(taskflow::config::table_name())
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("ORG#{}", tenant.org_id)))
        .expression_attribute_values(":prefix", AttributeValue::S(prefix.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
}

/// Waits until the tenant's mail pipeline is done: no outbox marker left, `expected`
/// delivery records besides the admin's verification mail (the oldest, sent before the test
/// began), every one final (sent, or handed to SES unconfirmed: neither mails again). Then
/// the mails that went out are all that ever will. Answers the states of the `expected`.
async fn drained(tenant: &Tenant, expected: usize) -> Vec<MailDeliveryState> {
    let expected = expected + 1;
    let store = taskflow::config::store(&taskflow::config::sdk_config().await.unwrap());
    let scope = e2e::scope_of(tenant);
    let done = eventually(MAIL_DEADLINE, || async {
        let states = store.mail_deliveries().states(&scope).await.unwrap();
        items(tenant, "OUTBOX#").await.is_empty()
            && states.len() == expected
            && states.iter().all(|s| matches!(s, MailDeliveryState::Sent | MailDeliveryState::Unconfirmed))
    })
    .await;
    let states = store.mail_deliveries().states(&scope).await.unwrap();
    assert!(done, "the mail pipeline did not finish: {states:?}, outbox {:?}", items(tenant, "OUTBOX#").await);
    // The verification mail was sent before the test began (`Api::tenant` redeemed it).
    let mut states = states;
    let verification =
        states.iter().rposition(|s| *s == MailDeliveryState::Sent).expect("the verification mail was sent");
    states.remove(verification);
    states
}

async fn create(api: &Api, tenant: &Tenant, title: &str) -> reqwest::Response {
    api.request(Method::POST, "/api/v1/tasks", Some(&tenant.admin.token))
        .json(&json!({"title": title}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_failing_table_answers_503_and_writes_nothing() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    for fault in ["throttle", "error"] {
        let title = format!("refused {fault} {}", unique());
        let refused = Fault::inject(TRANSACT, &tenant.org_id, fault, SDK_ATTEMPTS).await;
        assert_unavailable(create(&api, &tenant, &title).await).await;
        assert_eq!(refused.hits().await, u64::from(SDK_ATTEMPTS), "the SDK retried, then gave up");
    }
    assert!(items(&tenant, "TASK#").await.is_empty(), "no task without its marker, none at all");
    assert!(items(&tenant, "OUTBOX#").await.is_empty());

    // One refusal fewer than the SDK's attempts: its retries absorb it.
    let title = format!("absorbed {}", unique());
    let _fault = Fault::inject(TRANSACT, &tenant.org_id, "throttle", SDK_ATTEMPTS - 1).await;
    assert_eq!(create(&api, &tenant, &title).await.status(), StatusCode::CREATED);
    drained(&tenant, 1).await;
    assert_eq!(mails_about(&tenant.admin.email, &title).await, 1);
}

#[tokio::test]
async fn transaction_conflicts_are_retried_a_bounded_number_of_times_then_409() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let member = api.member(&tenant).await;
    let title = format!("contended {}", unique());
    let conflicts = Fault::inject(TRANSACT, &tenant.org_id, "conflict", 2).await;
    let created = create(&api, &tenant, &title).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(conflicts.hits().await, 2);
    let (_, task) = e2e::read(created).await;

    // A reassignment that conflicts twice is retried too, and mails its new assignee once.
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    let _twice = Fault::inject(TRANSACT, &tenant.org_id, "conflict", 2).await;
    let (status, body) =
        api.call(Method::PATCH, &path, Some(&tenant.admin.token), Some(json!({"assignee_id": member.user_id}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Conflicting for longer than the retries last: 409, and nothing written.
    let _always = Fault::inject(TRANSACT, &tenant.org_id, "conflict", 50).await;
    let (status, problem) =
        api.call(Method::POST, "/api/v1/tasks", Some(&tenant.admin.token), Some(json!({"title": "lost"}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    drop(_always);
    assert_eq!(items(&tenant, "TASK#").await.len(), 1);
    drained(&tenant, 2).await;
    assert_eq!(mails_about(&tenant.admin.email, &title).await, 1);
    assert_eq!(mails_about(&member.email, &title).await, 1);
}

#[tokio::test]
async fn a_queue_answer_lost_after_the_send_still_mails_once() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let title = format!("lost queue answer {}", unique());
    let lost = Fault::inject(PUBLISH, &tenant.org_id, "lose", 1).await;
    assert_eq!(create(&api, &tenant, &title).await.status(), StatusCode::CREATED);
    assert_eq!(lost.hits().await, 1);
    // The SDK sent it again: two messages of one event, one mail.
    drained(&tenant, 1).await;
    assert_eq!(mails_about(&tenant.admin.email, &title).await, 1);
}

#[tokio::test]
async fn a_refused_send_is_retried_and_mails_once() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let title = format!("ses refused {}", unique());
    // Two refusals: the queue's third receive sends (the local queue dead-letters after 3).
    let refused = Fault::inject(SEND_EMAIL, &title, "throttle", 1).await;
    let _also = Fault::inject(SEND_EMAIL, &title, "error", 1).await;
    assert_eq!(create(&api, &tenant, &title).await.status(), StatusCode::CREATED);
    assert_eq!(drained(&tenant, 1).await, [MailDeliveryState::Sent]);
    assert_eq!((refused.hits().await, _also.hits().await), (1, 1));
    assert_eq!(mails_about(&tenant.admin.email, &title).await, 1);
}

#[tokio::test]
async fn a_send_whose_answer_is_lost_or_late_is_not_sent_again() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let (lost_title, late_title) = (format!("ses lost {}", unique()), format!("ses late {}", unique()));
    let lost = Fault::inject(SEND_EMAIL, &lost_title, "lose", 1).await;
    // Longer than an attempt may take (config::timeouts): the mailer stops waiting, SES sends.
    let late = Fault::delay(SEND_EMAIL, &late_title, past_the_attempt_timeout(), 1).await;
    assert_eq!(create(&api, &tenant, &lost_title).await.status(), StatusCode::CREATED);
    assert_eq!(create(&api, &tenant, &late_title).await.status(), StatusCode::CREATED);
    assert_eq!(drained(&tenant, 2).await, [MailDeliveryState::Unconfirmed, MailDeliveryState::Unconfirmed]);
    assert_eq!((lost.hits().await, late.hits().await), (1, 1));
    assert_eq!(mails_about(&tenant.admin.email, &lost_title).await, 1, "SES took it once, and only once");
    let arrived = eventually(30, || async { mails_about(&tenant.admin.email, &late_title).await == 1 }).await;
    assert!(arrived, "the late send arrives");
    assert_eq!(mails_about(&tenant.admin.email, &late_title).await, 1);
}

#[tokio::test]
async fn registration_and_login_under_faults_answer_503_and_leave_nothing_half_written() {
    let api = Api::from_env();
    let slug = format!("org-{}", unique());
    let email = format!("admin-{slug}@example.com");
    let register = || {
        let body = json!({"email": email, "password": e2e::PASSWORD, "organization_name": "Faulty", "organization_slug": slug});
        api.request(Method::POST, "/api/v1/auth/register", None).json(&body).send()
    };
    let _refused = Fault::inject(TRANSACT, &slug, "error", SDK_ATTEMPTS).await;
    assert_unavailable(register().await.unwrap()).await;
    // Neither the slug nor the email was left taken by half a registration.
    let registered = register().await.unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);

    let _throttled = Fault::inject(UPDATE, &email, "throttle", SDK_ATTEMPTS).await;
    let login = api
        .request(Method::POST, "/api/v1/auth/login", None)
        .json(&json!({"email": email, "password": e2e::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_unavailable(login).await;
    assert_eq!(api.login(&email, e2e::PASSWORD).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_invitation_under_queue_and_mail_faults_mails_once() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let email = format!("faulty-invitee-{}@example.com", unique());
    let _lost = Fault::inject(PUBLISH, &tenant.org_id, "lose", 1).await;
    let _refused = Fault::inject(SEND_EMAIL, &email, "throttle", 1).await;
    let _conflict = Fault::inject(TRANSACT, &tenant.org_id, "conflict", 1).await;
    let invitation: Value = api.invite(&tenant, &email, "member").await;
    assert_eq!(invitation["email"], email);
    invitation_token(&email).await;
    drained(&tenant, 1).await;
    assert_eq!(mails_about(&email, "invited").await, 1);
}

#[tokio::test]
async fn a_write_slower_than_an_attempt_is_retried_and_applied_once() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let title = format!("slow table {}", unique());
    // Longer than an attempt may take: the SDK sends the transaction again (with the same
    // client request token) while the first is still on its way.
    let slow = Fault::delay(TRANSACT, &tenant.org_id, past_the_attempt_timeout(), 1).await;
    let created = create(&api, &tenant, &title).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(slow.hits().await, 1);
    let tasks = items(&tenant, "TASK#").await;
    assert_eq!(tasks.len(), 1, "one task, however many times the write was sent");
    drained(&tenant, 1).await;
    assert_eq!(mails_about(&tenant.admin.email, &title).await, 1);
}

/// A secret a function needs, while Secrets Manager throttles: the function starts anyway,
/// answers 503 with `Retry-After` (here: the real tasks-list handler, in-process, with a
/// secret of the test's own so no other test's functions are touched), and serves once the
/// secret can be read.
#[tokio::test]
async fn a_secret_unavailable_at_cold_start_answers_503_until_it_can_be_read() {
    use taskflow::config::{ConfigError, Deferred};

    let api = Api::from_env();
    let tenant = api.tenant().await;
    let sdk = taskflow::config::sdk_config().await.unwrap();
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let created = secrets
        .create_secret()
        .name(format!("taskflow/test-cursor-{}", unique()))
        .secret_string(taskflow::store::CursorKey::generate_secret())
        .send()
        .await
        .unwrap();
    let arn = created.arn.unwrap();
    let load = || async {
        let secret = taskflow::config::secret_at(&sdk, taskflow::config::CURSOR_KEY, &arn).await?;
        Ok::<_, ConfigError>(taskflow::store::CursorKey::new(secret.as_bytes()))
    };
    // The cold start's read and the first request's read both outlast the SDK's retries.
    let throttled = Fault::inject("secretsmanager.GetSecretValue", &arn, "throttle", 2 * SDK_ATTEMPTS).await;
    let cursors = Deferred::load(load).await.expect("the function starts without it");
    let app = taskflow::app::App::from_env(&sdk).unwrap();
    let list = || {
        let request = lambda_http::http::Request::builder()
            .uri("/api/v1/tasks")
            .header("Authorization", format!("Bearer {}", tenant.admin.token))
            .body(lambda_http::Body::Empty)
            .unwrap();
        async { taskflow::api::tasks::list(&app, cursors.get().await?, request).await }
    };
    let refused = list().await.unwrap_err();
    let response = refused.into_response();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
    assert_eq!(throttled.hits().await, u64::from(2 * SDK_ATTEMPTS));
    assert_eq!(list().await.unwrap().status(), 200, "the secret is read at the next request");
}

/// Every write path, with DynamoDB failing for longer than the SDK retries: 503 with
/// `Retry-After`, and the state is what it was.
#[tokio::test]
async fn every_write_path_answers_503_and_changes_nothing_while_the_table_fails() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let member = api.member(&tenant).await;
    let task = api.create_task(&tenant.admin.token, json!({"title": "before the outage"})).await;
    let invitation = api.invite(&tenant, &format!("pending-{}@example.com", unique()), "member").await;
    // Items compare as values (the order of a map attribute's keys does not matter); a Query
    // answers them in sort-key order.
    let before = |prefix: &'static str| {
        let tenant = tenant.clone();
        async move { items(&tenant, prefix).await }
    };
    let snapshot =
        [before("TASK#").await, before("USER#").await, before("INVITATION#").await, before("ORGANIZATION").await];
    let task_path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    let member_path = format!("/api/v1/users/{}", member.user_id);
    let writes = [
        (Method::POST, "/api/v1/tasks".to_owned(), Some(json!({"title": "during the outage"}))),
        (Method::PATCH, task_path.clone(), Some(json!({"title": "changed", "assignee_id": member.user_id}))),
        (Method::DELETE, task_path, None),
        (Method::PATCH, member_path.clone(), Some(json!({"role": "admin"}))),
        (Method::DELETE, member_path, None),
        (
            Method::POST,
            "/api/v1/invitations".to_owned(),
            Some(json!({"email": format!("new-{}@example.com", unique()), "role": "member"})),
        ),
        (Method::DELETE, format!("/api/v1/invitations/{}", invitation["id"].as_str().unwrap()), None),
        (Method::PATCH, "/api/v1/organizations/me".to_owned(), Some(json!({"name": "Renamed during the outage"}))),
    ];
    for (method, path, body) in writes {
        let _outage = Fault::inject(TRANSACT, &tenant.org_id, "error", SDK_ATTEMPTS).await;
        let mut request = api.request(method.clone(), &path, Some(&tenant.admin.token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{method} {path}");
        assert_unavailable(response).await;
    }
    let after =
        [before("TASK#").await, before("USER#").await, before("INVITATION#").await, before("ORGANIZATION").await];
    assert_eq!(after, snapshot, "nothing was written");
    assert!(items(&tenant, "OUTBOX#").await.is_empty(), "no notification of a write that did not happen");
}
