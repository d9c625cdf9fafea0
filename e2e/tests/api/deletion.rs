//! Deleting an organization, tried as someone who wants it broken: stopped half-way, with
//! old tokens replayed while it runs and after, with a neighbour that must lose nothing.

use aws_sdk_dynamodb::types::{AttributeValue, Select};
use e2e::{Api, Fault, MAIL_DEADLINE, PASSWORD, Tenant, bulk_tasks, dynamodb, eventually, mails_about, table, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The done mail's subject.
const DELETED_SUBJECT: &str = "Your organization has been deleted";
/// Tasks written straight into the table, beside those made through the API: the issue asks
/// for a deletion of at least 1,000 items.
const BULK_TASKS: usize = 1000;

/// How many items the organization's partition holds.
async fn partition_items(db: &aws_sdk_dynamodb::Client, org_id: &str) -> usize {
    partition_keys(db, org_id).await.len()
}

/// The sort keys of the organization's partition.
async fn partition_keys(db: &aws_sdk_dynamodb::Client, org_id: &str) -> std::collections::BTreeSet<String> {
    let (mut keys, mut start) = (std::collections::BTreeSet::new(), None);
    loop {
        let out = db
            .query()
            .table_name(table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(format!("ORG#{org_id}")))
            .projection_expression("sk")
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("query the partition");
        keys.extend(out.items().iter().filter_map(|i| i.get("sk")?.as_s().ok().cloned()));
        start = out.last_evaluated_key;
        if start.is_none() {
            return keys;
        }
    }
}

/// How many global items name the organization as their owner.
async fn owned_lookups(db: &aws_sdk_dynamodb::Client, org_id: &str) -> usize {
    let out = db
        .query()
        .table_name(table())
        .index_name(taskflow::store::schema::LOOKUPS_BY_OWNER)
        .key_condition_expression("owner_org = :org")
        .expression_attribute_values(":org", AttributeValue::S(org_id.to_owned()))
        .select(Select::Count)
        .send()
        .await
        .expect("query the owner index");
    usize::try_from(out.count).unwrap()
}

async fn guard_exists(db: &aws_sdk_dynamodb::Client, pk: String) -> bool {
    let out = db
        .get_item()
        .table_name(table())
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S("GUARD".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get a guard");
    out.item.is_some()
}

/// An organization with something of every kind: members, tasks (with their outbox and
/// delivery records), invitations, sessions with rotated refresh tokens, a pending password
/// reset, and `bulk` more tasks. Answers the admin's refresh tokens, oldest first.
async fn populated(api: &Api, db: &aws_sdk_dynamodb::Client, bulk: usize) -> (Tenant, Vec<String>) {
    let tenant = api.tenant().await;
    let member = api.member(&tenant).await;
    for i in 0..3 {
        api.create_task(&tenant.admin.token, json!({"title": format!("task {i}"), "assignee_id": member.user_id}))
            .await;
    }
    for _ in 0..2 {
        api.invite(&tenant, &format!("invitee-{}@example.com", unique()), "member").await;
    }
    let (status, session) = api.login(&tenant.admin.email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let mut refresh_tokens = vec![session["refresh_token"].as_str().unwrap().to_owned()];
    for _ in 0..2 {
        let (status, rotated) = api.refresh(refresh_tokens.last().unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        refresh_tokens.push(rotated["refresh_token"].as_str().unwrap().to_owned());
    }
    let (status, _) =
        api.call(Method::POST, "/api/v1/auth/password-reset", None, Some(json!({"email": member.email}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    bulk_tasks(db, &tenant, bulk, None).await;
    (tenant, refresh_tokens)
}

async fn delete(api: &Api, tenant: &Tenant, confirm: &str) -> (StatusCode, Value) {
    api.delete_organization(tenant, confirm).await
}

#[tokio::test]
async fn a_deletion_stopped_half_way_resumes_removes_every_item_and_leaves_the_neighbour_untouched() {
    let api = Api::from_env();
    let db = dynamodb().await;
    let (tenant, refresh_tokens) = populated(&api, &db, BULK_TASKS).await;
    let (neighbour, neighbour_refresh) = populated(&api, &db, 50).await;
    let before = partition_items(&db, &tenant.org_id).await + owned_lookups(&db, &tenant.org_id).await;
    assert!(before >= 1000, "only {before} items to delete");
    let own_churn = |sk: &String| !sk.starts_with("OUTBOX#");
    let neighbour_items: std::collections::BTreeSet<String> =
        partition_keys(&db, &neighbour.org_id).await.into_iter().filter(own_churn).collect();
    let neighbour_lookups = owned_lookups(&db, &neighbour.org_id).await;

    // Only an admin, only with the slug typed out.
    let member = api.member(&tenant).await;
    // Meanwhile the audit writer adds entries and the re-publisher clears the password
    // reset's outbox marker: refused requests may see the partition change that way, and
    // lose nothing else.
    let items: std::collections::BTreeSet<String> =
        partition_keys(&db, &tenant.org_id).await.into_iter().filter(own_churn).collect();
    let (status, _) = api
        .call(
            Method::DELETE,
            "/api/v1/organizations/me",
            Some(&member.token),
            Some(json!({"confirm_slug": tenant.slug})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = delete(&api, &tenant, &neighbour.slug).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "confirm_slug");
    let after_refusals = partition_keys(&db, &tenant.org_id).await;
    let lost: Vec<&String> = items.difference(&after_refusals).collect();
    assert!(lost.is_empty(), "refused requests deleted {lost:?}");

    // The job is held in the middle (its owner-index read waits), then that invocation
    // fails outright, as one killed half-way would: its message comes back and the next
    // invocation goes on from whatever is left.
    let matching = format!(r#"":owner":{{"S":"{}"}}"#, tenant.org_id);
    let held = Fault::delay("DynamoDB_20120810.Query", &matching, 8000, 1).await;
    let killed = Fault::inject("DynamoDB_20120810.Query", &matching, "error", 3).await;
    let (status, accepted) = delete(&api, &tenant, &tenant.slug).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["status"], "deleting");

    // While it runs: the users are gone first, so the organization's tokens write nothing,
    // refresh nothing and log in nowhere; its slug stays taken.
    let held_now = eventually(MAIL_DEADLINE, || async { held.hits().await == 1 }).await;
    assert!(held_now, "the deletion never reached the owner index");
    let (status, _) =
        api.call(Method::POST, "/api/v1/tasks", Some(&tenant.admin.token), Some(json!({"title": "late"}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a write while it runs");
    assert_eq!(api.refresh(refresh_tokens.last().unwrap()).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.login(&tenant.admin.email, PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = api.call(Method::GET, "/api/v1/organizations/me", Some(&tenant.admin.token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the organization reads as gone");
    let (status, _) = api.register(&format!("squatter-{}@example.com", unique()), &tenant.slug).await;
    assert_eq!(status, StatusCode::CONFLICT, "the slug is taken while it runs");
    assert!(partition_items(&db, &tenant.org_id).await > BULK_TASKS / 2, "held half-way, most tasks are left");
    let (status, _) = delete(&api, &tenant, &tenant.slug).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the admin's user is gone: asking again is refused");

    // Afterwards: nothing of it is left, and the admin is told once.
    let done =
        eventually(MAIL_DEADLINE * 2, || async { mails_about(&tenant.admin.email, DELETED_SUBJECT).await >= 1 }).await;
    assert!(done, "no done mail; {} items left", partition_items(&db, &tenant.org_id).await);
    assert_eq!(killed.hits().await, 3, "the killed invocation's reads");
    // The mail goes out just before the last transaction removes the organization item.
    let emptied = eventually(30, || async { partition_items(&db, &tenant.org_id).await == 0 }).await;
    assert!(emptied, "{} items left in the partition", partition_items(&db, &tenant.org_id).await);
    let lookups_gone = eventually(30, || async { owned_lookups(&db, &tenant.org_id).await == 0 }).await;
    assert!(lookups_gone, "{} owned lookups left", owned_lookups(&db, &tenant.org_id).await);
    assert!(!guard_exists(&db, format!("SLUG#{}", tenant.slug)).await);
    assert!(!guard_exists(&db, format!("EMAIL#{}", tenant.admin.email)).await);
    for token in &refresh_tokens {
        assert_eq!(api.refresh(token).await.0, StatusCode::UNAUTHORIZED, "an old refresh token");
    }
    assert_eq!(api.login(&member.email, PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = api.call(Method::GET, "/api/v1/auth/me", Some(&tenant.admin.token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(mails_about(&tenant.admin.email, DELETED_SUBJECT).await, 1, "one done mail");

    // The slug and the emails are free again.
    let (status, body) = api.register(&tenant.admin.email, &tenant.slug).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The neighbour lost nothing (its mail may have added delivery records meanwhile, and
    // the re-publisher cleared an outbox marker: those are its own) and works as before.
    let after = partition_keys(&db, &neighbour.org_id).await;
    assert!(neighbour_items.is_subset(&after), "the neighbour lost {:?}", neighbour_items.difference(&after));
    assert!(owned_lookups(&db, &neighbour.org_id).await >= neighbour_lookups);
    assert_eq!(api.refresh(neighbour_refresh.last().unwrap()).await.0, StatusCode::OK);
    let (status, organization) =
        api.call(Method::GET, "/api/v1/organizations/me", Some(&neighbour.admin.token), None).await;
    assert_eq!((status, organization["slug"].as_str()), (StatusCode::OK, Some(neighbour.slug.as_str())));
}

/// A deletion request message for `tenant`, as the queue carries it.
fn deletion_message(tenant: &Tenant) -> String {
    use taskflow::domain::events::{Event, EventKind, Provenance};
    let admin = taskflow::domain::UserId::parse(&tenant.admin.user_id).unwrap();
    Event::new(
        taskflow::domain::OrgId::parse(&tenant.org_id).unwrap(),
        chrono::Utc::now(),
        &Provenance::user(admin, Default::default()),
        EventKind::OrganizationDeletionRequested { requested_by: admin },
    )
    .to_json()
}

/// No message visible or in flight on the queue.
#[tokio::test]
async fn duplicated_and_redelivered_requests_delete_once_and_mail_once() {
    let api = Api::from_env();
    let db = dynamodb().await;
    let (tenant, _) = populated(&api, &db, 300).await;
    let (status, _) = delete(&api, &tenant, &tenant.slug).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // SQS delivers at least once: two more copies of the job run beside the first.
    let sqs = aws_sdk_sqs::Client::new(&taskflow::config::sdk_config().await.unwrap());
    let queue = std::env::var(taskflow::config::DELETION_QUEUE_URL).expect("the stack exports the deletion queue");
    for _ in 0..2 {
        sqs.send_message().queue_url(&queue).message_body(deletion_message(&tenant)).send().await.expect("send");
    }
    let done = eventually(MAIL_DEADLINE, || async {
        partition_items(&db, &tenant.org_id).await == 0 && mails_about(&tenant.admin.email, DELETED_SUBJECT).await >= 1
    })
    .await;
    assert!(done, "not deleted: {} items left", partition_items(&db, &tenant.org_id).await);
    // Each of the three chains ends in a step that deletes nothing more: the one that
    // finished, and each copy that then found the deletion done. (The queue is every test's:
    // its being empty says nothing of this organization's chains.)
    let chains_ended = || {
        e2e::logged("deletion step", "organization_id", &tenant.org_id)
            .iter()
            .filter(|step| matches!(step["step"].as_str(), Some("Finished" | "AlreadyDone")))
            .count()
    };
    let settled = eventually(MAIL_DEADLINE, || async { chains_ended() >= 3 }).await;
    assert!(settled, "the copies are still running: {} of 3 chains ended", chains_ended());
    assert_eq!(mails_about(&tenant.admin.email, DELETED_SUBJECT).await, 1, "one done mail for three chains");
    assert_eq!(partition_items(&db, &tenant.org_id).await, 0, "nothing written back");

    // The message once more after the end, as SQS may hand it out again: nothing to do.
    let mut record = aws_lambda_events::sqs::SqsMessage::default();
    record.message_id = Some(unique());
    record.body = Some(deletion_message(&tenant));
    let mut batch = aws_lambda_events::sqs::SqsEvent::default();
    batch.records.push(record);
    let answer: Value = reqwest::Client::new()
        .post(api.url("/2015-03-31/functions/organizations-deleter/invocations"))
        .json(&batch)
        .send()
        .await
        .expect("the deleter answers")
        .json()
        .await
        .expect("a batch response");
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    assert_eq!(partition_items(&db, &tenant.org_id).await, 0);
    assert_eq!(mails_about(&tenant.admin.email, DELETED_SUBJECT).await, 1, "still one done mail");
}

/// Moves the creation of the tenant admin's user `days` back, as if registered then.
async fn backdate(db: &aws_sdk_dynamodb::Client, tenant: &Tenant, days: i64) {
    let then = serde_json::to_value(chrono::Utc::now() - chrono::Duration::days(days)).unwrap();
    db.update_item()
        .table_name(table())
        .key("pk", AttributeValue::S(format!("ORG#{}", tenant.org_id)))
        .key("sk", AttributeValue::S(format!("USER#{}", tenant.admin.user_id)))
        .update_expression("SET created_at = :then")
        .expression_attribute_values(":then", AttributeValue::S(then.as_str().unwrap().to_owned()))
        .send()
        .await
        .expect("backdate the user");
}

#[tokio::test]
async fn an_address_never_verified_is_released_to_a_new_registration_after_seven_days() {
    let api = Api::from_env();
    let db = dynamodb().await;
    let stale = api.unverified_tenant().await;
    let stale_link = e2e::mail_token(&stale.admin.email, e2e::VERIFICATION_SUBJECT).await;
    let (status, _) = api.register(&stale.admin.email, &format!("org-{}", unique())).await;
    assert_eq!(status, StatusCode::CONFLICT, "a fresh unverified registration holds its address");
    backdate(&db, &stale, 6).await;
    let (status, _) = api.register(&stale.admin.email, &format!("org-{}", unique())).await;
    assert_eq!(status, StatusCode::CONFLICT, "six days old: still held");

    backdate(&db, &stale, 8).await;
    let slug = format!("org-{}", unique());
    let (status, body) = api.register(&stale.admin.email, &slug).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let new_org = body["organization"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["user"]["email_verified"], false, "the new registration must verify in turn");

    // The stale organization goes, slug and all, and nobody is mailed about it.
    let gone = eventually(MAIL_DEADLINE, || async {
        partition_items(&db, &stale.org_id).await == 0 && !guard_exists(&db, format!("SLUG#{}", stale.slug)).await
    })
    .await;
    assert!(gone, "{} items of the stale organization left", partition_items(&db, &stale.org_id).await);
    assert_eq!(mails_about(&stale.admin.email, DELETED_SUBJECT).await, 0);
    let token = api.token(&stale.admin.email).await;
    let (status, me) = api.call(Method::GET, "/api/v1/auth/me", Some(&token), None).await;
    assert_eq!((status, me["organization_id"].as_str()), (StatusCode::OK, Some(new_org.as_str())), "{me}");
    let (status, _) = api.call(Method::GET, "/api/v1/auth/me", Some(&stale.admin.token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the stale registration's token");
    let (status, _) =
        api.call(Method::POST, "/api/v1/auth/verify-email", None, Some(json!({"token": stale_link}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the stale registration's verification link");
    assert!(partition_items(&db, &new_org).await > 0, "the new organization kept its items");

    // A registration that was used (it holds a task) is never released, nor one stored
    // before verification existed (no `email_verified` at all), however old.
    let used = api.unverified_tenant().await;
    api.create_task(&used.admin.token, json!({"title": "in use"})).await;
    backdate(&db, &used, 30).await;
    let (status, _) = api.register(&used.admin.email, &format!("org-{}", unique())).await;
    assert_eq!(status, StatusCode::CONFLICT, "an organization in use");
    let legacy = api.unverified_tenant().await;
    backdate(&db, &legacy, 30).await;
    db.update_item()
        .table_name(table())
        .key("pk", AttributeValue::S(format!("ORG#{}", legacy.org_id)))
        .key("sk", AttributeValue::S(format!("USER#{}", legacy.admin.user_id)))
        .update_expression("REMOVE email_verified")
        .send()
        .await
        .expect("make the user a legacy one");
    let (status, _) = api.register(&legacy.admin.email, &format!("org-{}", unique())).await;
    assert_eq!(status, StatusCode::CONFLICT, "a user from before verification");

    // A verified address is never released, however old.
    let verified = api.tenant().await;
    backdate(&db, &verified, 30).await;
    let (status, _) = api.register(&verified.admin.email, &format!("org-{}", unique())).await;
    assert_eq!(status, StatusCode::CONFLICT);
}
