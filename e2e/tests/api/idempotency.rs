//! `Idempotency-Key`, tried as a client whose network fails at the worst moment: ten
//! identical POSTs at once, an answer lost after the write, a retry while the first still
//! runs, a key reused with another body or by another caller.

use e2e::{Api, Fault, MAIL_DEADLINE, eventually, mails_about, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// POSTs `body` to `path` with `key`: the status, the replay header and the body.
async fn post(api: &Api, path: &str, token: &str, key: &str, body: &Value) -> (StatusCode, Option<String>, Value) {
    let response = api
        .request(Method::POST, path, Some(token))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("the API answers");
    let replayed = response.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = e2e::read(response).await;
    (status, replayed, body)
}

/// The ids of the organization's tasks with this title.
async fn tasks_titled(api: &Api, token: &str, title: &str) -> Vec<String> {
    let (status, page) = api.call(Method::GET, "/api/v1/tasks?limit=100", Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["title"] == title)
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn ten_identical_posts_at_once_with_one_key_create_one_task_and_one_mail() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let title = format!("once {}", unique());
    let body = json!({"title": title});
    let key = uuid::Uuid::new_v4().to_string();
    // Every request in flight before the first answer is read.
    let requests: Vec<_> = (0..10)
        .map(|_| {
            let (api, token, key, body) = (api.clone(), tenant.admin.token.clone(), key.clone(), body.clone());
            tokio::spawn(async move { post(&api, "/api/v1/tasks", &token, &key, &body).await })
        })
        .collect();
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.unwrap());
    }

    let created: Vec<&Value> =
        answers.iter().filter(|(s, _, _)| *s == StatusCode::CREATED).map(|(_, _, b)| b).collect();
    assert!(!created.is_empty(), "no request created the task: {answers:?}");
    for (status, _, answer) in &answers {
        assert!(matches!(*status, StatusCode::CREATED | StatusCode::CONFLICT), "{status}: {answer}");
    }
    assert!(created.iter().all(|b| b["id"] == created[0]["id"]), "two tasks answered: {created:?}");
    assert_eq!(tasks_titled(&api, &tenant.admin.token, &title).await, [created[0]["id"].as_str().unwrap()]);

    // Later, the same request gets the first answer again, marked as such.
    let (status, replayed, again) = post(&api, "/api/v1/tasks", &tenant.admin.token, &key, &body).await;
    assert_eq!((status, replayed.as_deref()), (StatusCode::CREATED, Some("true")));
    assert_eq!(again, *created[0]);

    let mailed = eventually(MAIL_DEADLINE, || async { mails_about(&tenant.admin.email, &title).await >= 1 }).await;
    assert!(mailed, "no mail about the task");
    assert_eq!(mails_about(&tenant.admin.email, &title).await, 1, "one task, one mail");
}

#[tokio::test]
async fn an_answer_lost_after_the_write_is_given_again_and_a_retry_meanwhile_waits() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let title = format!("lost {}", unique());
    let body = json!({"title": title});
    let key = uuid::Uuid::new_v4().to_string();

    // The write is held for 15 s: a retry meanwhile is told the first still runs. (The retry
    // must arrive inside the hold; with the whole suite running at once it may start a new
    // instance of the function first, which took more than 3 s. The hold stays under the
    // stack's 20 s attempt timeout, so the SDK does not retry the held write.)
    let held = Fault::delay("DynamoDB_20120810.TransactWriteItems", &title, 15000, 1).await;
    let first = {
        let (api, token, key, body) = (api.clone(), tenant.admin.token.clone(), key.clone(), body.clone());
        tokio::spawn(async move { post(&api, "/api/v1/tasks", &token, &key, &body).await })
    };
    let reached = eventually(30, || async { held.hits().await == 1 }).await;
    assert!(reached, "the first request never reached its write");
    let response = api
        .request(Method::POST, "/api/v1/tasks", Some(&tenant.admin.token))
        .header("Idempotency-Key", &key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned()).as_deref(), Some("2"));
    let (status, problem) = e2e::read(response).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (status, _, created) = first.await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{created}");

    // Now the answer is lost after the write: the task is stored, and the function that wrote
    // it is held in its publish past the client's patience, as a client sees a crash there.
    let title = format!("crashed {}", unique());
    let body = json!({"title": title});
    let key = uuid::Uuid::new_v4().to_string();
    // Every attempt of the publish is held (the publisher gives up after 3 s, then leaves the
    // event to the outbox), longer than this client waits.
    let _slow_queue = Fault::delay("SNS.Publish", &tenant.org_id, 5000, 3).await;
    let impatient = reqwest::Client::builder().timeout(std::time::Duration::from_secs(2)).build().unwrap();
    let lost = impatient
        .post(api.url("/api/v1/tasks"))
        .bearer_auth(&tenant.admin.token)
        .header("Idempotency-Key", &key)
        .json(&body)
        .send()
        .await;
    assert!(lost.is_err(), "the client was meant to give up: {lost:?}");
    // The function goes on without its client: on a loaded stack it may reach the write only
    // after the client gave up (CI saw it), so the write is awaited, not assumed.
    let written = eventually(30, || async { !tasks_titled(&api, &tenant.admin.token, &title).await.is_empty() }).await;
    assert!(written, "the function whose client gave up never wrote the task");
    let stored = tasks_titled(&api, &tenant.admin.token, &title).await;
    assert_eq!(stored.len(), 1, "one request, one task");
    let (status, replayed, again) = post(&api, "/api/v1/tasks", &tenant.admin.token, &key, &body).await;
    assert_eq!((status, replayed.as_deref()), (StatusCode::CREATED, Some("true")), "{again}");
    assert_eq!(again["id"].as_str(), Some(stored[0].as_str()), "the retry names the task that was written");
    assert_eq!(tasks_titled(&api, &tenant.admin.token, &title).await.len(), 1, "no second task");
}

