//! The store against a real DynamoDB emulator (moto_server, started by `make test` through
//! tools/stack.sh; `AWS_ENDPOINT_URL` points at it). Each test creates its own table.

use chrono::Utc;
use serde_json::json;
use taskflow::auth::hash_password;
use taskflow::domain::{Email, OrgName, OrgSlug, Password, RateBudget, Role, TaskDraft, TaskStatus};
use taskflow::store::schema::TABLE;
use taskflow::store::{
    Caller, Counted, DeleteRefused, Leased, RateLeases, Registration, Store, StoreError, TaskFilter, TenantScope,
    Unique,
};

async fn fresh_store() -> Store {
    fresh_table().await.0
}

/// A store on a table of its own, with a plain client and the table's name for what the
/// store offers no way to write (an operator's edit).
async fn fresh_table() -> (Store, aws_sdk_dynamodb::Client, String) {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok_and(|u| u.starts_with("http://127.0.0.1")),
        "AWS_ENDPOINT_URL must point at a loopback emulator: run the tests with `make test`"
    );
    let sdk = taskflow::config::sdk_config().await.expect("SDK configuration");
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = format!("store-test-{}", uuid::Uuid::new_v4().simple());
    TABLE.create(&client, &table).await.expect("table created");
    TABLE.create(&client, &table).await.expect("creating it again is harmless");
    (Store::from_sdk(&sdk, table.clone()), client, table)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

fn registration(email: &str, slug: &str) -> Registration {
    Registration {
        name: OrgName::parse("Org").unwrap(),
        slug: OrgSlug::parse(slug).unwrap(),
        admin_email: Email::parse(email).unwrap(),
        admin_password_hash: hash_password(&Password::parse("admin123").unwrap()).unwrap(),
    }
}

/// Who the fixtures act as: the service itself.
fn by() -> taskflow::domain::events::Provenance {
    taskflow::domain::events::Provenance::system()
}

/// Registers as the register function does, then redeems the admin's verification token.
async fn register(
    store: &Store,
    scope: &TenantScope,
    registration: Registration,
) -> Result<(taskflow::domain::Organization, taskflow::domain::User), StoreError> {
    let (admin, now) = (taskflow::domain::UserId::generate(), Utc::now());
    let event = taskflow::domain::events::Event::new(
        scope.org_id(),
        now,
        &by(),
        taskflow::domain::events::EventKind::EmailVerificationRequested {
            user_id: admin,
            nonce: taskflow::domain::MailNonce::generate(),
        },
    );
    let token = taskflow::domain::OpaqueToken::generate().hash();
    let new_admin = taskflow::store::NewAdmin { id: admin, verification: &token, event: &event };
    let registered = store.organizations().register(scope, registration, new_admin, now, None).await?;
    store.account_tokens().verify(scope, admin, &token, chrono::Utc::now(), false).await?;
    Ok(registered)
}

/// A member of the scope's organization, as a caller of writes (which check that they exist).
async fn member(store: &Store, scope: &TenantScope) -> Caller {
    let email = Email::parse(&format!("{}@example.com", unique("m"))).unwrap();
    let hash = hash_password(&Password::parse("member123").unwrap()).unwrap();
    let user = store.users().create(scope, email, Role::Member, hash, Utc::now()).await.unwrap();
    Caller { user_id: user.id, needs_admin: false, needs_verified: false, credential_version: None }
}

fn draft(title: &str, status: TaskStatus) -> TaskDraft {
    serde_json::from_value(json!({"title": title, "status": status})).unwrap()
}

