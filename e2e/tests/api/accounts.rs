//! Registration, login and organization settings.

use e2e::{Api, PASSWORD, unique};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn emails_and_slugs_are_unique_and_registration_is_all_or_nothing() {
    let api = Api::from_env();
    let tenant = api.tenant().await;

    // The same email in another case: 409, and the new slug was not taken on the way.
    let slug = format!("org-{}", unique());
    let (status, problem) = api.register(&tenant.admin.email.to_uppercase(), &slug).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("email"));
    let email = format!("fresh-{}@example.com", unique());
    let (status, _) = api.register(&email, &tenant.slug).await;
    assert_eq!(status, StatusCode::CONFLICT, "a taken slug");

    // Both failed registrations left nothing behind: the slug and the email are still free.
    let (status, body) = api.register(&email, &slug).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn registration_validates_every_field() {
    let api = Api::from_env();
    let good = json!({"email": format!("v-{}@example.com", unique()), "password": PASSWORD, "organization_name": "Org", "organization_slug": format!("org-{}", unique())});
    for (field, value) in [
        ("email", json!("not-an-email")),
        ("password", json!("short")),
        ("password", json!("x".repeat(129))),
        ("organization_name", json!("  ")),
        ("organization_slug", json!("Not A Slug")),
        ("role", json!("admin")),
    ] {
        let mut body = good.clone();
        body[field] = value;
        let (status, problem) = api.call(Method::POST, "/api/v1/auth/register", None, Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {problem}");
        assert_eq!(problem["field"], field);
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let wrong_password = api.login(&tenant.admin.email, "wrong-password").await;
    let unknown_email = api.login(&format!("nobody-{}@example.com", unique()), PASSWORD).await;
    let malformed = api.login("not-an-email", "x").await;
    assert_eq!(wrong_password.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password, unknown_email);
    assert_eq!(wrong_password, malformed);

    // Emails are case-insensitive at login too.
    let (status, _) = api.login(&tenant.admin.email.to_uppercase(), PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn only_admins_rename_the_organization() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let member = api.member(&tenant).await;

    let (status, me) = api.call(Method::GET, "/api/v1/auth/me", Some(&member.token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((me["role"].as_str(), me["id"].as_str()), (Some("member"), Some(member.user_id.as_str())));

    let (status, problem) = api
        .call(Method::PATCH, "/api/v1/organizations/me", Some(&member.token), Some(json!({"name": "Mine now"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, org) = api.call(Method::GET, "/api/v1/organizations/me", Some(&member.token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(org["name"], "Mine now");

    let (status, org) = api
        .call(
            Method::PATCH,
            "/api/v1/organizations/me",
            Some(&tenant.admin.token),
            Some(json!({"name": "  New Name  "})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(org["name"], "New Name");
    assert_eq!(org["slug"], tenant.slug.as_str());
    for body in [json!({"slug": "other"}), json!({"name": ""}), json!({})] {
        let (status, _) =
            api.call(Method::PATCH, "/api/v1/organizations/me", Some(&tenant.admin.token), Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
}