#[tokio::test]
async fn the_answer_is_recorded_with_the_task_itself_not_after_it() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let title = format!("atomic {}", unique());
    let body = json!({"title": title});
    let key = unique();
    // Every attempt of the update that records the answer after the handler fails, as if the
    // function had died there: only the task's own transaction can have recorded it.
    let refused = Fault::inject("DynamoDB_20120810.UpdateItem", &title, "error", 3).await;
    let (status, _, created) = post(&api, "/api/v1/tasks", &tenant.admin.token, &key, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(refused.hits().await, 3, "the update after the handler was refused");
    let (status, replayed, again) = post(&api, "/api/v1/tasks", &tenant.admin.token, &key, &body).await;
    assert_eq!((status, replayed.as_deref()), (StatusCode::CREATED, Some("true")), "{again}");
    assert_eq!(again["id"], created["id"]);
    assert_eq!(tasks_titled(&api, &tenant.admin.token, &title).await.len(), 1);
}

#[tokio::test]
async fn a_key_belongs_to_one_request_of_one_caller() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let member = api.member(&tenant).await;
    let key = format!("\"{}\"", unique());
    let title = format!("mine {}", unique());
    let (status, _, mine) = post(&api, "/api/v1/tasks", &tenant.admin.token, &key, &json!({"title": title})).await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");

    // Another body with the same key: refused, and nothing written.
    let (status, _, problem) =
        post(&api, "/api/v1/tasks", &tenant.admin.token, &key, &json!({"title": format!("{title} changed")})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "Idempotency-Key");
    assert!(tasks_titled(&api, &tenant.admin.token, &format!("{title} changed")).await.is_empty());

    // The same key and body from another caller is their own request.
    let (status, replayed, theirs) = post(&api, "/api/v1/tasks", &member.token, &key, &json!({"title": title})).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, None), "{theirs}");
    assert_ne!(theirs["id"], mine["id"]);

    // Malformed keys are refused; no key works as before, twice.
    for bad in ["", "has space", &"k".repeat(256)] {
        let (status, _, problem) = post(&api, "/api/v1/tasks", &tenant.admin.token, bad, &json!({"title": "x"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}: {problem}");
    }
    let plain = format!("plain {}", unique());
    for _ in 0..2 {
        api.create_task(&tenant.admin.token, json!({"title": plain})).await;
    }
    assert_eq!(tasks_titled(&api, &tenant.admin.token, &plain).await.len(), 2);

    // A refusal is kept too: the same request again gets the same 422, not a new attempt.
    let key = unique();
    let bad_assignee = json!({"title": "t", "assignee_id": uuid::Uuid::now_v7()});
    let (first, _, _) = post(&api, "/api/v1/tasks", &tenant.admin.token, &key, &bad_assignee).await;
    let (second, replayed, _) = post(&api, "/api/v1/tasks", &tenant.admin.token, &key, &bad_assignee).await;
    assert_eq!(
        (first, second, replayed.as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::UNPROCESSABLE_ENTITY, Some("true"))
    );
}

#[tokio::test]
async fn another_sessions_logout_with_a_reused_key_is_refused_not_replayed() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let (_, first) = api.login(&tenant.admin.email, e2e::PASSWORD).await;
    let (_, second) = api.login(&tenant.admin.email, e2e::PASSWORD).await;
    let token = |session: &Value| session["access_token"].as_str().unwrap().to_owned();
    let key = unique();
    let (status, _, _) = post(&api, "/api/v1/auth/logout", &token(&first), &key, &json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, replayed, problem) = post(&api, "/api/v1/auth/logout", &token(&second), &key, &json!({})).await;
    assert_eq!((status, replayed), (StatusCode::UNPROCESSABLE_ENTITY, None), "{problem}");
    // The second session was not logged out by a replay of the first's answer.
    let (status, _) = api.refresh(second["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.refresh(first["refresh_token"].as_str().unwrap()).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_invitation_sent_twice_with_one_key_is_one_invitation_and_one_mail() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let invitee = format!("once-{}@example.com", unique());
    let body = json!({"email": invitee, "role": "member"});
    let key = unique();
    let (status, _, first) = post(&api, "/api/v1/invitations", &tenant.admin.token, &key, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, replayed, second) = post(&api, "/api/v1/invitations", &tenant.admin.token, &key, &body).await;
    assert_eq!((status, replayed.as_deref()), (StatusCode::CREATED, Some("true")));
    assert_eq!(second["id"], first["id"]);
    let (_, list) = api.call(Method::GET, "/api/v1/invitations", Some(&tenant.admin.token), None).await;
    let pending = list["items"].as_array().unwrap().iter().filter(|i| i["email"] == invitee.as_str()).count();
    assert_eq!(pending, 1);
    let mailed = eventually(MAIL_DEADLINE, || async { e2e::mails_to(&invitee).await.len() == 1 }).await;
    assert!(mailed, "no invitation mail");
}