#[tokio::test]
async fn a_failed_registration_leaves_nothing_behind() {
    let store = fresh_store().await;
    let orgs = store.organizations();
    let (email, slug) = (format!("{}@example.com", unique("a")), unique("org"));
    let (org, admin) =
        register(&store, &TenantScope::for_new_organization(), registration(&email, &slug)).await.unwrap();
    assert_eq!(admin.role, Role::Admin);
    assert_eq!(admin.organization_id, org.id);

    let other_email = format!("{}@example.com", unique("b"));
    let other_scope = TenantScope::for_new_organization();
    let taken = register(&store, &other_scope, registration(&other_email, &slug)).await;
    assert!(matches!(taken, Err(StoreError::Taken(Unique::Slug))), "{taken:?}");
    assert!(store.credentials().find(&Email::parse(&other_email).unwrap()).await.unwrap().is_none());
    assert!(orgs.get(&other_scope).await.unwrap().is_none(), "no organization item either");

    let other_slug = unique("org");
    let taken = register(&store, &other_scope, registration(&email.to_uppercase(), &other_slug)).await;
    assert!(matches!(taken, Err(StoreError::Taken(Unique::Email))), "{taken:?}");
    // The slug of the failed attempt is still free.
    register(&store, &other_scope, registration(&other_email, &other_slug)).await.unwrap();
}

#[tokio::test]
async fn a_filtered_page_reads_only_matching_items_however_many_others_exist() {
    let store = fresh_store().await;
    let tasks = store.tasks();
    let (mine, theirs) = (TenantScope::for_new_organization(), TenantScope::for_new_organization());
    let (creator, their_creator) = (member(&store, &mine).await, member(&store, &theirs).await);
    for i in 0..30 {
        tasks.create(&mine, &creator, draft(&format!("todo {i}"), TaskStatus::Todo), Utc::now(), &by()).await.unwrap();
    }
    for i in 0..5 {
        tasks.create(&mine, &creator, draft(&format!("done {i}"), TaskStatus::Done), Utc::now(), &by()).await.unwrap();
    }
    for i in 0..20 {
        let done = draft(&format!("theirs {i}"), TaskStatus::Done);
        tasks.create(&theirs, &their_creator, done, Utc::now(), &by()).await.unwrap();
    }

    let done = TaskFilter::new(Some(TaskStatus::Done), None);
    let page = tasks.list_page(&mine, &done, 2, None).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items_read, 3, "the page and one more to know a next page exists");
    assert!(page.items.iter().all(|t| t.status == TaskStatus::Done && t.organization_id == mine.org_id()));

    let mut seen = page.items.len();
    let mut after = page.last;
    while let Some(last) = after {
        let page = tasks.list_page(&mine, &done, 2, Some(last)).await.unwrap();
        assert!(page.items_read <= 3);
        seen += page.items.len();
        after = page.last;
    }
    assert_eq!(seen, 5);

    let all = tasks.list_page(&mine, &TaskFilter::default(), 10, None).await.unwrap();
    assert_eq!((all.items.len(), all.items_read), (10, 11));
}

#[tokio::test]
async fn a_replace_based_on_a_stale_version_is_refused() {
    let store = fresh_store().await;
    let scope = TenantScope::for_new_organization();
    let caller = member(&store, &scope).await;
    let (task, _) =
        store.tasks().create(&scope, &caller, draft("t", TaskStatus::Todo), Utc::now(), &by()).await.unwrap();
    let first = task.patched(serde_json::from_value(json!({"title": "one"})).unwrap(), Utc::now());
    let second = task.patched(serde_json::from_value(json!({"title": "two"})).unwrap(), Utc::now());
    store.tasks().replace(&scope, &first, task.version, &[], Some(&caller)).await.unwrap();
    let lost = store.tasks().replace(&scope, &second, task.version, &[], Some(&caller)).await;
    assert!(matches!(lost, Err(StoreError::VersionConflict)), "{lost:?}");
    let stored = store.tasks().get(&scope, task.id).await.unwrap().unwrap();
    assert_eq!(stored.title.as_str(), "one");
}

