//! Tasks: pagination, filters, optimistic concurrency, permissions and input validation.

use std::collections::HashSet;

use e2e::{Api, read};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn all_pages(api: &Api, token: &str, query: &str, limit: usize) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut params = vec![("limit".to_owned(), limit.to_string())];
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap();
            params.push((k.to_owned(), v.to_owned()));
        }
        if let Some(c) = &cursor {
            params.push(("cursor".to_owned(), c.clone()));
        }
        let response = api.request(Method::GET, "/api/v1/tasks", Some(token)).query(&params).send().await.unwrap();
        let (status, page) = read(response).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let page_items = page["items"].as_array().unwrap();
        assert!(page_items.len() <= limit);
        items.extend(page_items.iter().cloned());
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (items, pages),
        }
        assert!(pages < 100, "pagination does not end");
    }
}

#[tokio::test]
async fn filtered_pagination_walks_more_than_two_pages_newest_first() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let token = &tenant.admin.token;
    let mut done_ids = Vec::new();
    for i in 0..14 {
        let status = if i % 2 == 0 { "done" } else { "todo" };
        let task = api.create_task(token, json!({"title": format!("task {i}"), "status": status})).await;
        if status == "done" {
            done_ids.push(task["id"].clone());
        }
    }
    done_ids.reverse(); // newest first

    let (done, pages) = all_pages(&api, token, "status=done", 3).await;
    assert_eq!(pages, 3, "7 matching tasks in pages of 3");
    let ids: Vec<Value> = done.iter().map(|t| t["id"].clone()).collect();
    assert_eq!(ids, done_ids);
    assert!(done.iter().all(|t| t["status"] == "done"));

    let (all, pages) = all_pages(&api, token, "", 5).await;
    assert_eq!((all.len(), pages), (14, 3));
    let created: Vec<&str> = all.iter().map(|t| t["created_at"].as_str().unwrap()).collect();
    let mut newest_first = created.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(created, newest_first);

    // Filters combine: by assignee, and by assignee and status.
    let admin = &tenant.admin.user_id;
    let mut assigned_todo = 0;
    for i in 0..4 {
        let status = if i < 3 { "todo" } else { "in_progress" };
        api.create_task(token, json!({"title": format!("mine {i}"), "assignee_id": admin, "status": status})).await;
        assigned_todo += usize::from(status == "todo");
    }
    let (mine, _) = all_pages(&api, token, &format!("assignee_id={admin}"), 2).await;
    assert_eq!(mine.len(), 4);
    let (mine_todo, pages) = all_pages(&api, token, &format!("assignee_id={admin}&status=todo"), 1).await;
    assert_eq!((mine_todo.len(), pages), (assigned_todo, 3));
    assert!(mine_todo.iter().all(|t| t["status"] == "todo" && t["assignee_id"] == json!(admin)));
}

#[tokio::test]
async fn a_page_of_exactly_the_remaining_items_has_no_next_cursor() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    for i in 0..4 {
        api.create_task(&tenant.admin.token, json!({"title": format!("t{i}")})).await;
    }
    let (status, page) = api.call(Method::GET, "/api/v1/tasks?limit=4", Some(&tenant.admin.token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    assert_eq!(page["next_cursor"], Value::Null);
}

#[tokio::test]
async fn twenty_concurrent_creates_are_all_listed_exactly_once() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let creates = (0..20).map(|i| {
        let (api, token) = (api.clone(), tenant.admin.token.clone());
        tokio::spawn(async move { api.create_task(&token, json!({"title": format!("concurrent {i}")})).await })
    });
    let mut created = HashSet::new();
    for handle in creates.collect::<Vec<_>>() {
        created.insert(handle.await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(created.len(), 20);

    let (listed, _) = all_pages(&api, &tenant.admin.token, "", 7).await;
    let ids: Vec<String> = listed.iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 20, "each task once");
    assert_eq!(ids.iter().cloned().collect::<HashSet<_>>(), created);
}

#[tokio::test]
async fn concurrent_patches_with_the_same_if_match_have_exactly_one_winner() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let task = api.create_task(&tenant.admin.token, json!({"title": "contended"})).await;
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    let patches = ["first", "second"].map(|title| {
        let (api, token, path) = (api.clone(), tenant.admin.token.clone(), path.clone());
        tokio::spawn(async move {
            let response = api
                .request(Method::PATCH, &path, Some(&token))
                .header("If-Match", "\"1\"")
                .json(&json!({"title": title}))
                .send()
                .await
                .unwrap();
            read(response).await
        })
    });
    let mut outcomes = Vec::new();
    for handle in patches {
        outcomes.push(handle.await.unwrap());
    }
    let winners: Vec<&Value> = outcomes.iter().filter(|(s, _)| *s == StatusCode::OK).map(|(_, b)| b).collect();
    let losers = outcomes.iter().filter(|(s, _)| *s == StatusCode::PRECONDITION_FAILED).count();
    assert_eq!((winners.len(), losers), (1, 1), "{outcomes:?}");

    let (_, stored) = api.call(Method::GET, &path, Some(&tenant.admin.token), None).await;
    assert_eq!(stored["version"], 2);
    assert_eq!(stored["title"], winners[0]["title"], "the stored task is the winner's");
}

