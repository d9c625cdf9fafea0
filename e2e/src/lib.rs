//! A small client for the end-to-end tests. They run against a real stack started by
//! `tools/stack.sh` (moto_server plus `cargo lambda watch`), which `make test` does; each
//! test makes its own organizations, so tests run in parallel and never share data.

pub mod receiver;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use taskflow::auth::TokenVerifier;
use taskflow::domain::{Email, Password, Role};

pub const PASSWORD: &str = "admin123";

/// How long a test waits for a mail: the queue poller, the mailer and the emulator share
/// two cores with the whole suite running in parallel, so a mail can take tens of seconds.
pub const MAIL_DEADLINE: u64 = 90;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the tests with `make test`, which starts the emulator and the API (tools/stack.sh)"
        )
    })
}

#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

/// An organization made for one test, with its admin logged in.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub org_id: String,
    pub slug: String,
    pub admin: Caller,
}

#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: String,
    pub email: String,
    pub token: String,
}

/// A unique suffix, so that emails and slugs never collide between tests or runs.
pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

impl Default for Api {
    fn default() -> Self {
        Self::from_env()
    }
}

impl Api {
    pub fn from_env() -> Self {
        Self::with_client(reqwest::Client::builder())
    }

    /// Calls `function` through the local stack's Invoke API with an API Gateway HTTP API
    /// (payload 2.0) event of our own making, as API Gateway would invoke it: the way to give
    /// a request a source address, since `cargo lambda watch`'s router writes `127.0.0.1` as
    /// every request's `sourceIp`. The address is only a string in the event: no traffic goes
    /// anywhere but to the stack on loopback.
    pub async fn invoke(
        &self,
        function: &str,
        method: Method,
        path: &str,
        body: Value,
        source_ip: &str,
    ) -> (StatusCode, Value) {
        let answer = self.invoke_answer(function, method, path, body, source_ip).await;
        let status =
            StatusCode::from_u16(u16::try_from(answer["statusCode"].as_u64().expect("a status code")).unwrap())
                .unwrap();
        let text = answer["body"].as_str().unwrap_or("");
        (status, serde_json::from_str(text).unwrap_or(Value::Null))
    }

    /// [`Self::invoke`]'s whole answer, as API Gateway would get it: `statusCode`, `headers`
    /// (lowercase names) and `body`.
    pub async fn invoke_answer(
        &self,
        function: &str,
        method: Method,
        path: &str,
        body: Value,
        source_ip: &str,
    ) -> Value {
        let event = json!({
            "version": "2.0",
            "routeKey": format!("{method} {path}"),
            "rawPath": path,
            "rawQueryString": "",
            "headers": {"content-type": "application/json", "user-agent": "taskflow-e2e"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "domainName": "localhost",
                "domainPrefix": "localhost",
                "http": {"method": method.as_str(), "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": "taskflow-e2e"},
                "requestId": unique(),
                "routeKey": format!("{method} {path}"),
                "stage": "$default",
                "time": "02/Dec/2026:00:00:00 +0000",
                "timeEpoch": chrono::Utc::now().timestamp_millis(),
            },
            "body": body.to_string(),
            "isBase64Encoded": false,
        });
        let url = self.url(&format!("/2015-03-31/functions/{function}/invocations"));
        self.http
            .post(url)
            .json(&event)
            .send()
            .await
            .expect("the Invoke API answers")
            .json()
            .await
            .expect("a JSON answer")
    }

    fn with_client(builder: reqwest::ClientBuilder) -> Self {
        // A bound on every call, so that a hung function fails its test instead of the run.
        let http = builder.timeout(std::time::Duration::from_secs(90)).build().expect("a client");
        Self { base: env("TASKFLOW_API_URL"), http }
    }

