//! Trust over an account's whole life, tried as someone who wants it to outlive the events
//! that should end it: squat an address and keep what was made before its owner takes it
//! back; keep logins running while the password changes; keep a reset token past a
//! change; mail anyone from TaskFlow's sender; race the webhook limit; keep a webhook after
//! its maker lost their standing; slip an invisible character into a name.

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{
    Api, MAIL_DEADLINE, PASSWORD, RESET_SUBJECT, Tenant, dynamodb, eventually, logged, mail_token, mails_about,
    mails_to, table, unique,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A webhook to a loopback address where nothing listens, for a type these tests never
/// cause: made, never delivered to (a delivery refused would be tried again for minutes,
/// loading the stack every other test shares).
fn webhook_body() -> Value {
    json!({"url": format!("http://127.0.0.1:9/hook-{}", unique()), "event_types": ["organization.updated"]})
}

async fn audit_types(api: &Api, token: &str) -> Vec<Value> {
    let (status, log) = api.call(Method::GET, "/api/v1/audit-log?limit=100", Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    log["items"].as_array().cloned().unwrap_or_default()
}

/// Asks for a password reset of `email` and answers the mailed token.
async fn reset_token(api: &Api, email: &str) -> String {
    let before = mails_about(email, RESET_SUBJECT).await;
    let (status, _) = api.call(Method::POST, "/api/v1/auth/password-reset", None, Some(json!({"email": email}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let arrived = eventually(MAIL_DEADLINE, || async { mails_about(email, RESET_SUBJECT).await > before }).await;
    assert!(arrived, "a reset mail to {email}");
    mail_token(email, RESET_SUBJECT).await
}

async fn confirm_reset(api: &Api, token: &str, password: &str) -> (StatusCode, Value) {
    let body = json!({"token": token, "new_password": password});
    api.call(Method::POST, "/api/v1/auth/password-reset/confirm", None, Some(body)).await
}

#[tokio::test]
async fn a_squatter_makes_no_key_webhook_or_export_and_the_owners_reset_leaves_them_nothing() {
    let api = Api::from_env();
    // The attacker registers the victim's address, and never verifies it.
    let squatted = api.unverified_tenant().await;
    let attacker = squatted.admin.token.clone();
    let (_, attacker_login) = api.login(&squatted.admin.email, PASSWORD).await;
    let attacker_refresh = attacker_login["refresh_token"].as_str().unwrap().to_owned();

    let key = json!({"name": "persistence", "role": "admin"});
    let (status, problem) = api.call(Method::POST, "/api/v1/api-keys", Some(&attacker), Some(key)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no key before the address is proven: {problem}");
    assert!(problem["detail"].as_str().unwrap().contains("verify your email"), "{problem}");
    let (status, problem) = api.call(Method::POST, "/api/v1/webhooks", Some(&attacker), Some(webhook_body())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no webhook either: {problem}");
    let (status, _) = api.call(Method::POST, "/api/v1/organizations/me/exports", Some(&attacker), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no export either");

    // A key made before this rule (written as the old code did) does not act either.
    let scope = e2e::scope_of(&squatted);
    let creator = taskflow::domain::UserId::parse(&squatted.admin.user_id).unwrap();
    let draft: taskflow::domain::ApiKeyDraft =
        serde_json::from_value(json!({"name": "legacy", "role": "admin"})).unwrap();
    let (legacy, secret) = taskflow::domain::ApiKey::new(draft, scope.org_id(), creator, chrono::Utc::now()).unwrap();
    let store = taskflow::config::store(&taskflow::config::sdk_config().await.unwrap());
    let event = taskflow::domain::events::Event::new(
        scope.org_id(),
        chrono::Utc::now(),
        &taskflow::domain::events::Provenance::system(),
        taskflow::domain::events::EventKind::ApiKeyCreated { api_key_id: legacy.id, role: legacy.role },
    );
    let unchecked = taskflow::store::Caller {
        user_id: creator,
        needs_admin: true,
        needs_verified: false,
        credential_version: None,
    };
    store.api_keys().create(&scope, &unchecked, &legacy, &secret.hash(), &event).await.unwrap();
    let legacy_key = secret.expose();
    assert_eq!(api.call(Method::GET, "/api/v1/tasks", Some(&legacy_key), None).await.0, StatusCode::UNAUTHORIZED);
    // And a webhook made before the rule: the address reads as proven while it is made, as
    // the old code did not ask, then unproven again.
    let set_verified = |verified: bool| {
        let squatted = &squatted;
        async move {
            dynamodb()
                .await
                .update_item()
                .table_name(table())
                .key("pk", AttributeValue::S(format!("ORG#{}", squatted.org_id)))
                .key("sk", AttributeValue::S(format!("USER#{}", squatted.admin.user_id)))
                .update_expression("SET email_verified = :v")
                .expression_attribute_values(":v", AttributeValue::Bool(verified))
                .send()
                .await
                .expect("the user item is changed");
        }
    };
    set_verified(true).await;
    let legacy_webhook = make_webhook(&api, &attacker).await;
    set_verified(false).await;

    // The owner takes the address back with a reset.
    let token = reset_token(&api, &squatted.admin.email).await;
    let (status, body) = confirm_reset(&api, &token, "owners-new-pass").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, owner) = api.login(&squatted.admin.email, "owners-new-pass").await;
    assert_eq!(status, StatusCode::OK, "{owner}");
    let owner = owner["access_token"].as_str().unwrap().to_owned();

    // Nothing the squatter held works: the refresh token, the access token's writes, the
    // key made before the address was proven (although its maker is verified now).
    assert_eq!(api.refresh(&attacker_refresh).await.0, StatusCode::UNAUTHORIZED);
    let write = json!({"title": "still here"});
    assert_eq!(api.call(Method::POST, "/api/v1/tasks", Some(&attacker), Some(write)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.call(Method::GET, "/api/v1/tasks", Some(&legacy_key), None).await.0, StatusCode::UNAUTHORIZED);
    let (_, webhooks) = api.call(Method::GET, "/api/v1/webhooks", Some(&owner), None).await;
    let items = webhooks["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{webhooks}");
    assert_eq!(items[0]["id"], legacy_webhook.as_str());
    assert_eq!(
        (&items[0]["enabled"], &items[0]["disabled_reason"]),
        (&json!(false), &json!("unproven_creator")),
        "no webhook delivers anywhere"
    );
    // The owner, proven, may now do what the squatter could not.
    let (status, key) =
        api.call(Method::POST, "/api/v1/api-keys", Some(&owner), Some(json!({"name": "mine", "role": "member"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let raw = key["secret"].as_str().unwrap();
    assert_eq!(api.call(Method::GET, "/api/v1/tasks", Some(raw), None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn logins_racing_a_password_change_keep_no_refresh_token_that_works() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let email = tenant.admin.email.clone();
    let changed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let obtained = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::<String>::new()));
    // Eight clients log in with the old password again and again, until each has been
    // refused once after the change was answered.
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (api, email, changed, obtained) = (api.clone(), email.clone(), changed.clone(), obtained.clone());
            tokio::spawn(async move {
                // Two sessions each at most: with the registration's, fewer than the 20 a user
                // keeps, so a refusal below is the version's doing, not the cap's.
                let mut mine = 0;
                while mine < 2 {
                    let (status, body) = api.login(&email, PASSWORD).await;
                    if status == StatusCode::OK {
                        obtained.lock().await.push(body["refresh_token"].as_str().unwrap().to_owned());
                        mine += 1;
                    } else if changed.load(std::sync::atomic::Ordering::SeqCst) {
                        return;
                    } else {
                        // Refused by the change before its answer came back: the next try
                        // sees it answered.
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    // The change comes while logins are under way (each racer's second, mostly).
    let under_way = eventually(60, || async { obtained.lock().await.len() >= 6 }).await;
    assert!(under_way, "logins succeed before the change");
    let body = json!({"current_password": PASSWORD, "new_password": "changed-pass-1"});
    let (status, problem) =
        api.call(Method::POST, "/api/v1/auth/password", Some(&tenant.admin.token), Some(body)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{problem}");
    changed.store(true, std::sync::atomic::Ordering::SeqCst);
    for racer in racers {
        tokio::time::timeout(std::time::Duration::from_secs(120), racer).await.expect("racers stop").unwrap();
    }
    let tokens = obtained.lock().await.clone();
    assert!(tokens.len() < 20, "fewer sessions than the cap: {}", tokens.len());
    let mut still_working = Vec::new();
    for token in &tokens {
        let (status, _) = api.refresh(token).await;
        if status != StatusCode::UNAUTHORIZED {
            still_working.push(status);
        }
    }
    assert!(
        still_working.is_empty(),
        "{} of {} refresh tokens from the old password still refresh",
        still_working.len(),
        tokens.len()
    );
    // The old access token writes nothing more either; the new password works.
    let write = json!({"title": "after the change"});
    let (status, _) = api.call(Method::POST, "/api/v1/tasks", Some(&tenant.admin.token), Some(write)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a token from before the change writes nothing");
    // From another address: the racers' refused logins count against this one's throttle.
    let login = json!({"email": email, "password": "changed-pass-1"});
    let (status, fresh) = api.invoke("auth-login", Method::POST, "/api/v1/auth/login", login, "198.51.100.8").await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_eq!(api.refresh(fresh["refresh_token"].as_str().unwrap()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn logout_everywhere_ends_every_session_and_a_user_keeps_at_most_twenty() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let login = || {
        let (api, email) = (api.clone(), tenant.admin.email.clone());
        async move {
            let (status, body) = api.login(&email, PASSWORD).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["refresh_token"].as_str().unwrap().to_owned()
        }
    };
    let oldest = login().await;
    // Twenty more, at once: with the registration's own, 22 sessions; the newest 20 stay.
    let mut logins = tokio::task::JoinSet::new();
    for _ in 0..20 {
        logins.spawn(login());
    }
    let refresh_tokens: Vec<String> = logins.join_all().await;
    assert_eq!(api.refresh(&oldest).await.0, StatusCode::UNAUTHORIZED, "the oldest session ended");
    let (status, newer) = api.refresh(&refresh_tokens[0]).await;
    assert_eq!(status, StatusCode::OK, "the twenty newest live: {newer}");
    let newest = api.login(&tenant.admin.email, PASSWORD).await.1;
    let token = newest["access_token"].as_str().unwrap();
    assert_eq!(api.call(Method::POST, "/api/v1/auth/logout-all", Some(token), None).await.0, StatusCode::NO_CONTENT);
    for refresh in
        [newer["refresh_token"].as_str().unwrap(), &refresh_tokens[19], newest["refresh_token"].as_str().unwrap()]
    {
        assert_eq!(api.refresh(refresh).await.0, StatusCode::UNAUTHORIZED, "every session ended");
    }
    assert_eq!(api.login(&tenant.admin.email, PASSWORD).await.0, StatusCode::OK, "logging in again works");
}

#[tokio::test]
async fn a_password_change_voids_a_reset_token_mailed_before_it() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let token = reset_token(&api, &tenant.admin.email).await;
    let body = json!({"current_password": PASSWORD, "new_password": "changed-pass-2"});
    let (status, _) = api.call(Method::POST, "/api/v1/auth/password", Some(&tenant.admin.token), Some(body)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, problem) = confirm_reset(&api, &token, "attackers-pass").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the older reset is void: {problem}");
    assert_eq!(api.login(&tenant.admin.email, "attackers-pass").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.login(&tenant.admin.email, "changed-pass-2").await.0, StatusCode::OK);
}

/// The throttle counter of registrations from `network` (a /64) in the current window, as
/// `auth::count_registration` keys it: `THROTTLE#register:ip:<network>::/64#<window>`.
fn registration_counter(network: &str, window: i64) -> String {
    format!("THROTTLE#register:ip:{network}::/64#{window}")
}

/// The registration window now (the stack keeps the default hour).
fn registration_window() -> i64 {
    let seconds: i64 =
        std::env::var("TASKFLOW_MAIL_REQUEST_WINDOW_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3600);
    chrono::Utc::now().timestamp() / seconds
}

async fn counted(key: &str) -> Option<u64> {
    let item = dynamodb()
        .await
        .get_item()
        .table_name(table())
        .key("pk", AttributeValue::S(key.to_owned()))
        .key("sk", AttributeValue::S("GUARD".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("the counter is read")
        .item;
    item.and_then(|i| i.get("failures").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()))
}

#[tokio::test]
async fn registrations_from_one_address_are_throttled_per_64_and_mail_nobody_beyond() {
    let api = Api::from_env();
    let limit: u64 = std::env::var("TASKFLOW_REGISTRATIONS_PER_ADDRESS").unwrap().parse().unwrap();
    let email = format!("victim-{}@example.com", unique());
    let good = json!({"email": email, "password": PASSWORD, "organization_name": "Verify at evil.example", "organization_slug": format!("org-{}", unique())});
    // In one window: a run that straddles a window's end is tried again in the next.
    let mut refused = None;
    for _ in 0..2 {
        let window = registration_window();
        // An IPv6 /64 of this test's own.
        let network = format!("2001:db8:{:x}:{:x}", rand_u16(), rand_u16());
        let register = |host: u16, body: Value| {
            let api = api.clone();
            let source = format!("{network}::{host:x}");
            async move { api.invoke_answer("auth-register", Method::POST, "/api/v1/auth/register", body, &source).await }
        };
        // Every request counts, whatever its body, from any host of the /64.
        for host in 1..=5 {
            assert_eq!(register(host, json!({})).await["statusCode"], 422);
        }
        let key = registration_counter(&network, window);
        assert_eq!(counted(&key).await, Some(5), "five requests of the /64 counted as one address's");
        // The window's count is brought near the limit (the limit is set high in the test
        // stack, for the suite's own registrations from 127.0.0.1).
        dynamodb()
            .await
            .update_item()
            .table_name(table())
            .key("pk", AttributeValue::S(key.clone()))
            .key("sk", AttributeValue::S("GUARD".into()))
            .update_expression("SET failures = :n")
            .expression_attribute_values(":n", AttributeValue::N((limit - 1).to_string()))
            .send()
            .await
            .unwrap();
        let last = register(6, json!({})).await;
        let beyond = register(0xffff, good.clone()).await;
        if registration_window() != window {
            continue;
        }
        assert_eq!(last["statusCode"], 422, "the limit's last request is read: {last}");
        refused = Some(beyond);
        break;
    }
    let answer = refused.expect("a run within one window");
    assert_eq!(answer["statusCode"], 429, "{answer}");
    assert!(answer["headers"]["retry-after"].as_str().is_some_and(|s| s.parse::<u64>().unwrap() > 0), "{answer}");
    assert!(answer["headers"]["content-type"].as_str().unwrap().starts_with("application/problem+json"));
    assert_eq!(api.login(&email, PASSWORD).await.0, StatusCode::UNAUTHORIZED, "nothing was registered");

    // Another network registers; its verification mail names no organization.
    let (status, body) = api.invoke("auth-register", Method::POST, "/api/v1/auth/register", good, "198.51.100.7").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(eventually(MAIL_DEADLINE, || async { !mails_to(&email).await.is_empty() }).await);
    for mail in mails_to(&email).await {
        let text = mail.to_string();
        assert!(!text.contains("evil.example"), "a registrant's words reach no mailbox: {text}");
    }
}

/// Sixteen random bits (of a version 4 UUID).
fn rand_u16() -> u16 {
    let id = uuid::Uuid::new_v4();
    let bytes = id.as_bytes();
    u16::from_be_bytes([bytes[14], bytes[15]])
}

/// An operator's mail budget for `tenant`: `per_day` on its budget item.
async fn give_mail_budget(tenant: &Tenant, per_day: u32) {
    dynamodb()
        .await
        .update_item()
        .table_name(table())
        .key("pk", AttributeValue::S(format!("ORG#{}", tenant.org_id)))
        .key("sk", AttributeValue::S("MAIL_BUDGET".into()))
        .update_expression("SET per_day = :n")
        .expression_attribute_values(":n", AttributeValue::N(per_day.to_string()))
        .send()
        .await
        .expect("the budget is set");
}

#[tokio::test]
async fn mail_beyond_an_organizations_daily_budget_is_dropped_counted_and_audited() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    // The verification mail spent one; two more go out today.
    give_mail_budget(&tenant, 3).await;
    let token = &tenant.admin.token;
    let mut ids = Vec::new();
    for i in 0..3 {
        let task = api.create_task(token, json!({"title": format!("budgeted {i} {}", unique())})).await;
        ids.push(task["id"].as_str().unwrap().to_owned());
    }
    let dropped =
        || async { audit_types(&api, token).await.iter().filter(|e| e["event_type"] == "mail.dropped").count() };
    assert!(eventually(60, || async { dropped().await == 1 }).await, "{:?}", audit_types(&api, token).await);
    assert_eq!(mails_about(&tenant.admin.email, "New task").await, 2, "two sent, the third dropped");
    let entry = audit_types(&api, token).await.into_iter().find(|e| e["event_type"] == "mail.dropped").unwrap();
    assert_eq!(entry["changes"], json!(["task.created"]), "{entry}");
    assert_eq!(entry["actor"], json!({"type": "system"}), "{entry}");
    assert_eq!(
        logged("the organization's mail for the day is spent: this mail is not sent", "metric", "MailsDropped")
            .iter()
            .filter(|f| f["event_id"] == entry["target"]["id"])
            .count(),
        1,
        "the drop is counted (its metric) once"
    );
    // A reset is an account's way back in: never held back by task mail.
    reset_token(&api, &tenant.admin.email).await;
}

#[tokio::test]
async fn thirty_concurrent_webhooks_at_nineteen_make_exactly_one_more() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let token = tenant.admin.token.clone();
    // Nineteen, at once: under the limit, every one is made.
    let mut first = tokio::task::JoinSet::new();
    for _ in 0..19 {
        let (api, token) = (api.clone(), token.clone());
        first
            .spawn(async move { api.call(Method::POST, "/api/v1/webhooks", Some(&token), Some(webhook_body())).await });
    }
    for (status, body) in first.join_all().await {
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let mut racing = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let (api, token) = (api.clone(), token.clone());
        racing.spawn(
            async move { api.call(Method::POST, "/api/v1/webhooks", Some(&token), Some(webhook_body())).await.0 },
        );
    }
    let statuses: Vec<StatusCode> = racing.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| matches!(*s, StatusCode::CREATED | StatusCode::CONFLICT)), "{statuses:?}");
    let (_, list) = api.call(Method::GET, "/api/v1/webhooks?limit=100", Some(&token), None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 20);
    // Deleting one makes room for exactly one.
    let id = list["items"][0]["id"].as_str().unwrap();
    assert_eq!(
        api.call(Method::DELETE, &format!("/api/v1/webhooks/{id}"), Some(&token), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.call(Method::POST, "/api/v1/webhooks", Some(&token), Some(webhook_body())).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        api.call(Method::POST, "/api/v1/webhooks", Some(&token), Some(webhook_body())).await.0,
        StatusCode::CONFLICT
    );
}

/// The webhook `id` of `tenant`, as its admin reads it.
async fn webhook(api: &Api, token: &str, id: &str) -> Value {
    let (status, body) = api.call(Method::GET, &format!("/api/v1/webhooks/{id}"), Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn make_webhook(api: &Api, token: &str) -> String {
    let (status, body) = api.call(Method::POST, "/api/v1/webhooks", Some(token), Some(webhook_body())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_removed_or_demoted_admins_webhooks_and_a_revoked_keys_go_off() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let admin = tenant.admin.token.clone();
    let promote = |member: e2e::Caller| {
        let (api, admin) = (api.clone(), admin.clone());
        async move {
            let path = format!("/api/v1/users/{}", member.user_id);
            let (status, _) = api.call(Method::PATCH, &path, Some(&admin), Some(json!({"role": "admin"}))).await;
            assert_eq!(status, StatusCode::OK);
            (path, api.token(&member.email).await)
        }
    };
    let (demoted_path, demoted) = promote(api.member(&tenant).await).await;
    let (removed_path, removed) = promote(api.member(&tenant).await).await;
    let (status, key) =
        api.call(Method::POST, "/api/v1/api-keys", Some(&admin), Some(json!({"name": "ci", "role": "admin"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let by_demoted = make_webhook(&api, &demoted).await;
    let by_removed = make_webhook(&api, &removed).await;
    let by_key = make_webhook(&api, key["secret"].as_str().unwrap()).await;
    let by_admin = make_webhook(&api, &admin).await;

    assert_eq!(
        api.call(Method::PATCH, &demoted_path, Some(&admin), Some(json!({"role": "member"}))).await.0,
        StatusCode::OK
    );
    assert_eq!(api.call(Method::DELETE, &removed_path, Some(&admin), None).await.0, StatusCode::NO_CONTENT);
    let key_path = format!("/api/v1/api-keys/{}", key["id"].as_str().unwrap());
    assert_eq!(api.call(Method::DELETE, &key_path, Some(&admin), None).await.0, StatusCode::NO_CONTENT);

    for (id, reason) in [(&by_demoted, "creator_demoted"), (&by_removed, "creator_removed"), (&by_key, "key_revoked")] {
        let off = eventually(60, || async { webhook(&api, &admin, id).await["disabled_reason"] == reason }).await;
        assert!(off, "{reason}: {}", webhook(&api, &admin, id).await);
        assert_eq!(webhook(&api, &admin, id).await["enabled"], false);
    }
    assert_eq!(webhook(&api, &admin, &by_admin).await["enabled"], true, "the remaining admin's webhook stays on");
    let audited =
        || async { audit_types(&api, &admin).await.iter().filter(|e| e["event_type"] == "webhook.disabled").count() };
    assert!(eventually(60, || async { audited().await == 3 }).await, "each is in the audit log once");
}

#[tokio::test]
async fn names_and_titles_refuse_bidi_controls_separators_and_invisible_characters() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let token = &tenant.admin.token;
    for hidden in ['\u{202E}', '\u{2066}', '\u{2028}', '\u{2029}', '\u{200B}', '\u{FEFF}'] {
        let text = format!("invoice{hidden}fdp.exe");
        let (status, problem) =
            api.call(Method::POST, "/api/v1/tasks", Some(token), Some(json!({"title": text}))).await;
        assert_eq!((status, &problem["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("title")), "{problem}");
        let (status, problem) =
            api.call(Method::PATCH, "/api/v1/organizations/me", Some(token), Some(json!({"name": text}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        let key = json!({"name": text, "role": "member"});
        assert_eq!(
            api.call(Method::POST, "/api/v1/api-keys", Some(token), Some(key)).await.0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        let registration = json!({"email": format!("r-{}@example.com", unique()), "password": PASSWORD, "organization_name": text, "organization_slug": format!("org-{}", unique())});
        let (status, problem) = api.call(Method::POST, "/api/v1/auth/register", None, Some(registration)).await;
        assert_eq!(
            (status, &problem["field"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!("organization_name")),
            "{problem}"
        );
    }
    // What reads as text, any script or emoji (flags of tag characters, sequences of
    // joiners), is taken and reads back.
    let title =
        "Überprüfung 検査 مراجعة می\u{200C}خواهم 👨\u{200D}💻 🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
    let task = api.create_task(token, json!({"title": title})).await;
    assert_eq!(task["title"], title);

    // A title stored before the rule still reads (and can be renamed): the rule is the
    // client's, not the stored item's.
    let id = task["id"].as_str().unwrap();
    let stored = "stored \u{202E}before";
    dynamodb()
        .await
        .update_item()
        .table_name(table())
        .key("pk", AttributeValue::S(format!("ORG#{}", tenant.org_id)))
        .key("sk", AttributeValue::S(format!("TASK#{id}")))
        .update_expression("SET title = :t")
        .expression_attribute_values(":t", AttributeValue::S(stored.into()))
        .send()
        .await
        .unwrap();
    let (status, read) = api.call(Method::GET, &format!("/api/v1/tasks/{id}"), Some(token), None).await;
    assert_eq!((status, &read["title"]), (StatusCode::OK, &json!(stored)), "{read}");
    let (status, renamed) =
        api.call(Method::PATCH, &format!("/api/v1/tasks/{id}"), Some(token), Some(json!({"title": "renamed"}))).await;
    assert_eq!((status, &renamed["title"]), (StatusCode::OK, &json!("renamed")), "{renamed}");
}