#[tokio::test]
async fn another_scope_can_neither_see_nor_delete_a_task() {
    let store = fresh_store().await;
    let (mine, theirs) = (TenantScope::for_new_organization(), TenantScope::for_new_organization());
    let creator = member(&store, &mine).await;
    let (task, _) =
        store.tasks().create(&mine, &creator, draft("t", TaskStatus::Todo), Utc::now(), &by()).await.unwrap();
    assert!(store.tasks().get(&theirs, task.id).await.unwrap().is_none());
    let their_admin = Caller { needs_admin: true, ..member(&store, &theirs).await };
    let refused = store.tasks().delete(&theirs, task.id, &their_admin, &by()).await;
    assert!(
        matches!(refused, Err(StoreError::CallerNotAdmin)),
        "their caller is checked in their partition: {refused:?}"
    );
    let their_member = member(&store, &theirs).await;
    let refused = store.tasks().delete(&theirs, task.id, &their_member, &by()).await.unwrap();
    assert_eq!(refused, Err(DeleteRefused::NotFound));
    assert!(store.tasks().get(&mine, task.id).await.unwrap().is_some());
}

#[tokio::test]
async fn an_invitation_does_not_outlive_its_senders_admin_role() {
    use taskflow::domain::events::Event;
    use taskflow::domain::{Invitation, InvitationDraft, MailNonce, OpaqueToken};
    use taskflow::store::InvitationQuota;

    let store = fresh_store().await;
    let scope = TenantScope::for_new_organization();
    let (email, slug) = (format!("{}@example.com", unique("a")), unique("org"));
    let (_, first) = register(&store, &scope, registration(&email, &slug)).await.unwrap();
    let first = Caller { user_id: first.id, needs_admin: true, needs_verified: false, credential_version: None };
    let second = member(&store, &scope).await;
    store.users().set_role(&scope, &first, second.user_id, Role::Admin, &by()).await.unwrap();
    let second = Caller { needs_admin: true, ..second };

    let quota = InvitationQuota { per_day: 5 };
    let invite = |to: &str| {
        let draft: InvitationDraft = serde_json::from_value(json!({"email": to, "role": "admin"})).unwrap();
        let invitation = Invitation::new(draft, scope.org_id(), second.user_id, Utc::now());
        let event = Event::invitation_created(&invitation, MailNonce::generate(), &by());
        (invitation, OpaqueToken::generate(), event)
    };
    let (invitation, token, event) = invite(&format!("{}@example.com", unique("c")));
    store.invitations().create(&scope, &second, quota, new(&invitation, &token.hash(), &event), None).await.unwrap();
    // Demoted through the store alone: no sweep of their invitations runs.
    store.users().set_role(&scope, &first, second.user_id, Role::Member, &by()).await.unwrap();

    let hash = hash_password(&Password::parse("invitee123").unwrap()).unwrap();
    let accepted =
        store.invitations().accept(&scope, invitation.id, &token.hash(), hash, Utc::now(), Default::default()).await;
    assert!(matches!(accepted, Err(StoreError::InvalidInvitation)), "{accepted:?}");
    let (invitation, token, event) = invite(&format!("{}@example.com", unique("d")));
    let refused =
        store.invitations().create(&scope, &second, quota, new(&invitation, &token.hash(), &event), None).await;
    assert!(matches!(refused, Err(StoreError::CallerNotAdmin)), "{refused:?}");
    let demote_first = store.users().set_role(&scope, &second, first.user_id, Role::Member, &by()).await;
    assert!(matches!(demote_first, Err(StoreError::CallerNotAdmin)), "{demote_first:?}");
    let promote_self = store.users().set_role(&scope, &second, second.user_id, Role::Admin, &by()).await;
    assert!(matches!(promote_self, Err(StoreError::CallerNotAdmin)), "{promote_self:?}");
}

/// An invitation to write, as the store takes it.
fn new<'a>(
    invitation: &'a taskflow::domain::Invitation,
    token: &'a taskflow::domain::TokenHash,
    event: &'a taskflow::domain::events::Event,
) -> taskflow::store::NewInvitation<'a> {
    taskflow::store::NewInvitation { invitation, token, event }
}

