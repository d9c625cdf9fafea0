//! The cross-tenant matrix: every endpoint called with another organization's token on
//! this organization's resources. Foreign ids answer exactly like missing ones.

use e2e::{Api, read};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn another_tenants_token_never_reaches_this_tenants_data() {
    let api = Api::from_env();
    let (mine, theirs) = (api.tenant().await, api.tenant().await);
    let task = api.create_task(&mine.admin.token, json!({"title": "private", "assignee_id": mine.admin.user_id})).await;
    let task_path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    let missing_path = format!("/api/v1/tasks/{}", uuid_like());
    let token = Some(theirs.admin.token.as_str());

    // Task by id: GET, PATCH and DELETE answer 404 — the same status and body as for a
    // task that does not exist at all.
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let body = (method == Method::PATCH).then(|| json!({"title": "stolen"}));
        let foreign = api.call(method.clone(), &task_path, token, body.clone()).await;
        let missing = api.call(method.clone(), &missing_path, token, body).await;
        assert_eq!(foreign.0, StatusCode::NOT_FOUND, "{method} foreign: {}", foreign.1);
        assert_eq!(foreign, missing, "{method}: foreign and missing must be indistinguishable");
    }

    // Lists, with and without filters, show nothing of ours.
    for query in ["", "?status=todo", &format!("?assignee_id={}", mine.admin.user_id)] {
        let (status, list) = api.call(Method::GET, &format!("/api/v1/tasks{query}"), token, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["items"], json!([]), "query {query:?}");
    }

    // Our user cannot be assigned to their tasks, on create or on update.
    let (status, problem) = api
        .call(Method::POST, "/api/v1/tasks", token, Some(json!({"title": "t", "assignee_id": mine.admin.user_id})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["field"], "assignee_id");
    let their_task = api.create_task(&theirs.admin.token, json!({"title": "theirs"})).await;
    let (status, _) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/tasks/{}", their_task["id"].as_str().unwrap()),
            token,
            Some(json!({"assignee_id": mine.admin.user_id})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Caller-scoped endpoints answer with the caller's own organization and user.
    let (_, me) = api.call(Method::GET, "/api/v1/auth/me", token, None).await;
    assert_eq!(me["organization_id"], Value::String(theirs.org_id.clone()));
    let (_, org) = api.call(Method::GET, "/api/v1/organizations/me", token, None).await;
    assert_eq!(org["id"], Value::String(theirs.org_id.clone()));
    let (status, org) =
        api.call(Method::PATCH, "/api/v1/organizations/me", token, Some(json!({"name": "Renamed by them"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(org["id"], Value::String(theirs.org_id.clone()));

    // And our task is untouched.
    let (status, still) = api.call(Method::GET, &task_path, Some(&mine.admin.token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(still, task);
    let (_, our_org) = api.call(Method::GET, "/api/v1/organizations/me", Some(&mine.admin.token), None).await;
    assert_ne!(our_org["name"], "Renamed by them");
}

#[tokio::test]
async fn a_cursor_from_another_tenant_is_refused() {
    let api = Api::from_env();
    let (mine, theirs) = (api.tenant().await, api.tenant().await);
    for i in 0..3 {
        api.create_task(&mine.admin.token, json!({"title": format!("t{i}")})).await;
        api.create_task(&theirs.admin.token, json!({"title": format!("t{i}")})).await;
    }
    let (_, page) = api.call(Method::GET, "/api/v1/tasks?limit=1", Some(&theirs.admin.token), None).await;
    let cursor = page["next_cursor"].as_str().expect("a next page").to_owned();
    let response = api
        .request(Method::GET, "/api/v1/tasks", Some(&mine.admin.token))
        .query(&[("limit", "1"), ("cursor", &cursor)])
        .send()
        .await
        .unwrap();
    let (status, problem) = read(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("cursor"));
}

#[tokio::test]
async fn requests_without_a_valid_token_are_401() {
    let api = Api::from_env();
    for token in [None, Some("garbage"), Some("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")] {
        for (method, path) in [
            (Method::GET, "/api/v1/auth/me"),
            (Method::GET, "/api/v1/tasks"),
            (Method::POST, "/api/v1/tasks"),
            (Method::GET, "/api/v1/organizations/me"),
        ] {
            let (status, problem) = api.call(method.clone(), path, token, Some(json!({"title": "x"}))).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} with {token:?}: {problem}");
        }
    }
}

fn uuid_like() -> String {
    taskflow::domain::TaskId::generate().to_string()
}

#[tokio::test]
async fn another_tenants_token_never_reaches_this_tenants_members_or_invitations() {
    let api = Api::from_env();
    let (mine, theirs) = (api.tenant().await, api.tenant().await);
    let member = api.member(&mine).await;
    let invitation = api.invite(&mine, &format!("pending-{}@example.com", e2e::unique()), "member").await;
    let token = Some(theirs.admin.token.as_str());
    let missing = taskflow::domain::UserId::generate().to_string();

    for id in [member.user_id.as_str(), mine.admin.user_id.as_str()] {
        for (method, body) in
            [(Method::GET, None), (Method::PATCH, Some(json!({"role": "admin"}))), (Method::DELETE, None)]
        {
            let foreign = api.call(method.clone(), &format!("/api/v1/users/{id}"), token, body.clone()).await;
            let absent = api.call(method.clone(), &format!("/api/v1/users/{missing}"), token, body).await;
            assert_eq!(foreign.0, StatusCode::NOT_FOUND, "{method} user: {}", foreign.1);
            assert_eq!(foreign, absent, "{method}: foreign and missing users must be indistinguishable");
        }
    }
    let path = format!("/api/v1/invitations/{}", invitation["id"].as_str().unwrap());
    let foreign = api.call(Method::DELETE, &path, token, None).await;
    let absent = api.call(Method::DELETE, &format!("/api/v1/invitations/{missing}"), token, None).await;
    assert_eq!((foreign.0, &foreign), (StatusCode::NOT_FOUND, &absent));

    let (_, users) = api.call(Method::GET, "/api/v1/users", token, None).await;
    let ids: Vec<&str> = users["items"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![theirs.admin.user_id.as_str()]);
    let (_, invitations) = api.call(Method::GET, "/api/v1/invitations", token, None).await;
    assert_eq!(invitations["items"], json!([]));

    // Ours are untouched.
    let (status, still) =
        api.call(Method::GET, &format!("/api/v1/users/{}", member.user_id), Some(&mine.admin.token), None).await;
    assert_eq!((status, &still["role"]), (StatusCode::OK, &json!("member")));
    let (_, pending) = api.call(Method::GET, "/api/v1/invitations", Some(&mine.admin.token), None).await;
    assert_eq!(pending["items"][0]["id"], invitation["id"]);
}
