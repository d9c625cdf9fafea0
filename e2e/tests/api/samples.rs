//! Every sample event in `events/` (`make gen` writes them from the manifests), with its
//! placeholders filled in as a user would fill them, handed to its function through the
//! local stack's Invoke API, as `sam local invoke -e` hands it over: each answers as its
//! route promises, and no function lacks a sample.

use std::collections::BTreeMap;
use std::path::PathBuf;

use e2e::{Api, PASSWORD, RESET_SUBJECT, VERIFICATION_SUBJECT, invitation_token, mail_token, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// The sample of `function` with each `${NAME}` replaced; a placeholder left over fails.
fn sample(function: &str, values: &BTreeMap<&str, String>) -> Value {
    let path = root().join("events").join(format!("{function}.json"));
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (name, value) in values {
        text = text.replace(&format!("${{{name}}}"), value);
    }
    assert!(!text.contains("${"), "{function}: a placeholder is left in {text}");
    serde_json::from_str(&text).expect("a sample is JSON")
}

/// What `function` answers to its sample.
async fn invoke(api: &Api, function: &str, values: &BTreeMap<&str, String>) -> Value {
    let event = sample(function, values);
    let response = api
        .request(Method::POST, &format!("/2015-03-31/functions/{function}/invocations"), None)
        .json(&event)
        .send()
        .await
        .expect("the Invoke API answers");
    assert!(response.status().is_success(), "{function}: the Invoke API answered {}", response.status());
    response.json().await.expect("a JSON answer")
}

/// The HTTP status a route's function answered its sample with.
async fn status_of(api: &Api, function: &str, values: &BTreeMap<&str, String>) -> (StatusCode, Value) {
    let answer = invoke(api, function, values).await;
    let status = answer["statusCode"].as_u64().unwrap_or_else(|| panic!("{function}: no statusCode in {answer}"));
    let body = answer["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    (StatusCode::from_u16(u16::try_from(status).unwrap()).unwrap(), body)
}

fn values<const N: usize>(pairs: [(&'static str, String); N]) -> BTreeMap<&'static str, String> {
    pairs.into_iter().collect()
}

/// The functions whose samples were answered so far, and the API to hand them to.
struct Run {
    api: Api,
    answered: std::collections::BTreeSet<&'static str>,
}

impl Run {
    /// Hands the route's sample to its function and checks the status; answers the body.
    async fn expect(&mut self, function: &'static str, values: BTreeMap<&str, String>, status: StatusCode) -> Value {
        let (got, body) = status_of(&self.api, function, &values).await;
        assert_eq!(got, status, "{function}: {body}");
        self.answered.insert(function);
        body
    }

    /// Hands a consumer's sample to its function: it reports no failure.
    async fn consumed(&mut self, function: &'static str, values: BTreeMap<&str, String>) {
        let answer = invoke(&self.api, function, &values).await;
        assert_eq!(answer, json!({"batchItemFailures": []}), "{function}");
        self.answered.insert(function);
    }
}

#[tokio::test]
async fn every_function_answers_its_sample_event_as_its_route_promises() {
    let mut run = Run { api: Api::from_env(), answered: Default::default() };

    // What anyone may call.
    for function in ["health", "openapi", "docs"] {
        run.expect(function, BTreeMap::new(), StatusCode::OK).await;
    }
    let slug = format!("sample-{}", unique());
    let email = format!("admin-{slug}@example.com");
    let registered = run
        .expect(
            "auth-register",
            values([("EMAIL", email.clone()), ("PASSWORD", PASSWORD.into()), ("ORGANIZATION_SLUG", slug.clone())]),
            StatusCode::CREATED,
        )
        .await;
    let unverified = registered["access_token"].as_str().unwrap().to_owned();
    run.expect("auth-verify-email-resend", values([("ACCESS_TOKEN", unverified)]), StatusCode::ACCEPTED).await;
    let verification = mail_token(&email, VERIFICATION_SUBJECT).await;
    run.expect("auth-verify-email", values([("MAIL_TOKEN", verification)]), StatusCode::NO_CONTENT).await;
    let session = run
        .expect("auth-login", values([("EMAIL", email.clone()), ("PASSWORD", PASSWORD.into())]), StatusCode::OK)
        .await;
    let token = session["access_token"].as_str().unwrap().to_owned();
    run.expect(
        "auth-refresh",
        values([("REFRESH_TOKEN", session["refresh_token"].as_str().unwrap().to_owned())]),
        StatusCode::OK,
    )
    .await;
    let org_id = registered["organization"]["id"].as_str().unwrap().to_owned();
    let admin_id = registered["user"]["id"].as_str().unwrap().to_owned();
    let with_token = |pairs: &[(&'static str, String)]| {
        let mut v = values([("ACCESS_TOKEN", token.clone())]);
        v.extend(pairs.iter().cloned());
        v
    };

    // Invitations, and a member who accepts one.
    let invitee = format!("invitee-{}@example.com", unique());
    let invitation =
        run.expect("invitations-create", with_token(&[("EMAIL", invitee.clone())]), StatusCode::CREATED).await;
    run.expect("invitations-list", with_token(&[]), StatusCode::OK).await;
    let accepted = run
        .expect(
            "auth-accept-invitation",
            values([("MAIL_TOKEN", invitation_token(&invitee).await), ("PASSWORD", PASSWORD.into())]),
            StatusCode::CREATED,
        )
        .await;
    let member_id = accepted["user"]["id"].as_str().unwrap().to_owned();
    let second = format!("second-{}@example.com", unique());
    let pending = run.expect("invitations-create", with_token(&[("EMAIL", second)]), StatusCode::CREATED).await;
    run.expect(
        "invitations-delete",
        with_token(&[("INVITATION_ID", pending["id"].as_str().unwrap().to_owned())]),
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_ne!(invitation["id"], pending["id"]);

    // Users, tasks, the organization, its audit log and export.
    run.expect("auth-me", with_token(&[]), StatusCode::OK).await;
    run.expect("users-list", with_token(&[]), StatusCode::OK).await;
    run.expect("users-get", with_token(&[("USER_ID", member_id.clone())]), StatusCode::OK).await;
    run.expect("users-update", with_token(&[("USER_ID", member_id.clone())]), StatusCode::OK).await;
    let task = run.expect("tasks-create", with_token(&[]), StatusCode::CREATED).await;
    let task_id = task["id"].as_str().unwrap().to_owned();
    run.expect("tasks-list", with_token(&[]), StatusCode::OK).await;
    run.expect("tasks-get", with_token(&[("TASK_ID", task_id.clone())]), StatusCode::OK).await;
    run.expect("tasks-update", with_token(&[("TASK_ID", task_id.clone())]), StatusCode::OK).await;
    run.expect("organizations-get", with_token(&[]), StatusCode::OK).await;
    run.expect("organizations-update", with_token(&[]), StatusCode::OK).await;
    run.expect("audit-list", with_token(&[]), StatusCode::OK).await;
    let key = run.expect("api-keys-create", with_token(&[]), StatusCode::CREATED).await;
    run.expect("api-keys-list", with_token(&[]), StatusCode::OK).await;
    let key_id = key["id"].as_str().unwrap_or_else(|| panic!("an API key id in {key}")).to_owned();
    run.expect("api-keys-delete", with_token(&[("API_KEY_ID", key_id)]), StatusCode::NO_CONTENT).await;
    let export = run.expect("organizations-export-create", with_token(&[]), StatusCode::ACCEPTED).await;
    // The deprecated route answers the same running export.
    let again = run.expect("organizations-export", with_token(&[]), StatusCode::ACCEPTED).await;
    assert_eq!(again["id"], export["id"], "{again}");
    let export_id = export["id"].as_str().unwrap_or_else(|| panic!("an export id in {export}")).to_owned();
    run.expect("organizations-export-status", with_token(&[("EXPORT_ID", export_id.clone())]), StatusCode::OK).await;

    // The consumers, each with an event of this organization, and the re-publisher.
    let event_of = |pairs: &[(&'static str, String)]| {
        let mut v = values([("EVENT_ID", uuid()), ("ORGANIZATION_ID", org_id.clone()), ("USER_ID", admin_id.clone())]);
        v.extend(pairs.iter().cloned());
        v
    };
    for function in ["notifications-mailer", "audit-writer"] {
        run.consumed(function, event_of(&[("TASK_ID", task_id.clone())])).await;
    }
    // A webhook to a receiver of this test. The dispatcher's sample event happened (its
    // fixed `occurred_at`) before the webhook was made, so it is not sent: a new endpoint gets
    // nothing from before it existed. The invocation answered only once it was done, so a
    // delivery would already have reached the receiver.
    let (receiver, mut received, _) = e2e::receiver::receiver(e2e::receiver::answer("204 No Content", "", "")).await;
    let webhook_url = format!("http://{receiver}/sample");
    let webhook = run.expect("webhooks-create", with_token(&[("WEBHOOK_URL", webhook_url)]), StatusCode::CREATED).await;
    let webhook_id = webhook["id"].as_str().unwrap_or_else(|| panic!("a webhook id in {webhook}")).to_owned();
    run.expect("webhooks-list", with_token(&[]), StatusCode::OK).await;
    run.consumed("webhooks-dispatcher", event_of(&[("TASK_ID", task_id.clone())])).await;
    assert!(received.try_recv().is_err(), "an event from before the webhook was made is not sent to it");
    let hook = |pairs: &[(&'static str, String)]| {
        let mut v = with_token(&[("WEBHOOK_ID", webhook_id.clone())]);
        v.extend(pairs.iter().cloned());
        v
    };
    run.expect("webhooks-get", hook(&[]), StatusCode::OK).await;
    run.expect("webhooks-update", hook(&[]), StatusCode::OK).await;
    run.expect("webhooks-rotate-secret", hook(&[]), StatusCode::OK).await;
    run.expect("webhooks-test", hook(&[]), StatusCode::ACCEPTED).await;
    run.expect("webhooks-deliveries", hook(&[]), StatusCode::OK).await;
    run.expect("webhooks-delete", hook(&[]), StatusCode::NO_CONTENT).await;
    // An export that is not this organization's, a deletion of an organization not marked
    // for one: both dropped as done, neither retried nor acted on.
    run.consumed("organizations-exporter", event_of(&[("EXPORT_ID", uuid())])).await;
    run.consumed("organizations-deleter", event_of(&[])).await;
    let (status, _) = run.api.call(Method::GET, "/api/v1/organizations/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "the deleter's sample deleted nothing unasked");
    let report = invoke(&run.api, "notifications-republisher", &BTreeMap::new()).await;
    assert!(report["published"].is_u64() && report["failed"].is_u64(), "{report}");
    run.answered.insert("notifications-republisher");

    // What ends things, last: a task and a member deleted, the password reset and changed,
    // the sessions ended, the organization deleted.
    run.expect("tasks-delete", with_token(&[("TASK_ID", task_id)]), StatusCode::NO_CONTENT).await;
    run.expect("users-delete", with_token(&[("USER_ID", member_id)]), StatusCode::NO_CONTENT).await;
    run.expect("auth-password-reset", values([("EMAIL", email.clone())]), StatusCode::ACCEPTED).await;
    let reset = mail_token(&email, RESET_SUBJECT).await;
    let reset_password = format!("{PASSWORD}-reset");
    run.expect(
        "auth-password-reset-confirm",
        values([("MAIL_TOKEN", reset), ("NEW_PASSWORD", reset_password.clone())]),
        StatusCode::NO_CONTENT,
    )
    .await;
    let (status, session) = run.api.login(&email, &reset_password).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["access_token"].as_str().unwrap().to_owned();
    let mine = |pairs: &[(&'static str, String)]| {
        let mut v = values([("ACCESS_TOKEN", token.clone())]);
        v.extend(pairs.iter().cloned());
        v
    };
    run.expect(
        "auth-password",
        mine(&[("PASSWORD", reset_password), ("NEW_PASSWORD", format!("{PASSWORD}-changed"))]),
        StatusCode::NO_CONTENT,
    )
    .await;
    let (status, session) = run.api.login(&email, &format!("{PASSWORD}-changed")).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["access_token"].as_str().unwrap().to_owned();
    let mine = |pairs: &[(&'static str, String)]| {
        let mut v = values([("ACCESS_TOKEN", token.clone())]);
        v.extend(pairs.iter().cloned());
        v
    };
    run.expect("auth-logout", mine(&[]), StatusCode::NO_CONTENT).await;
    assert_eq!(run.api.refresh(session["refresh_token"].as_str().unwrap()).await.0, StatusCode::UNAUTHORIZED);
    // Two sessions: ending all from one ends the other too.
    let (_, other) = run.api.login(&email, &format!("{PASSWORD}-changed")).await;
    let (status, session) = run.api.login(&email, &format!("{PASSWORD}-changed")).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["access_token"].as_str().unwrap().to_owned();
    run.expect("auth-logout-all", values([("ACCESS_TOKEN", token)]), StatusCode::NO_CONTENT).await;
    assert_eq!(run.api.refresh(other["refresh_token"].as_str().unwrap()).await.0, StatusCode::UNAUTHORIZED);
    let (status, session) = run.api.login(&email, &format!("{PASSWORD}-changed")).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["access_token"].as_str().unwrap().to_owned();
    run.expect(
        "organizations-delete",
        values([("ACCESS_TOKEN", token), ("ORGANIZATION_SLUG", slug)]),
        StatusCode::ACCEPTED,
    )
    .await;

    // Every function has its sample, and every sample was answered.
    let functions: std::collections::BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let samples: std::collections::BTreeSet<String> = std::fs::read_dir(root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap().trim_end_matches(".json").to_owned())
        .collect();
    assert_eq!(samples, functions, "one sample per function");
    let answered: std::collections::BTreeSet<String> = run.answered.iter().map(|f| (*f).to_owned()).collect();
    assert_eq!(answered, functions, "every sample handed to its function");
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}