    /// The absolute URL of `path` on the API under test.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let mut req = self.http.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.request(method, path, token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await.expect("the API answers")).await
    }

    pub async fn register(&self, email: &str, slug: &str) -> (StatusCode, Value) {
        let body = json!({
            "email": email, "password": PASSWORD,
            "organization_name": format!("Org {slug}"), "organization_slug": slug,
        });
        self.call(Method::POST, "/api/v1/auth/register", None, Some(body)).await
    }

    pub async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        let body = json!({ "email": email, "password": password });
        self.call(Method::POST, "/api/v1/auth/login", None, Some(body)).await
    }

    pub async fn token(&self, email: &str) -> String {
        let (status, body) = self.login(email, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "login of {email}: {body}");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    /// A new organization whose admin verified their address with the mailed token, as a
    /// real admin would before inviting anyone or getting task mail.
    pub async fn tenant(&self) -> Tenant {
        let tenant = self.unverified_tenant().await;
        let token = mail_token(&tenant.admin.email, VERIFICATION_SUBJECT).await;
        let (status, body) =
            self.call(Method::POST, "/api/v1/auth/verify-email", None, Some(json!({"token": token}))).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "verify-email: {body}");
        tenant
    }

    /// A new organization whose admin has not verified their address.
    pub async fn unverified_tenant(&self) -> Tenant {
        let slug = format!("org-{}", unique());
        let email = format!("admin-{slug}@example.com");
        let (status, body) = self.register(&email, &slug).await;
        assert_eq!(status, StatusCode::CREATED, "register: {body}");
        let token = self.token(&email).await;
        // The organization's first authenticated request creates its request counter (in a
        // transaction of its own): made here, so that no test's faults meet it.
        let (status, me) = self.call(Method::GET, "/api/v1/auth/me", Some(&token), None).await;
        assert_eq!(status, StatusCode::OK, "me: {me}");
        Tenant {
            org_id: body["organization"]["id"].as_str().unwrap().to_owned(),
            slug,
            admin: Caller { user_id: body["user"]["id"].as_str().unwrap().to_owned(), email, token },
        }
    }

    /// A member of `tenant`. Inviting members is a later feature, so the fixture writes
    /// the user through the store, with the tenant scope of the admin's verified token.
    pub async fn member(&self, tenant: &Tenant) -> Caller {
        let admin = verifier().verify(&tenant.admin.token).expect("admin token verifies");
        let email = format!("member-{}@example.com", unique());
        let hash = taskflow::auth::hash_password(&Password::parse(PASSWORD).unwrap()).unwrap();
        let store = taskflow::config::store(&taskflow::config::sdk_config().await.expect("SDK configuration"));
        let user = store
            .users()
            .create(&admin.scope(), Email::parse(&email).unwrap(), Role::Member, hash, chrono::Utc::now())
            .await
            .expect("member created");
        let token = self.token(&email).await;
        Caller { user_id: user.id.to_string(), email, token }
    }

    /// `DELETE /api/v1/organizations/me` by the tenant's admin, confirming with `confirm`.
    pub async fn delete_organization(&self, tenant: &Tenant, confirm: &str) -> (StatusCode, Value) {
        let body = json!({"confirm_slug": confirm});
        self.call(Method::DELETE, "/api/v1/organizations/me", Some(&tenant.admin.token), Some(body)).await
    }

    pub async fn create_task(&self, token: &str, body: Value) -> Value {
        let (status, task) = self.call(Method::POST, "/api/v1/tasks", Some(token), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "create task: {task}");
        task
    }
}

/// Status and JSON body (`Value::Null` for an empty body); a problem answer must say so in
/// its content type.
pub async fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type =
        response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = response.text().await.expect("a body");
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    if status.is_client_error() && status != StatusCode::NOT_FOUND || status.is_server_error() {
        assert_eq!(content_type, "application/problem+json", "{status} answered as {content_type}: {body}");
    }
    (status, body)
}

/// The emulator the stack runs (moto_server), as the tests reach it.
pub fn emulator_url() -> String {
    env("TASKFLOW_EMULATOR_URL")
}

