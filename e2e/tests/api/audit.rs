//! The event stream and the audit log: every change is entered once, with who made it and
//! from where, readable only by its organization's admins.

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{Api, Tenant, dynamodb, eventually, table, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The organization's audit log, newest first (one page of 100).
async fn audit_log(api: &Api, token: &str, query: &str) -> (StatusCode, Value) {
    api.call(Method::GET, &format!("/api/v1/audit-log?limit=100{query}"), Some(token), None).await
}

fn types(log: &Value) -> Vec<String> {
    log["items"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn every_change_is_entered_once_with_its_actor_and_only_admins_of_its_organization_read_it() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let member = api.member(&tenant).await;
    let token = &tenant.admin.token;
    let task = api.create_task(token, json!({"title": format!("audited {}", unique())})).await;
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    let patch = json!({"status": "done", "assignee_id": member.user_id});
    assert_eq!(api.call(Method::PATCH, &path, Some(token), Some(patch)).await.0, StatusCode::OK);
    assert_eq!(api.call(Method::DELETE, &path, Some(token), None).await.0, StatusCode::NO_CONTENT);
    let rename = json!({"name": "Audited"});
    assert_eq!(api.call(Method::PATCH, "/api/v1/organizations/me", Some(token), Some(rename)).await.0, StatusCode::OK);

    let expected = ["task.created", "task.updated", "task.assigned", "task.deleted", "organization.updated"];
    let all_there = || async {
        let (status, log) = audit_log(&api, token, "").await;
        status == StatusCode::OK && expected.iter().all(|t| types(&log).iter().any(|x| x == t))
    };
    assert!(eventually(30, all_there).await, "{}", audit_log(&api, token, "").await.1);

    let (_, log) = audit_log(&api, token, "").await;
    let entries = log["items"].as_array().unwrap();
    for t in expected {
        assert_eq!(types(&log).iter().filter(|x| *x == t).count(), 1, "{t} entered once: {log}");
    }
    let updated = entries.iter().find(|e| e["event_type"] == "task.updated").unwrap();
    assert_eq!(updated["actor"], json!({"type": "user", "id": tenant.admin.user_id}));
    assert_eq!(updated["target"], json!({"type": "task", "id": task["id"]}));
    assert_eq!(updated["changes"], json!(["status", "assignee_id"]));
    assert!(updated["source_ip"].as_str().is_some_and(|ip| ip.starts_with("127.")), "{updated}");
    let text = log.to_string();
    assert!(!text.contains("\"nonce\"") && !text.contains("password"), "no secret reaches the log: {text}");

    // Filters, by type and by time.
    let (_, only_deleted) = audit_log(&api, token, "&event_type=task.deleted").await;
    assert_eq!(types(&only_deleted), ["task.deleted"]);
    let (_, none_yet) = audit_log(&api, token, "&until=2000-01-01T00:00:00Z").await;
    assert_eq!(none_yet["items"], json!([]));
    assert_eq!(audit_log(&api, token, "&event_type=task.exploded").await.0, StatusCode::BAD_REQUEST);
    // An offset that pushes a time past the year 9999 is refused, not a broken key range.
    let beyond = "&since=9999-12-31T23:59:59Z&until=9999-12-31T23:59:59-23:59";
    assert_eq!(audit_log(&api, token, beyond).await.0, StatusCode::BAD_REQUEST);

    // A member may not read it; another organization's admin sees only their own.
    assert_eq!(audit_log(&api, &member.token, "").await.0, StatusCode::FORBIDDEN);
    let other = api.tenant().await;
    let (status, theirs) = audit_log(&api, &other.admin.token, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!theirs.to_string().contains(task["id"].as_str().unwrap()), "{theirs}");
}

/// `count` task.deleted events of `tenant`'s admin, a second apart, newest first, as the
/// audit queue carries them.
fn deleted_task_events(tenant: &Tenant, count: usize) -> Vec<(String, String)> {
    use taskflow::domain::events::{Event, EventKind, Provenance};
    let admin = taskflow::domain::UserId::parse(&tenant.admin.user_id).unwrap();
    let org = taskflow::domain::OrgId::parse(&tenant.org_id).unwrap();
    let now = chrono::Utc::now();
    (0..count)
        .map(|i| {
            let at = now - chrono::Duration::seconds(i64::try_from(i).unwrap());
            let kind = EventKind::TaskDeleted { task_id: taskflow::domain::TaskId::generate() };
            let event = Event::new(org, at, &Provenance::user(admin, Default::default()), kind);
            (event.event_id.to_string(), event.to_json())
        })
        .collect()
}

/// Hands `bodies` to the audit writer through the stack's Invoke API as one SQS batch, each
/// a message of its own (a redelivery is a new message with the same body), as the event
/// source mapping would; answers the failures it reports.
async fn write_audit(api: &Api, bodies: &[&str]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .map(|body| {
            json!({
                "messageId": unique(), "receiptHandle": unique(), "body": body, "md5OfBody": "",
                "attributes": {"ApproximateReceiveCount": "2"}, "messageAttributes": {},
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:taskflow-audit",
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    let response = api
        .request(Method::POST, "/2015-03-31/functions/audit-writer/invocations", None)
        .json(&json!({"Records": records}))
        .send()
        .await
        .expect("the Invoke API answers");
    assert!(response.status().is_success(), "{}", response.status());
    response.json::<Value>().await.expect("a batch response")["batchItemFailures"].clone()
}

/// Every entry of the log under `query`, page after page of `limit`: (event id, time).
async fn every_page(api: &Api, token: &str, query: &str, limit: usize) -> Vec<(String, String)> {
    let (mut found, mut cursor) = (Vec::new(), None::<String>);
    for _ in 0..100 {
        let after = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let path = format!("/api/v1/audit-log?limit={limit}{query}{after}");
        let (status, page) = api.call(Method::GET, &path, Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit, "a page of {} for limit {limit}", items.len());
        found.extend(
            items
                .iter()
                .map(|e| (e["event_id"].as_str().unwrap().to_owned(), e["occurred_at"].as_str().unwrap().to_owned())),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return found,
        }
    }
    panic!("more than 100 pages");
}

#[tokio::test]
async fn a_redelivered_event_is_entered_once_kept_a_year_and_every_entry_is_paged_once_in_order() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let token = &tenant.admin.token;
    let events = deleted_task_events(&tenant, 23);
    let bodies: Vec<&str> = events.iter().map(|(_, body)| body.as_str()).collect();
    assert_eq!(write_audit(&api, &bodies[..10]).await, json!([]));
    assert_eq!(write_audit(&api, &bodies[10..20]).await, json!([]));
    // Redeliveries: twice in one batch, and a whole batch again.
    let again = [bodies[20], bodies[21], bodies[22], bodies[3], bodies[3], bodies[21]];
    assert_eq!(write_audit(&api, &again).await, json!([]));
    assert_eq!(write_audit(&api, &bodies[..10]).await, json!([]));

    let expected: Vec<String> = events.iter().map(|(id, _)| id.clone()).collect();
    for limit in [1, 4, 23, 100] {
        let paged = every_page(&api, token, "&event_type=task.deleted", limit).await;
        let ids: Vec<String> = paged.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(ids, expected, "each entry once, newest first, in pages of {limit}");
    }
    // Unfiltered pages hold the same entries among the registration's, none twice.
    let all = every_page(&api, token, "", 7).await;
    let distinct: std::collections::BTreeSet<&String> = all.iter().map(|(id, _)| id).collect();
    assert_eq!(distinct.len(), all.len(), "no entry on two pages");
    assert!(expected.iter().all(|id| distinct.contains(id)));
    let times: Vec<chrono::DateTime<chrono::Utc>> = all.iter().map(|(_, at)| at.parse().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");

    // Each entry expires a year (the default retention) after its event, by the table's TTL.
    let stored = dynamodb()
        .await
        .query()
        .table_name(table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :audit)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("ORG#{}", tenant.org_id)))
        .expression_attribute_values(":audit", AttributeValue::S("AUDIT#".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("query the audit entries");
    let year = 365 * 24 * 3600;
    let mut checked = 0;
    let text = |item: &std::collections::HashMap<String, AttributeValue>, name: &str| {
        item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
    };
    for item in stored.items() {
        if expected.contains(&text(item, "event_id")) {
            let at: chrono::DateTime<chrono::Utc> = text(item, "occurred_at").parse().unwrap();
            let expires_at = item.get("expires_at").and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<i64>().ok());
            assert_eq!(expires_at, Some(at.timestamp() + year), "{item:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, expected.len(), "one stored entry per event");
}