/// One request's lease (a batch of one), the way a lease's arithmetic is checked exactly.
async fn lease_one(store: &Store, scope: &TenantScope, window: i64, quota: u32) -> Leased {
    store.rate_limits().lease(scope, window, quota, 1).await.unwrap()
}

#[tokio::test]
async fn concurrent_leases_grant_exactly_up_to_the_quota_and_a_new_window_starts_afresh() {
    let (store, client, table) = fresh_table().await;
    let scope = TenantScope::for_new_organization();
    register(&store, &scope, registration(&format!("{}@example.com", unique("r")), &unique("rate"))).await.unwrap();
    let (window, quota) = (1_000_000, 5);

    // Twenty at once in one window, the item not yet there: five granted, each once.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (store, scope) = (store.clone(), scope.clone());
        tasks.spawn(async move { lease_one(&store, &scope, window, quota).await });
    }
    let mut counted: Vec<u32> = tasks
        .join_all()
        .await
        .iter()
        .filter_map(|leased| match leased {
            Leased::Granted { quota: 5, counted, granted: 1, .. } => Some(*counted),
            Leased::Over { quota: 5, .. } => None,
            other => panic!("{other:?}"),
        })
        .collect();
    counted.sort_unstable();
    assert_eq!(counted, [1, 2, 3, 4, 5]);

    // A later window counts from one; an instance whose clock lags leases in it too.
    let granted = |window, counted| Leased::Granted { window, quota, counted, granted: 1 };
    assert_eq!(lease_one(&store, &scope, window + 2, quota).await, granted(window + 2, 1));
    assert_eq!(lease_one(&store, &scope, window, quota).await, granted(window + 2, 2));

    // A batch larger than what is left of the quota is granted only what is left.
    assert_eq!(
        store.rate_limits().lease(&scope, window + 2, quota, 10).await.unwrap(),
        Leased::Granted { window: window + 2, quota, counted: 5, granted: 3 }
    );
    assert_eq!(lease_one(&store, &scope, window + 2, quota).await, Leased::Over { window: window + 2, quota });

    // An operator's quota for this organization wins over the stack's.
    client
        .update_item()
        .table_name(&table)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("ORG#{}", scope.org_id())))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("RATE_LIMIT".into()))
        .update_expression("SET quota = :q")
        .expression_attribute_values(":q", aws_sdk_dynamodb::types::AttributeValue::N("3".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        lease_one(&store, &scope, window + 4, quota).await,
        Leased::Granted { window: window + 4, quota: 3, counted: 1, granted: 1 }
    );
    assert_eq!(
        store.rate_limits().lease(&scope, window + 4, quota, 5).await.unwrap(),
        Leased::Granted { window: window + 4, quota: 3, counted: 3, granted: 2 }
    );
    assert_eq!(lease_one(&store, &scope, window + 4, quota).await, Leased::Over { window: window + 4, quota: 3 });
}

/// Several function instances (each its own `RateLeases`) serving one organization at once:
/// together they serve no more than its quota, and refuse early by no more than what the
/// others hold unspent, (instances - 1) x (lease - 1); each spends mostly from memory.
#[tokio::test]
async fn instances_that_lease_in_batches_serve_at_most_the_quota_together() {
    let (store, client, table) = fresh_table().await;
    let scope = TenantScope::for_new_organization();
    register(&store, &scope, registration(&format!("{}@example.com", unique("r")), &unique("lease"))).await.unwrap();
    let (window, quota, instances, requests_each) = (2_000_000, 40u32, 4u32, 30);
    let budget = RateBudget::new(quota, 2).unwrap();
    let lease = RateBudget::lease_size(quota);
    assert_eq!(lease, 4);

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..instances {
        let (store, scope) = (store.clone(), scope.clone());
        tasks.spawn(async move {
            let leases = RateLeases::new();
            let mut answers = Vec::new();
            for _ in 0..requests_each {
                answers.push(leases.spend(&store, &scope, &budget, window).await.unwrap());
            }
            answers
        });
    }
    let answers: Vec<Counted> = tasks.join_all().await.into_iter().flatten().collect();
    let served = answers.iter().filter(|a| matches!(a, Counted::Within { .. })).count() as u32;
    assert!(answers.iter().all(|a| matches!(a, Counted::Within { quota: 40, .. } | Counted::Over { quota: 40 })));
    assert!(served <= quota, "{served} served of a quota of {quota}");
    assert!(served >= quota - (instances - 1) * (lease - 1), "{served} served: refused too early");

    // The counter ran past the quota by less than one lease (a lease larger than what was
    // left adds its size but is granted only the rest).
    let item = client
        .get_item()
        .table_name(&table)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("ORG#{}", scope.org_id())))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("RATE_LIMIT".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let counted: u32 = item["used"].as_n().unwrap().parse().unwrap();
    assert!(counted >= quota, "the quota was leased out: {counted}");
    assert!(counted < quota + lease, "{counted}");
}

