//! API keys, tried as someone who wants them to do more than they may: replay a revoked or
//! expired key, forge or tamper with one, use a member's key for an admin's work, keep using
//! a key whose admin was demoted or removed, reach another organization, and read the secret
//! back from anywhere.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use e2e::{Api, Fault, PASSWORD, Tenant, eventually, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A key `tenant`'s admin (or `token`'s holder) makes; answers the created key, with `secret`.
async fn make_key(api: &Api, token: &str, body: Value) -> Value {
    let (status, key) = api.call(Method::POST, "/api/v1/api-keys", Some(token), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    key
}

/// `raw` with its locator naming `creator` instead (its organization, key and secret kept).
fn with_creator(raw: &str, creator: &str) -> String {
    // By position, as the key is parsed: base64url has `_` in its alphabet, so the locator
    // may hold one too.
    let (locator, secret) = raw["tf_".len()..].split_at(64);
    let secret = secret.strip_prefix('_').expect("tf_<locator>_<secret>");
    let mut ids = URL_SAFE_NO_PAD.decode(locator).expect("a base64url locator");
    ids[32..].copy_from_slice(uuid::Uuid::parse_str(creator).unwrap().as_bytes());
    format!("tf_{}_{secret}", URL_SAFE_NO_PAD.encode(ids))
}

fn secret(key: &Value) -> String {
    key["secret"].as_str().unwrap_or_else(|| panic!("a secret in {key}")).to_owned()
}

async fn status(api: &Api, method: Method, path: &str, token: &str, body: Option<Value>) -> StatusCode {
    api.call(method, path, Some(token), body).await.0
}

/// The listed keys of `tenant`, as its admin sees them.
async fn listed(api: &Api, tenant: &Tenant) -> Value {
    let (status, list) = api.call(Method::GET, "/api/v1/api-keys", Some(&tenant.admin.token), None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list
}

#[tokio::test]
async fn a_key_is_shown_once_works_for_its_organization_and_stops_at_once_when_revoked() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let key = make_key(&api, &tenant.admin.token, json!({"name": "  CI pipeline ", "role": "member"})).await;
    let raw = secret(&key);
    let prefix = key["prefix"].as_str().unwrap();
    assert!(raw.starts_with("tf_") && raw.starts_with(prefix) && raw.len() == 111, "{raw}");
    assert_eq!(key["name"], "CI pipeline");
    assert_eq!(key["created_by"], tenant.admin.user_id.as_str());
    assert_eq!(key["organization_id"], tenant.org_id.as_str());

    // The key works, and acts for the admin who made it; the audit log names the key.
    let task = api.create_task(&raw, json!({"title": "made by a service"})).await;
    assert_eq!(task["created_by"], tenant.admin.user_id.as_str());
    let (status, page) = api.call(Method::GET, "/api/v1/tasks", Some(&raw), None).await;
    assert_eq!((status, page["items"][0]["id"].clone()), (StatusCode::OK, task["id"].clone()));
    let key_id = key["id"].as_str().unwrap().to_owned();
    let audit = format!("/api/v1/audit-log?event_type=task.created&actor_id={key_id}");
    let named = eventually(30, || async {
        let (_, log) = api.call(Method::GET, &audit, Some(&tenant.admin.token), None).await;
        log["items"].as_array().is_some_and(|items| {
            items
                .iter()
                .any(|e| e["actor"] == json!({"type": "api_key", "id": key_id}) && e["target"]["id"] == task["id"])
        })
    })
    .await;
    assert!(named, "the audit log names the key that created the task");

    // Listed with its prefix and its last use, never with its secret.
    let used = eventually(10, || async {
        let list = listed(&api, &tenant).await;
        list["items"][0]["id"] == key["id"] && list["items"][0]["last_used_at"].is_string()
    })
    .await;
    assert!(used, "the key's last use is recorded");
    let list = listed(&api, &tenant).await;
    assert_eq!(list["items"][0]["prefix"], prefix);
    assert!(list["items"][0].get("secret").is_none());
    assert!(!list.to_string().contains(&raw[prefix.len() + 1..]), "the list shows no secret");

    // Revoked: the very next request with it is refused, and it is gone from the list.
    let path = format!("/api/v1/api-keys/{key_id}");
    assert_eq!(status_of_delete(&api, &path, &tenant.admin.token).await, StatusCode::NO_CONTENT);
    let (status, problem) = api.call(Method::GET, "/api/v1/tasks", Some(&raw), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    assert_eq!(listed(&api, &tenant).await["items"], json!([]));
    assert_eq!(status_of_delete(&api, &path, &tenant.admin.token).await, StatusCode::NOT_FOUND, "revoked once");
}

async fn status_of_delete(api: &Api, path: &str, token: &str) -> StatusCode {
    status(api, Method::DELETE, path, token, None).await
}

#[tokio::test]
async fn a_members_key_cannot_do_an_admins_work_and_no_key_reaches_account_routes() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let member_key = secret(&make_key(&api, &tenant.admin.token, json!({"name": "reader", "role": "member"})).await);
    let invite = json!({"email": format!("x-{}@example.com", unique()), "role": "member"});
    assert_eq!(
        status(&api, Method::POST, "/api/v1/invitations", &member_key, Some(invite.clone())).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(status(&api, Method::GET, "/api/v1/api-keys", &member_key, None).await, StatusCode::FORBIDDEN);
    assert_eq!(status(&api, Method::GET, "/api/v1/audit-log", &member_key, None).await, StatusCode::FORBIDDEN);
    assert_eq!(status(&api, Method::GET, "/api/v1/users", &member_key, None).await, StatusCode::OK);

    let admin_key = secret(&make_key(&api, &tenant.admin.token, json!({"name": "ops", "role": "admin"})).await);
    assert_eq!(status(&api, Method::POST, "/api/v1/invitations", &admin_key, Some(invite)).await, StatusCode::CREATED);
    // No key makes an admin, who would outlive the key's revocation.
    let member = api.member(&tenant).await;
    let make_admin = [
        (
            Method::POST,
            "/api/v1/invitations".to_owned(),
            json!({"email": format!("z-{}@example.com", unique()), "role": "admin"}),
        ),
        (Method::PATCH, format!("/api/v1/users/{}", member.user_id), json!({"role": "admin"})),
    ];
    for (method, path, body) in make_admin {
        let (status, problem) = api.call(method.clone(), &path, Some(&admin_key), Some(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {problem}");
    }
    let (_, user) = api.call(Method::GET, &format!("/api/v1/users/{}", member.user_id), Some(&admin_key), None).await;
    assert_eq!(user["role"], "member");
    assert_eq!(status(&api, Method::GET, "/api/v1/api-keys", &admin_key, None).await, StatusCode::OK);
    // A person's own account and sessions, the organization's deletion, and keys themselves.
    let refused = [
        (Method::GET, "/api/v1/auth/me".to_owned(), None),
        (Method::POST, "/api/v1/auth/logout".to_owned(), None),
        (Method::POST, "/api/v1/auth/logout-all".to_owned(), None),
        (Method::POST, "/api/v1/auth/verify-email/resend".to_owned(), None),
        (
            Method::POST,
            "/api/v1/auth/password".to_owned(),
            Some(json!({"current_password": PASSWORD, "new_password": format!("{PASSWORD}-new")})),
        ),
        (Method::DELETE, "/api/v1/organizations/me".to_owned(), Some(json!({"confirm_slug": tenant.slug}))),
        (Method::POST, "/api/v1/api-keys".to_owned(), Some(json!({"name": "child", "role": "admin"}))),
        (Method::DELETE, format!("/api/v1/api-keys/{}", uuid::Uuid::now_v7()), None),
    ];
    for (method, path, body) in refused {
        let (status, problem) = api.call(method.clone(), &path, Some(&admin_key), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {problem}");
    }
    let (status, org) = api.call(Method::GET, "/api/v1/organizations/me", Some(&tenant.admin.token), None).await;
    assert_eq!(status, StatusCode::OK, "the organization is still there: {org}");
    assert_eq!(api.login(&tenant.admin.email, PASSWORD).await.0, StatusCode::OK, "the password is unchanged");
    assert_eq!(listed(&api, &tenant).await["items"].as_array().unwrap().len(), 2, "no key made a key");
}

#[tokio::test]
async fn a_key_never_does_more_than_its_admin_may_now() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let b = api.member(&tenant).await;
    let promote = |role: &'static str| {
        let path = format!("/api/v1/users/{}", b.user_id);
        let token = tenant.admin.token.clone();
        let api = &api;
        async move { api.call(Method::PATCH, &path, Some(&token), Some(json!({"role": role}))).await.0 }
    };
    assert_eq!(promote("admin").await, StatusCode::OK);
    let b_token = api.token(&b.email).await;
    let key = secret(&make_key(&api, &b_token, json!({"name": "b's service", "role": "admin"})).await);
    assert_eq!(status(&api, Method::GET, "/api/v1/audit-log", &key, None).await, StatusCode::OK);

    // Demoted: the admin key acts as a member, on reads as on writes.
    assert_eq!(promote("member").await, StatusCode::OK);
    assert_eq!(status(&api, Method::GET, "/api/v1/audit-log", &key, None).await, StatusCode::FORBIDDEN);
    let invite = json!({"email": format!("y-{}@example.com", unique()), "role": "admin"});
    assert_eq!(status(&api, Method::POST, "/api/v1/invitations", &key, Some(invite)).await, StatusCode::FORBIDDEN);
    assert_eq!(status(&api, Method::GET, "/api/v1/tasks", &key, None).await, StatusCode::OK);

    // The same key and secret, its locator naming the organization's other admin: refused
    // (the stored key names its creator), though that admin's user item exists.
    let (refused, problem) =
        api.call(Method::GET, "/api/v1/tasks", Some(&with_creator(&key, &tenant.admin.user_id)), None).await;
    assert_eq!(refused, StatusCode::UNAUTHORIZED, "{problem}");

    // Removed: the key authenticates nothing.
    let path = format!("/api/v1/users/{}", b.user_id);
    assert_eq!(status(&api, Method::DELETE, &path, &tenant.admin.token, None).await, StatusCode::NO_CONTENT);
    assert_eq!(status(&api, Method::GET, "/api/v1/tasks", &key, None).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn expired_forged_and_tampered_keys_are_refused_and_other_organizations_stay_unseen() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let other = api.tenant().await;
    let key = make_key(&api, &tenant.admin.token, json!({"name": "ci", "role": "admin"})).await;
    let raw = secret(&key);

    // Tampered secret, a locator naming the other organization or another creator, garbage.
    // A character in the secret's middle (any base64url character is valid there), so the
    // key parses and the hash is what refuses it.
    let mut tampered = raw.clone();
    let at = raw.len() - 20;
    let flipped = if &raw[at..=at] == "A" { "B" } else { "A" };
    tampered.replace_range(at..=at, flipped);
    let other_key = secret(&make_key(&api, &other.admin.token, json!({"name": "theirs", "role": "admin"})).await);
    let prefix_len = key["prefix"].as_str().unwrap().len();
    let their_locator_my_secret = format!("{}{}", &other_key[..prefix_len], &raw[prefix_len..]);
    for bad in [tampered, their_locator_my_secret, "tf_".into(), format!("{raw}x"), format!("tf_{}", "A".repeat(108))] {
        let (status, problem) = api.call(Method::GET, "/api/v1/tasks", Some(&bad), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}: {problem}");
    }

    // Another organization's things answer 404 to the key, as missing ones do.
    let theirs = api.create_task(&other.admin.token, json!({"title": "theirs"})).await;
    let path = format!("/api/v1/tasks/{}", theirs["id"].as_str().unwrap());
    assert_eq!(status(&api, Method::GET, &path, &raw, None).await, StatusCode::NOT_FOUND);
    let path = format!("/api/v1/api-keys/{}", key["id"].as_str().unwrap());
    assert_eq!(status(&api, Method::DELETE, &path, &other.admin.token, None).await, StatusCode::NOT_FOUND);
    assert_eq!(status(&api, Method::GET, "/api/v1/tasks", &raw, None).await, StatusCode::OK, "not revoked by them");

    // An expiry: served until then, refused from then on (polled: the key lives 5 seconds).
    let expires_at = (chrono::Utc::now() + chrono::Duration::seconds(5)).to_rfc3339();
    let short = secret(
        &make_key(&api, &tenant.admin.token, json!({"name": "short", "role": "member", "expires_at": expires_at}))
            .await,
    );
    assert_eq!(
        status(&api, Method::GET, "/api/v1/tasks", &short, None).await,
        StatusCode::OK,
        "works until it expires"
    );
    let expired = eventually(20, || async {
        status(&api, Method::GET, "/api/v1/tasks", &short, None).await == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(expired, "an expired key is refused");
    let names: Vec<Value> =
        listed(&api, &tenant).await["items"].as_array().unwrap().iter().map(|k| k["name"].clone()).collect();
    assert_eq!(names, [json!("ci")], "an expired key is not listed");
}

#[tokio::test]
async fn a_key_is_refused_with_a_clear_422_when_its_fields_are_wrong() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let far = (chrono::Utc::now() + chrono::Duration::days(3700)).to_rfc3339();
    for body in [
        json!({"name": " ", "role": "member"}),
        json!({"name": "x".repeat(101), "role": "member"}),
        json!({"name": "ci", "role": "owner"}),
        json!({"name": "ci", "role": "member", "expires_at": past}),
        json!({"name": "ci", "role": "member", "expires_at": far}),
        json!({"name": "ci", "role": "member", "secret": "mine"}),
    ] {
        let (status, problem) =
            api.call(Method::POST, "/api/v1/api-keys", Some(&tenant.admin.token), Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
    }
    let member = api.member(&tenant).await;
    let body = json!({"name": "mine", "role": "member"});
    assert_eq!(status(&api, Method::POST, "/api/v1/api-keys", &member.token, Some(body)).await, StatusCode::FORBIDDEN);
    assert_eq!(listed(&api, &tenant).await["items"], json!([]));
}

#[tokio::test]
async fn a_key_whose_lookup_fails_or_keeps_conflicting_gets_a_503_with_retry_after_not_a_401() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let raw = secret(&make_key(&api, &tenant.admin.token, json!({"name": "ci", "role": "member"})).await);
    let refused = Fault::inject("DynamoDB_20120810.TransactGetItems", &tenant.org_id, "error", 3).await;
    let response = api.request(Method::GET, "/api/v1/tasks", Some(&raw)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(refused.hits().await, 3, "the SDK retried, then gave up");
    drop(refused);
    assert_eq!(status(&api, Method::GET, "/api/v1/tasks", &raw, None).await, StatusCode::OK);

    // Cancelled because a write was under way on the key or its creator (a parallel request's
    // last use, say): read again, twice at most, then 503.
    let conflicts = Fault::inject("DynamoDB_20120810.TransactGetItems", &tenant.org_id, "conflict", 2).await;
    assert_eq!(status(&api, Method::GET, "/api/v1/tasks", &raw, None).await, StatusCode::OK, "read again");
    assert_eq!(conflicts.hits().await, 2);
    drop(conflicts);
    let _conflicts = Fault::inject("DynamoDB_20120810.TransactGetItems", &tenant.org_id, "conflict", 3).await;
    let response = api.request(Method::GET, "/api/v1/tasks", Some(&raw)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
}