#[tokio::test]
async fn patch_is_partial_versioned_and_honours_if_match() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let token = Some(tenant.admin.token.as_str());
    let task = api
        .create_task(
            &tenant.admin.token,
            json!({"title": "t", "description": "keep", "priority": "high", "due_date": "2026-12-01"}),
        )
        .await;
    assert_eq!(task["due_date"], "2026-12-01T00:00:00Z");
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());

    let response = api.request(Method::GET, &path, token).send().await.unwrap();
    assert_eq!(response.headers()["etag"], "\"1\"");

    let (status, updated) =
        api.call(Method::PATCH, &path, token, Some(json!({"status": "in_progress", "due_date": null}))).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["status"], "in_progress");
    assert_eq!(updated["description"], "keep");
    assert_eq!(updated["priority"], "high");
    assert_eq!(updated["due_date"], Value::Null);
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["created_at"], task["created_at"]);
    assert_ne!(updated["updated_at"], task["updated_at"]);

    let stale = api.request(Method::PATCH, &path, token).header("If-Match", "1").json(&json!({"title": "late"})).send();
    let (status, problem) = read(stale.await.unwrap()).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{problem}");
    let fresh =
        api.request(Method::PATCH, &path, token).header("If-Match", "2").json(&json!({"title": "on time"})).send();
    let (status, body) = read(fresh.await.unwrap()).await;
    assert_eq!((status, &body["title"], &body["version"]), (StatusCode::OK, &json!("on time"), &json!(3)));

    // The status index follows the change.
    let (_, in_progress) = api.call(Method::GET, "/api/v1/tasks?status=in_progress", token, None).await;
    assert_eq!(in_progress["items"][0]["id"], task["id"]);
    let (_, todo) = api.call(Method::GET, "/api/v1/tasks?status=todo", token, None).await;
    assert_eq!(todo["items"], json!([]));
}

