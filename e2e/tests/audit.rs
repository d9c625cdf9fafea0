//! The event stream and the audit log: every change is entered once, with who made it and
//! from where, readable only by its organization's admins.

use e2e::{Api, eventually, unique};
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
