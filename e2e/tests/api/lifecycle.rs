//! Account lifecycle: email verification and password reset by mail, tried as someone who
//! wants them broken: replayed, superseded, expired and unknown tokens, enumeration, floods.

use e2e::{
    Api, MAIL_DEADLINE, PASSWORD, RESET_SUBJECT, VERIFICATION_SUBJECT, eventually, mail_token, mails_about, mails_to,
    unique,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use taskflow::store::MailDeliveryState;

async fn me(api: &Api, token: &str) -> Value {
    let (status, me) = api.call(Method::GET, "/api/v1/auth/me", Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    me
}

async fn verify(api: &Api, token: &str) -> (StatusCode, Value) {
    api.call(Method::POST, "/api/v1/auth/verify-email", None, Some(json!({"token": token}))).await
}

async fn request_reset(api: &Api, email: &str) -> (StatusCode, Value) {
    api.call(Method::POST, "/api/v1/auth/password-reset", None, Some(json!({"email": email}))).await
}

async fn confirm_reset(api: &Api, token: &str, password: &str) -> (StatusCode, Value) {
    let body = json!({"token": token, "new_password": password});
    api.call(Method::POST, "/api/v1/auth/password-reset/confirm", None, Some(body)).await
}

#[tokio::test]
async fn an_unverified_admin_cannot_invite_gets_no_task_mail_and_verifies_once() {
    let api = Api::from_env();
    let tenant = api.unverified_tenant().await;
    assert_eq!(me(&api, &tenant.admin.token).await["email_verified"], false);

    let (status, problem) = api
        .call(
            Method::POST,
            "/api/v1/invitations",
            Some(&tenant.admin.token),
            Some(json!({"email": format!("x-{}@example.com", unique()), "role": "member"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("verify"), "{problem}");

    // A task mail to the unverified creator is skipped, not sent.
    let title = format!("unverified {}", unique());
    api.create_task(&tenant.admin.token, json!({"title": title})).await;
    let store = taskflow::config::store(&taskflow::config::sdk_config().await.unwrap());
    let scope = e2e::scope_of(&tenant);
    let skipped = eventually(MAIL_DEADLINE, || async {
        store.mail_deliveries().states(&scope).await.unwrap().contains(&MailDeliveryState::Skipped)
    })
    .await;
    assert!(skipped, "the task mail was not skipped: {:?}", store.mail_deliveries().states(&scope).await);
    let about_task = |m: &Value| m["subject"].as_str().is_some_and(|s| s.contains(&title));
    assert!(!mails_to(&tenant.admin.email).await.iter().any(about_task), "a task mail went to an unverified address");

    let token = mail_token(&tenant.admin.email, VERIFICATION_SUBJECT).await;
    assert_eq!(verify(&api, &token).await.0, StatusCode::NO_CONTENT);
    assert_eq!(me(&api, &tenant.admin.token).await["email_verified"], true);
    let (status, problem) = verify(&api, &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a used token: {problem}");
    let (status, unknown) = verify(&api, taskflow::domain::OpaqueToken::generate().expose()).await;
    assert_eq!((status, &unknown["detail"]), (StatusCode::BAD_REQUEST, &problem["detail"]), "one answer for all");
    assert_eq!(verify(&api, "not a token").await.0, StatusCode::BAD_REQUEST);

    // Verified: a resend has nothing to do, and inviting works.
    let (status, _) = api.call(Method::POST, "/api/v1/auth/verify-email/resend", Some(&tenant.admin.token), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let invitee = format!("joiner-{}@example.com", unique());
    api.invite(&tenant, &invitee, "member").await;
    let invitation = e2e::invitation_token(&invitee).await;
    let (status, accepted) = api
        .call(
            Method::POST,
            "/api/v1/auth/accept-invitation",
            None,
            Some(json!({"token": invitation, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    assert_eq!(accepted["user"]["email_verified"], true, "accepting an invitation proves the mailbox");
}

#[tokio::test]
async fn a_resent_verification_mail_works_and_resends_are_throttled() {
    let api = Api::from_env();
    let tenant = api.unverified_tenant().await;
    let first = mail_token(&tenant.admin.email, VERIFICATION_SUBJECT).await;
    let resend = || api.call(Method::POST, "/api/v1/auth/verify-email/resend", Some(&tenant.admin.token), None);
    let (status, body) = resend().await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let second =
        eventually(MAIL_DEADLINE, || async { mails_about(&tenant.admin.email, VERIFICATION_SUBJECT).await == 2 }).await;
    assert!(second, "no second verification mail");
    let token = mail_token(&tenant.admin.email, VERIFICATION_SUBJECT).await;
    assert_ne!(token, first, "a new token");
    assert_eq!(verify(&api, &token).await.0, StatusCode::NO_CONTENT);

    // Throttled per email: 5 an hour. Eleven more cross at most one window boundary, so one
    // window sees more than five.
    let other = api.unverified_tenant().await;
    let mut throttled = None;
    for _ in 0..11 {
        let response = api
            .request(Method::POST, "/api/v1/auth/verify-email/resend", Some(&other.admin.token))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            break;
        }
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let retry_after: u64 = throttled.expect("resends were never throttled").parse().unwrap();
    assert!((1..=3600).contains(&retry_after));
}

#[tokio::test]
async fn a_password_reset_works_once_ends_every_session_and_supersedes_older_tokens() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let (_, login) = api.login(&tenant.admin.email, PASSWORD).await;
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();

    // An unknown address gets the same answer as a known one, and no mail.
    let nobody = format!("nobody-{}@example.com", unique());
    let (status, known) = request_reset(&api, &tenant.admin.email).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{known}");
    assert_eq!(request_reset(&api, &nobody).await, (StatusCode::ACCEPTED, known.clone()));
    assert_eq!(request_reset(&api, "not an email").await, (StatusCode::ACCEPTED, known.clone()));
    let older = mail_token(&tenant.admin.email, RESET_SUBJECT).await;

    // A newer request: its token works, the older one no longer does.
    assert_eq!(request_reset(&api, &tenant.admin.email).await.0, StatusCode::ACCEPTED);
    let arrived =
        eventually(MAIL_DEADLINE, || async { mails_about(&tenant.admin.email, RESET_SUBJECT).await == 2 }).await;
    assert!(arrived, "no second reset mail");
    let newer = mail_token(&tenant.admin.email, RESET_SUBJECT).await;
    assert_ne!(newer, older);
    let new_password = "a-new-password-1";
    let (status, superseded) = confirm_reset(&api, &older, new_password).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the older token: {superseded}");

    assert_eq!(confirm_reset(&api, &newer, new_password).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.refresh(&refresh).await.0, StatusCode::UNAUTHORIZED, "every session ended");
    assert_eq!(api.login(&tenant.admin.email, PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.login(&tenant.admin.email, new_password).await.0, StatusCode::OK);

    // Used, unknown and malformed tokens: one and the same 400.
    let (status, used) = confirm_reset(&api, &newer, "yet-another-password").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(used["detail"], superseded["detail"]);
    let unknown = taskflow::domain::OpaqueToken::generate().expose().to_owned();
    assert_eq!(confirm_reset(&api, &unknown, new_password).await, (StatusCode::BAD_REQUEST, used.clone()));
    assert_eq!(confirm_reset(&api, "garbage", new_password).await, (StatusCode::BAD_REQUEST, used));
    assert!(mails_to(&nobody).await.is_empty(), "an address without an account got mail");
}

#[tokio::test]
async fn a_reset_of_an_unverified_account_verifies_it_and_an_expired_token_does_nothing() {
    use taskflow::domain::{Email, MailNonce, OpaqueToken};
    let api = Api::from_env();
    let tenant = api.unverified_tenant().await;

    // A token issued 31 minutes ago, written as the reset function would have then.
    let store = taskflow::config::store(&taskflow::config::sdk_config().await.unwrap());
    let scope = e2e::scope_of(&tenant);
    let admin = e2e::verifier().verify(&tenant.admin.token).unwrap().user_id();
    let email = Email::parse(&tenant.admin.email).unwrap();
    let then = chrono::Utc::now() - chrono::Duration::minutes(31);
    let expired = OpaqueToken::generate();
    let event = taskflow::domain::events::Event::new(
        scope.org_id(),
        then,
        &taskflow::domain::events::Provenance::anonymous(Default::default()),
        taskflow::domain::events::EventKind::PasswordResetRequested { user_id: admin, nonce: MailNonce::generate() },
    );
    store.account_tokens().request_reset(&scope, &email, admin, &expired.hash(), &event, then).await.unwrap();
    assert_eq!(confirm_reset(&api, expired.expose(), "a-new-password-1").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(api.login(&tenant.admin.email, PASSWORD).await.0, StatusCode::OK, "the password is unchanged");

    assert_eq!(request_reset(&api, &tenant.admin.email).await.0, StatusCode::ACCEPTED);
    let token = mail_token(&tenant.admin.email, RESET_SUBJECT).await;
    assert_eq!(confirm_reset(&api, &token, "a-new-password-1").await.0, StatusCode::NO_CONTENT);
    let (_, login) = api.login(&tenant.admin.email, "a-new-password-1").await;
    let access = login["access_token"].as_str().unwrap();
    assert_eq!(me(&api, access).await["email_verified"], true, "the reset mail proved the mailbox");
}

#[tokio::test]
async fn reset_requests_are_throttled_per_email_whether_or_not_it_has_an_account() {
    let api = Api::from_env();
    for email in [api.tenant().await.admin.email, format!("ghost-{}@example.com", unique())] {
        let mut throttled = false;
        for _ in 0..11 {
            let (status, body) = request_reset(&api, &email).await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                throttled = true;
                break;
            }
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        }
        assert!(throttled, "reset requests for {email} were never throttled");
    }
}

/// A source address of this test's own (a documentation-range /64), as API Gateway would
/// name it: only a string here, no traffic goes to it.
fn own_address() -> String {
    let n = uuid::Uuid::new_v4().as_u128();
    format!("2001:db8:{:x}:{:x}::1", (n >> 16) as u16, n as u16)
}

#[tokio::test]
async fn one_address_is_throttled_for_reset_requests_and_for_wrong_reset_tokens() {
    use taskflow::auth::{AuthError, MailRequestLimits, PasswordLimits};
    use taskflow::domain::{Email, OpaqueToken, Password};
    let sdk = taskflow::config::sdk_config().await.unwrap();
    let store = taskflow::config::store(&sdk);
    let key = taskflow::config::mail_token_key(&sdk).await.unwrap();
    let now = chrono::Utc::now();

    // Reset requests: three per address, whichever emails they name.
    let limits = MailRequestLimits { window_seconds: 3600, per_email: 100, per_address: 3 };
    let address = own_address();
    for i in 0..3 {
        let email = Email::parse(&format!("spray-{i}-{}@example.com", unique())).unwrap();
        taskflow::auth::request_password_reset(&store, &key, &limits, &email, Some(&address), now, Default::default())
            .await
            .unwrap();
    }
    let email = Email::parse(&format!("spray-{}@example.com", unique())).unwrap();
    let refused =
        taskflow::auth::request_password_reset(&store, &key, &limits, &email, Some(&address), now, Default::default())
            .await;
    assert!(matches!(refused, Err(AuthError::Throttled { .. })), "{refused:?}");

    // Wrong reset tokens count as failed password attempts of the address.
    let limits = PasswordLimits {
        window_seconds: 3600,
        max_failures_per_email_and_address: 10,
        max_failures_per_email: 100,
        max_failures_per_address: 3,
    };
    let address = own_address();
    let password = Password::parse("a-new-password-1").unwrap();
    for _ in 0..3 {
        let wrong = taskflow::auth::confirm_password_reset(
            &store,
            &limits,
            &OpaqueToken::generate(),
            &password,
            Some(&address),
            now,
        )
        .await;
        assert!(matches!(wrong, Err(AuthError::Store(taskflow::store::StoreError::InvalidAccountToken))), "{wrong:?}");
    }
    let refused = taskflow::auth::confirm_password_reset(
        &store,
        &limits,
        &OpaqueToken::generate(),
        &password,
        Some(&address),
        now,
    )
    .await;
    assert!(matches!(refused, Err(AuthError::Throttled { .. })), "{refused:?}");
}