#[tokio::test]
async fn deleting_needs_the_admin_or_the_creator() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let member = api.member(&tenant).await;
    let admins = api.create_task(&tenant.admin.token, json!({"title": "admin's"})).await;
    let members = api.create_task(&member.token, json!({"title": "member's"})).await;
    assert_eq!(members["created_by"], json!(member.user_id));
    let path = |t: &Value| format!("/api/v1/tasks/{}", t["id"].as_str().unwrap());

    let (status, problem) = api.call(Method::DELETE, &path(&admins), Some(&member.token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, _) = api.call(Method::GET, &path(&admins), Some(&member.token), None).await;
    assert_eq!(status, StatusCode::OK, "a refused delete deletes nothing");

    let (status, body) = api.call(Method::DELETE, &path(&members), Some(&member.token), None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, _) = api.call(Method::DELETE, &path(&admins), Some(&tenant.admin.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for task in [&admins, &members] {
        let (status, problem) = api.call(Method::GET, &path(task), Some(&tenant.admin.token), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(problem["status"], 404);
    }
    let (status, _) = api.call(Method::DELETE, &path(&admins), Some(&tenant.admin.token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx_and_stores_nothing() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let token = tenant.admin.token.as_str();
    let raw = |body: String| {
        api.request(Method::POST, "/api/v1/tasks", Some(token))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let cases: Vec<(String, StatusCode, Option<&str>)> = vec![
        ("{\"title\": ".into(), StatusCode::BAD_REQUEST, None),
        ("not json".into(), StatusCode::BAD_REQUEST, None),
        ("[]".into(), StatusCode::BAD_REQUEST, None),
        ("".into(), StatusCode::BAD_REQUEST, None),
        (r#"{"title": 42}"#.into(), StatusCode::UNPROCESSABLE_ENTITY, Some("title")),
        (r#"{"title": ""}"#.into(), StatusCode::UNPROCESSABLE_ENTITY, Some("title")),
        (format!(r#"{{"title": "{}"}}"#, "x".repeat(201)), StatusCode::UNPROCESSABLE_ENTITY, Some("title")),
        (r#"{"title": "t", "status": "blocked"}"#.into(), StatusCode::UNPROCESSABLE_ENTITY, Some("status")),
        (r#"{"title": "t", "priority": "urgent"}"#.into(), StatusCode::UNPROCESSABLE_ENTITY, Some("priority")),
        (r#"{"title": "t", "assignee_id": "nope"}"#.into(), StatusCode::UNPROCESSABLE_ENTITY, Some("assignee_id")),
        (r#"{"title": "t", "due_date": "soon"}"#.into(), StatusCode::UNPROCESSABLE_ENTITY, Some("due_date")),
        (r#"{"title": "t", "id": "x"}"#.into(), StatusCode::UNPROCESSABLE_ENTITY, Some("id")),
        (r#"{"title": "t", "organization_id": "x"}"#.into(), StatusCode::UNPROCESSABLE_ENTITY, Some("organization_id")),
        (r#"{"title": "t", "created_by": "x"}"#.into(), StatusCode::UNPROCESSABLE_ENTITY, Some("created_by")),
        (r#"{"title": "t", "version": 7}"#.into(), StatusCode::UNPROCESSABLE_ENTITY, Some("version")),
        (
            format!(r#"{{"title": "t", "description": "{}"}}"#, "x".repeat(70 * 1024)),
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
        ),
    ];
    for (body, expected, field) in cases {
        let (status, problem) = read(raw(body.clone()).await.unwrap()).await;
        let shown: String = body.chars().take(60).collect();
        assert_eq!(status, expected, "{shown}: {problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{shown}: {problem}");
        if let Some(field) = field {
            assert_eq!(problem["field"], field, "{shown}");
        }
    }
    let (status, _) = read(
        api.request(Method::POST, "/api/v1/tasks", Some(token))
            .header("Content-Type", "text/plain")
            .body("title=x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    for query in ["limit=0", "limit=101", "limit=ten", "status=blocked", "assignee_id=7", "cursor=abc", "cursor="] {
        let (status, problem) = api.call(Method::GET, &format!("/api/v1/tasks?{query}"), Some(token), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {problem}");
    }
    for path in ["/api/v1/tasks/not-a-uuid", "/api/v1/tasks/1234"] {
        for method in [Method::GET, Method::PATCH, Method::DELETE] {
            let (status, problem) = api.call(method.clone(), path, Some(token), Some(json!({"title": "x"}))).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {problem}");
        }
    }

    let (_, list) = api.call(Method::GET, "/api/v1/tasks", Some(token), None).await;
    assert_eq!(list["items"], json!([]), "no refused request stored anything");

    let task = api.create_task(token, json!({"title": "t"})).await;
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    for (body, field) in [
        (json!({}), "body"),
        (json!({"title": null}), "title"),
        (json!({"status": "nope"}), "status"),
        (json!({"version": 5}), "version"),
        (json!({"organization_id": tenant.org_id}), "organization_id"),
    ] {
        let (status, problem) = api.call(Method::PATCH, &path, Some(token), Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        assert_eq!(problem["field"], field, "{body}");
    }
    let (_, unchanged) = api.call(Method::GET, &path, Some(token), None).await;
    assert_eq!(unchanged, task);
}
