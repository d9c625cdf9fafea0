//! The store's capacity log against a real DynamoDB emulator (moto_server, started by
//! `make test`). Its own test binary: a scoped tracing subscriber misses events while other
//! tests on other threads register the same call sites.

use chrono::Utc;
use serde_json::json;
use taskflow::auth::hash_password;
use taskflow::domain::{Email, Password, Role, TaskDraft, TaskStatus};
use taskflow::store::schema::TABLE;
use taskflow::store::{Caller, Store, TaskFilter, TenantScope};

async fn fresh_store() -> Store {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok_and(|u| u.starts_with("http://127.0.0.1")),
        "AWS_ENDPOINT_URL must point at a loopback emulator: run the tests with `make test`"
    );
    let sdk = taskflow::config::sdk_config().await.expect("SDK configuration");
    let table = format!("capacity-test-{}", uuid::Uuid::new_v4().simple());
    TABLE.create(&aws_sdk_dynamodb::Client::new(&sdk), &table).await.expect("table created");
    Store::from_sdk(&sdk, table)
}

/// A member to create tasks as (the create checks that its caller exists).
async fn member(store: &Store, scope: &TenantScope) -> Caller {
    let email = Email::parse(&format!("m-{}@example.com", uuid::Uuid::new_v4().simple())).unwrap();
    let hash = hash_password(&Password::parse("member123").unwrap()).unwrap();
    let user = store.users().create(scope, email, Role::Member, hash, Utc::now()).await.unwrap();
    Caller { user_id: user.id, needs_admin: false, needs_verified: false, credential_version: None }
}

fn draft(title: &str) -> TaskDraft {
    serde_json::from_value(json!({"title": title, "status": TaskStatus::Todo})).unwrap()
}

/// The lines a JSON subscriber writes, collected for a test to read.
#[derive(Clone, Default)]
struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn every_call_logs_the_capacity_it_consumed_and_a_query_what_it_read() {
    let store = fresh_store().await;
    let scope = TenantScope::for_new_organization();
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let creator = member(&store, &scope).await;
    let _logging = tracing::subscriber::set_default(subscriber); // this test's thread only

    let (task, _) = store
        .tasks()
        .create(&scope, &creator, draft("t"), Utc::now(), &taskflow::domain::events::Provenance::system())
        .await
        .unwrap();
    store.tasks().get(&scope, task.id).await.unwrap().expect("found");
    store.tasks().list_page(&scope, &TaskFilter::default(), 20, None).await.unwrap();

    let logged = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let calls: Vec<serde_json::Value> = logged
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["fields"].clone())
        .filter(|f| f["message"] == "dynamodb call")
        .collect();
    let operations: Vec<&str> = calls.iter().map(|c| c["operation"].as_str().unwrap()).collect();
    assert_eq!(operations, ["TransactWriteItems", "GetItem", "Query"], "{logged}");
    // The create checks its creator and writes the task and its outbox marker in one
    // transaction. (moto reports no capacity for transactions; DynamoDB does.)
    assert_eq!(calls[0]["actions"], 3, "{}", calls[0]);
    assert_eq!(
        (calls[1]["consistent"].as_bool(), calls[1]["read_units"].as_f64()),
        (Some(true), Some(0.5)),
        "{}",
        calls[1]
    );
    let task_bytes = calls[1]["bytes_read"].as_u64().unwrap();
    assert!((100..1024).contains(&task_bytes), "a small task is a small item: {task_bytes} bytes");
    assert_eq!((calls[2]["scanned"].as_i64(), calls[2]["returned"].as_i64()), (Some(1), Some(1)), "{}", calls[2]);
    assert_eq!(calls[2]["bytes_read"].as_u64(), Some(task_bytes), "the page holds that one task");
    // The single-item read names its kind of item, and only that; each call its time.
    assert_eq!(calls[1]["item"], "TASK", "{}", calls[1]);
    let id = task.id.to_string();
    assert!(calls.iter().all(|c| !c.to_string().contains(&id)), "no id in the capacity log: {calls:?}");
    for call in &calls {
        let ms = call["elapsed_ms"].as_f64().unwrap_or_else(|| panic!("no elapsed_ms: {call}"));
        assert!(ms > 0.0 && ms < 60_000.0, "{call}");
    }
}