/// Dozens of functions serving one organization a request each (every function is an
/// instance of its own): each leases one, so none is refused while the quota lasts, and the
/// budget headers count down as they should.
#[tokio::test]
async fn many_instances_with_a_request_each_are_all_served_within_the_quota() {
    let (store, _, _) = fresh_table().await;
    let scope = TenantScope::for_new_organization();
    register(&store, &scope, registration(&format!("{}@example.com", unique("r")), &unique("many"))).await.unwrap();
    let (window, quota) = (3_000_000, 100u32);
    let budget = RateBudget::new(quota, 2).unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let (store, scope) = (store.clone(), scope.clone());
        tasks.spawn(async move { RateLeases::new().spend(&store, &scope, &budget, window).await.unwrap() });
    }
    let mut used: Vec<u32> = tasks
        .join_all()
        .await
        .into_iter()
        .map(|counted| match counted {
            Counted::Within { quota: 100, used } => used,
            other => panic!("refused with most of the quota left: {other:?}"),
        })
        .collect();
    used.sort_unstable();
    assert_eq!(used, (1..=40).collect::<Vec<_>>(), "each answer tells how much of the quota is used");

    // One instance that keeps serving leases ever larger batches: 1, 2, 4, then 10s.
    let leases = RateLeases::new();
    let mut answers = Vec::new();
    for _ in 0..60 {
        answers.push(leases.spend(&store, &scope, &budget, window).await.unwrap());
    }
    let served = answers.iter().filter(|a| matches!(a, Counted::Within { .. })).count();
    assert_eq!(served, 60, "{answers:?}");
    let Counted::Within { used, .. } = answers[59] else { unreachable!() };
    assert!(used <= quota, "{used}");
}

#[tokio::test]
async fn an_organization_that_is_gone_gets_no_counter() {
    let (store, client, table) = fresh_table().await;
    let never_registered = TenantScope::for_new_organization();
    assert_eq!(lease_one(&store, &never_registered, 1_000_000, 5).await, Leased::OrganizationGone);
    let items = client
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ORG#{}", never_registered.org_id())),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(items.count(), 0, "no counter written into a partition without an organization");
}

#[tokio::test]
async fn an_audit_entry_past_its_retention_is_not_shown_before_the_ttl_sweep_deletes_it() {
    use taskflow::domain::events::{Event, EventKind};
    use taskflow::domain::{AuditEntry, TaskId};
    use taskflow::store::{AuditFilter, Entered};

    let store = fresh_store().await;
    let scope = TenantScope::for_new_organization();
    register(&store, &scope, registration(&format!("{}@example.com", unique("a")), &unique("audit"))).await.unwrap();
    let now = Utc::now();
    let entry = |at| {
        AuditEntry::of(&Event::new(scope.org_id(), at, &by(), EventKind::TaskDeleted { task_id: TaskId::generate() }))
    };
    let (expired, kept) = (entry(now - chrono::Duration::days(400)), entry(now - chrono::Duration::days(1)));
    let audit = store.audit();
    assert_eq!(
        audit.enter(&scope, &expired, (now - chrono::Duration::seconds(1)).timestamp()).await.unwrap(),
        Entered::Written
    );
    assert_eq!(
        audit.enter(&scope, &kept, (now + chrono::Duration::days(364)).timestamp()).await.unwrap(),
        Entered::Written
    );

    let page = audit.page(&scope, &AuditFilter::default(), 10, None, now).await.unwrap();
    assert_eq!(page.items.iter().map(|e| e.event_id).collect::<Vec<_>>(), vec![kept.event_id]);
    assert!(page.last.is_none(), "nothing more to read");
    let earlier = audit.page(&scope, &AuditFilter::default(), 10, None, now - chrono::Duration::days(2)).await.unwrap();
    assert_eq!(earlier.items.len(), 2, "before its retention ended, the expired entry was shown");
}

