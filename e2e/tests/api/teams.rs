//! Teams: members, invitations by mail, refresh sessions, and login throttling.

use e2e::{Api, PASSWORD, Tenant, eventually, invitation_token, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn accept(api: &Api, token: &str, password: &str) -> (StatusCode, Value) {
    api.call(Method::POST, "/api/v1/auth/accept-invitation", None, Some(json!({"token": token, "password": password})))
        .await
}

/// A member who joined through an invitation mail, logged in, with their refresh token.
async fn invited_member(api: &Api, tenant: &Tenant) -> (String, Value) {
    let email = format!("invitee-{}@example.com", unique());
    api.invite(tenant, &email, "member").await;
    let token = invitation_token(&email).await;
    let (status, accepted) = accept(api, &token, "invitee-pass").await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    (email, accepted)
}

#[tokio::test]
async fn an_invitee_joins_by_mail_and_works_as_a_member() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let task = api.create_task(&tenant.admin.token, json!({"title": "team work"})).await;
    let email = format!("Invitee-{}@Example.com", unique());
    let invitation = api.invite(&tenant, &email, "member").await;
    assert_eq!(invitation["email"], email.to_lowercase());
    assert_eq!(invitation["role"], "member");
    assert!(invitation.get("token").is_none() && invitation.get("token_hash").is_none(), "{invitation}");
    let (_, pending) = api.call(Method::GET, "/api/v1/invitations", Some(&tenant.admin.token), None).await;
    assert_eq!(pending["items"][0]["id"], invitation["id"]);

    let token = invitation_token(&email.to_lowercase()).await;
    let (status, accepted) = accept(&api, &token, "invitee-pass").await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    assert_eq!(accepted["user"]["role"], "member");
    assert_eq!(accepted["user"]["organization_id"], json!(tenant.org_id));
    assert!(accepted["refresh_token"].as_str().is_some_and(|t| t.len() == 43));

    // The token works once; the invitation is no longer pending.
    let reused = accept(&api, &token, "invitee-pass").await;
    assert_eq!(reused.0, StatusCode::BAD_REQUEST);
    let (_, pending) = api.call(Method::GET, "/api/v1/invitations", Some(&tenant.admin.token), None).await;
    assert_eq!(pending["items"], json!([]));

    // The new member logs in, sees the organization's tasks, and is refused admin actions.
    let (status, login) = api.login(&email, "invitee-pass").await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let member = login["access_token"].as_str().unwrap().to_owned();
    let (status, list) = api.call(Method::GET, "/api/v1/tasks", Some(&member), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"][0]["id"], task["id"]);
    let admin_path = format!("/api/v1/users/{}", tenant.admin.user_id);
    for (method, path, body) in [
        (Method::PATCH, "/api/v1/organizations/me", Some(json!({"name": "Mine"}))),
        (Method::POST, "/api/v1/invitations", Some(json!({"email": "x@example.com", "role": "admin"}))),
        (Method::GET, "/api/v1/invitations", None),
        (Method::PATCH, admin_path.as_str(), Some(json!({"role": "member"}))),
        (Method::DELETE, admin_path.as_str(), None),
    ] {
        let (status, problem) = api.call(method.clone(), path, Some(&member), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {problem}");
    }
    let (status, admin) = api.call(Method::GET, &admin_path, Some(&member), None).await;
    assert_eq!((status, &admin["role"]), (StatusCode::OK, &json!("admin")), "members may read members");
}

#[tokio::test]
async fn expired_revoked_and_reused_invitations_get_the_same_answer() {
    let api = Api::from_env();
    let tenant = api.tenant().await;

    let revoked_email = format!("revoked-{}@example.com", unique());
    let revoked = api.invite(&tenant, &revoked_email, "member").await;
    let revoked_token = invitation_token(&revoked_email).await;
    let path = format!("/api/v1/invitations/{}", revoked["id"].as_str().unwrap());
    let (status, _) = api.call(Method::DELETE, &path, Some(&tenant.admin.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api.call(Method::DELETE, &path, Some(&tenant.admin.token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let used_email = format!("used-{}@example.com", unique());
    api.invite(&tenant, &used_email, "member").await;
    let used_token = invitation_token(&used_email).await;
    assert_eq!(accept(&api, &used_token, "first-pass").await.0, StatusCode::CREATED);

    let expired_token = api.expired_invitation(&tenant).await;

    let answers = [
        accept(&api, &revoked_token, "some-pass").await,
        accept(&api, &used_token, "some-pass").await,
        accept(&api, &expired_token, "some-pass").await,
        accept(&api, &"A".repeat(43), "some-pass").await,
    ];
    assert_eq!(answers[0].0, StatusCode::BAD_REQUEST, "{answers:?}");
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
}

#[tokio::test]
async fn an_invitation_whose_email_registered_meanwhile_ends_in_409() {
    // An invitation to an address that has an account mails that person a notice, not a
    // token (tests/authorization.rs); this is the race: the address registers an
    // organization of its own after its invitation was mailed.
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let email = format!("both-{}@example.com", unique());
    api.invite(&tenant, &email, "member").await;
    let token = invitation_token(&email).await;
    let (status, _) = api.register(&email, &format!("org-{}", unique())).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, problem) = accept(&api, &token, "another-pass").await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
}

#[tokio::test]
async fn the_last_admin_can_be_neither_demoted_nor_removed() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let admin = tenant.admin.token.as_str();
    let me = format!("/api/v1/users/{}", tenant.admin.user_id);
    let (status, problem) = api.call(Method::PATCH, &me, Some(admin), Some(json!({"role": "member"}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (status, _) = api.call(Method::DELETE, &me, Some(admin), None).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // With a second admin, the first may step down; then the second is the last.
    let member = api.member(&tenant).await;
    let theirs = format!("/api/v1/users/{}", member.user_id);
    let (status, promoted) = api.call(Method::PATCH, &theirs, Some(admin), Some(json!({"role": "admin"}))).await;
    assert_eq!((status, &promoted["role"]), (StatusCode::OK, &json!("admin")));
    let (status, _) = api.call(Method::PATCH, &me, Some(admin), Some(json!({"role": "member"}))).await;
    assert_eq!(status, StatusCode::OK);
    let new_admin = api.token(&member.email).await;
    let (status, _) = api.call(Method::PATCH, &theirs, Some(&new_admin), Some(json!({"role": "member"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = api.call(Method::DELETE, &theirs, Some(&new_admin), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    for bad in [json!({"role": "owner"}), json!({}), json!({"role": "admin", "email": "x@y.z"})] {
        let (status, _) = api.call(Method::PATCH, &theirs, Some(&new_admin), Some(bad.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn a_removed_member_loses_access_and_their_tasks_are_unassigned() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let (email, accepted) = invited_member(&api, &tenant).await;
    let member_id = accepted["user"]["id"].as_str().unwrap().to_owned();
    let member_token = accepted["access_token"].as_str().unwrap().to_owned();
    let refresh = accepted["refresh_token"].as_str().unwrap().to_owned();
    let assigned =
        api.create_task(&tenant.admin.token, json!({"title": "theirs to do", "assignee_id": member_id})).await;
    let created = api.create_task(&member_token, json!({"title": "made by them"})).await;

    let path = format!("/api/v1/users/{member_id}");
    let (status, _) = api.call(Method::DELETE, &path, Some(&tenant.admin.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, _) = api.call(Method::GET, &path, Some(&tenant.admin.token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(api.login(&email, "invitee-pass").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.refresh(&refresh).await.0, StatusCode::UNAUTHORIZED);

    let task_path = |t: &Value| format!("/api/v1/tasks/{}", t["id"].as_str().unwrap());
    let (_, now_assigned) = api.call(Method::GET, &task_path(&assigned), Some(&tenant.admin.token), None).await;
    assert_eq!(now_assigned["assignee_id"], Value::Null);
    let (status, still) = api.call(Method::GET, &task_path(&created), Some(&tenant.admin.token), None).await;
    assert_eq!((status, &still["created_by"]), (StatusCode::OK, &json!(member_id)), "their tasks stay");
    let (_, members) = api.call(Method::GET, "/api/v1/users", Some(&tenant.admin.token), None).await;
    assert!(!members["items"].as_array().unwrap().iter().any(|u| u["id"] == json!(member_id)));
}

#[tokio::test]
async fn members_are_listed_in_pages() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    for _ in 0..3 {
        api.member(&tenant).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", "2".to_owned())];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let response =
            api.request(Method::GET, "/api/v1/users", Some(&tenant.admin.token)).query(&query).send().await.unwrap();
        let (status, page) = e2e::read(response).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(page["items"].as_array().unwrap().iter().map(|u| u["id"].clone()));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (4, 2));
    assert!(seen.contains(&json!(tenant.admin.user_id)));
}

#[tokio::test]
async fn refresh_rotates_and_a_replayed_token_revokes_the_session() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let (_, login) = api.login(&tenant.admin.email, PASSWORD).await;
    let first = login["refresh_token"].as_str().unwrap().to_owned();

    let (status, rotated) = api.refresh(&first).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    let (status, _) = api.call(Method::GET, "/api/v1/auth/me", rotated["access_token"].as_str(), None).await;
    assert_eq!(status, StatusCode::OK);

    // Replaying the rotated token is theft: it fails, and so does its successor.
    assert_eq!(api.refresh(&first).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.refresh(&second).await.0, StatusCode::UNAUTHORIZED);
    for garbage in ["", "nope", &"B".repeat(43)] {
        assert_eq!(api.refresh(garbage).await.0, StatusCode::UNAUTHORIZED, "{garbage}");
    }
}

#[tokio::test]
async fn logout_ends_one_session_and_logout_all_ends_every_one() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let (_, login) = api.login(&tenant.admin.email, PASSWORD).await;
        sessions.push((
            login["access_token"].as_str().unwrap().to_owned(),
            login["refresh_token"].as_str().unwrap().to_owned(),
        ));
    }
    let (status, _) = api.call(Method::POST, "/api/v1/auth/logout", Some(&sessions[0].0), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(api.refresh(&sessions[0].1).await.0, StatusCode::UNAUTHORIZED);
    let (status, still) = api.refresh(&sessions[1].1).await;
    assert_eq!(status, StatusCode::OK, "other sessions live on");

    let (status, _) = api.call(Method::POST, "/api/v1/auth/logout-all", Some(&sessions[2].0), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(api.refresh(still["refresh_token"].as_str().unwrap()).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.refresh(&sessions[2].1).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_every_session() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let (_, login) = api.login(&tenant.admin.email, PASSWORD).await;
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();
    let token = Some(tenant.admin.token.as_str());

    let wrong = json!({"current_password": "not-the-password", "new_password": "brand-new-pass"});
    assert_eq!(api.call(Method::POST, "/api/v1/auth/password", token, Some(wrong)).await.0, StatusCode::UNAUTHORIZED);
    let short = json!({"current_password": PASSWORD, "new_password": "short"});
    assert_eq!(
        api.call(Method::POST, "/api/v1/auth/password", token, Some(short)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let change = json!({"current_password": PASSWORD, "new_password": "brand-new-pass"});
    assert_eq!(api.call(Method::POST, "/api/v1/auth/password", token, Some(change)).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.login(&tenant.admin.email, PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.login(&tenant.admin.email, "brand-new-pass").await.0, StatusCode::OK);
    assert_eq!(api.refresh(&refresh).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_role_change_reaches_refresh_at_once() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let (_, accepted) = invited_member(&api, &tenant).await;
    let old_access = accepted["access_token"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/users/{}", accepted["user"]["id"].as_str().unwrap());
    let (status, _) = api.call(Method::PATCH, &path, Some(&tenant.admin.token), Some(json!({"role": "admin"}))).await;
    assert_eq!(status, StatusCode::OK);

    let rename = || Some(json!({"name": format!("Renamed {}", unique())}));
    let (status, _) = api.call(Method::PATCH, "/api/v1/organizations/me", Some(&old_access), rename()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an access token keeps its role until it expires");
    let (_, refreshed) = api.refresh(accepted["refresh_token"].as_str().unwrap()).await;
    let (status, _) =
        api.call(Method::PATCH, "/api/v1/organizations/me", refreshed["access_token"].as_str(), rename()).await;
    assert_eq!(status, StatusCode::OK, "the refreshed token carries the new role");
}

#[tokio::test]
async fn failed_logins_are_throttled_per_email_until_the_window_passes() {
    let api = Api::from_env();
    let window = e2e::throttle_window();
    // All ten failures and the refusal in one window (a run that outlasts it is made again).
    let (tenant, failures, response) = e2e::in_one_window(&api, |tenant| {
        let api = api.clone();
        async move {
            let mut failures = Vec::new();
            for _ in 1..=10 {
                failures.push(api.login(&tenant.admin.email, "wrong-password").await.0);
            }
            let response = api
                .request(Method::POST, "/api/v1/auth/login", None)
                .json(&json!({"email": tenant.admin.email, "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            (tenant, failures, response)
        }
    })
    .await;
    assert!(failures.iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{failures:?}");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password is refused");
    let retry_after: i64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=window).contains(&retry_after), "{retry_after}");
    let (_, problem) = e2e::read(response).await;
    assert_eq!(problem["status"], 429);

    // Other accounts are not affected, and the account recovers after the window.
    let other = api.tenant().await;
    assert_eq!(api.login(&other.admin.email, PASSWORD).await.0, StatusCode::OK);
    let recovered = eventually(u64::try_from(window).unwrap() + 5, || async {
        api.login(&tenant.admin.email, PASSWORD).await.0 == StatusCode::OK
    })
    .await;
    assert!(recovered, "the window passed but login is still refused");
}

/// The per-address limit, in-process: the stack raises it (every test logs in from
/// 127.0.0.1), so this calls the login handler with limits and an address of its own.
#[tokio::test]
async fn failed_logins_are_throttled_per_source_address_across_emails() {
    use lambda_http::RequestExt;
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use lambda_http::request::RequestContext;

    let api = Api::from_env();
    let tenant = api.tenant().await;
    let sdk = taskflow::config::sdk_config().await.expect("SDK configuration");
    let store = taskflow::config::store(&sdk);
    let issuer = taskflow::config::token_issuer(&sdk).await.unwrap();
    let limits = taskflow::auth::PasswordLimits {
        window_seconds: 3600,
        max_failures_per_email_and_address: 100,
        max_failures_per_email: 100,
        max_failures_per_address: 3,
    };
    let address = format!("198.51.100.{}", rand_octet());
    let login = |email: String, password: &'static str| {
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.http.source_ip = Some(address.clone());
        lambda_http::http::Request::builder()
            .method("POST")
            .uri("/api/v1/auth/login")
            .header("Content-Type", "application/json")
            .body(lambda_http::Body::Text(json!({"email": email, "password": password}).to_string()))
            .unwrap()
            .with_request_context(RequestContext::ApiGatewayV2(context))
    };
    let status = |r: Result<lambda_http::Response<lambda_http::Body>, taskflow::http::ApiError>| match r {
        Ok(response) => response.status().as_u16(),
        Err(e) => e.status().as_u16(),
    };
    for _ in 0..3 {
        let email = format!("spray-{}@example.com", unique());
        assert_eq!(
            status(taskflow::api::auth::login(&store, &issuer, &limits, login(email, "wrong-password")).await),
            401
        );
    }
    let right = taskflow::api::auth::login(&store, &issuer, &limits, login(tenant.admin.email.clone(), PASSWORD)).await;
    assert_eq!(status(right), 429, "the address is blocked for every email");
}

fn rand_octet() -> u8 {
    u8::from_str_radix(&unique()[..2], 16).unwrap_or(7).max(1)
}