/// The mails moto has "sent" to `to`, from its state dump (`ses.Message`). moto keeps only
/// the HTML body of a mail with both parts.
pub async fn mails_to(to: &str) -> Vec<Value> {
    let state: Value = reqwest::get(format!("{}/moto-api/data.json", emulator_url()))
        .await
        .expect("moto answers")
        .json()
        .await
        .expect("moto's state is JSON");
    state["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["destinations"]["ToAddresses"].as_array().is_some_and(|a| a.iter().any(|t| t == to)))
        .collect()
}

/// How many mails to `to` have a subject containing `needle`.
pub async fn mails_about(to: &str, needle: &str) -> usize {
    mails_to(to).await.iter().filter(|m| m["subject"].as_str().is_some_and(|s| s.contains(needle))).count()
}

/// What the stack's functions have written so far (`cargo lambda watch`'s log, which
/// tools/stack.sh names in `TASKFLOW_FUNCTION_LOG`): their JSON log lines and metrics
/// documents, between cargo's own build output.
pub fn function_log() -> String {
    let path = std::env::var("TASKFLOW_FUNCTION_LOG").expect(
        "TASKFLOW_FUNCTION_LOG is not set: run the tests inside the stack (make test, or tools/stack.sh -- cargo test)",
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A function's JSON line of the log, without the status word cargo may have written before
/// it (`    Blocking`: cargo writes the word apart from the rest of its own line, and a line
/// a function wrote meanwhile lands after it; two cold starts waiting on one lock write
/// `    Blocking    Blocking`). Only such a prefix (blanks and words, ending in a word,
/// nothing of JSON) is taken off.
pub fn without_a_build_status_word(line: &str) -> &str {
    let is_a_status_word = |prefix: &str| {
        let mut words = prefix.split(' ').filter(|w| !w.is_empty()).peekable();
        !prefix.ends_with(' ')
            && words.peek().is_some()
            && words.all(|word| word.chars().all(|c| c.is_ascii_alphabetic()))
    };
    match line.find('{') {
        Some(start) if is_a_status_word(&line[..start]) => &line[start..],
        _ => line,
    }
}

/// The `fields` of every log line the functions wrote with `message` and whose `field` is
/// `value` (an organization's id, say).
pub fn logged(message: &str, field: &str, value: &str) -> Vec<Value> {
    function_log()
        .lines()
        .filter(|line| line.contains(message) && line.contains(value))
        .filter_map(|line| serde_json::from_str::<Value>(without_a_build_status_word(line)).ok())
        .map(|line| line["fields"].clone())
        .filter(|fields| fields["message"] == message && fields[field] == value)
        .collect()
}

/// The password throttle's window, as the stack sets it, in seconds.
pub fn throttle_window() -> i64 {
    std::env::var("TASKFLOW_PASSWORD_WINDOW_SECONDS").unwrap().parse().unwrap()
}

/// Waits until the password throttle's window has just begun, so that a test's attempts all
/// fall into one window.
pub async fn early_in_a_window() {
    let window = throttle_window();
    let started = eventually(u64::try_from(window).unwrap() + 2, || async {
        chrono::Utc::now().timestamp() % window < window / 4
    })
    .await;
    assert!(started);
}

/// Runs `attempts` against a fresh organization, started early in a window of the password
/// throttle, and answers what they saw, once a run fits in one window. On a loaded machine a
/// run can outlast the window, and then its attempts are counted in two: such a run proves
/// nothing and is made again (with an organization of its own), three times at most.
pub async fn in_one_window<T, F, Fut>(api: &Api, attempts: F) -> T
where
    F: Fn(Tenant) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let window = throttle_window();
    for _ in 0..3 {
        let tenant = api.tenant().await;
        early_in_a_window().await;
        let started = chrono::Utc::now().timestamp() / window;
        let seen = attempts(tenant).await;
        if chrono::Utc::now().timestamp() / window == started {
            return seen;
        }
    }
    panic!("three runs each outlasted the password throttle's window of {window} s");
}

/// Polls until `done` holds or `seconds` pass; answers whether it held.
pub async fn eventually<F, Fut>(seconds: u64, mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if done().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    done().await
}

impl Api {
    /// Invites `email` into `tenant` and returns the invitation as answered.
    pub async fn invite(&self, tenant: &Tenant, email: &str, role: &str) -> Value {
        let (status, invitation) = self
            .call(
                Method::POST,
                "/api/v1/invitations",
                Some(&tenant.admin.token),
                Some(json!({"email": email, "role": role})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "invite: {invitation}");
        invitation
    }

    pub async fn refresh(&self, refresh_token: &str) -> (StatusCode, Value) {
        self.call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": refresh_token}))).await
    }
}

/// The invitation token of the newest invitation mail to `to`, once it has arrived.
pub async fn invitation_token(to: &str) -> String {
    mail_token(to, "invited").await
}

/// What the subject of a verification mail says.
pub const VERIFICATION_SUBJECT: &str = "Confirm your TaskFlow email address";
/// What the subject of a password reset mail says.
pub const RESET_SUBJECT: &str = "Reset your TaskFlow password";

/// The token of the newest mail to `to` whose subject contains `subject`, once one arrived.
pub async fn mail_token(to: &str, subject: &str) -> String {
    let about = |m: &Value| m["subject"].as_str().is_some_and(|s| s.contains(subject));
    let arrived = eventually(MAIL_DEADLINE, || async { mails_to(to).await.iter().any(about) }).await;
    assert!(arrived, "no mail about {subject:?} to {to}");
    let mails = mails_to(to).await;
    let body = mails.iter().rev().filter(|m| about(m)).find_map(|m| m["body"].as_str()).unwrap().to_owned();
    let start = body.find("<code>").expect("the mail shows the token") + "<code>".len();
    let end = body[start..].find("</code>").unwrap() + start;
    body[start..end].to_owned()
}

impl Api {
    /// The token of an invitation that expired a day ago. Time cannot be moved in the
    /// emulator, so the fixture writes it through the store, with the tenant scope of the
    /// admin's verified token, as the invitations function would have a week earlier.
    pub async fn expired_invitation(&self, tenant: &Tenant) -> String {
        use taskflow::domain::{Invitation, InvitationDraft, MailNonce};
        let admin = verifier().verify(&tenant.admin.token).expect("admin token verifies");
        let draft: InvitationDraft =
            serde_json::from_value(json!({"email": format!("late-{}@example.com", unique()), "role": "member"}))
                .unwrap();
        let eight_days_ago = chrono::Utc::now() - chrono::Duration::days(8);
        let invitation = Invitation::new(draft, admin.org_id(), admin.user_id(), eight_days_ago);
        let sdk = taskflow::config::sdk_config().await.expect("SDK configuration");
        let nonce = MailNonce::generate();
        let token = taskflow::config::mail_token_key(&sdk).await.expect("the invitation secret").token(
            taskflow::auth::MailTokenPurpose::Invitation,
            &invitation.id,
            &nonce,
        );
        let by = taskflow::domain::events::Provenance::user(admin.user_id(), Default::default());
        let event = taskflow::domain::events::Event::invitation_created(&invitation, nonce, &by);
        let store = taskflow::config::store(&sdk);
        let quota = taskflow::config::invitation_quota().expect("quota");
        let caller = admin.as_admin().expect("an admin");
        store
            .invitations()
            .create(
                &admin.scope(),
                &caller,
                quota,
                taskflow::store::NewInvitation { invitation: &invitation, token: &token.hash(), event: &event },
                None,
            )
            .await
            .expect("stored");
        token.expose().to_owned()
    }
}

/// The tenant scope of `tenant`, from its admin's verified token: how a test reads the
/// tenant's items through the store, as the functions would.
pub fn scope_of(tenant: &Tenant) -> taskflow::store::TenantScope {
    verifier().verify(&tenant.admin.token).expect("admin token verifies").scope()
}

/// Verifies access tokens with the public key the stack exported.
pub fn verifier() -> TokenVerifier {
    TokenVerifier::from_pem(
        &env(taskflow::config::JWT_PUBLIC_KEY),
        &taskflow::config::token_settings().expect("token settings"),
    )
    .expect("public key")
}

/// A fault set on the stack's fault proxy (tools/faultproxy.py) for the calls of one
/// operation whose body contains `matching` (a test's own organization id, title or
/// address): the next `times` such calls get `fault`. Removed when dropped.
pub struct Fault {
    url: String,
}

impl Fault {
    pub async fn inject(operation: &str, matching: &str, fault: &str, times: u32) -> Self {
        Self::inject_with(json!({"operation": operation, "match": matching, "fault": fault, "times": times})).await
    }

    pub async fn delay(operation: &str, matching: &str, delay_ms: u64, times: u32) -> Self {
        let rule =
            json!({"operation": operation, "match": matching, "fault": "delay", "delay_ms": delay_ms, "times": times});
        Self::inject_with(rule).await
    }

    async fn inject_with(rule: Value) -> Self {
        let proxy = env("TASKFLOW_FAULT_PROXY_URL");
        let answer: Value = reqwest::Client::new()
            .post(format!("{proxy}/__faults"))
            .json(&rule)
            .send()
            .await
            .expect("the fault proxy answers")
            .json()
            .await
            .expect("a rule id");
        Self { url: format!("{proxy}/__faults/{}", answer["id"].as_str().expect("a rule id")) }
    }

    /// How many calls the fault has hit so far.
    pub async fn hits(&self) -> u64 {
        let rule: Value = reqwest::get(&self.url).await.expect("the fault proxy answers").json().await.expect("JSON");
        rule["hits"].as_u64().expect("hits")
    }
}

impl Drop for Fault {
    fn drop(&mut self) {
        // Best effort, off the test's runtime: the proxy forgets the rule.
        let url = self.url.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async { reqwest::Client::new().delete(url).send().await.ok() });
        })
        .join()
        .ok();
    }
}