/// A batch of one organization's events is entered in one write: each once, a repeated one
/// (in the batch or from before) answered as there already, none once the organization is
/// gone.
#[tokio::test]
async fn a_batch_of_audit_entries_is_entered_once_each_and_never_for_a_gone_organization() {
    use taskflow::domain::events::{Event, EventKind};
    use taskflow::domain::{AuditEntry, TaskId};
    use taskflow::store::{AuditFilter, Entered};

    let store = fresh_store().await;
    let scope = TenantScope::for_new_organization();
    register(&store, &scope, registration(&format!("{}@example.com", unique("a")), &unique("audit"))).await.unwrap();
    let now = Utc::now();
    let entry = || {
        let event = Event::new(scope.org_id(), now, &by(), EventKind::TaskDeleted { task_id: TaskId::generate() });
        (AuditEntry::of(&event), (now + chrono::Duration::days(1)).timestamp())
    };
    let (a, b, c) = (entry(), entry(), entry());
    let audit = store.audit();
    assert_eq!(
        audit.enter_all(&scope, &[a.clone(), b.clone(), a.clone()]).await.unwrap(),
        [Entered::Written, Entered::Written, Entered::AlreadyThere]
    );
    // A redelivered event beside a new one: the new one is entered all the same.
    assert_eq!(
        audit.enter_all(&scope, &[b.clone(), c.clone()]).await.unwrap(),
        [Entered::AlreadyThere, Entered::Written]
    );
    let page = audit.page(&scope, &AuditFilter::default(), 10, None, now).await.unwrap();
    assert_eq!(page.items.len(), 3);

    let gone = TenantScope::for_new_organization();
    let (d, e) = (entry(), entry());
    assert_eq!(audit.enter_all(&gone, &[d, e]).await.unwrap(), [Entered::OrganizationGone, Entered::OrganizationGone]);
    assert!(audit.page(&gone, &AuditFilter::default(), 10, None, now).await.unwrap().items.is_empty());
}

/// The audit writer's batch: two organizations' events, a repeated one and a message that is
/// no event. Each organization's are entered (once), the repeat is acknowledged as done, and
/// only the malformed message is reported failed, by its own id.
#[tokio::test]
async fn an_audit_batch_enters_each_organizations_events_and_fails_only_the_bad_message() {
    use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
    use taskflow::domain::TaskId;
    use taskflow::domain::events::{Event, EventKind};
    use taskflow::lifecycle::AuditWriter;
    use taskflow::store::AuditFilter;

    let store = fresh_store().await;
    let (first, second) = (TenantScope::for_new_organization(), TenantScope::for_new_organization());
    for scope in [&first, &second] {
        register(&store, scope, registration(&format!("{}@example.com", unique("a")), &unique("batch"))).await.unwrap();
    }
    let now = Utc::now();
    let event = |scope: &TenantScope| {
        Event::new(scope.org_id(), now, &by(), EventKind::TaskDeleted { task_id: TaskId::generate() }).to_json()
    };
    let bodies = [event(&first), event(&second), "not an event".to_owned(), event(&first)];
    let mut records: Vec<SqsMessage> = bodies
        .iter()
        .enumerate()
        .map(|(n, body)| {
            let mut record = SqsMessage::default();
            record.message_id = Some(format!("m{n}"));
            record.body = Some(body.clone());
            record
        })
        .collect();
    let mut repeat = records[0].clone();
    repeat.message_id = Some("m0-again".into());
    records.push(repeat);
    let mut batch = SqsEvent::default();
    batch.records = records;

    let answer = AuditWriter::new(store.clone(), chrono::Duration::days(1)).handle_batch(batch).await;
    let failed: Vec<String> = answer.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failed, ["m2"]);
    let entries = |scope: TenantScope| {
        let store = store.clone();
        async move { store.audit().page(&scope, &AuditFilter::default(), 10, None, now).await.unwrap().items.len() }
    };
    assert_eq!((entries(first).await, entries(second).await), (2, 1));
}

