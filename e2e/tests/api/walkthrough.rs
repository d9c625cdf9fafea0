//! The seed's "Testing Multi-Tenancy" walkthrough, step by step, with its exact payloads
//! (only the emails and slugs are made unique per run).

use e2e::{Api, unique};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn the_seed_walkthrough_keeps_each_organizations_tasks_to_itself() {
    let api = Api::from_env();
    let run = unique();
    let (acme, techstart) = (format!("admin-{run}@acme.com"), format!("admin-{run}@techstart.com"));

    // 1. Register two organizations.
    let (status, org1) = api
        .call(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({"email": acme, "password": "admin123", "organization_name": "Acme Corp", "organization_slug": format!("acme-corp-{run}")})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{org1}");
    assert_eq!(org1["user"]["role"], "admin");
    assert_eq!(org1["user"]["email"], acme);
    assert_eq!(org1["organization"]["name"], "Acme Corp");
    assert_eq!(org1["user"]["organization_id"], org1["organization"]["id"]);
    assert!(org1["user"].get("password").is_none() && org1["user"].get("password_hash").is_none());

    let (status, org2) = api
        .call(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({"email": techstart, "password": "admin123", "organization_name": "TechStart Inc", "organization_slug": format!("techstart-inc-{run}")})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{org2}");

    // 2. Log in as Org 1's admin and create a task.
    let (status, login) = api.login(&acme, "admin123").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(login["token_type"], "bearer");
    assert_eq!(login["expires_in"], 900);
    let token1 = login["access_token"].as_str().unwrap().to_owned();
    let task = api.create_task(&token1, json!({"title": "Org 1 Task", "description": "This is a task"})).await;
    assert_eq!(task["title"], "Org 1 Task");
    assert_eq!(task["status"], "todo");
    assert_eq!(task["priority"], "medium");
    assert_eq!(task["version"], 1);
    assert_eq!(task["organization_id"], org1["organization"]["id"]);
    assert_eq!(task["created_by"], org1["user"]["id"]);

    // 3. Log in as Org 2's admin: its list does not show Org 1's task.
    let token2 = api.token(&techstart).await;
    let (status, list2) = api.call(Method::GET, "/api/v1/tasks", Some(&token2), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list2, json!({"items": [], "next_cursor": null}));

    // ... while Org 1 sees exactly its own.
    let (_, list1) = api.call(Method::GET, "/api/v1/tasks", Some(&token1), None).await;
    assert_eq!(list1["items"].as_array().unwrap().len(), 1);
    assert_eq!(list1["items"][0]["id"], task["id"]);

    // The remaining seed endpoints answer for the caller's own organization.
    let (status, me) = api.call(Method::GET, "/api/v1/auth/me", Some(&token2), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], techstart);
    assert_eq!(me["organization_id"], org2["organization"]["id"]);
    let (status, org) = api.call(Method::GET, "/api/v1/organizations/me", Some(&token2), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(org["name"], "TechStart Inc");
}

#[tokio::test]
async fn health_answers_without_a_token() {
    let (status, body) = Api::from_env().call(Method::GET, "/health", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_404_like_api_gateway() {
    let api = Api::from_env();
    for (method, path) in [
        (Method::GET, "/api/v1/nothing"),
        (Method::PUT, "/api/v1/tasks"),
        (Method::PUT, "/api/v1/organizations/me"),
        (Method::GET, "/api/v1/auth/login"),
        (Method::GET, "/api/v1/tasks/"),
    ] {
        let status = api.request(method.clone(), path, None).send().await.unwrap().status();
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
    }
}
