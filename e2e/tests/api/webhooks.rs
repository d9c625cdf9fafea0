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

type Item = std::collections::HashMap<String, AttributeValue>;

/// The item `sk` of `tenant`'s partition, read from the table as it is stored.
async fn stored_item(tenant: &Tenant, sk: String) -> Option<Item> {
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

/// The dispatcher's record of `event_id`'s delivery to `webhook`, read from the table.
async fn delivery_record(tenant: &Tenant, webhook: &Value, event_id: &str) -> Option<Item> {
    stored_item(tenant, format!("WEBHOOKMSG#{}#{event_id}", webhook["id"].as_str().unwrap())).await
}

/// The webhook's own item, read from the table.
async fn webhook_item(tenant: &Tenant, webhook: &Value) -> Item {
    stored_item(tenant, format!("WEBHOOK#{}", webhook["id"].as_str().unwrap())).await.expect("the webhook's item")
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
    let item = webhook_item(&tenant, &webhook).await;
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
    let told = eventually(MAIL_DEADLINE, || async {
        e2e::mails_to(&tenant.admin.email).await.iter().any(|m| {
            m["subject"].as_str().is_some_and(|s| s.contains("A webhook was turned off"))
                && m.to_string().contains("410 Gone")
                && m.to_string().contains(gone_hook["id"].as_str().unwrap())
        })
    })
    .await;
    assert!(told, "its admin is mailed");
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

/// `tenant`'s admin calls `method path` on a webhook route.
async fn admin_call(
    api: &Api,
    tenant: &Tenant,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    api.call(method, path, Some(&tenant.admin.token), body).await
}

fn path_of(webhook: &Value, rest: &str) -> String {
    format!("/api/v1/webhooks/{}{rest}", webhook["id"].as_str().unwrap())
}

/// Writes `field` of the stored webhook directly, as time passing would leave it.
async fn set_stored(tenant: &Tenant, webhook: &Value, expression: &str, value: AttributeValue) {
    dynamodb()
        .await
        .update_item()
        .table_name(table())
        .key("pk", AttributeValue::S(format!("ORG#{}", tenant.org_id)))
        .key("sk", AttributeValue::S(format!("WEBHOOK#{}", webhook["id"].as_str().unwrap())))
        .update_expression(expression)
        .expression_attribute_values(":v", value)
        .send()
        .await
        .unwrap();
}

/// A time `days` ago, as the store writes times (serde's RFC 3339 form, which the store's
/// conditions compare as written).
fn days_ago(days: i64) -> AttributeValue {
    let at = serde_json::to_value(chrono::Utc::now() - chrono::Duration::days(days)).unwrap();
    AttributeValue::S(at.as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_webhook_is_read_and_changed_by_its_admins_only_and_a_change_names_its_fields() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let (first_addr, mut first, _) = receiver(answer("204 No Content", "", "")).await;
    let (second_addr, mut second, _) = receiver(answer("204 No Content", "", "")).await;
    let created =
        make_webhook(&api, &tenant, json!({"url": format!("http://{first_addr}/"), "event_types": ["task.created"]}))
            .await;
    let path = path_of(&created, "");

    let (status, got) = admin_call(&api, &tenant, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let mut expected = created.clone();
    expected.as_object_mut().unwrap().remove("secret");
    assert_eq!(got, expected, "the webhook as made, without its secret");
    let member = api.member(&tenant).await;
    let other = api.tenant().await;
    for (token, status) in [(&member.token, StatusCode::FORBIDDEN), (&other.admin.token, StatusCode::NOT_FOUND)] {
        assert_eq!(api.call(Method::GET, &path, Some(token), None).await.0, status);
        let body = json!({"description": "not yours"});
        assert_eq!(api.call(Method::PATCH, &path, Some(token), Some(body)).await.0, status);
    }

    // A change writes the fields it changes and is one webhook.updated naming them.
    let body = json!({"description": "Warehouse", "event_types": null, "url": format!("http://{second_addr}/")});
    let (status, changed) = admin_call(&api, &tenant, Method::PATCH, &path, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!((changed["description"].as_str(), changed["event_types"].clone()), (Some("Warehouse"), Value::Null));
    assert_eq!(admin_call(&api, &tenant, Method::GET, &path, None).await.1, changed, "it reads back");
    let audited = eventually(30, || async {
        let (_, log) =
            admin_call(&api, &tenant, Method::GET, "/api/v1/audit-log?event_type=webhook.updated", None).await;
        log["items"].as_array().is_some_and(|items| {
            items.len() == 1 && items[0]["changes"] == json!(["url", "event_types", "description"])
        })
    })
    .await;
    assert!(audited, "one webhook.updated, naming the changed fields");
    // The new URL gets the events, of every type now: the change itself, and the next task.
    let task = api.create_task(&tenant.admin.token, json!({"title": "to the new url"})).await;
    let mut got = [next(&mut second).await.json(), next(&mut second).await.json()];
    got.sort_by_key(|body| body["type"].as_str().unwrap().to_owned());
    assert_eq!(
        (got[0]["type"].as_str(), got[0]["data"]["task_id"].clone()),
        (Some("task.created"), task["id"].clone())
    );
    assert_eq!(
        (got[1]["type"].as_str(), got[1]["data"]["changed"].clone()),
        (Some("webhook.updated"), json!(["url", "event_types", "description"]))
    );
    assert!(first.try_recv().is_err(), "the old one gets nothing more");

    // Refused: nothing, a null where a value must be, an unknown field, a URL off loopback.
    for body in [
        json!({}),
        json!({"enabled": null}),
        json!({"url": null}),
        json!({"secret": "whsec_x"}),
        json!({"url": "https://hooks.example.com/"}),
        json!({"event_types": []}),
    ] {
        let (status, problem) = admin_call(&api, &tenant, Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
    }
    assert_eq!(admin_call(&api, &tenant, Method::GET, &path, None).await.1, changed, "nothing refused was written");
    let missing = format!("/api/v1/webhooks/{}", uuid::Uuid::now_v7());
    assert_eq!(admin_call(&api, &tenant, Method::GET, &missing, None).await.0, StatusCode::NOT_FOUND);
    let body = json!({"enabled": false});
    assert_eq!(admin_call(&api, &tenant, Method::PATCH, &missing, Some(body)).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_for_its_overlap_only() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let (addr, mut requests, _) = receiver(answer("204 No Content", "", "")).await;
    let webhook =
        make_webhook(&api, &tenant, json!({"url": format!("http://{addr}/"), "event_types": ["task.created"]})).await;
    let original = secret_of(&webhook);
    let rotate = path_of(&webhook, "/rotate-secret");

    let response = api.request(Method::POST, &rotate, Some(&tenant.admin.token)).send().await.unwrap();
    assert_eq!(response.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"));
    let (status, rotated) = e2e::read(response).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let first = secret_of(&rotated);
    assert!(first.starts_with("whsec_") && first != original, "{rotated}");
    let until = chrono::DateTime::parse_from_rfc3339(rotated["previous_secret_expires_at"].as_str().unwrap()).unwrap();
    let overlap = until.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!((23..=24).contains(&overlap.num_hours()), "about 24 h: {overlap}");

    let signed_by = |got: &Received, secrets: &[&String]| {
        let secrets: Vec<String> = secrets.iter().map(|s| (*s).clone()).collect();
        verified_by_reference_library_raw(&secrets, got, &got.body)
    };
    api.create_task(&tenant.admin.token, json!({"title": "both sign"})).await;
    let got = next(&mut requests).await;
    assert_eq!(signed_by(&got, &[&first, &original]), [true, true], "the new and the replaced secret both sign");
    assert_eq!(got.header("webhook-signature").unwrap().matches("v1,").count(), 2);

    // A second rotation ends the first's overlap: the secret it replaces goes on signing,
    // the original does not.
    let (status, again) = admin_call(&api, &tenant, Method::POST, &rotate, None).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    let second = secret_of(&again);
    api.create_task(&tenant.admin.token, json!({"title": "rotated twice"})).await;
    let got = next(&mut requests).await;
    assert_eq!(signed_by(&got, &[&second, &first, &original]), [true, true, false]);

    // Once the overlap is over, the new secret alone signs.
    set_stored(&tenant, &webhook, "SET retiring_until = :v", days_ago(1)).await;
    api.create_task(&tenant.admin.token, json!({"title": "overlap over"})).await;
    let got = next(&mut requests).await;
    assert_eq!(signed_by(&got, &[&second, &first]), [true, false]);
    assert_eq!(got.header("webhook-signature").unwrap().matches("v1,").count(), 1);

    // Two rotations at once: whichever is answered 200 signs the next delivery (one answered
    // 409 if they raced; both 200 if they did not, the first then being the replaced one).
    let (a, b) = tokio::join!(
        admin_call(&api, &tenant, Method::POST, &rotate, None),
        admin_call(&api, &tenant, Method::POST, &rotate, None)
    );
    let answered: Vec<String> =
        [&a, &b].iter().filter(|(status, _)| *status == StatusCode::OK).map(|(_, body)| secret_of(body)).collect();
    for (status, body) in [&a, &b] {
        assert!([StatusCode::OK, StatusCode::CONFLICT].contains(status), "{status}: {body}");
    }
    assert!(!answered.is_empty(), "one of them succeeds");
    api.create_task(&tenant.admin.token, json!({"title": "after the race"})).await;
    let got = next(&mut requests).await;
    let refs: Vec<&String> = answered.iter().collect();
    assert_eq!(signed_by(&got, &refs), vec![true; answered.len()], "no secret answered 200 goes unused");

    // A rotation that read the secret another then replaced is refused, not applied over it:
    // the first is held before its write while the second reads and writes.
    // Held long enough for the second to be answered meanwhile on a stack loaded by the
    // whole suite (two seconds were not, with argon2 logins beside it).
    let held = e2e::Fault::delay("DynamoDB_20120810.TransactWriteItems", "retiring_until", 8000, 1).await;
    let (slow, fast) = tokio::join!(admin_call(&api, &tenant, Method::POST, &rotate, None), async {
        // A loaded stack may take seconds to reach the write (authentication, the budget, the read).
        assert!(eventually(20, || async { held.hits().await == 1 }).await, "the first rotation is held");
        admin_call(&api, &tenant, Method::POST, &rotate, None).await
    });
    assert_eq!((slow.0, fast.0), (StatusCode::CONFLICT, StatusCode::OK), "{} {}", slow.1, fast.1);
    api.create_task(&tenant.admin.token, json!({"title": "after the refused rotation"})).await;
    let got = next(&mut requests).await;
    assert_eq!(signed_by(&got, &[&secret_of(&fast.1)]), [true], "the rotation that won signs");

    // Never in clear in the table; only its admins rotate it.
    let item = webhook_item(&tenant, &webhook).await;
    let stored = format!("{item:?}");
    for secret in [&original, &first, &second] {
        assert!(!stored.contains(&secret["whsec_".len()..]), "not in clear");
    }
    let member = api.member(&tenant).await;
    assert_eq!(api.call(Method::POST, &rotate, Some(&member.token), None).await.0, StatusCode::FORBIDDEN);
    let other = api.tenant().await;
    assert_eq!(api.call(Method::POST, &rotate, Some(&other.admin.token), None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_ping_reaches_its_webhook_alone_and_deliveries_list_each_attempt_newest_first() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let (addr, mut requests, _) = scripted_receiver(
        "127.0.0.1:0",
        vec![answer("503 Service Unavailable", "", "warming up"), answer("200 OK", "", "ok")],
    )
    .await;
    let (bystander_addr, mut bystander, _) = receiver(answer("204 No Content", "", "")).await;
    // Off, and asking for a type the ping is not: a ping reaches it all the same.
    let webhook = make_webhook(
        &api,
        &tenant,
        json!({"url": format!("http://{addr}/"), "event_types": ["task.deleted"], "enabled": false}),
    )
    .await;
    make_webhook(&api, &tenant, json!({"url": format!("http://{bystander_addr}/")})).await;
    let secret = secret_of(&webhook);

    let (status, accepted) = admin_call(&api, &tenant, Method::POST, &path_of(&webhook, "/test"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let ping_id = accepted["event_id"].as_str().unwrap().to_owned();
    let refused = next(&mut requests).await;
    let got = next(&mut requests).await;
    assert_eq!(got.header("webhook-id"), Some(ping_id.as_str()));
    assert_eq!(refused.header("webhook-id"), Some(ping_id.as_str()), "the 503 was tried again with the same id");
    assert_eq!(
        (got.json()["type"].as_str(), got.json()["data"]["webhook_id"].clone()),
        (Some("webhook.ping"), webhook["id"].clone())
    );
    assert_eq!(verified_by_reference_library_raw(std::slice::from_ref(&secret), &got, &got.body), [true]);

    // Its deliveries: the ping's two attempts, the first 503 with its answer, the second 2xx.
    let deliveries = path_of(&webhook, "/deliveries");
    let listed = eventually(30, || async {
        let (_, page) = admin_call(&api, &tenant, Method::GET, &deliveries, None).await;
        page["items"].as_array().is_some_and(|items| items.len() == 1 && items[0]["delivered"] == json!(true))
    })
    .await;
    assert!(listed, "the ping's delivery is listed, delivered");
    let (_, page) = admin_call(&api, &tenant, Method::GET, &deliveries, None).await;
    let delivery = &page["items"][0];
    assert_eq!(
        (delivery["event_id"].as_str(), delivery["event_type"].as_str()),
        (Some(ping_id.as_str()), Some("webhook.ping"))
    );
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.iter().map(|a| a["status"].clone()).collect::<Vec<_>>(), [json!(503), json!(200)]);
    assert_eq!(attempts[0]["response"], "warming up");
    assert!(attempts.iter().all(|a| a["latency_ms"].is_u64() && a["attempted_at"].is_string()));
    assert_eq!(page["next_cursor"], Value::Null);
    let (_, stored) = admin_call(&api, &tenant, Method::GET, &path_of(&webhook, ""), None).await;
    assert_eq!(stored["failing_since"], Value::Null, "a success clears the failing mark the 503 set");

    // Two pings more: three deliveries, newest first, page by page.
    let mut ids = vec![ping_id];
    for _ in 0..2 {
        let (_, accepted) = admin_call(&api, &tenant, Method::POST, &path_of(&webhook, "/test"), None).await;
        ids.push(accepted["event_id"].as_str().unwrap().to_owned());
        next(&mut requests).await;
    }
    let all_listed = eventually(30, || async {
        let (_, page) = admin_call(&api, &tenant, Method::GET, &format!("{deliveries}?limit=100"), None).await;
        page["items"].as_array().is_some_and(|items| items.len() == 3)
    })
    .await;
    assert!(all_listed, "three deliveries");
    let (_, first_page) = admin_call(&api, &tenant, Method::GET, &format!("{deliveries}?limit=2"), None).await;
    let cursor = first_page["next_cursor"].as_str().expect("a second page").to_owned();
    let (_, second_page) =
        admin_call(&api, &tenant, Method::GET, &format!("{deliveries}?limit=2&cursor={cursor}"), None).await;
    assert_eq!(second_page["next_cursor"], Value::Null);
    let listed: Vec<Value> = [&first_page, &second_page]
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().iter().map(|d| d["event_id"].clone()))
        .collect();
    ids.reverse();
    assert_eq!(listed, ids.iter().map(|i| json!(i)).collect::<Vec<_>>(), "newest first");
    // The other webhook (every type) got the organization's events, and no ping.
    while let Ok(got) = bystander.try_recv() {
        assert_ne!(got.json()["type"], "webhook.ping", "no ping reached another webhook");
    }

    // A cursor is good for its own webhook only; others' and missing webhooks are 404.
    let bystander_list = format!("/api/v1/webhooks/{}/deliveries?cursor={cursor}", uuid::Uuid::now_v7());
    assert_eq!(admin_call(&api, &tenant, Method::GET, &bystander_list, None).await.0, StatusCode::BAD_REQUEST);
    let other = api.tenant().await;
    for (method, route) in [(Method::GET, "/deliveries"), (Method::POST, "/test")] {
        let path = path_of(&webhook, route);
        assert_eq!(api.call(method.clone(), &path, Some(&other.admin.token), None).await.0, StatusCode::NOT_FOUND);
        let member = api.member(&tenant).await;
        assert_eq!(api.call(method, &path, Some(&member.token), None).await.0, StatusCode::FORBIDDEN);
    }
    let missing = format!("/api/v1/webhooks/{}/deliveries", uuid::Uuid::now_v7());
    assert_eq!(admin_call(&api, &tenant, Method::GET, &missing, None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_webhook_failing_for_three_days_is_turned_off_its_admin_mailed_once_and_it_can_be_turned_on() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let (addr, mut requests, _) = receiver(answer("500 Internal Server Error", "", "down")).await;
    let (marker_addr, mut marker, _) = receiver(answer("204 No Content", "", "")).await;
    let types = json!(["task.created"]);
    let webhook = make_webhook(&api, &tenant, json!({"url": format!("http://{addr}/"), "event_types": types})).await;
    let marker_hook =
        make_webhook(&api, &tenant, json!({"url": format!("http://{marker_addr}/"), "event_types": types})).await;
    // As if its endpoint had failed every attempt for four days.
    set_stored(&tenant, &webhook, "SET webhook.failing_since = :v", days_ago(4)).await;

    api.create_task(&tenant.admin.token, json!({"title": "one failure more"})).await;
    next(&mut requests).await;
    next(&mut marker).await;
    let path = path_of(&webhook, "");
    let off = eventually(30, || async {
        let (_, got) = admin_call(&api, &tenant, Method::GET, &path, None).await;
        got["enabled"] == json!(false) && got["disabled_reason"] == "failing"
    })
    .await;
    assert!(off, "turned off as failing");
    let subject = "A webhook was turned off";
    assert!(eventually(MAIL_DEADLINE, || async { e2e::mails_about(&tenant.admin.email, subject).await == 1 }).await);
    let mail = e2e::mails_to(&tenant.admin.email)
        .await
        .into_iter()
        .find(|m| m["subject"].as_str().unwrap().contains(subject))
        .unwrap();
    let text = mail.to_string();
    assert!(text.contains(webhook["id"].as_str().unwrap()) && text.contains("three days"), "{text}");

    // The next event finds it off: once the marker's attempt is recorded, the failing
    // webhook has no record of it.
    let later = api.create_task(&tenant.admin.token, json!({"title": "while off"})).await;
    let got = next(&mut marker).await;
    assert_eq!(got.json()["data"]["task_id"], later["id"]);
    let event_id = got.header("webhook-id").unwrap().to_owned();
    assert!(eventually(30, || async { delivery_record(&tenant, &marker_hook, &event_id).await.is_some() }).await);
    assert!(delivery_record(&tenant, &webhook, &event_id).await.is_none(), "not offered to the webhook turned off");

    // Turned on again, it is healthy as new: no reason, no failing mark.
    let (status, on) = admin_call(&api, &tenant, Method::PATCH, &path, Some(json!({"enabled": true}))).await;
    assert_eq!(status, StatusCode::OK, "{on}");
    assert_eq!((on["disabled_reason"].clone(), on["failing_since"].clone()), (Value::Null, Value::Null));
    assert_eq!(e2e::mails_about(&tenant.admin.email, subject).await, 1, "mailed once");
}