#[tokio::test]
async fn a_keys_last_use_is_written_once_a_minute_and_never_brings_a_revoked_key_back() {
    use taskflow::domain::events::{Event, EventKind};
    use taskflow::domain::{ApiKey, ApiKeyDraft};

    let store = fresh_store().await;
    let scope = TenantScope::for_new_organization();
    let (email, slug) = (format!("{}@example.com", unique("a")), unique("org"));
    let (_, admin) = register(&store, &scope, registration(&email, &slug)).await.unwrap();
    let caller = Caller { user_id: admin.id, needs_admin: true, needs_verified: false, credential_version: None };
    let draft: ApiKeyDraft = serde_json::from_value(json!({"name": "ci", "role": "admin"})).unwrap();
    let now = Utc::now();
    let (key, secret) = ApiKey::new(draft, scope.org_id(), admin.id, now).unwrap();
    let event = Event::new(scope.org_id(), now, &by(), EventKind::ApiKeyCreated { api_key_id: key.id, role: key.role });
    store.api_keys().create(&scope, &caller, &key, &secret.hash(), &event).await.unwrap();

    let found = store.api_keys().find(&scope, key.id, admin.id).await.unwrap().unwrap();
    assert_eq!((found.key.last_used_at, found.secret_hash), (None, secret.hash()));
    assert_eq!(found.creator.map(|u| u.id), Some(admin.id));
    // Two instances at once, then one half a minute later: the first write stands.
    let keys = store.api_keys();
    let (a, b) = tokio::join!(keys.touch(&scope, key.id, now), keys.touch(&scope, key.id, now));
    a.unwrap();
    b.unwrap();
    store.api_keys().touch(&scope, key.id, now + chrono::Duration::seconds(30)).await.unwrap();
    let used = |found: Option<taskflow::store::FoundApiKey>| found.unwrap().key.last_used_at.unwrap().timestamp();
    assert_eq!(used(store.api_keys().find(&scope, key.id, admin.id).await.unwrap()), now.timestamp());
    let later = now + chrono::Duration::seconds(61);
    store.api_keys().touch(&scope, key.id, later).await.unwrap();
    assert_eq!(used(store.api_keys().find(&scope, key.id, admin.id).await.unwrap()), later.timestamp());

    // Another creator's id in the read finds the key but no creator; a revoked key is gone
    // for good: a late last-use write does not recreate it.
    let stranger = taskflow::domain::UserId::generate();
    assert!(store.api_keys().find(&scope, key.id, stranger).await.unwrap().unwrap().creator.is_none());
    store.api_keys().revoke(&scope, &caller, key.id, &by()).await.unwrap();
    store.api_keys().touch(&scope, key.id, later + chrono::Duration::minutes(5)).await.unwrap();
    assert!(store.api_keys().find(&scope, key.id, admin.id).await.unwrap().is_none());
    assert!(matches!(store.api_keys().revoke(&scope, &caller, key.id, &by()).await, Err(StoreError::NotFound)));
    assert!(store.api_keys().list_page(&scope, 10, None, Utc::now()).await.unwrap().items.is_empty());
}
