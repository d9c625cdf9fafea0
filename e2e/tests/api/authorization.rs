//! Authorization that holds over time, tried as a hostile insider would: act, be demoted or
//! removed, and replay the token one still holds; guess passwords concurrently; lock the
//! owner out; use invitations as a mail cannon.

use e2e::{Api, Caller, MAIL_DEADLINE, PASSWORD, Tenant, eventually, invitation_token, mails_about, mails_to, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A second admin of `tenant` (promoted by the first), logged in after the promotion, so
/// their access token says `admin`; with their refresh token.
async fn second_admin(api: &Api, tenant: &Tenant) -> (Caller, String) {
    let member = api.member(tenant).await;
    let path = format!("/api/v1/users/{}", member.user_id);
    let (status, body) =
        api.call(Method::PATCH, &path, Some(&tenant.admin.token), Some(json!({"role": "admin"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, login) = api.login(&member.email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let token = login["access_token"].as_str().unwrap().to_owned();
    let claims = e2e::verifier().verify(&token).unwrap();
    assert_eq!(claims.role(), taskflow::domain::Role::Admin, "the new token carries the new role");
    (Caller { token, ..member }, login["refresh_token"].as_str().unwrap().to_owned())
}

async fn set_role(api: &Api, tenant: &Tenant, user_id: &str, role: &str) {
    let path = format!("/api/v1/users/{user_id}");
    let (status, body) = api.call(Method::PATCH, &path, Some(&tenant.admin.token), Some(json!({"role": role}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Every admin-only write, as (method, path, body), aimed at things that exist.
async fn admin_writes(api: &Api, tenant: &Tenant, victim: &Caller) -> Vec<(Method, String, Option<Value>)> {
    let invitation = api.invite(tenant, &format!("pending-{}@example.com", unique()), "member").await;
    let task = api.create_task(&tenant.admin.token, json!({"title": "the first admin's"})).await;
    vec![
        (Method::PATCH, format!("/api/v1/users/{}", victim.user_id), Some(json!({"role": "member"}))),
        (Method::DELETE, format!("/api/v1/users/{}", victim.user_id), None),
        (
            Method::POST,
            "/api/v1/invitations".into(),
            Some(json!({"email": format!("x-{}@example.com", unique()), "role": "admin"})),
        ),
        (Method::DELETE, format!("/api/v1/invitations/{}", invitation["id"].as_str().unwrap()), None),
        (Method::PATCH, "/api/v1/organizations/me".into(), Some(json!({"name": "Taken over"}))),
        // Deleting someone else's task is an admin's power too.
        (Method::DELETE, format!("/api/v1/tasks/{}", task["id"].as_str().unwrap()), None),
    ]
}

#[tokio::test]
async fn a_demoted_admins_old_token_can_no_longer_use_admin_powers() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let (b, _) = second_admin(&api, &tenant).await;
    set_role(&api, &tenant, &b.user_id, "member").await;

    // B's token still says admin, and still verifies.
    let own = format!("/api/v1/users/{}", b.user_id);
    let (status, problem) = api.call(Method::PATCH, &own, Some(&b.token), Some(json!({"role": "admin"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "re-promoting oneself: {problem}");
    for (method, path, body) in admin_writes(&api, &tenant, &tenant.admin).await {
        let (status, problem) = api.call(method.clone(), &path, Some(&b.token), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {problem}");
    }
    let (_, stored) = api.call(Method::GET, &own, Some(&tenant.admin.token), None).await;
    assert_eq!(stored["role"], "member", "nothing re-promoted B");
    let (_, admin) =
        api.call(Method::GET, &format!("/api/v1/users/{}", tenant.admin.user_id), Some(&b.token), None).await;
    assert_eq!(admin["role"], "admin", "nothing demoted A");
    let (_, org) = api.call(Method::GET, "/api/v1/organizations/me", Some(&b.token), None).await;
    assert_ne!(org["name"], "Taken over");

    // What a member may do, B still may: create tasks and delete their own.
    let (status, mine) = api.call(Method::POST, "/api/v1/tasks", Some(&b.token), Some(json!({"title": "mine"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let mine = format!("/api/v1/tasks/{}", mine["id"].as_str().unwrap());
    assert_eq!(api.call(Method::DELETE, &mine, Some(&b.token), None).await.0, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_removed_users_old_token_gets_401_on_every_write() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let (b, refresh) = second_admin(&api, &tenant).await;
    let own_task = api.create_task(&b.token, json!({"title": "b's own"})).await;
    let (status, _) =
        api.call(Method::DELETE, &format!("/api/v1/users/{}", b.user_id), Some(&tenant.admin.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let own_task_path = format!("/api/v1/tasks/{}", own_task["id"].as_str().unwrap());
    let mut writes = admin_writes(&api, &tenant, &tenant.admin).await;
    writes.extend([
        (Method::POST, "/api/v1/tasks".to_owned(), Some(json!({"title": "after removal"}))),
        (Method::PATCH, own_task_path.clone(), Some(json!({"title": "edited after removal"}))),
        (Method::DELETE, own_task_path.clone(), None),
    ]);
    for (method, path, body) in writes {
        let (status, problem) = api.call(method.clone(), &path, Some(&b.token), body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {problem}");
    }
    // Nothing was written: the task is unchanged, no invitation was added, A is still there.
    let (_, pending) = api.call(Method::GET, "/api/v1/invitations?limit=100", Some(&tenant.admin.token), None).await;
    assert!(
        pending["items"].as_array().unwrap().iter().all(|i| !i["email"].as_str().unwrap().starts_with("x-")),
        "{pending}"
    );
    let (_, task) = api.call(Method::GET, &own_task_path, Some(&tenant.admin.token), None).await;
    assert_eq!(task["title"], "b's own");
    let (_, admin) = api
        .call(Method::GET, &format!("/api/v1/users/{}", tenant.admin.user_id), Some(&tenant.admin.token), None)
        .await;
    assert_eq!(admin["role"], "admin");
    // Removal ended B's sessions; reads keep the token's window (README, Security).
    assert_eq!(api.refresh(&refresh).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.call(Method::GET, "/api/v1/tasks", Some(&b.token), None).await.0, StatusCode::OK);
    assert_eq!(api.call(Method::GET, "/api/v1/auth/me", Some(&b.token), None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn invitations_of_an_admin_who_is_demoted_or_removed_can_no_longer_be_accepted() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    for demote in [true, false] {
        let (b, _) = second_admin(&api, &tenant).await;
        let email = format!("backdoor-{}@example.com", unique());
        let (status, _) = api
            .call(Method::POST, "/api/v1/invitations", Some(&b.token), Some(json!({"email": email, "role": "admin"})))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let token = invitation_token(&email).await;
        if demote {
            set_role(&api, &tenant, &b.user_id, "member").await;
        } else {
            let path = format!("/api/v1/users/{}", b.user_id);
            assert_eq!(
                api.call(Method::DELETE, &path, Some(&tenant.admin.token), None).await.0,
                StatusCode::NO_CONTENT
            );
        }
        let (_, pending) = api.call(Method::GET, "/api/v1/invitations", Some(&tenant.admin.token), None).await;
        assert!(
            !pending["items"].as_array().unwrap().iter().any(|i| i["email"] == email),
            "the list shows no invitation that cannot be accepted: {pending}"
        );
        let (status, _) = api
            .call(
                Method::POST,
                "/api/v1/auth/accept-invitation",
                None,
                Some(json!({"token": token, "password": "backdoor-pass"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "demoted: {demote}");
    }
}

fn count(statuses: &[StatusCode], wanted: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == wanted).count()
}

#[tokio::test]
async fn concurrent_wrong_logins_get_at_most_the_limit_of_401s() {
    let api = Api::from_env();
    let statuses = e2e::in_one_window(&api, |tenant| {
        let api = api.clone();
        async move {
            let attempts = (0..40).map(|_| {
                let api = api.clone();
                let email = tenant.admin.email.clone();
                tokio::spawn(async move { api.login(&email, "wrong-password").await.0 })
            });
            let mut statuses = Vec::new();
            for attempt in attempts {
                statuses.push(attempt.await.unwrap());
            }
            statuses
        }
    })
    .await;
    let limit: usize = std::env::var("TASKFLOW_PASSWORD_MAX_FAILURES").map_or(10, |v| v.parse().unwrap());
    assert_eq!(count(&statuses, StatusCode::UNAUTHORIZED), limit, "{statuses:?}");
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 40 - limit, "{statuses:?}");
}

#[tokio::test]
async fn a_stolen_access_token_is_no_password_guessing_oracle() {
    let api = Api::from_env();
    let change = |current: &str| json!({"current_password": current, "new_password": "brand-new-pass"});
    let (statuses, right_password, retry_after, login) = e2e::in_one_window(&api, |tenant| {
        let api = api.clone();
        async move {
            let mut statuses = Vec::new();
            for _ in 0..15 {
                let (status, _) = api
                    .call(
                        Method::POST,
                        "/api/v1/auth/password",
                        Some(&tenant.admin.token),
                        Some(change("wrong-password")),
                    )
                    .await;
                statuses.push(status);
            }
            let response = api
                .request(Method::POST, "/api/v1/auth/password", Some(&tenant.admin.token))
                .json(&change(PASSWORD))
                .send()
                .await
                .unwrap();
            let retry_after = response.headers().contains_key("retry-after");
            (statuses, response.status(), retry_after, api.login(&tenant.admin.email, PASSWORD).await.0)
        }
    })
    .await;
    assert_eq!(count(&statuses[..10], StatusCode::UNAUTHORIZED), 10, "{statuses:?}");
    assert_eq!(count(&statuses[10..], StatusCode::TOO_MANY_REQUESTS), 5, "{statuses:?}");
    assert_eq!(right_password, StatusCode::TOO_MANY_REQUESTS, "login and password change share the throttle");
    assert!(retry_after);
    assert_eq!(login, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn inviting_an_address_that_has_an_account_answers_like_any_invitation_and_tells_that_person() {
    // An organization must not learn from an invitation whether an address has an account
    // (in its own organization or another): the answer, the list and the quota are those of
    // any invitation; the person is mailed a notice without a token instead.
    let api = Api::from_env();
    let (tenant, other) = (api.tenant().await, api.tenant().await);
    let stranger = format!("nobody-{}@example.com", unique());
    let mut answers = Vec::new();
    for email in [other.admin.email.clone(), other.admin.email.to_uppercase(), stranger.clone()] {
        let (status, invitation) = api
            .call(
                Method::POST,
                "/api/v1/invitations",
                Some(&tenant.admin.token),
                Some(json!({"email": email, "role": "member"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{email}: {invitation}");
        let keys: Vec<String> = invitation.as_object().unwrap().keys().cloned().collect();
        answers.push(keys);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "the answers have one shape: {answers:?}");
    let (_, pending) = api.call(Method::GET, "/api/v1/invitations", Some(&tenant.admin.token), None).await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 3, "all three pending alike: {pending}");

    // The stranger gets a token; the account holder a notice, with no token in it.
    invitation_token(&stranger).await;
    let notice = "An invitation to an address that has an account";
    assert!(eventually(MAIL_DEADLINE, || async { mails_about(&other.admin.email, notice).await == 2 }).await);
    for mail in mails_to(&other.admin.email).await {
        let subject = mail["subject"].as_str().unwrap_or_default();
        assert!(!subject.contains("You are invited"), "no accepting mail: {subject}");
        if subject.contains(notice) {
            assert!(!mail["body"].as_str().unwrap().contains("<code>"), "no token in the notice");
        }
    }
}

#[tokio::test]
async fn an_organization_has_a_daily_invitation_quota() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let quota: usize = std::env::var("TASKFLOW_INVITATIONS_PER_DAY").map_or(50, |v| v.parse().unwrap());
    let invite = |email: String| {
        let (api, token) = (api.clone(), tenant.admin.token.clone());
        async move {
            let body = json!({"email": email, "role": "member"});
            api.request(Method::POST, "/api/v1/invitations", Some(&token)).json(&body).send().await.unwrap()
        }
    };
    // Concurrently, so that a quota read before it is written would be overshot.
    let sent: Vec<_> = (0..quota + 3).map(|i| tokio::spawn(invite(format!("q{i}-{}@example.com", unique())))).collect();
    let mut statuses = Vec::new();
    for response in sent {
        let response = response.await.unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=86_400).contains(&retry_after), "until the next UTC day: {retry_after}");
        }
        statuses.push(response.status());
    }
    assert_eq!(count(&statuses, StatusCode::CREATED), quota, "{statuses:?}");
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 3, "{statuses:?}");
    // Another organization's quota is its own.
    let other = api.tenant().await;
    api.invite(&other, &format!("elsewhere-{}@example.com", unique()), "member").await;
}

#[tokio::test]
async fn pending_invitations_page_with_a_signed_cursor() {
    let api = Api::from_env();
    let (tenant, other) = (api.tenant().await, api.tenant().await);
    let mut invited = Vec::new();
    for i in 0..5 {
        invited.push(api.invite(&tenant, &format!("page{i}-{}@example.com", unique()), "member").await["id"].clone());
    }
    invited.reverse(); // newest first
    let mut seen = Vec::new();
    let mut path = "/api/v1/invitations?limit=2".to_owned();
    loop {
        let (status, page) = api.call(Method::GET, &path, Some(&tenant.admin.token), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(page["items"].as_array().unwrap().iter().map(|i| i["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                // Another tenant cannot replay it, and a tampered one is refused.
                let replay = format!("/api/v1/invitations?cursor={cursor}");
                assert_eq!(
                    api.call(Method::GET, &replay, Some(&other.admin.token), None).await.0,
                    StatusCode::BAD_REQUEST
                );
                let tampered = format!("/api/v1/invitations?cursor={}x", cursor);
                assert_eq!(
                    api.call(Method::GET, &tampered, Some(&tenant.admin.token), None).await.0,
                    StatusCode::BAD_REQUEST
                );
                path = format!("/api/v1/invitations?limit=2&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(seen, invited);
}

/// The real handler, in-process, publishing to a topic of the test's own (the stack's queues
/// are drained by their consumers), so the message it queued can be read as it was sent.
#[tokio::test]
async fn no_invitation_token_is_stored_or_queued_in_clear() {
    use lambda_http::Body;
    use taskflow::domain::events::{Event, EventKind};

    let api = Api::from_env();
    let tenant = api.tenant().await;
    let sdk = taskflow::config::sdk_config().await.unwrap();
    let probe = e2e::ProbeTopic::new().await;
    let app = taskflow::app::App::from_env(&sdk).unwrap();
    let publisher = &probe.publisher;
    let key = taskflow::config::mail_token_key(&sdk).await.unwrap();
    let inviter = taskflow::api::invitations::Inviter { key, quota: taskflow::config::invitation_quota().unwrap() };
    let email = format!("secret-{}@example.com", unique());
    let request = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/api/v1/invitations")
        .header("Authorization", format!("Bearer {}", tenant.admin.token))
        .header("Content-Type", "application/json")
        .body(Body::Text(json!({"email": email, "role": "member"}).to_string()))
        .unwrap();
    let response = taskflow::api::invitations::create(&app, publisher, &inviter, request).await.unwrap();
    assert_eq!(response.status(), 201);

    let bodies = probe.received().await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let event = Event::parse(&bodies[0]).unwrap();
    let EventKind::InvitationCreated { invitation_id, nonce } = &event.kind else { panic!("{event:?}") };
    // The token the mailer will compute from this message: the real one (it is accepted below).
    let token = inviter.key.token(taskflow::auth::MailTokenPurpose::Invitation, invitation_id, nonce);
    let token = token.expose();
    assert!(!bodies[0].contains(token), "the token is queued in clear: {}", bodies[0]);

    // Every item of the table (a test may scan; request paths never do).
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = taskflow::config::table_name();
    let (mut start, mut items) = (None, 0);
    loop {
        let out = dynamodb.scan().table_name(&table).set_exclusive_start_key(start.take()).send().await.unwrap();
        for item in out.items.unwrap_or_default() {
            items += 1;
            let text = format!("{item:?}");
            assert!(!text.contains(token), "the token is stored in clear: {text}");
        }
        match out.last_evaluated_key {
            Some(key) => start = Some(key),
            None => break,
        }
    }
    assert!(items > 0);
    let accepted = api
        .call(
            Method::POST,
            "/api/v1/auth/accept-invitation",
            None,
            Some(json!({"token": token, "password": "secret-pass"})),
        )
        .await;
    assert_eq!(accepted.0, StatusCode::CREATED, "the token looked for is the real one: {}", accepted.1);
}

#[tokio::test]
async fn throttled_from_one_address_the_owner_still_logs_in_from_another() {
    let api = Api::from_env();
    let (attacker, owner) = ("127.0.0.2", "127.0.0.3");
    let (guesses, attacker_right, (owner_status, owner_body), attacker_after) = e2e::in_one_window(&api, |tenant| {
        let api = api.clone();
        async move {
            let login = |password: &str, from: &'static str| {
                let body = json!({"email": tenant.admin.email, "password": password});
                let api = api.clone();
                async move { api.invoke("auth-login", Method::POST, "/api/v1/auth/login", body, from).await }
            };
            let mut guesses = Vec::new();
            for _ in 0..10 {
                guesses.push(login("wrong-password", attacker).await.0);
            }
            let attacker_right = login(PASSWORD, attacker).await;
            let owner = login(PASSWORD, owner).await;
            (guesses, attacker_right, owner, login(PASSWORD, attacker).await.0)
        }
    })
    .await;
    assert_eq!(count(&guesses, StatusCode::UNAUTHORIZED), 10, "{guesses:?}");
    assert_eq!(
        attacker_right.0,
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker's address is throttled for the email: {}",
        attacker_right.1
    );
    assert_eq!(owner_status, StatusCode::OK, "the owner, elsewhere, is not locked out: {owner_body}");
    assert!(owner_body["access_token"].is_string());
    // The owner's success does not lift the attacker's throttle.
    assert_eq!(attacker_after, StatusCode::TOO_MANY_REQUESTS);
}