pub fn table() -> String {
    taskflow::config::table_name()
}

/// A DynamoDB client of the stack's emulator (through the fault proxy, as the functions).
pub async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&taskflow::config::sdk_config().await.expect("SDK configuration"))
}

/// `count` task items written straight into the table, as the store writes them (keys,
/// index keys, attributes), with `description` if given: for organizations larger than a
/// test could make through the API. Answers their ids.
pub async fn bulk_tasks(
    db: &aws_sdk_dynamodb::Client,
    tenant: &Tenant,
    count: usize,
    description: Option<&str>,
) -> Vec<String> {
    use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
    let now = chrono::Utc::now().to_rfc3339();
    let ids: Vec<String> = (0..count).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let items: Vec<WriteRequest> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let s = |v: String| AttributeValue::S(v);
            let item = std::collections::HashMap::from([
                ("pk".to_owned(), s(format!("ORG#{}", tenant.org_id))),
                ("sk".to_owned(), s(format!("TASK#{id}"))),
                ("status_pk".to_owned(), s(format!("ORG#{}#STATUS#todo", tenant.org_id))),
                ("id".to_owned(), s(id.clone())),
                ("organization_id".to_owned(), s(tenant.org_id.clone())),
                ("title".to_owned(), s(format!("bulk task {i}"))),
                ("description".to_owned(), description.map_or(AttributeValue::Null(true), |d| s(d.to_owned()))),
                ("status".to_owned(), s("todo".into())),
                ("priority".to_owned(), s("medium".into())),
                ("assignee_id".to_owned(), AttributeValue::Null(true)),
                ("created_by".to_owned(), s(tenant.admin.user_id.clone())),
                ("due_date".to_owned(), AttributeValue::Null(true)),
                ("created_at".to_owned(), s(now.clone())),
                ("updated_at".to_owned(), s(now.clone())),
                ("version".to_owned(), AttributeValue::N("1".into())),
            ]);
            WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item)).build().unwrap()).build()
        })
        .collect();
    for chunk in items.chunks(25) {
        let mut pending = chunk.to_vec();
        for _ in 0..10 {
            let out = db.batch_write_item().request_items(table(), pending).send().await.expect("batch write");
            pending = out.unprocessed_items.and_then(|mut u| u.remove(&table())).unwrap_or_default();
            if pending.is_empty() {
                break;
            }
        }
        assert!(pending.is_empty(), "the emulator left writes unprocessed");
    }
    ids
}

