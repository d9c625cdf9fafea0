//! Resilience: no stored value takes a read down, and what the stored form cannot hold is
//! refused at the door.

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::Api;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_due_date_the_stored_form_cannot_hold_is_422_naming_the_field() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let token = Some(tenant.admin.token.as_str());
    for due in ["9999-12-31T23:59:59-01:00", "+10000-01-01T00:00:00Z", "0000-06-01"] {
        let body = json!({"title": "far future", "due_date": due});
        let (status, problem) = api.call(Method::POST, "/api/v1/tasks", token, Some(body)).await;
        assert_eq!(
            (status, &problem["field"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!("due_date")),
            "{due}: {problem}"
        );
    }
    let task = api.create_task(&tenant.admin.token, json!({"title": "edge", "due_date": "9999-12-31T23:59:59Z"})).await;
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    let (status, problem) =
        api.call(Method::PATCH, &path, token, Some(json!({"due_date": "9999-12-31T23:00:00-02:00"}))).await;
    assert_eq!((status, &problem["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("due_date")), "{problem}");
    let (status, read) = api.call(Method::GET, &path, token, None).await;
    assert_eq!((status, &read["due_date"]), (StatusCode::OK, &json!("9999-12-31T23:59:59Z")), "the edge reads back");
    let (status, list) = api.call(Method::GET, "/api/v1/tasks", token, None).await;
    assert_eq!((status, &list["items"][0]["id"]), (StatusCode::OK, &task["id"]));
}

/// The item an older version wrote for such a due date, put straight into the emulator:
/// the list still answers (without it), the task itself answers 404 with a detail that says
/// why, and it can still be deleted.
#[tokio::test]
async fn an_unreadable_stored_item_does_not_take_the_list_down() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let token = Some(tenant.admin.token.as_str());
    let older = api.create_task(&tenant.admin.token, json!({"title": "readable, older"})).await;
    let template = api.create_task(&tenant.admin.token, json!({"title": "will be copied"})).await;

    let sdk = taskflow::config::sdk_config().await.unwrap();
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = taskflow::config::table_name();
    let key = |id: &str| {
        [
            ("pk".to_owned(), AttributeValue::S(format!("ORG#{}", tenant.org_id))),
            ("sk".to_owned(), AttributeValue::S(format!("TASK#{id}"))),
        ]
    };
    let stored = dynamodb
        .get_item()
        .table_name(&table)
        .set_key(Some(key(template["id"].as_str().unwrap()).into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the task is stored");
    let broken_id = uuid::Uuid::now_v7().to_string();
    let mut broken = stored.clone();
    broken.extend(key(&broken_id));
    broken.insert("id".into(), AttributeValue::S(broken_id.clone()));
    broken.insert("due_date".into(), AttributeValue::S("+10000-01-01T00:59:59Z".into()));
    dynamodb.put_item().table_name(&table).set_item(Some(broken)).send().await.unwrap();

    let (status, list) = api.call(Method::GET, "/api/v1/tasks?limit=3", token, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let ids: Vec<_> = list["items"].as_array().unwrap().iter().map(|t| t["id"].clone()).collect();
    assert_eq!(
        ids,
        [template["id"].clone(), older["id"].clone()],
        "the unreadable item is left out, the rest answered"
    );
    assert_eq!(list["next_cursor"], json!(null));
    let (status, first) = api.call(Method::GET, "/api/v1/tasks?limit=1", token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(first["items"].as_array().unwrap().is_empty(), "the page held only the unreadable item: {first}");
    let cursor = first["next_cursor"].as_str().expect("the cursor moves past it");
    let (_, next) = api.call(Method::GET, &format!("/api/v1/tasks?limit=1&cursor={cursor}"), token, None).await;
    assert_eq!(next["items"][0]["id"], template["id"]);
    let (status, _) = api.call(Method::GET, "/api/v1/tasks?status=todo", token, None).await;
    assert_eq!(status, StatusCode::OK, "the filtered lists too");

    let path = format!("/api/v1/tasks/{broken_id}");
    let (status, problem) = api.call(Method::GET, &path, token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("cannot read"), "{problem}");
    let (status, _) = api.call(Method::PATCH, &path, token, Some(json!({"title": "fixed?"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(api.call(Method::DELETE, &path, token, None).await.0, StatusCode::NO_CONTENT, "it can be removed");
}
