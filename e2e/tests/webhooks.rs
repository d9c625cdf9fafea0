//! Webhooks through the stack, to receivers of these tests on loopback: what arrives is
//! checked with the Standard Webhooks reference library; tried as someone who wants the
//! secret back, another organization's events, a way off the machine, a webhook that goes on
//! after it was deleted or answered 410, or a retry that changes its id.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::receiver::{Answer, Received, answer, receiver, scripted_receiver, verified_by_reference_library_raw};
use e2e::{Api, MAIL_DEADLINE, Tenant, dynamodb, eventually, table};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

/// A webhook `tenant`'s admin makes; answers it as created, with its `secret`.
async fn make_webhook(api: &Api, tenant: &Tenant, body: Value) -> Value {
    let (status, webhook) = api.call(Method::POST, "/api/v1/webhooks", Some(&tenant.admin.token), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{webhook}");
    webhook
}

/// The next request `requests` gets, within the deadline a mail gets (the same queue path).
async fn next(requests: &mut UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(MAIL_DEADLINE), requests.recv())
        .await
        .expect("a delivery arrives in time")
        .expect("the receiver runs")
}

/// The dispatcher's record of `event_id`'s delivery to `webhook`, read from the table.
async fn delivery_record(
    tenant: &Tenant,
    webhook: &Value,
    event_id: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    let sk = format!("WEBHOOKMSG#{}#{event_id}", webhook["id"].as_str().unwrap());
    dynamodb()
        .await
        .get_item()
        .table_name(table())
        .key("pk", AttributeValue::S(format!("ORG#{}", tenant.org_id)))
        .key("sk", AttributeValue::S(sk))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

fn secret_of(webhook: &Value) -> String {
    webhook["secret"].as_str().unwrap_or_else(|| panic!("a secret in {webhook}")).to_owned()
}

#[tokio::test]
async fn a_webhook_gets_its_types_signed_and_its_secret_is_shown_once_and_stored_sealed() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let (addr, mut requests, _) = receiver(answer("204 No Content", "", "")).await;
    let url = format!("http://{addr}/hooks/taskflow");
    let (status, webhook) = api
        .call(
            Method::POST,
            "/api/v1/webhooks",
            Some(&tenant.admin.token),
            Some(json!({"url": url, "event_types": ["task.created"], "description": " CI "})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{webhook}");
    let secret = secret_of(&webhook);
    assert!(secret.starts_with("whsec_") && secret.len() >= "whsec_".len() + 32, "{secret}");
    assert_eq!((webhook["url"].as_str(), webhook["description"].as_str()), (Some(url.as_str()), Some("CI")));
    assert_eq!((webhook["enabled"].clone(), webhook["event_types"].clone()), (json!(true), json!(["task.created"])));

    // Another organization's webhook, which must never see this one's events.
    let other = api.tenant().await;
    let (other_addr, _, other_connections) = receiver(answer("204 No Content", "", "")).await;
    make_webhook(&api, &other, json!({"url": format!("http://{other_addr}/"), "event_types": ["task.created"]})).await;

    let task = api.create_task(&tenant.admin.token, json!({"title": "hooked"})).await;
    let got = next(&mut requests).await;
    assert!(got.head.starts_with("POST /hooks/taskflow HTTP/1.1\r\n"), "{}", got.head);
    let body = got.json();
    assert_eq!((body["type"].as_str(), body["data"]["task_id"].clone()), (Some("task.created"), task["id"].clone()));
    assert_eq!(body["data"]["organization_id"], tenant.org_id.as_str());
    assert_eq!(body["data"]["actor"], json!({"type": "user", "id": tenant.admin.user_id}));
    assert_eq!(got.header("webhook-id"), body["data"]["event_id"].as_str(), "the id is the event's");
    let stranger = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned();
    assert_eq!(verified_by_reference_library_raw(&[secret.clone(), stranger], &got, &got.body), [true, false]);

    // A change of a type it did not ask for is not sent; the next task is.
    let (status, _) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/tasks/{}", task["id"].as_str().unwrap()),
            Some(&tenant.admin.token),
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let second = api.create_task(&tenant.admin.token, json!({"title": "hooked again"})).await;
    let got = next(&mut requests).await;
    assert_eq!(got.json()["data"]["task_id"], second["id"], "task.updated was not sent; the next task.created was");
    assert_eq!(other_connections.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing reached the other tenant");

    // Never shown again: not in the list, not in clear in the table.
    let (status, list) = api.call(Method::GET, "/api/v1/webhooks", Some(&tenant.admin.token), None).await;
    assert_eq!((status, list["items"][0]["id"].clone()), (StatusCode::OK, webhook["id"].clone()));
    assert!(list["items"][0].get("secret").is_none() && !list.to_string().contains(&secret["whsec_".len()..]));
    let item = dynamodb()
        .await
        .get_item()
        .table_name(table())
        .key("pk", AttributeValue::S(format!("ORG#{}", tenant.org_id)))
        .key("sk", AttributeValue::S(format!("WEBHOOK#{}", webhook["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap()
        .item
        .expect("the webhook's item");
    let stored = format!("{item:?}");
    assert!(!stored.contains(&secret["whsec_".len()..]), "the secret is not in clear");
    let sealed = item["secrets"].as_l().unwrap()[0].as_s().unwrap().clone();
    let parts: Vec<&str> = sealed.split('.').collect();
    assert_eq!((parts.len(), parts[0]), (3, "v1"), "sealed as v1.<nonce>.<ciphertext and tag>: {sealed}");
    assert_eq!(parts[2].len(), 64, "32 bytes and a 16-byte tag, base64url");
}

#[tokio::test]
async fn a_failed_delivery_is_tried_again_with_the_same_id_and_recorded() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let (addr, mut requests, _) = scripted_receiver(
        "127.0.0.1:0",
        vec![answer("503 Service Unavailable", "", "busy"), answer("200 OK", "", "thanks")],
    )
    .await;
    let webhook =
        make_webhook(&api, &tenant, json!({"url": format!("http://{addr}/"), "event_types": ["task.created"]})).await;
    let secret = secret_of(&webhook);
    api.create_task(&tenant.admin.token, json!({"title": "retried"})).await;
    let first = next(&mut requests).await;
    let again = next(&mut requests).await;
    assert_eq!(first.header("webhook-id"), again.header("webhook-id"), "a retry keeps its id");
    assert_eq!(first.body, again.body, "and its body");
    for got in [&first, &again] {
        assert_eq!(verified_by_reference_library_raw(std::slice::from_ref(&secret), got, &got.body), [true]);
    }
    // Both attempts are recorded with the event, and it is delivered: no third attempt.
    let event_id = first.header("webhook-id").unwrap().to_owned();
    let recorded = eventually(30, || async {
        delivery_record(&tenant, &webhook, &event_id).await.is_some_and(|i| {
            i.get("delivered").and_then(|d| d.as_bool().ok()) == Some(&true)
                && i.get("attempts").and_then(|a| a.as_l().ok()).map(Vec::len) == Some(2)
        })
    })
    .await;
    assert!(recorded, "two attempts recorded, the second delivered");
}

#[tokio::test]
async fn an_endpoint_answering_410_is_turned_off_and_a_deleted_webhook_gets_nothing_more() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let types = json!(["task.created"]);
    let (gone_addr, mut gone, _) = receiver(answer("410 Gone", "", "")).await;
    let (deleted_addr, mut deleted, _) = receiver(answer("204 No Content", "", "")).await;
    let (marker_addr, mut marker, _) = receiver(answer("204 No Content", "", "")).await;
    let hook = |addr: std::net::SocketAddr| json!({"url": format!("http://{addr}/"), "event_types": types.clone()});
    let gone_hook = make_webhook(&api, &tenant, hook(gone_addr)).await;
    let deleted_hook = make_webhook(&api, &tenant, hook(deleted_addr)).await;
    let marker_hook = make_webhook(&api, &tenant, hook(marker_addr)).await;

    api.create_task(&tenant.admin.token, json!({"title": "first"})).await;
    for requests in [&mut gone, &mut deleted, &mut marker] {
        next(requests).await;
    }
    let off = eventually(30, || async {
        let (_, list) = api.call(Method::GET, "/api/v1/webhooks", Some(&tenant.admin.token), None).await;
        list["items"].as_array().unwrap().iter().any(|w| {
            w["id"] == gone_hook["id"] && w["enabled"] == json!(false) && w["disabled_reason"] == "endpoint_gone"
        })
    })
    .await;
    assert!(off, "the webhook answered 410 is disabled");
    let path = format!("/api/v1/webhooks/{}", deleted_hook["id"].as_str().unwrap());
    assert_eq!(api.call(Method::DELETE, &path, Some(&tenant.admin.token), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.call(Method::DELETE, &path, Some(&tenant.admin.token), None).await.0, StatusCode::NOT_FOUND);

    // The next event reaches the marker, and so would have reached the others: its webhooks
    // are offered it together. Once the marker's attempt is recorded, neither of the others
    // has a record of it, nor a request.
    let second = api.create_task(&tenant.admin.token, json!({"title": "second"})).await;
    let got = next(&mut marker).await;
    assert_eq!(got.json()["data"]["task_id"], second["id"]);
    let event_id = got.header("webhook-id").unwrap().to_owned();
    let recorded = eventually(30, || async { delivery_record(&tenant, &marker_hook, &event_id).await.is_some() }).await;
    assert!(recorded, "the marker's delivery is recorded");
    for (hook, what) in [(&gone_hook, "disabled"), (&deleted_hook, "deleted")] {
        assert!(delivery_record(&tenant, hook, &event_id).await.is_none(), "the {what} webhook was not offered it");
    }
    assert!(gone.try_recv().is_err(), "the disabled webhook got nothing more");
    assert!(deleted.try_recv().is_err(), "the deleted webhook got nothing more");
}

#[tokio::test]
async fn only_an_organizations_admins_manage_its_webhooks_and_only_to_loopback_here() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let (addr, _, _) = receiver(Answer::Http("HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n".into())).await;
    let webhook = make_webhook(&api, &tenant, json!({"url": format!("http://{addr}/")})).await;
    assert_eq!(webhook["event_types"], Value::Null, "every type when none is named");
    let path = format!("/api/v1/webhooks/{}", webhook["id"].as_str().unwrap());

    let member = api.member(&tenant).await;
    let body = json!({"url": format!("http://{addr}/")});
    assert_eq!(
        api.call(Method::POST, "/api/v1/webhooks", Some(&member.token), Some(body)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(api.call(Method::GET, "/api/v1/webhooks", Some(&member.token), None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(api.call(Method::DELETE, &path, Some(&member.token), None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(api.call(Method::GET, "/api/v1/webhooks", None, None).await.0, StatusCode::UNAUTHORIZED);

    // Another organization's admin: not found, like a missing one.
    let other = api.tenant().await;
    assert_eq!(api.call(Method::DELETE, &path, Some(&other.admin.token), None).await.0, StatusCode::NOT_FOUND);
    let (_, theirs) = api.call(Method::GET, "/api/v1/webhooks", Some(&other.admin.token), None).await;
    assert_eq!(theirs["items"], json!([]));
    let missing = format!("/api/v1/webhooks/{}", uuid::Uuid::now_v7());
    assert_eq!(api.call(Method::DELETE, &missing, Some(&tenant.admin.token), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        api.call(Method::DELETE, "/api/v1/webhooks/not-an-id", Some(&tenant.admin.token), None).await.0,
        StatusCode::BAD_REQUEST
    );

    // This stack delivers only to loopback: anything else is refused before it is stored,
    // so no test can make it send a request (or a DNS query) off the machine.
    for (url, field) in [
        ("https://hooks.example.com/taskflow", "url"),
        ("http://169.254.169.254/latest/meta-data/", "url"),
        ("https://10.0.0.1/", "url"),
        ("http://internal.localhost/", "url"),
        ("ftp://127.0.0.1/", "url"),
        ("http://user:pass@127.0.0.1/", "url"),
        ("http://127.0.0.1/#fragment", "url"),
    ] {
        let (status, problem) =
            api.call(Method::POST, "/api/v1/webhooks", Some(&tenant.admin.token), Some(json!({"url": url}))).await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{url}: {problem}"
        );
    }
    for types in [json!([]), json!(["password_reset.requested"]), json!(["no.such"])] {
        let body = json!({"url": format!("http://{addr}/"), "event_types": types});
        let (status, problem) = api.call(Method::POST, "/api/v1/webhooks", Some(&tenant.admin.token), Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{types}: {problem}");
    }
    let (_, list) = api.call(Method::GET, "/api/v1/webhooks", Some(&tenant.admin.token), None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "nothing refused was stored");

    // At most 20 per organization.
    for _ in 1..taskflow::store::MAX_WEBHOOKS {
        make_webhook(&api, &tenant, json!({"url": format!("http://{addr}/"), "enabled": false})).await;
    }
    let body = json!({"url": format!("http://{addr}/")});
    assert_eq!(
        api.call(Method::POST, "/api/v1/webhooks", Some(&tenant.admin.token), Some(body)).await.0,
        StatusCode::CONFLICT
    );
}