/// A topic and a queue of the test's own, the queue subscribed to the topic as the stack's
/// consumers are (raw delivery): a [`Publisher`](taskflow::notifications::Publisher) onto
/// the topic, and what it published read back from the queue, without the stack's own
/// consumers taking it first.
pub struct ProbeTopic {
    pub publisher: taskflow::notifications::Publisher,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
}

impl ProbeTopic {
    pub async fn new() -> Self {
        let sdk = taskflow::config::sdk_config().await.expect("SDK configuration");
        let (sns, sqs) = (aws_sdk_sns::Client::new(&sdk), aws_sdk_sqs::Client::new(&sdk));
        let name = format!("probe-{}", unique());
        let topic_arn = sns.create_topic().name(&name).send().await.unwrap().topic_arn.unwrap();
        let queue_url = sqs.create_queue().queue_name(&name).send().await.unwrap().queue_url.unwrap();
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .unwrap();
        Self { publisher: taskflow::notifications::Publisher::new(sns, topic_arn), sqs, queue_url }
    }

    /// The bodies of the messages waiting (at most 10), waiting up to five seconds for one.
    pub async fn received(&self) -> Vec<String> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(5)
            .send()
            .await
            .unwrap();
        out.messages.unwrap_or_default().into_iter().filter_map(|m| m.body).collect()
    }
}
